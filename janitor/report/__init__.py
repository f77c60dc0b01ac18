"""Reports are views of one value (`report_data`), so the formats can never disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from janitor.model import Json, json_lines
from janitor.report.data import report_data, report_of
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


def write_reports(data: Json, directory: str | Path, project_lines: Iterable[str] | None = None) -> list[Path]:
    """Every report of `data`. `project_lines`, when given, are report.json's projects, already serialized
    one per line and in order (the plan streams them from its spool): `data["projects"]` may then hold
    summaries only, and report.json still lists every item."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, render in REPORTER_BY_NAME.values():
        path = out / filename
        if filename == "report.json" and project_lines is not None:
            from janitor.plan_stream import spread_lines  # it builds on this package: imported when used

            rendered: str | Iterator[str] = spread_lines({k: v for k, v in data.items() if k != "projects"},
                                                         "projects", project_lines)
        else:
            rendered = render(data)
        with open(path, "w", encoding="utf-8") as handle:
            if isinstance(rendered, str):
                handle.write(rendered)
            else:
                handle.writelines(rendered)
        written.append(path)
    return written


__all__ = ["REPORTER_BY_NAME", "report_data", "report_of", "write_reports"]
