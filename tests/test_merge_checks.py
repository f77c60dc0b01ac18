"""merge refuses a shard without merge_requests.json (its open MRs' source branches would lose their
protection) and warns, naming the span, when shards were collected more than an hour apart."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from engine_helpers import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor.model import format_time, parse_time
from janitor.simulator import Simulator

# Branch rules make collect record open merge requests (their source branches are protected).
BRANCHES_POLICY = """\
version: 1
scope: {groups: [acme]}
rules:
  - name: merged-branches
    resource: branches
    action: delete
    match: {merged: true, older_than: 14d}
"""


@pytest.fixture
def shards(run, env, sim: Simulator, tmp_path: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    policy = tmp_path / "policy.yml"
    policy.write_text(BRANCHES_POLICY, encoding="utf-8")
    out = [tmp_path / "shards" / str(index) for index in (1, 2)]
    for index, directory in enumerate(out, start=1):
        collected = run(["collect", "--policy", policy, "--out", directory, "--shard", f"{index}/2"], env)
        assert collected.code == 0, collected.err
    return out


def collection_time(directory: Path) -> datetime:
    stamp = parse_time(json.loads((directory / "projects.json").read_text(encoding="utf-8"))["timestamp"])
    assert stamp is not None
    return stamp


def date_shard(directory: Path, when: datetime) -> None:
    """Re-date a shard as if collected at `when`: the timestamp in the head line of both files."""
    for name in ("projects.json", "merge_requests.json"):
        path = directory / name
        head, _, rest = path.read_text(encoding="utf-8").partition("\n")
        stamp = head.split('"timestamp": "')[1].split('"')[0]
        path.write_text(head.replace(stamp, format_time(when)) + "\n" + rest, encoding="utf-8")


def collected_apart(first: Path, second: Path, by: timedelta) -> None:
    start = collection_time(first)
    date_shard(second, start + by)


def test_a_shard_without_merge_requests_is_refused_by_name(run, shards: list[Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert '"source_branch"' in (shards[1] / "merge_requests.json").read_text(), \
        "the simulator's shard has open MRs, whose protection the missing file would lose"
    (shards[1] / "merge_requests.json").unlink()
    merged: Result = run(["merge", *shards, "--out", tmp_path / "merged"])
    assert merged.code == 1
    assert f"{shards[1]} has no merge_requests.json" in merged.err
    assert "source branches would lose their protection" in merged.err
    assert "Traceback" not in merged.err
    assert not (tmp_path / "merged").exists()


def test_shards_collected_together_merge_without_a_warning(run, shards: list[Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    collected_apart(shards[0], shards[1], timedelta(minutes=59))
    merged: Result = run(["merge", *shards, "--out", tmp_path / "merged"])
    assert merged.code == 0, merged.err
    assert "warning" not in merged.err


def test_shards_collected_hours_apart_merge_with_a_warning_naming_the_span(run, shards: list[Path],  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    collected_apart(shards[0], shards[1], timedelta(hours=3, minutes=12))
    merged: Result = run(["merge", *shards, "--out", tmp_path / "merged"])
    assert merged.code == 0, merged.err
    assert "merge: warning: shards collected over 3h12m: " in merged.err
    assert str(shards[0]) in merged.err and str(shards[1]) in merged.err
    assert (tmp_path / "merged" / "projects.json").is_file()


# The shards are only read (each example merges its own copies), so sharing them across examples is safe.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.integers(min_value=0, max_value=4 * 24 * 60))
def test_the_warning_appears_exactly_above_one_hour(run, shards: list[Path], minutes: int) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as scratch:
        copies = [Path(scratch) / shard.name for shard in shards]
        for shard, copy in zip(shards, copies, strict=True):
            shutil.copytree(shard, copy)
        collected_apart(copies[1], copies[0], timedelta(minutes=minutes))
        merged: Result = run(["merge", *copies, "--out", Path(scratch) / "merged"])
    assert merged.code == 0, merged.err
    days, rest = divmod(minutes, 24 * 60)
    span = (f"{days}d" if days else "") + f"{rest // 60}h{rest % 60:02d}m"
    warned = f"shards collected over {span}: " in merged.err
    assert warned == (minutes > 60), merged.err
