"""Offset and keyset pagination behave as doc/api/rest/_index.md describes
(tests/fixtures/gitlab/pagination.md)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sim_helpers import NOW, api, auth, client

from janitor.simulator import Instance, Simulator, generate


@pytest.fixture(scope="module")
def crowded() -> Iterator[Simulator]:
    """One project with more than 10,000 jobs."""
    with Simulator(generate(seed=3, projects=1, jobs_per_project=10_400, now=NOW)) as sim:
        yield sim


def links(response: requests.Response) -> dict[str, str]:
    return {rel: link["url"] for rel, link in response.links.items()}


def test_offset_headers_and_links_keep_the_other_parameters(shared_sim: Simulator) -> None:
    response = requests.get(api(shared_sim, "/projects?archived=false&per_page=5&page=2"),
                            headers=auth(), timeout=10)
    total = sum(not p.archived for p in shared_sim.instance.projects.values())
    assert len(response.json()) == 5
    assert response.headers["X-Page"] == "2"
    assert response.headers["X-Per-Page"] == "5"
    assert response.headers["X-Prev-Page"] == "1"
    assert response.headers["X-Next-Page"] == "3"
    assert response.headers["X-Total"] == str(total)
    assert response.headers["X-Total-Pages"] == str(-(-total // 5))
    found = links(response)
    assert set(found) == {"prev", "next", "first", "last"}
    next_query = parse_qs(urlsplit(found["next"]).query)
    assert next_query == {"archived": ["false"], "per_page": ["5"], "page": ["3"]}
    assert found["next"].startswith(f"{shared_sim.url}/api/v4/projects?")


def test_last_page_has_no_next(shared_sim: Simulator) -> None:
    response = requests.get(api(shared_sim, "/projects?per_page=100"), headers=auth(), timeout=10)
    assert response.headers["X-Next-Page"] == ""
    assert "next" not in response.links
    assert len(response.json()) == len(shared_sim.instance.projects)


def test_per_page_defaults_to_20_and_is_capped_at_100(crowded: Simulator) -> None:
    default = requests.get(api(crowded, "/projects/1/jobs"), headers=auth(), timeout=10)
    capped = requests.get(api(crowded, "/projects/1/jobs?per_page=500"), headers=auth(), timeout=10)
    assert len(default.json()) == 20
    assert len(capped.json()) == 100
    assert capped.headers["X-Per-Page"] == "100"


def test_more_than_10000_rows_hide_the_total(crowded: Simulator) -> None:
    response = requests.get(api(crowded, "/projects/1/jobs?per_page=100"), headers=auth(), timeout=10)
    assert len(crowded.instance.jobs) > 10_000
    assert "X-Total" not in response.headers
    assert "X-Total-Pages" not in response.headers
    assert set(response.links) == {"next", "first"}


def test_python_gitlab_lists_more_than_10000_jobs_newest_first(crowded: Simulator) -> None:
    project = client(crowded).projects.get(1, lazy=True)
    ids = [job.id for job in project.jobs.list(iterator=True, per_page=100)]
    assert ids == sorted(crowded.instance.jobs, reverse=True)


def test_python_gitlab_keyset_lists_every_job_once(crowded: Simulator) -> None:
    crowded.reset_requests()
    project = client(crowded).projects.get(1, lazy=True)
    jobs = project.jobs.list(iterator=True, per_page=100, pagination="keyset", order_by="id", sort="desc")
    ids = [job.id for job in jobs]
    assert ids == sorted(crowded.instance.jobs, reverse=True)
    assert len(crowded.requests) == crowded.instance.page_count("/projects/1/jobs", per_page=100)
    assert all("cursor" in r.query for r in crowded.requests[1:])


def test_keyset_jobs_have_only_a_next_link(crowded: Simulator) -> None:
    response = requests.get(api(crowded, "/projects/1/jobs?pagination=keyset&per_page=3"),
                            headers=auth(), timeout=10)
    assert set(response.links) == {"next"}
    assert not any(h.startswith("X-") for h in response.headers)


@pytest.mark.parametrize("sort", ["asc", "desc"])
def test_keyset_projects_by_id(shared_sim: Simulator, sort: str) -> None:
    url = api(shared_sim, f"/projects?pagination=keyset&order_by=id&sort={sort}&per_page=7")
    seen: list[int] = []
    pages = 0
    while url:
        response = requests.get(url, headers=auth(), timeout=10)
        seen += [p["id"] for p in response.json()]
        url = response.links.get("next", {}).get("url", "")
        pages += 1
        if url:
            cursor = "id_after" if sort == "asc" else "id_before"
            assert parse_qs(urlsplit(url).query)[cursor] == [str(seen[-1])]
    assert seen == sorted(shared_sim.instance.projects, reverse=sort == "desc")
    assert pages == shared_sim.instance.page_count("/projects", per_page=7)


def test_keyset_on_an_unsupported_order_is_refused(shared_sim: Simulator) -> None:
    # lib/api/helpers/pagination_strategies.rb: 405 for keyset requests it cannot serve
    for path in ("/projects?pagination=keyset&order_by=name", "/projects/1/jobs?pagination=keyset&sort=asc"):
        response = requests.get(api(shared_sim, path), headers=auth(), timeout=10)
        assert response.status_code == 405
        assert response.json() == {"error": "Keyset pagination is not yet available for this type of request"}


def test_projects_offset_beyond_50000_records_is_refused(shared_sim: Simulator) -> None:
    response = requests.get(api(shared_sim, "/projects?page=501&per_page=100"), headers=auth(), timeout=10)
    assert response.status_code == 405
    assert "maximum allowed offset of 50000" in response.json()["error"]
    allowed = requests.get(api(shared_sim, "/projects?page=500&per_page=100"), headers=auth(), timeout=10)
    assert allowed.status_code == 200


def test_page_count_counts_filtered_listings(small: Instance) -> None:
    project = small.projects[1]
    failed_or_ok = sum(j.status in ("failed", "success") for j in project.jobs)
    assert small.page_count("/projects/1/jobs", per_page=10, scope=["failed", "success"]) == max(
        1, -(-failed_or_ok // 10))
    assert small.page_count("/projects", per_page=100) == 1
    assert small.page_count("/projects/6/jobs") == 1  # acme/web/docs has no jobs: still one request
