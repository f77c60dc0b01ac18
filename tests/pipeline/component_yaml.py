"""Read the component as GitLab does: a `spec` header, then the jobs with `$[[ ... ]]` interpolated."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPONENT = REPO / "templates" / "janitor.yml"
PROJECT_PIPELINE = REPO / ".gitlab-ci.yml"
BLOCK = re.compile(r"\$\[\[\s*(inputs|component)\.([\w-]+)\s*\]\]")


def split(path: Path = COMPONENT) -> tuple[str, str]:
    header, separator, body = path.read_text().partition("\n---\n")
    assert separator, f"{path}: a component is a spec header, a line `---`, then the jobs"
    return header, body


def spec(path: Path = COMPONENT) -> dict[str, Any]:
    header: dict[str, Any] = yaml.safe_load(split(path)[0])["spec"]
    return header


def interpolate(body: str, inputs: dict[str, Any], component: dict[str, str]) -> str:
    """Like GitLab: a block that is a whole YAML value keeps the input's type; inside text it is text."""

    def whole_value(match: re.Match[str]) -> str:
        return match.group(1) + json.dumps(lookup(match.group(2), match.group(3)))

    def in_text(match: re.Match[str]) -> str:
        value = lookup(match.group(1), match.group(2))
        return json.dumps(value) if isinstance(value, bool) else str(value)

    def lookup(kind: str, key: str) -> Any:
        source = inputs if kind == "inputs" else component
        assert key in source, f"$[[ {kind}.{key} ]] is not declared"
        return source[key]

    body = re.sub(r"^(\s*(?:-\s+|[\w:.\-\"]+:\s+))" + BLOCK.pattern + r"\s*$", whole_value, body, flags=re.M)
    return BLOCK.sub(in_text, body)


def render(overrides: dict[str, Any] | None = None, version: str = "1.2.3") -> str:
    declared = spec()["inputs"]
    inputs = {name: definition.get("default") for name, definition in declared.items()}
    unknown = set(overrides or {}) - set(declared)
    assert not unknown, f"not inputs of the component: {unknown}"
    inputs.update(overrides or {})
    return interpolate(split()[1], inputs, {"version": version})


def jobs(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render(overrides))
    return loaded
