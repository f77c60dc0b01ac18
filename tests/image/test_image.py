"""The container image, built from the real Dockerfile, runs the CLI as a non-root user with nothing extra.

Needs buildah and mmdebstrap (scripts/install-ci-tools) and root; otherwise each test skips and says why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from buildah_harness import Buildah

pytestmark = [pytest.mark.image, pytest.mark.slow]


@pytest.fixture(scope="module")
def image_config(buildah: Buildah) -> dict[str, Any]:
    inspected = json.loads(buildah.run("inspect", "--type", "image", buildah.image).stdout)
    config: dict[str, Any] = inspected["OCIv1"]["config"]
    return config


def test_version_runs_inside_the_image(buildah: Buildah, container: str) -> None:
    result = buildah.run_in(container, "janitor", "--version")
    assert result.returncode == 0, result.stderr
    assert buildah.version in result.stdout + result.stderr


def test_demo_runs_end_to_end_inside_the_image(buildah: Buildah, container: str) -> None:
    result = buildah.run_in(container, "janitor", "demo", timeout=600)
    assert result.returncode == 0, (
        f"janitor demo exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )


def test_entrypoint_is_the_cli_and_the_user_is_numeric_and_not_root(image_config: dict[str, Any]) -> None:
    assert image_config["Entrypoint"] == ["janitor"]
    user = image_config["User"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"image user {user!r} must be a numeric non-root uid"


def test_labels_name_source_version_and_licence(buildah: Buildah, image_config: dict[str, Any]) -> None:
    labels = image_config["Labels"]
    assert labels["org.opencontainers.image.version"] == buildah.version
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert "org.opencontainers.image.source" in labels


def test_runs_as_the_image_user(buildah: Buildah, container: str) -> None:
    result = buildah.run_in(container, "id", "-u")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10001"


def test_no_build_tools_or_caches_in_the_final_image(buildah: Buildah, container: str) -> None:
    modules = "import importlib.util as u; print(*[m for m in ('pip', 'setuptools', 'wheel') if u.find_spec(m)])"
    result = buildah.run_in(container, "/opt/janitor/bin/python", "-c", modules)
    assert result.returncode == 0 and not result.stdout.strip(), f"packaging tools left: {result.stdout}"
    leftovers = "ls -d /root/.cache /home/janitor/.cache /wheels /src /opt/build-venv 2>/dev/null; true"
    result = buildah.run_in(container, "sh", "-c", leftovers)
    assert not result.stdout.strip(), f"build leftovers in the final image:\n{result.stdout}"
    for tool in ("gcc", "cc", "make", "pip", "pip3"):
        probe = buildah.run_in(container, "sh", "-c", f"command -v {tool}")
        assert probe.returncode != 0, f"{tool} is in the final image: {probe.stdout}"


def test_the_janitor_is_byte_compiled_in_the_image(buildah: Buildah, container: str) -> None:
    """The image sets PYTHONDONTWRITEBYTECODE and its user cannot write /opt/janitor: without the bytecode pip
    writes when it installs the wheel, every run would compile each module from source (0.1-0.2 s of CPU a
    collect, measured on a checkout)."""
    script = ("import importlib.util as u, pathlib, janitor; root = pathlib.Path(janitor.__file__).parent; "
              "sources = sorted(root.rglob('*.py')); print(len(sources)); "
              "print(*[p for p in sources if not pathlib.Path(u.cache_from_source(str(p))).is_file()])")
    result = buildah.run_in(container, "/opt/janitor/bin/python", "-c", script)
    assert result.returncode == 0, result.stderr
    count, missing = (result.stdout.splitlines() + ["", ""])[:2]
    assert int(count) > 50, result.stdout
    assert not missing.strip(), f"modules without bytecode in the image: {missing}"
