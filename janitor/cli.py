"""Command line: parse arguments into frozen options, run the step, print, map errors to exit codes.

No failure ends in a Python traceback: usage errors exit 1 (argparse's 2 means "some items failed" here),
every number an option or a variable gives is range-checked by one helper per kind (janitor.units), an
OSError becomes one message naming the path and the reason, and anything else is reported as a bug in one
paragraph. A closed stdout (`janitor schema | head -1`) ends quietly with 141, the status a shell reports for a
Unix tool killed by SIGPIPE, so `set -o pipefail` scripts see what they would see with cat or grep.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

from janitor import __version__
from janitor.errors import JanitorError
from janitor.pacing import RATE_RANGE, parse_rate
from janitor.policy.checks import scope_path
from janitor.textsafe import printable
from janitor.units import bounded_float, bounded_int, parse_duration, whole_duration

log = logging.getLogger("janitor")

EXIT_USAGE = 1
EXIT_BROKEN_PIPE = 128 + 13  # what the shell reports for a tool killed by SIGPIPE
MAX_SHARDS = 1000
MAX_CONCURRENCY = 64  # threads; GitLab's rate limits bound a run long before this
MAX_WORKERS = 16  # collect processes; more than the cores only adds memory
MAX_PLAN_AGE = timedelta(days=365)
MAX_LATENCY_S = 60.0


class _RedactToken(logging.Filter):
    """Defence in depth: even a stray log line never shows the token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token and self.token in record.getMessage():
            record.msg, record.args = record.getMessage().replace(self.token, "[MASKED]"), None
        if self.token and record.exc_info:
            # the traceback's text is formatted once and cached in exc_text, so it is masked there
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = text.replace(self.token, "[MASKED]")
        return True


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactToken(os.environ.get("GITLAB_TOKEN", "")))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))


class _Parser(argparse.ArgumentParser):
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


def _shard(text: str) -> tuple[int, int]:
    try:
        index, total = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N (for example 1/4)") from None
    if not 1 <= index <= total <= MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"shard {text}: I must be between 1 and N, and N at most {MAX_SHARDS}")
    return index, total


def _file_out(text: str) -> Path:
    """A file the command writes: a directory or a file in the way is refused now, not after the work."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name, such as {path / 'plan.json'}")
    if path.parent.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {path.parent} is a file, not a directory")
    return path


def _dir_out(text: str) -> Path:
    """A directory the command writes into: a file in its place is refused now, not after the work."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory; give a directory path")
    return path


def _max_actions(text: str) -> int:
    # Whole digits only: "1000.0", "1e3" and "1,000" are refused here rather than half-understood, so a
    # gate fed from a CI input can never pass by failing to parse.
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number of actions (for example 1000)")
    return int(text)


def _plan_digest(text: str) -> str:
    # An empty --expect-digest used to mean "no check": a dotenv or variable that went missing must refuse.
    if re.fullmatch(r"sha256:[0-9a-f]{64}", text) is None:
        shown = repr(text) if text else "an empty value"
        raise argparse.ArgumentTypeError(f"{shown} is not a plan digest (sha256: and 64 hex digits, as "
                                         "`janitor plan` prints it and writes to --dotenv)")
    return text


def _gitlab_url_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gitlab-url", metavar="URL", default="",
                   help="the GitLab this run must talk to; in a CI job a GITLAB_URL other than CI_SERVER_URL "
                        "is refused unless it is this URL (empty: CI_SERVER_URL)")


