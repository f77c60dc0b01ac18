"""Shared simulator fixtures. Read-only tests share one server; tests that change state get
their own instance so they cannot disturb each other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import gitlab
import pytest
import requests

from janitor.simulator import TOKENS, Instance, Simulator, generate

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)


def api(sim: Simulator, path: str) -> str:
    return f"{sim.url}/api/v4{path}"


def auth(name: str = "admin") -> dict[str, str]:
    return {"PRIVATE-TOKEN": TOKENS[name]}


def client(sim: Simulator, token: str = "admin", **options: object) -> gitlab.Gitlab:
    return gitlab.Gitlab(sim.url, private_token=TOKENS[token], **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small() -> Instance:
    return generate(seed=7, scale="small", now=NOW)


@pytest.fixture(scope="session")
def shared_sim(small: Instance) -> Iterator[Simulator]:
    """A server over the small instance; tests using it must not change state or faults."""
    with Simulator(small) as sim:
        yield sim


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A fresh server over a fresh tiny instance, free to mutate."""
    with Simulator(generate(seed=11, scale="tiny", now=NOW)) as fresh:
        yield fresh


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
