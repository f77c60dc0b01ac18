"""The two text forms of a plan row, as the standard library writes them, in a fraction of its time.

`canonical` is `json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`: what a plan's
digest covers, and apply re-computes it with exactly that encoder (plan_file.seal), so one byte of
difference would refuse every plan. `pretty` is the same encoder with its default separators (", ", ": "):
an element of a spread list in the file (model.json_lines).

At 30,000 items the standard encoder costs ~0.35 s for the two forms (issue 10). orjson writes the
canonical form, and msgspec.json.format re-spaces it to the pretty one (it copies strings and numbers
verbatim and puts one space after each structural "," and ":"), ten times faster together; but their bytes
are the standard library's only for some values. A float is written differently (repr's 1e+16 against
1e16; NaN and Infinity as null), and orjson refuses an integer past 64 bits, a non-str key and a lone
surrogate. So the fast path takes only values made of exactly dict (str keys), list, str, int, bool and
None, and whatever orjson still refuses goes to the standard encoder, as does everything else
(tests/test_json_forms.py holds the two equal over arbitrary JSON values).
"""

from __future__ import annotations

import json

import msgspec
import orjson

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_PRETTY = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
_FORMAT = msgspec.json.format


def canonical(value: object) -> str:
    """The standard library's canonical form (the digest's)."""
    return _CANONICAL.encode(value)


def pretty(value: object) -> str:
    """The standard library's one-line form with its default separators."""
    return _PRETTY.encode(value)


def plain(value: object) -> bool:
    """Whether the value holds only exact dicts with str keys, lists, strs, ints, bools and None: the values
    whose orjson bytes are the standard library's when orjson takes them (floats never are, subclasses and
    tuples are not worth proving)."""
    kind = type(value)
    if kind is dict:
        for key, inner in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                return False
            kind = type(inner)
            if kind is str or kind is int or kind is bool or inner is None:
                continue
            if (kind is not dict and kind is not list) or not plain(inner):
                return False
        return True
    if kind is list:
        return all(plain(inner) for inner in value)  # type: ignore[attr-defined]
    return kind is str or kind is int or kind is bool or value is None


def forms(value: object) -> tuple[bytes, bytes]:
    """(canonical, pretty) in UTF-8: one plan row as plan_stream spools it."""
    compact = _fast(value)
    if compact is not None:
        return compact, _FORMAT(compact, indent=0)
    return canonical(value).encode(), pretty(value).encode()


def pretty_bytes(value: object) -> bytes:
    """`pretty(value)` in UTF-8 (a line of report.json)."""
    compact = _fast(value)
    return _FORMAT(compact, indent=0) if compact is not None else pretty(value).encode()


def _fast(value: object) -> bytes | None:
    """orjson's canonical bytes when they are provably the standard library's, else None."""
    try:
        if plain(value):
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, RecursionError):  # past 64 bits, a lone surrogate, deep nesting
        pass
    return None
