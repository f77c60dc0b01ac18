"""The token never leaves the GitLab host (issue 9 §3).

A second loopback server stands for "another host": it logs every request it receives. The simulator is
made to point there, by a Link header (as a GitLab whose external_url is another host, or a hostile proxy,
sends it) or by a 302, and janitor runs as a user runs it. The second server must see no token, and no
request at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import ARTIFACTS_POLICY, collect_and_plan, non_get

from janitor.errors import SafetyRefusal
from janitor.gitlab_api import Connection, GitLabAPI
from janitor.simulator import TOKENS, Simulator


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RecordingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _log(self, method: str) -> None:
        self.server.log.append(Logged(method, self.path, dict(self.headers.items())))
        payload = b"[]" if method == "GET" else b""
        self.send_response(200 if method == "GET" else 204)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._log("GET")

    def do_DELETE(self) -> None:
        self._log("DELETE")

    def do_POST(self) -> None:
        self._log("POST")


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.log: list[Logged] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def elsewhere() -> Iterator[_RecordingServer]:
    server = _RecordingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _leaked(server: _RecordingServer) -> list[Logged]:
    return [entry for entry in server.log if any(TOKENS["admin"] in value for value in entry.headers.values())]


def _collect(run: Any, env: dict[str, str], tmp_path: Path) -> Any:
    (tmp_path / "policy.yml").write_text(ARTIFACTS_POLICY, encoding="utf-8")
    return run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"], env)


def test_a_next_link_to_another_host_is_read_from_gitlab_and_reported(
        sim: Simulator, env: dict[str, str], run: Any, tmp_path: Path, elsewhere: _RecordingServer) -> None:
    # GitLab's own shape (an external_url on another host): the next page is still read from GITLAB_URL
    sim.rewrite_links = lambda link: link.replace(sim.url, elsewhere.url)
    result = _collect(run, env, tmp_path)
    assert result.code == 0, result.err
    assert elsewhere.log == []
    assert f"pagination links point to {elsewhere.url}" in result.err
    # ... and the next pages were read, from the simulator
    assert any(set(r.query) & {"cursor", "id_after", "id_before"} or r.query.get("page", ["1"]) != ["1"]
               for r in sim.requests)


def test_a_next_link_that_cannot_be_rewritten_is_refused(
        sim: Simulator, env: dict[str, str], run: Any, tmp_path: Path, elsewhere: _RecordingServer) -> None:
    # No "/api" in the link: python-gitlab would follow it as it is, with the token
    sim.rewrite_links = lambda link: link.replace(sim.url + "/api/v4", elsewhere.url + "/collect")
    result = _collect(run, env, tmp_path)
    assert result.code == 3, result.err
    assert "Refused to send GET to " + elsewhere.url in result.err
    assert elsewhere.log == []
    assert TOKENS["admin"] not in result.err + result.out


def test_list_and_get_never_follow_another_host(sim: Simulator, elsewhere: _RecordingServer) -> None:
    api = GitLabAPI(Connection(sim.url, TOKENS["admin"], max_retries=0))
    sim.rewrite_links = lambda link: link.replace(sim.url + "/api/v4", elsewhere.url)
    paged = max(sim.instance.projects, key=lambda p: sim.instance.page_count(f"/projects/{p}/jobs"))
    assert sim.instance.page_count(f"/projects/{paged}/jobs") > 1
    with pytest.raises(SafetyRefusal):
        list(api.list("/projects/{project}/jobs", project=paged))
    sim.faults.redirect(r"^/projects/1$", elsewhere.url)
    with pytest.raises(SafetyRefusal):
        api.get("/projects/{project}", project=1)
    assert _leaked(elsewhere) == [] and elsewhere.log == []


def test_a_redirect_to_another_host_during_collect_sends_nothing_there(
        sim: Simulator, env: dict[str, str], run: Any, tmp_path: Path, elsewhere: _RecordingServer) -> None:
    sim.faults.redirect(r"^/projects/\d+/jobs$", elsewhere.url)
    result = _collect(run, env, tmp_path)
    assert result.code == 3, result.err
    assert elsewhere.log == []


def test_a_redirect_of_a_delete_to_another_host_sends_nothing_there(
        sim: Simulator, env: dict[str, str], run: Any, tmp_path: Path, elsewhere: _RecordingServer) -> None:
    plan = collect_and_plan(run, env, tmp_path, ARTIFACTS_POLICY)
    assert plan["items"]
    sim.reset_requests()
    sim.faults.redirect(r"/artifacts$", elsewhere.url, method="DELETE")
    result = run(["apply", tmp_path / "plan.json", "--yes", "--journal", tmp_path / "journal"], env)
    assert result.code == 3, result.err
    assert elsewhere.log == []
    # the simulator saw the DELETEs it redirected, and nothing was deleted
    assert all(line.endswith("/artifacts") for line in non_get(sim))
    assert all(r.status == 302 for r in sim.requests if r.method == "DELETE")
