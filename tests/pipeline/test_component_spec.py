"""The component's header and jobs, and this project's pipeline, are valid GitLab CI, and the jobs keep
the safety properties the README promises (manual, approved, serialised, digest-checked apply)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from component_yaml import BLOCK, COMPONENT, PROJECT_PIPELINE, jobs, render, spec, split

from janitor import __version__

INPUT_SETS = {
    "defaults": {},
    "sharded, automatic apply, scope lock": {
        "shards": 4,
        "when_apply": "on_success",
        "scope": "acme",
        "keep_going": False,
        "max_actions": 50,
        "stage_plan": "review",
        "gitlab_url": "https://gitlab.example.com",
    },
}


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("check-jsonschema") is None:
        pytest.skip("check-jsonschema not installed (pip install check-jsonschema, or scripts/install-ci-tools)")
    return subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", str(path)],
        capture_output=True,
        text=True,
    )


def test_component_header_is_valid_gitlab_ci(tmp_path: Path) -> None:
    header = tmp_path / "header.yml"
    header.write_text(split()[0])
    result = check_jsonschema(header)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("inputs", INPUT_SETS.values(), ids=INPUT_SETS.keys())
def test_component_jobs_are_valid_gitlab_ci(tmp_path: Path, inputs: dict[str, Any]) -> None:
    body = tmp_path / "jobs.yml"
    body.write_text(render(inputs))
    result = check_jsonschema(body)
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_pipeline_is_valid_gitlab_ci() -> None:
    result = check_jsonschema(PROJECT_PIPELINE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_input_has_a_description_a_type_and_is_used() -> None:
    declared = spec()["inputs"]
    used = {key for kind, key in BLOCK.findall(split()[1]) if kind == "inputs"}
    for name, definition in declared.items():
        assert definition.get("description"), f"input {name} has no description"
        assert definition.get("type") in {"string", "number", "boolean", "array"}, f"input {name} has no type"
        assert "default" in definition, f"input {name} has no default"
        assert name in used, f"input {name} is declared but never used"
    assert used <= set(declared), f"undeclared inputs used: {used - set(declared)}"
    for expected in (
        "policy",
        "image",
        "stage_collect",
        "stage_plan",
        "stage_apply",
        "shards",
        "max_actions",
        "max_plan_age",
        "environment",
        "rules",
        "when_apply",
    ):
        assert expected in declared


def test_runs_only_in_scheduled_and_web_pipelines_by_default() -> None:
    for name, job in jobs().items():
        if name.startswith("janitor:"):
            assert job.get("extends") == ".janitor-base"
    assert jobs()[".janitor-base"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "schedule"'},
        {"if": '$CI_PIPELINE_SOURCE == "web"'},
    ]


def test_jobs_use_the_image_with_its_entrypoint_cleared() -> None:
    base = jobs({"image": "example/janitor:9.9.9"})[".janitor-base"]
    assert base["image"] == {"name": "example/janitor:9.9.9", "entrypoint": [""]}


def test_default_image_is_this_projects_image_at_this_release_written_out() -> None:
    # No job variable between the input and `image:`: a pipeline variable could replace it.
    assert spec()["inputs"]["image"]["default"] == f"$CI_REGISTRY/gitlab-janitor/gitlab-janitor:{__version__}"
    assert jobs()[".janitor-base"]["image"]["name"] == f"$CI_REGISTRY/gitlab-janitor/gitlab-janitor:{__version__}"


def test_no_job_reads_a_setting_from_a_variable_a_pipeline_could_override() -> None:
    rendered = jobs(INPUT_SETS["sharded, automatic apply, scope lock"])
    for name, job in rendered.items():
        assert "variables" not in job, f"{name} sets variables, which pipeline variables outrank"
        script = "\n".join(job.get("script", []))
        assert "$JANITOR_" not in script and "${JANITOR_" not in script, name
        # Numbers are compared by the janitor (--max-actions), never by `[ ... -gt ... ]`.
        assert not re.search(r"-(gt|ge|lt|le|eq|ne)\b", script), f"{name} compares numbers in shell"
    collect, plan, apply = (rendered[f"janitor:{job}"]["script"] for job in ("collect", "plan", "apply"))
    for script in (collect, plan, apply):
        assert "--scope 'acme'" in "\n".join(script)
    for script in (plan, apply):
        assert "--max-actions '50'" in "\n".join(script)
    for script in (collect, apply):
        assert "--gitlab-url 'https://gitlab.example.com'" in "\n".join(script)
    assert "--policy '.gitlab/janitor-policy.yml'" in "\n".join(plan)


@pytest.mark.parametrize("name", ["policy", "scope", "gitlab_url"])
def test_inputs_written_into_commands_cannot_leave_their_quotes(name: str) -> None:
    definition = spec()["inputs"][name]
    pattern = definition["regex"]
    assert re.fullmatch(pattern, str(definition["default"]))
    for hostile in ("a'b", "x'; curl evil #", "a b", "$(id)", "`id`", "a\nb", "-x"):
        assert re.fullmatch(pattern, hostile) is None, f"{name} accepts {hostile!r}"


def test_collect_runs_one_job_per_shard_and_merge_needs_them_all() -> None:
    rendered = jobs({"shards": 3})
    collect = rendered["janitor:collect"]
    assert collect["parallel"] == 3
    assert '--shard "${CI_NODE_INDEX:-1}/${CI_NODE_TOTAL:-1}"' in "\n".join(collect["script"])
    assert rendered["janitor:merge"]["needs"] == [{"job": "janitor:collect", "artifacts": True}]


def test_plan_publishes_the_report_and_the_digest() -> None:
    plan = jobs()["janitor:plan"]
    artifacts = plan["artifacts"]
    assert artifacts["expose_as"]
    assert "janitor-output/report/report.html" in artifacts["paths"]
    assert "janitor-output/plan.json" in artifacts["paths"]
    assert "janitor-output/plan.env" in artifacts["paths"], "apply reads the approved digest from the file"
    assert artifacts["reports"]["dotenv"] == "janitor-output/plan.env"
    script = "\n".join(plan["script"])
    assert "--dotenv janitor-output/plan.env" in script
    assert "cat janitor-output/report/report.md" in script


def test_apply_is_manual_blocking_approved_serialised_and_digest_checked() -> None:
    apply = jobs({"environment": "cleanup", "max_plan_age": "12h"})["janitor:apply"]
    assert apply["when"] == "manual"
    assert apply["allow_failure"] is False
    assert apply["environment"]["name"] == "cleanup"
    assert apply["resource_group"] == "janitor/cleanup"
    # the reviewed plan's artifacts, and the notify job done first (its files are not needed)
    assert apply["needs"] == [{"job": "janitor:plan", "artifacts": True}, {"job": "janitor:notify", "artifacts": False}]
    script = "\n".join(apply["script"])
    assert "approved=$(sed -n 's/^JANITOR_PLAN_DIGEST=//p' janitor-output/plan.env" in script
    assert '--expect-digest "$approved"' in script
    assert "--max-age '12h'" in script


def test_when_apply_accepts_only_manual_or_on_success() -> None:
    assert spec()["inputs"]["when_apply"]["options"] == ["manual", "on_success"]
    assert jobs({"when_apply": "on_success"})["janitor:apply"]["when"] == "on_success"


def test_project_pipeline_tests_the_component_from_this_commit() -> None:
    pipeline = yaml.load(PROJECT_PIPELINE.read_text(), Loader=_GitLabLoader)
    components = [entry["component"] for entry in pipeline["include"] if "component" in entry]
    assert components == ["$CI_SERVER_FQDN/$CI_PROJECT_PATH/janitor@$CI_COMMIT_SHA"]
    assert COMPONENT.stem == "janitor"


class _GitLabLoader(yaml.SafeLoader):
    pass


def _reference(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
    assert isinstance(node, yaml.SequenceNode)
    return loader.construct_sequence(node)


_GitLabLoader.add_constructor("!reference", _reference)
