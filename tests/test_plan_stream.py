"""`janitor plan` streams (issue 10, "flat memory"): one project at a time, parts spooled to temporary files,
plan.json and report.json assembled at the end. What a user sees must not change: the plan and every
report are byte for byte what the whole evaluation in memory gives, run after run; refusals still see the
totals over all projects; and the plan's memory does not grow with the number of items."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import state_reference as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor.cli import main
from janitor.grace import grace_section
from janitor.inventory import InventoryWriter, read_inventory
from janitor.model import format_time
from janitor.plan_file import build_plan, read_plan, write_plan
from janitor.planner import evaluate
from janitor.policy import load_policy
from janitor.report import html as html_report
from janitor.report import markdown as markdown_report
from janitor.report import report_of, write_reports
from janitor.report.data import DETAIL_PROJECTS, DETAIL_ROWS
from janitor.state import state_bytes, state_digest, state_json

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
URL = "https://gitlab.example.com"
POLICY = """\
version: 1
scope: {groups: [acme], exclude: ['acme/legal/**']}
limits: {max_actions: LIMIT, max_percent: 100}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d}
    keep: {latest: 1, per: ref}
  - name: failed-pipelines
    resource: pipelines
    action: delete
    match: {older_than: 60d, status: [failed]}
"""
# paths repeat on purpose: two projects may share one (the plan orders items by path first); line and
# paragraph separators other than "\n" must not cut a spooled line
PATHS = ["acme/app", "acme/api", "acme/web", "acme/legal/x", "other/tool", "acme/z-last", "acme/\x85x\u2028y",
         "acme/ünï\tcode"]


def _jobs(project_id: int, spec: list[tuple[int, int, int, bool]]) -> tuple[list[Any], list[Any]]:
    jobs, pipelines = [], {}
    for n, (days, ref, size, failed) in enumerate(spec):
        pipeline = {"id": project_id * 1000 + n, "ref": f"r{ref}", "status": "failed" if failed else "success",
                    "created_at": format_time(NOW - timedelta(days=days))}
        pipelines[pipeline["id"]] = pipeline
        jobs.append({"id": project_id * 1000 + n, "name": "build", "status": "success", "ref": f"r{ref}",
                     "finished_at": format_time(NOW - timedelta(days=days)), "pipeline": pipeline,
                     "artifacts": [{"file_type": "archive", "size": size}]})
    return jobs, list(pipelines.values())


JOB = st.tuples(st.integers(0, 120), st.integers(0, 1), st.integers(0, 3).map(lambda n: n * 1000),
                st.booleans())
PROJECT = st.tuples(st.sampled_from(PATHS), st.lists(JOB, max_size=12), st.booleans(), st.integers(0, 9))


def _inventory(directory: Path, projects: list[tuple[str, list[Any], bool, int]]) -> Path:
    writer = InventoryWriter(directory, format_time(NOW), {"gitlab_url": URL})
    for number, (path, spec, archived, incomplete) in enumerate(projects, start=1):
        jobs, pipelines = _jobs(number, spec)
        entry: dict[str, Any] = {"id": number, "path_with_namespace": path, "archived": archived,
                                 "_jobs": jobs, "_pipelines": pipelines}
        if incomplete == 0:
            entry["_incomplete"] = "GET jobs: 500"
        writer.add_project(entry)
    writer.commit()
    return directory


def _reference(policy_file: Path, inventory: Path, out: Path, state: Path | None = None) -> dict[str, bytes]:
    """The plan, reports and state of the whole evaluation held in memory (the pre-streaming way); `state`:
    the previous run's state file, read whole and kept in a dict as before it was streamed to disk."""
    policy = load_policy(policy_file)
    inv = read_inventory(inventory)
    previous = reference.parse_state(state, state.read_bytes(), URL, NOW) if state else None
    clock = reference.GraceClock(policy, previous, NOW)
    evaluation = evaluate(policy, inv, NOW, clock)  # type: ignore[arg-type]  # the clock before streaming
    header = {"gitlab_url": URL, "created_at": inv.timestamp, "policy": str(policy_file),
              "policy_digest": policy.digest, "inventory_digest": inv.digest, "plan_digest": None,
              "gitlab_version": None}
    new_state = state_bytes(state_json(clock.entries.values(), URL, NOW)) if state else None
    files: dict[str, bytes] = {}
    if not evaluation.refusals:
        plan = build_plan(evaluation.items, gitlab_url=URL, created_at=NOW, policy_digest=policy.digest,
                          inventory_digest=inv.digest, scope_lock=None,
                          pending=[p.to_json() for project in evaluation.projects for p in project.pending],
                          grace=grace_section(policy), notify=policy.notify.to_json(),
                          state_digest=state_digest(new_state) if new_state is not None else None)
        header["plan_digest"] = plan["digest"]
        write_plan(out / "plan.json", plan)
        files["plan.json"] = (out / "plan.json").read_bytes()
        if new_state is not None:
            files["state.json"] = new_state  # written only with a plan: a refused run keeps the old state
    for path in write_reports(report_of(evaluation, policy, header), out / "reports"):
        files[path.name] = path.read_bytes()
    return files


