"""Load a policy file and explain every problem with file, line, column, rule and a hint.

Three stages, each building on the last (as Cloud Custodian validates): structure (unknown keys, with the
nearest valid key suggested), the JSON schema, then meaning (durations, sizes, regexes, unique names,
overrides that name real rules).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from janitor.conditions import CONDITIONS
from janitor.errors import PolicyError
from janitor.matchers import UnsupportedRegex, compile_regex
from janitor.policy.checks import check_paths, non_ascii
from janitor.policy.model import Limits, NotifySettings, Policy, Rule, Scope
from janitor.policy.schema import LABEL, PROJECT_PATH, RULE_NAME, WHOLE_DURATION, policy_schema
from janitor.policy.warnings import policy_warnings
from janitor.policy.yaml_safe import YamlRefused, compose_and_construct, non_finite_numbers, read_bounded
from janitor.resources import KINDS
from janitor.units import parse_duration, parse_size

PathKey = tuple[Any, ...]
TOP_KEYS = ("version", "scope", "limits", "rules", "notify", "overrides")
SCOPE_KEYS = ("groups", "projects", "all", "exclude", "archived")
LIMIT_KEYS = ("max_actions", "max_percent")
RULE_KEYS = ("name", "description", "resource", "action", "enabled", "grace", "notify", "match", "keep")
NOTIFY_KEYS = ("issues", "project", "labels", "assignees")
KEEP_KEYS = ("latest", "per", "names")
PATCH_KEYS = ("enabled", "match", "keep")
MATCHER_KEYS = ("include", "exclude", "regex", "exclude_regex")


class _Marks:
    """Line and column of every key and value, by path (('rules', 0, 'match', 'older_than'))."""

    def __init__(self) -> None:
        self.at: dict[PathKey, tuple[int, int]] = {}
        self.value_at: dict[PathKey, tuple[int, int]] = {}
        self.duplicates: list[tuple[PathKey, tuple[int, int]]] = []

    def walk(self, node: yaml.Node, path: PathKey) -> None:
        self.at.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        self.value_at[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in seen:
                    self.duplicates.append((path + (key,), where))
                seen.add(key)
                self.at[path + (key,)] = where
                self.walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, path + (index,))

    def find(self, path: PathKey, value: bool = False) -> tuple[int, int]:
        table = self.value_at if value else self.at
        while path not in table and path:
            path = path[:-1]
        return table.get(path, (1, 1))


class _Problems:
    def __init__(self, source: str, data: Any, marks: _Marks) -> None:
        self.source, self.data, self.marks = source, data, marks
        self.items: list[tuple[tuple[int, int], str]] = []
        self.paths: list[PathKey] = []

    def covered(self, path: PathKey, whole_value: bool) -> bool:
        """True when this problem was already reported more precisely: at the same path, or (for an
        error about a whole value, such as "matches none of the forms") somewhere inside it."""
        if whole_value:
            return any(p[: len(path)] == path for p in self.paths)
        return path in self.paths

    def add(self, path: PathKey, message: str, hint: str | None = None, value: bool = False) -> None:
        """Report at the key (value=False: unknown keys) or at the offending value (value=True)."""
        self.paths.append(path)
        line, col = self.marks.find(path, value)
        where = self._describe(path)
        text = f"{self.source}:{line}:{col}: {where}{message}"
        if hint:
            text += f" ({hint})"
        self.items.append(((line, col), text))

    def add_once(self, path: PathKey, message: str, hint: str | None = None) -> None:
        """A value's meaning, unless the structure or the schema already said what is wrong with it."""
        if not self.covered(path, whole_value=True):
            self.add(path, message, hint, value=True)

    def _describe(self, path: PathKey) -> str:
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
            rules = self.data.get("rules") if isinstance(self.data, Mapping) else None
            name = None
            if isinstance(rules, list) and path[1] < len(rules) and isinstance(rules[path[1]], Mapping):
                name = rules[path[1]].get("name")
            label = f"rule {name!r}" if name else f"rule #{path[1] + 1}"
            rest = ".".join(str(p) for p in path[2:])
            return f"{label}{': ' + rest if rest else ''}: "
        return (".".join(str(p) for p in path) + ": ") if path else ""

    def messages(self) -> list[str]:
        return [text for _, text in sorted(self.items, key=lambda item: item[0])]


