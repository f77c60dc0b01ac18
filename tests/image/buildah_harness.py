"""Build the project's image with buildah on a local Debian base made by mmdebstrap (no Docker engine).

Everything is cached under .buildah/ (gitignored): the base tarball, buildah's storage and its layer cache,
so a rerun only rebuilds the layers whose inputs changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".buildah"
BASE_TARBALL = CACHE / "pybase-bookworm.tar"
BASE_IMAGE = "localhost/pybase:bookworm"
TEST_IMAGE = "localhost/gitlab-janitor:test"
DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_PACKAGES = "python3-minimal,python3-venv"


class ToolMissing(Exception):
    """The machine cannot build images; the message names what is missing."""


def missing_prerequisites() -> str | None:
    missing = [tool for tool in ("buildah", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (run scripts/install-ci-tools as root)"
    if os.geteuid() != 0:
        return "buildah (vfs, chroot isolation) and mmdebstrap --mode=root need root"
    if not DEBIAN_SOURCES.exists():
        return f"{DEBIAN_SOURCES} not found: no Debian mirror to build the base image from"
    return None


def project_version() -> str:
    text = (REPO / "janitor" / "__init__.py").read_text()
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    assert match, "janitor/__init__.py defines no __version__"
    return match.group(1)


@dataclass(frozen=True)
class Buildah:
    root: Path = CACHE / "root"
    runroot: Path = CACHE / "run"
    image: str = TEST_IMAGE

    @property
    def version(self) -> str:
        return project_version()

    def command(self, *args: str) -> list[str]:
        return [
            "buildah",
            "--root",
            str(self.root),
            "--runroot",
            str(self.runroot),
            "--storage-driver",
            "vfs",
            *args,
        ]

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"buildah {' '.join(args)} exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
            )
        return result

    def has_image(self, name: str) -> bool:
        return self.run("images", "--quiet", name, check=False).returncode == 0

    def ensure_base(self) -> None:
        if self.has_image(BASE_IMAGE):
            return
        if not BASE_TARBALL.exists():
            make_base_tarball()
        container = self.run("from", "scratch").stdout.strip()
        try:
            self.run("add", container, str(BASE_TARBALL), "/")
            self.run("config", "--cmd", "python3", container)
            self.run("commit", "--quiet", container, BASE_IMAGE)
        finally:
            self.run("rm", container, check=False)

    def build(self) -> subprocess.CompletedProcess[str]:
        # RUN steps reach the package index through this machine's CA bundle; the base has none of its own.
        # No --layers: with vfs every cached layer is a full copy of the root file system (4x slower), and
        # the previous run's images are pruned so the cache stays at one image's size.
        # This store is private to these tests: leftover working containers would pin old images.
        self.run("rm", "--all", check=False)
        self.run("rmi", "--prune", check=False)
        return self.run(
            "bud",
            "--pull-never",
            "--isolation",
            "chroot",
            "--volume",
            f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "--build-arg",
            f"VERSION={project_version()}",
            "--tag",
            self.image,
            "--file",
            str(REPO / "Dockerfile"),
            str(REPO),
            timeout=900,
        )

    def run_in(self, container: str, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run argv in a working container of the image, as the image's user, without its entrypoint."""
        return self.run("run", "--isolation", "chroot", container, "--", *argv, timeout=timeout, check=False)


def make_base_tarball() -> None:
    """A minimal Debian with Python, from the mirror this machine already uses (no host name in the repo)."""
    CACHE.mkdir(exist_ok=True)
    partial = BASE_TARBALL.with_name(BASE_TARBALL.stem + ".partial.tar")  # mmdebstrap picks the format by suffix
    with DEBIAN_SOURCES.open() as sources:
        result = subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                f"--include={BASE_PACKAGES}",
                "--mode=root",
                "bookworm",
                str(partial),
                "-",
            ],
            stdin=sources,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise AssertionError(f"mmdebstrap failed ({result.returncode}):\n{result.stderr[-6000:]}")
    partial.rename(BASE_TARBALL)