def _planned(policy_file: Path, inventory: Path, out: Path, state: Path | None = None) -> tuple[int, dict[str, bytes]]:
    extra = []
    if state is not None:  # each run gets its own copy: a run replaces the state it read
        out.mkdir(parents=True, exist_ok=True)
        (out / "state.json").write_bytes(state.read_bytes())
        extra = ["--state", str(out / "state.json")]
    code = main(["plan", "--policy", str(policy_file), "--inventory", str(inventory), "--out",
                 str(out / "plan.json"), "--report-dir", str(out / "reports"), *extra])
    files = {p.name: p.read_bytes() for p in sorted((out / "reports").iterdir())}
    if (out / "plan.json").exists():
        files["plan.json"] = (out / "plan.json").read_bytes()
        if state is not None:
            files["state.json"] = (out / "state.json").read_bytes()
    return code, files


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(projects=st.lists(PROJECT, max_size=8), limit=st.sampled_from([1, 3, 1000]))
def test_streamed_plan_and_reports_are_the_in_memory_bytes(tmp_path_factory: Any, projects: Any,
                                                            limit: int) -> None:
    base = tmp_path_factory.mktemp("stream")
    policy_file = base / "policy.yml"
    policy_file.write_text(POLICY.replace("LIMIT", str(limit)), encoding="utf-8")
    inventory = _inventory(base / "inv", projects)
    expected = _reference(policy_file, inventory, base / "reference")
    code, first = _planned(policy_file, inventory, base / "first")
    _, second = _planned(policy_file, inventory, base / "second")
    assert first == expected  # same files, same bytes: plan.json only when the limits allow it
    assert second == first
    assert code == (0 if "plan.json" in expected else 3)
    if "plan.json" in first:
        read_plan(base / "first" / "plan.json")  # its streamed digest seals it


# the first rule waits: what it would remove is pending until its grace has passed since it first qualified
GRACE_POLICY = POLICY.replace("    action: delete\n    match: {older_than: 30d}",
                              "    action: delete\n    grace: 20d\n    notify: true\n    match: {older_than: 30d}"
                              ) + "notify:\n  labels: [janitor, cleanup]\n  assignees: maintainers\n"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(projects=st.lists(PROJECT, max_size=6), limit=st.sampled_from([1, 1000]),
       ages=st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=1, max_size=6))
