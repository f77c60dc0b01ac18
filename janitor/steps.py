"""The steps behind the commands, as functions of frozen options; the CLI only parses and prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from janitor.errors import InventoryError, SafetyRefusal, UsageError
from janitor.gitlab_api import Connection, normalize_url
from janitor.inventory import read_inventory
from janitor.model import Json, parse_time
from janitor.plan_file import build_plan, write_plan
from janitor.planner import Evaluation, evaluate
from janitor.policy import load_policy
from janitor.policy.model import scope_lock_violations
from janitor.report import report_data, write_reports


@dataclass(frozen=True)
class PlanOptions:
    policy: Path
    inventory: Path
    out: Path
    report_dir: Path | None = None
    dotenv: Path | None = None
    scope_lock: str | None = None


@dataclass
class PlanOutcome:
    evaluation: Evaluation
    report: Json
    plan: Json | None
    reports: list[Path]


def run_plan(options: PlanOptions, env: dict[str, str], warn: Callable[[str], None]) -> PlanOutcome:
    policy = load_policy(options.policy)
    if options.scope_lock:
        problems = scope_lock_violations(policy, options.scope_lock)
        if problems:
            raise SafetyRefusal(f"The policy reaches outside --scope {options.scope_lock}: " + "; ".join(problems),
                                "Nothing was planned.")
    inventory = read_inventory(options.inventory)
    now = parse_time(inventory.timestamp)
    if now is None:
        raise InventoryError(f"{options.inventory}: the inventory has no timestamp; ages cannot be judged.")
    url = inventory.meta.get("gitlab_url") or env.get("GITLAB_URL") or env.get("CI_SERVER_URL")
    if not url:
        raise UsageError("This inventory does not say which GitLab it came from.",
                         "Set GITLAB_URL to that instance's URL so the plan is bound to it.")
    url = normalize_url(str(url))
    if inventory.meta and not inventory.meta.get("complete", True):
        warn("the inventory is incomplete: projects whose listing failed are not planned")
    evaluation = evaluate(policy, inventory, now)
    header: Json = {"gitlab_url": url, "created_at": inventory.timestamp, "policy": str(options.policy),
                    "policy_digest": policy.digest, "inventory_digest": inventory.digest, "plan_digest": None}
    plan = None
    prepared = {item.id: item.to_json() for item in evaluation.items}  # one dict per item, plan and report share it
    if not evaluation.refusals:
        plan = build_plan(evaluation.items, gitlab_url=url, created_at=now, policy_digest=policy.digest,
                          inventory_digest=inventory.digest, scope_lock=options.scope_lock, prepared=prepared)
        header["plan_digest"] = plan["digest"]
    report = report_data(evaluation, policy, header, prepared)
    reports = write_reports(report, options.report_dir) if options.report_dir else []
    if plan is not None:
        write_plan(options.out, plan)
        if options.dotenv:
            options.dotenv.write_text(f"JANITOR_PLAN_DIGEST={plan['digest']}\n"
                                      f"JANITOR_PLAN_ACTIONS={plan['totals']['actions']}\n", encoding="utf-8")
    return PlanOutcome(evaluation, report, plan, reports)


def connection(env: dict[str, str]) -> Connection:
    return Connection.from_env(env)
