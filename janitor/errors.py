"""The one error tree. The CLI maps each class to an exit code and prints its message.

Every message is written for the person running the tool: what went wrong and what to do next.
"""

from __future__ import annotations


class JanitorError(Exception):
    """Base of every error the CLI knows how to report."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class UsageError(JanitorError):
    """Bad command-line input or environment (missing token, URL without a scheme)."""


class PolicyError(JanitorError):
    """A policy that does not load or does not validate; carries every problem found."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"{path}: the policy is not valid ({count}):\n" + "\n".join(f"  {p}" for p in problems),
            "Fix the lines above; `janitor schema` prints the full policy schema.",
        )


class InventoryError(JanitorError):
    """An inventory directory that is missing, unreadable or inconsistent."""


class PlanFileError(JanitorError):
    """A plan file that is not a plan, is truncated or does not parse."""


class ApiError(JanitorError):
    """GitLab answered with an error, or could not be reached, after retries."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class NotFound(ApiError):
    """404: the object is gone (or was never visible to this token).

    `missing` is what GitLab said it could not find: "Project", "Group", "Branch" ... from its
    `not_found!(resource)` ("404 Project Not Found", errors.md), or None for a bare "404 Not Found", which
    is also GitLab's answer to a route it does not have (lib/api/api.rb's catch-all `route :any, '*path'`).
    """

    def __init__(self, message: str, hint: str | None = None, status: int | None = 404,
                 missing: str | None = None) -> None:
        super().__init__(message, hint, status)
        self.missing = missing


class AuthError(ApiError):
    """401/403 that no retry can fix: the token, its scopes or its role.

    `missing_scope` names the scope GitLab said the token lacks (403 insufficient_scope); a 403 without it
    means the token's user lacks the role (or the object is protected), which some callers can work around.
    This is decided once, from GitLab's answer, in `gitlab_api.translate_http_error`.
    """

    def __init__(self, message: str, hint: str | None = None, status: int | None = None,
                 missing_scope: str | None = None) -> None:
        super().__init__(message, hint, status)
        self.missing_scope = missing_scope

    @property
    def missing_role(self) -> bool:
        """A 403 for want of a role (or a GitLab rule), not of a token scope: the run can go on around it."""
        return self.status == 403 and self.missing_scope is None


class Unreachable(ApiError):
    """No HTTP answer at all: DNS, connection refused, TLS, timeout."""


class SafetyRefusal(JanitorError):
    """A safety check said no: limits exceeded, plan tampered, expired, foreign, or outside the scope lock."""

    exit_code = 3


class CollectIncomplete(JanitorError):
    """Some projects could not be listed; the inventory marks them incomplete."""
