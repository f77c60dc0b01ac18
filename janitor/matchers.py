"""Name matchers (branch, tag, ref, version names) and project-path globs.

Two glob dialects, on purpose:
- names: `*` matches any run of characters, "/" included, as GitLab's protected-branch wildcards do
  (`release/*` protects `release/1.x/hotfix` too), so a pattern means what users already know it means;
- project paths: `*` stays inside one path segment and `**` crosses "/", as DESIGN.md specifies.
Regexes must match the whole name (like GitLab's container clean-up `name_regex`).

Nothing here may take more than linear time in what a project member writes: protected-branch wildcards
(any Maintainer) and branch names (any Developer) are not trusted input. Name wildcards are matched without
a regex engine; policy regexes and path globs run on RE2, which has no backtracking.

Project and group paths are case-insensitive in GitLab (`acme/Legal` and `acme/legal` are one group), so
path comparisons fold ASCII case; names (branches, tags, packages) keep theirs, as in GitLab.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import re2

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_path(path: str) -> str:
    """A group or project path in the form GitLab compares it: ASCII case folded. Only ASCII, because
    GitLab paths are ASCII and Unicode folding would make 'K' (KELVIN SIGN) equal 'k'."""
    return path.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Wildcard:
    """A name wildcard: `*` matches any run of characters ("/" included), everything else is literal.

    Matching splits the pattern on `*`: the first piece must start the name, the last must end it, and each
    middle piece is taken at its leftmost place after the previous one. Leftmost is always safe (a later
    place leaves less room for the rest), so this is exact, and it never backtracks: each piece is searched
    once, so the time stays linear in the name's length (times the pattern's).
    """

    pattern: str
    ignore_case: bool = False

    @cached_property
    def _pieces(self) -> list[str]:
        return (self.pattern.lower() if self.ignore_case else self.pattern).split("*")

    def matches(self, name: str) -> bool:
        text = name.lower() if self.ignore_case else name
        pieces = self._pieces
        if len(pieces) == 1:
            return text == pieces[0]
        first, *middle, last = pieces
        if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
            return False
        at, end = len(first), len(text) - len(last)
        for piece in middle:
            found = text.find(piece, at, end)
            if found < 0:
                return False
            at = found + len(piece)
        return True

    def fullmatch(self, name: str) -> str | None:
        """The name when the whole of it matches, else None (the shape callers of a compiled regex expect)."""
        return name if self.matches(name) else None


@lru_cache(maxsize=4096)
def name_glob(pattern: str) -> Wildcard:
    return Wildcard(pattern)


def ref_rule_matches(rule: str, name: str) -> bool:
    """Does a protected-branch or protected-tag rule cover `name`? GitLab's RefMatcher: the exact name, or a
    wildcard when the rule has a `*`; an empty rule covers nothing (app/models/ref_matcher.rb)."""
    if not rule:
        return False
    return rule == name or ("*" in rule and name_glob(rule).matches(name))


def package_rule_matches(pattern: str, name: str) -> bool:
    """Does a package protection rule's `package_name_pattern` cover `name`? GitLab compares with ILIKE
    (`*` becomes `%`, `%` and `_` stay literal: app/models/packages/protection/rule.rb, Gitlab::SQL::Glob),
    so unlike branch rules this one ignores case."""
    return bool(pattern) and bool(name) and _ilike(pattern).matches(name)


@lru_cache(maxsize=4096)
def _ilike(pattern: str) -> Wildcard:
    return Wildcard(pattern, ignore_case=True)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad policy regex is reported by validate, not logged on stderr by RE2


class UnsupportedRegex(ValueError):
    """A policy regex RE2 cannot compile; the message names the feature."""


# RE2's parse errors, mapped to the feature a Python-regex writer used (re2/re2.h, RE2 syntax wiki).
_RE2_FEATURES: tuple[tuple[str, str], ...] = (
    ("invalid perl operator: (?<=", "lookbehind (?<=...) is not supported (RE2)"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...) is not supported (RE2)"),
    ("invalid perl operator: (?=", "lookahead (?=...) is not supported (RE2)"),
    ("invalid perl operator: (?!", "negative lookahead (?!...) is not supported (RE2)"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported (RE2)"),
    ("invalid perl operator: (?#", "comments (?#...) are not supported (RE2)"),
    ("invalid perl operator: (?(", "conditionals (?(...)...) are not supported (RE2)"),
    ("bad repetition operator: ++", "possessive quantifiers (++, *+, ?+) are not supported (RE2)"),
    ("bad repetition operator: *+", "possessive quantifiers (++, *+, ?+) are not supported (RE2)"),
    ("bad repetition operator: ?+", "possessive quantifiers (++, *+, ?+) are not supported (RE2)"),
    ("invalid escape sequence: \\Z", "\\Z is not supported (RE2): use \\z for the end of the text"),
    ("invalid repetition size", "a repetition count above 1000 is not supported (RE2)"),
    ("pattern too large", "the regex is too large for RE2's memory budget: simplify it"),
)


def _describe_re2_error(pattern: str, error: str) -> str:
    if re.search(r"\(\?P=|\(\?P>|\(\?&", pattern):
        return "named backreferences and recursion are not supported (RE2)"
    if re.fullmatch(r"invalid escape sequence: \\[1-9]", error) or "\\g<" in pattern:
        return "backreferences (\\1) are not supported (RE2)"
    for needle, feature in _RE2_FEATURES:
        if needle in error:
            return feature
    return f"not valid RE2 syntax: {error}"


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Any:
    """Compile a policy regex on RE2 with its default semantics (leftmost-first like Python's re, case
    sensitive, `.` not matching a newline); raise UnsupportedRegex naming what RE2 lacks."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        text = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise UnsupportedRegex(_describe_re2_error(pattern, text)) from None


