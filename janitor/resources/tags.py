"""Tags: `delete` removes a Git tag (DELETE /projects/:id/repository/tags/:tag_name, doc/api/tags.md).
GitLab deletes the tag's release with it, so tags with a release are never planned.

Age is the tag's created_at (annotated tags), else its commit's date. Built in: protected tags and tags
with a release. Both are read from the tag itself (GitLab's `protected` and `release` fields) and from
`_protectedTags` / `_releases` when an inventory carries them. An inventory made by other tooling whose
tags carry neither field, nor the lists, cannot show that a tag is unprotected: such a tag is kept, and
the report says why.

`keep.latest` ranks `per: project` by date, or `per: version` by semantic version (`v1.10.0` above
`v1.9.0`, a pre-release below its release), with tags that are not versions after every version,
newest first. A separate `per` value, rather than an ordering knob, keeps `keep:` one shape for all kinds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.model import Candidate, Json, PlanItem, parse_time
from janitor.resources.base import CollectContext, PerSpec, RecheckFailed, ResourceKind, require_unchanged
from janitor.resources.branches import matching_rule

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

TAGS = "/projects/{project}/repository/tags"
TAG = "/projects/{project}/repository/tags/{tag}"
VERSION = re.compile(r"^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+.]?(.*))?$")


def version_rank(name: str, stamp: float) -> tuple[int, tuple[int, ...], int, str, float]:
    """Sort key, highest first: versions by number (a release above its pre-releases), then the rest."""
    found = VERSION.match(name)
    if not found:
        return (0, (), 0, "", stamp)
    numbers = tuple(int(part or 0) for part in found.groups()[:3])
    suffix = found.group(4) or ""
    return (1, numbers, 0 if suffix else 1, suffix, stamp)


def protection(tag: Json, project: Json) -> str | None:
    name = str(tag.get("name"))
    rules = project.get("_protectedTags")
    rule = matching_rule(name, list(rules or []))
    if rule is not None:
        return f"protected tag (rule {rule!r})"
    if tag.get("protected"):
        return "protected tag"
    if "protected" not in tag and rules is None:
        return "protection unknown: the inventory has neither the tag's protected flag nor _protectedTags"
    releases = project.get("_releases")
    if tag.get("release") or any(r.get("tag_name") == name for r in releases or []):
        return "has a release (deleting the tag would delete the release)"
    if "release" not in tag and releases is None:
        return "release unknown: the inventory has neither the tag's release field nor _releases"
    return None


def fingerprint(tag: Json) -> dict[str, Any]:
    return {"target": tag.get("target") or (tag.get("commit") or {}).get("id")}


def tag_date(tag: Json) -> str | None:
    commit = tag.get("commit") or {}
    return tag.get("created_at") or commit.get("committed_date") or commit.get("created_at")


class Tags(ResourceKind):
    name = "tags"
    summary = "Git tags, never protected ones or ones with a release"
    age_field = "the tag's created_at, else its commit's date"
    actions = ("delete",)
    delete_role = {"delete": "Developer"}  # doc/user/permissions.md: "Rewrite or remove Git tags"
    conditions = ("older_than", "name")
    per: ClassVar[dict[str, PerSpec]] = {
        "project": PerSpec((), description="the N newest tags of the project, by date"),
        "version": PerSpec((), rank="version_rank",
                           description="the N highest versions of the project (non-versions after them)"),
    }
    default_per = "project"
    inventory_keys = ("_tags",)
    protections = ("protected tags (flag and rules, wildcards included)", "tags with a release")

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        if "_tags" in project:
            return {}
        # Each tag carries `protected` and `release`, so neither rules nor releases need listing.
        return {"_tags": list(api.list(TAGS, project=project["id"]))}

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        for tag in project.get("_tags") or []:
            name = str(tag.get("name"))
            age = parse_time(tag_date(tag))
            yield Candidate(
                key=f"tag:{name}",
                title=f"tag {name}",
                target={"tag": name},
                fingerprint=fingerprint(tag),
                age_at=age,
                bytes=0,
                attrs={"name": name, "version_rank": version_rank(name, age.timestamp() if age else 0.0)},
                protected=protection(tag, project),
            )

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        tag = api.get(TAG, project=item.project_id, tag=item.target["tag"])  # 404: already gone
        require_unchanged(item, fingerprint(tag))
        reason = protection(tag, {})
        if reason:
            raise RecheckFailed(f"now protected: {reason}")

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        api.delete(TAG, project=item.project_id, tag=item.target["tag"])
