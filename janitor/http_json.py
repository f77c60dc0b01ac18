"""Answers decoded with orjson: at 150 KB per page of 100 jobs, JSON decoding was the largest single part of
collect's CPU (issue 10's profile), and orjson decodes a page in a fraction of the standard library's time."""

from __future__ import annotations

import json
from typing import Any

import orjson
import requests


class OrjsonResponse(requests.Response):
    """python-gitlab decodes every answer with `Response.json()` (http_request's callers, GitlabList);
    orjson does it in a fraction of the time the standard library takes on a 150 KB page of jobs."""

    def json(self, **kwargs: Any) -> Any:
        if kwargs:
            return super().json(**kwargs)
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError:
            # Not UTF-8, or beyond orjson (an integer over 64 bits): decoded as before, except that
            # NaN and Infinity, which no JSON holds, are refused rather than carried into the inventory.
            return json.loads(self.content, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
