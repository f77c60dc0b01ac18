"""Plumbing for the benchmark: the simulator process, measured child processes, the simulator's admin
routes, and plans cut to a given number of items."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# Fixed public test strings of the loopback simulator (janitor/simulator/state.py), not secrets.
ADMIN_TOKEN = "glpat-sim-admin-api"
CONTROL_TOKEN = "glpat-sim-developer-api"  # its own rate-limit window, so control calls cost the run nothing


@dataclass
class ChildRun:
    argv: list[str]
    code: int
    wall_s: float
    peak_rss_mib: float
    cpu_s: float  # user + system CPU of the child and of its own children (wait4 counts the ones it reaped)
    stdout: str
    stderr: str
    peak_rss_sum_mib: float = 0.0  # the child's peak plus the peaks its child processes reached

    def json(self) -> dict[str, Any]:
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        return dict(json.loads(lines[-1])) if lines else {}


def run_child(argv: list[str], env: dict[str, str], timeout_s: float) -> ChildRun:
    """Run a process, measure its wall time and its own peak RSS (wait4 gives that child's rusage)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        deadline = started + timeout_s
        peaks: dict[int, float] = {}  # the child's own children (collect --workers): their VmHWM, sampled
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            _sample_children(process.pid, peaks)
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux
        own = usage.ru_maxrss / 1024
        return ChildRun(argv, process.returncode, wall, own, usage.ru_utime + usage.ru_stime,
                        out.read(), err.read(), own + sum(peaks.values()))


def _sample_children(pid: int, peaks: dict[int, float]) -> None:
    """Record the peak RSS (VmHWM) of each child process of `pid`, as last seen while it ran."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return
    for child in children:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[int(child)] = max(peaks.get(int(child), 0.0), int(line.split()[1]) / 1024)
                break


class SimulatorProcess:
    """`python bench/simserver.py` as a context manager; talks to its admin routes."""

    def __init__(self, projects: int, jobs_per_project: int, seed: int, latency: float) -> None:
        self.argv = [sys.executable, str(BENCH / "simserver.py"), "--projects", str(projects),
                     "--jobs-per-project", str(jobs_per_project), "--seed", str(seed), "--latency", str(latency)]
        self.process: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> SimulatorProcess:
        self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        cwd=ROOT, env=child_env({}))
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process exited before it was ready")
        self.info = json.loads(line)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def admin(self, method: str, path: str, **query: Any) -> dict[str, Any]:
        text = "&".join(f"{k}={v}" for k, v in query.items())
        url = f"{self.url}/api/v4/-/sim/{path}" + (f"?{text}" if text else "")
        request = urllib.request.Request(url, method=method, headers={"PRIVATE-TOKEN": CONTROL_TOKEN})
        with urllib.request.urlopen(request, timeout=600) as response:
            return dict(json.loads(response.read() or b"{}"))

    def reset(self) -> None:
        self.admin("POST", "reset")

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def settings(self, **values: Any) -> None:
        self.admin("PUT", "settings", **values)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "CI_SERVER_", "JANITOR_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def write_plan_slice(source: Path, target: Path, start: int, count: int) -> int:
    """A sealed plan holding items [start, start+count) of `source`, as `janitor plan` would seal it.

    Done in a child process: a forked child's peak RSS starts at its parent's, so the benchmark process
    itself must never hold a large plan, or every later measurement would report the parent's size."""
    done = subprocess.run([sys.executable, __file__, str(source), str(target), str(start), str(count)],
                          capture_output=True, text=True, check=True, cwd=ROOT, env=child_env({}))
    return int(done.stdout.strip())


def _slice(source: Path, target: Path, start: int, count: int) -> int:
    from janitor.model import PlanItem, parse_time
    from janitor.plan_file import build_plan, write_plan

    with open(source, encoding="utf-8") as handle:
        data = json.load(handle)
    items = [PlanItem.from_json(i) for i in data["items"][start:start + count]]
    created = parse_time(data["created_at"])
    assert created is not None
    write_plan(target, build_plan(items, gitlab_url=data["gitlab_url"], created_at=created,
                                  policy_digest=data["policy_digest"], inventory_digest=data["inventory_digest"],
                                  scope_lock=None))
    return len(items)


if __name__ == "__main__":
    print(_slice(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
