"""What our JSON files must hold, declared once: the shapes of inventory entries (per `_`-key, exactly the
fields the resource kinds read in `candidates()`), merge requests and plan items, and a JSON reader that
refuses what Python's `json` would otherwise let through (NaN, Infinity, nesting deeper than it can parse).

Inventories come from other tooling too, so nothing in them is trusted: each entry is checked as the
planner streams it, and a bad value is named by its place (`_jobs[7].finished_at`). Objects may carry
any other fields (they are GitLab's objects); only the fields we read are held to a type. Checks are
compiled to plain functions and cost nothing on the success path beyond the type tests themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import msgspec

from janitor.inventory_fast import certainly_jobs

Check = Callable[[Any], None]
_MISSING = object()


class ShapeError(ValueError):
    """A value that does not have the declared shape; `where` is filled in as it travels outwards."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self._path: list[str] = []

    def inside(self, segment: str) -> ShapeError:
        self._path.append(segment)
        return self

    @property
    def where(self) -> str:
        text = ""
        for segment in reversed(self._path):
            text += segment if segment.startswith("[") or not text else "." + segment
        return text

    def describe(self) -> str:
        return f"{self.where}: {self.problem}" if self._path else self.problem


def show(value: Any, limit: int = 40) -> str:
    """A value as the message shows it: its JSON, cut short (a hostile file may hold megabytes)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    try:
        text = json.dumps(value, ensure_ascii=True)
    except ValueError:
        text = repr(value)
    if isinstance(value, str):
        text = "'" + text[1:-1] + "'"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_iso_time(value: Any) -> datetime | None:
    """GitLab timestamps ('2015-12-24T17:54:27.895Z', '...+01:00') as aware UTC datetimes; None for none."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise ValueError(f"not an ISO-8601 time ({show(value)})")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO-8601 time ({show(value)})") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 shifted past datetime's range by the offset
        raise ValueError(f"not an ISO-8601 time GitLab could give ({show(value)})") from None


# ---- the primitives a shape is made of -------------------------------------------------------------

def positive_id(value: Any) -> None:
    # type() rather than isinstance(): True is an int to Python, and 1.0 or "1" must not pass as ids
    if type(value) is not int or value < 1:
        raise ShapeError(f"expected a positive integer id, not {show(value)}")


