"""Fixtures of the pipeline tests: a git copy of the working tree for gitlab-ci-local, and a simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gcl_harness import SimulatorProcess, Workspace, make_workspace, missing_tools


@pytest.fixture(scope="module")
def tools() -> None:
    reason = missing_tools()
    if reason:
        pytest.skip(f"pipeline tests: {reason}")


@pytest.fixture(scope="module")
def workspace(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("gitlab-ci-local"))


@pytest.fixture(scope="module")
def simulator(tools: None) -> Iterator[SimulatorProcess]:
    server = SimulatorProcess()
    yield server
    server.stop()
