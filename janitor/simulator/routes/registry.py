"""Project container registry: repositories and their tags (doc/api/container_registry.md).

Deleting a tag deletes its manifest, as GitLab's registry does, so every tag on the same digest goes
with it (the janitor must never delete a tag whose digest a kept tag shares). The delete answers
`200 OK` with no body (lib/api/project_container_repositories.rb `status :ok`, see errors.md).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from janitor.simulator.registry_records import ContainerRepository, RegistryTag, recount, repositories
from janitor.simulator.routing import Context, Listing, Response, forbidden, not_found, route
from janitor.simulator.state import DEVELOPER_ROLE, Project, iso


def _host(ctx: Context) -> str:
    return f"registry.{urlsplit(ctx.base_url).hostname or 'localhost'}"


def _path(project: Project, repo: ContainerRepository) -> str:
    return project.path_with_namespace + (f"/{repo.name}" if repo.name else "")


def render_repository(repo: ContainerRepository, project: Project, ctx: Context, tags: bool = False,
                      tags_count: bool = False) -> dict[str, Any]:
    path = _path(project, repo)
    data: dict[str, Any] = {
        "id": repo.id, "name": repo.name, "path": path, "project_id": project.id,
        "location": f"{_host(ctx)}/{path}", "created_at": iso(repo.created_at),
        # the expiration policy last ran when the repository was created (never since)
        "cleanup_policy_started_at": iso(repo.created_at), "status": None,
    }
    if tags_count:
        data["tags_count"] = len(repo.tags)
    if tags:
        data["tags"] = [render_tag(t, repo, project, ctx) for t in _sorted(repo)]
    return data


def render_tag(tag: RegistryTag, repo: ContainerRepository, project: Project, ctx: Context) -> dict[str, Any]:
    path = f"{_path(project, repo)}:{tag.name}"
    return {"name": tag.name, "path": path, "location": f"{_host(ctx)}/{path}"}


def render_tag_details(tag: RegistryTag, repo: ContainerRepository, project: Project,
                       ctx: Context) -> dict[str, Any]:
    data = render_tag(tag, repo, project, ctx)
    revision = tag.digest.split(":", 1)[1][::-1]  # the config blob's digest: derived, stable, not the manifest's
    seconds, millis = divmod(tag.created_at, 1000)
    data.update({
        "revision": revision, "short_revision": revision[:9], "digest": tag.digest,
        # GitLab renders this one with an offset, not "Z" (registry_tag_details.json)
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+00:00",
        "total_size": tag.total_size,
    })
    return data


def _sorted(repo: ContainerRepository) -> list[RegistryTag]:
    return [repo.tags[name] for name in sorted(repo.tags)]  # GitLab lists tags by name


def _readable(ctx: Context) -> Project:
    project = ctx.project()
    # ProjectPolicy prevents reading container images when the project's registry is disabled
    if project.collections.get("container_registry_disabled"):
        raise forbidden()
    return project


def _repository(ctx: Context, project: Project) -> ContainerRepository:
    raw = ctx.params["repository_id"]
    found = next((r for r in repositories(project) if str(r.id) == raw), None)
    if found is None:
        raise not_found("Repository")
    return found


@route("GET", "/projects/:id/registry/repositories")
def list_repositories(ctx: Context) -> Listing:
    project = _readable(ctx)
    tags, tags_count = bool(ctx.flag("tags")), bool(ctx.flag("tags_count"))
    return Listing(repositories(project), lambda r: render_repository(r, project, ctx, tags, tags_count))


@route("GET", "/registry/repositories/:repository_id")
def get_repository(ctx: Context) -> Response:
    raw = ctx.params["repository_id"]
    for project in ctx.instance.projects.values():
        for repo in repositories(project):
            if str(repo.id) == raw:
                data = render_repository(repo, project, ctx, bool(ctx.flag("tags")), bool(ctx.flag("tags_count")))
                if ctx.flag("size"):
                    data["size"] = sum({t.digest: t.total_size for t in repo.tags.values()}.values())
                return Response(body=data)
    raise not_found("Repository")


@route("GET", "/projects/:id/registry/repositories/:repository_id/tags")
def list_tags(ctx: Context) -> Listing:
    project = _readable(ctx)
    repo = _repository(ctx, project)
    return Listing(_sorted(repo), lambda t: render_tag(t, repo, project, ctx))


@route("GET", "/projects/:id/registry/repositories/:repository_id/tags/:tag_name")
def get_tag(ctx: Context) -> Response:
    project = _readable(ctx)
    repo = _repository(ctx, project)
    tag = repo.tags.get(ctx.params["tag_name"])
    if tag is None:
        raise not_found("Tag")
    return Response(body=render_tag_details(tag, repo, project, ctx))


@route("DELETE", "/projects/:id/registry/repositories/:repository_id/tags/:tag_name")
def delete_tag(ctx: Context) -> Response:
    project = _readable(ctx)
    ctx.require_role(DEVELOPER_ROLE)  # destroy_container_image: Developer and above
    repo = _repository(ctx, project)
    tag = repo.tags.get(ctx.params["tag_name"])
    if tag is None:
        raise not_found("Tag")
    repo.delete_manifest(tag.digest)
    recount(project)
    return Response(200)
