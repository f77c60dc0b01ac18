"""The docs a self-managed admin follows alone: links and anchors resolve, one truth per fact, every
environment variable the code reads is in the README's table, the project's pipeline pins every image by an
overridable variable, and the component works on GitLab 17.0 (no `spec:component`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from janitor.resources import KINDS

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# README links are absolute so they work on PyPI too; those into this repository are checked as files
REPO_BLOB = "https://gitlab.com/gitlab-janitor/gitlab-janitor/-/blob/main/"
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_LINK = re.compile(r"(?<!\\)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def gitlab_anchor(heading: str) -> str:
    """GitLab's heading ids (doc/user/markdown.md, "Heading IDs and links"): lower case, everything that is
    not a word character, a space or a hyphen removed, spaces to hyphens, runs of hyphens to one."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"-{2,}", "-", text.replace(" ", "-"))


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in _HEADING.finditer(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = gitlab_anchor(match.group(2))
        count = seen.get(slug, 0)
        found.add(slug if count == 0 else f"{slug}-{count}")  # duplicates get -1, -2 ...
        seen[slug] = count + 1
    return found


def _links() -> list[tuple[Path, str]]:
    return [(doc, target) for doc in DOCS for target in _LINK.findall(_prose(doc.read_text(encoding="utf-8")))]


def test_anchor_rule_matches_gitlabs_examples() -> None:
    # doc/user/markdown.md's own examples of generated ids
    assert gitlab_anchor("This heading has spaces in it") == "this-heading-has-spaces-in-it"
    assert gitlab_anchor("This heading has a \N{THUMBS UP SIGN} in it") == "this-heading-has-a-in-it"
    assert gitlab_anchor("This heading has Unicode in it. 한글") == "this-heading-has-unicode-in-it-한글"
    assert gitlab_anchor("The token: scope and role for each step") == "the-token-scope-and-role-for-each-step"


@pytest.mark.parametrize(("doc", "target"), _links(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_every_relative_link_and_anchor_resolves(doc: Path, target: str) -> None:
    if target.startswith(REPO_BLOB):
        target = str(Path(*[".."] * len(doc.relative_to(ROOT).parts[:-1]), target[len(REPO_BLOB):]) or ".")
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return  # another site (checked by no test: it may be offline) or mailto:
    path_part, _, fragment = target.partition("#")
    linked = (doc.parent / path_part).resolve() if path_part else doc
    assert linked.exists(), f"{doc.relative_to(ROOT)} links to {target}, which does not exist"
    if fragment:
        assert linked.suffix == ".md", f"{doc.relative_to(ROOT)}: #{fragment} into a file that is not Markdown"
        assert fragment in anchors(linked), (
            f"{doc.relative_to(ROOT)} links to {target}: {linked.relative_to(ROOT)} has no heading with id "
            f"#{fragment} (ids: {sorted(anchors(linked))})")


def test_readme_links_work_off_the_repository() -> None:
    """PyPI shows the README as the project's description, where a relative link leads nowhere."""
    relative = [t for t in _LINK.findall(_prose((ROOT / "README.md").read_text(encoding="utf-8")))
                if not re.match(r"^([a-z][a-z0-9+.-]*:|#)", t)]
    assert relative == [], f"make these absolute ({REPO_BLOB}...): {relative}"


# -- one truth per fact ----------------------------------------------------------------------------------


def test_roles_in_the_readme_are_the_ones_the_code_checks() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, kind in KINDS.items():
        roles = set(kind.delete_role.values())
        row = re.search(rf"^\| `{name}`[^|]*\| (\w+) \|", readme, re.MULTILINE)
        assert row, f"the README's role table has no row for {name}"
        assert {row.group(1)} == roles, f"README says {name} needs {row.group(1)}, the code checks {roles}"


def test_no_doc_says_nobody_needs_owner() -> None:
    assert KINDS["pipelines"].delete_role == {"delete": "Owner"}  # doc/api/pipelines.md, permissions.md
    for doc in [*DOCS, *sorted((ROOT / "examples").glob("*.yml")), ROOT / "templates" / "janitor.yml"]:
        text = " ".join(doc.read_text(encoding="utf-8").split())
        assert not re.search(r"nobody needs owner|owner is never needed|no one needs owner", text, re.IGNORECASE), \
            f"{doc.relative_to(ROOT)}: deleting pipelines needs Owner"


# -- environment variables -------------------------------------------------------------------------------

_ENV_READ = re.compile(
    r"""(?:environ\.get\(|environ\[|getenv\(|\benv\.get\(|\benv\[|_env_number\(env,|\brate\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def variables_the_code_reads() -> set[str]:
    found: set[str] = set()
    for source in (ROOT / "janitor").rglob("*.py"):
        if "simulator" in source.parts:
            continue  # the simulator is a test double, not what users configure
        found |= set(_ENV_READ.findall(source.read_text(encoding="utf-8")))
    return found


def variables_in_the_readme_table() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Environment variables\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def test_the_environment_table_lists_every_variable_the_code_reads() -> None:
    read = variables_the_code_reads()
    assert {"GITLAB_URL", "GITLAB_TOKEN", "JANITOR_LOG_LEVEL", "JANITOR_TIMEOUT"} <= read  # the scan works
    documented = variables_in_the_readme_table()
    assert read - documented == set(), f"read by the code but not in the README's table: {read - documented}"
    # and the ones requests reads for collect and apply
    assert {"REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "NO_PROXY"} <= documented
    assert documented - read <= {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY",
                                 "NO_PROXY"}, "the table lists a variable nothing reads"


# -- images and GitLab versions --------------------------------------------------------------------------


class _CiLoader(yaml.SafeLoader):
    pass


_CiLoader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))  # type: ignore[arg-type]


def _pipeline() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8"), Loader=_CiLoader)
    return loaded


def test_project_pipeline_pins_every_image_by_an_overridable_variable() -> None:
    pipeline = _pipeline()
    variables: dict[str, str] = pipeline["variables"]
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and name != "variables"}
    images = {name: job["image"] for name, job in jobs.items() if "image" in job}
    assert len(images) >= 5
    for name, image in images.items():
        value = image["name"] if isinstance(image, dict) else image
        found = re.fullmatch(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", value)
        assert found, f"job {name}: image {value!r} is not one variable an administrator can override"
        assert found.group(1) in variables, f"job {name}: {found.group(1)} is not a top-level variable"
    for key, value in variables.items():
        if key.endswith("IMAGE"):
            assert not re.search(r":latest\b", value), f"{key} is {value}: pin a version (or a digest)"
            assert re.search(r":[\w.$-]+(@sha256:[0-9a-f]{64})?$", value), f"{key} is {value}: give a tag"
    assert ":latest" not in (ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8")
    for name, job in jobs.items():  # a job's own image variable only passes a top-level one on
        for key, value in (job.get("variables") or {}).items():
            if key.endswith("IMAGE"):
                found = re.fullmatch(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", str(value))
                assert found and found.group(1) in variables, f"job {name}: {key} must name a top-level variable"


def test_component_works_without_spec_component() -> None:
    """`spec:component` and `$[[ component.* ]]` need GitLab 18.6; the component must run on 17.0."""
    text = (ROOT / "templates" / "janitor.yml").read_text(encoding="utf-8")
    header = yaml.safe_load(text.split("\n---\n")[0])
    assert "component" not in header["spec"]
    assert "$[[ component." not in text and "$[[component." not in text
    # the input keywords it uses exist on 17.0 (doc/ci/yaml/_index.md, spec:inputs)
    used = {key for spec in header["spec"]["inputs"].values() for key in spec}
    assert used <= {"description", "type", "default", "regex", "options"}, used
    assert "rules" not in {key for spec in header["spec"]["inputs"].values() for key in spec}


def test_supported_versions_are_stated_where_admins_look() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    component = (ROOT / "docs" / "ci-component.md").read_text(encoding="utf-8")
    for text in (readme, component):
        assert "GitLab 17.0 or later" in text or "GitLab\n**17.0 and later**" in text or "**17.0 and later**" in text
        assert "16.0" in text and "18.6" in text
    table = readme.split("\n## GitLab versions\n", 1)[1].split("\n## ", 1)[0]
    for feature in ("package protection rules", "deleting pipelines", "keyset pagination", "`spec:inputs`"):
        assert feature in table, f"the versions table does not cover {feature}"


def test_sections_named_in_prose_exist() -> None:
    """`see the README's "The policy"` must name a heading the README has."""
    readme_headings = {m.group(2) for m in _HEADING.finditer(_FENCE.sub("", (ROOT / "README.md").read_text()))}
    for doc in [*DOCS, ROOT / "templates" / "janitor.yml", *sorted((ROOT / "examples").glob("*.yml"))]:
        for name in re.findall(r"README's \"([^\"]+)\"", doc.read_text(encoding="utf-8")):
            assert name in readme_headings, f"{doc.relative_to(ROOT)} refers to the README's {name!r}, which it lacks"
