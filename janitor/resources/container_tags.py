"""Container registry tags (doc/api/container_registry.md).

`delete` removes one tag (DELETE /projects/:id/registry/repositories/:repository_id/tags/:tag_name,
200 OK). GitLab's registry deletes a tag by deleting its manifest, so every tag on the same digest goes
with it: a tag is only ever removed together with every other tag on its image.

Which tags need details (digest, created_at, total_size: one GET per tag)? A tag no rule could remove
by name alone (`latest`, in keep.names, or outside the rule's `name` matcher) needs none for itself,
but its digest still matters: deleting any other tag on the same image would delete it too. So the
rule is per repository: when at least one tag passes the name filters of some rule in effect for the
project, every tag of that repository gets its details (the kept ones are needed for the digest check);
when none does, no tag of it gets any. This is safe because a repository without details yields no
removable candidate (a tag of unknown digest is protected, below), and a repository with details knows
every digest in it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.errors import NotFound
from janitor.model import KEPT_PROTECTED, Candidate, Json, Kept, PlanItem, parse_time
from janitor.resources.base import CollectContext, Decision, PerSpec, RecheckFailed, ResourceKind
from janitor.resources.common import list_refs, live_refs, name_may_be_removed, rules_for, uses

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

REPOSITORIES = "/projects/{project}/registry/repositories"
TAGS = "/projects/{project}/registry/repositories/{repository}/tags"
TAG = "/projects/{project}/registry/repositories/{repository}/tags/{tag}"
REPOSITORY_FIELDS = ("id", "name", "path", "project_id", "location", "created_at", "tags_count")
DETAIL_FIELDS = ("digest", "created_at", "total_size", "revision")


def _tags_of(container: Json) -> list[Json]:
    # ours: `_tags`; GitLab's `?tags=true` (Open Group inventories): `tags`
    tags = container.get("_tags")
    return list(tags if tags is not None else container.get("tags") or [])


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class ContainerTags(ResourceKind):
    name = "container_tags"
    summary = "container registry tags (an image goes only when every tag on it goes)"
    age_field = "the tag's created_at (when its image manifest was made)"
    actions = ("delete",)
    delete_role = {"delete": "Developer"}  # doc/user/permissions.md: "Remove a container registry image"
    conditions = ("older_than", "name", "orphaned", "larger_than")
    per: ClassVar[dict[str, PerSpec]] = {
        "repository": PerSpec(("repository",), unit="digest",
                              description="the newest N images of each registry repository (tags on one digest "
                                          "count as one)"),
        "project": PerSpec((), unit="digest", description="the newest N images of the project"),
    }
    default_per = "repository"
    inventory_keys = ("_containers",)
    protections = (
        "the tag `latest`",
        "any tag that shares its digest with a kept tag (deleting a tag deletes its image's manifest)",
        "tags whose digest the inventory does not know, when their repository has other tags",
    )

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        # ProjectPolicy forbids reading images when the registry is disabled: nothing to list, and asking
        # would answer 403. container_registry_size is not used to skip projects: it is only maintained
        # with the registry's metadata database ("You cannot view container registry usage for
        # self-managed instances", doc/user/packages/container_registry/reduce_container_registry_storage.md),
        # so 0 does not prove an empty registry.
        if project.get("container_registry_access_level") == "disabled" or \
                project.get("container_registry_enabled") is False:
            return {"_containers": []}
        rules = rules_for(ctx, self.name, project)
        if rules == []:
            return {"_containers": []}  # every rule of this kind is disabled here by an override
        containers: list[Json] = []
        # tags_count lets the API say which repositories are empty, so their tags are never listed
        for repo in api.list(REPOSITORIES, {"tags_count": "true"}, project=project["id"]):
            entry = {k: repo.get(k) for k in REPOSITORY_FIELDS}
            tags: list[Json] = []
            if repo.get("tags_count") != 0:
                tags = list(api.list(TAGS, project=project["id"], repository=repo["id"]))
            if any(name_may_be_removed(rules, str(t.get("name"))) and t.get("name") != "latest" for t in tags):
                for tag in tags:
                    details = api.get(TAG, project=project["id"], repository=repo["id"], tag=tag["name"])
                    tag.update({k: details.get(k) for k in DETAIL_FIELDS})
            entry["_tags"] = tags
            containers.append(entry)
        found: Json = {"_containers": containers}
        if uses(rules, "orphaned") and any(c["_tags"] for c in containers):
            found.update(list_refs(api, project))
        return found

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        refs = live_refs(project)
        for container in project.get("_containers") or []:
            tags = _tags_of(container)
            by_digest: dict[str, list[str]] = defaultdict(list)
            for tag in tags:
                if tag.get("digest"):
                    by_digest[str(tag["digest"])].append(str(tag["name"]))
            path = str(container.get("path") or container.get("location") or container.get("id"))
            for tag in tags:
                name, digest = str(tag.get("name")), tag.get("digest")
                siblings = sorted(n for n in by_digest.get(str(digest), []) if n != name) if digest else []
                yield Candidate(
                    key=f"container:{container.get('id')}:{name}",
                    title=f"{path}:{name}" + (f" (image {_short(str(digest))}, also {', '.join(siblings)})"
                                              if siblings else ""),
                    target={"repository_id": container.get("id"), "tag_name": name},
                    fingerprint={"digest": digest, "created_at": tag.get("created_at"), "shared_with": siblings},
                    age_at=parse_time(tag.get("created_at")),
                    bytes=int(tag.get("total_size") or 0),
                    attrs={"name": name, "repository": path, "digest": digest or f"tag:{name}",
                           "orphaned": None if refs is None else name not in refs},
                    protected=self._protection(name, digest, siblings, len(tags)),
                )

    @staticmethod
    def _protection(name: str, digest: Any, siblings: list[str], count: int) -> str | None:
        if name == "latest":
            return "the tag `latest` is never removed"
        if "latest" in siblings:
            return f"shares its image (digest {_short(str(digest))}) with the tag `latest`"
        if not digest and count > 1:
            return "its digest is unknown (no tag details in the inventory): it may share its image with a kept tag"
        return None

    def settle(self, decisions: list[Decision]) -> list[Decision]:
        """Tags on one image share their fate: if one is kept, all are; each image's bytes count once."""
        kept_by_image: dict[tuple[Any, str], Kept] = {}
        for candidate, kept in decisions:
            if kept is not None:
                kept_by_image.setdefault(self._image(candidate), kept)
        settled: list[Decision] = []
        counted: set[tuple[Any, str]] = set()
        for candidate, kept in decisions:
            image = self._image(candidate)
            if image in counted:
                candidate = dataclasses.replace(candidate, bytes=0)
                kept = dataclasses.replace(kept, bytes=0) if kept else None
            counted.add(image)
            keeper = kept_by_image.get(image)
            if kept is None and keeper is not None:
                kept = Kept(keeper.rule, keeper.resource, candidate.title, candidate.bytes, KEPT_PROTECTED,
                            f"shares its image (digest {_short(image[1])}) with the kept tag "
                            f"{keeper.title.split(' (')[0]!r}: deleting it would delete that tag too")
            settled.append((candidate, kept))
        return settled

    @staticmethod
    def _image(candidate: Candidate) -> tuple[Any, str]:
        return candidate.target.get("repository_id"), str(candidate.attrs.get("digest"))

    def notes(self, project: Json) -> list[str]:
        return [f"registry repository {c.get('path') or c.get('id')} has no tags"
                for c in project.get("_containers") or []
                if not _tags_of(c) and c.get("tags_count") in (0, None)]

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        project, repository, name = item.project_id, item.target["repository_id"], item.target["tag_name"]
        details = api.get(TAG, project=project, repository=repository, tag=name)  # 404: already gone
        planned = item.fingerprint
        if name == "latest":
            raise RecheckFailed("now protected: the tag `latest` is never removed")
        for key in ("digest", "created_at"):
            if details.get(key) != planned.get(key):
                raise RecheckFailed(f"changed since the plan: {key} {planned.get(key)!r} -> {details.get(key)!r}")
        allowed = {name, *(planned.get("shared_with") or [])}
        others = sorted(n for n, d in self._digests(api, project, repository, cache).items()
                        if d == planned.get("digest") and n not in allowed)
        if others:
            raise RecheckFailed(f"now protected: its image is also tagged {', '.join(others)}, which the plan "
                                "keeps (deleting it would delete those too)")

    @staticmethod
    def _digests(api: GitLabAPI, project: int, repository: Any, cache: dict[Any, Any]) -> dict[str, Any]:
        """Every tag's digest in the repository as it is now, read once per repository per apply run."""
        key = ("container-digests", project, repository)
        if key not in cache:
            digests: dict[str, Any] = {}
            for tag in api.list(TAGS, project=project, repository=repository):
                try:
                    digests[str(tag["name"])] = api.get(TAG, project=project, repository=repository,
                                                        tag=tag["name"]).get("digest")
                except NotFound:
                    continue  # deleted meanwhile (by this run, with its image)
            cache[key] = digests
        return dict(cache[key])

    def shares_fate(self, item: PlanItem) -> Hashable | None:
        digest = item.fingerprint.get("digest")
        return ("image", item.project_id, item.target.get("repository_id"), digest) if digest else None

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        api.delete(TAG, project=item.project_id, repository=item.target["repository_id"],
                   tag=item.target["tag_name"])
