"""Reading an inventory file of any JSON layout (another tool's, pretty-printed) one entry at a time.

`{"timestamp": ..., "entries": {"<id>": {...}, ...}}` is read in chunks: each value is parsed on its own by
the strict decoder (inventory_check: no NaN, no key twice in one object, no runaway nesting), so memory
holds one entry, not the file. The outer objects get the same checks by hand: a key twice is refused in
the decoder's own words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

from janitor.inventory_check import _DECODER_UNIQUE, JsonProblem, show

CHUNK = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"[-+0-9.eE]*")


class NotAnObject(ValueError):
    """The file's top level (or its "entries") is valid JSON of another type, or missing: the caller says so
    in its own words."""


class Scanner:
    """A JSON text read a value at a time (janitor/state.py streams the state's items with it too)."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.buf = ""
        self.pos = 0
        self.eof = False

    def _more(self) -> bool:
        """Read on; a chunk at least as large as what is held, so a value across many chunks costs linear time."""
        if self.eof:
            return False
        self.buf = self.buf[self.pos:]
        self.pos = 0
        chunk = self.handle.read(max(CHUNK, len(self.buf)))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            match = _SPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def take(self, expected: str) -> None:
        found = self.peek()
        if found != expected:
            raise ValueError(f"expected {expected!r}, found {show(found) if found else 'the end of the file'}")
        self.pos += 1

    def value(self) -> Any:
        if self.peek() in ("-", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"):
            # a number at the chunk's end ("1.35" of "1.35e+16") must be whole before it is parsed
            while (found := _NUMBER.match(self.buf, self.pos)) and found.end() == len(self.buf) and self._more():
                pass
        while True:
            try:
                value, end = _DECODER_UNIQUE.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self._more():  # the value may just continue in the next chunk
                    continue
                raise
            except RecursionError:
                raise JsonProblem("it is nested too deeply to be read (hundreds of levels of [ or {)") from None
            self.pos = end
            return value

    def object_keys(self) -> Iterator[str]:
        """The keys of the object starting here; after each, the caller reads (or skips) its value."""
        self.take("{")
        if self.peek() == "}":
            self.pos += 1
            return
        seen: set[str] = set()
        while True:
            if self.peek() != '"':
                raise ValueError(f"expected a key, found {show(self.peek()) or 'the end of the file'}")
            key = self.value()
            if key in seen:
                raise JsonProblem(f"the key {show(key)} appears twice in one object")
            seen.add(key)
            self.take(":")
            yield key
            found = self.peek()
            self.pos += 1
            if found == "}":
                return
            if found != ",":
                raise ValueError(f"expected ',' or '}}', found {show(found) if found else 'the end of the file'}")

    def list_values(self) -> Iterator[Any]:
        """The elements of the list starting here."""
        self.take("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            found = self.peek()
            self.pos += 1
            if found == "]":
                return
            if found != ",":
                raise ValueError(f"expected ',' or ']', found {show(found) if found else 'the end of the file'}")

    def end(self) -> None:
        if self.peek():
            raise ValueError("extra data after the top-level object")


def stream_file(handle: IO[str], entries: bool) -> Iterator[tuple[str, Any]]:
    """With `entries`, each (key, entry) of "entries"; without, the other top-level (key, value) pairs, the
    entries parsed and dropped. Raises NotAnObject, JsonProblem or ValueError (bad JSON)."""
    scan = Scanner(handle)
    if scan.peek() != "{":
        raise NotAnObject("not an object")
    found = False
    for key in scan.object_keys():
        if key != "entries":
            value = scan.value()
            if not entries:
                yield key, value
            continue
        if scan.peek() != "{":
            raise NotAnObject('"entries" is not an object')
        found = True
        for entry_key in scan.object_keys():
            entry = scan.value()
            if entries:
                yield entry_key, entry
    scan.end()
    if not found:
        raise NotAnObject('no "entries"')
