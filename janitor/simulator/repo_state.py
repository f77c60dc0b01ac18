"""Repository records of one simulated project: branches, tags, protection rules, releases and merge
requests. They live in `Project.collections["repository"]` so the core state module stays untouched.

Only what GitLab's answers depend on is stored; commits are a sha and a time (epoch ms), and the rest
of a commit object is derived when it is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from janitor.simulator.state import Project
from janitor.simulator.wildcards import ref_rule_matches


@dataclass(slots=True, eq=False)
class Branch:
    name: str
    sha: str
    committed_at: int
    merged: bool = False


@dataclass(slots=True, eq=False)
class Tag:
    name: str
    sha: str
    committed_at: int
    created_at: int | None = None  # annotated tags only; lightweight tags have no date of their own
    message: str | None = None


@dataclass(slots=True, eq=False)
class ProtectionRule:
    """A protected-branch rule (push and merge levels) or protected-tag rule (create level in `push`)."""

    id: int
    name: str
    push: int = 40
    merge: int = 40


@dataclass(slots=True, eq=False)
class Release:
    tag_name: str
    name: str
    created_at: int


@dataclass(slots=True, eq=False)
class MergeRequest:
    id: int
    iid: int
    project_id: int
    title: str
    source_branch: str
    target_branch: str
    state: str  # opened, closed, merged
    sha: str
    created_at: int
    updated_at: int
    # the fork the source branch lives in; None: the MR's own (target) project
    source_project_id: int | None = None

    @property
    def source_project(self) -> int:
        return self.project_id if self.source_project_id is None else self.source_project_id


@dataclass(slots=True, eq=False)
class Repository:
    branches: dict[str, Branch] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    protected_branches: dict[str, ProtectionRule] = field(default_factory=dict)
    protected_tags: dict[str, ProtectionRule] = field(default_factory=dict)
    releases: dict[str, Release] = field(default_factory=dict)
    merge_requests: list[MergeRequest] = field(default_factory=list)

    def branch_rule(self, name: str) -> ProtectionRule | None:
        """The rule protecting branch `name`: an exact rule first, else the first wildcard that matches
        (GitLab's `*` matches any characters, "/" included)."""
        return _rule_for(self.protected_branches, name)

    def tag_rule(self, name: str) -> ProtectionRule | None:
        return _rule_for(self.protected_tags, name)


def _rule_for(rules: dict[str, ProtectionRule], name: str) -> ProtectionRule | None:
    exact = rules.get(name)
    if exact is not None:
        return exact
    return next((r for r in rules.values() if ref_rule_matches(r.name, name)), None)


def repository(project: Project) -> Repository:
    repo = project.collections.get("repository")
    if repo is None:
        repo = project.collections["repository"] = Repository()
    return repo  # type: ignore[no-any-return]
