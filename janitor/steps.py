"""The steps behind the commands, as functions of frozen options; the CLI only parses and prints."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from janitor.errors import InventoryError, SafetyRefusal, UsageError
from janitor.grace import GraceClock, grace_section
from janitor.inventory import Inventory, read_inventory
from janitor.model import Json, parse_time
from janitor.plan_stream import PlanSpool
from janitor.planner import Evaluation, check_limits, evaluate_projects, new_evaluation
from janitor.policy import load_policy
from janitor.policy.model import Policy, scope_lock_violations
from janitor.report import report_data, write_reports
from janitor.state import StateError, read_state, state_json
from janitor.urls import normalize_url

if TYPE_CHECKING:
    from janitor.gitlab_api import Connection

# pending items `janitor plan` lists on the terminal (all of them are in the reports)
SOONEST_PENDING = 10


@dataclass(frozen=True)
class PlanOptions:
    policy: Path
    inventory: Path
    out: Path
    report_dir: Path | None = None
    dotenv: Path | None = None
    scope_lock: str | None = None
    max_actions: int | None = None
    state: Path | None = None  # read if it exists, then replaced: the grace clock across runs


@dataclass
class PlanOutcome:
    evaluation: Evaluation  # totals, refusals and skipped paths; its `projects` stay empty (they were streamed)
    report: Json  # the report value: per-project lists only for the first report.data.DETAIL_PROJECTS
    plan: Json | None  # the plan's head and digest, without its items (they are in the file); None if refused
    reports: list[Path]
    state_written: bool = False
    soonest_pending: list[Json] = field(default_factory=list)  # the first SOONEST_PENDING, soonest due first


def run_plan(options: PlanOptions, env: dict[str, str], warn: Callable[[str], None]) -> PlanOutcome:
    if options.state and options.state.resolve() in (options.out.resolve(),
                                                     options.dotenv.resolve() if options.dotenv else None):
        raise UsageError(f"--state {options.state} is also the plan's --out or --dotenv file.",
                         "Give the state its own file, such as state.json next to the plan.")
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
    with ExitStack() as stack:
        previous = read_state(options.state, url, now) if options.state else None
        if previous is not None:
            stack.callback(previous.close)
        clock = stack.enter_context(GraceClock(policy, previous, now))
        try:
            return _plan(options, policy, inventory, url, clock, warn)
        except sqlite3.Error as exc:
            # the grace rules' stores (janitor.state_store) live in the temporary directory: full, or gone
            raise StateError(f"plan could not keep the grace periods' entries in the temporary directory: {exc}.",
                             "Free space there (SQLITE_TMPDIR, else TMPDIR, else /var/tmp or /tmp), or point "
                             "TMPDIR at a disk with room, then plan again. No plan was written and the previous "
                             "state is as it was.") from None


def _plan(options: PlanOptions, policy: Policy, inventory: Inventory, url: str, clock: GraceClock,
          warn: Callable[[str], None]) -> PlanOutcome:
    """The plan proper, its previous state (if any) open in `clock`: evaluate every project, judge the
    limits, then write the plan, the reports and the next state."""
    now = clock.now
    if clock.grace and options.state is None:
        warn(f"no --state: nothing under a grace rule ({', '.join(sorted(clock.grace))}) can ever be removed, "
             "since each run starts its grace period afresh; pass --state FILE to carry it across runs")
    evaluation = new_evaluation(policy, now, clock)
    with PlanSpool(soonest=SOONEST_PENDING, report_lists=options.report_dir is not None) as spool:
        # one project at a time: its parts go to the spool, only totals and summaries stay in memory
        for project in evaluate_projects(policy, inventory, evaluation):
            spool.add(project)
        check_limits(policy, evaluation)
        if options.max_actions is not None and spool.actions > options.max_actions:
            # A refusal like the policy's own limits: the report says why, and no plan or dotenv is written.
            evaluation.refusals.append(f"the plan has {spool.actions} actions, more than --max-actions "
                                       f"{options.max_actions}")
        version = inventory.meta.get("gitlab_version")
        header: Json = {"gitlab_url": url, "created_at": inventory.timestamp, "policy": str(options.policy),
                        "policy_digest": policy.digest, "inventory_digest": inventory.digest, "plan_digest": None,
                        "gitlab_version": version if isinstance(version, str) else None}
        plan = None
        if not evaluation.refusals:
            # a refused plan leaves the old state, so no clock starts on a run that planned nothing
            new_state = spool.write_state(options.state, {k: v for k, v in state_json((), url, now).items()
                                                          if k != "items"},
                                          clock.entries.lines()) if options.state else None
            head = spool.plan_head(gitlab_url=url, created_at=now, policy_digest=policy.digest,
                                   inventory_digest=inventory.digest, scope_lock=options.scope_lock,
                                   grace=grace_section(policy), notify=policy.notify.to_json(),
                                   state_digest=new_state)
            # sealed before the reports (its digest is in them), named only after them: a run that cannot
            # write its reports leaves no plan, and a refused run never assembles one
            digest = spool.write_plan(options.out, head)
            plan = {**head, "digest": digest}
            header["plan_digest"] = digest
        entries, full_lines = spool.report_projects()
        report = report_data(evaluation, policy, header, spool.report_totals, entries)
        reports = write_reports(report, options.report_dir, full_lines) if options.report_dir else []
        spool.publish_plan()
        if plan is not None and options.dotenv:
            options.dotenv.write_text(f"JANITOR_PLAN_DIGEST={plan['digest']}\n"
                                      f"JANITOR_PLAN_ACTIONS={plan['totals']['actions']}\n", encoding="utf-8")
        spool.publish_state()  # after the plan and its dotenv, as before streaming
    return PlanOutcome(evaluation, report, plan, reports, plan is not None and options.state is not None,
                       spool.soonest_pending)


def connection(env: dict[str, str], gitlab_url: str = "") -> Connection:
    """The connection for collect and apply; `gitlab_url` is --gitlab-url (the CI component's input)."""
    from janitor.gitlab_api import Connection  # python-gitlab only for the commands that talk to GitLab

    check_gitlab_url(env, gitlab_url)
    if gitlab_url and not env.get("GITLAB_URL"):
        env = {**env, "GITLAB_URL": gitlab_url}
    return Connection.from_env(env)


def check_gitlab_url(env: dict[str, str], allowed: str = "") -> None:
    """Refuse to send the token to a GitLab the run was not configured for.

    In a CI job, GITLAB_URL can come from a pipeline variable (a manual run, a schedule, a trigger), and
    pipeline variables take precedence over the project's own variables and the YAML (GitLab's
    doc/ci/variables/_index.md, "CI/CD variable precedence"). So a GITLAB_URL other than the job's own
    instance (CI_SERVER_URL) is trusted only when --gitlab-url, which the component sets from an input,
    names it. Outside CI (no CI_SERVER_URL) GITLAB_URL is the user's own choice.
    """
    configured = env.get("GITLAB_URL", "")
    if allowed:
        if configured and normalize_url(configured) != normalize_url(allowed):
            raise SafetyRefusal(
                f"GITLAB_URL is {normalize_url(configured)}, but --gitlab-url says this run talks to "
                f"{normalize_url(allowed)}: refusing to send the token elsewhere.",
                "A pipeline variable may have replaced GITLAB_URL. Nothing was read or deleted.")
        return
    ci_server = env.get("CI_SERVER_URL", "")
    if ci_server and configured and normalize_url(configured) != normalize_url(ci_server):
        raise SafetyRefusal(
            f"GITLAB_URL is {normalize_url(configured)}, not this CI job's GitLab ({normalize_url(ci_server)}): "
            "refusing to send the token there.",
            "A pipeline variable may have set it. To clean up another GitLab on purpose, name it in the "
            "component's gitlab_url input (janitor --gitlab-url URL). Nothing was read or deleted.")
