"""Name matchers (branch, tag, ref, version names) and project-path globs.

Two glob dialects, on purpose:
- names: `*` matches any run of characters, "/" included, as GitLab's protected-branch wildcards do
  (`release/*` protects `release/1.x/hotfix` too), so a pattern means what users already know it means;
- project paths: `*` stays inside one path segment and `**` crosses "/", as DESIGN.md specifies.
Regexes must match the whole name (like GitLab's container clean-up `name_regex`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=4096)
def name_glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in pattern), re.DOTALL)


@lru_cache(maxsize=4096)
def path_glob(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            # "a/**" also matches "a" itself and "a/**/b" matches "a/b"
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            else:
                out.append(".*")
                i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    text = "".join(out)
    if text.endswith("/.*"):
        text = text[:-3] + "(?:/.*)?"
    return re.compile(text)


def path_matches(path: str, patterns: Iterable[str]) -> str | None:
    """Return the first pattern that matches the project path, or None."""
    for pattern in patterns:
        if path_glob(pattern).fullmatch(path):
            return pattern
    return None


@dataclass(frozen=True)
class NameMatcher:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: str | None = None
    exclude_regex: str | None = None
    _compiled: tuple[re.Pattern[str] | None, re.Pattern[str] | None] = field(
        default=(None, None), compare=False, repr=False
    )

    @classmethod
    def from_policy(cls, spec: Any) -> NameMatcher:
        """Accept a glob string, a list of globs, or the {include, exclude, regex, exclude_regex} map."""
        if isinstance(spec, str):
            return cls(include=(spec,))
        if isinstance(spec, list):
            return cls(include=tuple(str(s) for s in spec))
        if isinstance(spec, Mapping):
            regex = spec.get("regex")
            exclude_regex = spec.get("exclude_regex")
            return cls(
                include=tuple(_as_list(spec.get("include"))),
                exclude=tuple(_as_list(spec.get("exclude"))),
                regex=regex,
                exclude_regex=exclude_regex,
                _compiled=(
                    re.compile(regex) if regex else None,
                    re.compile(exclude_regex) if exclude_regex else None,
                ),
            )
        raise ValueError(f"a name matcher is a glob, a list of globs or a map, not {type(spec).__name__}")

    def explain(self, name: str) -> str | None:
        """None when the name matches; otherwise why it does not, for the report."""
        if self.include and not any(name_glob(p).fullmatch(name) for p in self.include):
            return f"does not match {_show(self.include)}"
        inc_re, exc_re = self._compiled
        if inc_re is not None and not inc_re.fullmatch(name):
            return f"does not match regex {self.regex!r}"
        for pattern in self.exclude:
            if name_glob(pattern).fullmatch(name):
                return f"is excluded by {pattern!r}"
        if exc_re is not None and exc_re.fullmatch(name):
            return f"is excluded by regex {self.exclude_regex!r}"
        return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _show(patterns: tuple[str, ...]) -> str:
    return repr(patterns[0]) if len(patterns) == 1 else "any of " + ", ".join(repr(p) for p in patterns)
