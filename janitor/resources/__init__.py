"""The resource registry: adding a kind is adding a module and one line here."""

from __future__ import annotations

from janitor.resources.base import ResourceKind
from janitor.resources.branches import Branches
from janitor.resources.container_tags import ContainerTags
from janitor.resources.environments import Environments
from janitor.resources.job_artifacts import JobArtifacts
from janitor.resources.packages import Packages
from janitor.resources.pipelines import Pipelines
from janitor.resources.protected_branches import ProtectedBranches
from janitor.resources.tags import Tags

KINDS: dict[str, ResourceKind] = {kind.name: kind for kind in (
    JobArtifacts(), Pipelines(), Branches(), Tags(), ProtectedBranches(),
    ContainerTags(), Packages(), Environments(),
)}


def kind(name: str) -> ResourceKind:
    return KINDS[name]