def test_streamed_plan_with_grace_and_state_is_the_in_memory_bytes(tmp_path_factory: Any, projects: Any,
                                                                    limit: int, ages: list[int | None]) -> None:
    """With a grace rule and a previous state (some clocks started long enough ago, some not, some items
    new): plan.json's pending section, grace, notify and state_digest, the reports' pending lists and
    totals, and the state file written are byte for byte the in-memory evaluation's."""
    base = tmp_path_factory.mktemp("grace")
    policy_file = base / "policy.yml"
    policy_file.write_text(GRACE_POLICY.replace("LIMIT", str(limit)), encoding="utf-8")
    inventory = _inventory(base / "inv", projects)
    state = base / "state.json"  # a first run's state, its clocks then moved back `ages` days (None: dropped)
    main(["plan", "--policy", str(policy_file), "--inventory", str(inventory), "--out", str(base / "seed.json"),
          "--state", str(state)])
    if state.exists():
        data = json.loads(state.read_text(encoding="utf-8"))
        kept = []
        for number, item in enumerate(data["items"]):
            age = ages[number % len(ages)]
            if age is not None:
                item["first_qualified"] = format_time(NOW - timedelta(days=age))
                kept.append(item)
        state.write_text(json.dumps({**data, "items": kept}), encoding="utf-8")
    else:  # refused: start from an empty state
        state.write_text(json.dumps({"format": "gitlab-janitor-state", "version": 1, "gitlab_url": URL,
                                     "updated_at": format_time(NOW), "items": []}), encoding="utf-8")
    expected = _reference(policy_file, inventory, base / "reference", state)
    code, first = _planned(policy_file, inventory, base / "first", state)
    _, second = _planned(policy_file, inventory, base / "second", state)
    assert first == expected
    assert second == first
    assert code == (0 if "plan.json" in expected else 3)
    if "plan.json" in first:
        loaded = read_plan(base / "first" / "plan.json")  # its streamed digest seals it, pending included
        assert loaded.raw["totals"]["pending"] == len(loaded.raw["pending"])
        assert loaded.raw["state_digest"] == state_digest(first["state.json"])


def test_a_refused_plan_leaves_no_plan_file_and_reports_why(tmp_path: Path) -> None:
    """max_actions is judged on the total over all projects, though each project alone is under it."""
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(POLICY.replace("LIMIT", "5"), encoding="utf-8")
    # per ref: the latest pipeline's job is locked, keep.latest keeps one more, the other two go: 4 a project
    old = [(90, n % 2, 1000, False) for n in range(8)]
    inventory = _inventory(tmp_path / "inv", [("acme/app", old, False, 5), ("acme/api", old, False, 5)])
    code, files = _planned(policy_file, inventory, tmp_path / "out")
    assert code == 3
    assert "plan.json" not in files and not list((tmp_path / "out").glob(".plan.json*"))
    report = json.loads(files["report.json"])
    assert report["plan_digest"] is None
    assert [p["remove_items"] for p in report["projects"]] == [4, 4]
    assert report["refused"] == [f"the plan has {report['totals']['remove_items']} actions, more than "
                                 "limits.max_actions 5"]


def test_the_renderers_show_no_more_than_the_report_value_loads() -> None:
    """report.md and report.html detail only the projects and rows `report_data` loads in full; a renderer
    showing more would silently show a cut list as if it were whole."""
    assert markdown_report.PROJECTS_IN_FULL <= DETAIL_PROJECTS and markdown_report.ROWS_PER_LIST <= DETAIL_ROWS
    assert html_report.PROJECTS_IN_FULL <= DETAIL_PROJECTS and html_report.ROWS_PER_LIST <= DETAIL_ROWS


# VmHWM is this process image's own peak (ru_maxrss would start from the forking test process's peak)
_RSS = """
import sys
from janitor.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM:")))
sys.exit(code)
"""


