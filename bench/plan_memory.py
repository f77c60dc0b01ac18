"""Plan's peak RSS and time at two scales of the simulator's generated instance (issue 10, "flat memory").

    python bench/plan_memory.py --scales 1000,10000 --cache /tmp/janitor-plan-bench
    python bench/plan_memory.py --code /path/to/other/checkout   # the same inventories, another janitor
    python bench/plan_memory.py --state   # the rule under a 14d grace: a first run's state, then measured

Each scale is collected once (latency 0) into --cache and reused; `janitor plan` then runs as a child
process whose own peak RSS (wait4) and wall time are printed, with the ratios the issue's targets name.
With --state, a first `plan --state` starts every clock (everything pending); the measured run reads that
state and writes the next one, every item going through the plan's `pending` section and the state file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ADMIN_TOKEN, BENCH, ROOT, SimulatorProcess, child_env, run_child

PY = sys.executable
JOBS_PER_PROJECT = 100


def _inventory(cache: Path, projects: int, seed: int) -> Path:
    target = cache / f"inventory-{projects}-{seed}"
    if (target / "projects.json").is_file():
        return target
    with SimulatorProcess(projects, JOBS_PER_PROJECT, seed, 0.0) as sim:
        env = child_env({"GITLAB_URL": sim.url, "GITLAB_TOKEN": ADMIN_TOKEN})
        child = run_child([PY, "-m", "janitor", "collect", "--policy", str(BENCH / "policy.yml"),
                           "--out", str(target)], env, 7200)
        if child.code != 0:
            raise RuntimeError(f"collect exited {child.code}:\n{child.stderr[-3000:]}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1000,10000", help="comma-separated project counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/janitor-plan-bench"))
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose janitor plans")
    parser.add_argument("--state", action="store_true", help="plan under a grace rule with --state")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    policy = BENCH / "policy.yml"
    if args.state:
        policy = args.cache / "policy-grace.yml"
        policy.write_text((BENCH / "policy.yml").read_text(encoding="utf-8").replace(
            "    action: delete\n", "    action: delete\n    grace: 14d\n"), encoding="utf-8")
    rows = []
    for projects in (int(s) for s in args.scales.split(",")):
        inventory = _inventory(args.cache, projects, args.seed)
        out = args.cache / (f"plan-state-{projects}" if args.state else f"plan-{projects}")
        env = child_env({"GITLAB_URL": "http://127.0.0.1:1"})
        env["PYTHONPATH"] = str(args.code)
        command = [PY, "-m", "janitor", "plan", "--policy", str(policy), "--inventory", str(inventory),
                   "--out", str(out / "plan.json"), "--report-dir", str(out)]
        if args.state:
            command += ["--state", str(out / "state.json")]
            (out / "state.json").unlink(missing_ok=True)
            seeded = run_child(command, env, 7200)  # the first run: every clock starts, everything pending
            if seeded.code != 0:
                raise RuntimeError(f"plan exited {seeded.code}:\n{seeded.stderr[-3000:]}")
        child = run_child(command, env, 7200)
        if child.code != 0:
            raise RuntimeError(f"plan exited {child.code}:\n{child.stderr[-3000:]}")
        with open(out / "plan.json", encoding="utf-8") as handle:
            written = json.load(handle)
        digest = written["digest"]
        rows.append({"projects": projects, "wall_s": round(child.wall_s, 2), "cpu_s": round(child.cpu_s, 2),
                     "peak_rss_mib": round(child.peak_rss_mib, 1), "plan_digest": digest,
                     "actions": written["totals"]["actions"], "pending": written["totals"].get("pending", 0),
                     "plan_mib": round((out / "plan.json").stat().st_size / 2**20, 1),
                     "report_html_mib": round((out / "report.html").stat().st_size / 2**20, 2)})
        print(json.dumps(rows[-1]), flush=True)
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        print(json.dumps({"rss_ratio": round(large["peak_rss_mib"] / small["peak_rss_mib"], 2),
                          "time_ratio": round(large["wall_s"] / small["wall_s"], 2),
                          "scale_ratio": large["projects"] / small["projects"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