def _subject(text: str) -> bytes:
    """What RE2 matches: UTF-8 bytes. A lone surrogate (valid in JSON, never in a GitLab name) would make
    RE2's own str encoding raise, so it is passed through as bytes RE2 reads as one invalid character."""
    return text.encode("utf-8", "surrogatepass")


def _path_glob_regex(pattern: str) -> str:
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
    return text


@lru_cache(maxsize=4096)
def path_glob(pattern: str) -> Any:
    """A compiled project-path glob, matched against folded paths (see fold_path)."""
    return re2.compile(_path_glob_regex(fold_path(pattern)), _RE2_OPTIONS)


def path_matches(path: str, patterns: Iterable[str]) -> str | None:
    """Return the first pattern that matches the project path (case-insensitively, as GitLab), or None."""
    folded = _subject(fold_path(path))
    for pattern in patterns:
        if path_glob(pattern).fullmatch(folded):
            return pattern
    return None


@dataclass(frozen=True)
class NameMatcher:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: str | None = None
    exclude_regex: str | None = None
    _compiled: tuple[Any, Any] = field(default=(None, None), compare=False, repr=False)

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
                    compile_regex(regex) if regex else None,
                    compile_regex(exclude_regex) if exclude_regex else None,
                ),
            )
        raise ValueError(f"a name matcher is a glob, a list of globs or a map, not {type(spec).__name__}")

    def explain(self, name: str) -> str | None:
        """None when the name matches; otherwise why it does not, for the report."""
        if self.include and not any(name_glob(p).matches(name) for p in self.include):
            return f"does not match {_show(self.include)}"
        inc_re, exc_re = self._compiled
        if inc_re is not None and not inc_re.fullmatch(_subject(name)):
            return f"does not match regex {self.regex!r}"
        for pattern in self.exclude:
            if name_glob(pattern).matches(name):
                return f"is excluded by {pattern!r}"
        if exc_re is not None and exc_re.fullmatch(_subject(name)):
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
