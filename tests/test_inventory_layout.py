"""The inventory's run facts are written after the entries (no second pass over the file at the end), the
file stays one JSON document in the Open Group layout, several processes can append to it at once, and
inventories in the older layout (facts in the head line) are still read."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.inventory import InventoryWriter, read_inventory

names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # any text GitLab could send
projects = st.dictionaries(st.integers(1, 10**6), st.fixed_dictionaries({
    "path_with_namespace": names, "_jobs": st.lists(st.fixed_dictionaries({"id": st.integers(1, 2**40),
                                                                             "name": names}),
                                       max_size=3, unique_by=lambda job: job["id"])}),
    max_size=8)
META = {"gitlab_url": "https://gitlab.example.com", "complete": False, "shard": "1/1"}


def write(directory: Path, entries: dict[int, dict[str, Any]], facts: dict[str, Any] | None) -> None:
    writer = InventoryWriter(directory, "2026-01-01T00:00:00Z", META)
    for key, entry in entries.items():
        writer.add_project({"id": key, **entry})
    writer.commit(facts)


@settings(max_examples=40, deadline=None)
@given(entries=projects, complete=st.booleans())
def test_run_facts_after_the_entries_are_read_over_the_head(tmp_path_factory: Any,
                                                            entries: dict[int, dict[str, Any]],
                                                            complete: bool) -> None:
    directory = tmp_path_factory.mktemp("inv")
    write(directory, entries, {"complete": complete, "projects": len(entries)})
    text = (directory / "projects.json").read_text(encoding="utf-8")
    head, _, _ = text.partition("\n")
    assert json.loads(head[: -len(', "entries": {')] + "}")["janitor"]["complete"] is False  # never rewritten
    whole = json.loads(text)  # one JSON document, in the Open Group layout
    assert whole["entries"] == {str(k): {"id": k, **v} for k, v in entries.items()}
    assert whole["janitor_run"] == {"complete": complete, "projects": len(entries)}
    inventory = read_inventory(directory)
    assert inventory.meta["complete"] is complete and inventory.meta["gitlab_url"] == META["gitlab_url"]
    assert {p["id"]: p["path_with_namespace"] for p in inventory.projects()} == \
        {k: v["path_with_namespace"] for k, v in entries.items()}


def test_an_inventory_in_the_older_layout_is_still_read(tmp_path: Path) -> None:
    """The head line holding every fact and `}}` closing the file, as collect wrote it before."""
    head = {"janitor": {**META, "complete": True, "projects": 1}, "timestamp": "2026-01-01T00:00:00Z"}
    (tmp_path / "projects.json").write_text(json.dumps(head, sort_keys=True)[:-1] + ', "entries": {\n'
                                            '"5": {"id":5,"path_with_namespace":"acme/app"}\n}}\n', encoding="utf-8")
    (tmp_path / "merge_requests.json").write_text('{"timestamp": "2026-01-01T00:00:00Z", "entries": {\n\n}}\n',
                                                  encoding="utf-8")
    inventory = read_inventory(tmp_path)
    assert inventory.meta["complete"] is True
    assert [p["id"] for p in inventory.projects()] == [5]


def _append(directory: str, start: int) -> None:
    writer = InventoryWriter(directory, "2026-01-01T00:00:00Z", META, join=True)
    for key in range(start, start + 300):
        writer.add_project({"id": key, "path_with_namespace": f"g/p{key}", "_jobs": [{"id": key, "pad": "x" * key}]})
    writer.close_joined()


def test_processes_appending_at_once_make_one_valid_inventory(tmp_path: Path) -> None:
    writer = InventoryWriter(tmp_path, "2026-01-01T00:00:00Z", META)
    writer.flush()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append, args=(str(tmp_path), 1 + 300 * w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    writer.commit({"complete": True, "projects": 1200})
    whole = json.loads((tmp_path / "projects.json").read_text(encoding="utf-8"))
    assert sorted(int(k) for k in whole["entries"]) == list(range(1, 1201))
    assert sorted(p["id"] for p in read_inventory(tmp_path).projects()) == list(range(1, 1201))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merge_requests.json", "projects.json"]
