"""Helpers for the report tests: a small inventory written as collect writes it, and a reader of report.html
that sees what a browser would parse (tags, attributes, the bars of each chart)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from janitor.inventory import InventoryWriter
from janitor.model import Json

INVENTORY_TIME = "2025-03-01T00:00:00Z"
OLD = "2024-06-01T00:00:00Z"
RECENT = "2025-02-25T00:00:00Z"

ARTIFACTS_ONLY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d}
"""


@dataclass(frozen=True)
class ProjectSpec:
    id: int
    path: str
    jobs: int
    job_bytes: int
    ref: str = "feature/x"
    recent_jobs: int = 0  # finished days ago: kept by `older_than: 30d`


def write_artifact_inventory(directory: Path, projects: list[ProjectSpec]) -> Path:
    """Each project has `jobs` old finished jobs (and `recent_jobs` recent ones) on one ref, each with
    `job_bytes` of artifacts, and a newer successful pipeline on that ref (so GitLab's lock on the latest one
    protects none of them)."""
    writer = InventoryWriter(directory, INVENTORY_TIME, {"gitlab_url": "https://gitlab.example.com"})
    for spec in projects:
        pipelines: list[Json] = [{"id": spec.id * 1000 + n, "ref": spec.ref, "status": "success"}
                                 for n in range(spec.jobs + spec.recent_jobs)]
        jobs = [{"id": p["id"], "name": "build", "status": "success", "ref": spec.ref, "pipeline": p,
                 "finished_at": OLD if n < spec.jobs else RECENT,
                 "artifacts": [{"file_type": "archive", "size": spec.job_bytes}]}
                for n, p in enumerate(pipelines)]
        pipelines.append({"id": spec.id * 1000 + 999, "ref": spec.ref, "status": "success"})
        writer.add_project({"id": spec.id, "path_with_namespace": spec.path, "archived": False,
                            "_jobs": jobs, "_pipelines": pipelines})
    writer.commit()
    return directory


class Page(HTMLParser):
    """Every start tag with its attributes, and per chart (figure id) and view ("items" or "bytes") the classes
    of its bars and the text of its labels."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.bars: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.labels: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._chart: str | None = None
        self._view = ""
        self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        classes = values.get("class", "").split()
        if tag == "figure":
            self._chart = values.get("id")
        if self._chart and tag == "div":
            self._view = next((c[2:] for c in classes if c.startswith("v-")), "")
        if self._chart and tag == "rect" and "bar" in classes:
            self.bars[self._chart][self._view].append(values["class"])
        self._in_label = tag == "span" and "label" in classes

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._chart = None
        if tag == "div":
            self._view = ""
        if tag == "span":
            self._in_label = False

    def handle_data(self, data: str) -> None:
        if self._in_label and self._chart:
            self.labels[self._chart][self._view].append(data)

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def parse_page(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


# One rule per kind, over the simulator's generated instance: bytes-heavy kinds (artifacts, images,
# packages) next to kinds that free 0 B (branches, tags, environments, protected-branch rules).
EVERY_KIND = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: merged-branches
    resource: branches
    action: delete
    match: {merged: true, older_than: 14d}
  - name: old-nightly-tags
    resource: tags
    action: delete
    match: {name: "nightly-*", older_than: 30d}
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d, ref: {exclude: [main]}}
    keep: {latest: 1, per: ref}
  - name: stale-environments
    resource: environments
    action: delete
    match: {state: stopped, older_than: 30d}
  - name: images-of-deleted-branches
    resource: container_tags
    action: delete
    match: {orphaned: true, older_than: 14d}
  - name: old-packages
    resource: packages
    action: delete
    match: {older_than: 90d}
    keep: {latest: 1, per: name}
  - name: stale-protection-rules
    resource: protected_branches
    action: delete
    match: {orphaned: true}
  - name: old-pipelines
    resource: pipelines
    action: delete
    match: {older_than: 90d}
    keep: {latest: 5, per: ref}
"""
