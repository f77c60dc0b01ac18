"""The resource registry: adding a kind is adding a module and one line here."""

from __future__ import annotations

from janitor.resources.base import ResourceKind
from janitor.resources.job_artifacts import JobArtifacts

KINDS: dict[str, ResourceKind] = {kind.name: kind for kind in (JobArtifacts(),)}


def kind(name: str) -> ResourceKind:
    return KINDS[name]
