"""A failed collect leaves no `.partial` file, even when the failure is in closing them: a full disk at a
write, at the final flush/fsync/close, or a target that cannot be replaced. The user gets one message
(exit 1), not a traceback.

Full disks are real: a tiny tmpfs (skipped where mount is not permitted)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from janitor.errors import InventoryError
from janitor.inventory import InventoryWriter

POLICY = """\
version: 1
scope: {groups: [acme]}
rules:
  - {name: old, resource: job_artifacts, action: delete, match: {older_than: 1d}}
  - {name: merged, resource: branches, action: delete, match: {merged: true}}
"""


def leftovers(directory: Path) -> list[str]:
    """Anything a writer of ours left half-done: partial files and the head rewrite's temporary file."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def fill(disk: Path) -> None:
    """Leave the file system with no free block (but room for inodes: files can still be created)."""
    with open(disk / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"x" * 4096)
        except OSError:
            pass


def test_a_disk_full_during_collect_leaves_nothing_half_written(run: Callable[..., Any], env: dict[str, str],
                                                                tmp_path: Path, tiny_disk: Path) -> None:
    (tmp_path / "policy.yml").write_text(POLICY)
    out = tiny_disk / "inv"
    result = run(["collect", "--policy", tmp_path / "policy.yml", "--out", out], env)
    assert result.code == 1, result.err
    assert "Could not write the inventory" in result.err and "No space left on device" in result.err
    assert "Traceback" not in result.err
    assert leftovers(out) == [] and not (out / "projects.json").exists()


def test_a_disk_full_at_the_final_flush_and_close_leaves_nothing(tiny_disk: Path) -> None:
    out = tiny_disk / "inv"
    out.mkdir()
    writer = InventoryWriter(out, "2026-01-01T00:00:00Z", {"gitlab_url": "https://gitlab.example.com"})
    writer.add_project({"id": 1, "path_with_namespace": "acme/app", "_branches": []})
    writer.add_merge_request({"id": 7, "project_id": 1, "source_branch": "x"})
    fill(tiny_disk)  # everything so far sits in the files' buffers: the first real write is at commit
    with pytest.raises(InventoryError, match="No space left on device"):
        writer.commit({"complete": True})
    assert leftovers(out) == [] and not (out / "projects.json").exists()
    writer.abort()  # what collect does next: must not raise for the handles that could not be closed
    assert leftovers(out) == []


def test_a_target_that_cannot_be_replaced_leaves_no_partial(run: Callable[..., Any], env: dict[str, str],
                                                            tmp_path: Path) -> None:
    (tmp_path / "policy.yml").write_text(POLICY)
    out = tmp_path / "inv"
    (out / "projects.json").mkdir(parents=True)  # a directory where the inventory file belongs
    (out / "projects.json" / "keep").write_text("someone's file")
    result = run(["collect", "--policy", tmp_path / "policy.yml", "--out", out], env)
    assert result.code == 1 and "Could not write the inventory" in result.err
    assert "Traceback" not in result.err
    assert leftovers(out) == []
    assert (out / "projects.json" / "keep").read_text() == "someone's file"


def test_an_out_directory_that_cannot_be_made_is_a_clear_error(run: Callable[..., Any], env: dict[str, str],
                                                               tmp_path: Path) -> None:
    (tmp_path / "policy.yml").write_text(POLICY)
    (tmp_path / "file").write_text("")
    result = run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "file" / "inv"], env)
    assert result.code == 1 and "Could not write the inventory" in result.err
    assert "Traceback" not in result.err
