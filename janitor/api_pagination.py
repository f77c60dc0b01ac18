"""What GitLab's pagination refusals mean, for `gitlab_api.GitLabAPI.list` (no python-gitlab here).

Two answers matter on older or differently configured instances:

- "Keyset pagination is not yet available for this type of request": the endpoint has no keyset pagination
  here (an older release, or its feature flag is off). GitLab answers 405 (lib/api/helpers/
  pagination_strategies.rb); its first keyset code answered 501 (lib/api/helpers/pagination.rb). The list is
  then read with offset pages instead, and the endpoint is remembered for the rest of the run, so each
  project costs one request, not two.
- "Offset pagination has a maximum allowed offset of N for requests that return objects of type T ...":
  405 past the instance's offset limit (50,000 rows by default, doc/administration/instance_limits.md
  "Max offset allowed by the REST API for offset-based pagination") for types that also have keyset
  pagination. The listing cannot be completed with offset pages; the error says so, and why.
"""

from __future__ import annotations

import re
import threading

from janitor.errors import ApiError

KEYSET_REFUSAL_STATUSES = frozenset({405, 501})
_KEYSET_REFUSED = "Keyset pagination is not yet available"
_OFFSET_CAPPED = re.compile(r"Offset pagination has a maximum allowed offset of (\d+) for requests that return "
                            r"objects of type ([\w:]+)")


def keyset_refused(status: int | None, message: object) -> bool:
    """GitLab's answer when this endpoint offers no keyset pagination on this instance."""
    return status in KEYSET_REFUSAL_STATUSES and _KEYSET_REFUSED in _text(message)


def offset_capped(what: str, status: int | None, message: object) -> ApiError | None:
    """The error to raise when GitLab refuses an offset page past its limit, else None."""
    found = _OFFSET_CAPPED.search(_text(message)) if status == 405 else None
    if found is None:
        return None
    limit, kind = int(found.group(1)), found.group(2)
    return ApiError(
        f"{what}: GitLab lists at most {limit:,} {kind} rows with offset pages, this listing has more, and "
        "keyset pagination (which has no such limit) is not available for it on this instance (405)",
        "An administrator can raise the instance's \"Max offset allowed by the REST API for offset-based "
        "pagination\" (doc/administration/instance_limits.md), or enable keyset pagination for this endpoint; "
        "until then what could not be listed is marked incomplete and nothing in it is planned.",
        status=405,
    )


def _text(message: object) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


class OffsetOnly:
    """Endpoints (path templates) that refused keyset pagination during this run. Thread-safe."""

    def __init__(self) -> None:
        self._templates: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, template: object) -> bool:
        with self._lock:
            return template in self._templates

    def add(self, template: str) -> bool:
        """Remember `template`; True the first time (so the caller says it once)."""
        with self._lock:
            if template in self._templates:
                return False
            self._templates.add(template)
            return True

    def templates(self) -> list[str]:
        with self._lock:
            return sorted(self._templates)
