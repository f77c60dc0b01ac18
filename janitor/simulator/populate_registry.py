"""Populate container registries, packages and environments for a share of the projects.

What makes clean-up of these kinds interesting is here on purpose: tags that share a digest (one image
pushed as `latest`, `main` and `sha-...`), a `latest` tag, tags named after live branches' CI slugs and
after deleted branches, empty repositories; packages of several types and versions, some protected by a
rule and some not in the `default` status; a protected production environment, review apps for live and
deleted branches, a deployment still running and stopped environments. Projects without a registry or
packages keep statistics of 0, so collect can skip them.
"""

from __future__ import annotations

import random

from janitor.simulator.registry_records import (
    ENVIRONMENTS,
    PACKAGE_RULES,
    PACKAGES,
    PROTECTED_ENVIRONMENTS,
    REGISTRY,
    ContainerRepository,
    Deployment,
    Environment,
    Package,
    PackageFile,
    PackageProtectionRule,
    RegistryTag,
    recount,
)
from janitor.simulator.state import Instance, Project

DAY = 86_400_000
MB = 1_000_000
# The preset projects tests name: api and frontend always have all three families, docs none of them.
ALWAYS, NEVER = {1, 2, 7}, {6, 10}
SHARE = 0.3
GONE_BRANCHES = ("feature/legacy-import", "fix/old-timeout", "feature/Experiment_42")
_PACKAGE_SETS = (
    ("npm", "@acme/{p}-client", ("package.tgz",)),
    ("maven", "com/acme/{p}", ("{p}.jar", "{p}.pom", "maven-metadata.xml")),
    ("pypi", "acme-{p}", ("acme_{p}.whl", "acme_{p}.tar.gz")),
    ("generic", "{p}-bundle", ("bundle.tar.gz",)),
    ("helm", "{p}-chart", ("chart.tgz",)),
    ("conan", "{p}/1.0@acme/stable", ("conanfile.py", "conanmanifest.txt")),
)


def slug(ref: str) -> str:
    # CI_COMMIT_REF_SLUG (lib/gitlab/utils.rb `slugify`): lowercase, every char outside [a-z0-9] -> '-',
    # at most 63 chars, no leading or trailing '-'
    return "".join(c if c in "abcdefghijklmnopqrstuvwxyz0123456789" else "-" for c in ref.lower())[:63].strip("-")


def live_branches(project: Project) -> list[str]:
    """The project's branches: the repository family's when it ran first, else its pipelines' refs."""
    repository = project.collections.get("repository")
    if repository is not None and getattr(repository, "branches", None):
        return sorted(repository.branches)
    return sorted({p.ref for p in project.pipelines if not p.tag}) or [project.default_branch]


def populate_registry(instance: Instance, project: Project, rng: random.Random) -> None:
    if project.id in NEVER or (project.id not in ALWAYS and rng.random() >= SHARE):
        return
    branches = live_branches(project)
    _registry(instance.now, project, rng, branches)
    _packages(instance.now, project, rng)
    _environments(instance.now, project, rng, branches)
    recount(project)


def _digest(rng: random.Random) -> str:
    return f"sha256:{rng.getrandbits(256):064x}"


