"""One function per command: build the parts from the parsed arguments, run the step, print the result.
Together with cli.py this is the only code that prints."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from janitor.errors import UsageError
from janitor.grace import due_text
from janitor.merge import merge_inventories
from janitor.model import Json
from janitor.plan_file import PLAN_SCHEMA, read_plan
from janitor.policy import load_policy, policy_schema
from janitor.steps import PlanOptions, connection, run_plan
from janitor.summary import SUMMARY_SCHEMA, apply_sentence, summary
from janitor.textsafe import printable
from janitor.units import human_bytes

if TYPE_CHECKING:  # python-gitlab is imported only by the commands that talk to GitLab (~0.1 s saved elsewhere)
    from janitor.apply import ApplySummary, Outcome
    from janitor.collect import Progress
    from janitor.gitlab_api import GitLabAPI


def err(text: str) -> None:
    # Messages embed names from GitLab (paths, titles, reasons): their control characters are shown escaped.
    print(printable(text, keep_newlines=True), file=sys.stderr, flush=True)


def out(text: str) -> None:
    print(printable(text, keep_newlines=True), flush=True)


def say(args: argparse.Namespace, text: str) -> None:
    """A line for people: stdout with --format text, stderr with --format json (stdout holds the JSON)."""
    (err if _json(args) else out)(text)


def _json(args: argparse.Namespace) -> bool:
    return getattr(args, "format", "text") == "json"


def emit(args: argparse.Namespace, command: str, code: int, warnings: list[str] | tuple[str, ...] = (),
         **sections: Json) -> int:
    """With --format json, the run's one JSON summary on stdout; returns the exit code either way."""
    if _json(args):
        print(json.dumps(summary(command, code, warnings, **sections), sort_keys=True), flush=True)
    return code


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def warn_all(command: str, warnings: list[str] | tuple[str, ...]) -> None:
    for text in warnings:
        err(f"{command}: warning: {text}")


