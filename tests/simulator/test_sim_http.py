"""The simulator's own HTTP request parsing (server.py `parse_request`, which replaced http.server's
email-parser based one for speed) keeps HTTP/1.1's rules: keep-alive by default, `Connection: close`
honoured, header names case-insensitive, bad request lines and oversized headers refused."""

from __future__ import annotations

import socket

from sim_helpers import auth

from janitor.simulator import Simulator


def exchange(sim: Simulator, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as conn:
        conn.sendall(raw)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def request(path: str, *headers: str, version: str = "HTTP/1.1") -> bytes:
    token = auth()["PRIVATE-TOKEN"]
    lines = [f"GET {path} {version}", "Host: 127.0.0.1", f"private-token: {token}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_two_requests_on_one_connection_then_close(sim: Simulator) -> None:
    raw = request("/api/v4/version") + request("/api/v4/projects/1", "Connection: close")
    answer = exchange(sim, raw)  # returns only once the server has closed the connection
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert answer.count(b"Connection: close") == 1
    assert b'"version"' in answer and b'"path_with_namespace"' in answer


def test_header_names_are_case_insensitive(sim: Simulator) -> None:
    answer = exchange(sim, request("/api/v4/projects/1", "CONNECTION: close"))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")  # "private-token" in lower case was read as the token


def test_http_1_0_closes_after_one_answer(sim: Simulator) -> None:
    answer = exchange(sim, request("/api/v4/version", version="HTTP/1.0"))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in answer


def test_bad_request_lines_and_headers_are_refused(sim: Simulator) -> None:
    assert exchange(sim, b"GET /api/v4/version HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert exchange(sim, b"GET\r\n\r\n").startswith(b"HTTP/1.1 400")
    too_long = request("/api/v4/version", "X-Long: " + "a" * 70_000)
    assert exchange(sim, too_long).startswith(b"HTTP/1.1 431")
    too_many = request("/api/v4/version", *(f"X-{i}: {i}" for i in range(101)))
    assert exchange(sim, too_many).startswith(b"HTTP/1.1 431")
    assert sim.requests == []  # none of them reached the API


def test_pagination_links_keep_the_query_and_move_the_changed_parameter_last() -> None:
    from urllib.parse import urlencode

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from janitor.simulator.pagination import _link

    def reference(base: str, query: dict[str, list[str]], **changes: object) -> str:
        params = {key: list(values) for key, values in query.items()}
        for key, value in changes.items():
            params.pop(key, None)
            params[key] = [str(value)]
        return f"{base}?{urlencode([(k, v) for k, vs in params.items() for v in vs])}"

    names = st.sampled_from(["page", "cursor", "per_page", "scope[]", "a b", "ü", "id_after"])

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(names, st.lists(st.text(max_size=5), max_size=3), max_size=5),
           st.dictionaries(st.sampled_from(["page", "cursor", "id_after", "id_before"]), st.integers(0, 99),
                           min_size=1, max_size=2))
    def check(query: dict[str, list[str]], changes: dict[str, int]) -> None:
        assert _link("http://h/api/v4/x", query, **changes) == reference("http://h/api/v4/x", query, **changes)

    check()