def _registry(now: int, project: Project, rng: random.Random, branches: list[str]) -> None:
    root = ContainerRepository(project.id * 100 + 1, project.id, "", now - 400 * DAY)
    image_size = rng.randint(20, 400) * MB

    def push(names: list[str], age_days: float) -> None:
        tag = RegistryTag("", _digest(rng), now - int(age_days * DAY), image_size + rng.randint(0, 30) * MB)
        for name in names:
            root.tags[name] = RegistryTag(name, tag.digest, tag.created_at, tag.total_size)

    # the newest main build answers to three names; an older main build to two
    push(["latest", slug(project.default_branch), f"sha-{rng.getrandbits(32):08x}"], rng.uniform(0.5, 5))
    push([f"sha-{rng.getrandbits(32):08x}", "main-previous"], rng.uniform(40, 90))
    for minor in range(rng.randint(2, 4)):
        push([f"v1.{minor}.0"], 170 - minor * 30 + rng.uniform(0, 5))
    for branch in branches:
        if branch != project.default_branch:
            push([slug(branch)], rng.uniform(1, 120))
    # images of branches deleted long ago; one also carries a release name, so it must stay
    push([slug(GONE_BRANCHES[0]), f"sha-{rng.getrandbits(32):08x}"], rng.uniform(100, 160))
    push([slug(GONE_BRANCHES[1])], rng.uniform(60, 150))
    push([slug(GONE_BRANCHES[2]), "v0.9.0"], rng.uniform(150, 170))
    repos = [root]
    if rng.random() < 0.6:
        tools = ContainerRepository(project.id * 100 + 2, project.id, "tools", now - 300 * DAY)
        for index in range(rng.randint(1, 3)):
            tag = RegistryTag(f"build-{index}", _digest(rng), now - rng.randint(5, 150) * DAY, 15 * MB)
            tools.tags[tag.name] = tag
        repos.append(tools)
    # a repository whose tags were all removed: GitLab keeps listing it with tags_count 0
    repos.append(ContainerRepository(project.id * 100 + 3, project.id, "cache", now - 200 * DAY))
    project.collections[REGISTRY] = repos


def _packages(now: int, project: Project, rng: random.Random) -> None:
    made: list[Package] = []
    rules: list[PackageProtectionRule] = []
    base = project.path.split("-")[0]
    for index, (kind, pattern, files) in enumerate(rng.sample(_PACKAGE_SETS, rng.randint(2, 4))):
        name = pattern.format(p=base)
        versions = rng.randint(2, 6)
        for v in range(versions):
            package_id = project.id * 100 + len(made) + 1
            created = now - (versions - v) * rng.randint(8, 40) * DAY
            status = "default"
            if v == 0 and index == 0:
                status = rng.choice(("hidden", "error", "processing"))
            package = Package(package_id, project.id, name, f"1.{v}.{rng.randint(0, 9)}", kind, status, created)
            for n, file_name in enumerate(files):
                package.files.append(PackageFile(package_id * 10 + n, file_name.format(p=base),
                                                 rng.randint(2_000, 8 * MB), created + n * 1000,
                                                 f"{rng.getrandbits(256):064x}"))
            made.append(package)
        if kind == "npm" or (project.id in ALWAYS and index == 1):
            rules.append(PackageProtectionRule(project.id * 10 + len(rules), project.id, name, kind))
    project.collections[PACKAGES] = made
    project.collections[PACKAGE_RULES] = rules


def _environments(now: int, project: Project, rng: random.Random, branches: list[str]) -> None:
    made: list[Environment] = []

    def env(name: str, tier: str, state: str, ref: str, age_days: float, status: str = "success") -> None:
        env_id = project.id * 100 + len(made) + 1
        at = now - int(age_days * DAY)
        deployment = Deployment(env_id * 10, len(made) + 1, ref, f"{rng.getrandbits(160):040x}", status, at,
                                env_id * 10 + 1)
        made.append(Environment(env_id, project.id, name, tier, state, at - 30 * DAY, at, deployment))

    default = project.default_branch
    env("production", "production", "available", default, rng.uniform(1, 200))
    env("staging", "staging", "available", default, rng.uniform(60, 120))
    env("staging-next", "staging", "available", default, 0.01, status="running")
    features = [b for b in branches if b != default][:3]
    for branch in features:
        env(f"review/{branch}", "development", "available", branch, rng.uniform(1, 90))
    for position, branch in enumerate(GONE_BRANCHES[:2]):
        env(f"review/{branch}", "development", "stopped" if position else "available", branch,
            rng.uniform(45, 150))
    made.append(Environment(project.id * 100 + len(made) + 1, project.id, "qa-sandbox", "testing", "stopped",
                            now - 300 * DAY, now - 200 * DAY, None))
    project.collections[ENVIRONMENTS] = made
    project.collections[PROTECTED_ENVIRONMENTS] = {"production": 40}
