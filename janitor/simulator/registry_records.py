"""Records of the registry-like families of one simulated project: container repositories and their
tags, packages and their files, environments and their last deployment. They hang off
`Project.collections` so the core state module stays untouched, and only what GitLab's answers depend
on is stored (times are epoch ms; URLs and paths are derived when rendered).

Ids are derived from the project id (`project.id * 100 + n` ...), so they are unique on the instance
without a shared counter, and the populate step stays independent of every other family.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from janitor.simulator.state import Project
from janitor.simulator.wildcards import package_rule_matches

REGISTRY, PACKAGES, PACKAGE_RULES, ENVIRONMENTS, PROTECTED_ENVIRONMENTS = (
    "container_repositories", "packages", "package_protection_rules", "environments", "protected_environments",
)
# project statistics this module keeps current (projects_groups.render_statistics reads them)
REGISTRY_SIZE, PACKAGES_SIZE = "container_registry_size", "packages_size"


@dataclass(slots=True, eq=False)
class RegistryTag:
    name: str
    digest: str  # "sha256:<64 hex>"; tags pushed from the same image share it
    created_at: int  # the manifest's creation time, as GitLab reports it
    total_size: int


@dataclass(slots=True, eq=False)
class ContainerRepository:
    id: int
    project_id: int
    name: str  # "" for the project's root image
    created_at: int
    tags: dict[str, RegistryTag] = field(default_factory=dict)

    def delete_manifest(self, digest: str) -> list[str]:
        """GitLab's registry deletes a tag by deleting its manifest: every tag on that digest goes."""
        gone = [name for name, tag in self.tags.items() if tag.digest == digest]
        for name in gone:
            del self.tags[name]
        return gone


@dataclass(slots=True, eq=False)
class PackageFile:
    id: int
    file_name: str
    size: int
    created_at: int
    sha: str


@dataclass(slots=True, eq=False)
class Package:
    id: int
    project_id: int
    name: str
    version: str
    package_type: str
    status: str  # default, hidden, processing, error, pending_destruction, deprecated
    created_at: int
    files: list[PackageFile] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(slots=True, eq=False)
class PackageProtectionRule:
    """doc/api/project_packages_protection_rules.md: a name pattern (`*` wildcard) and a type."""

    id: int
    project_id: int
    package_name_pattern: str
    package_type: str
    minimum_access_level_for_delete: str | None = "owner"
    minimum_access_level_for_push: str | None = "maintainer"

    def covers(self, package: Package) -> bool:
        return package.package_type == self.package_type and package_rule_matches(self.package_name_pattern,
                                                                                  package.name)


@dataclass(slots=True, eq=False)
class Deployment:
    id: int
    iid: int
    ref: str
    sha: str
    status: str  # created, running, success, failed, canceled, blocked
    created_at: int
    job_id: int


@dataclass(slots=True, eq=False)
class Environment:
    id: int
    project_id: int
    name: str
    tier: str
    state: str  # available, stopping, stopped
    created_at: int
    updated_at: int
    last_deployment: Deployment | None = None

    @property
    def slug(self) -> str:
        base = "".join(ch if ch.isalnum() else "-" for ch in self.name.lower())[:17].strip("-")
        return f"{base}-{self.id % 1_000_000:06x}"


def repositories(project: Project) -> list[ContainerRepository]:
    return project.collections.get(REGISTRY) or []


def packages(project: Project) -> list[Package]:
    return project.collections.get(PACKAGES) or []


def package_rules(project: Project) -> list[PackageProtectionRule]:
    return project.collections.get(PACKAGE_RULES) or []


def environments(project: Project) -> list[Environment]:
    return project.collections.get(ENVIRONMENTS) or []


def protected_environments(project: Project) -> dict[str, int]:
    """Protected environment name -> the access level allowed to deploy (40 Maintainers, 60 admins)."""
    return project.collections.get(PROTECTED_ENVIRONMENTS) or {}


def recount(project: Project) -> None:
    """Keep the project's statistics equal to what its registry and packages hold."""
    registry = 0
    for repo in repositories(project):
        seen: set[str] = set()
        for tag in repo.tags.values():
            if tag.digest not in seen:  # the registry stores one manifest per digest
                seen.add(tag.digest)
                registry += tag.total_size
    project.collections[REGISTRY_SIZE] = registry
    project.collections[PACKAGES_SIZE] = sum(p.size for p in packages(project) if p.status != "pending_destruction")
