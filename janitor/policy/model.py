"""The loaded policy as frozen values, and how overrides resolve for one project."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from janitor.conditions import Check, compile_match
from janitor.matchers import NameMatcher, fold_path, path_matches


@dataclass(frozen=True)
class Scope:
    groups: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    all: bool = False
    exclude: tuple[str, ...] = ()
    archived: bool = False

    def excluded_by(self, path: str) -> str | None:
        return path_matches(path, self.exclude)

    def paths(self) -> tuple[str, ...]:
        return self.groups + self.projects


@dataclass(frozen=True)
class Limits:
    max_actions: int | None = None
    max_percent: float | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    resource: str
    action: str
    match: Mapping[str, Any] = field(default_factory=dict)
    keep: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    description: str = ""
    grace: str | None = None  # as written ("14d"): plan.json's `grace` section repeats it
    notify: bool = False


@dataclass(frozen=True)
class NotifySettings:
    """Where `janitor notify` posts: one issue per project (`issues`), or one in the log `project`."""

    issues: str | None = "per-project"
    project: str | None = None
    labels: tuple[str, ...] = ("janitor",)
    assignees: str = "none"

    def to_json(self) -> dict[str, Any]:
        return {"issues": self.issues, "project": self.project, "labels": list(self.labels),
                "assignees": self.assignees}


@dataclass(frozen=True)
class EffectiveRule:
    """A rule as it applies to one project, overrides merged in; `decided_by` names those overrides."""

    rule: Rule
    decided_by: tuple[str, ...]
    checks: tuple[Check, ...]
    keep_latest: int | None
    keep_per: str | None
    keep_names: NameMatcher | None
    matches: str = ""  # 'matches older_than "30d"; ref {...}': the reason every removed item carries


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def path_covers(prefix: str, path: str) -> bool:
    """Is `path` the group or project `prefix`, or inside it? Ignoring case, as GitLab resolves paths."""
    prefix, path = fold_path(prefix.strip("/")), fold_path(path)
    return path == prefix or path.startswith(prefix + "/")


@dataclass(frozen=True)
class Policy:
    source: str
    digest: str
    scope: Scope
    limits: Limits
    rules: tuple[Rule, ...]
    overrides: Mapping[str, Mapping[str, Mapping[str, Any]]]
    notify: NotifySettings = field(default_factory=NotifySettings)
    # valid but dangerous choices (janitor.policy.warnings), "file:line:col: ..." each; shown, never fatal
    warnings: tuple[str, ...] = ()
    _cache: dict[tuple[str, tuple[str, ...]], EffectiveRule | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def kinds(self) -> set[str]:
        """Kinds some rule may act on somewhere (a rule disabled globally may be enabled by an override)."""
        used = {r.resource for r in self.rules if r.enabled}
        for patches in self.overrides.values():
            for rule in self.rules:
                if patches.get(rule.name, {}).get("enabled") is True:
                    used.add(rule.resource)
        return used

    def actions_for(self, kind: str) -> frozenset[str]:
        return frozenset(r.action for r in self.rules if r.resource == kind)

    def effective(self, rule: Rule, project_path: str) -> EffectiveRule | None:
        applying = tuple(sorted((p for p in self.overrides if path_covers(p, project_path) and
                                 rule.name in self.overrides[p]), key=lambda p: p.count("/")))
        key = (rule.name, applying)
        if key not in self._cache:
            self._cache[key] = self._resolve(rule, applying)
        return self._cache[key]

    def _resolve(self, rule: Rule, applying: tuple[str, ...]) -> EffectiveRule | None:
        body: dict[str, Any] = {"enabled": rule.enabled, "match": dict(rule.match), "keep": dict(rule.keep)}
        for path in applying:  # shallow to deep: the deepest path is merged last and wins
            body = deep_merge(body, self.overrides[path][rule.name])
        if not body.get("enabled", True):
            return None
        keep = body.get("keep") or {}
        names = keep.get("names")
        conditions = "; ".join(f"{k} {json.dumps(v, sort_keys=True)}" for k, v in sorted(body["match"].items()))
        return EffectiveRule(
            matches=f"matches {conditions}" if conditions else "the rule has no conditions",
            rule=replace(rule, match=body["match"], keep=keep, enabled=True),
            decided_by=applying,
            checks=tuple(compile_match(body["match"])),
            keep_latest=keep.get("latest"),
            keep_per=keep.get("per"),
            keep_names=NameMatcher(include=tuple(names)) if names else None,
        )


def scope_lock_violations(policy: Policy, lock: str) -> list[str]:
    """What in the policy reaches outside the group path `lock` (empty: the policy stays inside)."""
    lock = lock.strip("/")
    problems = []
    if policy.scope.all:
        problems.append("scope.all: true reaches every project the token can see")
    problems += [f"scope reaches {path!r}" for path in policy.scope.paths() if not path_covers(lock, path)]
    return problems
