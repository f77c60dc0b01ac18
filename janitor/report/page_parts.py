"""The top of report.html: the facts a reviewer checks first (which GitLab, which policy, which plan), the
cards with the totals, and the items still waiting for their grace period."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from janitor.model import KEPT_PROTECTED, Json, parse_time
from janitor.report.links import Links
from janitor.report.markup import e
from janitor.units import human_bytes


def when(value: Any) -> str:
    """'2025-03-01 00:00:00 UTC': GitLab's ISO-8601 stamps, in UTC, without fractions of a second."""
    try:
        parsed = parse_time(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    return str(value) if parsed is None else parsed.strftime("%Y-%m-%d %H:%M:%S UTC")


def _digest(value: Any, missing: str) -> str:
    # user-select: all makes one click select the whole digest, to paste into `apply --expect-digest`
    return f'<code class="copy">{e(value)}</code>' if value else e(missing)


def header_facts(data: Json, links: Links) -> str:
    url = data.get("gitlab_url")
    home = links.home()
    gitlab = f'<a href="{e(home)}">{e(url)}</a>' if home else e(url)
    policy = data.get("policy")
    policy_name = e(PurePath(str(policy)).name) if policy else "not recorded"
    facts = [
        ("GitLab", gitlab),
        ("GitLab version", e(data.get("gitlab_version") or "unknown (not recorded in the inventory)")),
        ("Inventory collected", e(when(data.get("created_at")))),
        ("Policy", f'<span title="{e(policy)}">{policy_name}</span> '
                   + _digest(data.get("policy_digest"), "")),
        ("Inventory", _digest(data.get("inventory_digest"), "not recorded")),
        ("Plan digest", _digest(data.get("plan_digest"), "none: the plan was refused, nothing can be applied")),
    ]
    return ('<dl class="facts-head">' + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
            + "</dl>")


def pending_count(data: Json) -> int:
    """Items waiting for a rule's grace period; 0 for reports made before grace periods existed."""
    counted = data["totals"].get("pending_items", data["totals"].get("pending"))
    if isinstance(counted, int) and not isinstance(counted, bool):
        return counted
    return sum(int(p.get("pending_items") or 0) for p in data["projects"])


def summary_cards(data: Json) -> str:
    totals = data["totals"]
    touched = sum(1 for p in data["projects"] if p["remove_items"])
    protected = sum(p["kept_by_category"].get(KEPT_PROTECTED, 0) for p in data["projects"])
    kept = totals["kept_items"] - protected
    cards = [("remove", f"{totals['remove_items']}", "items to remove"),
             ("remove", human_bytes(totals["remove_bytes"]), "to free"),
             ("", f"{touched} of {totals['projects']}", "projects touched"),
             ("", f"{protected}", "protected (never removed)"),
             ("", f"{kept}", "kept by the policy or not matched"),
             ("pending", f"{pending_count(data)}", "pending a grace period")]
    return '<div class="cards">' + "".join(f'<div class="card {kind}"><b>{e(big)}</b><span>{e(small)}</span></div>'
                                           for kind, big, small in cards) + "</div>"

