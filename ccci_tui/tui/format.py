"""Rich text for the panes: times, sizes, bars, stamps; every external string goes through `safe`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from ccci_tui.domain.memory import fmt_bytes as fmt_bytes  # one home for sizes: domain/memory
from ccci_tui.domain.memory import memory_cell
from ccci_tui.domain.model import RecipeState, SpecSummary, TaskState, UpdatePolicy
from ccci_tui.domain.redact import redact_text
from ccci_tui.domain.stamp import parse_stamp
from ccci_tui.domain.text import printable
from ccci_tui.domain.timeline import SPEC, SPEC_WRITE, Entry

SEVERITY_GLYPH = {"ok": "✔", "info": "…", "error": "✖"}
BAR_WIDTH = 6


def safe(text: object, style: str = "") -> Text:
    """External text as plain Text (never markup), secrets masked, control characters made visible."""
    return Text(printable(redact_text(str(text)), limit=20000, newlines=True), style=style)


def short(sha: str | None, n: int = 8) -> str:
    return sha[:n] if sha else "?"


def abs_time(at: datetime) -> str:
    """Engine time as HH:MM:SS.mmm UTC (the recordings and the engine speak UTC)."""
    return at.strftime("%H:%M:%S.") + f"{at.microsecond // 1000:03d}"


def rel_time(at: datetime, anchor: datetime | None) -> str:
    """`+5.6 s` after the deploy; minutes past a minute so the column stays narrow."""
    if anchor is None:
        return abs_time(at)
    secs = (at - anchor).total_seconds()
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    if secs < 60:
        return f"{sign}{secs:.1f} s"
    if secs < 3600:
        return f"{sign}{int(secs // 60)}m{secs % 60:04.1f}s"
    return f"{sign}{int(secs // 3600)}h{int(secs % 3600 // 60):02d}m"


def is_deploy(e: Entry) -> bool:
    """A spec write: what times on the timeline count from."""
    return e.kind == SPEC and e.state == SPEC_WRITE


def deploy_anchors(entries: Sequence[Entry]) -> list[datetime | None]:
    """For each entry, the time of the deploy it follows: the latest spec write at or before it.

    Entries before the first deploy count from that first deploy (negative times), and a timeline
    without any deploy counts from its first entry.
    """
    writes = [e.at for e in entries if is_deploy(e)]
    first = writes[0] if writes else (entries[0].at if entries else None)
    out: list[datetime | None] = []
    current = first
    for e in entries:
        if is_deploy(e):
            current = e.at
        out.append(current)
    return out


def memory_bar(task: TaskState, width: int = BAR_WIDTH) -> Text:
    """`▇▇▇▇░░ 21M/32M` for a running task; `OOM: 32M limit` (in words) for one the kernel killed at its
    limit, `node OOM (no limit)`, `last 12M` for a task that has ended (domain/memory.memory_cell)."""
    text, frac = memory_cell(task)
    if task.oom_killed:
        return Text(text, style="bold")  # the limit reached (or a node OOM), said in words: no stale bar
    if frac is None:
        return Text(text, style="dim" if task.terminal or text == "-" else "")
    full = round(max(0.0, min(1.0, frac)) * width)
    bar = Text("▇" * full, style="bold" if frac >= 0.9 else "")
    bar.append("░" * (width - full), style="dim")
    bar.append(f" {text}")
    return bar


def policy_lines(p: UpdatePolicy | None) -> str:
    """`start-first, rollback, 5s` (order, failure action, monitor), plus non-default batching."""
    if p is None:
        return "unset (defaults)"
    text = f"{p.order}, {p.failure_action}, {p.monitor_s:g}s"
    if p.parallelism != 1 or p.delay_s:
        text += f", parallelism {p.parallelism}, delay {p.delay_s:g}s"
    return text


def stamp_names(raw: str | None, recipe: RecipeState | None, expected: str | None) -> str:
    """What a stamp points to: tag names, `recipe HEAD`, `expected head`, or why it is not a stamp."""
    stamp = parse_stamp(raw)
    if not stamp.ok or stamp.sha is None:
        return stamp.problem or "?"
    names: list[str] = []
    if recipe is not None:
        names += list(recipe.tags_at(stamp.sha))
        if stamp.matches(recipe.head_sha):
            names.append("recipe HEAD")
    if expected and stamp.matches(expected):
        names.append("expected head")
    return ", ".join(names) if names else "no tag; not HEAD"


def sha_names(sha: str | None, recipe: RecipeState | None) -> str:
    """Tag names on a commit, or `no tag`."""
    if not sha:
        return "?"
    tags = recipe.tags_at(sha) if recipe is not None else ()
    return ", ".join(tags) if tags else "no tag"


def spec_stamp(spec: SpecSummary | None, stack: str) -> str | None:
    from ccci_tui.domain.stamp import stamp_key

    return spec.label(stamp_key(stack)) if spec is not None else None
