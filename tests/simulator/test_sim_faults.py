"""Injected latency, 5xx, 429 bursts, per-path failures and GitLab-style rate limits; the
request log records every request, failed ones included."""

from __future__ import annotations

import time

import gitlab
import pytest
import requests
from sim_helpers import api, auth, client

from janitor.simulator import Simulator


def test_429_burst_then_python_gitlab_retries_and_succeeds(sim: Simulator) -> None:
    sim.faults.burst_429(n=2, retry_after=0)
    project = client(sim).projects.get(1)
    assert project.id == 1
    assert [r.status for r in sim.requests] == [429, 429, 200]


def test_429_burst_body_and_headers(sim: Simulator) -> None:
    sim.faults.burst_429(n=1, retry_after=7)
    response = requests.get(api(sim, "/projects"), headers=auth(), timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.text.strip() == "Retry later"


def test_transient_errors_are_retried_when_python_gitlab_is_told_to(sim: Simulator) -> None:
    sim.faults.fail_paths(r"^/projects/1$", status=502, times=2)
    with pytest.raises(gitlab.GitlabGetError) as failed:
        client(sim).projects.get(1)
    assert failed.value.response_code == 502
    assert client(sim, retry_transient_errors=True).projects.get(1).id == 1
    assert [r.status for r in sim.requests] == [502, 502, 200]


def test_a_path_can_fail_forever(sim: Simulator) -> None:
    sim.faults.fail_paths(r"^/projects/2/jobs$", status=500, times=None)
    for _ in range(3):
        response = requests.get(api(sim, "/projects/2/jobs"), headers=auth(), timeout=10)
        assert response.status_code == 500
        assert response.json() == {"message": "500 Internal Server Error"}
    assert requests.get(api(sim, "/projects/1/jobs"), headers=auth(), timeout=10).ok


def test_error_rate_is_a_seeded_share_of_requests(sim: Simulator) -> None:
    sim.faults.error_rate = 0.3
    statuses = [requests.get(api(sim, "/version"), headers=auth(), timeout=10).status_code
                for _ in range(200)]
    failures = [s for s in statuses if s != 200]
    assert 30 <= len(failures) <= 90
    assert set(failures) <= {500, 502, 503}


def test_rate_limit_headers_and_429(sim: Simulator) -> None:
    sim.rate_limit(per_minute=3, jobs_per_minute=None)
    responses = [requests.get(api(sim, "/version"), headers=auth(), timeout=10) for _ in range(4)]
    first = responses[0].headers
    assert first["RateLimit-Name"] == "throttle_authenticated_api"
    assert first["RateLimit-Limit"] == "3"
    assert first["RateLimit-Observed"] == "1"
    assert first["RateLimit-Remaining"] == "2"
    assert int(first["RateLimit-Reset"]) >= int(time.time())
    limited = responses[3]
    assert limited.status_code == 429
    assert limited.text.strip() == "Retry later"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["RateLimit-ResetTime"].endswith("GMT")
    # another token has its own window
    assert requests.get(api(sim, "/version"), headers=auth("read"), timeout=10).ok


def test_jobs_endpoint_has_its_own_bucket(sim: Simulator) -> None:
    sim.rate_limit(per_minute=100, jobs_per_minute=2)
    statuses = [requests.get(api(sim, "/projects/1/jobs"), headers=auth(), timeout=10).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = requests.get(api(sim, "/projects/1/jobs"), headers=auth(), timeout=10)
    assert limited.json() == {"message": {"error": "This endpoint has been requested too many times. "
                                                   "Try again later."}}
    assert requests.get(api(sim, "/projects/1/pipelines"), headers=auth(), timeout=10).ok


def test_request_log_records_everything(sim: Simulator) -> None:
    requests.get(api(sim, "/projects/acme%2Fplatform%2Fapi/jobs?scope[]=failed&scope[]=success"),
                 headers=auth("read"), timeout=10)
    requests.get(api(sim, "/projects"), timeout=10)
    requests.delete(api(sim, "/projects/1/jobs/1/artifacts"), headers=auth("read"), timeout=10)
    assert [(r.method, r.path, r.status, r.token_name) for r in sim.requests] == [
        ("GET", "/projects/acme/platform/api/jobs", 200, "read"),
        ("GET", "/projects", 401, None),
        ("DELETE", "/projects/1/jobs/1/artifacts", 403, "read"),
    ]
    assert sim.requests[0].query == {"scope[]": ["failed", "success"]}
    sim.reset_requests()
    assert sim.requests == []


def test_latency_is_added_to_every_request() -> None:
    from sim_helpers import NOW

    from janitor.simulator import generate

    with Simulator(generate(seed=1, projects=1, jobs_per_project=5, now=NOW), latency=0.05) as slow:
        started = time.perf_counter()
        for _ in range(4):
            requests.get(api(slow, "/version"), headers=auth(), timeout=10)
        assert time.perf_counter() - started >= 0.2
