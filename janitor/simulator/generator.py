"""A seeded, deterministic GitLab instance that makes clean-up interesting: old artifacts on
feature branches, a latest successful pipeline on each ref, running pipelines, archived and empty
projects, and a few projects far larger than the rest.

Later resource families add a populate step to `POPULATORS`; each gets the project and its own
`random.Random`, so adding one does not change what the others generate.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from janitor.simulator.populate_registry import populate_registry
from janitor.simulator.populate_repository import populate_repository
from janitor.simulator.state import Group, Instance, Job, Pipeline, Project

DAY_MS = 86_400_000
HISTORY_DAYS = 180


@dataclass(frozen=True, slots=True)
class Scale:
    projects: int
    jobs_per_project: int


SCALES: dict[str, Scale] = {
    "tiny": Scale(6, 40),
    "small": Scale(40, 50),
    "demo": Scale(40, 50),
    "medium": Scale(1_000, 100),
    "large": Scale(10_000, 100),
}

_BASE_GROUPS = ("acme", "acme/platform", "acme/web", "acme/legacy", "acme/legal", "other")
# (full path, archived, without jobs): the first projects are always these, so tests and the
# demo can name them at every scale.
_PRESET_PROJECTS = (
    ("acme/platform/api", False, False),
    ("acme/web/frontend", False, False),
    ("acme/legacy/monolith", True, False),
    ("acme/legal/contracts", False, False),
    ("other/tool", False, False),
    ("acme/web/docs", False, True),
    ("acme/platform/worker", False, False),
    ("acme/platform/billing", False, False),
    ("acme/legacy/old-portal", True, False),
    ("acme/web/design-system", False, True),
)
_WORDS = ("api", "worker", "gateway", "billing", "search", "auth", "ledger", "mailer", "ui", "cli",
          "infra", "data", "sync", "reports", "mobile", "portal", "events", "scheduler", "cache", "edge")
_FEATURES = ("login", "cache", "retry", "metrics", "dark-mode", "export", "upgrade", "cleanup",
             "i18n", "perf", "audit", "onboarding")
# (stage, name, archive?, junit?) per pipeline layout; 2 to 5 jobs
_LAYOUTS: tuple[tuple[tuple[str, str, bool, bool], ...], ...] = (
    (("build", "build", True, False), ("test", "unit-tests", True, True)),
    (("build", "build", True, False), ("test", "unit-tests", True, True), ("test", "lint", False, False)),
    (("build", "build", True, False), ("test", "unit-tests", True, True), ("deploy", "deploy", False, False)),
    (("build", "build", True, False), ("test", "unit-tests", True, True), ("test", "lint", False, False),
     ("deploy", "deploy", False, False)),
    (("build", "build", True, False), ("build", "docs", True, False), ("test", "unit-tests", True, True),
     ("test", "integration", True, True), ("deploy", "deploy", False, False)),
)
_AVERAGE_JOBS = sum(len(layout) for layout in _LAYOUTS) / len(_LAYOUTS)


class _Ids:
    def __init__(self) -> None:
        self.group = self.project = self.pipeline = self.job = 0

    def next(self, kind: str) -> int:
        value: int = getattr(self, kind) + 1
        setattr(self, kind, value)
        return value


def generate(seed: int = 1, projects: int | None = None, jobs_per_project: int | None = None,
             now: datetime | None = None, scale: str | None = None) -> Instance:
    """Build an instance. `scale` picks preset sizes; explicit counts override it."""
    preset = SCALES[scale or "small"]
    n_projects = projects if projects is not None else preset.projects
    per_project = jobs_per_project if jobs_per_project is not None else preset.jobs_per_project
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now_ms = int(moment.timestamp() * 1000)
    instance = Instance(now=now_ms, seed=seed)
    rng = random.Random(seed)
    ids = _Ids()
    groups = _make_groups(instance, ids, n_projects, now_ms)
    weights = _project_weights(rng, n_projects)
    total_weight = sum(weights) or 1.0
    for index in range(n_projects):
        project = _make_project(instance, ids, rng, groups, index, now_ms)
        project_rng = random.Random(f"{seed}:{project.id}")
        budget = round(per_project * n_projects * weights[index] / total_weight)
        if index < len(_PRESET_PROJECTS) and _PRESET_PROJECTS[index][2]:
            budget = 0
        _populate_pipelines(instance, ids, project_rng, project, budget)
        for name, populate in POPULATORS.items():
            populate(instance, project, random.Random(f"{seed}:{project.id}:{name}"))
    return instance


def _make_groups(instance: Instance, ids: _Ids, n_projects: int, now_ms: int) -> list[Group]:
    paths = list(_BASE_GROUPS)
    if n_projects > 40:
        paths += ["acme/platform/tools", "acme/web/frontend-libs"]
    paths += [f"acme/teams/team-{i:02d}" for i in range(n_projects // 500)]
    if n_projects >= 1000:
        paths.insert(paths.index("acme/teams/team-00"), "acme/teams")
    made: list[Group] = []
    for offset, path in enumerate(paths):
        parent = instance.groups_by_path.get(path.rpartition("/")[0])
        name = path.rpartition("/")[2]
        group = Group(ids.next("group"), name.replace("-", " ").title(), name, path, parent,
                      now_ms - (900 - offset) * DAY_MS, f"The {name} group")
        instance.add_group(group)
        made.append(group)
    return [g for g in made if g.full_path != "acme"]


def _project_weights(rng: random.Random, n_projects: int) -> list[float]:
    # A heavy tail: most projects near the average, a few with several times more jobs.
    return [min(rng.lognormvariate(0.0, 0.6), 8.0) for _ in range(n_projects)]


def _make_project(instance: Instance, ids: _Ids, rng: random.Random, groups: list[Group],
                  index: int, now_ms: int) -> Project:
    if index < len(_PRESET_PROJECTS):
        full_path, archived, _ = _PRESET_PROJECTS[index]
        group_path, _, path = full_path.rpartition("/")
        group = instance.groups_by_path[group_path]
    else:
        group = groups[rng.randrange(len(groups))]
        path = f"{_WORDS[rng.randrange(len(_WORDS))]}-{index}"
        archived = rng.random() < 0.05
    project_id = ids.next("project")
    created = now_ms - 800 * DAY_MS + project_id * 60_000  # older projects have lower ids
    project = Project(
        id=project_id, name=path.replace("-", " ").title(), path=path, namespace=group,
        created_at=created, last_activity_at=created, description=f"{path} service of {group.full_path}",
        archived=archived, repository_size=rng.randint(200_000, 400_000_000),
        commit_count=rng.randint(20, 5_000),
    )
    instance.add_project(project)
    return project


def _refs(rng: random.Random) -> tuple[list[str], list[str]]:
    branches = ["main", "main", "main", "release/1.x"]
    branches += [f"feature/{f}" for f in rng.sample(_FEATURES, rng.randint(3, 6))]
    tags = [f"v1.{minor}.0" for minor in range(rng.randint(1, 5))]
    return branches, tags


def _populate_pipelines(instance: Instance, ids: _Ids, rng: random.Random, project: Project,
                        job_budget: int) -> None:
    if job_budget <= 0:
        return
    now = instance.now
    count = max(1, round(job_budget / _AVERAGE_JOBS))
    branches, tags = _refs(rng)
    # Projects differ a lot in artifact size: a log-normal factor makes a few of them huge.
    size_factor = min(rng.lognormvariate(0.0, 1.3), 40.0)
    span = HISTORY_DAYS * DAY_MS
    times = sorted(now - rng.randrange(span) for _ in range(count))
    running_tail = rng.random() < 0.5
    sha = rng.getrandbits(160)
    previous = 0
    for iid, created in enumerate(times, start=1):
        last = iid == count
        if rng.random() < 0.1 and tags:
            ref, tag = tags[rng.randrange(len(tags))], True
        else:
            ref, tag = branches[rng.randrange(len(branches))], False
        if last and running_tail:
            created, ref, tag = now - rng.randint(60_000, 3_600_000), "main", False
        created = previous = max(created, previous + 1_000)  # ids and creation times agree
        before, sha = sha, rng.getrandbits(160)
        status = "running" if last and running_tail else _pipeline_status(rng)
        pipeline = Pipeline(ids.next("pipeline"), iid, project.id, ref, tag, f"{sha:040x}",
                            f"{before:040x}", status, "push", created, created, None, None)
        _add_jobs(ids, rng, pipeline, size_factor, now)
        instance.add_pipeline(project, pipeline)
        project.last_activity_at = max(project.last_activity_at, pipeline.updated_at)


def _pipeline_status(rng: random.Random) -> str:
    roll = rng.random()
    return "success" if roll < 0.8 else "failed" if roll < 0.93 else "canceled"


def _add_jobs(ids: _Ids, rng: random.Random, pipeline: Pipeline, size_factor: float, now: int) -> None:
    layout = _LAYOUTS[rng.randrange(len(_LAYOUTS))]
    clock = pipeline.created_at + rng.randint(2_000, 60_000)
    pipeline.started_at = clock
    feature = pipeline.ref.startswith("feature/")
    broken = rng.randrange(len(layout)) if pipeline.status in ("failed", "canceled") else -1
    halted = False  # a failure or cancel stops the later jobs
    for position, (stage, name, has_archive, has_junit) in enumerate(layout):
        created = pipeline.created_at
        if halted:
            status = "skipped" if pipeline.status == "failed" else "canceled"
        elif pipeline.status == "running":
            status = "success" if position == 0 else "running" if position == 1 else "pending"
        elif position == broken:
            status, halted = pipeline.status, True
        elif stage == "deploy" and feature:
            status = "manual"
        else:
            status = "success"
        started = finished = None
        if status in ("success", "failed", "running") or (status == "canceled" and position == broken):
            started = clock
            if status != "running":
                clock += rng.randint(20_000, 600_000)
                finished = clock
        archive = metadata = trace = junit = 0
        if started is not None:
            trace = rng.randint(2_000, 400_000)
        if finished is not None and status == "success":
            if has_archive and rng.random() < 0.9:
                archive = int(rng.randint(5_000, 3_000_000) * size_factor)
                metadata = archive // 200 + 150
            if has_junit:
                junit = rng.randint(1_000, 100_000)
        expire = None
        if archive and finished is not None and rng.random() < 0.4:
            expire = finished + 30 * DAY_MS
        if status == "running":
            trace = 0  # a live log is not an artifact yet
        pipeline.jobs.append(Job(ids.next("job"), pipeline, name, stage, status, created, started,
                                 finished, archive, metadata, trace, junit, expire))
    if pipeline.status != "running":
        pipeline.finished_at = clock
        pipeline.updated_at = min(clock, now)


Populator = Callable[[Instance, Project, random.Random], None]
# Later families register here, e.g. POPULATORS["branches"] = populate_branches.
POPULATORS: dict[str, Populator] = {}
POPULATORS["repository"] = populate_repository
# after "repository": registry tags and review apps are named after its branches
POPULATORS["registry"] = populate_registry
