"""A name holding terminal escapes or bidi overrides is shown escaped wherever a person reads it.

A Developer can push a branch named `x<ESC>[2J...`: printed raw, it clears the operator's terminal; a
U+202E makes the rest of the line read backwards. collect, plan and apply (dry run) run through the CLI
against the simulator, and neither stdout, stderr, report.md nor report.html holds a raw control character.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine_helpers import collect_and_plan

from janitor.report.markdown import md_text
from janitor.simulator import Instance
from janitor.simulator.repo_state import Branch, ProtectionRule, repository
from janitor.textsafe import printable

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: merged-branches
    resource: branches
    action: delete
    match: {merged: true, older_than: 30d}
"""
HOSTILE = "fix/\x1b[2J\x1b]0;owned\x07-\u202egnp.exe\u2066\x9b31m\x7f"
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]")
DAY_MS = 86_400_000


def _plant(instance: Instance) -> None:
    """In one project of the scope: the hostile branch, merged and old (planned), and a protected one
    named after it (kept, its reason naming the rule)."""
    project = next(p for p in instance.projects.values()
                   if p.namespace.full_path.startswith("acme") and not p.archived and "legal" not in
                   p.namespace.full_path)
    repo = repository(project)
    old = instance.now - 400 * DAY_MS
    repo.branches[HOSTILE] = Branch(HOSTILE, "d" * 40, old, merged=True)
    repo.branches[HOSTILE + "k"] = Branch(HOSTILE + "k", "e" * 40, old, merged=True)
    repo.protected_branches[HOSTILE + "k"] = ProtectionRule(990001, HOSTILE + "k")


def test_no_raw_control_character_reaches_the_terminal_or_a_report(run, env, instance: Instance,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    _plant(instance)
    plan = collect_and_plan(run, env, tmp_path, POLICY)
    assert HOSTILE in {i["target"]["branch"] for i in plan["items"]}, "the hostile branch is planned"
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "plan2.json", "--report-dir", tmp_path / "report"], env)
    applied = run(["apply", tmp_path / "plan.json"], env)  # dry run: prints every item
    assert applied.code == 0, applied.err
    shown = {"plan stdout": planned.out, "plan stderr": planned.err,
             "apply stdout": applied.out, "apply stderr": applied.err}
    for name in ("report.md", "report.html"):
        shown[name] = (tmp_path / "report" / name).read_text(encoding="utf-8")
    for where, text in shown.items():
        raw = sorted({f"U+{ord(c):04X}" for c in CONTROL.findall(text)})
        assert not raw, f"{where} holds raw control characters {raw}"
    escaped = printable(HOSTILE)
    assert "\\x1b[2J" in escaped and "\\u202e" in escaped
    assert "would delete: " in applied.out and escaped in applied.out, "the operator sees the name, escaped"
    assert md_text(HOSTILE) in shown["report.md"] and "&#92;x1b&#91;2J" in md_text(HOSTILE)
    assert "\\u202egnp.exe" in shown["report.html"]
    # report.json is for programs: it keeps the exact name (JSON escapes it)
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    titles = {i["title"] for p in report["projects"] for i in p["remove"]}
    assert f"branch {HOSTILE}" in titles


def test_an_error_message_naming_a_hostile_value_is_escaped(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "no\x1b[2Jsuch\u202e.yml"
    result = run(["validate", missing], env)
    assert result.code == 1
    assert not CONTROL.findall(result.err), result.err
    assert "\\x1b[2J" in result.err
