"""The three reports as a user meets them: report.json follows the published schema, report.html is one
offline page whose charts and tables show the plan, report.md folds long lists without losing count."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from report_helpers import ARTIFACTS_ONLY, ProjectSpec, parse_page, write_artifact_inventory

from janitor.units import human_bytes


def _validator(run: Any) -> Draft202012Validator:
    printed = run(["schema", "--report"])
    assert printed.code == 0, printed.err
    schema = json.loads(printed.out)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _plan(run: Any, tmp_path: Path, inventory: Path, policy: str | Path, env: dict[str, str] | None = None) -> Path:
    if isinstance(policy, str):
        (tmp_path / "policy.yml").write_text(policy, encoding="utf-8")
        policy = tmp_path / "policy.yml"
    planned = run(["plan", "--policy", policy, "--inventory", inventory, "--out", tmp_path / "plan.json",
                   "--report-dir", tmp_path / "report"], env)
    assert planned.code == 0, planned.err
    return tmp_path / "report"


@pytest.fixture
def collected_report(tmp_path: Path, env: dict[str, str], policy_file: Path, run: Any) -> Path:
    """Reports of a plan over the simulator's demo-like instance, collected over HTTP."""
    collected = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env)
    assert collected.code == 0, collected.err
    return _plan(run, tmp_path, tmp_path / "inv", policy_file, env)


def test_report_json_follows_the_published_schema(collected_report: Path, run: Any) -> None:
    report = json.loads((collected_report / "report.json").read_text(encoding="utf-8"))
    validator = _validator(run)
    assert list(validator.iter_errors(report)) == []
    assert report["totals"]["remove_items"] > 0 and report["projects"][0]["remove"]

    # Strict enough to catch a reader's wrong assumption or a writer's slip.
    broken = json.loads(json.dumps(report))
    del broken["totals"]["remove_bytes"]
    broken["projects"][0]["remove"][0]["bytes"] = "12 MiB"
    broken["projects"][0]["surprise"] = True
    messages = sorted(e.message for e in validator.iter_errors(broken))
    assert any("'remove_bytes' is a required property" in m for m in messages)
    assert any("'12 MiB' is not of type 'integer'" in m for m in messages)
    assert any("'surprise' was unexpected" in m for m in messages)


def test_report_html_is_one_self_contained_page(collected_report: Path) -> None:
    report = json.loads((collected_report / "report.json").read_text(encoding="utf-8"))
    text = (collected_report / "report.html").read_text(encoding="utf-8")
    page = parse_page(text)
    gitlab = report["gitlab_url"]
    for tag, attrs in page.tags:
        for name in ("src", "action", "xlink:href", "poster", "data", "srcset", "formaction"):
            value = attrs.get(name, "")
            assert "://" not in value and not value.startswith("//"), f"<{tag} {name}={value!r}> loads from afar"
        if "href" in attrs:  # links to the objects in GitLab, or inside the page: navigation, never a load
            assert tag == "a" and (attrs["href"].startswith("#") or attrs["href"].startswith(gitlab + "/")), attrs
    assert not {"link", "img", "iframe", "object", "embed", "base"} & {tag for tag, _ in page.tags}
    assert [attrs for tag, attrs in page.tags if tag == "script"] == [{}], "one inline script, no src"
    assert "url(" not in text and "@import" not in text
    # The only URLs on the page are on the GitLab the plan is for.
    urls = re.findall(r"https?://[^\s<\"']+", text)
    assert urls and all(u == gitlab or u.startswith(gitlab + "/") for u in urls), sorted(set(urls))[:5]


def test_report_html_shows_the_plan_as_charts(collected_report: Path) -> None:
    report = json.loads((collected_report / "report.json").read_text(encoding="utf-8"))
    page = parse_page((collected_report / "report.html").read_text(encoding="utf-8"))
    touched = [p for p in report["projects"] if p["remove_items"]]
    by_items = sorted(touched, key=lambda p: (-p["remove_items"], p["path"]))
    assert page.labels["chart-projects"]["bytes"] == [p["path"] for p in touched[:20]]
    assert page.labels["chart-projects"]["items"] == [p["path"] for p in by_items[:20]]
    for view in ("items", "bytes"):
        assert len(page.bars["chart-projects"][view]) == min(20, len(touched))
        assert page.labels["chart-rules"][view] == ["old-artifacts"]
        assert page.labels["chart-kinds"][view] == ["job_artifacts"]
        assert page.bars["chart-before-after"][view] == ["bar before", "bar after"]


