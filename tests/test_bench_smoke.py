"""The benchmark keeps working: its smallest scale runs end to end (at low latency, fewer apply items, so it
takes seconds) and reports every figure, and the janitor's collect stays within 1.1x of the minimum."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_smallest_scale_reports_every_figure_within_the_request_budget(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    markdown = tmp_path / "bench.md"
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--scales", "small", "--latency", "0.002",
               "--apply-items", "300", "--baseline-apply-items", "50", "--rate-limited", "",
               "--timeout", "120", "--workdir", str(tmp_path / "work"), "--json", str(out), "--markdown", str(markdown)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads(out.read_text(encoding="utf-8"))
    (scale,) = report["scales"]
    assert (scale["projects"], scale["jobs"]) == (100, 9740)
    minimum = scale["minimum"]
    assert minimum["minimum"] == 1 + minimum["project_pages"] + minimum["job_pages"]
    assert minimum["projects_with_artifacts"] <= minimum["projects"]
    for run in ("baseline_collect", "janitor_collect", "baseline_apply", "janitor_apply"):
        figures = scale[run]
        for field in ("requests", "wall_s", "req_per_s", "peak_rss_mib", "throttled", "client_cpu_s"):
            assert figures[field] is not None, (run, field)
        assert figures["peak_rss_mib"] > 0
    janitor = scale["janitor_collect"]
    assert janitor["requests"] <= 1.1 * minimum["minimum"]
    assert janitor["throttled"] == 0
    assert scale["baseline_collect"]["requests"] > janitor["requests"]  # it also reads what no rule needs
    assert janitor["planned_items"] > 0 and janitor["plan_peak_rss_mib"] > 0
    assert scale["janitor_apply"]["deleted"] == 300
    assert scale["baseline_apply"]["deleted"] == 50
    assert {c["target"] for c in report["targets"]} >= {"requests over minimum (small)",
                                                        "apply rate vs sequential (small)"}
    assert "| janitor collect |" in markdown.read_text(encoding="utf-8")
    assert "janitor collect" in done.stdout
