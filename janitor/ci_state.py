"""Carry the grace state from one scheduled pipeline to the next (`janitor fetch-state`).

The state of the previous run is a file in the artifacts of the latest *successful* `janitor:plan` job on
the same ref. It is found with the jobs API and downloaded by job id, with GITLAB_TOKEN:

- `GET /projects/:id/jobs?scope[]=success` lists jobs newest first (doc/api/jobs.md, "List project jobs");
  name and ref are not API filters, so they are matched here, and the search stops at the first hit or
  after `max_jobs` jobs (a busy project's history is long; an old state is not worth minutes of paging).
- `GET /projects/:id/jobs/:job_id/artifacts/*artifact_path` serves one file of that job's archive
  (doc/api/job_artifacts.md, "Download a single artifact file by job ID").

Not `jobs/artifacts/:ref/raw/*artifact_path?job=`: it serves the latest successful *pipeline* only, and
a pipeline whose manual apply was never run or approved is not successful, so the state would stall at
the last applied run. Not the CI job token either: job-token access to these routes is Premium-only
(doc/api/job_artifacts.md). No previous job, an expired archive or an archive without the file (404) is
a first run: nothing is written and the plan starts fresh. The bytes are not parsed here (`janitor plan
--state` validates them); they are bounded, and written atomically so a reader never sees half a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from janitor.ci_limits import DEFAULT_ARTIFACT_PATH as DEFAULT_ARTIFACT_PATH
from janitor.ci_limits import DEFAULT_JOB_NAME as DEFAULT_JOB_NAME
from janitor.ci_limits import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from janitor.ci_limits import DEFAULT_MAX_JOBS as DEFAULT_MAX_JOBS
from janitor.ci_limits import MAX_BYTES as MAX_BYTES
from janitor.ci_limits import MAX_JOBS as MAX_JOBS
from janitor.errors import AuthError, NotFound, UsageError
from janitor.gitlab_api import GitLabAPI, Json, render_path
from janitor.urls import normalize_url

JOBS = "/projects/{project}/jobs"
ARTIFACT_FILE = "/projects/{project}/jobs/{job}/artifacts/"
TOKEN_NEEDS = ("The token needs the read_api (or api) scope and at least the Reporter role on the project that "
               "runs the pipeline, to list its jobs and read their artifacts.")


@dataclass(frozen=True)
class FetchOptions:
    project: str  # id or full path of the project whose pipelines carry the state
    ref: str
    out: Path
    job_name: str = DEFAULT_JOB_NAME
    artifact_path: str = DEFAULT_ARTIFACT_PATH
    max_jobs: int = DEFAULT_MAX_JOBS
    max_bytes: int = DEFAULT_MAX_BYTES
    # Set when the pipeline's own jobs cannot be on the GitLab this run talks to: why no state is looked for.
    not_here: str | None = None


@dataclass(frozen=True)
class Fetched:
    """What fetch-state found. `job` is None when no job qualified; `written` says whether `out` holds a state."""

    scanned: int
    job: Json | None
    written: bool
    size: int = 0
    removed_stale: bool = False  # a file already at `out` was removed because no state was found
    not_here: str | None = None  # the search was not made, and why (FetchOptions.not_here)


def options_from_env(env: Mapping[str, str], gitlab_url: str, *, project: str | None, ref: str | None, out: Path,
                     job_name: str, artifact_path: str, max_jobs: int, max_bytes: int) -> FetchOptions:
    """The options, with the project and ref of the running CI job unless given. `gitlab_url` is the GitLab
    this run talks to: when a CI job cleans another GitLab than the one running it (the component's
    gitlab_url input), CI_PROJECT_ID names a project over there, so only an explicit --project is searched."""
    ci_server = env.get("CI_SERVER_URL", "")
    not_here = None
    if not project and ci_server and normalize_url(ci_server) != normalize_url(gitlab_url):
        not_here = (f"this pipeline runs on {normalize_url(ci_server)} but talks to {normalize_url(gitlab_url)}, "
                    "where its jobs are not")
    project = project or env.get("CI_PROJECT_ID", "")
    ref = ref or env.get("CI_COMMIT_REF_NAME", "")
    if not project or not ref:
        missing = " and ".join(n for n, v in (("--project (CI_PROJECT_ID)", project),
                                             ("--ref (CI_COMMIT_REF_NAME)", ref)) if not v)
        raise UsageError(f"fetch-state needs {missing}: it reads the state a pipeline of that project and ref left.",
                         "In GitLab CI both come from the job's predefined variables; elsewhere pass them.")
    parts = artifact_path.split("/")
    if not artifact_path or artifact_path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"--artifact-path {artifact_path!r} is not a relative path inside an artifacts archive.",
                         f"For example {DEFAULT_ARTIFACT_PATH}")
    return FetchOptions(project=project, ref=ref, out=out, job_name=job_name, artifact_path=artifact_path,
                        max_jobs=max_jobs, max_bytes=max_bytes, not_here=not_here)


def fetch_state(api: GitLabAPI, options: FetchOptions) -> Fetched:
    found = Fetched(0, None, written=False, not_here=options.not_here) if options.not_here else _fetch(api, options)
    if isinstance(found, Fetched):
        # Whatever is already at `out` did not come from GitLab (a file committed to the repository, a
        # leftover): `plan --state` would trust its dates, so a run without a previous state leaves none.
        if options.out.is_file() or options.out.is_symlink():
            options.out.unlink()
            return Fetched(found.scanned, found.job, written=False, removed_stale=True, not_here=found.not_here)
        return found
    content, scanned, job = found
    write_atomically(options.out, content)
    return Fetched(scanned, job, written=True, size=len(content))


def _fetch(api: GitLabAPI, options: FetchOptions) -> Fetched | tuple[bytes, int, Json]:
    """The state file's bytes with the job they came from, or a Fetched that says why there are none."""
    try:
        job, scanned = latest_successful_job(api, options)
        if job is None or not has_archive(job):
            return Fetched(scanned, job, written=False)
        try:
            content = api.download(artifact_url(options.project, job["id"], options.artifact_path),
                                   options.max_bytes)
        except NotFound:  # the archive lacks the file, or expired since the listing
            return Fetched(scanned, job, written=False)
    except AuthError as exc:
        raise AuthError(f"{exc.message}\nfetch-state could not read the jobs of project {options.project}.",
                        TOKEN_NEEDS, status=exc.status, missing_scope=exc.missing_scope) from None
    except NotFound as exc:
        raise NotFound(f"{exc.message}\nfetch-state could not list the jobs of project {options.project}.",
                       "Check --project (CI_PROJECT_ID) and that GITLAB_URL is the GitLab running this pipeline; "
                       + TOKEN_NEEDS, missing=exc.missing) from None
    return content, scanned, job


