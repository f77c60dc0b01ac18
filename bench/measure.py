"""One scale's measurements: baseline and janitor collect, plan, apply, and the rate-limited runs, all
against one simulator process. Request counts and the minimum come from the simulator's side."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import ADMIN_TOKEN, BENCH, ChildRun, SimulatorProcess, child_env, run_child, write_plan_slice

PY = sys.executable
DEFAULT_CONCURRENCY = 16  # janitor collect's --concurrency default: the requests in flight
POLICY = BENCH / "policy.yml"
# GitLab.com: 2,000 authenticated API requests a minute; 600 a minute on GET /projects/:id/jobs.
GITLAB_COM_LIMIT = 2000
GITLAB_COM_JOBS_LIMIT = 600


@dataclass(frozen=True)
class Scale:
    name: str
    projects: int
    jobs_per_project: int


@dataclass(frozen=True)
class Settings:
    latency: float
    seed: int
    apply_items: int  # janitor apply, the 10,000
    baseline_apply_items: int  # the sequential baseline's sample; its rate is what counts
    rate_limited: bool
    rate_limited_apply_items: int
    concurrency: int | None
    workers: int | None
    timeout_s: float
    workdir: Path
    collect_runs: int = 1


def _run(sim: SimulatorProcess, argv: list[str], env: dict[str, str], settings: Settings) -> tuple[ChildRun,
                                                                                                     dict[str, Any]]:
    sim.reset()
    cpu_before = float(sim.stats()["cpu_s"])
    child = run_child(argv, env, settings.timeout_s)
    stats = sim.stats()
    stats["server_cpu_s"] = float(stats["cpu_s"]) - cpu_before
    if child.code not in (0, 2):
        raise RuntimeError(f"{' '.join(argv[1:4])} exited {child.code}:\n{child.stderr[-3000:]}")
    return child, stats


def _figures(child: ChildRun, stats: dict[str, Any]) -> dict[str, Any]:
    requests = int(stats["requests"])
    pages = int(stats.get("job_pages_served") or 0)
    return {"requests": requests, "throttled": stats["throttled"], "wall_s": round(child.wall_s, 3),
            "req_per_s": round(requests / child.wall_s, 1) if child.wall_s else None,
            "peak_rss_mib": round(child.peak_rss_mib, 1), "peak_rss_sum_mib": round(child.peak_rss_sum_mib, 1),
            "client_cpu_s": round(child.cpu_s, 2), "server_cpu_s": round(stats["server_cpu_s"], 2),
            # what the simulator itself costs, shown next to every ratio: its CPU per request, its page weight
            "server_cpu_ms_per_request": round(1000 * stats["server_cpu_s"] / requests, 3) if requests else None,
            "job_pages": pages,
            "bytes_per_page": round(int(stats.get("job_page_bytes") or 0) / pages) if pages else None,
            "client_cpu_ms_per_page": round(1000 * child.cpu_s / pages, 3) if pages else None}


def _run_figures(child: ChildRun, stats: dict[str, Any]) -> dict[str, Any]:
    """One of a scale's collects, as shown next to the reported one."""
    figures = _figures(child, stats)
    return {"client_cpu_s": round(child.cpu_s, 3), "wall_s": round(child.wall_s, 3),
            **{key: figures[key] for key in ("requests", "throttled", "client_cpu_ms_per_page",
                                             "server_cpu_ms_per_request")}}


def _floor_s(stats: dict[str, Any], per_minute: int, jobs_per_minute: int | None) -> float:
    """The shortest time the limit allows for the requests the server accepted: requests / allowed rate."""
    accepted = int(stats["requests"]) - int(stats["throttled"])
    floor = accepted * 60.0 / per_minute
    if jobs_per_minute:
        floor = max(floor, int(stats["jobs_bucket_accepted"]) * 60.0 / jobs_per_minute)
    return floor


def _no_project_policy(work: Path) -> Path:
    """The bench policy with every project excluded: collect lists the projects and keeps none."""
    text = POLICY.read_text(encoding="utf-8")
    assert "  all: true\n" in text, "bench/policy.yml's scope changed"
    path = work / "policy-no-project.yml"
    path.write_text(text.replace("  all: true\n", '  all: true\n  exclude: ["**"]\n', 1), encoding="utf-8")
    return path


def _janitor(*args: str) -> list[str]:
    return [PY, "-m", "janitor", *args]


