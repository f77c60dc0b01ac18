"""GitLab's wildcard rules, as the simulated server decides them.

Written from GitLab's source, independently of the client's janitor.matchers, so that a bug in either
shows up as a disagreement in the tests instead of passing every one:

- protected branches and tags (app/models/ref_matcher.rb, RefMatcher): an empty rule matches nothing; a
  rule matches its exact name, or, when it holds a `*`, the regex `\\A` + quoted pieces joined by `.*?` +
  `\\z`, run by Gitlab::UntrustedRegexp (RE2). RE2's `.` does not match a newline, so neither does `*`.
- package protection rules (app/models/packages/protection/rule.rb): `:package_name ILIKE pattern` with
  Gitlab::SQL::Glob.to_like turning `*` into `%` and escaping `%` and `_`: case-insensitive, and `%`
  matches anything.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


def _quote(text: str) -> str:
    # \x{...} is unambiguous for every character, where a backslash before a letter could mean a class
    return "".join(ch if ch.isascii() and ch.isalnum() else f"\\x{{{ord(ch):x}}}" for ch in text)


@lru_cache(maxsize=1024)
def _ref_regex(rule: str) -> Any:
    return re2.compile("\\A" + ".*?".join(_quote(piece) for piece in rule.split("*")) + "\\z", _OPTIONS)


def ref_rule_matches(rule: str, name: str) -> bool:
    """RefMatcher#matches?: exact name, or the wildcard when the rule has a `*`."""
    if not rule:
        return False
    if rule == name:
        return True
    return "*" in rule and _ref_regex(rule).search(name) is not None


@lru_cache(maxsize=1024)
def _ilike_regex(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    options.dot_nl = True  # SQL's % matches any characters, newlines too
    return re2.compile("\\A" + ".*".join(_quote(piece) for piece in pattern.split("*")) + "\\z", options)


def package_rule_matches(pattern: str, name: str) -> bool:
    """`name ILIKE to_like(pattern)`; a blank name or pattern matches nothing (for_package_name)."""
    if not pattern or not name:
        return False
    return _ilike_regex(pattern).search(name) is not None
