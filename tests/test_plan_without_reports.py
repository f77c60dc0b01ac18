"""plan without --report-dir neither builds nor spools the projects' removed and kept lists (issue 10: they
were a fifth of plan's time and nothing reads them then). What the user gets must not change: the same plan
bytes, the same terminal summary, the same --format json summary, the same pending list."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import ARTIFACTS_POLICY

from janitor.simulator import Simulator

GRACE_POLICY = ARTIFACTS_POLICY.replace("    action: delete\n", "    action: delete\n    grace: 3d\n", 1)


def test_plan_output_is_the_same_with_and_without_report_files(run, env: dict[str, str], sim: Simulator,  # type: ignore[no-untyped-def]
                                                               policy_file: Path, tmp_path: Path) -> None:
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0
    for name, policy in (("plain", policy_file), ("grace", tmp_path / "grace.yml")):
        if name == "grace":
            policy.write_text(GRACE_POLICY, encoding="utf-8")
        outputs = {}
        for reports in (False, True):
            out = tmp_path / f"{name}-{reports}"
            out.mkdir()
            extra = ["--report-dir", out / "report"] if reports else []
            terminal = run(["plan", "--policy", policy, "--inventory", tmp_path / "inv", "--out", out / "plan.json",
                            *extra], env)
            summary = run(["plan", "--policy", policy, "--inventory", tmp_path / "inv", "--out",
                           out / "again.json", "--format", "json", *extra], env)
            assert terminal.code == 0 and summary.code == 0, terminal.err + summary.err
            document = json.loads(summary.out)
            document["plan"].pop("reports")
            document["plan"].pop("file")
            lines = [line for line in (terminal.out + terminal.err).splitlines() if str(out) not in line]
            outputs[reports] = ((out / "plan.json").read_bytes(), lines, document)
        assert outputs[False] == outputs[True], name
        assert outputs[True][0] != b""
    assert "pending" in " ".join(outputs[True][1])  # the grace run listed its pending items either way
