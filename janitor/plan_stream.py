"""Plan and reports with flat memory: each project's parts are spooled to temporary files as the planner
yields it, and plan.json and report.json are assembled from them at the end, in their final order.

Only aggregates and per-project summaries stay in memory. The limits (max_actions, max_percent) need
totals over every project, so nothing is written until all projects are evaluated; a refused plan simply
never assembles its plan.json. The bytes are exactly those of `build_plan` + `write_plan` and of
`report_of` + `write_reports` for the same evaluation, grace's pending items included
(tests/test_plan_stream.py holds them to that).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import IO

from janitor import json_forms, plan_file
from janitor.model import Json, ProjectResult
from janitor.report.data import DETAIL_PROJECTS, ReportTotals, project_detail, project_json, project_summary

# the digest is written as this placeholder, then overwritten in place once the items are hashed
_PLACEHOLDER = "sha256:" + "0" * 64


_canonical = json_forms.canonical  # as plan_file.seal serializes: what the digest covers
_pretty = json_forms.pretty  # an element of a spread list exactly as `model.json_lines` writes it


def spread_lines(value: Json, spread: str, rows: Iterable[str]) -> Iterator[str]:
    """`model.json_lines(value | {spread: [...]}, spread)`, byte for byte, where the spread list's elements
    come already serialized (`_pretty`) from a stream instead of a list in memory."""
    yield "{\n "
    for index, key in enumerate(sorted([*value, spread])):
        if index:
            yield ",\n "
        if key != spread:
            yield f"{json.dumps(key)}: {_pretty(value[key])}"
            continue
        empty = True
        for row in rows:
            yield (f"{json.dumps(key)}: [\n  " if empty else ",\n  ") + row
            empty = False
        yield f"{json.dumps(key)}: []" if empty else "\n ]"
    yield "\n}\n"


@dataclass
class _Spooled:
    """Where one project's parts are in the spool files, and its report summary."""

    summary: Json
    items: tuple[int, int]    # (offset, length) of its plan items' block (see _block)
    pending: tuple[int, int]  # of its plan pending items' block
    report: tuple[int, int]   # of its report.json line

    @property
    def largest_first(self) -> tuple[int, str]:
        return (-int(self.summary["remove_bytes"]), str(self.summary["path"]))