def _suggest(word: str, valid: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(str(word), list(valid), n=1, cutoff=0.6)
    choices = ", ".join(valid)
    return f"did you mean {close[0]!r}? valid keys: {choices}" if close else f"valid keys: {choices}"


def _unknown_keys(problems: _Problems, value: Any, path: PathKey, valid: tuple[str, ...]) -> None:
    if isinstance(value, Mapping):
        for key in value:
            if key not in valid:
                problems.add(path + (key,), f"unknown key {key!r}", _suggest(str(key), valid))


def _check_structure(problems: _Problems, data: Mapping[str, Any]) -> None:
    _unknown_keys(problems, data, (), TOP_KEYS)
    _unknown_keys(problems, data.get("scope"), ("scope",), SCOPE_KEYS)
    _unknown_keys(problems, data.get("limits"), ("limits",), LIMIT_KEYS)
    _unknown_keys(problems, data.get("notify"), ("notify",), NOTIFY_KEYS)
    rules: list[Any] = data["rules"] if isinstance(data.get("rules"), list) else []
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            continue
        path: PathKey = ("rules", index)
        _unknown_keys(problems, rule, path, RULE_KEYS)
        kind = KINDS.get(str(rule.get("resource")))
        if rule.get("resource") is not None and kind is None:
            problems.add(path + ("resource",), f"unknown resource {rule.get('resource')!r}",
                         _suggest(str(rule.get("resource")), sorted(KINDS)).replace("valid keys", "valid kinds"))
        if kind is not None:
            _check_body(problems, rule, path, kind.conditions)
    overrides = data.get("overrides")
    rule_names = [r.get("name") for r in rules if isinstance(r, Mapping)]
    if isinstance(overrides, Mapping):
        for target, patches in overrides.items():
            if not isinstance(patches, Mapping):
                continue
            for rule_name, patch in patches.items():
                path = ("overrides", target, rule_name)
                if rule_name not in rule_names:
                    problems.add(path, f"override names no rule {rule_name!r}",
                                 _suggest(str(rule_name), [str(n) for n in rule_names]).replace("valid keys",
                                                                                                "rules"))
                    continue
                _unknown_keys(problems, patch, path, PATCH_KEYS)
                rule = next(r for r in rules if isinstance(r, Mapping) and r.get("name") == rule_name)
                kind = KINDS.get(str(rule.get("resource")))
                if kind is not None and isinstance(patch, Mapping):
                    _check_body(problems, patch, path, kind.conditions)


def _check_body(problems: _Problems, body: Mapping[str, Any], path: PathKey, conditions: tuple[str, ...]) -> None:
    match = body.get("match")
    _unknown_keys(problems, match, path + ("match",), conditions)
    _unknown_keys(problems, body.get("keep"), path + ("keep",), KEEP_KEYS)
    if isinstance(match, Mapping):
        for name in ("name", "ref", "version"):
            if isinstance(match.get(name), Mapping):
                _unknown_keys(problems, match[name], path + ("match", name), MATCHER_KEYS)


def _humanize(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(repr(v) for v in error.validator_value)}"
    if error.validator == "const":
        return f"must be {error.validator_value!r}, not {error.instance!r}"
    if error.validator == "pattern" and error.validator_value == WHOLE_DURATION:
        return (f"{error.instance!r} is not a grace period: a whole number and a unit, such as 12h, 14d, 2w, 6mo "
                "or '30 days'")
    if error.validator == "pattern" and error.validator_value == PROJECT_PATH:
        return f"{error.instance!r} is not a project path (write its full path, such as platform/cleanup-log)"
    if error.validator == "pattern" and error.validator_value == LABEL:
        return (f"{error.instance!r} is not a label janitor can use: it must hold a non-blank name and no comma "
                "(GitLab's issues API lists labels comma-separated)")
    if error.validator == "not" and tuple(error.absolute_path) == ("notify",):
        return "set either issues (one issue per project) or project (one summary issue), not both"
    if error.validator == "uniqueItems":
        return "names the same label twice"
    if error.validator == "pattern" and error.validator_value == RULE_NAME:
        return f"{error.instance!r} is not a rule name (lowercase letters, digits and dashes: old-artifacts)"
    if error.validator == "pattern":
        if error.validator_value.startswith(r"^\s*\d+(\.\d+)?\s*("):
            return f"{error.instance!r} is not a duration (use 12h, 30d, 2w, 6mo, 1y, '30 days' or '6 months')"
        return f"{error.instance!r} does not have the expected form ({error.validator_value})"
    if error.validator == "oneOf" and isinstance(error.schema, Mapping) and error.schema.get("description"):
        return f"expected {error.schema['description']}, not {error.instance!r}"
    if error.validator == "required":
        return str(error.message).replace("is a required property", "is required")
    if error.validator == "type":
        return f"expected {error.validator_value}, not {type(error.instance).__name__} {error.instance!r}"
    return str(error.message)


def _check_semantics(problems: _Problems, data: Mapping[str, Any]) -> None:
    rules: list[Any] = data["rules"] if isinstance(data.get("rules"), list) else []
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            continue
        name = rule.get("name")
        if isinstance(name, str):
            if name in seen:
                problems.add(("rules", index, "name"), f"duplicate rule name {name!r}",
                             f"rule #{seen[name] + 1} has it already; names must be unique", value=True)
            seen.setdefault(name, index)
        _check_values(problems, rule, ("rules", index))
        _check_grace(problems, rule, ("rules", index))
    notify = data.get("notify")
    if isinstance(notify, Mapping) and isinstance(notify.get("project"), str):
        problem = non_ascii(notify["project"])
        if problem:
            problems.add(("notify", "project"), problem, "retype it in plain ASCII: a look-alike letter never "
                         "matches a GitLab path", value=True)
    overrides = data.get("overrides")
    if isinstance(overrides, Mapping):
        for target, patches in overrides.items():
            if not re.fullmatch(r"[^\s/][^\s]*", str(target)) or str(target).endswith("/"):
                problems.add(("overrides", target), f"{target!r} is not a group or project path",
                             "write a full path such as acme/legacy")
            if isinstance(patches, Mapping):
                for rule_name, patch in patches.items():
                    if isinstance(patch, Mapping):
                        _check_values(problems, patch, ("overrides", target, rule_name))
    # an override path is a key: point at it; a scope entry is a value
    check_paths(data, lambda where, message, hint: problems.add(where, message, hint, value=where[0] == "scope"))


def _check_grace(problems: _Problems, rule: Mapping[str, Any], path: PathKey) -> None:
    grace = rule.get("grace")
    if isinstance(grace, str):
        try:
            length = parse_duration(grace)
        except ValueError as exc:
            problems.add_once(path + ("grace",), str(exc))  # unless the schema already refused its form
        else:
            if not length:
                problems.add_once(path + ("grace",), f"a grace of {grace!r} waits for nothing",
                                  "give a length such as 14d, or remove grace")
    if rule.get("notify") is True and "grace" not in rule:
        problems.add(path + ("notify",), "true needs a grace period to notify about",
                     "add grace: 14d, or another length, to this rule", value=True)


def _check_values(problems: _Problems, body: Mapping[str, Any], path: PathKey) -> None:
    match = body.get("match")
    if isinstance(match, Mapping):
        if isinstance(match.get("older_than"), str):
            try:
                parse_duration(match["older_than"])
            except ValueError as exc:
                problems.add_once(path + ("match", "older_than"), str(exc))
        if "larger_than" in match and isinstance(match["larger_than"], (str, int)):
            try:
                parse_size(match["larger_than"])
            except ValueError as exc:
                problems.add_once(path + ("match", "larger_than"), str(exc))
        for name in ("name", "ref", "version"):
            spec = match.get(name)
            if isinstance(spec, Mapping):
                for key in ("regex", "exclude_regex"):
                    if isinstance(spec.get(key), str):
                        try:
                            compile_regex(spec[key])
                        except UnsupportedRegex as exc:
                            problems.add_once(path + ("match", name, key), f"invalid regex {spec[key]!r}: {exc}",
                                              "policy regexes run on RE2, see the README")


def validate_text(text: str, source: str) -> Policy:
    try:
        node, data = compose_and_construct(text)
    except YamlRefused as exc:
        line, col = exc.where
        raise PolicyError(source, [f"{source}:{line}:{col}: {exc.problem}"]) from None
    marks = _Marks()
    if node is not None:
        marks.walk(node, ())
    problems = _Problems(source, data, marks)
    if not isinstance(data, Mapping):
        problems.add((), "a policy is a YAML mapping with version, scope and rules",
                     "see examples/ or `janitor schema`")
        raise PolicyError(source, problems.messages())
    for path, _ in marks.duplicates:
        problems.add(path, f"duplicate key {path[-1]!r}", "YAML would silently keep only the last one")
    for path in non_finite_numbers(data):
        problems.add(path, "NaN and infinities are not allowed here, as anywhere in a policy",
                     "write a finite number", value=True)
    _check_structure(problems, data)
    validator = jsonschema.Draft202012Validator(policy_schema())
    for error in validator.iter_errors(data):
        leaves = _leaf_errors(error)
        for leaf in leaves:
            path = tuple(leaf.absolute_path)
            if leaf.validator == "additionalProperties" or problems.covered(path, leaf.validator == "oneOf"):
                continue  # reported by the structure stage, with a suggestion
            problems.add(tuple(leaf.absolute_path), _humanize(leaf), value=leaf.validator != "required")
    # Meaning is checked even when the schema found problems, so one run lists every problem (a bad size
    # used to show up only once the other errors were fixed); a value the schema already flagged is skipped.
    _check_semantics(problems, data)
    if problems.items:
        raise PolicyError(source, _unique(problems.messages()))
    where = lambda path: "{}:{}:{}".format(source, *marks.find(path))  # noqa: E731
    return _build(source, text, data, tuple(policy_warnings(data, where)))


def _leaf_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    # For a name matcher (oneOf of string/list/map) the whole-value message is clearer than its branches.
    if error.context and error.validator not in ("oneOf",):
        return [leaf for sub in error.context for leaf in _leaf_errors(sub)]
    return [error]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _build(source: str, text: str, data: Mapping[str, Any], warnings: tuple[str, ...]) -> Policy:
    scope = data.get("scope") or {}
    limits = data.get("limits") or {}
    rules = tuple(
        Rule(
            name=r["name"], resource=r["resource"], action=r["action"], match=r.get("match") or {},
            keep=r.get("keep") or {}, enabled=r.get("enabled", True), description=r.get("description", ""),
            grace=r.get("grace"), notify=bool(r.get("notify", False)),
        )
        for r in data["rules"]
    )
    overrides = {str(path): {str(k): dict(v or {}) for k, v in (patches or {}).items()}
                 for path, patches in (data.get("overrides") or {}).items()}
    return Policy(
        source=source,
        digest="sha256:" + hashlib.sha256(text.encode()).hexdigest(),
        scope=Scope(
            groups=tuple(str(g).strip("/") for g in scope.get("groups") or ()),
            projects=tuple(str(p).strip("/") for p in scope.get("projects") or ()),
            all=bool(scope.get("all", False)),
            exclude=tuple(scope.get("exclude") or ()),
            archived=bool(scope.get("archived", False)),
        ),
        limits=Limits(limits.get("max_actions"), limits.get("max_percent")),
        rules=rules,
        overrides=overrides,
        notify=_notify(data.get("notify") or {}),
        warnings=warnings,
    )


def _notify(data: Mapping[str, Any]) -> NotifySettings:
    """The resolved defaults: with `project:` set, issues are not per project (issues is None)."""
    project = data.get("project")
    return NotifySettings(
        issues=None if project else "per-project",
        project=str(project).strip("/") if project else None,
        labels=tuple(data.get("labels") or ("janitor",)),
        assignees=str(data.get("assignees", "none")),
    )


def load_policy(path: str | Path) -> Policy:
    file = Path(path)
    try:
        text = read_bounded(file)
    except FileNotFoundError:
        raise PolicyError(str(path), [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), [f"{path}: cannot read it: {exc}"]) from None
    policy = validate_text(text, str(path))
    if not policy.scope.all and not policy.scope.paths():
        raise PolicyError(str(path), [f"{path}:1:1: scope: names no groups or projects",
                                      "set scope.groups, scope.projects, or scope.all: true"])
    return policy


__all__ = ["CONDITIONS", "load_policy", "validate_text"]
