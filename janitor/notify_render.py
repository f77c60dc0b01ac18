"""The Markdown of notify's issues: title, description and closing comment.

Everything a project member controls (project paths, item titles, which embed branch, tag and package
names) is written inside a code span. GitLab renders a code span's content literally: no HTML, no link,
no emphasis, and its reference filters skip `code` elements, so `@group` pings nobody and `#1` or `!2`
links nothing (doc/user/markdown.md, "Code spans and blocks"; GitLab's reference filters ignore
`pre`/`code`/`a` nodes). Control and bidi characters are escaped first (`printable`), so a name can
neither end the line nor reorder it. Rule names are ours ([a-z0-9-]+) and go in code spans too.

The text depends only on the plan and the state, so a second run renders the same bytes and edits nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from janitor.notify_inputs import Notice, Status
from janitor.textsafe import printable

MARKER_PREFIX = "<!-- gitlab-janitor:notify "
_BACKTICKS = re.compile(r"`+")

# How to keep an item besides protecting it or naming it in keep.names, per resource kind.
_OWN_ACTION = {"branches": "merge it, or delete it yourself"}


def code(value: object) -> str:
    """`value` as an inert GitLab Markdown code span, whatever it holds."""
    shown = printable(value)
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    return f"{fence} {shown} {fence}"  # CommonMark drops one space each side: a leading ` stays content


def marker(project_id: int | None) -> str:
    """The hidden line that, with the first label, marks an issue as notify's (the summary's has no id)."""
    return f"{MARKER_PREFIX}{'summary' if project_id is None else f'project={project_id}'} -->"


def day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def title(notices: Sequence[Notice]) -> str:
    count = len(notices)
    earliest = min(n.due for n in notices)
    return (f"Scheduled clean-up: {count} item{'' if count == 1 else 's'} will be removed on or after "
            f"{day(earliest)}")


def _line(notice: Notice) -> str:
    status = ("pending (grace period running)" if notice.status is Status.PENDING
              else "grace period over: awaiting approval of the clean-up")
    own = _OWN_ACTION.get(notice.resource)
    keep = "protect it, or have the policy's owners add its name to the rule's `keep.names`"
    return (f"- **{day(notice.due)}** {code(notice.title)} - rule "
            f"{code(notice.rule)}, {status}. To keep it: {keep}" + (f"; or {own}." if own else "."))


# GitLab takes descriptions up to 1,048,576 characters (doc/api/issues.md, "New issue"). A project's list
# stops after this many lines, and a whole description before this many characters, saying how many more.
LINES_PER_PROJECT = 500
MAX_CHARACTERS = 900_000


def _section(notices: Sequence[Notice], limit: int = LINES_PER_PROJECT) -> list[str]:
    lines = [_line(n) for n in notices[:limit]]
    if len(notices) > limit:
        lines.append(f"- ... and {len(notices) - limit} more, due later (the plan's report lists every one).")
    return lines


_FOOTER = ("gitlab-janitor updates this issue on each run and closes it when nothing here is scheduled any "
           "more. An item that changes (a branch that gets a new commit, for example) starts its grace "
           "period again.")


def project_description(project_id: int, notices: Sequence[Notice]) -> str:
    head = [marker(project_id), f"gitlab-janitor will remove these items from {code(notices[0].project_path)} "
            "on or after the dates shown, unless you keep them:", ""]
    return _within_limit(head, [_section(notices)])


def summary_description(by_project: Sequence[Sequence[Notice]]) -> str:
    head = [marker(None), "gitlab-janitor will remove these items on or after the dates shown, unless their "
            "projects keep them.", ""]
    return _within_limit(head, [[f"### {code(notices[0].project_path)}", "", *_section(notices), ""]
                                for notices in by_project])


def _within_limit(head: list[str], blocks: Sequence[Sequence[str]]) -> str:
    lines, used = list(head), sum(len(x) + 1 for x in head) + len(_FOOTER) + 200
    for index, block in enumerate(blocks):
        size = sum(len(x) + 1 for x in block)
        if used + size > MAX_CHARACTERS:
            lines.append(f"... and {len(blocks) - index} more (the plan's report lists every one).")
            break
        lines += block
        used += size
    return "\n".join([*lines, "", _FOOTER, ""])


CLOSING_COMMENT = ("Nothing here is scheduled for removal any more: every item was kept, changed or removed. "
                   "gitlab-janitor closes this issue, and opens a new one if something qualifies again.")
