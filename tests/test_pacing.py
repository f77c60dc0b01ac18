"""The pacer keeps a run under the server's limits by spacing requests, rather than bouncing off them.
A fake clock stands in for time: `sleep` advances it, so these tests assert exact spacing instantly."""

from __future__ import annotations

import threading

import pytest

from janitor.errors import UsageError
from janitor.pacing import JOBS_LANE, Pacer, build_pacer, lane_of, parse_rate

JOBS = "/api/v4/projects/7/jobs"
PROJECTS = "/api/v4/projects"
ENCODED_JOBS = "/api/v4/projects/acme%2Fapi/jobs"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = 1_700_000_000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall + (self.now - 1000.0)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(clock: FakeClock, per_minute: float | None = None, lanes: dict[str, float] | None = None,
          margin: float = 1.0) -> Pacer:
    return Pacer(per_minute, lanes, margin=margin, clock=clock.monotonic, wall_clock=clock.time, sleep=clock.sleep)


def send_times(p: Pacer, clock: FakeClock, paths: list[str]) -> list[float]:
    times = []
    for path in paths:
        p.wait(path)
        times.append(round(clock.now - 1000.0, 6))
        p.observe(path, 200, {})
    return times


def test_without_a_known_limit_requests_are_not_held() -> None:
    clock = FakeClock()
    assert send_times(pacer(clock), clock, [PROJECTS] * 5) == [0.0] * 5
    assert clock.slept == []


def test_a_configured_limit_spaces_requests_evenly_from_the_first_one() -> None:
    clock = FakeClock()
    times = send_times(pacer(clock, per_minute=600), clock, [PROJECTS] * 4)
    assert times == [0.0, 0.1, 0.2, 0.3]  # 600/min = one request every 100 ms, no burst


def test_the_margin_keeps_a_fixed_window_under_the_limit() -> None:
    clock = FakeClock()
    p = pacer(clock, per_minute=600, margin=0.97)
    times = send_times(p, clock, [PROJECTS] * 700)
    in_first_minute = sum(1 for t in times if t < 60.0)
    assert in_first_minute <= 600 * 0.97 + 1
    assert in_first_minute >= 580


def test_the_jobs_lane_is_paced_on_its_own_and_other_requests_pass_between() -> None:
    clock = FakeClock()
    p = pacer(clock, per_minute=6000, lanes={JOBS_LANE: 60})  # jobs: 1/s; everything: 100/s
    assert send_times(p, clock, [JOBS, JOBS]) == [0.0, 1.0]
    # a project request does not wait for the jobs lane's next slot (2.0), only for the API-wide one
    assert send_times(p, clock, [PROJECTS]) == [1.01]
    assert send_times(p, clock, [JOBS]) == [2.0]


def test_a_request_in_two_lanes_takes_a_slot_free_in_both() -> None:
    clock = FakeClock()
    p = pacer(clock, per_minute=60, lanes={JOBS_LANE: 30})  # 1 s apart overall, 2 s apart for jobs
    assert send_times(p, clock, [JOBS, PROJECTS, JOBS, PROJECTS]) == [0.0, 1.0, 2.0, 3.0]


def test_the_announced_limit_paces_the_rest_of_the_run() -> None:
    clock = FakeClock()
    p = pacer(clock)
    p.wait(PROJECTS)
    p.observe(PROJECTS, 200, {"RateLimit-Limit": "120", "RateLimit-Remaining": "119",
                              "RateLimit-Reset": str(int(clock.time()) + 60)})
    assert send_times(p, clock, [PROJECTS, PROJECTS]) == [0.0, 0.5]
    assert p.state().per_minute == 120


def test_a_configured_limit_wins_over_the_announced_one() -> None:
    clock = FakeClock()
    p = pacer(clock, per_minute=60)
    p.observe(PROJECTS, 200, {"RateLimit-Limit": "6000"})
    assert send_times(p, clock, [PROJECTS, PROJECTS]) == [0.0, 1.0]


def test_an_api_wide_429_holds_every_request_for_retry_after() -> None:
    clock = FakeClock()
    p = pacer(clock)
    p.wait(PROJECTS)
    p.observe(PROJECTS, 429, {"Retry-After": "30", "RateLimit-Limit": "2000", "RateLimit-Remaining": "0"})
    assert send_times(p, clock, [JOBS]) == [30.0]


