"""The benchmark's results as one table (text and markdown render the same rows) and the targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = list[str]
HEADER = ["scale", "run", "requests", "minimum", "req/min", "wall s", "req/s", "peak RSS MiB", "CPU s client/server",
          "notes"]


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) or digits:
        return f"{float(value):,.{digits}f}"
    return f"{int(value):,}"


def _line(label: str, run: str, f: dict[str, Any], minimum: int | None, notes: str) -> Row:
    return [label, run, _n(f["requests"]), _n(minimum) if minimum else "",
            _n(f["requests"] / minimum, 2) if minimum else "", _n(f["wall_s"], 1), _n(f["req_per_s"], 1),
            _n(f["peak_rss_mib"], 1), f"{f['client_cpu_s']:.1f} / {f['server_cpu_s']:.1f}", notes]


def _server(f: dict[str, Any]) -> str:
    """What the simulator cost in that run: printed next to every ratio, so a slow simulator shows."""
    size = f.get("bytes_per_page")
    return (f"server {_n(f.get('server_cpu_ms_per_request'), 2)} ms CPU/request, "
            f"{_n(size / 1024 if size else None, 1)} KB/page")


def _runs(j: dict[str, Any]) -> str:
    """Every collect of the scale: the reported one is the run of median CPU."""
    runs = j.get("runs") or []
    if len(runs) < 2:
        return "one run"
    each = " / ".join(f"{_n(r['client_cpu_ms_per_page'], 2)} ms/page in {r['wall_s']:.1f}s (server "
                      f"{_n(r.get('server_cpu_ms_per_request'), 2)} ms/request)" for r in runs)
    return f"median of {len(runs)} runs by CPU, each {each}"


def rows(report: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for s in report["scales"]:
        label = f"{s['scale']} ({s['projects']:,} projects / {s['jobs']:,} jobs)"
        minimum = s["minimum"]["minimum"]
        b, j = s["baseline_collect"], s["janitor_collect"]
        speedup = b["wall_s"] / j["collect_plan_wall_s"] if j["collect_plan_wall_s"] else 0
        out.append(_line(label, "baseline collect", b, minimum,
                         f"{1000 * b['wall_s'] / max(1, b['requests']):.1f} ms/request = "
                         f"{_n(b['per_request_over_latency'], 2)}x latency; {_server(b)}, "
                         f"{_n(b['bytes_per_job'] / 1024, 2)} KB/job"))
        floor = j.get("python_gitlab_floor") or {}
        out.append(_line(label, "janitor collect", j, minimum,
                         f"{j['workers'] or 'default'} workers, {j['in_flight']} in flight: latency floor "
                         f"{j['latency_floor_s']:.1f}s, wall/floor {_n(j['wall_over_latency_floor'], 2)}; "
                         f"requests/minimum {j['requests_over_minimum']:.3f}; janitor CPU "
                         f"{_n(j['client_cpu_ms_per_page'], 2)} ms/page, "
                         f"{_n(j.get('client_cpu_ms_per_page_beyond_startup'), 2)} beyond its start-up of "
                         f"{_n(j.get('startup_cpu_s'), 2)} s; {_runs(j)} (python-gitlab alone "
                         f"{_n(floor.get('cpu_ms_per_page'), 2)} in one thread, with stdlib json "
                         f"{_n(floor.get('stdlib_json_cpu_ms_per_page'), 2)}; "
                         f"{_n(floor.get('busy_cpu_ms_per_page'), 2)} with {floor.get('busy_threads')} threads); "
                         f"peak RSS summed over processes "
                         f"{j['peak_rss_sum_mib']:.0f} MiB; {j['throttled']} x 429; inventory {j['inventory_mib']} "
                         f"MiB; {_server(j)}"))
        out.append([label, "janitor plan", "0", "", "", _n(j["plan_wall_s"], 1), "", _n(j["plan_peak_rss_mib"], 1),
                    f"{j['plan_cpu_s']:.1f} / 0", f"{j['planned_items']:,} items planned; collect+plan "
                    f"{j['collect_plan_wall_s']:.1f}s = {speedup:.1f}x faster than baseline ({_server(b)}); "
                    f"planned again: {'byte-identical' if j['plan_identical'] else 'DIFFERENT'}"])
        ba, ja = s["baseline_apply"], s["janitor_apply"]
        ratio = ja["deletes_per_s"] / ba["deletes_per_s"] if ba["deletes_per_s"] else 0
        out.append(_line(label, "baseline apply", ba, None, f"{ba['deleted']:,} deleted, {ba['deletes_per_s']:.1f}/s"))
        out.append(_line(label, "janitor apply", ja, None, f"{ja['deleted']:,} deleted, {ja['deletes_per_s']:.1f}/s "
                         f"= {ratio:.1f}x baseline; {ja['throttled']} x 429"))
        limited = s.get("rate_limited")
        if limited:
            for step in ("collect", "apply"):
                r = limited[step]
                limit = f"{limited['per_minute']}/min" + (f", jobs {limited['jobs_per_minute']}/min"
                                                          if step == "collect" else "")
                extra = f"; {r['deleted']:,} deleted" if step == "apply" else ""
                out.append(_line(label, f"janitor {step}, rate-limited", r, None,
                                 f"{limit}: floor {r['floor_s']:.1f}s, wall/floor {r['wall_over_floor']:.2f}; "
                                 f"{r['throttled']} x 429 ({r['throttled_percent']}%){extra}"))
    for mode, runs in (report.get("plan_memory") or {}).items():
        for r in runs:
            label = f"plan memory ({r['projects']:,} projects{', --state' if mode == 'state' else ''})"
            out.append([label, "janitor plan", "0", "", "", _n(r["wall_s"], 1), "", _n(r["peak_rss_mib"], 1),
                        f"{r['cpu_s']:.1f} / 0", f"{r['actions']:,} items planned, {r['pending']:,} pending; "
                        f"plan.json {r['plan_mib']} MiB"])
    return out


def _check(name: str, holds: bool | None, measured: str, target: str) -> dict[str, Any]:
    """holds None: a figure shown with the targets but not judged at this scale."""
    return {"target": name, "holds": holds, "measured": measured, "wanted": target}


def evaluate_targets(results: list[dict[str, Any]],
                     plan_memory: dict[str, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    for mode, rows in (plan_memory or {}).items():
        if len(rows) < 2:
            continue
        small, large = rows[0], rows[-1]
        label = f"{large['projects']:,} projects" + (" with --state" if mode == "state" else "")
        growth = large["projects"] / small["projects"]
        checks.append(_check(f"plan peak RSS at {label}", large["peak_rss_mib"] <= 512,
                             f"{large['peak_rss_mib']:.0f} MiB", "<= 512 MiB"))
        ratio = large["peak_rss_mib"] / small["peak_rss_mib"]
        checks.append(_check(f"plan peak RSS at {label} over {small['projects']:,}", ratio <= 2,
                             f"{ratio:.2f}x ({small['peak_rss_mib']:.0f} MiB)", "<= 2x"))
        time_ratio = large["wall_s"] / small["wall_s"]
        checks.append(_check(f"plan time at {label} over {small['projects']:,}", time_ratio <= 1.2 * growth,
                             f"{time_ratio:.1f}x ({large['wall_s']:.1f} s vs {small['wall_s']:.1f} s)",
                             f"<= {1.2 * growth:.0f}x"))
    for s in results:
        scale = s["scale"]
        b, j = s["baseline_collect"], s["janitor_collect"]
        speedup = b["wall_s"] / j["collect_plan_wall_s"]
        overhead = j["requests"] / s["minimum"]["minimum"]
        checks.append(_check(f"simulator CPU per request ({scale})", j["server_cpu_ms_per_request"] <= 0.5,
                             f"{j['server_cpu_ms_per_request']:.3f} ms ({j['bytes_per_page'] / 1024:.1f} KB/page)",
                             "<= 0.5 ms"))
        if b["per_request_over_latency"] is not None:
            checks.append(_check(f"baseline time per request over latency ({scale})",
                                 b["per_request_over_latency"] <= 1.3, f"{b['per_request_over_latency']:.2f}x",
                                 "<= 1.3x"))
        if scale == "medium":
            checks.append(_check("collect+plan speed-up at 1,000/100,000", speedup >= 8, f"{speedup:.1f}x", ">= 8x"))
            ratio = j["wall_over_latency_floor"]
            checks.append(_check("collect wall over latency floor at 1,000/100,000", ratio is not None and ratio <= 1.5,
                                 f"{_n(ratio, 2)}x of {j['latency_floor_s']:.1f}s", "<= 1.5x"))
        checks.append(_check(f"requests over minimum ({scale})", overhead <= 1.0, f"{overhead:.3f}x", "<= 1.0x"))
        # Judged on the whole run's CPU over its pages of jobs, start-up included, at 1,000 projects and up.
        # At 100 projects the fixed start-up (imports, token and version checks, the workers' threads and
        # connections) is most of a 0.5 s run, so the figure is shown there but not judged; so is the CPU
        # left after the start-up measured by a run over no project.
        per_page = j["client_cpu_ms_per_page"]
        measured = (f"{_n(per_page, 2)} ms; {_n(j.get('client_cpu_ms_per_page_beyond_startup'), 2)} ms beyond "
                    f"a start-up of {_n(j.get('startup_cpu_s'), 2)} s")
        judged = None if scale == "small" else per_page is not None and per_page <= 1.5
        checks.append(_check(f"janitor CPU per 100-job page, all processes ({scale})", judged, measured,
                             "<= 1.5 ms" if judged is not None else "<= 1.5 ms at 1,000 projects and up"))
        checks.append(_check(f"collect peak RSS summed over processes ({scale})", j["peak_rss_sum_mib"] <= 256,
                             f"{j['peak_rss_sum_mib']:.0f} MiB", "<= 256 MiB"))
        checks.append(_check(f"plan byte-identical run to run ({scale})", bool(j["plan_identical"]),
                             "identical" if j["plan_identical"] else "different", "identical"))
        if scale == "large":
            rss = max(j["peak_rss_mib"], j["plan_peak_rss_mib"])
            checks.append(_check("peak RSS at 10,000/1,000,000 (collect, plan)", rss < 1024, f"{rss:.0f} MiB",
                                 "< 1024 MiB"))
        ba, ja = s["baseline_apply"], s["janitor_apply"]
        if ba["deletes_per_s"]:
            ratio = ja["deletes_per_s"] / ba["deletes_per_s"]
            checks.append(_check(f"apply rate vs sequential ({scale})", ratio >= 5, f"{ratio:.1f}x", ">= 5x"))
        limited = s.get("rate_limited")
        if limited:
            for step in ("collect", "apply"):
                r = limited[step]
                checks.append(_check(f"rate-limited {step} wall vs floor ({scale})", r["wall_over_floor"] <= 1.15,
                                     f"{r['wall_over_floor']:.2f}x", "<= 1.15x"))
                checks.append(_check(f"rate-limited {step} 429s ({scale})", r["throttled_percent"] < 1,
                                     f"{r['throttled']} ({r['throttled_percent']}%)", "< 1% of requests"))
    return checks


def _verdict(holds: bool | None, yes: str, no: str, neither: str) -> str:
    return neither if holds is None else yes if holds else no


def _render(table: list[Row], line: Callable[[Row], str]) -> list[str]:
    return [line(row) for row in table]


def text_table(report: dict[str, Any]) -> str:
    table = [HEADER, *rows(report)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER) - 1)]
    lines = _render(table, lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    lines.append("")
    for check in report["targets"]:
        lines.append(f"{_verdict(check['holds'], 'PASS', 'MISS', 'INFO')}  {check['target']}: {check['measured']} "
                     f"(wanted {check['wanted']})")
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Command: `{report['command']}` (Python {report['python']}, latency {report['latency_s'] * 1000:.0f} ms, "
             f"whole run {report['elapsed_s']:.0f}s)", ""]
    lines.append("| " + " | ".join(HEADER) + " |")
    lines.append("|" + "---|" * len(HEADER))
    lines += _render(rows(report), lambda r: "| " + " | ".join(r) + " |")
    lines += ["", "| target | measured | wanted | holds |", "|---|---|---|---|"]
    for check in report["targets"]:
        lines.append(f"| {check['target']} | {check['measured']} | {check['wanted']} | "
                     f"{_verdict(check['holds'], 'yes', 'NO', 'not judged')} |")
    return "\n".join(lines) + "\n"
