"""report.html as a reviewer reads it: what every chart counts, the cards, the header facts, the links to
each object in GitLab (and only there), and a page that still works for reports without pending items."""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st
from report_helpers import EVERY_KIND, parse_page

from janitor.cli import main
from janitor.inventory import InventoryWriter
from janitor.report.html import render_html
from janitor.report.links import Links
from janitor.simulator.routes.meta import VERSION

GITLAB = "https://gitlab.example.com"
OLD = "2024-01-01T00:00:00Z"
BRANCHES = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 1000, max_percent: 100}
rules:
  - name: merged-branches
    resource: branches
    action: delete
    match: {merged: true, older_than: 30d}
"""


def _branch(name: str, protected: bool = False, default: bool = False) -> dict[str, Any]:
    return {"name": name, "merged": not default, "protected": protected, "default": default,
            "commit": {"id": "b" * 40, "committed_date": OLD}}


def _plan_branches(directory: Path, project_path: str, names: list[str],
                   timestamp: str = "2025-03-01T00:00:00.123456Z") -> Path:
    """Plan (with reports) one project whose branches are `names` (merged, old: removed), plus `main`
    (default) and `keep-me` (protected): the reports are in directory/report."""
    writer = InventoryWriter(directory / "inv", timestamp, {"gitlab_url": GITLAB})
    branches = [_branch("main", protected=True, default=True), _branch("keep-me", protected=True),
                *(_branch(n) for n in names)]
    writer.add_project({"id": 7, "path_with_namespace": project_path, "default_branch": "main", "archived": False,
                        "_branches": branches, "_protectedBranches": [{"name": "keep-me"}]})
    writer.commit()
    (directory / "policy.yml").write_text(BRANCHES, encoding="utf-8")
    with contextlib.redirect_stderr(io.StringIO()) as errors, contextlib.redirect_stdout(io.StringIO()):
        code = main(["plan", "--policy", str(directory / "policy.yml"), "--inventory", str(directory / "inv"),
                     "--out", str(directory / "plan.json"), "--report-dir", str(directory / "report")])
    assert code == 0, errors.getvalue()
    return directory / "report"


def _view(page: str, chart: str, view: str) -> str:
    figure = page.split(f'id="{chart}"')[1].split("</figure>")[0]
    return figure.split(f'class="view v-{view}')[1].split("</div>")[0]


def test_zero_byte_kinds_get_a_bar_in_the_count_view(tmp_path: Path) -> None:
    page = (_plan_branches(tmp_path, "acme/app", ["old-1", "old-2"]) / "report.html").read_text(encoding="utf-8")
    counts, sizes = _view(page, "chart-kinds", "items"), _view(page, "chart-kinds", "bytes")
    assert re.findall(r'<rect class="bar" width="([\d.]+)"', counts) == ["100.00"]  # branches: 2 items
    assert re.findall(r'<rect class="bar" width="([\d.]+)"', sizes) == ["0.00"]    # ... and 0 B
    assert "2 items · 0 B" in counts and "0 B · 2 items" in sizes
    # the count view is the one the page opens with
    assert re.search(r'<input type="radio" name="measure" id="m-items" class="measure" checked>', page)


def test_the_cards_show_protected_kept_and_pending(tmp_path: Path) -> None:
    page = (_plan_branches(tmp_path, "acme/app", ["old-1"]) / "report.html").read_text(encoding="utf-8")
    cards = dict((small, big) for big, small in re.findall(r'<div class="card[^"]*"><b>([^<]*)</b><span>([^<]*)</span>',
                                                             page))
    assert cards["items to remove"] == "1"
    assert cards["protected (never removed)"] == "2"  # main (default) and keep-me (protected)
    assert cards["pending a grace period"] == "0"     # this report has no pending items at all


def test_the_header_shows_times_without_microseconds_the_policy_and_the_full_digests(tmp_path: Path) -> None:
    report = _plan_branches(tmp_path, "acme/app", ["old-1"])
    page = (report / "report.html").read_text(encoding="utf-8")
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    head = page.split('<dl class="facts-head">')[1].split("</dl>")[0]
    assert "<dd>2025-03-01 00:00:00 UTC</dd>" in head and ".123456" not in head
    assert "policy.yml" in head and f'<code class="copy">{data["policy_digest"]}</code>' in head
    assert f'<code class="copy">{data["plan_digest"]}</code>' in head  # all 71 characters, one click selects it
    assert "code.copy{user-select:all" in page
    assert "<dt>GitLab version</dt><dd>unknown" in head


def test_pending_items_are_listed_when_the_report_has_them(tmp_path: Path) -> None:
    # report.json as `plan --state` writes it (tests/test_grace.py makes one end to end): per-project lists
    data = json.loads((_plan_branches(tmp_path, "acme/app", ["old-1"]) / "report.json").read_text(encoding="utf-8"))
    project = next(p for p in data["projects"] if p["path"] == "acme/app")
    project["pending"] = [{"id": "x", "rule": "merged-branches", "resource": "branches", "project_id": project["id"],
                           "project_path": "acme/app", "title": "branch soon", "first_qualified": OLD,
                           "due": "2025-03-10T12:00:00.5Z", "bytes": 0, "reason": "r"}]
    project["pending_items"] = data["totals"]["pending_items"] = 1
    page = render_html(data)
    assert re.search(r"<b>1</b><span>pending a grace period</span>", page)
    section = page.split('<h4 class="pending">Pending (1')[1].split("</table>")[0]
    assert "to be removed on or after 2025-03-10 12:01 UTC" in section and "branch soon" in section
    assert f'href="{GITLAB}/acme/app/-/tree/soon"' in section


def test_every_kind_links_to_its_page_in_gitlab(tmp_path: Path, env: dict[str, str], run: Any) -> None:
    (tmp_path / "policy.yml").write_text(EVERY_KIND, encoding="utf-8")
    assert run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"], env).code == 0
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"], env)
    assert planned.code == 0, planned.err
    data = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    gitlab = data["gitlab_url"]
    # collect read the version GitLab answers on /version; the header shows it
    assert data["gitlab_version"] == VERSION and f"<dt>GitLab version</dt><dd>{VERSION}</dd>" in page
    forms = {"branches": "/-/tree/{branch}", "tags": "/-/tags/{tag}", "job_artifacts": "/-/jobs/{job_id}",
             "pipelines": "/-/pipelines/{pipeline_id}", "packages": "/-/packages/{package_id}",
             "container_tags": "/-/container_registry/{repository_id}",
             "environments": "/-/environments/{environment_id}", "protected_branches": "/-/settings/repository"}
    seen = set()
    for project in data["projects"][:200]:
        assert f'href="{gitlab}/{project["path"]}"' in page
        for item in project["remove"][:200]:
            encoded = {k: quote(str(v), safe="/") for k, v in item["target"].items()}  # 'read me' -> 'read%20me'
            url = f"{gitlab}/{project['path']}" + forms[item["resource"]].format(**encoded)
            assert f'href="{url}"' in page, (item["title"], url)
            seen.add(item["resource"])
    assert seen == set(forms), f"the plan should hold every kind: {sorted(seen)}"


NAMES = st.lists(st.sampled_from([*"ab/.%?#&<>\"' \\:@\x00\n\u202e", "..", "//", "javascript:", "http://evil"]),
                 max_size=8).map("".join)
IDS = st.one_of(st.integers(min_value=-3, max_value=2**40), st.booleans(), st.none(), NAMES)
KINDS = st.sampled_from(["branches", "tags", "job_artifacts", "pipelines", "packages", "container_tags",
                         "environments", "protected_branches", "unknown"])


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from([GITLAB, "http://gitlab.local:8080/sub/dir", "https://[::1]:8443"]),
       path=NAMES, kind=KINDS, name=NAMES, ident=IDS)
def test_every_link_stays_on_the_gitlab_origin_whatever_the_names(base: str, path: str, kind: str, name: str,
                                                                   ident: Any) -> None:
    links = Links(base)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
    target = {"branch": name, "tag": name, "job_id": ident, "pipeline_id": ident, "package_id": ident,
              "repository_id": ident, "environment_id": ident}
    for href in (links.project(path), links.item(path, kind, target), links.kept(path, kind, f"branch {name}"),
                 links.kept(path, kind, f"tag {name}"), links.home()):
        if href is None:
            continue
        assert href.startswith(base + "/"), href
        assert re.fullmatch(r"[A-Za-z0-9\-._~/:%\[\]]+", href), href  # every other character percent-encoded
        # a browser resolves '.' and '..' segments: none may move the link off its place on the origin
        assert urljoin(origin + "/", href) == href and urlsplit(href).netloc == urlsplit(base).netloc


@settings(max_examples=20, deadline=None)
@given(base=st.sampled_from(["javascript:alert(1)//", "file:///etc/passwd", "ftp://gitlab.example.com",
                             "https://user:pw@gitlab.example.com", "https:///nohost", "data:text/html,x", 42, None]),
       path=NAMES)
def test_no_link_at_all_when_the_gitlab_url_is_not_plain_http(base: Any, path: str) -> None:
    links = Links(base)
    assert links.home() is None and links.project(path) is None
    assert links.item(path, "job_artifacts", {"job_id": 1}) is None


HOSTILE = st.lists(st.sampled_from([*"a/.<>&\"'?#%\\ :\n\x1b\u202e", "..", "javascript:", "</a>"]),
                   min_size=1, max_size=8).map("".join)


@settings(max_examples=15, deadline=None)
@given(project=HOSTILE, branch=HOSTILE)
def test_every_href_in_the_page_starts_with_the_origin(project: str, branch: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        page = (_plan_branches(Path(directory), f"acme/{project}", [branch]) / "report.html").read_text(
            encoding="utf-8")
    hrefs = [attrs["href"] for tag, attrs in parse_page(page).tags if "href" in attrs]
    assert any(h.startswith(GITLAB + "/") for h in hrefs), "the page links to GitLab"
    for href in hrefs:
        assert href.startswith("#p-") or href.startswith(GITLAB + "/"), href
