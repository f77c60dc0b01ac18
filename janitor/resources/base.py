"""What a resource kind is. One module per kind implements this; the registry lists them.

A kind owns everything about its objects: how to list them (collect), how to read them from an inventory
entry (candidates: age, built-in protections, fingerprint), how to re-check one before deleting it and
how to delete it. The planner and the policy schema only ever talk to kinds through this class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.model import Candidate, Json, Kept, PlanItem

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI
    from janitor.policy.model import Policy

Decision = tuple[Candidate, "Kept | None"]  # None: removed


@dataclass(frozen=True)
class PerSpec:
    """How `keep: {latest: N, per: X}` groups candidates.

    `group` names the attrs whose values form a group; `unit` the attr that makes one "newest" unit
    (all artifacts of one pipeline count as one), or None when each candidate is its own unit.
    """

    group: tuple[str, ...]
    unit: str | None = None
    description: str = ""
    # the attr that ranks units (highest first) instead of their newest date, e.g. a tag's version
    rank: str | None = None


@dataclass(frozen=True)
class CollectContext:
    """What collect knows from the policy, so the API can filter first."""

    now: datetime
    actions: frozenset[str]
    # the policy, for kinds that can tell from names alone what no rule could ever remove (and so need
    # not fetch its details): container tags
    policy: Policy | None = None


class RecheckFailed(Exception):
    """The item changed or became protected since it was planned; it is skipped with this reason."""


def require_unchanged(item: PlanItem, now: Mapping[str, Any]) -> None:
    """Raise RecheckFailed, naming each field that moved, unless `now` is the planned fingerprint."""
    planned = dict(item.fingerprint)
    if dict(now) != planned:
        keys = sorted(set(now) | set(planned))
        changed = ", ".join(f"{k} {planned.get(k)!r} -> {now.get(k)!r}" for k in keys if planned.get(k) != now.get(k))
        raise RecheckFailed(f"changed since the plan: {changed}")


class ResourceKind(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]
    age_field: ClassVar[str]
    actions: ClassVar[tuple[str, ...]]
    conditions: ClassVar[tuple[str, ...]]
    per: ClassVar[Mapping[str, PerSpec]]
    default_per: ClassVar[str]
    inventory_keys: ClassVar[tuple[str, ...]]
    needs_merge_requests: ClassVar[bool] = False
    # which project statistic (GET /projects?statistics=true) being 0 proves there is nothing to collect
    empty_when_statistic_zero: ClassVar[str | None] = None
    protections: ClassVar[tuple[str, ...]] = ()
    # action -> the least role GitLab documents for carrying it out (janitor.access.ROLE_LEVELS names)
    delete_role: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        """Read-only listing for one project; returns the inventory keys this kind adds.

        `project` is the inventory entry so far: keys another kind already listed (`_branches`, `_tags`)
        are there to reuse rather than list twice."""

    @abstractmethod
    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        """Everything of this kind in the inventory entry that the action could remove."""

    @abstractmethod
    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        """Re-read the item; raise RecheckFailed if it changed or became protected, NotFound if gone."""

    @abstractmethod
    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        """Carry out the item's action. A 404 surfaces as NotFound (counted as already gone)."""

    def settle(self, decisions: list[Decision]) -> list[Decision]:
        """A last say over one rule's decisions in one project, for objects that share their fate
        (container tags on one digest go together); the default changes nothing."""
        return decisions

    def shares_fate(self, item: PlanItem) -> Hashable | None:
        """Items with the same key go together on GitLab's side (tags on one image: deleting one deletes the
        manifest). Apply carries them out one after the other in plan order, so which one counts as deleted
        and which as gone never depends on thread timing. None: the item stands alone."""
        return None

    def notes(self, project: Json) -> list[str]:
        """Things about the project's objects the report should mention (an empty registry ...)."""
        return []

    def has_data(self, project: Json) -> bool:
        return all(key in project for key in self.inventory_keys)

    def schema_per(self) -> list[str]:
        return sorted(self.per)


def newest_first(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (c.age_at is not None, c.age_at), reverse=True)