def _pacing_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate-limit", metavar="N/min", type=rate("JANITOR_RATE_LIMIT"),
                   default=os.environ.get("JANITOR_RATE_LIMIT"),
                   help=f"stay under this many API requests, {RATE_RANGE} (env JANITOR_RATE_LIMIT; default: the "
                        "limit GitLab announces in its RateLimit-Limit header)")
    p.add_argument("--jobs-rate-limit", metavar="N/min", type=rate("JANITOR_JOBS_RATE_LIMIT"),
                   default=os.environ.get("JANITOR_JOBS_RATE_LIMIT"),
                   help="stay under this many GET /projects/:id/jobs calls, a limit GitLab does not announce, "
                        f"{RATE_RANGE} (env JANITOR_JOBS_RATE_LIMIT; default 600/min on gitlab.com, else learned "
                        "from 429s)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="janitor", description="Policy-driven, dry-run-first GitLab clean-up.",
                     epilog="exit codes: 0 done, 1 bad input, usage or API failure, 2 apply finished but some items "
                            "failed, 3 refused by a safety check, 141 stdout closed early (as for a tool killed by "
                            "SIGPIPE)")
    parser.add_argument("--version", action="version", version=f"gitlab-janitor {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("JANITOR_LOG_LEVEL", "warning"),
                        choices=["debug", "info", "warning", "error"], help="log detail on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a policy; errors name file, line and rule")
    p.add_argument("policy", type=Path)
    p = sub.add_parser("schema", help="print the policy's (or the plan's, or the report's) JSON schema")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--plan", action="store_true")
    g.add_argument("--report", action="store_true")

    p = sub.add_parser("collect", help="write the inventory of what the policy's rules need (read-only)")
    p.add_argument("--policy", type=Path, required=True)
    p.add_argument("--out", type=_dir_out, required=True)
    p.add_argument("--shard", type=_shard, default=(1, 1), metavar="I/N")
    p.add_argument("--keep-going", action="store_true", help="exit 0 even if some projects are incomplete")
    p.add_argument("--concurrency", type=whole_number(1, MAX_CONCURRENCY), default=16,
                   help=f"projects listed at once, 1 to {MAX_CONCURRENCY} (default 16)")
    p.add_argument("--workers", type=whole_number(1, MAX_WORKERS), default=None, metavar="N",
                   help="processes sharing the run (and --concurrency); default: the CPUs this process may use, "
                        "at most 4")
    p.add_argument("--scope", dest="scope_lock", metavar="PATH", type=scope_path)
    _gitlab_url_option(p)
    _pacing_options(p)

    p = sub.add_parser("merge", help="combine shard inventories into one")
    p.add_argument("inventories", type=Path, nargs="+")
    p.add_argument("--out", type=_dir_out, required=True)

    p = sub.add_parser("plan", help="evaluate the policy offline; write the plan and reports")
    p.add_argument("--policy", type=Path, required=True)
    p.add_argument("--inventory", type=Path, required=True)
    p.add_argument("--out", type=_file_out, required=True)
    p.add_argument("--report-dir", type=_dir_out)
    p.add_argument("--dotenv", type=_file_out, help="write JANITOR_PLAN_DIGEST and JANITOR_PLAN_ACTIONS here")
    p.add_argument("--scope", dest="scope_lock", metavar="PATH", type=scope_path)
    p.add_argument("--max-actions", type=_max_actions, metavar="N",
                   help="refuse (exit 3, no plan written) a plan with more than N actions, on top of the "
                        "policy's limits")

    p = sub.add_parser("apply", help="carry out a plan (dry-run unless --yes)")
    p.add_argument("plan", type=Path)
    p.add_argument("--yes", action="store_true", help="really delete")
    p.add_argument("--journal", type=_file_out, help="default: PLAN.journal")
    p.add_argument("--max-age", type=duration(timedelta(minutes=1), MAX_PLAN_AGE), default=parse_duration("7d"),
                   help="refuse a plan older than this: a whole number and a unit, 1min to 365d (default 7d)")
    p.add_argument("--expect-digest", type=_plan_digest, metavar="sha256:HEX",
                   help="refuse unless the plan's digest is this one")
    p.add_argument("--max-actions", type=_max_actions, metavar="N",
                   help="refuse (exit 3) a plan with more than N actions")
    p.add_argument("--concurrency", type=whole_number(1, MAX_CONCURRENCY), default=16,
                   help=f"items re-checked and deleted at once, 1 to {MAX_CONCURRENCY} (default 16; the pacer "
                        "keeps them under the limits)")
    p.add_argument("--scope", dest="scope_lock", metavar="PATH", type=scope_path)
    _gitlab_url_option(p)
    _pacing_options(p)

    p = sub.add_parser("demo", help="the whole cycle against the built-in simulator")
    p.add_argument("--dir", type=_dir_out, default=Path("janitor-demo"), help="where the demo writes its files")

    p = sub.add_parser("simulator", help="serve the GitLab API simulator on loopback")
    p.add_argument("--port", type=whole_number(0, 65535), default=8080,
                   help="TCP port on 127.0.0.1, 1 to 65535, or 0 for any free one (default 8080)")
    p.add_argument("--scale", default="small", choices=["tiny", "small", "demo", "medium", "large"])
    p.add_argument("--seed", type=whole_number(0, 2**63 - 1), default=1,
                   help="seed of the generated instance, a whole number from 0 (default 1)")
    p.add_argument("--latency", type=finite_number(0.0, MAX_LATENCY_S), default=0.0,
                   help=f"seconds added to each request, 0 to {MAX_LATENCY_S:g} (default 0)")
    p.add_argument("--now", help="ISO-8601 time the generated data is relative to (default: now); jobs that "
                   "each start a simulator pass the same value so they see the same instance")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors: a code returned, as on every other path
            sys.stdout.flush()
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:  # `janitor --help | head -1`
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    _setup_logging(args.log_level)
    command = f"janitor {args.command}"
    try:
        code = _run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the net, not at interpreter exit
        return code
    except JanitorError as exc:
        # messages embed names from GitLab and from input files: their control characters are shown escaped
        print(printable(f"{command}: {exc.render()}", keep_newlines=True), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        print(f"{command}: {_describe_os_error(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # the last net: a bug, told in one paragraph rather than a traceback
        log.debug("internal error", exc_info=True)
        print(f"{command}: internal error: {_masked(f'{type(exc).__name__}: {exc}')}\nThis is a bug in "
              "gitlab-janitor; run again with --log-level debug for the traceback, and report it.", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    # The reader is gone: point stdout at /dev/null so the interpreter's own flush at exit has nowhere to fail,
    # instead of printing "Exception ignored ... BrokenPipeError" (Python docs, signal module, "Note on SIGPIPE").
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file: nothing is flushed to it at exit either
        pass


_OS_HINTS = {
    errno.EACCES: "check its permissions, or choose a path you can write",
    errno.EPERM: "check its permissions, or choose a path you can write",
    errno.EISDIR: "a directory is where a file belongs: give a file name",
    errno.ENOTDIR: "part of the path is a file where a directory belongs",
    errno.ENOENT: "check that the path exists, or that its directory exists and accepts new files",
    errno.EEXIST: "something is already at that path: remove it or choose another",
    errno.ENOSPC: "the disk is full: free space, or choose another place",
    errno.EROFS: "the file system is read-only: choose a writable path",
    errno.ENAMETOOLONG: "shorten the path",
    errno.EADDRINUSE: "another program has that port: choose another --port, or 0 for any free one",
}


def _describe_os_error(exc: OSError) -> str:
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    hint = _OS_HINTS.get(exc.errno or 0, "check the path and try again")
    text = f"{paths + ': ' if paths else ''}{exc.strerror or exc}\n{hint[0].upper()}{hint[1:]}."
    return _masked(text)


def _masked(text: str) -> str:
    token = os.environ.get("GITLAB_TOKEN", "")
    return text.replace(token, "[MASKED]") if token else text


def _run(args: argparse.Namespace) -> int:
    from janitor import commands

    handler = getattr(commands, f"cmd_{args.command}")
    result: int = handler(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

