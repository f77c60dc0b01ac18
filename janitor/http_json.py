"""Answers decoded fast: at 150 KB per page of 100 jobs, JSON decoding was the largest single part of
collect's CPU (issue 10's profile).

Every answer is decoded with orjson. A listing whose rows the janitor keeps only a few fields of declares
them (`GitLabAPI.list(..., rows=JobRow)`, a TypedDict): its pages are decoded with msgspec against that
declaration, which parses the whole page as strictly but builds Python objects only for the declared
fields. A page that is not of the declared shape (an error body, a field of an unexpected type) is decoded
whole instead, so the declaration only ever saves work, never changes an answer's meaning.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import msgspec
import orjson
import requests


@cache
def rows_decoder(row_type: Any) -> msgspec.json.Decoder[Any]:
    """A decoder of a JSON array of `row_type` rows: one per declared TypedDict, made once."""
    return msgspec.json.Decoder(list[row_type])  # type: ignore[valid-type]


class OrjsonResponse(requests.Response):
    """python-gitlab decodes every answer with `Response.json()` (http_request's callers, GitlabList)."""

    rows: msgspec.json.Decoder[Any] | None = None  # set by the session for a listing that declared its rows

    def json(self, **kwargs: Any) -> Any:
        if kwargs:
            return super().json(**kwargs)
        if self.rows is not None:
            try:
                return self.rows.decode(self.content)
            except msgspec.MsgspecError:
                pass  # not the declared shape: decoded whole below, as any other answer
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError:
            # Not UTF-8, or beyond orjson (an integer over 64 bits): decoded as before, except that
            # NaN and Infinity, which no JSON holds, are refused rather than carried into the inventory.
            return json.loads(self.content, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
