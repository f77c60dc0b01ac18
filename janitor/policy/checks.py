"""Semantic checks on the group and project paths a policy (or `--scope`) names.

GitLab group and project paths are ASCII (letters, digits, `_`, `-`, `.`; doc/user/reserved_names.md and
the path validation in GitLab's Gitlab::PathRegex). A look-alike such as Cyrillic 'е' validates as YAML,
never matches a real path, and so silently excludes nothing: refuse it, naming the character.
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from janitor.matchers import fold_path

HINT = "retype it in plain ASCII: a look-alike letter never matches a GitLab path"
PathKey = tuple[Any, ...]
Report = Callable[[PathKey, str, str], None]  # (where, message, hint)


def non_ascii(path: str) -> str | None:
    """Why `path` cannot be a GitLab path because of a non-ASCII character, or None."""
    for char in path:
        if not char.isascii():
            name = unicodedata.name(char, "unnamed character")
            return f"{char!r} (U+{ord(char):04X}, {name}) is not ASCII; GitLab paths are ASCII"
    return None


def check_paths(data: Mapping[str, Any], report: Report) -> None:
    """Every scope group/project, exclude glob and override path must be ASCII."""
    scope = data.get("scope")
    hint = HINT
    if isinstance(scope, Mapping):
        for key in ("groups", "projects", "exclude"):
            values = scope.get(key)
            if isinstance(values, list):
                for index, value in enumerate(values):
                    problem = non_ascii(value) if isinstance(value, str) else None
                    if problem:
                        report(("scope", key, index), problem, hint)
    overrides = data.get("overrides")
    if isinstance(overrides, Mapping):
        seen: dict[str, str] = {}
        for target in overrides:
            problem = non_ascii(str(target))
            if problem:
                report(("overrides", target), problem, hint)
            folded = fold_path(str(target).strip("/"))
            if folded in seen:
                # GitLab paths ignore case, so both would apply to the same projects in no defined order
                report(("overrides", target), f"{target!r} is the same path as {seen[folded]!r} (GitLab paths "
                       "ignore case)", "merge the two overrides into one")
            seen.setdefault(folded, str(target))


def scope_path(value: str) -> str:
    """argparse `type=` for `--scope`: a group path, ASCII like every GitLab path."""
    problem = non_ascii(value)
    if problem:
        raise argparse.ArgumentTypeError(f"{value!r}: {problem} ({HINT})")
    if not value.strip("/").strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not a group path (write one such as acme/platform)")
    return value
