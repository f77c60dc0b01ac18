"""Durations, sizes and the two glob dialects, as the policy language promises them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from janitor.errors import UsageError
from janitor.gitlab_api import normalize_url, render_path
from janitor.matchers import NameMatcher, path_matches
from janitor.units import human_bytes, parse_duration, parse_size


@pytest.mark.parametrize(("text", "expected"), [
    ("12h", timedelta(hours=12)), ("30d", timedelta(days=30)), ("2w", timedelta(days=14)),
    ("1y", timedelta(days=365)), ("30 days", timedelta(days=30)), ("6 months", timedelta(days=180)),
    ("6mo", timedelta(days=180)), ("90 minutes", timedelta(minutes=90)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30", "30 dayz", "d30", "", "-3d", "6m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("10MB", 10_000_000), ("10MiB", 10 * 1024**2), ("1.5GB", 1_500_000_000), ("500kB", 500_000), (42, 42),
    ("2 GiB", 2 * 1024**3),
])
def test_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


def test_human_bytes() -> None:
    assert human_bytes(0) == "0 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 1024**3) == "3.0 GiB"


@pytest.mark.parametrize(("spec", "name", "matches"), [
    ("release/*", "release/1.x", True),
    ("release/*", "release/1.x/hotfix", True),   # like GitLab's protected-branch wildcards
    ("release/*", "prerelease/1", False),
    (["main", "dev*"], "develop", True),
    ({"exclude": ["main", "release/*"]}, "feature/x", True),
    ({"exclude": ["main", "release/*"]}, "release/2", False),
    ({"include": ["feature/*"], "exclude_regex": "feature/keep-.*"}, "feature/keep-me", False),
    ({"regex": "v[0-9]+"}, "v12", True),
    ({"regex": "v[0-9]+"}, "v12-rc", False),     # a regex must match the whole name
])
def test_name_matchers(spec: object, name: str, matches: bool) -> None:
    assert (NameMatcher.from_policy(spec).explain(name) is None) is matches


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("acme/legal/**", "acme/legal/contracts", True),
    ("acme/legal/**", "acme/legal/deep/er", True),
    ("acme/legal/**", "acme/legalese/x", False),
    ("acme/*", "acme/web", True),
    ("acme/*", "acme/web/shop", False),            # * stays inside one segment
    ("**/sandbox-*", "acme/web/sandbox-1", True),
    ("**/sandbox-*", "sandbox-1", True),
])
def test_project_path_globs(pattern: str, path: str, matches: bool) -> None:
    assert (path_matches(path, [pattern]) is not None) is matches


def test_url_normalisation_and_scheme_check() -> None:
    assert normalize_url("https://GitLab.example.com/") == "https://gitlab.example.com"
    assert normalize_url("https://gitlab.example.com/gitlab/api/v4") == "https://gitlab.example.com/gitlab"
    for bad in ("gitlab.example.com", "ftp://gitlab.example.com", "https://user:pw@gitlab.example.com"):
        with pytest.raises(UsageError):
            normalize_url(bad)


def test_path_values_are_encoded_whole() -> None:
    assert render_path("/projects/{project}/repository/branches/{branch}",
                       {"project": "acme/web", "branch": "feature/ü #1%"}) == \
        "/projects/acme%2Fweb/repository/branches/feature%2F%C3%BC%20%231%25"
