"""GitLab's address as the user gives it (GITLAB_URL), checked and normalized without python-gitlab: plan,
validate and the state reader need it, and importing python-gitlab costs every command ~0.1 s. A bad URL is
described without echoing what could be a secret."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from janitor.errors import UsageError


def normalize_url(url: str, secrets: Sequence[str] = ()) -> str:
    """'https://gitlab.example.com/' and '.../api/v4' both become 'https://gitlab.example.com'.

    A bad URL is described without echoing what could be a secret: userinfo, a token pasted into the wrong
    variable, or `secrets` (GITLAB_TOKEN's value, which is also looked up in the environment).
    """
    text = url.strip()
    # a value shorter than any GitLab token would match innocent URLs ("t" is in "https://...")
    secrets = tuple(s for s in (*secrets, os.environ.get("GITLAB_TOKEN", "")) if len(s) >= 8)
    if any(secret in text for secret in secrets):
        raise UsageError("The GitLab URL contains the value of GITLAB_TOKEN; it is not shown here.",
                         "Put the token in GITLAB_TOKEN only; the URL is scheme, host and optional path, for "
                         "example GITLAB_URL=https://gitlab.example.com")
    if _TOKEN_PREFIX.search(text):
        raise UsageError("The GitLab URL holds what looks like a GitLab token (glpat-...); it is not shown here.",
                         "Put the token in GITLAB_TOKEN only; the URL is scheme, host and optional path, for "
                         "example GITLAB_URL=https://gitlab.example.com")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        problem = "is not a valid URL (its host or port)" if parts is None else "has no http:// or https:// scheme"
        raise UsageError(
            f"GitLab URL {_redact(text)} {problem}.",
            "Write it in full, for example GITLAB_URL=https://" + _safe_host(text, "gitlab.example.com"),
        )
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise UsageError(
            "The GitLab URL must not carry credentials, a query or a fragment; it is not shown here.",
            "Put the token in GITLAB_TOKEN; the URL is only scheme, host and optional path.",
        )
    path = parts.path.rstrip("/")
    if path.endswith("/api/v4"):
        path = path[: -len("/api/v4")]
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


# What a host and optional path look like; anything else (a token, userinfo, spaces) is never echoed.
_PLAIN_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?([a-z0-9.-]+)(?::\d{1,5})?(?:/[a-z0-9._~/-]*)?", re.IGNORECASE)
# GitLab's token prefixes (doc/security/tokens/index.md, "Token prefixes"): a value holding one holds a token.
_TOKEN_PREFIX = re.compile(r"(?<![a-z0-9])(?:glpat|gloas|gldt|glrt|glcbt|glptt|glft|glimt|glagent|glsoat|glffct)-",
                           re.IGNORECASE)


def _looks_like_a_host(text: str) -> bool:
    # A bare word could be an old prefix-less token (20 characters) pasted into the wrong variable, so only a
    # dotted name or localhost counts as a host.
    match = _PLAIN_URL.fullmatch(text)
    return bool(match) and not _TOKEN_PREFIX.search(text) and (
        "." in match.group(1) or match.group(1).lower() == "localhost")  # type: ignore[union-attr]


def _redact(url: str) -> str:
    """The URL quoted for an error message, or a note that it is withheld when it may hold a secret."""
    if "@" in url or not _looks_like_a_host(url):
        return "(not shown: it is not a plain host name and may hold a secret)"
    return repr(url)


def _safe_host(text: str, fallback: str) -> str:
    host = text.split("://")[-1].strip("/")
    return host if "@" not in text and _looks_like_a_host(host) else fallback
