"""collect: a read-only inventory of what the policy's rules need, from a bounded pool of workers.

Listing the projects streams into the pool as it goes. A project whose listing fails is written marked
incomplete (and nothing in it will be planned); errors no retry can fix (bad token, unreachable server)
stop the run, and the partial files are removed, so no half inventory is ever left behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from janitor import __version__
from janitor.errors import ApiError, AuthError, CollectIncomplete, NotFound, SafetyRefusal, Unreachable, UsageError
from janitor.gitlab_api import GitLabAPI
from janitor.inventory import INCOMPLETE, InventoryWriter
from janitor.model import Json, format_time
from janitor.planner import in_scope
from janitor.policy.model import Policy, scope_lock_violations
from janitor.resources import KINDS
from janitor.resources.base import CollectContext, ResourceKind

GROUP_PROJECTS = "/groups/{group}/projects"
PROJECTS = "/projects"
PROJECT = "/projects/{project}"
MERGE_REQUESTS = "/projects/{project}/merge_requests"


@dataclass(frozen=True)
class CollectOptions:
    out: Path
    shard: tuple[int, int] = (1, 1)
    keep_going: bool = False
    concurrency: int = 16
    scope_lock: str | None = None
    workers: int = 1  # processes, each collecting its shard of the projects (collect_workers.py)


@dataclass
class Progress:
    started: float = field(default_factory=time.monotonic)
    listed: int = 0
    listing_done: bool = False
    done: int = 0
    skipped: int = 0
    incomplete: int = 0
    requests: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class CollectResult:
    projects: int
    incomplete: list[str]
    requests: int
    elapsed: float
    out: Path
    warnings: list[str] = field(default_factory=list)


def project_stream(api: GitLabAPI, policy: Policy, warn: Callable[[str], None] = lambda text: None
                   ) -> Iterator[Json]:
    """Every project the scope names, once each, with statistics so empty ones can be skipped. A group
    GitLab shows but that holds no project is warned about: a success that cleans nothing is most often a
    wrong path or a token that cannot see the group's projects."""
    scope = policy.scope
    params: dict[str, object] = {"statistics": "true"}
    if not scope.archived:
        params["archived"] = "false"
    seen: set[int] = set()

    def fresh(rows: Iterator[Json]) -> Iterator[Json]:
        for row in rows:
            if int(row["id"]) not in seen:
                seen.add(int(row["id"]))
                yield row

    if scope.all:
        # Keyset pagination: offset pagination of /projects stops at 50,000 rows (doc/api/rest/_index.md).
        yield from fresh(api.list(PROJECTS, params, keyset="asc"))
    for group in scope.groups:
        with _scope_path("group", group):
            rows = 0
            for row in api.list(GROUP_PROJECTS, {**params, "include_subgroups": "true", "with_shared": "false"},
                                group=group):
                rows += 1
                yield from fresh(iter([row]))
            if rows == 0:
                archived = "" if scope.archived else " (archived projects are skipped: scope.archived is false)"
                warn(f"the scope's group {group!r} has no projects this token can see{archived}; nothing in it "
                     "is collected")
    for path in scope.projects:
        with _scope_path("project", path):
            yield from fresh(iter([api.get(PROJECT, {"statistics": "true"}, project=path)]))


@contextmanager
def _scope_path(what: str, path: str) -> Iterator[None]:
    """A scope path GitLab answers 404 for is a mistake in the policy (or the token's reach): say so."""
    try:
        yield
    except NotFound:
        raise UsageError(
            f"The policy's scope names the {what} {path!r}, which GitLab does not show to this token (404).",
            f"Check the full path (as in the {what}'s URL, e.g. acme/platform) and that the token's user can "
            "see it. Nothing was collected.",
        ) from None


def _gitlab_version(api: GitLabAPI) -> str | None:
    """For the reports' header only (doc/api/version.md: `GET /version` answers authenticated users with
    {"version": "17.11.0", ...}); an instance that does not say is shown as "unknown"."""
    try:
        version = api.get("/version", retries=1).get("version")
    except ApiError:
        return None
    return version if isinstance(version, str) and 0 < len(version) <= 100 else None


def collect(policy: Policy, api: GitLabAPI, options: CollectOptions,
            on_progress: Callable[[Progress], None] = lambda p: None) -> CollectResult:
    if options.scope_lock:
        problems = scope_lock_violations(policy, options.scope_lock)
        if problems:
            raise SafetyRefusal(f"The policy reaches outside --scope {options.scope_lock}: " + "; ".join(problems),
                                "Narrow the policy's scope, or run with a --scope that covers it.")
    now = datetime.now(timezone.utc)
    used = policy.kinds()
    kinds = [kind for name, kind in KINDS.items() if name in used]  # registry order: shared listings first
    contexts = {k.name: CollectContext(now=now, actions=policy.actions_for(k.name), policy=policy) for k in kinds}
    index, total = options.shard
    api.check_token(needs_write=False)
    writer = InventoryWriter(options.out, format_time(now), {
        "tool": f"gitlab-janitor {__version__}", "gitlab_url": api.connection.url,
        "gitlab_version": _gitlab_version(api),
        "policy_digest": policy.digest, "kinds": [k.name for k in kinds],
        "shard": f"{index}/{total}", "complete": False,
    })
    progress = Progress()
    warnings: list[str] = []

    def mine(projects: Iterator[Json]) -> Iterator[Json]:
        for project in projects:
            if int(project["id"]) % total != index - 1 or in_scope(policy, project):
                progress.skipped += 1
                continue
            progress.listed += 1
            yield project

    try:
        job = Collection(kinds, contexts, writer, progress, on_progress)
        if options.workers > 1:
            from janitor.collect_workers import run_workers  # forks: only loaded when asked for

            run_workers(job, api, mine(project_stream(api, policy, warnings.append)), options)
        else:
            job.run(api, mine(project_stream(api, policy, warnings.append)), options.concurrency)
        writer.commit({"complete": not job.incomplete, "projects": progress.done, "incomplete": len(job.incomplete),
                       "requests": job.requests(api)})
    except BaseException:
        writer.abort()
        raise
    progress.requests = job.requests(api)
    on_progress(progress)
    result = CollectResult(progress.done, job.incomplete, job.requests(api), progress.elapsed, options.out,
                           warnings)
    if job.incomplete and not options.keep_going:
        raise CollectIncomplete(
            f"{len(job.incomplete)} of {progress.done} projects could not be listed completely:\n  "
            + "\n  ".join(job.incomplete[:20]) + ("\n  ..." if len(job.incomplete) > 20 else ""),
            f"The inventory in {options.out} marks them incomplete and plan will not touch them. "
            "Re-run collect, or pass --keep-going to accept the inventory as it is.",
        )
    return result