def _peak_rss_mib(tmp_path: Path, projects: int, code: str = "", foreign: bool = False, state: bool = False) -> int:
    """`janitor plan`'s own peak RSS over `projects` projects of 20 old jobs on one ref (19 to remove);
    `foreign`: the inventory pretty-printed, its timestamp after the entries, as another tool may write it;
    `state`: the rule under a grace period, planned a second time with the state the first run wrote (every
    item pending, and in the state read and the state written)."""
    directory = tmp_path / f"inv-{projects}"
    if not directory.exists():
        writer = InventoryWriter(directory, format_time(NOW), {"gitlab_url": URL})
        for number in range(1, projects + 1):
            listed, pipelines = _jobs(number, [(90, 0, 5000, False)] * 20)
            writer.add_project({"id": number, "path_with_namespace": f"acme/p{number}", "archived": False,
                                "_jobs": listed, "_pipelines": pipelines})
        writer.commit()
    if foreign:
        whole = json.loads((directory / "projects.json").read_text(encoding="utf-8"))
        directory = tmp_path / f"foreign-{projects}"
        directory.mkdir()
        (directory / "projects.json").write_text(json.dumps({"entries": whole["entries"], "janitor": whole["janitor"],
                                                             "timestamp": whole["timestamp"]}, indent=2))
    policy_file = tmp_path / "policy.yml"
    policy = POLICY.split("    keep:")[0].replace("LIMIT", "10000000")
    policy_file.write_text(policy.replace("    action: delete\n", "    action: delete\n    grace: 20d\n", 1)
                           if state else policy, encoding="utf-8")
    out = tmp_path / f"out-{projects}"
    env = {**os.environ, "PYTHONPATH": code} if code else None  # `code`: another checkout, to compare
    command = [sys.executable, "-c", _RSS, "plan", "--policy", str(policy_file), "--inventory", str(directory),
               "--out", str(out / "plan.json"), "--report-dir", str(out)]
    if state:
        command += ["--state", str(out / "state.json")]
        (out / "state.json").unlink(missing_ok=True)
        subprocess.run(command, capture_output=True, check=True, env=env)  # every clock starts
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    plan = read_plan(out / "plan.json")
    assert len(plan.raw["pending"] if state else plan.items) == projects * 19
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_plan_memory_does_not_grow_with_the_items(tmp_path: Path) -> None:
    """19,000 items cost the plan about what 3,800 do: past the projects the reports detail, only a
    summary per project stays in memory. Before, every item was held several times over (~40 MiB more)."""
    small = _peak_rss_mib(tmp_path, DETAIL_PROJECTS)
    large = _peak_rss_mib(tmp_path, 5 * DETAIL_PROJECTS)
    assert large - small < 12, f"peak RSS {small} MiB at {DETAIL_PROJECTS * 19} items, {large} MiB at five times that"
    # another tool's layout is parsed one entry at a time too (before, json.load held all of it: ~60 MiB more)
    foreign = _peak_rss_mib(tmp_path, 5 * DETAIL_PROJECTS, foreign=True)
    assert foreign - large < 12, f"peak RSS {large} MiB from our layout, {foreign} MiB from a pretty-printed one"


@pytest.mark.slow
def test_plan_memory_with_a_state_does_not_grow_with_the_items_under_grace(tmp_path: Path) -> None:
    """With --state, 19,000 items pending cost the plan about what 3,800 do: the state read and the state
    written are on disk, a project's entries read when it comes. Before, both were held in memory whole
    (~20 MiB more here, ~340 MiB at 300,000 items)."""
    small = _peak_rss_mib(tmp_path, DETAIL_PROJECTS, state=True)
    large = _peak_rss_mib(tmp_path, 5 * DETAIL_PROJECTS, state=True)
    assert large - small < 12, f"peak RSS {small} MiB at {DETAIL_PROJECTS * 19} items, {large} MiB at five times that"


LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=8),
                 st.floats(allow_nan=False, allow_infinity=False))
VALUE = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.dictionaries(st.from_regex(r"[1-9][0-9]{0,3}", fullmatch=True), VALUE, max_size=6),
       extra=st.dictionaries(st.sampled_from(["timestamp", "janitor", "x"]), VALUE, max_size=3),
       indent=st.sampled_from([None, 0, 2, "\t"]), chunk=st.integers(1, 64), entries_first=st.booleans())
