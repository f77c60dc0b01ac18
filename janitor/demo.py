"""janitor demo: the whole cycle against the built-in simulator, through the same code as a real run."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from janitor.apply import ApplyOptions, apply_plan
from janitor.collect import CollectOptions, collect
from janitor.gitlab_api import Connection, GitLabAPI
from janitor.grace import due_text
from janitor.model import KEPT_PROTECTED, Json
from janitor.plan_file import read_plan
from janitor.policy import load_policy
from janitor.steps import PlanOptions, run_plan
from janitor.summary import apply_sentence
from janitor.units import human_bytes

DEMO_POLICY = """\
# gitlab-janitor demo policy: old job artifacts, merged branches, old image tags and package versions
# across the acme group, and stale unmerged branches only after a warning period. Built-in protections
# apply whatever the rules say.
version: 1
scope:
  groups: [acme]
  exclude: ["acme/legal/**"]      # legal hold: never touched
limits:
  max_actions: 5000
  max_percent: 90
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete                # keeps the job logs
    match:
      older_than: 30d
      ref: {exclude: [main]}
    keep: {latest: 1, per: ref}
  - name: merged-branches
    resource: branches
    action: delete
    match: {merged: true, older_than: 14d}
  - name: stale-branches
    resource: branches
    action: delete
    grace: 14d                    # warn first: pending now, removed only if still stale 14 days later
    notify: true                  # `janitor notify` tells each project while it is pending
    match: {merged: false, has_open_mr: false, older_than: 60d}
  - name: old-image-tags
    resource: container_tags
    action: delete
    match: {older_than: 60d}
    keep: {latest: 3, per: repository}
  - name: old-packages
    resource: packages
    action: delete
    match: {older_than: 90d}
    keep: {latest: 2, per: name}
overrides:
  acme/legacy:
    old-artifacts: {match: {older_than: 7d}}
"""


def run_demo(directory: Path, out: Callable[[str], None], note: Callable[[str], None]) -> int:
    from janitor.simulator import TOKENS, Simulator, generate

    started = time.monotonic()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    policy_path = directory / "policy.yml"
    policy_path.write_text(DEMO_POLICY, encoding="utf-8")
    with Simulator(generate(seed=1, scale="demo")) as sim:
        out(f"== simulator: a sample GitLab at {sim.url} (loopback only)")
        env = {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}
        conn = Connection.from_env(env)
        policy = load_policy(policy_path)

        out(f"== 1. collect (read-only) with {policy_path}")
        api = GitLabAPI(conn)
        result = collect(policy, api, CollectOptions(out=directory / "inventory"))
        out(f"   {result.projects} projects, {result.requests} GET requests, {result.elapsed:.1f}s")

        out("== 2. plan (offline, dry run)")
        state = directory / "state.json"  # the grace clock; a scheduled pipeline keeps it between runs
        planned = run_plan(PlanOptions(policy=policy_path, inventory=directory / "inventory",
                                       out=directory / "plan.json", report_dir=directory / "report", state=state),
                           env, note)
        totals = planned.report["totals"]
        protected = _protected(planned.report)
        out(f"   {totals['remove_items']} items to delete ({human_bytes(totals['remove_bytes'])}) in "
            f"{sum(1 for p in planned.report['projects'] if p['remove_items'])} projects; "
            f"{totals['kept_items']} kept, {protected[0]} of them protected ({human_bytes(protected[1])})")
        _pending(planned.report, out)
        for path in planned.reports:
            out(f"   report: {path}")
        if planned.plan is None:
            out("   the plan was refused by the policy's limits")
            return 3

        out("== 3. apply --yes (re-checks each item, journals each deletion)")
        plan = read_plan(directory / "plan.json")
        writes_before = len([r for r in sim.requests if r.method != "GET"])
        summary = apply_plan(plan, GitLabAPI(conn), ApplyOptions(
            yes=True, journal=directory / "plan.json.journal", max_age=timedelta(days=7)))
        sentence = apply_sentence(summary.counts(), sum(summary.bytes_by_resource().values()), summary.gone_bytes,
                                  False, summary.resumed)
        out(f"   {sentence[:-1]}; {len([r for r in sim.requests if r.method != 'GET']) - writes_before} "
            "DELETE requests")

        out("== 4. check: collect and plan again")
        collect(policy, GitLabAPI(conn), CollectOptions(out=directory / "inventory-after"))
        # with its reports: the protected items are counted from their kept lists, which plan builds only then
        again = run_plan(PlanOptions(policy=policy_path, inventory=directory / "inventory-after",
                                     out=directory / "plan-after.json", report_dir=directory / "report-after",
                                     state=state), env, note)
        after = _protected(again.report)
        out(f"   {again.report['totals']['remove_items']} items left to delete, "
            f"{again.report['totals']['pending_items']} still pending; protected before "
            f"{protected[0]} ({human_bytes(protected[1])}), after {after[0]} ({human_bytes(after[1])})")
        ok = again.report["totals"]["remove_items"] == 0 and after == protected and not summary.failed
        out(f"== {'OK' if ok else 'PROBLEM'}: nothing protected was touched; demo took "
            f"{time.monotonic() - started:.1f}s; files in {directory}/")
        return 0 if ok else 1


def _pending(report: Json, out: Callable[[str], None]) -> None:
    pending = sorted((p for project in report["projects"] for p in project["pending"]),
                     key=lambda p: (p["due"], p["project_path"], p["id"]))
    if pending:
        first = pending[0]
        out(f"   {len(pending)} pending under a grace period, not in the plan; for example "
            f"{first['project_path']} {first['title']} ({first['rule']}): to be removed on or after "
            f"{due_text(first['due'])}")


def _protected(report: dict) -> tuple[int, int]:  # type: ignore[type-arg]
    kept = [k for p in report["projects"] for k in p["kept"] if k["category"] == KEPT_PROTECTED]
    return len(kept), sum(k["bytes"] for k in kept)
