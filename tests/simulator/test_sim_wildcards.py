"""The simulator decides GitLab's wildcard rules with its own code (janitor/simulator/wildcards.py, written
from GitLab's RefMatcher and the package rules' ILIKE), never with the client's janitor.matchers: each side
checks the other, so a matcher bug shows up as a disagreement instead of passing every test."""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_helpers import api, auth

import janitor.simulator
from janitor import matchers
from janitor.simulator import Simulator, wildcards
from janitor.simulator.repo_state import Branch, ProtectionRule, repository

SIMULATOR = Path(janitor.simulator.__file__).parent


def _janitor_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "janitor" or name.startswith("janitor.")}


def test_no_simulator_module_imports_the_client() -> None:
    outside = {f"{path.relative_to(SIMULATOR)}: {name}" for path in SIMULATOR.rglob("*.py")
               for name in _janitor_imports(path) if not name.startswith("janitor.simulator")}
    assert not outside, outside


def test_serving_the_simulator_loads_no_client_module() -> None:
    code = ("import sys, pkgutil, importlib, janitor.simulator as s\n"
            "for m in pkgutil.walk_packages(s.__path__, 'janitor.simulator.'): importlib.import_module(m.name)\n"
            "print(sorted(n for n in sys.modules if n.startswith('janitor') and n != 'janitor'"
            " and not n.startswith('janitor.simulator')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout


# Git refs and package names never hold a newline (GitLab's RE2 `.` would not cross one; our `*` does).
CHARS = st.sampled_from(["a", "b", "A", "*", "/", ".", "?", "[", "]", "\\", "%", "_", "-", "é", " "])


@settings(max_examples=800, deadline=None)
@given(st.text(CHARS, max_size=8), st.text(CHARS, max_size=10))
def test_simulator_and_client_agree_on_every_wildcard(pattern: str, name: str) -> None:
    assert wildcards.ref_rule_matches(pattern, name) == matchers.ref_rule_matches(pattern, name)
    assert wildcards.package_rule_matches(pattern, name) == matchers.package_rule_matches(pattern, name)


def test_the_simulator_answers_hostile_wildcards_quickly_and_as_gitlab(sim: Simulator) -> None:
    project = next(iter(sim.instance.projects.values()))
    repo = repository(project)
    repo.protected_branches["*a*a*a*a*a*a*a*a*a*a*b"] = ProtectionRule(9001, "*a*a*a*a*a*a*a*a*a*a*b")
    for name in ("a" * 60 + "!", "a" * 60 + "b"):
        repo.branches[name] = Branch(name, "f" * 40, sim.instance.now)
    started = time.monotonic()
    flags = {name: requests.get(api(sim, f"/projects/{project.id}/repository/branches/{quote(name, safe='')}"),
                                headers=auth(), timeout=10).json()["protected"]
             for name in ("a" * 60 + "!", "a" * 60 + "b")}
    assert time.monotonic() - started < 2
    assert flags == {"a" * 60 + "!": False, "a" * 60 + "b": True}
