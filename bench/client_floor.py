"""What python-gitlab itself costs per page of 100 jobs, used the way collect uses it (GitLabAPI: its session,
the body read whole, the page decoded for JobRow's fields), in one thread, with nothing done with the rows:
the floor under the janitor's CPU per page. Not part of the package.

    python bench/client_floor.py 200        # GITLAB_URL, GITLAB_TOKEN from the environment; at most 200 pages

Prints one JSON line: pages read, CPU seconds, CPU ms per page, and the same with the standard library's
JSON decoding (what python-gitlab does on its own), so the decoding's share is measured, not guessed. Then
the same reading by `--threads` threads at once (collect's --concurrency): a process kept that busy spends
less CPU per page than one that sleeps through each answer (warm caches, no wake-up per page), so this is
the floor to set against collect's own CPU per page.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from janitor.gitlab_api import Connection, GitLabAPI
from janitor.resources.job_artifacts import FINISHED, JobRow

JOBS = "/projects/{project}/jobs"


def read_pages(api: GitLabAPI, projects: list[int], limit: int) -> tuple[int, float]:
    before_requests, started = api.requests, time.process_time()
    for project in projects:
        for _ in api.list(JOBS, {"scope[]": list(FINISHED)}, keyset="desc", rows=JobRow, project=project):
            pass
        if api.requests - before_requests >= limit:
            break
    return api.requests - before_requests, time.process_time() - started


def read_busy(api: GitLabAPI, projects: list[int], threads: int) -> tuple[int, float]:
    def one(project: int) -> None:
        for _ in api.list(JOBS, {"scope[]": list(FINISHED)}, keyset="desc", rows=JobRow, project=project):
            pass

    before_requests, started = api.requests, time.process_time()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, projects))
    return api.requests - before_requests, time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("limit", type=int, nargs="?", default=200, help="pages to read (at least)")
    parser.add_argument("--threads", type=int, default=16, help="threads for the busy reading (default 16)")
    args = parser.parse_args()
    limit = args.limit
    api = GitLabAPI(Connection.from_env())
    projects = [int(p["id"]) for p in api.list("/projects", {"statistics": "true"}, keyset="asc")
                if (p.get("statistics") or {}).get("job_artifacts_size")]
    read_pages(api, projects[:5], limit)  # connections and caches warm
    pages, cpu = read_pages(api, projects, limit)
    result: dict[str, Any] = {"pages": pages, "cpu_s": round(cpu, 3),
                              "cpu_ms_per_page": round(1000 * cpu / pages, 3) if pages else None}
    # The same pages decoded by the standard library, as python-gitlab does without the janitor's session.
    from janitor import http_json
    orjson_json = http_json.OrjsonResponse.json
    http_json.OrjsonResponse.json = requests.Response.json  # type: ignore[method-assign]
    pages, cpu = read_pages(api, projects, limit)
    result["stdlib_json_cpu_ms_per_page"] = round(1000 * cpu / pages, 3) if pages else None
    http_json.OrjsonResponse.json = orjson_json  # type: ignore[method-assign]
    # As busy as collect: `threads` listings at once over other projects (at least `limit` pages).
    pages, cpu = read_busy(api, projects[-limit:], args.threads)
    result.update(busy_threads=args.threads, busy_pages=pages,
                  busy_cpu_ms_per_page=round(1000 * cpu / pages, 3) if pages else None)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
