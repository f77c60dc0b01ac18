"""Environments (doc/api/environments.md).

`delete` stops an environment that is still available (POST /projects/:id/environments/:id/stop), then
deletes it (DELETE /projects/:id/environments/:id, 204); GitLab answers 403 to deleting one that is not
stopped. Protected environments (doc/api/protected_environments.md, a Premium feature) are never
removed. They follow the rule of resources/protections.py: when GitLab answers 403 (a token below
Maintainer; GitLab EE without Premium answers 403 too, ee/lib/api/protected_environments.rb authorizes
`admin_protected_environments`, a licensed ability) any environment could be protected, so all are kept;
when it answers 404 (GitLab CE has no such route) none is protected, but every environment of the
`production` tier is still kept in their place, and the report says so.

A review app is an environment in the `review/` folder (doc/ci/review_apps: `environment: review/$CI_COMMIT_REF_SLUG`
...; GitLab's "Delete multiple stopped review apps" acts on that folder). It is `orphaned` when the branch
its last deployment was made from no longer exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.errors import ApiError
from janitor.model import Candidate, Json, PlanItem, parse_time
from janitor.resources.base import CollectContext, PerSpec, RecheckFailed, ResourceKind, require_unchanged
from janitor.resources.common import list_refs, name_may_be_removed, rules_for, uses
from janitor.resources.protections import Protections, Unreadable, read_protections, record, recorded

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

ENVIRONMENTS = "/projects/{project}/environments"
ENVIRONMENT = "/projects/{project}/environments/{environment}"
STOP = "/projects/{project}/environments/{environment}/stop"
PROTECTED = "/projects/{project}/protected_environments"
ENV_FIELDS = ("id", "name", "slug", "state", "tier", "created_at", "updated_at", "external_url")
DEPLOYMENT_FIELDS = ("id", "iid", "ref", "sha", "status", "created_at")
RUNNING = frozenset({"created", "pending", "running", "blocked"})
UNKNOWN_PROTECTION = "production"
PROTECTED_KEY = "_protectedEnvironments"
PROTECTED_WHAT = "protected environments"


def last_deployment(env: Json) -> Json:
    return env.get("last_deployment") or {}


def fingerprint(env: Json) -> dict[str, Any]:
    return {"state": env.get("state"), "last_deployment_id": last_deployment(env).get("id")}


def _protected(api: GitLabAPI, project: Any) -> Protections:
    """Protected environments as inventory rows ({"name"}), or why there are none to show."""
    read = read_protections(api, PROTECTED, PROTECTED_WHAT, project=project)
    return [{"name": str(p.get("name"))} for p in read] if isinstance(read, list) else read


def _names(protected: Protections | None) -> set[str]:
    # ours: rows {"name"}; inventories written before the rows were objects hold bare names
    rows = protected if isinstance(protected, list) else []
    return {str(p.get("name")) if isinstance(p, dict) else str(p) for p in rows}


class Environments(ResourceKind):
    name = "environments"
    summary = "environments (stopped first when still available), review apps of deleted branches"
    age_field = "the last deployment's created_at (the environment's updated_at when it has none)"
    actions = ("delete",)
    delete_role = {"delete": "Developer"}  # stop, delete: project_policy.rb (developer_access)
    conditions = ("older_than", "name", "state", "orphaned")
    per: ClassVar[dict[str, PerSpec]] = {
        "folder": PerSpec(("folder",), description="the newest N environments of each folder (review/, ...)"),
        "project": PerSpec((), description="the newest N environments of the project"),
    }
    default_per = "folder"
    inventory_keys = ("_environments",)
    protections = (
        "protected environments (production-tier ones when protection cannot be read)",
        "environments with a deployment that is still running",
    )

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        rules = rules_for(ctx, self.name, project)
        if rules == []:
            return {"_environments": []}
        listed = [{k: e.get(k) for k in ENV_FIELDS} for e in api.list(ENVIRONMENTS, project=project["id"])]
        protected: Protections = _protected(api, project["id"]) if listed else []
        for env in listed:
            # the listing has no last deployment: read it only where the age or a running deployment matters
            if not isinstance(protected, Unreadable) and env["name"] not in _names(protected) and \
                    name_may_be_removed(rules, str(env["name"])):
                details = api.get(ENVIRONMENT, project=project["id"], environment=env["id"])
                deployment = details.get("last_deployment")
                env["last_deployment"] = {k: deployment.get(k) for k in DEPLOYMENT_FIELDS} if deployment else None
        found: Json = {"_environments": listed, **record(project, PROTECTED_KEY, protected)}
        if uses(rules, "orphaned") and any(str(e["name"]).startswith("review/") for e in listed):
            found.update(list_refs(api, project))
        return found

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        protected = recorded(project, PROTECTED_KEY, PROTECTED_WHAT)
        branches = None if "_branches" not in project else {str(b.get("name")) for b in project["_branches"] or []}
        for env in project.get("_environments") or []:
            name = str(env.get("name"))
            deployment = last_deployment(env)
            review = name.startswith("review/")
            orphaned: bool | None = False
            if review:
                ref = deployment.get("ref")
                orphaned = None if branches is None or not ref else str(ref) not in branches
            yield Candidate(
                key=f"environment:{env.get('id')}",
                title=f"environment {name} ({env.get('state')})",
                target={"environment_id": env.get("id")},
                fingerprint=fingerprint(env),
                age_at=parse_time(deployment.get("created_at") or env.get("updated_at")),
                bytes=0,
                attrs={"name": name, "state": env.get("state"), "orphaned": orphaned,
                       "folder": name.split("/", 1)[0] if "/" in name else name, "tier": env.get("tier")},
                protected=self._protection(env, protected),
            )

    @staticmethod
    def _protection(env: Json, protected: Protections | None) -> str | None:
        if isinstance(protected, Unreadable):
            return protected.reason
        if not isinstance(protected, list):
            if env.get("tier") == UNKNOWN_PROTECTION:
                return ("protected environments are not available on this GitLab (404, a Premium feature) or "
                        "not in the inventory: production-tier environments are kept in their place")
        elif env.get("name") in _names(protected):
            return "protected environment"
        status = last_deployment(env).get("status")
        if status in RUNNING:
            return f"its last deployment is still running ({status})"
        return None

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        env = api.get(ENVIRONMENT, project=item.project_id, environment=item.target["environment_id"])
        require_unchanged(item, fingerprint(env))
        key = ("protected-environments", item.project_id)
        if key not in cache:
            cache[key] = _protected(api, item.project_id)
        reason = self._protection(env, cache[key])
        if reason:
            raise RecheckFailed(f"now protected: {reason}")

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        project, environment = item.project_id, item.target["environment_id"]
        if item.fingerprint.get("state") != "stopped":
            stopped = api.post(STOP, project=project, environment=environment)
            if stopped.get("state") == "stopping":
                # its on_stop job is running; GitLab would refuse the delete (403) until it finishes
                raise ApiError("the environment is stopping (its stop job is running); a later run deletes it")
        api.delete(ENVIRONMENT, project=project, environment=environment)