def test_the_project_chart_shows_the_20_largest(tmp_path: Path, run: Any) -> None:
    specs = [ProjectSpec(n, f"acme/team/p{n:02}", jobs=1, job_bytes=n * 1000) for n in range(1, 26)]
    report_dir = _plan(run, tmp_path, write_artifact_inventory(tmp_path / "inv", specs), ARTIFACTS_ONLY)
    text = (report_dir / "report.html").read_text(encoding="utf-8")
    page = parse_page(text)
    assert len(page.bars["chart-projects"]["bytes"]) == 20
    assert page.labels["chart-projects"]["bytes"] == [f"acme/team/p{n:02}" for n in range(25, 5, -1)]
    assert f"{human_bytes(25_000)} · 1 item" in text
    # Every project is still in the sortable table, with raw byte counts to sort on.
    assert all(f'data-sort="{n * 1000}"' in text for n in range(1, 26))
    assert all("sortable" in attrs.get("class", "") for tag, attrs in page.tags if tag == "table")


def test_user_controlled_names_cannot_inject_markup(tmp_path: Path, run: Any) -> None:
    hostile_path = "acme/<script>alert(1)</script>"
    hostile_ref = '"><img src=x onerror=alert(2)>'
    specs = [ProjectSpec(7, hostile_path, jobs=2, job_bytes=5000, ref=hostile_ref)]
    report_dir = _plan(run, tmp_path, write_artifact_inventory(tmp_path / "inv", specs), ARTIFACTS_ONLY)
    text = (report_dir / "report.html").read_text(encoding="utf-8")
    page = parse_page(text)
    assert page.count("script") == 1 and page.count("img") == 0
    assert not any("onerror" in attrs for _, attrs in page.tags)
    assert "<script>alert(1)" not in text and "<img src=x" not in text
    assert "acme/&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in text
    assert page.labels["chart-projects"]["bytes"] == [hostile_path]  # shown to the reader as written


def test_long_lists_are_folded_with_a_count_not_dropped(tmp_path: Path, run: Any) -> None:
    specs = [ProjectSpec(1, "acme/big", jobs=230, job_bytes=2048), ProjectSpec(2, "acme/small", jobs=3, job_bytes=1)]
    report_dir = _plan(run, tmp_path, write_artifact_inventory(tmp_path / "inv", specs), ARTIFACTS_ONLY)
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    big = markdown.split("### acme/big")[1].split("### ")[0]
    assert "<details>" in big and "<summary>Remove (230, 460.0 KiB)</summary>" in big
    assert sum(1 for line in big.splitlines() if line.startswith("| job ")) == 100
    assert "… and 130 more, listed in report.json." in big
    small = markdown.split("### acme/small")[1]
    assert sum(1 for line in small.splitlines() if line.startswith("| job ")) == 3 and "more" not in small
    assert "| old-artifacts | job_artifacts | delete | 233 | 460.0 KiB |" in markdown

    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert len(report["projects"][0]["remove"]) == 230  # the JSON is complete
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    big_html = html.split('id="p-1"')[1].split('id="p-2"')[0]
    assert big_html.count('<td data-h="item">job ') == 200  # the page folds later than the comment, but says so too
    assert "… and 30 more, listed in report.json." in big_html


def test_report_json_from_an_open_group_inventory_follows_the_schema(tmp_path: Path, run: Any) -> None:
    sample = Path(__file__).parent / "fixtures" / "opengroup"
    report_dir = _plan(run, tmp_path, sample, sample / "policy.yml", {"GITLAB_URL": "https://gitlab.example.com"})
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert list(_validator(run).iter_errors(report)) == []
    kinds = set(report["totals"]["before_after"])
    assert kinds == {"branches", "container_tags", "packages", "protected_branches", "tags"}
