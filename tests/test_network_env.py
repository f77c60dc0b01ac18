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


def _self_signed(where: Path) -> tuple[Path, Path]:
    import shutil
    import subprocess

    import pytest

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed: no certificate for the private-CA test")
    cert, key = where / "ca.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def test_a_private_ca_is_trusted_through_requests_ca_bundle(run, policy_file: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                            monkeypatch) -> None:
    import ssl

    from janitor.simulator import TOKENS, generate

    for name in (*_PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    sim = Simulator(generate(seed=3, scale="tiny"))
    sim._server.socket = context.wrap_socket(sim._server.socket, server_side=True)  # the simulator, over TLS
    with sim:
        env = {"GITLAB_URL": f"https://127.0.0.1:{sim.port}", "GITLAB_TOKEN": TOKENS["admin"],
               "JANITOR_MAX_RETRIES": "0"}
        untrusted = run(["collect", "--policy", policy_file, "--out", tmp_path / "a"], env)
        assert untrusted.code == 1 and "SSLError" in untrusted.err
        assert "REQUESTS_CA_BUNDLE" in untrusted.err, "the hint names the fix"
        trusted = run(["collect", "--policy", policy_file, "--out", tmp_path / "b"],
                      {**env, "REQUESTS_CA_BUNDLE": str(cert)})
    assert trusted.code == 0, trusted.err
    assert (tmp_path / "b" / "projects.json").exists()
