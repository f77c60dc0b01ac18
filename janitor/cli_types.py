"""argparse types for the command line: each checks its value when the arguments are parsed, before any
work, and says what it expected. Every number goes through one range-checked helper per kind (janitor.units)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

from janitor.errors import JanitorError
from janitor.pacing import parse_rate
from janitor.units import bounded_float, bounded_int, whole_duration

EXIT_USAGE = 1
MAX_SHARDS = 1000


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors exit 1, as DESIGN.md says (argparse's own 2 means "some items failed")."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\nRun `{self.prog} --help` for the options.\n")


def _checked(parse: Callable[[str], object], env: str | None = None) -> Callable[[str], object]:
    """An argparse type from a parser raising ValueError (or UsageError). `env` names the variable a default
    comes from: argparse runs the type on a string default too, and the user must learn where it came from."""

    def check(text: str) -> object:
        try:
            return parse(text)
        except (ValueError, JanitorError) as exc:
            message = exc.message if isinstance(exc, JanitorError) else str(exc)
            where = f" (given by the option, or else by {env})" if env else ""
            raise argparse.ArgumentTypeError(message.rstrip(".") + where) from None

    return check


def whole_number(minimum: int, maximum: int) -> Callable[[str], object]:
    """The type of a whole-number option between `minimum` and `maximum` (--concurrency, --port, --seed)."""
    return _checked(lambda text: bounded_int(text, minimum, maximum))


def finite_number(minimum: float, maximum: float) -> Callable[[str], object]:
    """The type of a decimal option between `minimum` and `maximum`; NaN and infinities refused (--latency)."""
    return _checked(lambda text: bounded_float(text, minimum, maximum))


def duration(minimum: timedelta, maximum: timedelta) -> Callable[[str], object]:
    """The type of a duration option: a whole number and a unit, within bounds (--max-age)."""
    return _checked(lambda text: whole_duration(text, minimum, maximum))


def rate(env: str) -> Callable[[str], object]:
    """The type of a rate-limit option: checked now, before any work; the pacer reads the text again."""

    def check(text: str) -> str:
        parse_rate(text)
        return text

    return _checked(check, env)


def shard(text: str) -> tuple[int, int]:
    try:
        index, total = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N (for example 1/4)") from None
    if not 1 <= index <= total <= MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"shard {text}: I must be between 1 and N, and N at most {MAX_SHARDS}")
    return index, total


def file_out(text: str) -> Path:
    """A file the command writes: a directory or a file in the way is refused now, not after the work."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name, such as {path / 'plan.json'}")
    if path.parent.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {path.parent} is a file, not a directory")
    return path


def dir_out(text: str) -> Path:
    """A directory the command writes into: a file in its place is refused now, not after the work."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory; give a directory path")
    return path


def max_actions(text: str) -> int:
    # Whole digits only: "1000.0", "1e3" and "1,000" are refused here rather than half-understood, so a
    # gate fed from a CI input can never pass by failing to parse.
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number of actions (for example 1000)")
    return int(text)


def plan_digest(text: str) -> str:
    # An empty --expect-digest used to mean "no check": a dotenv or variable that went missing must refuse.
    if re.fullmatch(r"sha256:[0-9a-f]{64}", text) is None:
        shown = repr(text) if text else "an empty value"
        raise argparse.ArgumentTypeError(f"{shown} is not a plan digest (sha256: and 64 hex digits, as "
                                         "`janitor plan` prints it and writes to --dotenv)")
    return text