def size(value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ShapeError(f"expected a non-negative integer, not {show(value)}")


def text(value: Any) -> None:
    if type(value) is not str:
        raise ShapeError(f"expected a string, not {show(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800"): valid JSON, but no file could hold it
            raise ShapeError(f"not valid Unicode text ({show(value)})") from None


def flag(value: Any) -> None:
    if type(value) is not bool:
        raise ShapeError(f"expected true or false, not {show(value)}")


def iso_time(value: Any) -> None:
    try:
        parse_iso_time(value)
    except ValueError as exc:
        raise ShapeError(str(exc)) from None


def anything(value: Any) -> None:
    return None


def scalar(value: Any) -> None:
    if value is None or type(value) in (bool, int):
        return
    if type(value) is str:
        text(value)
        return
    raise ShapeError(f"expected a string, integer, boolean or null, not {show(value)}")


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False
    nullable: bool = False


def req(check: Check) -> Field:
    return Field(check, required=True)


def opt(check: Check) -> Field:
    """May be absent or null (GitLab answers null for many fields)."""
    return Field(check, nullable=True)


def present(check: Check) -> Field:
    """May be absent, but when there it must not be null (a null `_branches` would read as "no branches")."""
    return Field(check)


def obj(fields: Mapping[str, Field], closed: bool = False) -> Check:
    """An object whose listed fields have their shapes; `closed` refuses any other key."""
    table = tuple(fields.items())
    required = tuple(k for k, f in table if f.required)
    names = frozenset(fields)

    def check(value: Any) -> None:
        if type(value) is not dict:
            raise ShapeError(f"expected an object, not {show(value)}")
        for key in required:
            if key not in value:
                raise ShapeError("missing").inside(key)
        for key, spec in table:
            found = value.get(key, _MISSING)
            if found is _MISSING or (found is None and spec.nullable):
                continue
            try:
                if found is None:
                    raise ShapeError("must not be null")
                spec.check(found)
            except ShapeError as exc:
                raise exc.inside(key) from None
        if closed and not value.keys() <= names:
            extra = sorted(value.keys() - names)
            raise ShapeError(f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}")

    return check


def list_of(item: Check, unique: str | None = None) -> Check:
    """A list whose elements have the shape; `unique` names a field no two elements may share."""

    def check(value: Any) -> None:
        if type(value) is not list:
            raise ShapeError(f"expected a list, not {show(value)}")
        for index, element in enumerate(value):
            try:
                item(element)
            except ShapeError as exc:
                raise exc.inside(f"[{index}]") from None
        if unique and len(value) > 1:
            seen: set[Any] = set()
            for index, element in enumerate(value):
                key = element[unique]
                if key in seen:
                    raise ShapeError(f"duplicate {unique} {show(key)}").inside(f"[{index}]")
                seen.add(key)

    return check


def map_of(value_check: Check) -> Check:
    def check(value: Any) -> None:
        if type(value) is not dict:
            raise ShapeError(f"expected an object, not {show(value)}")
        for key, found in value.items():
            try:
                value_check(found)
            except ShapeError as exc:
                raise exc.inside(key) from None

    return check


def vouched(quick: Callable[[Any], bool], check: Check) -> Check:
    """`check`, skipped when `quick` vouches for the value (inventory_fast: True only where `check` passes);
    whatever it does not vouch for, `check` decides, with its own message."""
    def inner(value: Any) -> None:
        if not quick(value):
            check(value)

    return inner


def nullable(check: Check) -> Check:
    def inner(value: Any) -> None:
        if value is not None:
            check(value)

    return inner


# ---- inventory entries: the fields resources/*.py `candidates()` read -----------------------------------

COMMIT = obj({"id": opt(text), "committed_date": opt(iso_time), "created_at": opt(iso_time)})
BRANCH = obj({"name": req(text), "merged": opt(flag), "protected": opt(flag), "default": opt(flag),
              "commit": opt(COMMIT)})
ACCESS_LEVELS = list_of(obj({"access_level": opt(size)}))
PROTECTED_REF = obj({"name": req(text), "push_access_levels": opt(ACCESS_LEVELS),
                     "merge_access_levels": opt(ACCESS_LEVELS)})
GIT_TAG = obj({"name": req(text), "protected": opt(flag), "target": opt(text), "created_at": opt(iso_time),
               "commit": opt(COMMIT)})
RELEASE = obj({"tag_name": opt(text)})
REGISTRY_TAG = obj({"name": req(text), "digest": opt(text), "created_at": opt(iso_time), "total_size": opt(size)})
CONTAINER = obj({"id": req(positive_id), "path": opt(text), "location": opt(text), "tags_count": opt(size),
                 "_tags": opt(list_of(REGISTRY_TAG, unique="name")),
                 "tags": opt(list_of(REGISTRY_TAG, unique="name"))})
PACKAGE = obj({"id": req(positive_id), "name": req(text), "version": opt(text), "package_type": opt(text),
               "status": opt(text), "created_at": opt(iso_time), "_size": opt(size), "_files": opt(size)})
PACKAGE_PROTECTION_RULE = obj({"package_name_pattern": req(text), "package_type": opt(text)})
DEPLOYMENT = obj({"id": opt(positive_id), "ref": opt(text), "status": opt(text), "created_at": opt(iso_time)})
ENVIRONMENT = obj({"id": req(positive_id), "name": req(text), "state": opt(text), "tier": opt(text),
                   "updated_at": opt(iso_time), "last_deployment": opt(DEPLOYMENT)})
ARTIFACT = obj({"size": opt(size), "file_type": opt(text)})
JOB_PIPELINE = obj({"id": opt(positive_id), "ref": opt(text), "status": opt(text)})
JOB = obj({"id": req(positive_id), "name": opt(text), "status": opt(text), "ref": opt(text),
           "finished_at": opt(iso_time), "erased_at": opt(iso_time), "artifacts": opt(list_of(ARTIFACT)),
           "pipeline": opt(JOB_PIPELINE)})
JOBS = list_of(JOB, unique="id")
PIPELINE = obj({"id": req(positive_id), "ref": opt(text), "status": opt(text), "updated_at": opt(iso_time)})

MERGE_REQUEST = obj({"id": req(positive_id), "project_id": req(positive_id), "source_project_id": opt(positive_id),
                     "source_branch": req(text), "target_branch": opt(text), "state": opt(text)})



def one_of(*allowed: str) -> Check:
    def check(value: Any) -> None:
        if value not in allowed or type(value) is not str:
            raise ShapeError(f"expected one of {', '.join(map(repr, allowed))}, not {show(value)}")

    return check


def either(*checks: Check) -> Check:
    """Passes when one check passes. A value of none of the shapes is told what each would accept
    ("expected an object or a string, not 1"); a value that fits one shape but is wrong inside it gets that
    shape's own error, which names the place."""
    def check(value: Any) -> None:
        errors: list[ShapeError] = []
        for each in checks:
            try:
                each(value)
                return
            except ShapeError as exc:
                errors.append(exc)
        inner = [e for e in errors if e.where]
        if inner:
            raise inner[0]
        wanted = [m.group(1) for e in errors if (m := re.fullmatch(r"expected (.+), not .*", e.problem, re.S))]
        if len(wanted) == len(errors):
            raise ShapeError(f"expected {' or '.join(wanted)}, not {show(value)}")
        raise errors[0]

    return check


# What a project's protection read came to when it gave no rows (resources/protections.py): "403" the
# token may not read them, "404" the feature is absent. Only these keys may then be null.
PROTECTION_READ = one_of("403", "404")
PROTECTED_ENVIRONMENT = either(obj({"name": req(text)}), text)  # objects today; plain names before

# One row per inventory key. `opt` keys may be null where null means "unknown" and the kind then keeps
# things (no rules read, no releases known); `present` keys must be lists, since a null would read as
# "there are none" and so unprotect things.
_PROJECT_FIELDS = obj({
    "id": req(positive_id),
    "path_with_namespace": req(text),
    "default_branch": opt(text),
    "archived": opt(flag),
    "_branches": present(list_of(BRANCH, unique="name")),
    "_tags": present(list_of(GIT_TAG, unique="name")),
    "_protectedBranches": opt(list_of(PROTECTED_REF, unique="name")),  # null: see project_entry
    "_protectedTags": opt(list_of(PROTECTED_REF, unique="name")),
    "_releases": opt(list_of(RELEASE)),
    "_containers": present(list_of(CONTAINER, unique="id")),
    "_packages": present(list_of(PACKAGE, unique="id")),
    "_packageProtectionRules": opt(list_of(PACKAGE_PROTECTION_RULE)),
    "_environments": present(list_of(ENVIRONMENT, unique="id")),
    "_protectedEnvironments": opt(list_of(PROTECTED_ENVIRONMENT)),
    "_protectionReads": opt(map_of(PROTECTION_READ)),
    "forked_from_project": opt(obj({"id": req(positive_id)})),
    "_forkMrs": opt(list_of(MERGE_REQUEST)),
    "_forkMrsUnknown": opt(text),
    "_jobs": present(vouched(certainly_jobs, JOBS)),
    "_pipelines": present(list_of(PIPELINE, unique="id")),
    "_newestPipelines": present(map_of(positive_id)),
    "_newestSuccessfulPipelines": present(map_of(positive_id)),
})


def PROJECT_ENTRY(value: Any) -> None:
    """A project entry. `_protectedBranches` null reads as "no rules" unless `_protectionReads` says why
    it is null (403 or 404), so a bare null is refused: it would unprotect every branch a rule covers."""
    _PROJECT_FIELDS(value)
    reads = value.get("_protectionReads") or {}
    if "_protectedBranches" in value and value["_protectedBranches"] is None and "_protectedBranches" not in reads:
        raise ShapeError("must not be null unless _protectionReads says why (403 or 404)").inside(
            "_protectedBranches")

# The file's own head: when the inventory was taken, and (ours only) the facts collect recorded.
INVENTORY_META = obj({"gitlab_url": opt(text), "complete": opt(flag), "shard": opt(text),
                      "policy_digest": opt(text), "kinds": opt(list_of(text)), "gitlab_version": opt(text)})
INVENTORY_HEAD = obj({"timestamp": opt(iso_time), "janitor": opt(INVENTORY_META)})


# ---- reading JSON without Python's leniencies -------------------------------------------------------

class JsonProblem(ValueError):
    """A file that is not strict JSON, said in words a user can act on."""


def _refuse_constant(name: str) -> Any:
    raise JsonProblem(f"it holds {name}, which is not JSON (no number can be {name})")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise JsonProblem(f"the key {show(twice)} appears twice in one object")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_MSGSPEC = msgspec.json.Decoder()
_DECODER_UNIQUE = json.JSONDecoder(parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)


def strict_loads(source: str, unique_keys: bool = False) -> Any:
    """json.loads, but NaN/Infinity, nesting deeper than the parser can follow, and (on request) an object
    with a key twice raise JsonProblem; any other syntax error raises json's own ValueError."""
    if not unique_keys:
        # msgspec reads valid JSON to the same values as json (integers of any size included, unlike
        # orjson) in a fraction of the time: an inventory's entries are most of plan's reading. Whatever it
        # refuses (NaN, a number out of a float's range, a lone surrogate, deep nesting, bad syntax) is read
        # below as before, to the same value or the same error.
        try:
            return _MSGSPEC.decode(source)
        except (msgspec.MsgspecError, RecursionError):
            pass
    try:
        return (_DECODER_UNIQUE if unique_keys else _DECODER).decode(source)
    except RecursionError:
        raise JsonProblem("it is nested too deeply to be read (hundreds of levels of [ or {)") from None
    except MemoryError:
        raise JsonProblem("it is too large to be read into memory") from None
