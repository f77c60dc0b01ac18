"""Inventory files in The Open Group's Project Cleanup format, written and read as streams.

`DIR/projects.json` = {"timestamp", "entries": {"<project id>": {...project, "_jobs": [...], ...}}} and
`DIR/merge_requests.json` = {"timestamp", "entries": {"<mr id>": {...}}}. We write one entry per line, so
the file is ordinary JSON for other tools and yet we can read it back one project at a time: memory stays
flat however large the instance. Files from other tooling (any JSON layout) are read whole.
Our own facts (GitLab URL, scope, shard, completeness) sit under a top-level "janitor" key.
Files are written under a temporary name and renamed at the end: a run that fails leaves no inventory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from janitor.errors import InventoryError
from janitor.model import Json

PROJECTS = "projects.json"
MERGE_REQUESTS = "merge_requests.json"
INCOMPLETE = "_incomplete"


class InventoryWriter:
    def __init__(self, directory: str | Path, timestamp: str, meta: Json) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.timestamp = timestamp
        self.meta = meta
        self._files: dict[str, IO[str]] = {}
        self._counts: dict[str, int] = defaultdict(int)
        for name in (PROJECTS, MERGE_REQUESTS):
            handle = open(self._partial(name), "w", encoding="utf-8")  # noqa: SIM115 (closed in commit/abort)
            head = {"timestamp": timestamp, "janitor": meta} if name == PROJECTS else {"timestamp": timestamp}
            handle.write(json.dumps(head, sort_keys=True)[:-1] + ', "entries": {\n')
            self._files[name] = handle

    def _partial(self, name: str) -> Path:
        return self.directory / f".{name}.partial"

    def _entry(self, name: str, key: str, value: Json) -> None:
        handle = self._files[name]
        if self._counts[name]:
            handle.write(",\n")
        handle.write(json.dumps(str(key)) + ": " + json.dumps(value, separators=(",", ":"), sort_keys=True))
        self._counts[name] += 1

    def add_project(self, entry: Json) -> None:
        self._entry(PROJECTS, str(entry["id"]), entry)

    def add_merge_request(self, mr: Json) -> None:
        self._entry(MERGE_REQUESTS, str(mr["id"]), mr)

    def commit(self, meta_updates: Json | None = None) -> None:
        for handle in self._files.values():
            handle.write("\n}}\n")
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        if meta_updates:
            _rewrite_head(self._partial(PROJECTS), {**self.meta, **meta_updates})
        for name in self._files:
            os.replace(self._partial(name), self.directory / name)

    def abort(self) -> None:
        for name, handle in self._files.items():
            handle.close()
            self._partial(name).unlink(missing_ok=True)


def _rewrite_head(path: Path, meta: Json) -> None:
    """Replace the first line (timestamp + janitor facts) once the run knows how it went."""
    tmp = path.with_suffix(".head")
    with open(path, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
        head = json.loads(src.readline()[: -len(', "entries": {\n')] + "}")
        head["janitor"] = meta
        dst.write(json.dumps(head, sort_keys=True)[:-1] + ', "entries": {\n')
        for line in src:
            dst.write(line)
    os.replace(tmp, path)


@dataclass
class Inventory:
    directory: Path
    timestamp: str
    meta: Json
    digest: str
    merge_requests: dict[int, list[Json]] = field(default_factory=dict)
    # by `source_project_id`, for MRs whose source is another project than their target (a fork's)
    merge_requests_from: dict[int, list[Json]] = field(default_factory=dict)

    def projects(self) -> Iterator[Json]:
        """Each project entry, one at a time, with `_mrs` (the MRs it is the target of) and `_sourceMrs`
        (the MRs into other projects whose source branch lives in it: a fork's into its upstream)."""
        for entry in _iter_entries(self.directory / PROJECTS):
            entry["_mrs"] = self.merge_requests.get(int(entry.get("id", 0)), [])
            entry["_sourceMrs"] = self.merge_requests_from.get(int(entry.get("id", 0)), [])
            yield entry


def read_inventory(directory: str | Path) -> Inventory:
    base = Path(directory)
    path = base / PROJECTS
    if not path.is_file():
        raise InventoryError(
            f"{base} holds no {PROJECTS}.",
            "Point --inventory at the directory `janitor collect --out` wrote (or an Open Group inventory).",
        )
    head = _read_head(path)
    digest = hashlib.sha256()
    for name in (PROJECTS, MERGE_REQUESTS):
        if (base / name).is_file():
            with open(base / name, "rb") as handle:
                for chunk in iter(lambda h=handle: h.read(1 << 20), b""):  # type: ignore[misc]
                    digest.update(chunk)
    mrs: dict[int, list[Json]] = defaultdict(list)
    from_forks: dict[int, list[Json]] = defaultdict(list)
    if (base / MERGE_REQUESTS).is_file():
        for mr in _iter_entries(base / MERGE_REQUESTS):
            if "project_id" in mr:
                mrs[int(mr["project_id"])].append(mr)
                source = mr.get("source_project_id")
                if isinstance(source, int) and source != mr["project_id"]:
                    from_forks[int(source)].append(mr)
    return Inventory(
        directory=base,
        timestamp=str(head.get("timestamp") or ""),
        meta=dict(head.get("janitor") or {}),
        digest="sha256:" + digest.hexdigest(),
        merge_requests=dict(mrs),
        merge_requests_from=dict(from_forks),
    )


def _read_head(path: Path) -> Json:
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    if first.endswith(', "entries": {\n'):
        try:
            head: Json = json.loads(first[: -len(', "entries": {\n')] + "}")
            return head
        except ValueError:
            pass
    whole = _load_whole(path)
    return {k: v for k, v in whole.items() if k != "entries"}


def _load_whole(path: Path) -> Json:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path} is not valid JSON ({exc}); it may be truncated.",
                             "Collect it again; a partial inventory is never used.") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise InventoryError(f"{path} has no \"entries\" object.",
                             'An inventory file is {"timestamp": ..., "entries": {"<id>": {...}}}.')
    return data


def _iter_entries(path: Path) -> Iterator[Json]:
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
        if first.endswith(', "entries": {\n'):
            yield from _iter_lines(path, handle)
            return
    yield from _load_whole(path)["entries"].values()


def _iter_lines(path: Path, handle: IO[str]) -> Iterator[Json]:
    closed = False
    for number, line in enumerate(handle, start=2):
        text = line.rstrip("\n")
        if text == "}}":
            closed = True
            break
        if not text:
            continue
        try:
            pair = json.loads("{" + text.rstrip(",") + "}")
        except ValueError:
            raise InventoryError(f"{path}:{number}: not a valid entry; the file is damaged or truncated.",
                                 "Collect it again; a partial inventory is never used.") from None
        yield from pair.values()
    if not closed:
        raise InventoryError(f"{path} ends before its closing '}}}}': it is truncated.",
                             "Collect it again; a partial inventory is never used.")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
