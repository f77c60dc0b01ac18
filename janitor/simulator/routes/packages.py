"""Project packages, their files and protection rules (doc/api/packages.md,
doc/api/project_packages_protection_rules.md)."""

from __future__ import annotations

from typing import Any

from janitor.simulator.registry_records import Package, PackageFile, package_rules, packages, recount
from janitor.simulator.routing import ApiError, Context, Listing, Response, bad_request, forbidden, not_found, route
from janitor.simulator.state import MAINTAINER, Project, iso

# packages.md: "By default, packages with default, deprecated, and error status are returned."
LISTED_BY_DEFAULT = frozenset({"default", "deprecated", "error"})
STATUSES = frozenset({"default", "hidden", "processing", "error", "pending_destruction", "deprecated"})
# packages.md "Get a project package": "Only packages with status default or deprecated are returned."
SHOWN_SINGLY = frozenset({"default", "deprecated"})
_ORDER = {"created_at": lambda p: (p.created_at, p.id), "name": lambda p: (p.name, p.id),
          "version": lambda p: (p.version, p.id), "type": lambda p: (p.package_type, p.id)}


def render_package(package: Package, project: Project, ctx: Context, single: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": package.id, "name": package.name, "version": package.version,
        "package_type": package.package_type, "status": package.status,
        "_links": {
            "web_path": f"/{project.path_with_namespace}/-/packages/{package.id}",
            "delete_api_path": f"{ctx.base_url}/api/v4/projects/{project.id}/packages/{package.id}",
        },
        "created_at": iso(package.created_at), "tags": [],
    }
    if package.package_type == "conan":
        data["conan_package_name"] = package.name.split("/")[0]
    if single:
        data["last_downloaded_at"] = iso(package.created_at)
        data["pipelines"] = []
        data["versions"] = [
            {"id": other.id, "version": other.version, "created_at": iso(other.created_at), "pipelines": []}
            for other in packages(project)
            if other.name == package.name and other.package_type == package.package_type and other is not package
        ]
    return data


def render_file(file: PackageFile, package: Package) -> dict[str, Any]:
    return {
        "id": file.id, "package_id": package.id, "created_at": iso(file.created_at), "file_name": file.file_name,
        "size": file.size, "file_md5": file.sha[:32], "file_sha1": file.sha[:40], "file_sha256": file.sha,
        "pipelines": [],
    }


def _package(ctx: Context, project: Project, statuses: frozenset[str] = STATUSES) -> Package:
    raw = ctx.params["package_id"]
    found = next((p for p in packages(project) if str(p.id) == raw and p.status in statuses), None)
    if found is None:
        raise not_found()  # packages.md: "404 Not Found: The package was not found."
    return found


@route("GET", "/projects/:id/packages")
def list_packages(ctx: Context) -> Listing:
    project = ctx.project()
    status = ctx.arg("status")
    if status is not None and status not in STATUSES:
        raise bad_request("status does not have a valid value")
    order = ctx.arg("order_by") or "created_at"
    if order not in _ORDER:
        raise bad_request("order_by does not have a valid value")
    wanted = {status} if status else LISTED_BY_DEFAULT
    kind, name = ctx.arg("package_type"), ctx.arg("package_name")
    rows = [p for p in packages(project) if p.status in wanted and (kind is None or p.package_type == kind)
            and (name is None or name.lower() in p.name.lower())]
    rows.sort(key=_ORDER[order], reverse=ctx.arg("sort") == "desc")
    return Listing(rows, lambda p: render_package(p, project, ctx))


@route("GET", "/projects/:id/packages/:package_id")
def get_package(ctx: Context) -> Response:
    project = ctx.project()
    return Response(body=render_package(_package(ctx, project, SHOWN_SINGLY), project, ctx, single=True))


@route("GET", "/projects/:id/packages/:package_id/package_files")
def list_package_files(ctx: Context) -> Listing:
    project = ctx.project()
    package = _package(ctx, project)
    return Listing(package.files, lambda f: render_file(f, package))


@route("DELETE", "/projects/:id/packages/:package_id")
def delete_package(ctx: Context) -> Response:
    # packages.md: 204 deleted; 403 "The package is protected from deletion"; 404 not found
    project = ctx.project()
    ctx.require_role(MAINTAINER)
    package = _package(ctx, project)
    if any(rule.covers(package) for rule in package_rules(project)):
        raise forbidden("Package protected.")
    project.collections["packages"] = [p for p in packages(project) if p is not package]
    recount(project)
    return Response(204)


@route("GET", "/projects/:id/packages/protection/rules")
def list_protection_rules(ctx: Context) -> Listing:
    project = ctx.project()
    if project.collections.get("package_rules_unavailable"):
        # an instance without the feature (before GitLab 17.6, or a Free tier that lacks it)
        raise ApiError(404, {"error": "404 Not Found"})
    ctx.require_role(MAINTAINER)  # listing rules needs the Maintainer role
    return Listing(package_rules(project), lambda r: {
        "id": r.id, "project_id": r.project_id, "package_name_pattern": r.package_name_pattern,
        "package_type": r.package_type, "minimum_access_level_for_delete": r.minimum_access_level_for_delete,
        "minimum_access_level_for_push": r.minimum_access_level_for_push,
    })