class PlanSpool:
    """Receives evaluated projects one at a time; keeps their summaries and the totals, and the `soonest`
    pending items (report form) soonest due first, for the terminal's summary."""

    def __init__(self, soonest: int = 0, report_lists: bool = True) -> None:
        """`report_lists`: whether report files will be written; without them, the projects' removed and
        kept lists (most of a report's bytes) are neither built nor spooled."""
        self._report_lists = report_lists
        self._dir = tempfile.TemporaryDirectory(prefix="janitor-plan-")
        self._items: IO[bytes] = open(Path(self._dir.name) / "items", "w+b")  # noqa: SIM115 (closed in close())
        self._pending: IO[bytes] = open(Path(self._dir.name) / "pending", "w+b")  # noqa: SIM115
        self._report: IO[bytes] = open(Path(self._dir.name) / "report", "w+b")  # noqa: SIM115
        self.projects: list[_Spooled] = []
        self.report_totals = ReportTotals()
        self._keep_soonest = soonest
        self.soonest_pending: list[Json] = []
        self.actions = 0
        self.pending = 0
        self.bytes = 0
        self.by_resource: dict[str, dict[str, int]] = {}
        self._partial: tuple[Path, Path] | None = None
        self._state_partial: tuple[Path, Path] | None = None

    def __enter__(self) -> PlanSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._partial:  # a run that failed after sealing leaves no plan behind
            self._partial[0].unlink(missing_ok=True)
        if self._state_partial:  # nor a new state
            self._state_partial[0].unlink(missing_ok=True)
        self._items.close()
        self._pending.close()
        self._report.close()
        self._dir.cleanup()

    def add(self, project: ProjectResult) -> None:
        prepared = {item.id: item.to_json() for item in project.removed}
        for item in project.removed:
            counts = self.by_resource.setdefault(item.resource, {"actions": 0, "bytes": 0})
            counts["actions"] += 1
            counts["bytes"] += item.bytes
        self.actions += len(project.removed)
        self.bytes += project.removed_bytes
        self.pending += len(project.pending)
        items = _block(prepared[i.id] for i in sorted(project.removed, key=lambda i: (i.resource, i.rule, i.id)))
        pending = _block(w.to_json() for w in sorted(project.pending,
                                                     key=lambda w: (w.item.resource, w.item.rule, w.item.id)))
        full = project_json(project, prepared, lists=self._report_lists)
        self.report_totals.add(project)
        if self._keep_soonest and full["pending"]:
            self.soonest_pending = sorted([*self.soonest_pending, *full["pending"]], key=soonest_first
                                          )[:self._keep_soonest]
        report = _append(self._report, json_forms.pretty_bytes(full) + b"\n") if self._report_lists else (0, 0)
        self.projects.append(_Spooled(project_summary(full), _append(self._items, items),
                                      _append(self._pending, pending), report))

    def _plan_rows(self, pending: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """The canonical forms and the file forms of every item (or pending item), in the plan's order:
        (project_path, resource, rule, id); per project path, one row a line (see _block)."""
        spool = self._pending if pending else self._items
        by_path = sorted(self.projects, key=lambda s: str(s.summary["path"]))
        for _, group in groupby(by_path, key=lambda s: str(s.summary["path"])):
            blocks = [_split_block(block) for s in group
                      if (block := _read(spool, s.pending if pending else s.items))]
            if len(blocks) == 1:
                yield blocks[0]
            elif blocks:  # two projects, one path: their rows merged in item order
                # split on "\n" only: str.splitlines() would also cut at U+0085 or U+2028 inside a name
                rows = sorted((row for canonical, pretty in blocks
                               for row in zip(canonical.split(b"\n"), pretty.split(b"\n"), strict=True)),
                              key=lambda row: _item_order(row[0]))
                yield b"\n".join(c for c, _ in rows), b"\n".join(p for _, p in rows)

    def plan_head(self, *, gitlab_url: str, created_at: datetime, policy_digest: str, inventory_digest: str,
                  scope_lock: str | None, grace: Json, notify: Json, state_digest: str | None) -> Json:
        """Every field of the plan but its items, pending items and digest, as `build_plan` makes them."""
        return plan_file.plan_head(
            gitlab_url=gitlab_url, created_at=created_at, policy_digest=policy_digest,
            inventory_digest=inventory_digest, scope_lock=scope_lock,
            totals={"actions": self.actions, "bytes": self.bytes,
                    "by_resource": {k: dict(self.by_resource[k]) for k in sorted(self.by_resource)},
                    "pending": self.pending},
            grace=grace, notify=notify, state_digest=state_digest)

    def write_plan(self, path: str | Path, head: Json) -> str:
        """plan.json, sealed, under a temporary name until `publish_plan`; returns its digest. The digest
        (SHA-256 of the canonical JSON of every other field, see plan_file.seal) is computed while the items
        stream past, and written over its placeholder."""
        digest = hashlib.sha256()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        self._partial = (tmp, target)  # removed by close() unless published

        def seal(text: str | bytes) -> None:
            digest.update(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)

        def pieces() -> Iterator[str | bytes]:
            """`model.json_lines(plan, spread="items")`, the sealed part fed to the digest on the way: the
            items one per line, the pending items on one line as json.dumps writes a list."""
            body: Json = {**head, "digest": _PLACEHOLDER, "items": None, "pending": None}
            yield "{\n "
            sealed = 0
            for index, key in enumerate(sorted(body)):
                if index:
                    yield ",\n "
                if key == "digest":
                    yield f"{json.dumps(key)}: {_pretty(_PLACEHOLDER)}"
                    continue
                seal(("," if sealed else "{") + _canonical(key) + ":")
                sealed += 1
                if key in ("items", "pending"):
                    spread = key == "items"
                    opening, between, closing = ("[\n  ", ",\n  ", "\n ]") if spread else ("[", ", ", "]")
                    first, then = opening.encode(), between.encode()
                    empty = True
                    yield f"{json.dumps(key)}: "
                    for canonical, pretty in self._plan_rows(pending=not spread):  # a project path's
                        seal((b"[" if empty else b",") + canonical.replace(b"\n", b","))
                        yield (first if empty else then) + pretty.replace(b"\n", then)
                        empty = False
                    seal("[]" if empty else "]")
                    yield "[]" if empty else closing
                else:
                    seal(_canonical(body[key]))
                    yield f"{json.dumps(key)}: {_pretty(body[key])}"
            seal("}")
            yield "\n}\n"

        with open(tmp, "wb") as handle:
            written = 0
            at = -1
            for piece in pieces():
                data = piece.encode("utf-8") if isinstance(piece, str) else piece
                if at < 0 and isinstance(piece, str) and _PLACEHOLDER in piece:  # before any item
                    at = written + data.index(_PLACEHOLDER.encode("ascii"))
                handle.write(data)
                written += len(data)
            sealed = "sha256:" + digest.hexdigest()
            handle.seek(at)
            handle.write(sealed.encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        return sealed

    def write_state(self, path: str | Path, head: Json, lines: Iterable[str]) -> str:
        """The next state file, `state_bytes(state_json(...))` byte for byte, written from its entries' lines
        (`state.entry_line`, sorted by id) under a temporary name until `publish_state`; returns its digest
        (state.state_digest). Never one string in memory: at 300,000 items under grace that string, its
        bytes and their dicts cost hundreds of MiB."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        self._state_partial = (tmp, target)  # removed by close() unless published
        digest = hashlib.sha256()
        with open(tmp, "wb") as handle:
            for piece in spread_lines(head, "items", lines):
                data = piece.encode("utf-8")
                digest.update(data)
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return "sha256:" + digest.hexdigest()

    def publish_state(self) -> None:
        """Give the new state its name: after the plan, so a run that planned nothing starts no clock."""
        if self._state_partial:
            os.replace(*self._state_partial)
            self._state_partial = None

    def publish_plan(self) -> None:
        """Give the sealed plan its name: the last step, once the reports are written."""
        if self._partial:
            os.replace(*self._partial)
            self._partial = None

    def report_projects(self) -> tuple[list[Json], Iterator[str]]:
        """The report's projects largest first: the value's entries (lists only for the first
        DETAIL_PROJECTS) and, lazily, report.json's full lines."""
        ordered = sorted(self.projects, key=lambda s: s.largest_first)
        if not self._report_lists:
            return [s.summary for s in ordered], iter(())
        entries = [project_detail(json.loads(_read(self._report, s.report))) if n < DETAIL_PROJECTS else s.summary
                   for n, s in enumerate(ordered)]
        return entries, (_read(self._report, s.report).decode("utf-8").rstrip("\n") for s in ordered)


def soonest_first(pending: Json) -> tuple[str, str, str]:
    """The order the terminal lists pending items in: soonest due first."""
    return (str(pending["due"]), str(pending["project_path"]), str(pending["id"]))


def _block(values: Iterable[Json]) -> bytes:
    """A project's plan rows as spooled, in UTF-8: their canonical forms (what the digest covers) one a
    line, a tab, then their forms in the file one a line (nothing for no rows). JSON escapes every control
    character inside strings and no byte of a multi-byte character is a tab or newline, so a newline only
    ever separates two rows and the one tab the two blocks."""
    rows = [json_forms.forms(value) for value in values]
    if not rows:
        return b""
    return b"\n".join([canonical for canonical, _ in rows]) + b"\t" + b"\n".join([pretty for _, pretty in rows])


def _split_block(block: bytes) -> tuple[bytes, bytes]:
    """A _block's (canonical forms, file forms)."""
    canonical, pretty = block.split(b"\t")
    return canonical, pretty


def _item_order(canonical: bytes) -> tuple[str, str, str]:
    item = json.loads(canonical)
    return (item["resource"], item["rule"], item["id"])


def _append(handle: IO[bytes], text: str | bytes) -> tuple[int, int]:
    handle.seek(0, os.SEEK_END)
    at = handle.tell()
    data = text.encode("utf-8") if isinstance(text, str) else text
    handle.write(data)
    return at, len(data)


def _read(handle: IO[bytes], where: tuple[int, int]) -> bytes:
    handle.seek(where[0])
    return handle.read(where[1])
