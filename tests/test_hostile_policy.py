"""A policy file written to hurt: alias bombs, deep nesting, non-finite numbers, random text and bytes.

Whatever the file holds, loading it ends in a PolicyError naming a line and column (or in a Policy), within a
bounded time and memory, and `janitor validate` never prints a traceback.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor.cli import main
from janitor.errors import PolicyError
from janitor.policy import load_policy
from janitor.policy.loader import validate_text

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 10, max_percent: 50}
rules:
  - name: r
    resource: job_artifacts
    action: delete
    match: {older_than: 30d, ref: {include: [main]}}
    keep: {latest: 1}
"""


def _bomb(levels: int) -> str:
    """The "billion laughs": each level's list holds nine aliases of the level before."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        validate_text(text, "p.yml")
    return caught.value.problems


@pytest.mark.parametrize(("style", "where"), [("flow", "p.yml:1:5:"), ("block", "p.yml:2:5:")])
def test_a_nine_level_alias_bomb_is_refused_at_its_first_anchor_without_being_built(style: str, where: str) -> None:
    text = _bomb(9)
    if style == "block":  # the same bomb with block sequences under each anchor
        text = "\n".join(line.replace(": &", ":\n  - &").replace(" [", "\n  - [") for line in text.splitlines())
    tracemalloc.start()
    started = time.monotonic()
    try:
        problems = _problems(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(problems) == 1 and "anchor &a0" in problems[0] and "not allowed in a policy" in problems[0]
    assert problems[0].startswith(where), "the anchor's line and column"
    assert peak < 5_000_000 and time.monotonic() - started < 2


def test_an_alias_that_would_be_harmless_is_refused_too() -> None:
    # Budgets can be gamed; a policy never needs to repeat a node, so every alias is refused.
    text = POLICY.replace("groups: [acme]}", "groups: &g [acme], projects: *g}")
    problems = _problems(text)
    assert [p.split(": ", 1)[0] for p in problems] == ["p.yml:2:17"]
    assert "anchor &g" in problems[0]


@pytest.mark.parametrize("deep", [
    "rules: " + "[" * 5000 + "]" * 5000,                      # flow sequences
    "rules:\n  " + "- " * 5000 + "x",                          # block sequences
    "rules: " + "{a: " * 5000 + "1" + "}" * 5000,              # flow mappings
    "rules:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(300)),  # block mappings
])
def test_deep_nesting_is_a_policy_error_not_a_recursion_error(deep: str) -> None:
    problems = _problems("version: 1\nscope: {groups: [acme]}\n" + deep + "\n")
    assert len(problems) == 1 and "nested more than 32 levels deep" in problems[0]
    assert problems[0].startswith("p.yml:")


@pytest.mark.parametrize(("text", "where"), [
    ("max_percent: 50", "max_percent: .nan"),
    ("max_percent: 50", "max_percent: .inf"),
    ("max_actions: 10", "max_actions: -.inf"),
    ("latest: 1", "latest: .NaN"),
    ("older_than: 30d", "older_than: .inf"),
])
def test_non_finite_numbers_are_refused_wherever_they_are(text: str, where: str) -> None:
    bad = POLICY.replace(text, where)
    problems = _problems(bad)
    line = next(i for i, row in enumerate(bad.splitlines(), 1) if where in row)
    column = bad.splitlines()[line - 1].index(where) + where.index(":") + 3
    assert f"p.yml:{line}:{column}:" in problems[0] and "NaN and infinities are not allowed" in problems[0]


def test_nan_would_otherwise_pass_the_schema_and_disable_the_limit() -> None:
    import jsonschema

    from janitor.policy import policy_schema

    # Why the loader checks: NaN compares false against every bound, so the schema alone accepts it.
    jsonschema.validate(yaml.safe_load(POLICY.replace("max_percent: 50", "max_percent: .nan")), policy_schema())
    assert "NaN" in _problems(POLICY.replace("max_percent: 50", "max_percent: .nan"))[0]


def test_an_oversized_policy_is_refused_before_it_is_parsed() -> None:
    problems = _problems(POLICY + "#" * 2_000_000 + "\n")
    assert problems == ["p.yml:1:1: the file is larger than 1000 kB; a policy is a few kB"]


def test_an_oversized_policy_file_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    # "é" is two bytes in UTF-8: the cut after 1,000,001 bytes splits one, which must not matter
    path = tmp_path / "big.yml"
    path.write_text(POLICY + "# " + "é" * 1_500_000 + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.problems == [f"{path}:1:1: the file is larger than 1000 kB; a policy is a few kB"]


def test_the_example_policy_still_loads() -> None:
    assert [r.name for r in validate_text(POLICY, "p.yml").rules] == ["r"]


def _loads_or_policy_error(text: str) -> None:
    try:
        validate_text(text, "fuzz.yml")
    except PolicyError as exc:
        assert exc.problems and all(p.startswith("fuzz.yml") for p in exc.problems)


YAML_PIECES = st.sampled_from([
    "version: 1\n", "scope:\n", "  groups: [acme]\n", "rules:\n", "  - name: r\n", "    resource: job_artifacts\n",
    "    action: delete\n", "    match: {older_than: 30d}\n", "limits: {max_percent: .nan}\n", "&a ", "*a ", "<<: ",
    "[", "]", "{", "}", ": ", "- ", ", ", "'", '"', "\t", "!!binary ", "!!int ", "!!timestamp ", "!!set ",
    "!!python/object:os.system ", "? ", "~", "2024-13-45", "1e400", ".inf", "-.inf", "9" * 5000, "\\u0000",
    "%YAML 1.1\n", "---\n", "...\n", "#", "\n", "  ", "overrides:\n", "  acme/web:\n", "    r: {enabled: false}\n",
    "\ufeff", "\x85",
])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.datetimes(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["version", "scope", "rules", "limits", "overrides", "name", "resource", "action", "match",
                         "keep", "groups", "older_than", "latest", "per", "max_percent", "ref", "include"])
        | st.text(max_size=8) | st.integers(), inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(YAML_PIECES, max_size=40).map("".join))
def test_fuzzed_yaml_text_only_ever_gives_a_policy_error(text: str) -> None:
    _loads_or_policy_error(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_only_ever_gives_a_policy_error(text: str) -> None:
    _loads_or_policy_error(text)


@settings(max_examples=200, deadline=None)
@given(JSONISH)
def test_random_structures_dumped_to_yaml_only_ever_give_a_policy_error(data: object) -> None:
    for flow in (True, False):
        _loads_or_policy_error(yaml.safe_dump(data, default_flow_style=flow))


@settings(max_examples=80, deadline=None)
@given(st.fixed_dictionaries({"version": st.just(1), "scope": st.just({"groups": ["acme"]}),
                              "rules": st.lists(st.fixed_dictionaries(
                                  {"name": st.sampled_from(["a", "b"]), "resource": st.sampled_from(
                                      ["job_artifacts", "branches", "tags", "packages", "nope"]),
                                   "action": st.just("delete")},
                                  optional={"match": JSONISH, "keep": JSONISH, "enabled": JSONISH}), max_size=3),
                              "limits": JSONISH}))
def test_policies_near_valid_only_ever_give_a_policy_or_a_policy_error(data: object) -> None:
    # mostly well-formed policies reach the schema and the semantic stages, where odd values hide
    _loads_or_policy_error(yaml.safe_dump(data))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_in_a_policy_file_only_ever_give_a_policy_error(tmp_path_factory: pytest.TempPathFactory,
                                                                      data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "policy.yml"
    path.write_bytes(data)
    try:
        load_policy(path)
    except PolicyError as exc:
        assert exc.problems


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.lists(YAML_PIECES, max_size=40).map(lambda parts: "".join(parts).encode("utf-8", "replace")),
                 st.binary(max_size=200)))
def test_validate_on_fuzzed_files_says_valid_or_invalid_never_more(tmp_path_factory: pytest.TempPathFactory,
                                                                   data: bytes) -> None:
    path = tmp_path_factory.mktemp("cli-fuzz") / "policy.yml"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    assert code in (0, 1)
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue(), err.getvalue()
    assert (code == 0) == ("valid policy" in out.getvalue())


def test_validate_on_hostile_files_never_prints_a_traceback(tmp_path: Path) -> None:
    files = {
        "bomb.yml": _bomb(9).encode(),
        "deep.yml": b"[" * 5000 + b"]" * 5000,
        "binary.yml": bytes(range(256)) * 4,
        "latin1.yml": "version: 1\nscope: {groups: [acm\xe9]}\n".encode("latin-1"),
        "nul.yml": b"version: 1\x00\n",
        "bigint.yml": b"version: " + b"9" * 6000 + b"\n",
        "tags.yml": b"version: !!python/object/apply:os.system ['true']\n",
        "nan.yml": POLICY.replace("max_percent: 50", "max_percent: .nan").encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "dir.yml").mkdir()
    for name in [*files, "dir.yml"]:
        out = subprocess.run([sys.executable, "-m", "janitor", "validate", str(tmp_path / name)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 1, (name, out.stderr)
        assert "Traceback" not in out.stderr and "Error:" not in out.stderr.split("\n")[0], (name, out.stderr)
        assert f"{tmp_path / name}" in out.stderr, name
