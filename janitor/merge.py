"""merge: combine shard inventories (collect --shard I/N) into one, refusing gaps and mismatches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from janitor import __version__
from janitor.errors import InventoryError
from janitor.inventory import INCOMPLETE, MERGE_REQUESTS, Inventory, InventoryWriter, read_inventory
from janitor.model import format_time, parse_time

# Shards of one pipeline are collected minutes apart; an hour apart means they were not collected together.
SPREAD_WARNING = timedelta(hours=1)


def merge_inventories(directories: list[Path], out: Path,
                      warn: Callable[[str], None] = lambda text: None) -> tuple[int, int]:
    for directory in directories:
        # Without it every open MR's source branch in that shard silently loses its protection.
        if (directory / "projects.json").is_file() and not (directory / MERGE_REQUESTS).is_file():
            raise InventoryError(
                f"{directory} has no {MERGE_REQUESTS}: the open merge requests of that shard are unknown, "
                "so their source branches would lose their protection.",
                "Merge the shard exactly as `janitor collect` wrote it (both files), or collect it again.")
    inventories = [read_inventory(d) for d in directories]
    urls = {inv.meta.get("gitlab_url") for inv in inventories}
    if len(urls) > 1:
        raise InventoryError(f"The inventories come from different GitLab instances: {sorted(map(str, urls))}.")
    digests = {inv.meta.get("policy_digest") for inv in inventories}
    if len(digests) > 1:
        raise InventoryError("The inventories were collected with different policies; collect them again together.")
    _check_shards(inventories)
    stamps = [parse_time(inv.timestamp) for inv in inventories]
    if any(s is None for s in stamps):
        raise InventoryError("An inventory has no timestamp.")
    times = {d: s for d, s in zip(directories, stamps, strict=True) if s is not None}
    spread = _spread_warning(times)
    if spread:
        warn(spread)
    # The oldest collection time makes every item look its youngest: the conservative choice.
    oldest = min(times.values())
    first = inventories[0].meta
    writer = InventoryWriter(out, format_time(oldest), {
        **first, "tool": f"gitlab-janitor {__version__}", "shard": None,
        "merged_from": [str(d) for d in directories], "complete": False,
    })
    seen: set[str] = set()
    incomplete = 0
    try:
        for inventory in inventories:
            for project in _projects_without_mrs(inventory):
                key = str(project["id"])
                if key in seen:
                    raise InventoryError(f"Project {project.get('path_with_namespace')} ({key}) is in two inventories.",
                                         "Each shard must be collected with a different --shard I/N.")
                seen.add(key)
                incomplete += bool(project.get(INCOMPLETE))
                writer.add_project(project)
            for mrs in inventory.merge_requests.values():
                for mr in mrs:
                    writer.add_merge_request(mr)
        writer.commit({"complete": incomplete == 0 and all(i.meta.get("complete") for i in inventories),
                       "projects": len(seen), "incomplete": incomplete})
    except BaseException:
        writer.abort()
        raise
    return len(seen), incomplete


def _projects_without_mrs(inventory: Inventory):  # type: ignore[no-untyped-def]
    for project in inventory.projects():
        project.pop("_mrs", None)
        project.pop("_sourceMrs", None)
        yield project


def _check_shards(inventories: list[Inventory]) -> None:
    shards = [str(inv.meta.get("shard") or "1/1") for inv in inventories]
    totals = {s.split("/")[1] for s in shards}
    if len(totals) > 1:
        raise InventoryError(f"Shards of different splits cannot be merged: {', '.join(shards)}.")
    total = int(totals.pop())
    have = sorted(int(s.split("/")[0]) for s in shards)
    if have != list(range(1, total + 1)):
        missing = sorted(set(range(1, total + 1)) - set(have))
        dupes = sorted({h for h in have if have.count(h) > 1})
        detail = (f"missing {', '.join(f'{m}/{total}' for m in missing)}" if missing else "") + \
                 (f" duplicated {', '.join(f'{d}/{total}' for d in dupes)}" if dupes else "")
        raise InventoryError(f"The shards do not add up to one inventory: {detail.strip()}.",
                             "Merge exactly one inventory per shard, from the same pipeline.")


def _spread_warning(times: dict[Path, datetime]) -> str | None:
    first, last = min(times.values()), max(times.values())
    if last - first <= SPREAD_WARNING:
        return None
    minutes = int((last - first).total_seconds() // 60)
    span = f"{minutes // 1440}d{minutes % 1440 // 60}h{minutes % 60:02d}m" if minutes >= 1440 else \
        f"{minutes // 60}h{minutes % 60:02d}m"
    earliest = min(times, key=lambda d: times[d])
    latest = max(times, key=lambda d: times[d])
    return (f"shards collected over {span}: {earliest} at {format_time(first)}, {latest} at {format_time(last)}; "
            "items in the later shards are judged by the earliest time (they look younger than they are)")
