"""strict_loads reads with msgspec first (issue 10: plan's reading of an inventory) and must give exactly
what the standard library's reader gives, value for value and type for type, or the same refusal."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.inventory_check import _DECODER, JsonProblem, strict_loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def same(left: Any, right: Any) -> bool:
    """Equal with the same types all the way down (1 is not 1.0, -0.0 is not 0.0)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return math.copysign(1, left) == math.copysign(1, right) and (left == right)
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def reference(text: str) -> Any:
    return _DECODER.decode(text)


@settings(max_examples=400, deadline=None)
@given(values, st.booleans())
def test_the_fast_reader_reads_what_the_standard_one_reads(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert same(strict_loads(text), reference(text))


@pytest.mark.parametrize("text", ['{"a": 1e400}', '[-1e999]', '"\\ud800"', '{"a":1,"a":2}',
                                  "123456789012345678901234567890", "-0.0", "0.1e-400", '[1E5, 1e-5, 5e-324]',
                                  '{"\\u0000": "\\u2028"}'])
def test_edge_numbers_and_strings_read_as_before(text: str) -> None:
    assert same(strict_loads(text), reference(text))


@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "-Infinity", "[" * 100_000, '{"a": 1', "\ufeff{}",
                                  "{'a': 1}"])
def test_what_the_standard_reader_refuses_is_refused_the_same_way(text: str) -> None:
    with pytest.raises(ValueError) as fast:
        strict_loads(text)
    try:
        reference(text)
    except RecursionError:
        assert isinstance(fast.value, JsonProblem) and "nested too deeply" in str(fast.value)
    except ValueError as slow:
        assert type(fast.value) is type(slow) and str(fast.value) == str(slow)
    else:
        raise AssertionError("the standard reader accepted it")
