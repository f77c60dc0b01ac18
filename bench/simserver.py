"""The benchmark's simulator, in its own process so it never shares a GIL with the client under test.

    python bench/simserver.py --projects 1000 --jobs-per-project 100 --seed 1 --latency 0.02

Prints one JSON line ({"url", "projects", "jobs", "generated_s"}) once it is listening on 127.0.0.1,
then serves until its standard input closes (the benchmark holds it open), so it cannot outlive the run.
The admin routes (janitor/simulator/routes/sim_admin.py) are attached: stats, minimum, reset, settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from janitor.simulator import Simulator, generate
from janitor.simulator.routes.jobs import encode_job
from janitor.simulator.routes.sim_admin import attach
from janitor.simulator.routing import Context
from janitor.simulator.state import TOKEN_RECORDS, TOKENS


def warm(simulator: Simulator) -> None:
    """Render every job once before any measured run, so the first run (the baseline) does not pay for
    the rendering the later ones find cached: each run sees the simulator at the same cost."""
    instance = simulator.instance
    token = TOKEN_RECORDS[TOKENS["admin"]]
    for project in instance.projects.values():
        ctx = Context(instance, "GET", {}, {}, token, simulator.url)
        for job in project.jobs:
            encode_job(job, ctx, project)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, required=True)
    parser.add_argument("--jobs-per-project", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    started = time.monotonic()
    instance = generate(seed=args.seed, projects=args.projects, jobs_per_project=args.jobs_per_project)
    generated = time.monotonic() - started
    simulator = attach(Simulator(instance, latency=args.latency))
    simulator.start()
    warm(simulator)
    print(json.dumps({"url": simulator.url, "projects": len(instance.projects), "jobs": len(instance.jobs),
                      "generated_s": round(generated, 2)}), flush=True)
    done = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the benchmark closed the pipe or died
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