def measure(scale: Scale, settings: Settings, note: Any = print) -> dict[str, Any]:
    work = settings.workdir / scale.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    concurrency = ["--concurrency", str(settings.concurrency)] if settings.concurrency else []
    workers = ["--workers", str(settings.workers)] if settings.workers else []
    result: dict[str, Any] = {"scale": scale.name, "latency_s": settings.latency, "seed": settings.seed}
    with SimulatorProcess(scale.projects, scale.jobs_per_project, settings.seed, settings.latency) as sim:
        result.update(projects=sim.info["projects"], jobs=sim.info["jobs"])
        note(f"[{scale.name}] simulator {sim.url}: {sim.info['projects']} projects, {sim.info['jobs']} jobs "
             f"(generated in {sim.info['generated_s']}s)")
        result["minimum"] = sim.admin("GET", "minimum")
        env = child_env({"GITLAB_URL": sim.url, "GITLAB_TOKEN": ADMIN_TOKEN})

        note(f"[{scale.name}] baseline collect (sequential python-gitlab)")
        child, stats = _run(sim, [PY, str(BENCH / "baseline.py"), "collect"], env, settings)
        baseline = {**_figures(child, stats), **child.json()}
        # the baseline lists every job: its bytes per job are the simulator's job weight
        baseline["bytes_per_job"] = round(int(stats.get("job_page_bytes") or 0) / max(1, baseline["jobs"]))
        baseline["per_request_over_latency"] = round(child.wall_s / max(1, baseline["requests"]) / settings.latency,
                                                     3) if settings.latency else None
        result["baseline_collect"] = baseline

        note(f"[{scale.name}] janitor collect x {settings.collect_runs} + plan")
        runs = []
        for attempt in range(settings.collect_runs):
            target = work / f"inventory-{attempt + 1}"
            child, stats = _run(sim, _janitor("collect", "--policy", str(POLICY), "--out", str(target),
                                              *concurrency, *workers), env, settings)
            runs.append((child, stats, target))
        # The run of median CPU, whole: its wall, CPU, memory and requests are the figures, its inventory is
        # planned. Every run's CPU per page and wall are kept next to it.
        child, stats, inventory = sorted(runs, key=lambda run: run[0].cpu_s)[len(runs) // 2]
        collected = _figures(child, stats)
        collected["runs"] = [_run_figures(c, st) for c, st, _ in runs]
        plan = work / "plan.json"
        in_flight = settings.concurrency or DEFAULT_CONCURRENCY
        floor = collected["requests"] * settings.latency / in_flight
        # The same command over a scope that excludes every project: start-up (imports, token and version
        # checks, forking the workers) and the project listing, the CPU a run spends whatever its jobs.
        # What is left of the CPU, per page of jobs, is the cost the per-page target is about.
        startup, _ = _run(sim, _janitor("collect", "--policy", str(_no_project_policy(work)), "--out",
                                        str(work / "inventory-startup"), *concurrency, *workers), env, settings)
        pages = collected["job_pages"]
        collected.update(startup_cpu_s=round(startup.cpu_s, 3), startup_wall_s=round(startup.wall_s, 3),
                         client_cpu_ms_per_page_beyond_startup=round(1000 * max(0.0, child.cpu_s - startup.cpu_s)
                                                                     / pages, 3) if pages else None)
        collected.update(in_flight=in_flight, latency_floor_s=round(floor, 3),
                         wall_over_latency_floor=round(child.wall_s / floor, 3) if floor else None,
                         # every run, not only the reported one, must keep to the minimum
                         requests_over_minimum=round(max(r["requests"] for r in collected["runs"])
                                                     / result["minimum"]["minimum"], 4),
                         workers=settings.workers)
        child, _ = _run(sim, _janitor("plan", "--policy", str(POLICY), "--inventory", str(inventory),
                                      "--out", str(plan)), env, settings)
        with open(plan, encoding="utf-8") as handle:
            planned = len(json.load(handle)["items"])
        collected.update(plan_wall_s=round(child.wall_s, 3), plan_peak_rss_mib=round(child.peak_rss_mib, 1),
                         plan_cpu_s=round(child.cpu_s, 2),
                         planned_items=planned, inventory_mib=round((inventory / "projects.json").stat().st_size
                                                                    / 2**20, 1))
        collected["collect_plan_wall_s"] = round(collected["wall_s"] + child.wall_s, 3)
        child, _ = _run(sim, [PY, str(BENCH / "client_floor.py"), "100"], env, settings)
        collected["python_gitlab_floor"] = child.json()
        # Nothing lost: the same inventory planned again gives the same bytes.
        _run(sim, _janitor("plan", "--policy", str(POLICY), "--inventory", str(inventory),
                           "--out", str(work / "plan-again.json")), env, settings)
        collected["plan_identical"] = plan.read_bytes() == (work / "plan-again.json").read_bytes()
        result["janitor_collect"] = collected

        # Disjoint slices of the one plan, so no run finds another's deletions. A small instance may plan
        # fewer items than asked for: the rate-limited run keeps its share, the baseline gets at most a quarter.
        r_items = write_plan_slice(plan, work / "plan-limited.json", 0,
                                   min(settings.rate_limited_apply_items, planned // 4) if settings.rate_limited else 0)
        b_items = write_plan_slice(plan, work / "plan-baseline.json", r_items,
                                   min(settings.baseline_apply_items, (planned - r_items) // 4))
        j_items = write_plan_slice(plan, work / "plan-janitor.json", r_items + b_items, settings.apply_items)

        note(f"[{scale.name}] apply: baseline {b_items} items sequentially, janitor {j_items} items")
        child, stats = _run(sim, [PY, str(BENCH / "baseline.py"), "apply", str(work / "plan-baseline.json"),
                                  "--limit", str(b_items)], env, settings)
        result["baseline_apply"] = _apply_figures(child, stats, child.json().get("deleted", 0))
        child, stats = _run(sim, _janitor("apply", str(work / "plan-janitor.json"), "--yes", *concurrency),
                            env, settings)
        result["janitor_apply"] = _apply_figures(child, stats, _deleted(work / "plan-janitor.json.journal"))

        if settings.rate_limited:
            result["rate_limited"] = _rate_limited(sim, env, settings, work, r_items, concurrency, note, scale)
    return result


def _rate_limited(sim: SimulatorProcess, env: dict[str, str], settings: Settings, work: Path, items: int,
                  concurrency: list[str], note: Any, scale: Scale) -> dict[str, Any]:
    limits = ["--rate-limit", f"{GITLAB_COM_LIMIT}/min", "--jobs-rate-limit", f"{GITLAB_COM_JOBS_LIMIT}/min"]
    out: dict[str, Any] = {"per_minute": GITLAB_COM_LIMIT, "jobs_per_minute": GITLAB_COM_JOBS_LIMIT}
    note(f"[{scale.name}] rate-limited collect ({GITLAB_COM_LIMIT}/min, jobs {GITLAB_COM_JOBS_LIMIT}/min)")
    sim.settings(rate_limit=GITLAB_COM_LIMIT, jobs_rate_limit=GITLAB_COM_JOBS_LIMIT)
    child, stats = _run(sim, _janitor("collect", "--policy", str(POLICY), "--out", str(work / "inventory-limited"),
                                      *limits, *concurrency), env, settings)
    out["collect"] = _limited_figures(child, stats, _floor_s(stats, GITLAB_COM_LIMIT, GITLAB_COM_JOBS_LIMIT))
    # GitLab's jobs limit guards only the listing (lib/api/ci/jobs.rb, check_rate_limit!(:jobs_index));
    # the simulator's bucket also counts job reads and deletes, so apply runs under the 2,000/min limit.
    note(f"[{scale.name}] rate-limited apply ({items} items, {GITLAB_COM_LIMIT}/min)")
    sim.settings(rate_limit=GITLAB_COM_LIMIT, jobs_rate_limit="off")
    child, stats = _run(sim, _janitor("apply", str(work / "plan-limited.json"), "--yes", *limits, *concurrency),
                        env, settings)
    figures = _limited_figures(child, stats, _floor_s(stats, GITLAB_COM_LIMIT, None))
    figures.update(_apply_figures(child, stats, _deleted(work / "plan-limited.json.journal")))
    out["apply"] = figures
    sim.settings(rate_limit="off")
    return out


def _limited_figures(child: ChildRun, stats: dict[str, Any], floor: float) -> dict[str, Any]:
    figures = _figures(child, stats)
    requests = max(1, int(stats["requests"]))
    figures.update(floor_s=round(floor, 2), wall_over_floor=round(child.wall_s / floor, 3) if floor else None,
                   throttled_percent=round(100.0 * int(stats["throttled"]) / requests, 2))
    return figures


def _apply_figures(child: ChildRun, stats: dict[str, Any], deleted: int) -> dict[str, Any]:
    figures = _figures(child, stats)
    figures.update(deleted=deleted, deletes_per_s=round(deleted / child.wall_s, 1) if child.wall_s else None)
    return figures


def _deleted(journal: Path) -> int:
    if not journal.exists():
        return 0
    with open(journal, encoding="utf-8") as handle:
        return sum(1 for line in handle if '"status": "deleted"' in line)
