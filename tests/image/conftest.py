"""Fixtures of the image tests: buildah with the image built from the working tree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from buildah_harness import Buildah, missing_prerequisites


@pytest.fixture(scope="session")
def buildah() -> Buildah:
    """buildah with the image built from the working tree; skips, naming the cause, if it cannot."""
    reason = missing_prerequisites()
    if reason:
        pytest.skip(f"image tests: {reason}")
    tool = Buildah()
    tool.ensure_base()
    tool.build()
    return tool


@pytest.fixture(scope="session")
def container(buildah: Buildah) -> Iterator[str]:
    """One working container of the built image, shared by the tests (vfs makes each one a full copy)."""
    name = buildah.run("from", "--pull-never", buildah.image).stdout.strip()
    yield name
    buildah.run("rm", name, check=False)
