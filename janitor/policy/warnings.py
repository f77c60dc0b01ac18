"""Warnings for policies that are valid but dangerous: they load and run, and `validate` exits 0, but each is
shown (validate, plan) and listed in report.md, because each is a common way to delete more than meant.

They are computed from the validated YAML data rather than the built Policy so that each one can point at
its line in the file, as errors do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from janitor.resources import KINDS

PathKey = tuple[Any, ...]


def policy_warnings(data: Mapping[str, Any], where: Callable[[PathKey], str]) -> list[str]:
    """`where(path)` names the place in the file ("policy.yml:7:5") of a key path such as ('rules', 0)."""
    found: list[str] = []
    scope, limits = data.get("scope") or {}, data.get("limits") or {}
    if scope.get("all") is True and limits.get("max_actions") is None and limits.get("max_percent") is None:
        found.append(f"{where(('scope', 'all'))}: scope.all with no limits: every project the token can see, "
                     "with no cap on how much one plan may delete (set limits.max_actions and limits.max_percent)")
    for index, rule in enumerate(data.get("rules") or []):
        found += _rule_warnings(rule, ("rules", index), f"rule {rule.get('name')!r}", where)
    for target, patches in (data.get("overrides") or {}).items():
        for name, patch in (patches or {}).items():
            if (patch or {}).get("keep", {}).get("latest") == 0:
                found.append(_keep_zero(where(("overrides", target, name, "keep", "latest")),
                                        f"override {target} of rule {name!r}"))
    return found


def _rule_warnings(rule: Mapping[str, Any], path: PathKey, label: str, where: Callable[[PathKey], str]) -> list[str]:
    found: list[str] = []
    match = rule.get("match") or {}
    kind = KINDS.get(str(rule.get("resource")))
    ageless = "older_than" not in match and kind is not None and "older_than" in kind.conditions
    if rule.get("enabled", True) is not False:
        if ageless and rule.get("action") == "erase":
            found.append(f"{where(path + ('action',))}: {label}: erase with no older_than: it erases the logs and "
                         "artifacts of every matching finished job, however recent (add match.older_than, e.g. 30d)")
        elif ageless:
            found.append(f"{where(path)}: {label}: no age condition: it removes matching "
                         f"{rule.get('resource')} however new they are (add match.older_than, e.g. 30d)")
    if (rule.get("keep") or {}).get("latest") == 0:
        found.append(_keep_zero(where(path + ("keep", "latest")), label))
    return found


def _keep_zero(place: str, label: str) -> str:
    return (f"{place}: {label}: keep.latest: 0 keeps none of the newest, the same as no keep.latest (remove it, or "
            "keep at least 1)")
