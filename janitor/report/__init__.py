"""Reports are views of one value (`report_data`), so the formats can never disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from janitor.model import Json, json_lines
from janitor.report.data import report_data
from janitor.report.markdown import render_markdown

Renderer = Callable[[Json], "str | Iterator[str]"]
REPORTER_BY_NAME: dict[str, tuple[str, Renderer]] = {
    "markdown": ("report.md", render_markdown),
}


def _json(data: Json) -> Iterator[str]:
    return json_lines(data, spread="projects")  # one project per line, written as it is made


REPORTER_BY_NAME["json"] = ("report.json", _json)

try:  # the HTML reporter is optional until it lands
    from janitor.report.html import render_html

    REPORTER_BY_NAME["html"] = ("report.html", render_html)
except ImportError:  # pragma: no cover
    pass


def write_reports(data: Json, directory: str | Path) -> list[Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, render in REPORTER_BY_NAME.values():
        path = out / filename
        rendered = render(data)
        with open(path, "w", encoding="utf-8") as handle:
            if isinstance(rendered, str):
                handle.write(rendered)
            else:
                handle.writelines(rendered)
        written.append(path)
    return written


__all__ = ["REPORTER_BY_NAME", "report_data", "write_reports"]
