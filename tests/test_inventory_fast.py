"""The quick check of `_jobs` (janitor.inventory_fast, issue 10) may only say yes where the declared shape
does: an inventory entry is accepted or refused exactly as before, with the same first message. Today's
declared shape of a job is frozen here as the oracle, and hypothesis feeds both damaged jobs: wrong types,
bools and floats for integers, zero and negative ids, missing and null fields, bad and overflowing times,
lone surrogates, duplicate ids."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.inventory_check import (
    PROJECT_ENTRY,
    ShapeError,
    iso_time,
    list_of,
    obj,
    opt,
    positive_id,
    present,
    req,
    size,
    text,
)
from janitor.inventory_fast import certainly_jobs

# the declared shapes as they were when the quick check was written: the oracle
ORACLE_ARTIFACT = obj({"size": opt(size), "file_type": opt(text)})
ORACLE_PIPELINE = obj({"id": opt(positive_id), "ref": opt(text), "status": opt(text)})
ORACLE_JOB = obj({"id": req(positive_id), "name": opt(text), "status": opt(text), "ref": opt(text),
                  "finished_at": opt(iso_time), "erased_at": opt(iso_time),
                  "artifacts": opt(list_of(ORACLE_ARTIFACT)), "pipeline": opt(ORACLE_PIPELINE)})
ORACLE_JOBS = list_of(ORACLE_JOB, unique="id")
ORACLE_ENTRY = obj({"id": req(positive_id), "path_with_namespace": req(text), "_jobs": present(ORACLE_JOBS)})

GOOD_TIMES = ["2026-06-17T16:18:17.765Z", "2015-12-24T17:54:27.895+01:00", "2026-06-17T16:18:17Z",
              "2026-06-17T16:18:17", "2026-06-17", "", None]
BAD_TIMES = ["2026-02-30T00:00:00Z", "yesterday", "2026-06-17T25:00:00Z", "0001-01-01T00:00:00+01:00",
             "9999-12-31T23:59:59-01:00", "2026-06-17TZ", "2026-06-17Z", "Z", "2026-06-17T16:18:17ZZ",
             "2026-06-17T16:18:17.765Z\ud800", "２０２６-06-17", 20260617, 1.5, True, [], {}]
TEXTS = ["build", "main", "success", "trace", "archive", "ünïcode", "😀", "", "a\tb", "\x85\u2028"]
BAD_TEXTS = ["\ud800", "x\udfff", 1, 1.0, True, False, [], {}, ["a"]]
INTS = [1, 2, 7, 2**63, 2**80]
BAD_INTS = [0, -1, -(2**70), 1.0, 2.5, True, False, "1", "", [], {}, None]


def values(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(bad) if not good else st.sampled_from(good) | st.sampled_from(bad)


def field(name: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The field present (with any value, null included) or absent."""
    return st.one_of(st.just({}), strategy.map(lambda v: {name: v}))


def fields(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    def merge(dicts: tuple[dict[str, Any], ...]) -> dict[str, Any]:
        merged: dict[str, Any] = {"other": "GitLab's other fields are never checked"}
        for each in dicts:
            merged.update(each)
        return merged

    return st.tuples(*parts).map(merge)


texts = values(TEXTS, BAD_TEXTS) | st.none() | st.text(max_size=4)
artifact = fields(field("size", values([0, 1, 10**9, 2**70], [-1, 1.0, True, "1"]) | st.none()),
                  field("file_type", texts)) | values([], [None, "archive", 1, [], True])
pipeline = fields(field("id", values(INTS, BAD_INTS)), field("ref", texts), field("status", texts))
job = fields(
    st.just({}) | field("id", values(INTS, BAD_INTS)) | st.integers(1, 6).map(lambda n: {"id": n}),
    field("name", texts), field("status", texts), field("ref", texts),
    field("finished_at", values(GOOD_TIMES, BAD_TIMES)), field("erased_at", values(GOOD_TIMES, BAD_TIMES)),
    field("artifacts", st.none() | st.lists(artifact, max_size=3) | values([], ["x", 1, {}])),
    field("pipeline", st.none() | pipeline | values([], ["x", 1, [], True])),
)
jobs = st.lists(job, max_size=5) | values([], [None, "jobs", {}, 1, True])


def good_job(number: int) -> dict[str, Any]:
    return {"id": number, "name": "build", "status": "success", "ref": "main", "stage": "test",
            "finished_at": "2026-06-17T16:18:17.765Z", "erased_at": None, "created_at": "2026-06-17T16:10:00Z",
            "artifacts": [{"file_type": "archive", "size": 1042650, "filename": "a.zip", "file_format": "zip"},
                          {"file_type": "trace", "size": 4000, "filename": "job.log", "file_format": None}],
            "pipeline": {"id": 8706, "project_id": 288, "ref": "main", "sha": "ab" * 20, "status": "success"}}


def outcome(check: Any, value: Any) -> str | None:
    try:
        check(value)
    except ShapeError as exc:
        return exc.describe()
    return None


@settings(max_examples=1500, deadline=None)
@given(jobs)
def test_the_quick_check_says_yes_only_where_the_declared_shape_does(value: Any) -> None:
    before = copy.deepcopy(value)
    if certainly_jobs(value):
        assert outcome(ORACLE_JOBS, value) is None
    assert value == before  # a check never changes what it reads


@settings(max_examples=1000, deadline=None)
@given(jobs, st.booleans())
def test_an_entry_is_accepted_or_refused_as_before_with_the_same_message(value: Any, among_good: bool) -> None:
    if among_good and isinstance(value, list):  # the damage in the middle of healthy jobs
        value = [good_job(100), *value, good_job(101)]
    entry = {"id": 5, "path_with_namespace": "acme/web", "_jobs": value}
    assert outcome(PROJECT_ENTRY, entry) == outcome(ORACLE_ENTRY, entry)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 10**6), unique=True, max_size=30))
def test_healthy_jobs_as_collect_writes_them_take_the_quick_path(numbers: list[int]) -> None:
    value = [good_job(n) for n in numbers]
    assert certainly_jobs(value)
    assert outcome(ORACLE_JOBS, value) is None


def test_what_the_quick_check_leaves_to_the_declared_shape() -> None:
    damaged: list[tuple[Any, str]] = [
        ([good_job(1), good_job(1)], "[1]: duplicate id 1"),
        ([{**good_job(1), "id": True}], "[0].id: expected a positive integer id, not true"),
        ([{**good_job(1), "finished_at": "2026-02-30T00:00:00Z"}], "[0].finished_at: not an ISO-8601 time"),
        ([{**good_job(1), "finished_at": "0001-01-01T00:00:00+01:00"}], "[0].finished_at: not an ISO-8601 time"),
        ([{**good_job(1), "ref": "\ud800"}], "[0].ref: not valid Unicode text"),
        ([{**good_job(1), "artifacts": [{"size": 1.0}]}], "[0].artifacts[0].size: expected a non-negative"),
        ([{**good_job(1), "pipeline": {"id": 0}}], "[0].pipeline.id: expected a positive integer id, not 0"),
        ([{k: v for k, v in good_job(1).items() if k != "id"}], "[0].id: missing"),
    ]
    for value, message in damaged:
        assert not certainly_jobs(value)
        found = outcome(ORACLE_JOBS, value)
        assert found is not None and found.startswith(message), found
        entry = {"id": 5, "path_with_namespace": "acme/web", "_jobs": value}
        assert outcome(PROJECT_ENTRY, entry) == "_jobs" + found
