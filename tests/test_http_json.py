"""Pages decoded for the declared fields only (janitor.http_json, issue 10): the same values as a whole
decoding, for any page; an answer of another shape decoded whole; and the body read in one piece, with a
body cut short reported as GitLab's answer broken off, never as a traceback."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.errors import Unreachable
from janitor.gitlab_api import Connection, GitLabAPI
from janitor.http_json import OrjsonResponse, rows_decoder
from janitor.resources.job_artifacts import FINISHED, JOB_FIELDS, JOBS, JobRow
from janitor.simulator import TOKENS, Simulator

DECLARED = set(JobRow.__annotations__)


def decoded(body: bytes, rows: Any) -> Any:
    response = OrjsonResponse()
    response._content = body
    response.rows = rows_decoder(rows) if rows is not None else None
    return response.json()


def test_the_job_row_declares_exactly_the_fields_collect_keeps() -> None:
    assert set(JOB_FIELDS) == DECLARED


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
rows = st.lists(st.dictionaries(st.sampled_from([*JOB_FIELDS, "user", "commit", "runner", "x"]) | st.text(max_size=6),
                                json_values, max_size=10), max_size=8)


@settings(max_examples=300, deadline=None)
@given(rows)
def test_a_declared_page_gives_the_whole_decoding_cut_to_the_declared_fields(page: list[dict[str, Any]]) -> None:
    body = orjson.dumps(page)
    whole = orjson.loads(body)
    assert decoded(body, JobRow) == [{k: v for k, v in row.items() if k in DECLARED} for row in whole]


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_an_answer_of_another_shape_is_decoded_whole(value: Any) -> None:
    body = orjson.dumps(value)
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return  # a page of rows: the property above
    assert decoded(body, JobRow) == orjson.loads(body)


@pytest.mark.parametrize("body", [b"[{\"id\": NaN}]", b"[{\"id\": Infinity}]", b"[{\"id\": 1", b"\xff"])
def test_what_is_not_json_is_refused_with_or_without_a_declaration(body: bytes) -> None:
    for rows in (JobRow, None):
        with pytest.raises(ValueError):
            decoded(body, rows)


def test_collected_jobs_are_the_same_with_the_declaration(sim: Simulator) -> None:
    api = GitLabAPI(Connection(url=sim.url, token=TOKENS["admin"]))
    projects = [p.id for p in sim.instance.projects.values() if p.jobs][:6]
    assert projects
    for project in projects:
        query = {"scope[]": list(FINISHED)}
        light = list(api.list(JOBS, query, keyset="desc", rows=JobRow, project=project))
        whole = list(api.list(JOBS, query, keyset="desc", project=project))
        assert light == [{k: row[k] for k in JOB_FIELDS if k in row} for row in whole]
        assert len(light) == len([j for j in sim.instance.projects[project].jobs if j.status in FINISHED])


class _CutShort:
    """A server that answers every request with a body shorter than its Content-Length, then hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.requests += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                             b'{"version": "17.')


def test_an_answer_cut_short_is_retried_then_reported_in_one_paragraph() -> None:
    server = _CutShort()
    api = GitLabAPI(Connection(url=server.url, token=TOKENS["admin"], max_retries=2))
    with pytest.raises(Unreachable) as caught:
        api.get("/version")
    assert "broke off its answer to GET /version" in caught.value.message
    assert server.requests == 3  # the first try and two retries, as for a dropped connection
    server.sock.close()


def test_an_answer_cut_short_through_the_cli_is_a_clear_error(run, policy_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = _CutShort()
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"],
                 {"GITLAB_URL": server.url, "GITLAB_TOKEN": TOKENS["admin"], "JANITOR_MAX_RETRIES": "1"})
    assert result.code != 0
    assert "Traceback" not in result.err and "broke off its answer" in result.err
    assert not (tmp_path / "inv" / "projects.json").exists()
    server.sock.close()


def test_a_streamed_download_is_still_read_in_pieces(sim: Simulator) -> None:
    """`download` (fetch-state) asks for a streamed answer: the session must leave its body unread."""
    api = GitLabAPI(Connection(url=sim.url, token=TOKENS["admin"]))
    response = api._client().http_get("/version", streamed=True, raw=True)
    assert isinstance(response, requests.Response) and response._content is False
    assert orjson.loads(b"".join(response.iter_content(7)))["version"]
