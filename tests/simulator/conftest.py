"""Shared simulator fixtures. Read-only tests share one server; tests that change state get
their own instance so they cannot disturb each other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sim_helpers import NOW

from janitor.simulator import Instance, Simulator, generate


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
