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
import json
import logging
import os
import sys
from collections.abc import Sequence

from janitor.cli_parser import MAX_CONCURRENCY, build_parser
from janitor.cli_types import EXIT_USAGE
from janitor.errors import JanitorError
from janitor.summary import COMMANDS, error_summary
from janitor.textsafe import printable

log = logging.getLogger("janitor")
__all__ = ["MAX_CONCURRENCY", "build_parser", "main"]  # tests build the parser from here

EXIT_BROKEN_PIPE = 128 + 13  # what the shell reports for a tool killed by SIGPIPE


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
        return _json_failure(args, exc)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        print(f"{command}: {_describe_os_error(exc)}", file=sys.stderr)
        return _json_failure(args, JanitorError(*_describe_os_error(exc).split("\n", 1)))
    except Exception as exc:  # the last net: a bug, told in one paragraph rather than a traceback
        log.debug("internal error", exc_info=True)
        print(f"{command}: internal error: {_masked(f'{type(exc).__name__}: {exc}')}\nThis is a bug in "
              "gitlab-janitor; run again with --log-level debug for the traceback, and report it.", file=sys.stderr)
        return 1


def _json_failure(args: argparse.Namespace, exc: JanitorError) -> int:
    """With --format json, a failed run still prints its one summary on stdout, saying why (janitor.summary)."""
    if getattr(args, "format", "text") == "json" and args.command in COMMANDS:
        print(json.dumps(error_summary(args.command, exc), sort_keys=True), flush=True)
    return exc.exit_code


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

    handler = getattr(commands, f"cmd_{args.command.replace('-', '_')}")
    result: int = handler(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

