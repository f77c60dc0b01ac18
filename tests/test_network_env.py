"""collect and apply reach GitLab through requests, so the standard proxy variables apply to them (the
README's "Environment variables"): a proxy set for the GitLab URL is used, NO_PROXY bypasses it."""

from __future__ import annotations

import socket
from pathlib import Path

from engine_helpers import Result

from janitor.simulator import Simulator

_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                    "NO_PROXY", "no_proxy")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_collect_goes_through_the_proxy_unless_no_proxy_names_the_host(
        run, env: dict[str, str], sim: Simulator, policy_file: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    proxy = {"HTTP_PROXY": f"http://127.0.0.1:{_closed_port()}", "JANITOR_MAX_RETRIES": "0"}
    through_proxy: Result = run(["collect", "--policy", policy_file, "--out", tmp_path / "a"], {**env, **proxy})
    assert through_proxy.code == 1
    assert "Could not reach GitLab" in through_proxy.err and "ProxyError" in through_proxy.err
    assert sim.requests == [], "nothing may reach GitLab around the proxy"

    direct = run(["collect", "--policy", policy_file, "--out", tmp_path / "b"],
                 {**env, **proxy, "NO_PROXY": "127.0.0.1"})
    assert direct.code == 0, direct.err
    assert sim.requests
