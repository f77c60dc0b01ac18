"""Branches, tags, protection rules, releases and merge requests, consistent with the pipelines the
generator already made for the project.

- Every branch ref of a pipeline is a branch, except about a third of the `feature/*` ones, which were
  deleted after merging (their pipelines stay, as in GitLab). A branch's head is its newest pipeline's sha.
- Protected-branch rules: `main`, `release/*`, and `hotfix/*`, a stale rule that matches no branch.
- Feature branches are merged (with a merged MR) or not; some unmerged ones have an open MR.
- Tags are `v1.N.0` (annotated, dated in version order a month apart) plus two lightweight
  `nightly-*` tags. Protected-tag rule `v*.0.0`: major releases are protected. The newest version has
  a release.
- Projects whose id is 1 mod 5 also carry branches whose names need URL-encoding (`/`, `#`, `%`, a
  space, non-ASCII), so every route and kind is exercised with them.
"""

from __future__ import annotations

import random

from janitor.simulator.repo_state import (
    Branch,
    MergeRequest,
    ProtectionRule,
    Release,
    Repository,
    Tag,
    repository,
)
from janitor.simulator.state import Instance, Pipeline, Project

DAY_MS = 86_400_000
# (name, merged, open MR): merged ones are deletable by a "merged branches" rule, the open MR one is not
SPECIAL_BRANCHES = (("feature/a#b", True, False), ("fix/100%", True, False), ("docs/read me", True, False),
                    ("feature/ünïcode", False, True))
PROTECTED_BRANCH_RULES = (("main", 40, 40), ("release/*", 40, 30), ("hotfix/*", 40, 40))
PROTECTED_TAG_RULE = "v*.0.0"


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def populate_repository(instance: Instance, project: Project, rng: random.Random) -> None:
    repo = repository(project)
    now = instance.now
    newest: dict[str, Pipeline] = {}
    for run in project.pipelines:  # ascending id: the last one seen per ref is the newest
        newest[run.ref] = run
    branch_refs = sorted({p.ref for p in project.pipelines if not p.tag} | {project.default_branch, "release/1.x"})
    mr_iid = 0

    def add_mr(source: str, state: str, sha: str, at: int) -> None:
        nonlocal mr_iid
        mr_iid += 1
        repo.merge_requests.append(MergeRequest(project.id * 1000 + mr_iid, mr_iid, project.id,
                                                f"Draft: {source}", source, project.default_branch, state, sha,
                                                at, at + rng.randint(1, 48) * 3_600_000))

    for ref in branch_refs:
        pipeline = newest.get(ref)
        sha = pipeline.sha if pipeline else _sha(rng)
        committed = pipeline.created_at - rng.randint(10_000, 600_000) if pipeline else project.last_activity_at
        feature = ref.startswith("feature/")
        merged = feature and rng.random() < 0.45
        if feature and rng.random() < 0.3:
            add_mr(ref, "merged", sha, committed)  # merged, then the branch was deleted
            continue
        repo.branches[ref] = Branch(ref, sha, committed, merged)
        if merged:
            add_mr(ref, "merged", sha, committed)
        elif feature and rng.random() < 0.4:
            add_mr(ref, "opened", sha, committed)
    if project.id % 5 == 1:
        for name, merged, open_mr in SPECIAL_BRANCHES:
            committed = now - rng.randint(40, 150) * DAY_MS
            sha = _sha(rng)
            repo.branches[name] = Branch(name, sha, committed, merged)
            add_mr(name, "opened" if open_mr else "merged", sha, committed)
    for offset, (name, push, merge) in enumerate(PROTECTED_BRANCH_RULES, start=1):
        repo.protected_branches[name] = ProtectionRule(project.id * 100 + offset, name, push, merge)
    _populate_tags(repo, project, newest, rng, now)


def _populate_tags(repo: Repository, project: Project, newest: dict[str, Pipeline], rng: random.Random,
                   now: int) -> None:
    count = max(2, sum(1 for ref in newest if ref.startswith("v1.")))
    names = [f"v1.{minor}.0" for minor in range(count)]
    for position, name in enumerate(names):
        pipeline = newest.get(name)
        committed = now - (count - position) * 30 * DAY_MS - rng.randint(0, 5) * DAY_MS
        sha = pipeline.sha if pipeline else _sha(rng)
        repo.tags[name] = Tag(name, sha, committed, committed + 60_000, f"Release {name}")
    for day in (rng.randint(40, 90), rng.randint(91, 170)):
        name = f"nightly-{day}"
        repo.tags[name] = Tag(name, _sha(rng), now - day * DAY_MS)
    latest = names[-1]
    repo.releases[latest] = Release(latest, f"{project.name} {latest}", repo.tags[latest].committed_at + 3_600_000)
    repo.protected_tags[PROTECTED_TAG_RULE] = ProtectionRule(project.id * 100 + 50, PROTECTED_TAG_RULE, 40, 0)
