"""apply: carry out exactly what a sealed plan lists, re-checking each item first.

Refuses (exit 3) a plan whose digest does not match, that was made for another GitLab, that is older than
--max-age or reaches outside --scope. Each item is re-read; if its fingerprint changed or it became
protected it is skipped with the reason. A 404 counts as already gone. A failure is recorded and the run
goes on. The journal (janitor/journal.py) is locked for the run and written ahead: an intent before each
write request, the outcome after it; a second run with the same journal skips what is done. Without --yes
the same path runs with deletion switched off.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from janitor.access import gate_projects
from janitor.errors import ApiError, AuthError, NotFound, SafetyRefusal, Unreachable, UsageError
from janitor.gitlab_api import GitLabAPI
from janitor.journal import DELETED, GONE, SKIPPED, Journal, JournalError
from janitor.journal import FAILED as FAILED  # re-exported: commands reads the statuses from apply
from janitor.model import PlanItem
from janitor.plan_file import LoadedPlan
from janitor.policy.model import path_covers
from janitor.resources import KINDS
from janitor.resources.base import RecheckFailed

WOULD_DELETE = "would delete"


@dataclass(frozen=True)
class ApplyOptions:
    yes: bool
    journal: Path | None
    max_age: timedelta
    expect_digest: str | None = None
    scope_lock: str | None = None
    max_actions: int | None = None
    # Deletes are latency-bound: 16 in flight delete ~12x faster than one at a time at 20 ms (bench/).
    concurrency: int = 16


@dataclass(frozen=True)
class Outcome:
    item: PlanItem
    status: str
    reason: str = ""


@dataclass
class ApplySummary:
    outcomes: list[Outcome] = field(default_factory=list)
    resumed: int = 0
    dry_run: bool = True

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    def bytes_by_resource(self) -> Counter[str]:
        freed: Counter[str] = Counter()
        for o in self.outcomes:
            if o.status in (DELETED, WOULD_DELETE):
                freed[o.item.resource] += o.item.bytes
        return freed

    @property
    def gone_bytes(self) -> int:
        """Bytes of items found already gone: freed by someone else, or with a sibling this run deleted
        (container tags on one image go together), so they are not counted as freed by this run."""
        return sum(o.item.bytes for o in self.outcomes if o.status == GONE)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]


def verify(plan: LoadedPlan, gitlab_url: str, options: ApplyOptions, now: datetime) -> None:
    # `is not None`: an empty expected digest is a mismatch, never "no check" (the CLI refuses it earlier).
    if options.expect_digest is not None and options.expect_digest != plan.digest:
        raise SafetyRefusal(
            f"The plan's digest {plan.digest} is not the approved one ({options.expect_digest}).",
            "Apply only the plan that was reviewed; re-run plan if the inventory changed.",
        )
    if options.max_actions is not None and len(plan.items) > options.max_actions:
        raise SafetyRefusal(
            f"The plan has {len(plan.items)} actions, more than --max-actions {options.max_actions}.",
            "Narrow the policy's rules, or raise max_actions only if this much really should go. Nothing was deleted.",
        )
    if plan.gitlab_url.rstrip("/") != gitlab_url.rstrip("/"):
        raise SafetyRefusal(
            f"The plan was made for {plan.gitlab_url}, but GITLAB_URL is {gitlab_url}.",
            "A plan only applies to the GitLab it was collected from. Nothing was deleted.",
        )
    age = now - plan.created_at
    if age > options.max_age:
        raise SafetyRefusal(
            f"The plan's inventory was collected {age.days}d {age.seconds // 3600}h ago, "
            f"more than --max-age {options.max_age}.",
            "Collect and plan again so the plan reflects what is there now. Nothing was deleted.",
        )
    if age < -timedelta(minutes=10):
        raise SafetyRefusal("The plan is dated in the future; this machine's clock or the plan is wrong.")
    if options.scope_lock:
        outside = sorted({i.project_path for i in plan.items if not path_covers(options.scope_lock.strip("/"),
                                                                                 i.project_path)})
        if outside or (plan.scope_lock and not path_covers(options.scope_lock.strip("/"), plan.scope_lock)):
            raise SafetyRefusal(
                f"The plan reaches outside --scope {options.scope_lock}: {', '.join(outside[:10]) or plan.scope_lock}",
                "Nothing was deleted.",
            )
    unknown = sorted({i.resource for i in plan.items if i.resource not in KINDS})
    if unknown:
        raise UsageError(f"The plan has resource kinds this janitor does not know: {', '.join(unknown)}.")


def apply_plan(plan: LoadedPlan, api: GitLabAPI, options: ApplyOptions,
               on_outcome: Callable[[Outcome], None] = lambda o: None) -> ApplySummary:
    verify(plan, api.connection.url, options, datetime.now(timezone.utc))
    token_info = api.check_token(needs_write=options.yes)
    summary = ApplySummary(dry_run=not options.yes)
    journal = Journal.open(options.journal, plan.digest, plan.items) if (options.yes and options.journal) else None
    todo = [i for i in plan.items if not (journal and i.id in journal.done)]
    summary.resumed = len(plan.items) - len(todo)
    cache: dict[Any, Any] = {}
    lock = threading.Lock()
    fatal: list[BaseException] = []

    def one(item: PlanItem, deleted_with: str | None) -> Outcome | None:
        if fatal:
            return None
        try:
            outcome = _outcome(api, item, cache, options.yes, journal)
            if outcome.status == GONE and deleted_with is not None:
                outcome = Outcome(item, GONE, f"deleted with {deleted_with}, on the same image")
            if journal:
                journal.record(item, outcome.status, outcome.reason)
        except (Unreachable, AuthError, JournalError) as exc:  # JournalError: no further request may go out
            fatal.append(exc)
            return None
        with lock:
            summary.outcomes.append(outcome)
            on_outcome(outcome)
        return outcome

    def together(unit: list[PlanItem]) -> None:
        deleted_with: str | None = None
        for item in unit:
            outcome = one(item, deleted_with)
            if outcome is not None and outcome.status == DELETED and deleted_with is None:
                deleted_with = item.title.split(" (")[0]

    try:
        # Before any write: each project is the one the plan names, in scope, and the token's role suffices.
        # Refused items are not journaled, so a run with a better token picks them up.
        gate = gate_projects(api, todo, [options.scope_lock, plan.scope_lock], token_info, options.concurrency)
        refused = {item.id: reason for item in todo if (reason := gate.refusal(item))}
        if refused and len(refused) == len(todo) and options.yes:
            raise gate.nothing_writable(refused)
        for item in (i for i in todo if i.id in refused):
            summary.outcomes.append(Outcome(item, SKIPPED, refused[item.id]))
            on_outcome(summary.outcomes[-1])
        todo = [item for item in todo if item.id not in refused]
        with ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="apply") as pool:
            list(pool.map(together, _units(todo)))
    finally:
        if journal:
            journal.close()
    if fatal:
        raise fatal[0]
    summary.outcomes.sort(key=lambda o: (o.item.project_path, o.item.id))
    return summary


def _units(items: list[PlanItem]) -> list[list[PlanItem]]:
    """The items in plan order, those that share their fate (tags on one image) grouped into one unit that a
    single worker carries out in plan order: the first one re-checked and deleted is "deleted", the rest
    404 and are "gone". The plan gives an image's bytes to that first tag, so freed bytes are the same on
    every run (before, the thread that won the race took them)."""
    units: dict[Hashable, list[PlanItem]] = {}
    for item in items:
        key = KINDS[item.resource].shares_fate(item)
        units.setdefault(("item", item.id) if key is None else key, []).append(item)
    return list(units.values())


def _outcome(api: GitLabAPI, item: PlanItem, cache: dict[Any, Any], really: bool,
             journal: Journal | None) -> Outcome:
    try:
        outcome = _carry_out(api, item, cache, really, journal.intend if journal else _no_journal)
    except AuthError as exc:
        if not exc.missing_role:
            raise
        return Outcome(item, FAILED, f"{exc.message} {exc.hint or ''}".strip())
    if journal and item.id in journal.pending and outcome.status == GONE:
        return Outcome(item, GONE, "already gone: the interrupted run's request went through")
    return outcome


def _no_journal(item: PlanItem) -> None:
    """Without --yes nothing is written, so there is nothing to journal."""


def _carry_out(api: GitLabAPI, item: PlanItem, cache: dict[Any, Any], really: bool,
               before_write: Callable[[PlanItem], None]) -> Outcome:
    """Re-check the item, then (if `really`) call `before_write` and carry it out. `before_write` writes the
    journal's intent line; when it raises, the write request is not sent."""
    kind = KINDS[item.resource]
    try:
        kind.recheck(api, item, cache)
    except NotFound:
        return Outcome(item, GONE, "already gone")
    except RecheckFailed as exc:
        return Outcome(item, SKIPPED, str(exc))
    except (Unreachable, AuthError):
        raise
    except ApiError as exc:
        return Outcome(item, FAILED, f"re-check failed: {exc.message}")
    if not really:
        return Outcome(item, WOULD_DELETE, item.reason)
    for attempt in range(3):
        before_write(item)
        try:
            kind.execute(api, item)
            return Outcome(item, DELETED, item.reason)
        except NotFound:
            return Outcome(item, GONE, "already gone")
        except (Unreachable, AuthError):
            raise
        except ApiError as exc:
            if exc.status == 409 and attempt < 2:  # GitLab: "Action temporarily disabled" during a stats refresh
                time.sleep(1 + attempt)
                continue
            return Outcome(item, FAILED, exc.message)
    return Outcome(item, FAILED, "gave up after repeated 409 Conflict")
