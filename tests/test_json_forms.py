"""A plan's rows are written by orjson and msgspec where that is provably the standard library's text
(issue 10): the canonical form is what apply re-computes the digest over with `json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)` (plan_file.seal), so any difference would refuse every plan.
Over arbitrary values, floats, huge integers, lone surrogates, control characters, non-str keys and
subclasses included, a row is byte for byte the standard library's, or fails the same way."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.json_forms import forms, plain, pretty_bytes

# everything json.dumps accepts as a leaf, the awkward ones often
leaves = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
          | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1])
          | st.floats() | st.sampled_from([1e16, 1e-7, 0.1, -0.0, 5e-324, 1.7976931348623157e308, float("nan"),
                                            float("inf"), float("-inf")])
          | st.text() | st.text(st.characters(codec="utf-8")) | st.text(st.characters(max_codepoint=0x9F))
          | st.sampled_from(["\ud800", "a\udfffb", "\u2028\u2029\x85", "\x7f", "\x00\x1f\t\n\r\b\f", '"\\/', "é😀"]))
keys = st.text(max_size=6) | st.sampled_from(["\ud800", "é", "É", "z", "Z", "\x00", "😀", "\uffff"])
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5)
    | st.tuples(inner, inner),
    max_leaves=25,
)
# json.dumps also takes non-str keys (it writes them as strings) and str/int subclasses
odd_keys = st.dictionaries(st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False), leaves,
                           max_size=3)


class Colour(str, enum.Enum):
    RED = "red"


class Number(int, enum.Enum):
    ONE = 1


def standard_forms(value: Any) -> tuple[bytes, bytes]:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    pretty = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return canonical.encode(), pretty.encode()


def same_outcome(value: Any) -> None:
    try:
        expected: tuple[bytes, bytes] | type[BaseException] = standard_forms(value)
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError (a lone surrogate) is a ValueError
        expected = type(exc)
    try:
        got: tuple[bytes, bytes] | type[BaseException] = forms(value)
    except (TypeError, ValueError) as exc:
        got = type(exc)
    assert got == expected
    try:
        alone: bytes | type[BaseException] = pretty_bytes(value)  # a report.json line
    except (TypeError, ValueError) as exc:
        alone = type(exc)
    assert alone == (expected if isinstance(expected, type) else expected[1])


@settings(max_examples=1500, deadline=None)
@given(values)
def test_a_rows_forms_are_the_standard_librarys_text_for_any_value(value: Any) -> None:
    same_outcome(value)
    same_outcome({"item": value, "fingerprint": {"x": value}})


@settings(max_examples=300, deadline=None)
@given(odd_keys)
def test_non_str_keys_are_written_as_the_standard_library_writes_them(value: Any) -> None:
    same_outcome(value)
    same_outcome({"nested": value})


@pytest.mark.parametrize("value", [
    {"a": 1e16}, [1e-7], {"n": float("nan")}, {"big": 2**64}, {"neg": -(2**63) - 1}, {"s": "\ud800"},
    {"k\ud800": 1}, {1: "a"}, {"t": (1, 2)}, {"c": Colour.RED}, {"n": Number.ONE}, {"b": True, "z": None},
    {"ctl": "\x01\x1f\x7f\u2028"}, {"é": 1, "e": 2, "😀": 3, "\uffff": 4}, {}, [], {"e": {}, "l": [[], {}]},
])
def test_the_values_whose_bytes_could_differ(value: Any) -> None:
    same_outcome(value)


def test_only_exact_json_types_take_the_fast_path() -> None:
    assert plain({"a": [1, "x", True, None, {"b": -5}]})
    for value in ({"a": 1.0}, {1: 1}, {"a": (1,)}, {"a": Colour.RED}, {"a": Number.ONE}, [1.5], 2.0):
        assert not plain(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=4))
def test_the_rows_joined_are_the_text_apply_seals(items: Any) -> None:
    """plan_file.seal, as apply checks a plan, hashes json.dumps of the items list; the canonical forms joined as
    plan_stream joins them for the digest are that text, so a streamed plan is never refused for it."""
    try:
        rows = [forms(item) for item in items]
    except (TypeError, ValueError):
        return
    joined = "[" + ",".join(canonical.decode() for canonical, _ in rows) + "]"
    assert joined == json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
