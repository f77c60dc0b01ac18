"""The naive baseline, the way the original artifact clean-up script worked: plain python-gitlab, one
request at a time, every project, every job, `per_page=100`, page by page. Not part of the package.

    python bench/baseline.py collect            # GITLAB_URL, GITLAB_TOKEN from the environment
    python bench/baseline.py apply PLAN --limit 500

`collect` walks GET /projects and each project's GET /projects/:id/jobs and totals artifact sizes.
`apply` deletes a plan's first items sequentially, each re-read first (GET the job, then DELETE its
artifacts). Each prints one JSON line with what it did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import gitlab


def client() -> gitlab.Gitlab:
    return gitlab.Gitlab(os.environ["GITLAB_URL"], private_token=os.environ["GITLAB_TOKEN"], per_page=100,
                         retry_transient_errors=True, timeout=60)


def collect() -> dict[str, int]:
    gl = client()
    projects = jobs = artifact_bytes = 0
    for project in gl.projects.list(iterator=True, per_page=100):
        projects += 1
        # The jobs as GitLab's JSON (http_list): a job object's `.attributes` deep-copies every job in
        # python-gitlab 8 (~5 ms of CPU a page here), and `job.artifacts` is a method, not the field; a script
        # that reads the field reads the JSON.
        for job in gl.http_list(f"/projects/{project.id}/jobs", per_page=100, iterator=True):
            jobs += 1
            artifact_bytes += sum(int(a.get("size") or 0) for a in job.get("artifacts") or [])
    return {"projects": projects, "jobs": jobs, "artifact_bytes": artifact_bytes}


def apply(plan_path: str, limit: int) -> dict[str, int]:
    gl = client()
    with open(plan_path, encoding="utf-8") as handle:
        items = json.load(handle)["items"][:limit]
    deleted = skipped = 0
    for item in items:
        project, job = item["project_id"], item["target"]["job_id"]
        current = gl.http_get(f"/projects/{project}/jobs/{job}")
        if not isinstance(current, dict) or not current.get("artifacts"):
            skipped += 1
            continue
        gl.http_delete(f"/projects/{project}/jobs/{job}/artifacts")
        deleted += 1
    return {"items": len(items), "deleted": deleted, "skipped": skipped}


def main() -> int:
    parser = argparse.ArgumentParser(description="sequential python-gitlab baseline")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("collect")
    p = sub.add_parser("apply")
    p.add_argument("plan")
    p.add_argument("--limit", type=int, default=500)
    args = parser.parse_args()
    started = time.monotonic()
    result = collect() if args.command == "collect" else apply(args.plan, args.limit)
    print(json.dumps({**result, "wall_s": round(time.monotonic() - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
