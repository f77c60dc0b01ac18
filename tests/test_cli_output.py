"""What apply, collect, plan and validate print, through the real CLI over HTTP: one line per item at the end
of apply in a stable order, deterministic deleted/gone attribution for tags on one image, one JSON summary
per run with --format json (valid against `janitor schema --summary`, also on failure exits)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema
from engine_helpers import collect_and_plan

from janitor.simulator import TOKENS, Simulator, generate
from janitor.simulator.state import Group

TAGS_AND_ARTIFACTS = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-images
    resource: container_tags
    action: delete
    match: {older_than: 1h, name: {exclude: ["v*"]}}
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d}
    keep: {latest: 1, per: ref}
"""
STATUSES = ("deleted", "gone", "skipped", "failed")


def summary_schema(run) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    printed = run(["schema", "--summary"])
    assert printed.code == 0
    schema: dict[str, Any] = json.loads(printed.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def one_summary(result, schema: dict[str, Any], command: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """stdout holds exactly one JSON object, valid against the schema, that agrees with the exit code."""
    summary: dict[str, Any] = json.loads(result.out)
    jsonschema.validate(summary, schema)
    assert summary["command"] == command and summary["exit_code"] == result.code
    assert summary["ok"] is (result.code == 0)
    return summary


def test_apply_yes_prints_one_line_per_item_at_the_end_in_project_then_item_order(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = collect_and_plan(run, env, tmp_path, TAGS_AND_ARTIFACTS)
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == len(plan["items"]) > 0, "one stdout line per planned item, nothing else"
    expected = sorted(plan["items"], key=lambda i: (i["project_path"], i["id"]))
    for line, item in zip(lines, expected, strict=True):
        status, rest = line.split(": ", 1)
        assert status in STATUSES
        assert rest.startswith(f"{item['project_path']} {item['title']} ("), (line, item["title"])
        assert rest.split("): ", 1)[1], "each line gives the reason"
    # the summary on stderr is a sentence, not a Python dict
    assert "{'" not in result.err and "deleted " in result.err and " items" in result.err


def _apply_on_a_fresh_instance(run, tmp_path: Path, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with Simulator(generate(seed=3, scale="small")) as sim:
        env = {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}
        work = tmp_path / name
        work.mkdir()
        plan = collect_and_plan(run, env, work, TAGS_AND_ARTIFACTS)
        result = run(["apply", work / "plan.json", "--yes", "--concurrency", "16", "--format", "json"], env)
        assert result.code == 0, result.err
        return {"plan": plan, "apply": json.loads(result.out)["apply"]}


def test_which_tag_of_an_image_is_deleted_and_which_gone_follows_the_plan_not_the_threads(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = _apply_on_a_fresh_instance(run, tmp_path, "one")
    plan, applied = first["plan"], first["apply"]
    images: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for item in plan["items"]:  # plan order
        if item["resource"] == "container_tags" and item["fingerprint"].get("digest"):
            images[(item["project_id"], item["target"]["repository_id"], item["fingerprint"]["digest"])].append(item)
    shared = [tags for tags in images.values() if len(tags) > 1]
    assert shared, "the instance has images with several planned tags"
    status = {i["id"]: i for i in applied["items"]}
    for tags in shared:
        assert status[tags[0]["id"]]["status"] == "deleted", "the first tag in plan order deletes the image"
        for later in tags[1:]:
            assert status[later["id"]]["status"] == "gone"
            assert status[later["id"]]["reason"].startswith("deleted with ")
    # the plan gives an image's bytes to its first tag: everything planned is freed, nothing "gone"
    assert applied["gone_bytes"] == 0
    assert applied["freed_bytes"] == sum(i["bytes"] for i in plan["items"])
    second = _apply_on_a_fresh_instance(run, tmp_path, "two")["apply"]
    assert [(i["id"], i["status"]) for i in second["items"]] == [(i["id"], i["status"]) for i in applied["items"]]
    assert second["freed_bytes"] == applied["freed_bytes"]


def test_every_command_prints_one_json_summary_valid_against_its_schema(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = summary_schema(run)
    policy = tmp_path / "policy.yml"
    policy.write_text(TAGS_AND_ARTIFACTS, encoding="utf-8")
    validated = one_summary(run(["validate", policy, "--format", "json"]), schema, "validate")
    assert validated["policy"]["rules"] == 2 and validated["warnings"] == []

    collected = run(["collect", "--policy", policy, "--out", tmp_path / "inv", "--format", "json"], env)
    summary = one_summary(collected, schema, "collect")
    assert summary["collect"]["projects"] > 0 and "collect: wrote" in collected.err

    planned = run(["plan", "--policy", policy, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json",
                   "--format", "json"], env)
    summary = one_summary(planned, schema, "plan")
    written = json.loads((tmp_path / "plan.json").read_text())
    assert summary["plan"]["digest"] == written["digest"] and summary["plan"]["actions"] == len(written["items"])

    dry = one_summary(run(["apply", tmp_path / "plan.json", "--format", "json"], env), schema, "apply")
    assert dry["apply"]["dry_run"] and set(dry["apply"]["counts"]) <= {"would delete", "skipped", "gone", "failed"}
    assert len(dry["apply"]["items"]) == len(written["items"])
    done = one_summary(run(["apply", tmp_path / "plan.json", "--yes", "--format", "json"], env), schema, "apply")
    assert not done["apply"]["dry_run"] and done["apply"]["counts"].get("deleted")


def test_failed_runs_still_print_their_summary(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = summary_schema(run)
    bad = tmp_path / "bad.yml"
    bad.write_text(TAGS_AND_ARTIFACTS.replace("older_than: 30d", "older_than: 1.5w")
                   .replace("older_than: 1h", "larger_than: 10 gigs"), encoding="utf-8")
    invalid = run(["validate", bad, "--format", "json"])
    summary = one_summary(invalid, schema, "validate")
    assert invalid.code == 1 and len(summary["error"]["problems"]) == 2

    policy = tmp_path / "policy.yml"
    policy.write_text(TAGS_AND_ARTIFACTS.replace("max_actions: 100000", "max_actions: 2"), encoding="utf-8")
    assert run(["collect", "--policy", policy, "--out", tmp_path / "inv"], env).code == 0
    refused = run(["plan", "--policy", policy, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json",
                   "--format", "json"], env)
    summary = one_summary(refused, schema, "plan")
    assert refused.code == 3 and summary["plan"]["file"] is None and summary["plan"]["refusals"]

    policy.write_text(TAGS_AND_ARTIFACTS, encoding="utf-8")
    assert run(["plan", "--policy", policy, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json"],
               env).code == 0
    wrong = run(["apply", tmp_path / "plan.json", "--yes", "--expect-digest", "sha256:" + "0" * 64,
                 "--format", "json"], env)
    summary = one_summary(wrong, schema, "apply")
    assert wrong.code == 3 and "digest" in summary["error"]["message"]


def test_a_group_with_no_projects_is_a_warning(run, env, sim: Simulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim.instance.add_group(Group(id=99001, name="hollow", path="hollow", full_path="hollow", parent=None,
                                 created_at=0))
    policy = tmp_path / "policy.yml"
    policy.write_text(TAGS_AND_ARTIFACTS.replace("groups: [acme]", "groups: [acme, hollow]"), encoding="utf-8")
    result = run(["collect", "--policy", policy, "--out", tmp_path / "inv", "--format", "json"], env)
    assert result.code == 0
    assert "collect: warning: the scope's group 'hollow' has no projects" in result.err
    assert any("'hollow'" in w for w in json.loads(result.out)["warnings"])
    # a path GitLab does not show stays an error
    policy.write_text(TAGS_AND_ARTIFACTS.replace("groups: [acme]", "groups: [acme, nowhere]"), encoding="utf-8")
    missing = run(["collect", "--policy", policy, "--out", tmp_path / "inv2"], env)
    assert missing.code == 1 and "'nowhere'" in missing.err and "404" in missing.err
