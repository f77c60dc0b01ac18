"""Packages of the package registry (doc/api/packages.md).

`delete` removes a package with all its files (DELETE /projects/:id/packages/:package_id, 204). GitLab
answers 403 when a package protection rule covers it (doc/api/project_packages_protection_rules.md); the
rules are read at collect so the plan never lists such a package. Listing them needs the Maintainer role:
below it GitLab answers 403 and every package is kept, "package protection rules could not be read"; a
GitLab without the feature (before 17.6) answers 404 and no rule protects anything (resources/protections.py).
A 403 at apply (a rule added since) is reported as a failure with that reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.errors import ApiError, AuthError
from janitor.matchers import NameMatcher, package_rule_matches
from janitor.model import Candidate, Json, PlanItem, parse_time
from janitor.resources.base import CollectContext, PerSpec, RecheckFailed, ResourceKind, require_unchanged
from janitor.resources.common import rules_for
from janitor.resources.protections import Protections, Unreadable, read_protections, record, recorded

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI
    from janitor.policy.model import EffectiveRule

PACKAGES = "/projects/{project}/packages"
PACKAGE = "/projects/{project}/packages/{package}"
PACKAGE_FILES = "/projects/{project}/packages/{package}/package_files"
PROTECTION_RULES = "/projects/{project}/packages/protection/rules"
PACKAGE_FIELDS = ("id", "name", "version", "package_type", "status", "created_at", "_links")
RULES_KEY = "_packageProtectionRules"
RULES_WHAT = "package protection rules"


def protecting_rule(package: Json, rules: Protections | None) -> Json | None:
    for rule in rules if isinstance(rules, list) else []:
        if rule.get("package_type") == package.get("package_type") and \
                package_rule_matches(str(rule.get("package_name_pattern") or ""), str(package.get("name"))):
            return rule
    return None


def _could_remove(package: Json, rules: list[EffectiveRule] | None) -> bool:
    """Whether some rule in effect might remove it, judged on what the listing shows (no sizes yet)."""
    if rules is None:
        return True
    name, version = str(package.get("name")), str(package.get("version"))
    for effective in rules:
        match = effective.rule.match
        if effective.keep_names and effective.keep_names.explain(name) is None:
            continue
        if "name" in match and NameMatcher.from_policy(match["name"]).explain(name) is not None:
            continue
        if "version" in match and NameMatcher.from_policy(match["version"]).explain(version) is not None:
            continue
        types = match.get("package_type")
        if types is not None and package.get("package_type") not in ({types} if isinstance(types, str) else set(types)):
            continue
        return True
    return False


def fingerprint(package: Json) -> dict[str, Any]:
    return {"version": package.get("version"), "created_at": package.get("created_at"),
            "files": package.get("_files")}


class Packages(ResourceKind):
    name = "packages"
    summary = "packages of the package registry, with all their files"
    age_field = "the package's created_at"
    actions = ("delete",)
    delete_role = {"delete": "Maintainer"}  # doc/user/permissions.md: "Delete a package"
    conditions = ("older_than", "name", "version", "package_type", "larger_than")
    per: ClassVar[dict[str, PerSpec]] = {
        "name": PerSpec(("package_type", "name"), description="the newest N versions of each package"),
        "project": PerSpec((), description="the newest N packages of the project"),
    }
    default_per = "name"
    inventory_keys = ("_packages",)
    empty_when_statistic_zero = "packages_size"
    protections = (
        "packages a package protection rule covers (GitLab refuses to delete them)",
        "packages whose status is not `default` (hidden, processing, error, pending destruction ...)",
    )

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        rules = rules_for(ctx, self.name, project)
        if rules == []:
            return {"_packages": []}
        listed = [{k: p.get(k) for k in PACKAGE_FIELDS if k in p}
                  for p in api.list(PACKAGES, {"order_by": "created_at", "sort": "asc"}, project=project["id"])]
        protection = read_protections(api, PROTECTION_RULES, RULES_WHAT, project=project["id"]) if listed else []
        for package in listed:
            # sizes cost one request per package: only for those some rule might remove
            if self._protection(package, protection) is None and _could_remove(package, rules):
                files = list(api.list(PACKAGE_FILES, project=project["id"], package=package["id"]))
                package["_size"] = sum(int(f.get("size") or 0) for f in files)
                package["_files"] = len(files)
        return {"_packages": listed, **record(project, RULES_KEY, protection)}

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        rules = recorded(project, RULES_KEY, RULES_WHAT)
        for package in project.get("_packages") or []:
            name, version = str(package.get("name")), str(package.get("version"))
            yield Candidate(
                key=f"package:{package.get('id')}",
                title=f"{package.get('package_type')} {name} {version}",
                target={"package_id": package.get("id")},
                fingerprint=fingerprint(package),
                age_at=parse_time(package.get("created_at")),
                bytes=int(package.get("_size") or 0),
                attrs={"name": name, "version": version, "package_type": package.get("package_type")},
                protected=self._protection(package, rules),
            )

    @staticmethod
    def _protection(package: Json, rules: Protections | None) -> str | None:
        if not _removable_status(package):
            return f"its status is {package.get('status')!r} (only packages in the `default` status are removed)"
        if isinstance(rules, Unreadable):
            return rules.reason  # any rule could cover any package
        rule = protecting_rule(package, rules)
        if rule is not None:
            return (f"covered by the package protection rule {rule.get('package_name_pattern')!r} "
                    f"({rule.get('package_type')})")
        return None

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        # GET answers 404 for packages not in the default or deprecated status (packages.md): gone for us
        package = api.get(PACKAGE, project=item.project_id, package=item.target["package_id"])
        if not _removable_status(package):
            raise RecheckFailed(f"now protected: its status is {package.get('status')!r}")
        if item.fingerprint.get("files") is not None:
            files = list(api.list(PACKAGE_FILES, project=item.project_id, package=item.target["package_id"]))
            package["_files"] = len(files)
        else:
            package["_files"] = None
        require_unchanged(item, fingerprint(package))
        key = ("package-protection", item.project_id)
        if key not in cache:
            cache[key] = read_protections(api, PROTECTION_RULES, RULES_WHAT, project=item.project_id)
        if isinstance(cache[key], Unreadable):
            raise RecheckFailed(f"kept: {cache[key].reason}")
        rule = protecting_rule(package, cache[key])
        if rule is not None:
            raise RecheckFailed(f"now protected by the package protection rule {rule.get('package_name_pattern')!r}")

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        try:
            api.delete(PACKAGE, project=item.project_id, package=item.target["package_id"])
        except AuthError as exc:
            if not exc.missing_role:
                raise
            raise ApiError(f"GitLab refused to delete the package (403): it is protected from deletion by a "
                           f"package protection rule, or the token lacks the Maintainer role ({exc.message})",
                           status=403) from None


def _removable_status(package: Json) -> bool:
    # A package without `status` comes from an inventory made elsewhere; apply re-reads it before deleting.
    return package.get("status") in (None, "default")