def cmd_validate(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    kinds = sorted({r.resource for r in policy.rules})
    graced = sum(1 for r in policy.rules if r.grace)
    warn_all("validate", policy.warnings)
    warned = f"; {_count(len(policy.warnings), 'warning')}" if policy.warnings else ""
    say(args, f"{args.policy}: valid policy, {len(policy.rules)} rules ({', '.join(kinds)}), "
              f"{len(policy.overrides)} overrides" + (f", {graced} with a grace period" if graced else "") + warned)
    return emit(args, "validate", 0, policy.warnings, policy={
        "file": str(args.policy), "digest": policy.digest, "rules": len(policy.rules), "kinds": kinds,
        "overrides": len(policy.overrides), "graced_rules": graced})


def cmd_schema(args: argparse.Namespace) -> int:
    if args.plan:
        schema: Json = PLAN_SCHEMA
    elif args.summary:
        schema = SUMMARY_SCHEMA
    elif args.report:
        from janitor.report.schema import REPORT_SCHEMA

        schema = REPORT_SCHEMA
    elif args.state:
        from janitor.state import STATE_SCHEMA

        schema = STATE_SCHEMA
    else:
        schema = policy_schema()
    print(json.dumps(schema, indent=2, sort_keys=True))
    return 0


def _api(args: argparse.Namespace) -> GitLabAPI:
    from janitor.gitlab_api import GitLabAPI
    from janitor.pacing import build_pacer

    conn = connection(dict(os.environ), args.gitlab_url)
    return GitLabAPI(conn, build_pacer(conn.url, args.rate_limit, args.jobs_rate_limit))


def progress_line(p: Progress) -> None:
    total = f"{p.listed}" if p.listing_done else f"{p.listed}+"
    err(f"collect: {p.done}/{total} projects, {p.incomplete} incomplete, {p.requests} requests, "
        f"{p.elapsed:.1f}s")


def cmd_collect(args: argparse.Namespace) -> int:
    from janitor.collect import CollectOptions, collect
    from janitor.collect_workers import default_workers

    policy = load_policy(args.policy)
    warn_all("collect", policy.warnings)
    api = _api(args)
    workers = args.workers or default_workers()
    result = collect(policy, api, CollectOptions(out=args.out, shard=args.shard, keep_going=args.keep_going,
                                                 concurrency=max(1, args.concurrency), scope_lock=args.scope_lock,
                                                 workers=workers),
                     on_progress=progress_line)
    warn_all("collect", result.warnings)
    err(f"collect: wrote {result.out}/projects.json: {result.projects} projects, {result.requests} requests, "
        f"{result.elapsed:.1f}s")
    if result.incomplete:
        err(f"collect: {len(result.incomplete)} projects incomplete (--keep-going): plan will not touch them")
    return emit(args, "collect", 0, [*policy.warnings, *result.warnings], collect={
        "out": str(result.out), "projects": result.projects, "incomplete": result.incomplete,
        "requests": result.requests, "elapsed_seconds": round(result.elapsed, 3)})


def cmd_merge(args: argparse.Namespace) -> int:
    projects, incomplete = merge_inventories(list(args.inventories), args.out,
                                             warn=lambda text: err(f"merge: warning: {text}"))
    err(f"merge: {len(args.inventories)} inventories, {projects} projects ({incomplete} incomplete) -> {args.out}")
    return 0


def summary_table(rows: dict[str, tuple[int, int]], title: str) -> None:
    err(title)
    for kind, (count, size) in sorted(rows.items()):
        err(f"  {kind:<20} {count:>8} items {human_bytes(size):>12}")


def cmd_plan(args: argparse.Namespace) -> int:
    outcome = run_plan(PlanOptions(policy=args.policy, inventory=args.inventory, out=args.out,
                                   report_dir=args.report_dir, dotenv=args.dotenv, scope_lock=args.scope_lock,
                                   max_actions=args.max_actions, state=args.state),
                       dict(os.environ), warn=lambda text: err(f"plan: warning: {text}"))
    warn_all("plan", outcome.report["warnings"])
    totals = outcome.report["totals"]
    summary_table({k: (v["items"], v["bytes"]) for k, v in totals["by_resource"].items()},
                  f"plan: {totals['remove_items']} items to remove, {human_bytes(totals['remove_bytes'])}, "
                  f"in {totals['projects']} projects; {totals['kept_items']} kept"
                  + (f"; {totals['pending_items']} pending (grace period not over)" if totals["pending_items"] else ""))
    _pending_summary(outcome.soonest_pending, totals["pending_items"])
    for rule in totals["by_rule"]:
        if rule["unevaluated_projects"]:
            err(f"plan: rule {rule['rule']!r} not evaluated in {rule['unevaluated_projects']} projects: the "
                f"inventory has no {', '.join(rule['missing_data'])}")
    for path in outcome.reports:
        err(f"plan: report {path}")
    if outcome.plan is None:
        err("plan: REFUSED by the limits (the policy's, --max-actions); no plan written:")
        for reason in outcome.evaluation.refusals:
            err(f"  - {reason}")
        err("Raise the limits (the policy's, or --max-actions) only if this much really should go, "
            "or narrow the rules.")
    else:
        err(f"plan: wrote {args.out} ({outcome.plan['digest']})")
        if outcome.state_written:
            err(f"plan: wrote {args.state} ({outcome.plan['state_digest']})")
    return emit(args, "plan", 0 if outcome.plan else 3, outcome.report["warnings"], plan={
        "file": str(args.out) if outcome.plan else None, "digest": outcome.plan["digest"] if outcome.plan else None,
        "actions": totals["remove_items"], "bytes": totals["remove_bytes"], "projects": totals["projects"],
        "kept": totals["kept_items"], "pending": totals["pending_items"], "refusals": list(outcome.evaluation.refusals),
        "reports": [str(p) for p in outcome.reports], "by_resource": totals["by_resource"]})


def _pending_summary(soonest: list[Json], total: int) -> None:
    """The pending items soonest due (`run_plan` keeps the first SOONEST_PENDING), each with its date; the
    reports list all of them."""
    for p in soonest:
        err(f"  pending: {p['project_path']} {p['title']} ({p['rule']}): to be removed on or after "
            f"{due_text(p['due'])}")
    if total > len(soonest):
        err(f"  ... and {total - len(soonest)} more pending, listed in the reports")


def cmd_apply(args: argparse.Namespace) -> int:
    from janitor.apply import FAILED, ApplyOptions, apply_plan

    plan = read_plan(args.plan)
    api = _api(args)
    journal = args.journal or Path(str(args.plan) + ".journal")
    options = ApplyOptions(yes=args.yes, journal=journal, max_age=args.max_age, expect_digest=args.expect_digest,
                           scope_lock=args.scope_lock, concurrency=max(1, args.concurrency),
                           max_actions=args.max_actions)
    done = Counter[str]()

    def progress(outcome: Outcome) -> None:
        """Live, on stderr, in completion order: failures and skips as they happen, and a count now and then."""
        done[outcome.status] += 1
        if outcome.status == FAILED or (args.yes and outcome.status == "skipped"):
            err(f"apply: {outcome.status}: {printable(outcome.item.project_path)} {printable(outcome.item.title)}: "
                f"{printable(outcome.reason)}")
        total = sum(done.values())
        if total % 500 == 0:
            err(f"apply: {total}/{len(plan.items)} items, " + ", ".join(f"{n} {s}" for s, n in sorted(done.items())))

    result = apply_plan(plan, api, options, on_outcome=progress)
    for outcome in result.outcomes:  # sorted by project path, then item id: the same order on every run
        say(args, item_line(outcome, args.yes))
    freed = result.bytes_by_resource()
    by_kind = Counter(o.item.resource for o in result.outcomes if o.status in ("deleted", "would delete"))
    summary_table({k: (by_kind[k], freed[k]) for k in by_kind},
                  f"apply{'' if args.yes else ' (dry run: nothing deleted; add --yes to delete)'}: "
                  + apply_sentence(result.counts(), sum(freed.values()), result.gone_bytes, not args.yes,
                                   result.resumed))
    if result.failed:
        err(f"apply: {len(result.failed)} items failed; run apply again with the same --journal to retry them")
    return emit(args, "apply", 2 if result.failed else 0, apply=apply_json(result, plan.digest))


def item_line(outcome: Outcome, really: bool) -> str:
    """`deleted: acme/web registry/web:sha-1 (1.2 MiB): matches older_than "30d" (age 40d)`."""
    label = {"skipped": "skipped" if really else "would skip"}.get(outcome.status, outcome.status)
    item = outcome.item
    return (f"{label}: {printable(item.project_path)} {printable(item.title)} ({human_bytes(item.bytes)}): "
            f"{printable(outcome.reason)}")


def apply_json(result: ApplySummary, digest: str) -> Json:
    return {
        "dry_run": result.dry_run, "plan_digest": digest, "counts": dict(sorted(result.counts().items())),
        "freed_bytes": sum(result.bytes_by_resource().values()), "gone_bytes": result.gone_bytes,
        "resumed": result.resumed,
        "items": [{"id": o.item.id, "project": o.item.project_path, "resource": o.item.resource,
                   "title": o.item.title, "status": o.status, "reason": o.reason, "bytes": o.item.bytes}
                  for o in result.outcomes],
    }


def cmd_notify(args: argparse.Namespace) -> int:
    from janitor.notify import Outcome, Result, run_notify
    from janitor.notify_inputs import read_state

    plan = read_plan(args.plan)
    first_qualified = read_state(args.state, plan)
    api = _api(args)
    would = {Outcome.CREATED: "would create", Outcome.UPDATED: "would update", Outcome.CLOSED: "would close"}

    def show(result: Result) -> None:
        label = result.outcome.value if args.yes else would.get(result.outcome, result.outcome.value)
        err(f"notify: {label}: {printable(result.project)}" + (f": {printable(result.detail)}" if result.detail
                                                               else ""))
        if result.issue and not args.yes:
            out(f"--- {label} the issue in {printable(result.project)}\n{result.issue[0]}\n\n{result.issue[1]}")

    results = run_notify(plan, first_qualified, api, yes=args.yes, on_result=show)
    counts = Counter(r.outcome.value for r in results)
    failed = counts[Outcome.FAILED.value]
    err(f"notify{'' if args.yes else ' (dry run: nothing posted; add --yes to post)'}: "
        + ", ".join(f"{counts[o.value]} {o.value if args.yes else would.get(o, o.value)}" for o in Outcome)
        + f", {api.writes} write requests")
    if failed:
        err(f"notify: {failed} projects could not be notified (see above); the others were")
        return 2
    return 0


def cmd_fetch_state(args: argparse.Namespace) -> int:
    from janitor.ci_state import fetch_state, options_from_env

    api = _api(args)
    options = options_from_env(os.environ, api.connection.url, project=args.project, ref=args.ref, out=args.out,
                               job_name=args.job_name, artifact_path=args.artifact_path, max_jobs=args.max_jobs,
                               max_bytes=args.max_size)
    result = fetch_state(api, options)
    what = f"{options.job_name!r} job on ref {options.ref!r} of project {options.project}"
    job = result.job
    if result.written and job is not None:
        err(f"fetch-state: wrote {options.out} ({result.size} bytes) from job {job['id']}, the newest successful "
            f"{what} (finished {job.get('finished_at')})")
        return 0
    if result.not_here:
        err(f"fetch-state: no previous state: {result.not_here}. Starting fresh, so nothing under a grace rule will "
            "ever be removed; pass --project with a project on that GitLab whose pipelines run this job.")
    elif job is None:
        err(f"fetch-state: no successful {what} among the {result.scanned} newest successful jobs (--max-jobs "
            f"{options.max_jobs}): first run, starting fresh")
    else:
        err(f"fetch-state: job {job['id']}, the newest successful {what}, has no {options.artifact_path} in its "
            "artifacts (expired, erased, or not published): starting fresh. Keep the state artifact longer than "
            "the schedule's interval.")
    if result.removed_stale:
        err(f"fetch-state: removed {options.out}: it did not come from a previous run")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from janitor.demo import run_demo

    return run_demo(args.dir, out=out, note=err)


def cmd_simulator(args: argparse.Namespace) -> int:
    from janitor.model import parse_time
    from janitor.simulator import generate, serve

    try:
        now = parse_time(args.now) if args.now else None
    except ValueError:
        raise UsageError(f"--now {args.now!r} is not an ISO-8601 time such as 2026-01-15T12:00:00Z") from None
    from janitor.simulator.versions import Release

    try:
        release = str(Release.parse(args.gitlab_version)) if args.gitlab_version else None
    except ValueError as exc:
        raise UsageError(f"--gitlab-version: {exc}.", "Give a release as MAJOR.MINOR, for example 16.0.") from None
    serve(generate(seed=args.seed, scale=args.scale, now=now), port=args.port, latency=args.latency,
          gitlab_version=release)
    return 0
