"""What a user installs: the wheel and the sdist install into a clean virtualenv and run; the metadata PyPI
shows is complete; `janitor --version` explains a clash with another package that is also `janitor`.

The build tests (marker `packaging`) build with setuptools from the package index, as pip would; the clean
virtualenvs take gitlab-janitor's dependencies from this project's virtualenv, not from the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from janitor import __version__

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _pip(python: Path, *args: object) -> subprocess.CompletedProcess[str]:
    """This venv's pip working on another interpreter's environment (no ensurepip in each new venv)."""
    return _run(sys.executable, "-m", "pip", "--python", python, *args)


def _clean_venv(where: Path) -> Path:
    """A virtualenv whose dependencies come from this project's site-packages."""
    venv.EnvBuilder(with_pip=False, clear=True).create(where)
    python = where / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    # appended after the venv's own site-packages, so the installed artifact wins over the editable checkout
    Path(site, "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel built from the checkout, and the wheel built from the unpacked sdist (as pip installs an sdist)."""
    out = tmp_path_factory.mktemp("dist")
    builder = out / "build-venv"
    venv.EnvBuilder(with_pip=False).create(builder)
    python = builder / "bin" / "python"
    installed = _pip(python, "install", "-q", "setuptools>=68", "wheel")
    if installed.returncode:
        pytest.skip(f"setuptools could not be installed from the package index: {installed.stderr[-300:]}")
    build = "import sys, setuptools.build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"
    sdist = _run(python, "-c", build, "build_sdist", out, cwd=ROOT)
    assert sdist.returncode == 0, sdist.stderr
    sdist_path = out / sdist.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist_path) as archive:
        archive.extractall(out / "unpacked", filter="data")
    source = next((out / "unpacked").iterdir())
    from_sdist = _run(python, "-c", build, "build_wheel", out / "from-sdist", cwd=source)
    assert from_sdist.returncode == 0, from_sdist.stderr
    wheel = _run(python, "-c", build, "build_wheel", out, cwd=ROOT)
    assert wheel.returncode == 0, wheel.stderr
    return {"sdist": out / "from-sdist" / from_sdist.stdout.strip().splitlines()[-1],
            "wheel": out / wheel.stdout.strip().splitlines()[-1], "source": source}


@pytest.mark.packaging
def test_sdist_holds_what_the_package_needs(artifacts: dict[str, Path]) -> None:
    source = artifacts["source"]
    for name in ("LICENSE", "README.md", "pyproject.toml", "janitor/cli.py", "janitor/py.typed"):
        assert (source / name).is_file(), f"{name} missing from the sdist"


@pytest.mark.packaging
@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_artifact_installs_in_a_clean_venv_and_runs(artifacts: dict[str, Path], tmp_path: Path, kind: str) -> None:
    python = _clean_venv(tmp_path / "venv")
    # the sdist goes through the wheel built from it; pip would do the same
    installed = _pip(python, "install", "-q", "--no-deps", "--no-index", artifacts[kind])
    assert installed.returncode == 0, installed.stderr
    janitor = tmp_path / "venv" / "bin" / "janitor"
    version = _run(janitor, "--version", cwd=tmp_path)
    assert (version.returncode, version.stdout.strip()) == (0, f"gitlab-janitor {__version__}"), version.stderr
    where = _run(python, "-c", "import janitor; print(janitor.__file__)", cwd=tmp_path).stdout
    assert str(tmp_path / "venv") in where, "the installed copy, not the checkout, must be the one imported"
    schema = _run(janitor, "schema", cwd=tmp_path)  # package data (the schemas) made it into the wheel
    assert schema.returncode == 0 and '"version"' in schema.stdout, schema.stderr
    with zipfile.ZipFile(artifacts[kind]) as wheel:
        names = wheel.namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)


def test_pypi_metadata_is_complete() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] in ("MIT", {"text": "MIT"}) or project.get("license-files")
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    classifiers = project["classifiers"]
    assert "License :: OSI Approved :: MIT License" in classifiers or project["license"] == "MIT"
    assert any(c.startswith("Programming Language :: Python :: 3.") for c in classifiers)
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert {"Homepage", "Documentation", "Source", "Changelog", "Issues"} <= set(project["urls"])
    assert all(url.startswith("https://") for url in project["urls"].values())
    assert len(project["keywords"]) >= 3


@pytest.mark.packaging
def test_wheel_metadata_shows_the_readme_with_absolute_links(artifacts: dict[str, Path]) -> None:
    with zipfile.ZipFile(artifacts["wheel"]) as wheel:
        meta_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(wheel.read(meta_name).decode())
    assert meta["Name"] == "gitlab-janitor" and meta["Version"] == __version__
    assert meta.get_all("Project-URL") and meta.get_all("Classifier")
    description = meta.get_payload()
    assert "pipx install gitlab-janitor" in description
    import re

    relative = [target for target in re.findall(r"\]\(([^)\s]+)\)", description)
                if not target.startswith(("https://", "http://", "#", "mailto:"))]
    assert relative == [], f"links that break on PyPI (make them absolute): {relative}"


def _fake_distribution(where: Path, name: str, version: str) -> None:
    info = where / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    (info / "top_level.txt").write_text("janitor\n", encoding="utf-8")
    (info / "RECORD").write_text(f"janitor/__init__.py,,\njanitor/functions/__init__.py,,\n{info.name}/RECORD,,\n",
                                 encoding="utf-8")


def _version_with(extra_path: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return _run(sys.executable, "-m", "janitor", "--version", env=env, cwd=ROOT)


def test_version_explains_a_foreign_janitor_package(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "pyjanitor", "0.31.0")
    clash = _version_with(tmp_path)
    assert clash.returncode == 1
    assert clash.stdout.strip() == f"gitlab-janitor {__version__}"
    assert "pyjanitor 0.31.0" in clash.stderr and "`janitor`" in clash.stderr
    assert "pipx install gitlab-janitor" in clash.stderr and "container image" in clash.stderr
    assert "Traceback" not in clash.stderr
    alone = _version_with(None)
    assert (alone.returncode, alone.stderr) == (0, "")
