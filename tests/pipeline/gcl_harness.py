"""Run this project's .gitlab-ci.yml under gitlab-ci-local against the GitLab simulator.

gitlab-ci-local runs in a throw-away git copy of the working tree (it needs a git repository and writes
its state next to .gitlab-ci.yml), with the shell executor and shell isolation, so that a job sees only
the artifacts of the jobs it `needs`. The jobs run `janitor` from that copy through a small shim.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GITLAB_CI_LOCAL = REPO / ".tools" / "node_modules" / "gitlab-ci-local" / "dist" / "index.js"
ADMIN_TOKEN = "glpat-sim-admin-api"  # the simulator's fixed, public test token
# Any host: gitlab-ci-local only derives CI_PROJECT_PATH (and so the component's include) from it.
REMOTE = "git@gitlab.example.test:gitlab-janitor/gitlab-janitor.git"
RESULT_LINE = re.compile(r"^\s*(PASS|FAIL|WARN|SKIP)\s+(\S.*?)\s*$")


def missing_tools() -> str | None:
    if shutil.which("node") is None:
        return "node not installed (Node 20 runs gitlab-ci-local)"
    if not GITLAB_CI_LOCAL.exists():
        return "gitlab-ci-local not installed in .tools/ (run scripts/install-ci-tools)"
    for tool in ("git", "rsync"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (gitlab-ci-local's shell isolation needs it; scripts/install-ci-tools)"
    return None


@dataclass
class Run:
    """One gitlab-ci-local invocation: its exit code, its log, and each job's result line."""

    returncode: int
    output: str
    results: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, process: subprocess.CompletedProcess[str]) -> Run:
        output = process.stdout + process.stderr
        results = {}
        for line in output.splitlines():
            match = RESULT_LINE.match(line)
            if match:
                results[match.group(2)] = match.group(1)
        return cls(process.returncode, output, results)

    def summary(self) -> str:
        return "\n".join(f" {status}  {job}" for job, status in self.results.items())


@dataclass
class Workspace:
    """A git copy of the working tree, where gitlab-ci-local runs and keeps its artifacts."""

    root: Path
    bin_dir: Path

    def gitlab_ci_local(
        self, *args: str, source: str, variables: dict[str, str] | None = None, timeout: float = 300
    ) -> Run:
        argv = [
            "node",
            str(GITLAB_CI_LOCAL),
            "--no-color",
            "--force-shell-executor",
            "--shell-isolation",
            "--no-artifacts-to-source",
            "--variable",
            f"CI_PIPELINE_SOURCE={source}",
            "--ignore-predefined-vars",
            "CI_PIPELINE_SOURCE",
        ]
        for name, value in (variables or {}).items():
            argv += ["--variable", f"{name}={value}"]
        env = {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        process = subprocess.run(
            [*argv, *args], cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout
        )
        return Run.parse(process)

    def set_input(self, name: str, old: str, new: str, file: str = ".gitlab-ci.yml") -> None:
        """Change one `name: value` input of the pipeline file in this copy (and only here)."""
        path = self.root / file
        text = path.read_text()
        assert text.count(f"{name}: {old}\n") == 1, f"{file} has no single input `{name}: {old}`"
        path.write_text(text.replace(f"{name}: {old}\n", f"{name}: {new}\n"))

    def list_jobs(self, source: str) -> dict[str, dict[str, Any]]:
        """Jobs as gitlab-ci-local evaluates them for a pipeline of `source`, by name."""
        run = self.gitlab_ci_local("--list-json", source=source)
        start = run.output.index("[")
        jobs = json.JSONDecoder().raw_decode(run.output[start:])[0]
        return {job["name"]: job for job in jobs}

    def artifact(self, path: str) -> Path:
        """The one file at `path` among all jobs' artifacts (each file here comes from a single job)."""
        matches = sorted((self.root / ".gitlab-ci-local" / "artifacts").glob(f"*/{path}"))
        assert len(matches) == 1, f"expected one {path} among the artifacts, found {matches}"
        return matches[0]


def make_workspace(target: Path) -> Workspace:
    root = target / "project"
    root.mkdir()
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git = ["git", "-c", "user.name=pipeline-test", "-c", "user.email=pipeline-test@example.test"]
    for command in (
        ["init", "--quiet", "--initial-branch", "main"],
        ["add", "--all"],
        ["commit", "--quiet", "--no-verify", "--message", "working tree under test"],
        ["remote", "add", "origin", REMOTE],
        ["update-ref", "refs/remotes/origin/main", "HEAD"],
        ["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"],
    ):
        subprocess.run([*git, *command], cwd=root, check=True, capture_output=True)
    bin_dir = target / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "janitor"
    # The jobs run the package from their own copy of the tree (python -m puts the job's directory first).
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m janitor "$@"\n')
    shim.chmod(0o755)
    return Workspace(root, bin_dir)


class SimulatorProcess:
    """`janitor simulator` on a free loopback port, as the CLI serves it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "janitor", "simulator", "--port", "0", "--seed", "1"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = self._read_url(timeout=30)

    def _read_url(self, timeout: float) -> str:
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.append(
                self.process.stdout.readline()  # type: ignore[union-attr]
            ),
            daemon=True,
        )
        reader.start()
        reader.join(timeout)
        match = re.search(r"(http://127\.0\.0\.1:\d+)", lines[0] if lines else "")
        if not match:
            self.stop()
            raise AssertionError(f"janitor simulator printed no URL within {timeout}s: {lines!r}")
        return match.group(1)

    def get(self, path: str) -> tuple[Any, dict[str, str]]:
        request = urllib.request.Request(f"{self.url}/api/v4{path}", headers={"PRIVATE-TOKEN": ADMIN_TOKEN})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response), dict(response.headers)

    def get_all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = "1"
        separator = "&" if "?" in path else "?"
        while page:
            batch, headers = self.get(f"{path}{separator}per_page=100&page={page}")
            items += batch
            page = headers.get("X-Next-Page", "")
        return items

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
