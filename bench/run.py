"""gitlab-janitor benchmark: collect, plan and apply against the simulator, next to a sequential baseline.

    python bench/run.py                      # small and medium, 20 ms latency, rate-limited runs at small
    python bench/run.py --large              # adds 10,000 projects / 1,000,000 jobs
    python bench/run.py --scales small --latency 0.005 --apply-items 500 --json out.json

Everything talks to a simulator process on 127.0.0.1 only. See docs/benchmarks.md for what is measured.
"""

from __future__ import annotations

import argparse
import compileall
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Scale, Settings, measure
from report import evaluate_targets, markdown, text_table

SCALES = {
    "small": Scale("small", 100, 100),
    "medium": Scale("medium", 1_000, 100),
    "large": Scale("large", 10_000, 100),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="gitlab-janitor benchmark against the GitLab simulator")
    parser.add_argument("--scales", default="small,medium", help="comma-separated: small, medium, large")
    parser.add_argument("--large", action="store_true", help="add the 10,000-project / 1,000,000-job scale")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the simulator adds to each request")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--apply-items", type=int, default=10_000, help="items the janitor's apply deletes")
    parser.add_argument("--baseline-apply-items", type=int, default=1_000,
                        help="items the sequential baseline deletes (its rate is the figure)")
    parser.add_argument("--rate-limited", default="small",
                        help="scales that also run under GitLab.com's rate limits ('' for none)")
    parser.add_argument("--rate-limited-apply-items", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, help="passed to janitor collect/apply (default: theirs)")
    parser.add_argument("--workers", type=int, help="passed to janitor collect (default: its own, the usable CPUs)")
    parser.add_argument("--collect-runs", type=int, default=3,
                        help="janitor collects per scale: the one of median CPU is reported, every run's CPU and "
                             "wall are shown (a single run moves with the host's speed from minute to minute)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds any one measured process may take")
    parser.add_argument("--workdir", type=Path, help="where inventories and plans go (default: a temp dir)")
    parser.add_argument("--plan-memory", default="",
                        help="project counts for plan's memory and time, with and without --state "
                             "(bench/plan_memory.py), e.g. 1000,10000; '' (the default) skips them")
    parser.add_argument("--plan-cache", type=Path, default=Path(tempfile.gettempdir()) / "janitor-plan-bench",
                        help="where --plan-memory keeps its collected inventories between runs")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the results table as markdown here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.scales.split(",") if n.strip()]
    if args.large and "large" not in names:
        names.append("large")
    unknown = [n for n in names if n not in SCALES]
    if unknown:
        parser.error(f"unknown scale(s) {unknown}; choose from {sorted(SCALES)}")
    args.scale_names = names
    args.rate_limited_names = {n.strip() for n in args.rate_limited.split(",") if n.strip()}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    compiled = compile_janitor()
    print(f"janitor's modules byte-compiled ({compiled})", file=sys.stderr, flush=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="janitor-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        for name in args.scale_names:
            settings = Settings(latency=args.latency, seed=args.seed, apply_items=args.apply_items,
                                baseline_apply_items=args.baseline_apply_items,
                                rate_limited=name in args.rate_limited_names,
                                rate_limited_apply_items=args.rate_limited_apply_items,
                                concurrency=args.concurrency, workers=args.workers, timeout_s=args.timeout,
                                collect_runs=max(1, args.collect_runs),
                                workdir=workdir)
            results.append(measure(SCALES[name], settings, note=lambda text: print(text, file=sys.stderr,
                                                                                    flush=True)))
    plan_memory: dict[str, list[dict[str, Any]]] = {}
    if args.plan_memory:
        for state in (False, True):
            print(f"[plan memory] {args.plan_memory} projects{' with --state' if state else ''}", file=sys.stderr,
                  flush=True)
            plan_memory["state" if state else "plain"] = _plan_memory(args.plan_memory, args.seed, args.plan_cache,
                                                                      state, args.timeout)
    report = {"command": command.strip(), "python": sys.version.split()[0], "latency_s": args.latency,
              "elapsed_s": round(time.monotonic() - started, 1), "scales": results, "plan_memory": plan_memory,
              "targets": evaluate_targets(results, plan_memory)}
    print(text_table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(report), encoding="utf-8")
    return 0


def compile_janitor() -> str:
    """Byte-compile the janitor's modules before any measured run, as pip does when it installs the package
    (the image's case). Python reads the compiled files even under PYTHONDONTWRITEBYTECODE, which some
    machines set: without this, a checkout measured under it would compile every module from source on
    every run (~0.1-0.2 s of CPU a collect, measured), a cost no installed janitor pays."""
    package = Path(__file__).resolve().parent.parent / "janitor"
    started = time.process_time()
    if not compileall.compile_dir(str(package), quiet=1):
        raise RuntimeError(f"could not byte-compile {package}")
    return f"{time.process_time() - started:.2f} s"


def _plan_memory(scales: str, seed: int, cache: Path, state: bool, timeout: float) -> list[dict[str, Any]]:
    """bench/plan_memory.py's rows (one JSON line per scale) for these project counts."""
    command = [sys.executable, str(Path(__file__).resolve().parent / "plan_memory.py"), "--scales", scales,
               "--seed", str(seed), "--cache", str(cache), *(["--state"] if state else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout * 4)
    if done.returncode != 0:
        raise RuntimeError(f"plan_memory.py exited {done.returncode}:\n{done.stderr[-3000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [row for row in rows if "projects" in row]


if __name__ == "__main__":
    sys.exit(main())
