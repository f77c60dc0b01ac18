"""Which installed distribution the `janitor` import package belongs to, for `janitor --version`.

The import name `janitor` is also pyjanitor's (one of PyPI's most downloaded packages). pip installs both
into the same `janitor/` directory, each overwriting the other's files, and then either tool breaks in ways
that point nowhere near the cause. `janitor --version` says so, and how to keep them apart.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from janitor import __version__

DISTRIBUTION = "gitlab-janitor"
IMPORT_NAME = "janitor"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def foreign_distributions() -> list[str]:
    """'name version' of every installed distribution other than ours that provides the `janitor` package."""
    from importlib import metadata  # here, not at start-up: importing it costs every command ~20 ms

    try:
        providers = metadata.packages_distributions().get(IMPORT_NAME, [])
    except Exception:  # a broken dist-info elsewhere must not break --version
        return []
    found = []
    for name in sorted(set(providers), key=_normalized):
        if _normalized(name) == DISTRIBUTION:
            continue
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(name)
    return found


def clash_explanation(foreign: Sequence[str]) -> str:
    import janitor

    where = getattr(janitor, "__file__", None) or "?"
    return (
        f"warning: this environment also has {', '.join(foreign)}, which installs an import package named "
        f"`janitor` too (here: {where}). The two overwrite each other's files, so gitlab-janitor, the other "
        "package, or both may break.\n"
        "Install gitlab-janitor on its own: `pipx install gitlab-janitor` (its own virtual environment), or "
        "run the container image; then uninstall it from this environment (`pip uninstall gitlab-janitor`)."
    )


class VersionAction(argparse.Action):
    """`--version`: the version on stdout; with a foreign `janitor` package installed, the clash on stderr and
    exit 1, so a smoke test (`janitor --version` in a CI job or a Dockerfile) fails where it should."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help or "print the version (and warn when another package also provides `janitor`)")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> NoReturn:
        print(f"{DISTRIBUTION} {__version__}")
        foreign = foreign_distributions()
        if foreign:
            sys.stdout.flush()
            print(clash_explanation(foreign), file=sys.stderr)
            parser.exit(1)
        parser.exit(0)
