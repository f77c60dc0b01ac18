"""Every command's help, as `janitor COMMAND --help` shows it: each option explained with its default and the
variables it reads, and each command ending with an example and its exit codes."""

from __future__ import annotations

import argparse
import re

import pytest

from janitor.cli import build_parser
from janitor.distribution import VersionAction

ENV_OPTIONS = {"--rate-limit": "JANITOR_RATE_LIMIT", "--jobs-rate-limit": "JANITOR_JOBS_RATE_LIMIT",
               "--log-level": "JANITOR_LOG_LEVEL"}


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"janitor": parser, **{f"janitor {name}": p for name, p in sub.choices.items()}}


def documented(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.help is not argparse.SUPPRESS
            and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_says_what_it_does_and_its_default(name: str) -> None:
    parser = commands()[name]
    for action in documented(parser):
        label = "/".join(action.option_strings) or action.dest
        assert action.help and len(action.help) > 10, f"{name} {label} has no help"
        optional = bool(action.option_strings) and not action.required
        if optional and not isinstance(action, (argparse._VersionAction, VersionAction)):
            assert "default" in action.help, f"{name} {label}: help does not say its default"
        for option, variable in ENV_OPTIONS.items():
            if option in action.option_strings:
                assert variable in action.help, f"{name} {label}: help does not name {variable}"


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_help_ends_with_an_example_and_the_exit_codes(name: str, run) -> None:  # type: ignore[no-untyped-def]
    result = run([*name.split()[1:], "--help"])
    assert result.code == 0
    text = result.out
    example, codes = text.find("Example:\n  janitor "), text.find("Exit codes:\n  ")
    assert 0 < example < codes, f"{name} --help has no example before its exit codes"
    assert re.search(r"\b0 \w", text[codes:]), "the exit codes say what 0 means"
    # RawDescriptionHelpFormatter: the example stays one command line, as typed
    assert text[example:codes].count("\n  janitor ") == 1


def test_shared_options_are_defined_once_with_the_same_help() -> None:
    helps: dict[str, set[str]] = {}
    for parser in commands().values():
        for action in documented(parser):
            for option in action.option_strings:
                helps.setdefault(option, set()).add(str(action.help))
    for option in ("--format", "--scope", "--gitlab-url", "--rate-limit", "--jobs-rate-limit", "--policy"):
        assert len(helps[option]) == 1, f"{option} is explained differently by different commands"


def test_connection_commands_name_the_variables_they_read(run) -> None:  # type: ignore[no-untyped-def]
    for command in ("collect", "apply"):
        text = run([command, "--help"]).out
        for variable in ("GITLAB_URL", "CI_SERVER_URL", "GITLAB_TOKEN", "JANITOR_TIMEOUT", "JANITOR_MAX_RETRIES",
                         "REQUESTS_CA_BUNDLE"):
            assert variable in text, f"janitor {command} --help does not mention {variable}"
