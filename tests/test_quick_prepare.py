"""The session's quick prepare_request (janitor.gitlab_api, issue 10) gives the very request requests' own
prepare_request gives, for any bodiless request python-gitlab sends; anything else takes requests' path."""

from __future__ import annotations

from typing import Any

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.gitlab_api import Connection, GitLabAPI, _CountingSession, _plain
from janitor.simulator import TOKENS, Simulator


def session() -> _CountingSession:
    api = GitLabAPI(Connection(url="https://gitlab.example.com", token=TOKENS["admin"]))
    client = api._client()
    assert isinstance(client.session, _CountingSession)
    client.session.headers.update(client.headers)  # as python-gitlab's own opts would add them
    return client.session


def token_auth() -> Any:
    from gitlab._backends.requests_backend import PrivateTokenAuth

    return PrivateTokenAuth(TOKENS["admin"])


def same(left: requests.PreparedRequest, right: requests.PreparedRequest) -> None:
    assert (left.method, left.url, left.body) == (right.method, right.url, right.body)
    assert dict(left.headers) == dict(right.headers)
    assert list(left.headers) == list(right.headers)


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
values = st.one_of(texts, st.integers(), st.booleans(), st.none(), st.lists(st.one_of(texts, st.integers(), st.none()),
                                                                              max_size=3))
segments = st.text("abcXYZ019-._~%2F@:+", min_size=1, max_size=10).filter(lambda s: "%" not in s) | st.sampled_from(
    ["acme%2Fplatform", "%E2%9C%93", "jobs", "1"])


@settings(max_examples=300, deadline=None)
@given(method=st.sampled_from(["GET", "get", "DELETE", "HEAD"]), path=st.lists(segments, max_size=5),
       params=st.dictionaries(texts, values, max_size=5),
       headers=st.dictionaries(st.sampled_from(["Content-type", "Accept", "X-Extra", "User-Agent"]),
                               st.one_of(st.none(), st.text("abc/;= -", max_size=8).map(str.strip)), max_size=3))
def test_the_quick_path_prepares_what_requests_prepares(method: str, path: list[str], params: dict[str, Any],
                                                        headers: dict[str, Any]) -> None:
    own = session()
    url = "https://gitlab.example.com/api/v4/" + "/".join(path)
    request = requests.Request(method=method.upper(), url=url, params=params, headers=headers, auth=token_auth())
    assert _plain(own, request) or "/." in url  # the quick path is the one under test, dot segments aside
    same(own.prepare_request(request), requests.Session.prepare_request(own, request))


def test_other_requests_take_requests_own_path() -> None:
    own = session()
    url = "https://gitlab.example.com/api/v4/projects/1/issues"
    for request in (requests.Request("POST", url, json={"title": "x"}, auth=token_auth()),
                    requests.Request("GET", url, cookies={"a": "b"}, auth=token_auth()),
                    requests.Request("GET", "https://gitlab.example.com/api/v4/a b", auth=token_auth()),
                    requests.Request("GET", "https://user:pw@gitlab.example.com/api/v4/x", auth=token_auth()),
                    requests.Request("GET", "https://GITLAB.example.com/api/v4/x", auth=token_auth()),
                    requests.Request("GET", url, auth=("user", "pw"))):
        assert not _plain(own, request)
        same(own.prepare_request(request), requests.Session.prepare_request(own, request))


def test_a_cookie_the_server_set_is_sent_back(sim: Simulator) -> None:
    api = GitLabAPI(Connection(url=sim.url, token=TOKENS["admin"]))
    own = api._client().session
    own.cookies.set("route", "node-2", domain="127.0.0.1", path="/")
    prepared = own.prepare_request(requests.Request("GET", sim.url + "/api/v4/version", auth=token_auth()))
    assert prepared.headers.get("Cookie") == "route=node-2"
    assert prepared.headers.get("PRIVATE-TOKEN") == TOKENS["admin"]
