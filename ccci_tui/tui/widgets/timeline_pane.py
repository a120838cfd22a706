"""Timeline pane: status transitions, spec writes, task changes and events, relative to the deploy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.message import Message

from ccci_tui.domain.timeline import ERROR, EVENT, GONE, SPEC, STATUS, Entry
from ccci_tui.tui.format import abs_time, deploy_anchors, rel_time, safe
from ccci_tui.tui.view import RERUN, View
from ccci_tui.tui.widgets.synced_table import KeyCell, Row, SyncedTable, TaskMessage

COLUMNS = ("", "time", "what", "entry")
_FAILING = frozenset({"failed", "rejected", "oom", "die", "health_status: unhealthy", "rollback_started",
                      "rollback_completed", "paused", "rollback_paused"})


def _base_key(e: Entry) -> str:
    return f"{e.at.timestamp():.6f}|{e.kind}|{e.state}|{e.task_id}"


def row_keys(entries: Sequence[Entry], known: dict[int, tuple[Entry, str]] | None = None) -> list[str]:
    """A stable key per entry: time, kind, state and task, numbered when all four repeat.

    `known` caches base keys by entry identity (snapshots share their entries); it is refilled with
    `entries` alone, so entries the timeline has dropped leave it.
    """
    seen: dict[str, int] = {}
    keys = []
    fresh: dict[int, tuple[Entry, str]] = {}
    for e in entries:
        hit = known.get(id(e)) if known is not None else None
        base = hit[1] if hit is not None and hit[0] is e else _base_key(e)
        fresh[id(e)] = (e, base)
        n = seen.get(base, 0)
        seen[base] = n + 1
        keys.append(f"{base}#{n}")
    if known is not None:
        known.clear()
        known.update(fresh)
    return keys


def _kind_label(e: Entry) -> str:
    if e.kind == EVENT:
        return (e.state or "event").replace("health_status: ", "")
    if e.kind == STATUS:
        return "status"
    return e.kind


def entry_cells(key: str, e: Entry, anchor: datetime | None, absolute: bool, future: bool, current: bool,
                colours: dict[str, str]) -> tuple[Any, ...]:
    """One timeline row: marker, time, kind, text; the future (after a replay cursor) dimmed."""
    base = "dim" if future else ""
    loud = e.kind in (STATUS, SPEC, GONE, ERROR, RERUN) or (e.state in _FAILING)
    colour = (colours["error"] if e.state in _FAILING or e.kind in (GONE, ERROR)
              else colours.get("warning", colours["accent"]) if e.kind == RERUN else colours["accent"])
    style = f"{base} {'bold ' + colour if loud and not future else ''}".strip()
    return (
        KeyCell("▶" if current else " ", key, style="bold"),
        Text(abs_time(e.at) if absolute else rel_time(e.at, anchor), style=base),
        Text(_kind_label(e), style=style),
        safe(e.text, base),
    )


class TimelineTable(SyncedTable):
    """Rows keyed by entry; moving over a row marks its task, Enter (replay) moves the cursor there."""

    class TaskFocused(TaskMessage):
        """The highlighted entry concerns this task (None: no task)."""

    class CursorRequested(Message):
        """Replay: move the cursor to this entry."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.absolute = False
        self._view: View | None = None
        self._keys: list[str] = []
        self._known: dict[int, tuple[Entry, str]] = {}
        self._cache: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        self._follow = True

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name or "mark")

    def show(self, view: View, force: bool = False) -> None:
        old = self._view
        if not force and old is not None and old.timeline is view.timeline and old.cursor == view.cursor:
            self._view = view
            return
        self._view = view
        entries = view.timeline.entries
        # live: a cursor on the last row follows new entries, like `tail -f`
        self._follow = view.cursor is None and (not self.row_count or self.cursor_row >= self.row_count - 1)
        if old is None or old.timeline is not view.timeline:
            self._keys = row_keys(entries, self._known)
        keys = self._keys
        anchors = deploy_anchors(entries)
        theme = self.app.current_theme
        colours = {"error": theme.error or "red", "accent": theme.primary or "blue",
                   "warning": theme.warning or "yellow"}
        rows: list[Row] = []
        cache: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        for i, (key, e, anchor) in enumerate(zip(keys, entries, anchors, strict=True)):
            inputs = (e, anchor, self.absolute, view.cursor is not None and i > view.cursor, i == view.cursor,
                      theme.name)
            hit = self._cache.get(key)
            cells = hit[1] if hit is not None and hit[0] == inputs else entry_cells(
                key, e, anchor, self.absolute, inputs[3], inputs[4], colours)
            cache[key] = (inputs, cells)
            rows.append((key, cells))
        self._cache = cache
        self.sync(rows)
        n = len(entries)
        where = f"{(view.cursor or 0) + 1}/{n}" if view.cursor is not None and n else f"{n}"
        self.border_subtitle = f"{where} entries · t: {'relative' if self.absolute else 'absolute'} times"
        if view.cursor is not None and keys:
            # replay: the cursor row sits mid-pane, so what led to it and what follows both show
            self.move_to_key(keys[view.cursor], scroll=False)
            self._center(view.cursor)
        elif self._follow and keys:
            self.move_cursor(row=len(keys) - 1)

    def _center(self, row: int) -> None:
        height = self.scrollable_content_region.height
        if height > 0:  # else not laid out yet: `on_resize` centres it once it is
            self.scroll_to(y=max(0, row - (height - 1) // 2), animate=False, immediate=True)

    def on_resize(self) -> None:
        # The pane's first height is not always its last (the banner above wraps once its width is
        # known): the replay cursor is centred again at each height the pane gets.
        if self._view is not None and self._view.cursor is not None:
            self._center(self._view.cursor)

    def toggle_absolute(self) -> None:
        self.absolute = not self.absolute
        if self._view is not None:
            self.show(self._view, force=True)

    def entry_at_row(self, row: int) -> tuple[int, Entry] | None:
        if self._view is None or not 0 <= row < len(self._view.timeline.entries):
            return None
        return row, self._view.timeline.entries[row]

    def on_synced_table_row_highlighted(self, event: SyncedTable.RowHighlighted) -> None:
        event.stop()
        replaying = self._view is not None and self._view.cursor is not None
        if not (self.has_focus or replaying):
            return  # live, the cursor follows new entries on its own: that selects nothing
        found = self.entry_at_row(event.cursor_row)
        self.post_message(self.TaskFocused(found[1].task_id if found else None))

    def on_synced_table_row_selected(self, event: SyncedTable.RowSelected) -> None:
        event.stop()
        if self._view is not None and self._view.cursor is not None:
            self.post_message(self.CursorRequested(event.cursor_row))
