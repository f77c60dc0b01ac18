"""merge: combine shard inventories (collect --shard I/N) into one, refusing gaps and mismatches."""

from __future__ import annotations

from pathlib import Path

from janitor import __version__
from janitor.errors import InventoryError
from janitor.inventory import INCOMPLETE, Inventory, InventoryWriter, read_inventory
from janitor.model import format_time, parse_time


def merge_inventories(directories: list[Path], out: Path) -> tuple[int, int]:
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
    # The oldest collection time makes every item look its youngest: the conservative choice.
    oldest = min(s for s in stamps if s is not None)
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
