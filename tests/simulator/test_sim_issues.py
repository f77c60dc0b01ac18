"""The issues and notes routes over HTTP: GitLab's documented fields, filters, pagination and refusals
(doc/api/issues.md, doc/api/notes.md; examples in tests/fixtures/gitlab/issue*.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
from sim_helpers import api, auth, client
from test_sim_conformance import mismatches

from janitor.simulator import Simulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gitlab"


def documented(name: str, *unset: str) -> Any:
    """The example, with the keys our fresh issues leave null (no milestone, no due date) set to null,
    as GitLab answers them for an issue without."""
    example = json.loads((FIXTURES / name).read_text())
    for item in example if isinstance(example, list) else [example]:
        for key in unset:
            item[key] = None
    return example


def create(sim: Simulator, project: int = 1, token: str = "admin", **fields: Any) -> requests.Response:
    return requests.post(api(sim, f"/projects/{project}/issues"), json={"title": "Clean-up", **fields},
                         headers=auth(token), timeout=10)


def test_created_edited_listed_issues_and_notes_carry_every_documented_field(sim: Simulator) -> None:
    made = create(sim, description="body", labels="janitor,bug", assignee_ids=[4])
    assert made.status_code == 201
    assert mismatches(documented("issue_new.json"), made.json()) == []
    iid = made.json()["iid"]
    note = requests.post(api(sim, f"/projects/1/issues/{iid}/notes"), json={"body": "bye"}, headers=auth(),
                         timeout=10)
    assert note.status_code == 201
    closed = requests.put(api(sim, f"/projects/1/issues/{iid}"), json={"state_event": "close"}, headers=auth(),
                          timeout=10)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert mismatches(documented("issue_edit_close.json", "due_date"), closed.json()) == []
    listed = requests.get(api(sim, "/projects/1/issues?state=closed"), headers=auth(), timeout=10).json()
    assert mismatches(documented("issues_list.json", "milestone", "due_date"), listed) == []
    notes = requests.get(api(sim, f"/projects/1/issues/{iid}/notes"), headers=auth(), timeout=10).json()
    assert [n["body"] for n in notes] == ["closed", "bye"]  # newest first; closing adds a system note
    assert mismatches(documented("issue_notes_list.json"), notes) == []


def test_lists_filter_by_all_labels_search_and_state_and_paginate(sim: Simulator) -> None:
    for n, labels in enumerate(["janitor", "janitor,ops", "ops", ""]):
        create(sim, title=f"issue {n}", description=f"marker-{n}", labels=labels)
    gl = client(sim)
    project = gl.projects.get(1)

    def titles(**query: Any) -> list[str]:
        return sorted(i.title for i in project.issues.list(iterator=True, per_page=1, **query))

    assert titles(labels="janitor") == ["issue 0", "issue 1"]
    assert titles(labels="janitor,ops") == ["issue 1"]  # "issues must have all labels"
    assert titles(labels="None") == ["issue 3"]
    assert titles(search="MARKER-2") == ["issue 2"]  # title and description, case-insensitive
    requests.put(api(sim, "/projects/1/issues/1"), json={"state_event": "close"}, headers=auth(), timeout=10)
    assert titles(state="opened", labels="janitor") == ["issue 1"]
    everywhere = requests.get(api(sim, "/issues?labels=ops&scope=all&per_page=1"), headers=auth(), timeout=10)
    assert everywhere.json()[0]["labels"] and 'rel="next"' in everywhere.headers["Link"]
    bad = requests.get(api(sim, "/projects/1/issues?state=done"), headers=auth(), timeout=10)
    assert bad.status_code == 400


def test_edit_changes_labels_and_assignees_and_refuses_what_gitlab_refuses(sim: Simulator) -> None:
    iid = create(sim).json()["iid"]
    url = api(sim, f"/projects/1/issues/{iid}")
    edited = requests.put(url, json={"labels": "b,a", "assignee_ids": [4]}, headers=auth(), timeout=10).json()
    assert edited["labels"] == ["a", "b"] and [a["username"] for a in edited["assignees"]] == ["maint"]
    assert requests.put(url, json={}, headers=auth(), timeout=10).status_code == 400  # nothing to change
    assert requests.put(url, json={"state_event": "shut"}, headers=auth(), timeout=10).status_code == 400
    assert requests.get(api(sim, "/projects/1/issues/99"), headers=auth(), timeout=10).json() == {
        "message": "404 Not found"}
    assert create(sim, title="").json() == {"error": "title is missing"}
    assert create(sim, token="read").status_code == 403  # read_api: insufficient_scope


def test_issues_turned_off_refuse_writes_and_hide_the_issues(sim: Simulator) -> None:
    iid = create(sim).json()["iid"]
    sim.instance.projects[1].issues_access_level = "disabled"
    assert create(sim).json() == {"message": "403 Forbidden"}
    assert requests.put(api(sim, f"/projects/1/issues/{iid}"), json={"title": "x"}, headers=auth(),
                        timeout=10).status_code == 403
    assert requests.get(api(sim, "/projects/1/issues"), headers=auth(), timeout=10).json() == []
    assert requests.post(api(sim, f"/projects/1/issues/{iid}/notes"), json={"body": "x"}, headers=auth(),
                         timeout=10).json() == {"message": "404 Not found"}
    project = requests.get(api(sim, "/projects/1"), headers=auth(), timeout=10).json()
    assert project["issues_enabled"] is False and project["issues_access_level"] == "disabled"
    assert requests.get(api(sim, "/issues?scope=all"), headers=auth(), timeout=10).json() == []


def test_a_reporter_sets_labels_and_members_all_lists_every_role(sim: Simulator) -> None:
    made = create(sim, token="reporter", labels="janitor").json()
    assert made["labels"] == ["janitor"] and made["author"]["username"] == "rep"
    members = requests.get(api(sim, "/projects/1/members/all"), headers=auth(), timeout=10).json()
    assert {m["username"]: m["access_level"] for m in members}["maint"] == 40
