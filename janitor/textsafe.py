"""Names from GitLab shown to a person: control characters made visible, never obeyed.

Branch, tag, package and environment names, project paths and titles are chosen by project members. A
name holding ESC `[2J` would clear the operator's terminal when printed, and a bidi override (U+202E)
would show `gnp.exe` as `exe.png`: in a terminal, a job log or a report, the reader would see something
other than what is there. `printable` is the one place that decides which characters are shown escaped;
every output a person reads (the terminal, report.md, report.html) goes through it. report.json keeps
the exact names: it is for programs, and JSON escapes control characters by itself.
"""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# C0 controls, DEL and C1 controls; the Unicode bidi embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069) and marks (U+200E, U+200F, U+061C); and the line and paragraph separators (U+2028,
# U+2029), which some viewers break lines on.
_UNSAFE = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
           0x200E, 0x200F, 0x061C, 0x2028, 0x2029]


def _escape(code: int) -> str:
    char = chr(code)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TABLE = {code: _escape(code) for code in _UNSAFE}
_TABLE_KEEPING_NEWLINES = {code: text for code, text in _TABLE.items() if code != ord("\n")}


def printable(value: object, keep_newlines: bool = False) -> str:
    """`value` as text in which every control and bidi character is written as its escape (`\\x1b`,
    `\\u202e`, `\\n`). `keep_newlines` leaves line feeds alone, for multi-line messages we wrote ourselves
    that embed names (a name's own newline is escaped before it gets there, by whoever embeds it)."""
    return str(value).translate(_TABLE_KEEPING_NEWLINES if keep_newlines else _TABLE)
