"""A 403 is told apart once, in gitlab_api, from GitLab's own answer: a missing token scope
(`insufficient_scope`, doc/api/rest/troubleshooting.md) stops the run; a missing role does not."""

from __future__ import annotations

import json

from janitor.errors import AuthError
from janitor.gitlab_api import translate_http_error


def test_insufficient_scope_names_the_scope_and_is_not_a_role_problem() -> None:
    body = json.dumps({"error": "insufficient_scope", "error_description": "The request requires higher "
                       "privileges than provided by the access token.", "scope": "api"}).encode()
    error = translate_http_error("DELETE /projects/1/jobs/2/artifacts", 403, "403 Forbidden", body)
    assert isinstance(error, AuthError)
    assert error.missing_scope == "api"
    assert not error.missing_role


def test_plain_403_is_a_missing_role_even_when_the_message_says_scope() -> None:
    # a project member can name things; a message mentioning "scope" must not flip the decision
    body = json.dumps({"message": "403 Forbidden - scope of this branch"}).encode()
    error = translate_http_error("DELETE /projects/1/repository/branches/x", 403, "403 Forbidden - scope", body)
    assert isinstance(error, AuthError)
    assert error.missing_scope is None
    assert error.missing_role


def test_401_is_neither_a_scope_nor_a_role() -> None:
    error = translate_http_error("GET /user", 401, "401 Unauthorized", b'{"message": "401 Unauthorized"}')
    assert not (isinstance(error, AuthError) and error.missing_role)