@dataclass
class Collection:
    """One process's share of a run: its projects, listed by a pool of threads into the inventory."""

    kinds: list[ResourceKind]
    contexts: dict[str, CollectContext]
    writer: InventoryWriter
    progress: Progress
    on_progress: Callable[[Progress], None]
    incomplete: list[str] = field(default_factory=list)
    other_requests: int = 0  # those of the worker processes, once they are done

    def requests(self, api: GitLabAPI) -> int:
        return api.requests + self.other_requests

    def run(self, api: GitLabAPI, projects: Iterator[Json], concurrency: int) -> None:
        progress, writer = self.progress, self.writer
        lock = threading.Lock()
        last_report = [0.0]
        fatal: list[BaseException] = []
        slots = threading.Semaphore(concurrency * 2)

        def report() -> None:
            if time.monotonic() - last_report[0] >= 2.0:
                last_report[0] = time.monotonic()
                progress.requests = self.requests(api)
                self.on_progress(progress)

        def work(project: Json) -> None:
            try:
                if fatal:
                    return
                entry, mrs = _collect_project(api, project, self.kinds, self.contexts)
                with lock:
                    writer.add_project(entry)
                    for mr in mrs:
                        writer.add_merge_request(mr)
                    progress.done += 1
                    if entry.get(INCOMPLETE):
                        progress.incomplete += 1
                        self.incomplete.append(f"{entry.get('path_with_namespace')}: {entry[INCOMPLETE]}")
                    report()
            except BaseException as exc:
                fatal.append(exc)
            finally:
                slots.release()

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="collect") as pool:
            for project in projects:
                if fatal:
                    break
                slots.acquire()
                pool.submit(work, project)
            progress.listing_done = True
        if fatal:
            raise fatal[0]


def _collect_project(api: GitLabAPI, project: Json, kinds: list[ResourceKind], contexts: dict[str, CollectContext]
                     ) -> tuple[Json, list[Json]]:
    entry: Json = dict(project)
    mrs: list[Json] = []
    statistics = project.get("statistics") or {}
    try:
        for kind in kinds:
            stat = kind.empty_when_statistic_zero
            if stat and statistics.get(stat) == 0:
                entry.update({key: [] for key in kind.inventory_keys})
                entry.setdefault("_skipped", {})[kind.name] = f"statistics.{stat} is 0"
                continue
            # kinds see what earlier kinds already listed (`_branches` ...) and need not list it again
            entry.update(kind.collect(api, entry, contexts[kind.name]))
        if any(k.needs_merge_requests for k in kinds):
            mrs = list(api.list(MERGE_REQUESTS, {"state": "opened"}, project=project["id"]))
            entry.update(_fork_merge_requests(api, project))
    except (Unreachable, AuthError) as exc:
        if isinstance(exc, AuthError) and exc.missing_role:
            entry[INCOMPLETE] = exc.message  # a role this project does not grant: the rest may still work
        else:
            raise
    except NotFound as exc:
        entry[INCOMPLETE] = f"gone or not visible during collection ({exc.message})"
    except ApiError as exc:
        entry[INCOMPLETE] = exc.message
    return entry, mrs


def _fork_merge_requests(api: GitLabAPI, project: Json) -> Json:
    """A fork's open MRs into its upstream, which GitLab lists on the upstream, not on the fork
    (doc/api/merge_requests.md: a fork's MR has the upstream as `project_id`, the fork as
    `source_project_id`). `_forkMrs` holds them; `_forkMrsUnknown` says why they could not be read, and
    then the fork's branches are all kept (any of them could be an MR's source)."""
    upstream = (project.get("forked_from_project") or {}).get("id")
    if upstream is None:
        return {}
    # `source_project_id` filters on the server (lib/api/helpers/merge_requests_helpers.rb); rows are
    # checked again here, since a GitLab without that filter answers with every open MR.
    try:
        rows = api.list(MERGE_REQUESTS, {"state": "opened", "source_project_id": project["id"]}, project=upstream)
        mine = [mr for mr in rows if mr.get("source_project_id") == project["id"]]
    except (NotFound, AuthError) as exc:
        if isinstance(exc, AuthError) and not exc.missing_role:
            raise  # the token itself is wrong: stop, as everywhere else
        return {"_forkMrsUnknown": f"the upstream project {upstream}'s merge requests could not be read "
                                   f"({exc.message})"}
    return {"_forkMrs": mine}