def latest_successful_job(api: GitLabAPI, options: FetchOptions) -> tuple[Json | None, int]:
    """The newest successful job named `job_name` on `ref`, and how many jobs were looked at to find it."""
    scanned = 0
    for job in api.list(JOBS, {"scope[]": ["success"]}, keyset="desc", project=options.project):
        scanned += 1
        # GitLab already filters by status; checked again so that a server ignoring scope[] changes nothing.
        if job.get("name") == options.job_name and job.get("ref") == options.ref and job.get("status") == "success":
            return job, scanned
        if scanned >= options.max_jobs:
            break
    return None, scanned


def has_archive(job: Json) -> bool:
    # An expired or erased archive is gone from the job's `artifacts` list (doc/api/jobs.md).
    return any(isinstance(a, dict) and a.get("file_type") == "archive" for a in job.get("artifacts") or [])


def artifact_url(project: str, job_id: object, artifact_path: str) -> str:
    # Each segment encoded, the slashes kept: `*artifact_path` is the rest of the path, as in the doc's example.
    return render_path(ARTIFACT_FILE, {"project": project, "job": job_id}) + "/".join(
        quote(part, safe="") for part in artifact_path.split("/"))


def write_atomically(path: Path, content: bytes) -> None:
    """Replace `path` in one step: a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
