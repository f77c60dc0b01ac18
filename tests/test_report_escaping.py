"""Names chosen by project members cannot change the shape of the reports a reviewer reads.

A branch named `feat/</details><details><summary>x` must not refold report.md in a merge request, a `|` must
not add a table column, `[x](javascript:..)` must not become a link, a newline must not start a block; in
report.html nothing from the data becomes markup, and the page runs only its own script and style (CSP).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_helpers import parse_page

from janitor.cli import main
from janitor.inventory import InventoryWriter

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 1000, max_percent: 100}
rules:
  - name: merged-branches
    resource: branches
    action: delete
    match: {merged: true, older_than: 30d}
"""
OLD = "2024-01-01T00:00:00Z"

HOSTILE = st.lists(st.sampled_from([
    "a", "/", " ", "<", ">", "&", "|", "[", "]", "(", ")", "*", "_", "`", "#", "\\", "!", "~", "$", ":", "-", "\n",
    "\r", "\x1b", "\u202e", "\u2066", "\x85", "</details>", "<details>", "<summary>", "</summary>",
    "[x](javascript:alert(1))", "![i](http://x/y.png)", "\n# h\n", "| a | b |", "\n> q", "\n---\n", "<script>",
    "&lt;", "&#124;", "\\|", "**b**", "_i_", "\n\n", "\r\n",
]), min_size=1, max_size=12).map("".join)


def _report(directory: Path, name: str) -> tuple[str, str]:
    """report.md and report.html of a plan over one project named after `name`, in which a branch named
    `name` is removed and another (protected) one named `name` too is kept, its reason naming it."""
    writer = InventoryWriter(directory / "inv", "2025-03-01T00:00:00Z", {"gitlab_url": "https://gitlab.example.com"})
    branches = [
        {"name": "main", "default": True, "merged": False, "protected": True,
         "commit": {"id": "a" * 40, "committed_date": OLD}},
        {"name": name, "merged": True, "protected": False, "commit": {"id": "b" * 40, "committed_date": OLD}},
        {"name": name + "x", "merged": True, "protected": True, "commit": {"id": "c" * 40, "committed_date": OLD}},
    ]
    writer.add_project({"id": 7, "path_with_namespace": f"acme/{name}", "default_branch": "main",
                        "archived": False, "_branches": branches, "_protectedBranches": [{"name": name + "x"}]})
    writer.commit()
    (directory / "policy.yml").write_text(POLICY, encoding="utf-8")
    with contextlib.redirect_stderr(io.StringIO()) as errors:
        code = main(["plan", "--policy", str(directory / "policy.yml"), "--inventory", str(directory / "inv"),
                     "--out", str(directory / "plan.json"), "--report-dir", str(directory / "report")])
    assert code == 0, errors.getvalue()
    report = directory / "report"
    return (report / "report.md").read_text(encoding="utf-8"), (report / "report.html").read_text(encoding="utf-8")


def _cells(line: str) -> int:
    """Columns of a GFM table row: pipes not escaped by a backslash split cells."""
    return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))


def markdown_structure(text: str) -> dict[str, Any]:
    lines = text.split("\n")
    return {
        "lines": len(lines),
        "headings": [n for n, line in enumerate(lines) if line.lstrip().startswith("#")],
        "quotes": [n for n, line in enumerate(lines) if line.lstrip().startswith(">")],
        "list items": [n for n, line in enumerate(lines) if re.match(r"\s*([-+*]|\d+[.)])\s", line)],
        "table rows": [(n, _cells(line)) for n, line in enumerate(lines) if line.startswith("|")],
        # every character that can open markup, counted: the data adds none of them
        "markup": {c: text.count(c) for c in "<>[]`*|~$\\\r\x1b\u202e\u2066\x85"},
        # `_` opens or closes emphasis only next to a non-alphanumeric character
        "underscores": len(re.findall(r"(?<![^\W_])_|_(?![^\W_])", text)),
        "folds": (text.count("<details>"), text.count("</details>"), text.count("<summary>")),
    }


def html_structure(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(tag, tuple(sorted(k for k in attrs if k not in ("aria-label",)))) for tag, attrs in parse_page(text).tags]


@functools.cache
def _plain() -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as directory:
        return _report(Path(directory), "plain")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=HOSTILE)
def test_a_hostile_name_never_changes_the_shape_of_the_reports(name: str) -> None:
    plain_md, plain_html = _plain()
    with tempfile.TemporaryDirectory() as directory:
        hostile_md, hostile_html = _report(Path(directory), name)
    assert markdown_structure(hostile_md) == markdown_structure(plain_md)
    assert html_structure(hostile_html) == html_structure(plain_html)


def test_the_refolding_branch_from_the_issue_is_shown_as_text(tmp_path: Path) -> None:
    name = "feat/</details><details><summary>x"
    markdown, page = _report(tmp_path, name)
    assert markdown.count("<details>") == markdown.count("</details>") == 2
    assert "branch feat/&lt;/details&gt;&lt;details&gt;&lt;summary&gt;x" in markdown
    assert "feat/&lt;/details&gt;&lt;details&gt;&lt;summary&gt;x" in page


class _Inline(HTMLParser):
    """The text of every <script> and <style>, and the CSP meta's policy."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, list[str]] = {"script": [], "style": []}
        self.policy: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.policy.append(values.get("content") or "")
        if tag in self.blocks:
            self._open = tag
            self.blocks[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.blocks[self._open][-1] += data


def test_the_csp_allows_exactly_the_page_s_own_script_and_style(tmp_path: Path) -> None:
    _, page = _report(tmp_path, "plain")
    found = _Inline()
    found.feed(page)
    assert len(found.policy) == 1
    directives = {d.split()[0]: d.split()[1:] for d in found.policy[0].split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"]
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        assert found.blocks[tag], f"the page has an inline {tag}"
        hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
                  for text in found.blocks[tag]}
        assert set(directives[directive]) == hashes, f"{directive} lists exactly the hashes of the page's {tag}s"
    assert "unsafe-inline" not in found.policy[0]
    # everything else stays forbidden: no other directive loosens default-src, no source but the hashes
    assert directives == {**directives, "default-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'none'"]}
    assert set(directives) == {"default-src", "style-src", "script-src", "base-uri", "form-action"}
    for directive in ("style-src", "script-src"):
        assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", source) for source in directives[directive])