def test_an_application_limit_429_holds_only_its_lane_and_learns_its_pace() -> None:
    clock = FakeClock()
    p = pacer(clock)
    for _ in range(10):  # ten jobs listings in the first second are accepted ...
        p.wait(JOBS)
        p.observe(JOBS, 200, {"RateLimit-Limit": "2000", "RateLimit-Remaining": "1900"})
        clock.now += 0.1
    # ... then the endpoint's own limit answers 429 while the API-wide quota still has room
    p.wait(JOBS)
    p.observe(JOBS, 429, {"Retry-After": "59", "RateLimit-Limit": "2000", "RateLimit-Remaining": "1899"})
    start = clock.now
    p.wait(PROJECTS)
    assert clock.now - start < 0.1  # other requests go on, paced only by the API-wide 2000/min
    p.wait(JOBS)
    assert clock.now == pytest.approx(start + 59)  # the lane waits out the window
    p.observe(JOBS, 200, {})
    p.wait(JOBS)
    assert clock.now == pytest.approx(start + 59 + 6)  # learned: 10 a minute, one every 6 s
    assert p.state().lanes[JOBS_LANE] == 10


def test_a_learned_limit_that_still_bounces_is_lowered() -> None:
    clock = FakeClock()
    p = pacer(clock)
    for _ in range(20):
        p.wait(JOBS)
        p.observe(JOBS, 200, {})
    p.observe(JOBS, 429, {"Retry-After": "1", "RateLimit-Remaining": "5"})
    assert p.state().lanes[JOBS_LANE] == 20
    p.observe(JOBS, 429, {"Retry-After": "1", "RateLimit-Remaining": "5"})
    assert p.state().lanes[JOBS_LANE] == 18


def test_a_429_without_any_headers_holds_everything_for_retry_after() -> None:
    clock = FakeClock()
    p = pacer(clock)
    p.observe(JOBS, 429, {"Retry-After": "2"})
    assert send_times(p, clock, [PROJECTS]) == [2.0]


def test_a_nearly_spent_quota_waits_for_its_reset() -> None:
    clock = FakeClock()
    p = pacer(clock)
    reset = int(clock.time()) + 20
    p.observe(PROJECTS, 200, {"RateLimit-Limit": "2000", "RateLimit-Remaining": "3",
                              "RateLimit-Reset": str(reset)})
    p.wait(PROJECTS)
    assert clock.now == pytest.approx(1020.0)


def test_threads_share_one_schedule() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    p = Pacer(600, margin=1.0, clock=clock.monotonic, sleep=lambda s: None)
    slots: list[float] = []

    def worker() -> None:
        for _ in range(25):
            with lock:  # the fake clock does not move; read each reservation's slot from the schedule
                p.wait(PROJECTS)
                slots.append(p._all.next_slot)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(slots) == pytest.approx([1000.0 + 0.1 * i for i in range(1, 201)])


@pytest.mark.parametrize(("path", "lane"), [
    (JOBS, JOBS_LANE), (ENCODED_JOBS, JOBS_LANE), (JOBS + "/", JOBS_LANE),
    ("/api/v4/projects/7/jobs/99", "/api/v4/projects/:id/jobs/:id"),
    ("/api/v4/projects/acme%2Fapi/jobs/99/artifacts", "/api/v4/projects/:id/jobs/:id/artifacts"),
    ("/api/v4/projects/7/pipelines/3/jobs", "/api/v4/projects/:id/pipelines/:id/jobs"),
])
def test_lanes_group_paths_by_endpoint(path: str, lane: str) -> None:
    assert lane_of(path) == lane


@pytest.mark.parametrize(("text", "per_minute"), [
    ("2000/min", 2000), ("600/m", 600), ("600", 600), ("10/s", 600), ("36000/h", 600), (" 5 / minute ", 5),
])
def test_rates_are_read_per_minute(text: str, per_minute: float) -> None:
    assert parse_rate(text) == per_minute


@pytest.mark.parametrize("text", ["fast", "10/day", "0/min", "-5"])
def test_a_bad_rate_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_rate(text)


def test_gitlab_com_paces_the_jobs_listing_without_being_told() -> None:
    assert build_pacer("https://gitlab.com").state().lanes == {JOBS_LANE: 600}
    assert build_pacer("https://gitlab.example.com").state().lanes == {}
    assert build_pacer("https://gitlab.example.com", "2000/min", "300/min").state() == \
        build_pacer("https://gitlab.example.com", "2000/min", "300/min").state()
    assert build_pacer("https://gitlab.example.com", "2000/min", "300/min").state().lanes == {JOBS_LANE: 300}
