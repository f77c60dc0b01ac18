"""The argument parser: every command, its options, their help, and each command's example and exit codes.

Options several commands share are defined once, in a parent parser (`parents=`), so adding one to a
command is one line and its help cannot drift between commands. Each option's help says its default and
the environment variable it reads, if any; each command's help ends with an example and its exit codes.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from janitor.cli_types import (
    MAX_SHARDS,
    Parser,
    _checked,
    dir_out,
    duration,
    file_out,
    finite_number,
    max_actions,
    plan_digest,
    rate,
    shard,
    whole_number,
)
from janitor.distribution import VersionAction
from janitor.pacing import RATE_RANGE
from janitor.policy.checks import scope_path
from janitor.units import parse_duration, parse_size

MAX_CONCURRENCY = 64  # threads; GitLab's rate limits bound a run long before this
MAX_WORKERS = 16  # collect processes; more than the cores only adds memory
MAX_PLAN_AGE = timedelta(days=365)
MAX_LATENCY_S = 60.0
FORMATS = ("text", "json")

CONNECTION_ENV = ("Environment: GITLAB_URL (else CI_SERVER_URL) names the GitLab, GITLAB_TOKEN holds the token "
                  "(never an option);\nJANITOR_TIMEOUT (seconds per answer, default 30), JANITOR_MAX_RETRIES "
                  "(default 8), JANITOR_LOG_LEVEL;\nREQUESTS_CA_BUNDLE and HTTPS_PROXY/NO_PROXY as for any "
                  "requests-based tool.")


def _epilog(example: str, exits: str, extra: str = "") -> str:
    return (f"{extra}\n\n" if extra else "") + f"Example:\n  {example}\n\nExit codes:\n  {exits}"


def _parents() -> dict[str, Parser]:
    """The shared option groups, each defined once; a command takes the ones it needs by name."""
    fmt = Parser(add_help=False)
    fmt.add_argument("--format", choices=FORMATS, default="text",
                     help="text: messages for people; json: one JSON summary on stdout (schema: `janitor schema "
                          "--summary`), messages on stderr (default: text)")

    scope = Parser(add_help=False)
    scope.add_argument("--scope", dest="scope_lock", metavar="PATH", type=scope_path, default=None,
                       help="scope lock: refuse (exit 3) a policy or plan reaching any project outside this group "
                            "path (default: no lock)")

    connect = Parser(add_help=False)
    connect.add_argument("--gitlab-url", metavar="URL", default="",
                         help="the GitLab this run must talk to; in a CI job a GITLAB_URL other than "
                              "CI_SERVER_URL is refused unless it is this URL (default: empty, meaning "
                              "CI_SERVER_URL; env GITLAB_URL gives the URL itself)")
    connect.add_argument("--rate-limit", metavar="N/min", type=rate("JANITOR_RATE_LIMIT"),
                         default=os.environ.get("JANITOR_RATE_LIMIT"),
                         help=f"stay under this many API requests, {RATE_RANGE} (env JANITOR_RATE_LIMIT; default: "
                              "the limit GitLab announces in its RateLimit-Limit header)")
    connect.add_argument("--jobs-rate-limit", metavar="N/min", type=rate("JANITOR_JOBS_RATE_LIMIT"),
                         default=os.environ.get("JANITOR_JOBS_RATE_LIMIT"),
                         help="stay under this many GET /projects/:id/jobs calls, a limit GitLab does not "
                              f"announce, {RATE_RANGE} (env JANITOR_JOBS_RATE_LIMIT; default 600/min on "
                              "gitlab.com, else learned from 429s)")

    policy = Parser(add_help=False)
    policy.add_argument("--policy", type=Path, required=True, metavar="FILE",
                        help="the policy file (YAML; required, no default)")
    return {"format": fmt, "scope": scope, "connection": connect, "policy": policy}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="janitor", description="Policy-driven, dry-run-first GitLab clean-up.",
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog=_epilog("janitor validate policy.yml",
                                   "0 done, 1 bad input, usage or API failure, 2 apply finished but some items "
                                   "failed (notify: some projects were not notified),\n  3 refused by a safety "
                                   "check, 141 stdout closed early (as for a tool killed by SIGPIPE)"))
    parser.add_argument("--version", action=VersionAction,
                        help="print the version and exit (exit 1 when another installed package also provides "
                             "the `janitor` import name)")
    parser.add_argument("--log-level", default=os.environ.get("JANITOR_LOG_LEVEL", "warning"),
                        choices=["debug", "info", "warning", "error"],
                        help="log detail on stderr (env JANITOR_LOG_LEVEL; default: warning)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _parents()

    def command(name: str, summary: str, example: str, exits: str, uses: tuple[str, ...] = (),
                extra: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                              parents=[shared[u] for u in uses], epilog=_epilog(example, exits, extra),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("validate", "check a policy; errors name file, line and rule; warnings flag dangerous rules",
                "janitor validate examples/job-artifacts.yml",
                "0 valid (warnings, if any, on stderr), 1 not valid or unreadable (every problem listed)",
                ("format",))
    p.add_argument("policy", type=Path, metavar="POLICY", help="the policy file (YAML)")

    p = command("schema", "print the policy's (or the plan's, the report's, the state's, the JSON summary's) JSON "
                "schema",
                "janitor schema --summary > summary.schema.json", "0 printed")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--plan", action="store_true", help="the plan file's schema instead (default: the policy's)")
    g.add_argument("--report", action="store_true", help="report.json's schema instead (default: the policy's)")
    g.add_argument("--state", action="store_true",
                   help="the state file's schema (`plan --state`) instead (default: the policy's)")
    g.add_argument("--summary", action="store_true",
                   help="the schema of --format json output instead (default: the policy's)")

    p = command("collect", "write the inventory of what the policy's rules need (read-only)",
                "janitor collect --policy policy.yml --out inventory/",
                "0 inventory written (with --keep-going, also when some projects are incomplete),\n  1 bad "
                "input, API failure or incomplete projects, 3 refused (--scope, GITLAB_URL)",
                ("policy", "format", "scope", "connection"), CONNECTION_ENV)
    p.add_argument("--out", type=dir_out, required=True, metavar="DIR",
                   help="directory to write projects.json and merge_requests.json into (required)")
    p.add_argument("--shard", type=shard, default=(1, 1), metavar="I/N",
                   help=f"collect only the I-th of N slices of the projects, N at most {MAX_SHARDS}; merge "
                        "them with `janitor merge` (default: 1/1, everything)")
    p.add_argument("--keep-going", action="store_true",
                   help="exit 0 even if some projects are incomplete (default: off, exit 1)")
    p.add_argument("--concurrency", type=whole_number(1, MAX_CONCURRENCY), default=16, metavar="N",
                   help=f"projects listed at once, 1 to {MAX_CONCURRENCY} (default: 16)")
    p.add_argument("--workers", type=whole_number(1, MAX_WORKERS), default=None, metavar="N",
                   help=f"processes sharing the run and its --concurrency, 1 to {MAX_WORKERS} (default: the CPUs "
                        "this process may use, at most 4)")

    p = command("merge", "combine shard inventories into one",
                "janitor merge shard-1/ shard-2/ --out inventory/", "0 merged, 1 bad or inconsistent inventories")
    p.add_argument("inventories", type=Path, nargs="+", metavar="DIR", help="the shard inventories to combine")
    p.add_argument("--out", type=dir_out, required=True, metavar="DIR",
                   help="directory for the merged inventory (required)")

    p = command("plan", "evaluate the policy offline; write the plan and reports",
                "janitor plan --policy policy.yml --inventory inventory/ --out plan.json --report-dir report/",
                "0 plan written, 1 bad input, 3 refused by the limits (no plan written) or by --scope",
                ("policy", "format", "scope"))
    p.add_argument("--inventory", type=Path, required=True, metavar="DIR",
                   help="the inventory directory collect (or merge) wrote (required)")
    p.add_argument("--out", type=file_out, required=True, metavar="PLAN", help="the plan file to write (required)")
    p.add_argument("--report-dir", type=dir_out, metavar="DIR", default=None,
                   help="write report.md, report.html and report.json here (default: no reports)")
    p.add_argument("--dotenv", type=file_out, metavar="FILE", default=None,
                   help="write JANITOR_PLAN_DIGEST and JANITOR_PLAN_ACTIONS here (default: not written)")
    p.add_argument("--state", type=file_out, metavar="FILE", default=None,
                   help="grace periods: read the previous run's state from FILE (if it exists) and replace it "
                        "with this run's (default: no state, so nothing under a rule with grace is ever removed)")
    p.add_argument("--max-actions", type=max_actions, metavar="N", default=None,
                   help="refuse (exit 3, no plan written) a plan with more than N actions, on top of the "
                        "policy's limits (default: only the policy's limits)")

    p = command("apply", "carry out a plan (dry-run unless --yes)",
                "janitor apply plan.json --yes --expect-digest \"$JANITOR_PLAN_DIGEST\"",
                "0 every item deleted, already gone or skipped with a reason, 1 bad input or API failure,\n  "
                "2 finished but some items failed (run again with the same --journal to retry them),\n  3 "
                "refused by a safety check (digest, age, GitLab, --scope, --max-actions, journal, token role)",
                ("format", "scope", "connection"),
                "Output: live progress on stderr; at the end one line per item on stdout (deleted, gone, "
                "skipped,\nfailed, or would delete in a dry run, with the reason), ordered by project path, "
                "then item id.\n\n" + CONNECTION_ENV)
    p.add_argument("plan", type=Path, metavar="PLAN", help="the plan file `janitor plan` wrote")
    p.add_argument("--yes", action="store_true", help="really delete (default: off, a dry run)")
    p.add_argument("--journal", type=file_out, metavar="FILE", default=None,
                   help="the journal that makes a rerun resume (default: PLAN.journal)")
    p.add_argument("--max-age", type=duration(timedelta(minutes=1), MAX_PLAN_AGE), default=parse_duration("7d"),
                   metavar="DURATION",
                   help="refuse a plan older than this: a whole number and a unit, 1min to 365d (default: 7d)")
    p.add_argument("--expect-digest", type=plan_digest, metavar="sha256:HEX", default=None,
                   help="refuse unless the plan's digest is this one (default: no check)")
    p.add_argument("--max-actions", type=max_actions, metavar="N", default=None,
                   help="refuse (exit 3) a plan with more than N actions (default: no limit)")
    p.add_argument("--concurrency", type=whole_number(1, MAX_CONCURRENCY), default=16, metavar="N",
                   help=f"items re-checked and deleted at once, 1 to {MAX_CONCURRENCY} (default: 16; the pacer "
                        "keeps them under the limits)")

    p = command("notify", "tell each project's people, in a GitLab issue, what is scheduled for removal "
                "(dry run unless --yes)",
                "janitor notify --plan plan.json --state janitor-state.json --yes",
                "0 every project notified (or nothing to say), 1 bad input or API failure,\n  2 some projects "
                "could not be notified (403, issues off), 3 plan tampered, for another GitLab, or state not "
                "the plan's",
                ("connection",), CONNECTION_ENV)
    p.add_argument("--plan", type=Path, required=True, metavar="PLAN",
                   help="the plan made by `janitor plan --state` (required)")
    p.add_argument("--state", type=Path, required=True, metavar="FILE",
                   help="the state file that plan was made with (required)")
    p.add_argument("--yes", action="store_true", help="really create, update and close the issues (default: off, "
                   "a dry run that prints them)")

    _fetch_state_parser(command)

    p = command("demo", "the whole cycle against the built-in simulator", "janitor demo --dir /tmp/janitor-demo",
                "0 the cycle ran and nothing protected was touched, 1 it did not")
    p.add_argument("--dir", type=dir_out, default=Path("janitor-demo"),
                   help="where the demo writes its files (default: ./janitor-demo)")

    p = command("simulator", "serve the GitLab API simulator on loopback",
                "janitor simulator --port 8080 --scale demo",
                "0 stopped cleanly, 1 bad input or port in use, 130 stopped with Ctrl-C")
    p.add_argument("--port", type=whole_number(0, 65535), default=8080,
                   help="TCP port on 127.0.0.1, 1 to 65535, or 0 for any free one (default: 8080)")
    p.add_argument("--scale", default="small", choices=["tiny", "small", "demo", "medium", "large"],
                   help="size of the generated instance (default: small)")
    p.add_argument("--seed", type=whole_number(0, 2**63 - 1), default=1,
                   help="seed of the generated instance, a whole number from 0 (default: 1)")
    p.add_argument("--latency", type=finite_number(0.0, MAX_LATENCY_S), default=0.0,
                   help=f"seconds added to each request, 0 to {MAX_LATENCY_S:g} (default: 0)")
    p.add_argument("--now", default=None,
                   help="ISO-8601 time the generated data is relative to (default: now); jobs that each start a "
                        "simulator pass the same value so they see the same instance")
    p.add_argument("--gitlab-version", metavar="X.Y", default=None,
                   help="answer as this older GitLab release would (missing routes, no keyset pagination where "
                        "it did not exist yet), e.g. 16.0 (default: the newest behaviour)")
    return parser


def _state_size(text: str) -> int:
    from janitor.ci_limits import MAX_BYTES

    size = parse_size(text)
    if not 1 <= size <= MAX_BYTES:
        raise ValueError(f"{text!r} is not between 1B and 1GiB")
    return size


def _fetch_state_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    from janitor.ci_limits import DEFAULT_ARTIFACT_PATH, DEFAULT_JOB_NAME, DEFAULT_MAX_JOBS, MAX_JOBS

    p = command(
        "fetch-state", "download the state the previous pipeline's plan job published (CI component)",
        "janitor fetch-state --out janitor-output/janitor-state.json",
        "0 state written, or none found (a first run, expired artifacts: said on stderr),\n  1 bad input or "
        "API failure (the token's role or scope named), 3 a redirect to another host refused",
        ("connection",),
        "Finds the newest successful JOB on REF in PROJECT with GitLab's jobs API and downloads ARTIFACT_PATH\n"
        "from its artifacts to --out, for `janitor plan --state`. Token: GITLAB_TOKEN (read_api, Reporter on "
        "PROJECT).\n\n" + CONNECTION_ENV)
    p.add_argument("--out", type=file_out, required=True, metavar="FILE",
                   help="where the state goes, replaced atomically (required)")
    p.add_argument("--project", help="id or full path of the project whose pipelines carry the state (default: "
                   "env CI_PROJECT_ID, when the job runs on the GitLab it talks to)")
    p.add_argument("--ref", help="branch or tag of those pipelines (default: env CI_COMMIT_REF_NAME)")
    p.add_argument("--job-name", default=DEFAULT_JOB_NAME,
                   help=f"the job that publishes it (default: {DEFAULT_JOB_NAME})")
    p.add_argument("--artifact-path", default=DEFAULT_ARTIFACT_PATH,
                   help=f"the file inside that job's artifacts (default: {DEFAULT_ARTIFACT_PATH})")
    p.add_argument("--max-jobs", type=whole_number(1, MAX_JOBS), default=DEFAULT_MAX_JOBS,
                   help=f"look at no more than this many of the newest successful jobs, 1 to {MAX_JOBS} "
                        f"(default: {DEFAULT_MAX_JOBS})")
    p.add_argument("--max-size", type=_checked(_state_size), default="64MiB",
                   help="refuse a state file larger than this, up to 1GiB (default: 64MiB)")