def test_another_tools_layout_is_read_entry_by_entry_as_json_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: Any, extra: Any, indent: Any, chunk: int,
        entries_first: bool) -> None:
    """Whatever the layout and however the chunks cut it, the entries and head are what json.load sees."""
    import janitor.inventory_stream as stream

    monkeypatch.setattr(stream, "CHUNK", chunk)
    whole = {"entries": entries, **extra} if entries_first else {**extra, "entries": entries}
    path = tmp_path / "projects.json"
    path.write_text(json.dumps(whole, indent=indent, ensure_ascii=bool(chunk % 2)), encoding="utf-8")
    with open(path, encoding="utf-8") as handle:
        assert list(stream.stream_file(handle, entries=True)) == list(entries.items())
    with open(path, encoding="utf-8") as handle:
        assert dict(stream.stream_file(handle, entries=False)) == extra


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.text(max_size=10), max_size=5), complete=st.booleans(),
       indent=st.sampled_from([None, 2, "\t"]), run_first=st.booleans())
def test_collects_run_facts_are_read_from_another_tools_rewrite_of_the_inventory(
        tmp_path_factory: Any, paths: list[str], complete: bool, indent: Any, run_first: bool) -> None:
    """collect writes its run facts after the entries ("janitor_run"); a tool that pretty-prints the file,
    or moves that key before the entries, must leave what plan reads unchanged: the same completeness
    (an incomplete inventory warns and plans nothing in the failed projects) and the same projects."""
    ours = tmp_path_factory.mktemp("ours")
    writer = InventoryWriter(ours, format_time(NOW), {"gitlab_url": URL, "complete": True})
    for number, path in enumerate(paths, start=1):
        writer.add_project({"id": number, "path_with_namespace": path, "_jobs": []})
    writer.commit({"complete": complete, "projects": len(paths)})
    whole = json.loads((ours / "projects.json").read_text(encoding="utf-8"))
    assert list(whole)[-1] == "janitor_run"
    if run_first:
        whole = {"janitor_run": whole.pop("janitor_run"), **whole}
    theirs = tmp_path_factory.mktemp("theirs")
    (theirs / "projects.json").write_text(json.dumps(whole, indent=indent, ensure_ascii=False), encoding="utf-8")
    (theirs / "merge_requests.json").write_bytes((ours / "merge_requests.json").read_bytes())
    read_ours, read_theirs = read_inventory(ours), read_inventory(theirs)
    assert read_theirs.meta == read_ours.meta and read_theirs.meta["complete"] is complete
    assert list(read_theirs.projects()) == list(read_ours.projects())


def test_the_terminal_counts_pending_items_past_the_projects_the_reports_detail(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan` lists the soonest-due pending items and counts the rest over every project, not only over the
    projects whose lists the report value loads (DETAIL_PROJECTS)."""
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(GRACE_POLICY.replace("LIMIT", "1000"), encoding="utf-8")
    # per project one job goes: the latest pipeline's job is locked, keep.latest keeps one more
    old = [(90, 0, 1000, False)] * 3
    projects = DETAIL_PROJECTS + 5
    inventory = _inventory(tmp_path / "inv", [(f"acme/p{n:03}", old, False, 5) for n in range(projects)])
    capsys.readouterr()
    code, _ = _planned(policy_file, inventory, tmp_path / "out", state=None)
    err = capsys.readouterr().err
    assert code == 0
    assert f"; {projects} pending (grace period not over)" in err
    shown = [line for line in err.splitlines() if line.startswith("  pending: ")]
    assert [line.split()[1] for line in shown] == [f"acme/p{n:03}" for n in range(10)]
    assert f"  ... and {projects - 10} more pending, listed in the reports" in err
