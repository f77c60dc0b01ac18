"""Invariants of notify over any sequence of runs: after each `--yes` run, every project with something
scheduled has exactly one open issue, listing exactly its items, every other project none; and running
again at once writes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from engine_helpers import non_get
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notify_helpers import Branch, Inputs, write_inputs

from janitor.cli import main
from janitor.simulator import TOKENS, Simulator, generate

PROJECTS = {1: "acme/platform/api", 2: "acme/web/frontend", 6: "acme/web/docs"}

branch = st.builds(lambda project, name, days, awaiting: Branch(project, PROJECTS[project], name, days, awaiting),
                   st.sampled_from(sorted(PROJECTS)), st.sampled_from(["a", "b", "feature/c", "@d"]),
                   st.integers(0, 30), st.booleans())
runs = st.lists(st.lists(branch, max_size=5, unique_by=lambda b: b.id), min_size=1, max_size=2)


def notify(plan: Path, state: Path) -> int:
    return main(["notify", "--plan", str(plan), "--state", str(state), "--yes"])


# monkeypatch is shared by the examples: each sets the same two variables before it runs
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=runs)
def test_one_open_issue_per_scheduled_project_and_a_rerun_writes_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                         sequence: list[list[Branch]]) -> None:
    with Simulator(generate(seed=11, scale="tiny")) as sim, tempfile.TemporaryDirectory() as tmp:
        monkeypatch.setenv("GITLAB_URL", sim.url)
        monkeypatch.setenv("GITLAB_TOKEN", TOKENS["admin"])
        for number, branches in enumerate(sequence):
            plan, state = write_inputs(Path(tmp), sim.url, Inputs(branches), name=f"run{number}")
            assert notify(plan, state) == 0
            for project_id in PROJECTS:
                mine = [b for b in branches if b.project_id == project_id]
                opened = [i for i in sim.instance.projects[project_id].issues if i.state == "opened"]
                assert len(opened) == (1 if mine else 0)
                for issue in opened:
                    listed = [line for line in (issue.description or "").splitlines() if line.startswith("- ")]
                    assert len(listed) == len(mine)
            sim.reset_requests()
            assert notify(plan, state) == 0 and non_get(sim) == []
