"""The pieces of report.html's markup that carry data: escaped text, table cells and tables.

Every string from the data goes through `e`; links come only from `janitor.report.links.Links`."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from janitor.textsafe import printable

ROWS_PER_LIST = 200     # rows per removed/kept table; the rest are counted, never dropped silently
NUMERIC = frozenset({"items", "bytes", "examined", "kept", "to remove", "bytes to free"})

Row = tuple[dict[str, str], list[str]]  # filter attributes (rule, kind, project: data-*), then the cells


def e(value: Any) -> str:
    """Text and attribute values: control and bidi characters shown escaped, HTML specials as entities."""
    return html.escape(printable(value), quote=True)


def out_link(href: str | None) -> str:
    """The '↗' after a name, opening the object in GitLab; nothing when there is no safe link."""
    if href is None:
        return ""
    return f' <a class="out" href="{e(href)}" title="open in GitLab" aria-label="open in GitLab">↗</a>'


def cell(header: str, value: Any, sort: int | None = None, href: str | None = None) -> str:
    """A table cell, labelled with its column for the stacked layout on phones; numbers carry their raw
    value so sorting by '1.5 GiB' orders by bytes, not text."""
    if sort is None:
        return f'<td data-h="{e(header)}">{e(value)}{out_link(href)}</td>'
    return f'<td class="num" data-h="{e(header)}" data-sort="{int(sort)}">{e(value)}{out_link(href)}</td>'


def table(header: Sequence[str], rows: Iterable[Row], total: int | None = None) -> str:
    """A sortable, filterable table; `total` above ROWS_PER_LIST says how many rows were folded away."""
    head = "".join(f'<th scope="col" class="num">{e(h)}</th>' if h in NUMERIC else f'<th scope="col">{e(h)}</th>'
                   for h in header)
    body = "".join("<tr" + "".join(f' data-{k}="{e(v)}"' for k, v in attrs.items()) + f">{''.join(cells)}</tr>"
                   for attrs, cells in rows)
    out = (f'<div class="scroll"><table class="sortable stack" data-filter><thead><tr>{head}</tr></thead>'
           f"<tbody>{body}</tbody></table></div>")
    if total is not None and total > ROWS_PER_LIST:
        out += f'<p class="more">… and {total - ROWS_PER_LIST} more, listed in report.json.</p>'
    return out
