"""The simulator's cheaper paths answer exactly what the straightforward ones did: a query string read
through the remembered pairs (server.py `parse_query`) is `parse_qs`'s reading, and an answer body written
by orjson (server.py `_encode`) reads back as the value json.dumps wrote (finite numbers: GitLab sends no
NaN), falling back to it for what orjson refuses."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from hypothesis import given
from hypothesis import strategies as st

from janitor.simulator.server import _encode, parse_query

_PIECES = st.sampled_from(["scope[]", "per_page", "cursor", "a", "", "=", "&", "+", "%", "%2", "%20", "%3D",
                           "%E2%82%AC", "%ff", "é", ";", "==", "&&", "x=y"])


@given(st.lists(_PIECES, max_size=12).map("".join) | st.text(max_size=40))
def test_parse_query_is_parse_qs(query: str) -> None:
    assert parse_query(query) == parse_qs(query, keep_blank_values=True)
    assert parse_query(query) == parse_qs(query, keep_blank_values=True)  # again, from the remembered pairs


def test_parse_query_gives_a_fresh_dict_each_time() -> None:
    query = "scope%5B%5D=failed&scope%5B%5D=success&per_page=100"
    first = parse_query(query)
    first["scope[]"].append("changed")  # the handler adds a body's parameters to the query's
    first["new"] = ["x"]
    assert parse_query(query) == {"scope[]": ["failed", "success"], "per_page": ["100"]}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5) | st.integers(), inner,
                                                               max_size=4),
    max_leaves=20,
)


@given(st.lists(_JSON, max_size=4) | st.dictionaries(st.text(max_size=5), _JSON, max_size=4))
def test_encoded_bodies_read_back_as_json_dumps_wrote_them(value: object) -> None:
    payload, content_type = _encode(200, value)
    assert content_type == "application/json"
    expected = json.dumps(value, separators=(",", ":"))
    assert json.loads(payload) == json.loads(expected)


def test_what_orjson_refuses_is_still_answered() -> None:
    huge = {"size": 2**70, "name": "x"}
    payload, _ = _encode(200, huge)
    assert json.loads(payload) == huge
    surrogate = {"name": "\ud800"}
    payload, _ = _encode(200, surrogate)
    assert json.loads(payload) == surrogate
