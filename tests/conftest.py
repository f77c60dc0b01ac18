"""Fixtures for the engine's tests: a simulator per test (state changes stay local) and a way to run
the real CLI in-process with a given environment, capturing what a user would see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import ARTIFACTS_POLICY, Result

from janitor.cli import main
from janitor.simulator import TOKENS, Instance, Simulator, generate


@pytest.fixture
def instance() -> Instance:
    return generate(seed=3, scale="small")


@pytest.fixture
def sim(instance: Instance) -> Iterator[Simulator]:
    with Simulator(instance) as server:
        yield server


@pytest.fixture
def env(sim: Simulator) -> dict[str, str]:
    return {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(ARTIFACTS_POLICY, encoding="utf-8")
    return path


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """run(args, env) -> Result: the real `janitor` entry point, as a user would call it."""

    def _run(args: list[object], env: dict[str, str] | None = None) -> Result:
        for key in ("GITLAB_URL", "CI_SERVER_URL", "GITLAB_TOKEN", "JANITOR_MAX_RETRIES"):
            monkeypatch.delenv(key, raising=False)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run
