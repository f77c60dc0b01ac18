"""Command line: parse arguments into frozen options, run the step, print, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from janitor import __version__
from janitor.errors import JanitorError
from janitor.textsafe import printable
from janitor.units import parse_duration

log = logging.getLogger("janitor")


class _RedactToken(logging.Filter):
    """Defence in depth: even a stray log line never shows the token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token and self.token in record.getMessage():
            record.msg, record.args = record.getMessage().replace(self.token, "[MASKED]"), None
        return True


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactToken(os.environ.get("GITLAB_TOKEN", "")))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))


def _shard(text: str) -> tuple[int, int]:
    try:
        index, total = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N (for example 1/4)") from None
    if not 1 <= index <= total:
        raise argparse.ArgumentTypeError(f"shard {text}: I must be between 1 and N")
    return index, total


def _duration(text: str):  # type: ignore[no-untyped-def]
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pacing_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate-limit", metavar="N/min", default=os.environ.get("JANITOR_RATE_LIMIT"),
                   help="stay under this many API requests (env JANITOR_RATE_LIMIT; default: the limit GitLab "
                        "announces in its RateLimit-Limit header)")
    p.add_argument("--jobs-rate-limit", metavar="N/min", default=os.environ.get("JANITOR_JOBS_RATE_LIMIT"),
                   help="stay under this many GET /projects/:id/jobs calls, a limit GitLab does not announce "
                        "(env JANITOR_JOBS_RATE_LIMIT; default 600/min on gitlab.com, else learned from 429s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="janitor", description="Policy-driven, dry-run-first GitLab clean-up.")
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
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--shard", type=_shard, default=(1, 1), metavar="I/N")
    p.add_argument("--keep-going", action="store_true", help="exit 0 even if some projects are incomplete")
    p.add_argument("--concurrency", type=int, default=16, help="projects listed at once (default 16)")
    p.add_argument("--scope", dest="scope_lock", metavar="PATH")
    _pacing_options(p)

    p = sub.add_parser("merge", help="combine shard inventories into one")
    p.add_argument("inventories", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)

    p = sub.add_parser("plan", help="evaluate the policy offline; write the plan and reports")
    p.add_argument("--policy", type=Path, required=True)
    p.add_argument("--inventory", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--report-dir", type=Path)
    p.add_argument("--dotenv", type=Path, help="write JANITOR_PLAN_DIGEST and JANITOR_PLAN_ACTIONS here")
    p.add_argument("--scope", dest="scope_lock", metavar="PATH")

    p = sub.add_parser("apply", help="carry out a plan (dry-run unless --yes)")
    p.add_argument("plan", type=Path)
    p.add_argument("--yes", action="store_true", help="really delete")
    p.add_argument("--journal", type=Path, help="default: PLAN.journal")
    p.add_argument("--max-age", type=_duration, default=parse_duration("7d"))
    p.add_argument("--expect-digest", help="refuse unless the plan's digest is this one")
    p.add_argument("--concurrency", type=int, default=16,
                   help="items re-checked and deleted at once (default 16; the pacer keeps them under the limits)")
    p.add_argument("--scope", dest="scope_lock", metavar="PATH")
    _pacing_options(p)

    p = sub.add_parser("demo", help="the whole cycle against the built-in simulator")
    p.add_argument("--dir", type=Path, default=Path("janitor-demo"), help="where the demo writes its files")

    p = sub.add_parser("simulator", help="serve the GitLab API simulator on loopback")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--scale", default="small", choices=["tiny", "small", "demo", "medium", "large"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each request")
    p.add_argument("--now", help="ISO-8601 time the generated data is relative to (default: now); jobs that "
                   "each start a simulator pass the same value so they see the same instance")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    try:
        return _run(args)
    except JanitorError as exc:
        # messages embed names from GitLab and from input files: their control characters are shown escaped
        print(printable(f"janitor {args.command}: {exc.render()}", keep_newlines=True), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"janitor {args.command}: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from janitor import commands

    handler = getattr(commands, f"cmd_{args.command}")
    result: int = handler(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

