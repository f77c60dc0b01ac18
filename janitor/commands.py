"""One function per command: build the parts from the parsed arguments, run the step, print the result.
Together with cli.py this is the only code that prints."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

from janitor.apply import FAILED, ApplyOptions, Outcome, apply_plan
from janitor.collect import CollectOptions, Progress, collect
from janitor.collect_workers import default_workers
from janitor.errors import UsageError
from janitor.gitlab_api import GitLabAPI
from janitor.merge import merge_inventories
from janitor.model import Json
from janitor.pacing import build_pacer
from janitor.plan_file import PLAN_SCHEMA, read_plan
from janitor.policy import load_policy, policy_schema
from janitor.steps import PlanOptions, connection, run_plan
from janitor.textsafe import printable
from janitor.units import human_bytes


def err(text: str) -> None:
    # Messages embed names from GitLab (paths, titles, reasons): their control characters are shown escaped.
    print(printable(text, keep_newlines=True), file=sys.stderr, flush=True)


def out(text: str) -> None:
    print(printable(text, keep_newlines=True), flush=True)


def cmd_validate(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    kinds = ", ".join(sorted({r.resource for r in policy.rules}))
    out(f"{args.policy}: valid policy, {len(policy.rules)} rules ({kinds}), {len(policy.overrides)} overrides")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    if args.plan:
        schema: Json = PLAN_SCHEMA
    elif args.report:
        from janitor.report.schema import REPORT_SCHEMA

        schema = REPORT_SCHEMA
    else:
        schema = policy_schema()
    print(json.dumps(schema, indent=2, sort_keys=True))
    return 0


def _api(args: argparse.Namespace) -> GitLabAPI:
    conn = connection(dict(os.environ), args.gitlab_url)
    return GitLabAPI(conn, build_pacer(conn.url, args.rate_limit, args.jobs_rate_limit))


def progress_line(p: Progress) -> None:
    total = f"{p.listed}" if p.listing_done else f"{p.listed}+"
    err(f"collect: {p.done}/{total} projects, {p.incomplete} incomplete, {p.requests} requests, "
        f"{p.elapsed:.1f}s")


def cmd_collect(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    api = _api(args)
    workers = args.workers or default_workers()
    result = collect(policy, api, CollectOptions(out=args.out, shard=args.shard, keep_going=args.keep_going,
                                                 concurrency=max(1, args.concurrency), scope_lock=args.scope_lock,
                                                 workers=workers),
                     on_progress=progress_line)
    err(f"collect: wrote {result.out}/projects.json: {result.projects} projects, {result.requests} requests, "
        f"{result.elapsed:.1f}s")
    if result.incomplete:
        err(f"collect: {len(result.incomplete)} projects incomplete (--keep-going): plan will not touch them")
    return 0


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
                                   max_actions=args.max_actions),
                       dict(os.environ), warn=lambda text: err(f"plan: warning: {text}"))
    totals = outcome.report["totals"]
    summary_table({k: (v["items"], v["bytes"]) for k, v in totals["by_resource"].items()},
                  f"plan: {totals['remove_items']} items to remove, {human_bytes(totals['remove_bytes'])}, "
                  f"in {totals['projects']} projects; {totals['kept_items']} kept")
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
        return 3
    err(f"plan: wrote {args.out} ({outcome.plan['digest']})")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    plan = read_plan(args.plan)
    api = _api(args)
    journal = args.journal or Path(str(args.plan) + ".journal")
    options = ApplyOptions(yes=args.yes, journal=journal, max_age=args.max_age, expect_digest=args.expect_digest,
                           scope_lock=args.scope_lock, concurrency=max(1, args.concurrency),
                           max_actions=args.max_actions)
    done = Counter[str]()

    def show(outcome: Outcome) -> None:
        done[outcome.status] += 1
        if outcome.status == FAILED or (args.yes and outcome.status == "skipped"):
            err(f"apply: {outcome.status}: {printable(outcome.item.project_path)} {printable(outcome.item.title)}: "
                f"{printable(outcome.reason)}")
        elif not args.yes:
            size = human_bytes(outcome.item.bytes)
            label = "would skip" if outcome.status == "skipped" else outcome.status
            out(f"{label}: {printable(outcome.item.project_path)} {printable(outcome.item.title)} ({size})"
                + (f": {printable(outcome.reason)}" if outcome.status != "would delete" else ""))
        total = sum(done.values())
        if args.yes and total % 500 == 0:
            err(f"apply: {total}/{len(plan.items)} items, {dict(done)}")

    summary = apply_plan(plan, api, options, on_outcome=show)
    counts = summary.counts()
    freed = summary.bytes_by_resource()
    by_kind = Counter(o.item.resource for o in summary.outcomes if o.status in ("deleted", "would delete"))
    verb = "freed" if args.yes else "would free"
    summary_table({k: (by_kind[k], freed[k]) for k in by_kind},
                  f"apply{'' if args.yes else ' (dry run: nothing deleted; add --yes to delete)'}: "
                  f"{dict(sorted(counts.items()))}, {verb} {human_bytes(sum(freed.values()))}"
                  + (f", {summary.resumed} already done per the journal" if summary.resumed else ""))
    if summary.gone_bytes:
        err(f"apply: {human_bytes(summary.gone_bytes)} more were in items found already gone (deleted with a "
            "shared image, or by someone else)")
    if summary.failed:
        err(f"apply: {len(summary.failed)} items failed; run apply again with the same --journal to retry them")
        return 2
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
    serve(generate(seed=args.seed, scale=args.scale, now=now), port=args.port, latency=args.latency)
    return 0
