"""Read a policy's YAML without letting the file choose how much memory, time or stack it takes.

A policy is small and flat, so what a hostile or careless file could use is refused while it is composed,
before any Python object is built:
- anchors and aliases (`&a`, `*a`, merge keys `<<: *a`): nine nested aliases expand into a billion nodes
  (the "billion laughs"); a policy repeats its few values instead, or uses `overrides`;
- nesting deeper than MAX_DEPTH (a policy needs about eight levels): 5,000 `[` would exhaust the stack;
- a file larger than MAX_BYTES.
Values the safe constructor cannot build (`!!int` of 5,000 digits, a 13th month in a timestamp) and
non-finite numbers (`.nan`, `.inf`, which compare false against every bound and so disable a limit) are
reported at their line and column too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

MAX_DEPTH = 32
MAX_BYTES = 1_000_000
ANCHOR_HINT = "anchors and aliases are not allowed in a policy: repeat the value, or use overrides"

PathKey = tuple[Any, ...]


class YamlRefused(Exception):
    """The text is not a policy's YAML: `where` is (line, column), both from 1."""

    def __init__(self, where: tuple[int, int], problem: str) -> None:
        super().__init__(problem)
        self.where, self.problem = where, problem


def _at(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses anchors, aliases and deep nesting as it meets them."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise YamlRefused(_at(event.start_mark), f"alias *{event.anchor} ({ANCHOR_HINT})")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise YamlRefused(_at(event.start_mark), f"anchor &{anchor} ({ANCHOR_HINT})")
        if not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlRefused(_at(event.start_mark), f"nested more than {MAX_DEPTH} levels deep "
                              "(a policy needs fewer than ten)")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # only the input can make the safe constructor fail
            # it lets int(), float() and datetime() errors escape (`!!int` of nothing, a 13th month); they are
            # mistakes in the YAML, at this node
            problem = "a number longer than 4300 digits" if "Exceeds the limit" in str(exc) else str(exc)
            raise ConstructorError(None, None, f"cannot read this value: {problem}", node.start_mark) from None


def read_bounded(path: Path) -> str:
    """The file's text, reading no more than MAX_BYTES + 1 bytes: /dev/zero or a FIFO never fills memory.
    Newlines are read as Path.read_text reads them, so a policy's digest does not change."""
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return data.decode("utf-8", errors="replace")  # refused for its size; the cut may split a character
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """The single document's node tree (for line numbers) and its data; raises YamlRefused for anything
    refused above and for YAML that does not parse."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise YamlRefused((1, 1), f"the file is larger than {MAX_BYTES // 1000} kB; a policy is a few kB")
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters here already
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        raise YamlRefused((line, column), f"not valid YAML: control character U+{code:04X} is not allowed") \
            from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlRefused(_at(mark), f"not valid YAML: {problem}") from None
    return node, data


def non_finite_numbers(data: Any, path: PathKey = ()) -> Iterator[PathKey]:
    """Paths of every NaN or infinity, in keys and values (the JSON schema's bounds cannot see them)."""
    stack: list[tuple[PathKey, Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            yield where
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, float) and not math.isfinite(key):
                    yield where + (key,)
                stack.append((where + (key,), item))
        elif isinstance(value, (list, tuple)):
            stack.extend((where + (index,), item) for index, item in enumerate(value))
