"""Timeline pane: status transitions, spec writes, task changes and events, relative to the deploy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.message import Message

from ccci_tui.domain.timeline import ERROR, EVENT, GONE, SPEC, STATUS, Entry
from ccci_tui.tui.format import abs_time, deploy_anchors, is_deploy, rel_time, safe
from ccci_tui.tui.view import RERUN, View
from ccci_tui.tui.widgets.synced_table import SyncedTable
from ccci_tui.tui.widgets.table_cells import KeyCell, Row, TaskMessage

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
    keys: list[str] = []
    _number(entries, known, {}, keys)
    return keys


def _number(entries: Sequence[Entry], known: dict[int, tuple[Entry, str]] | None, seen: dict[str, int],
            keys: list[str]) -> None:
    """Append the keys of `entries` to `keys`, numbering on from `seen` (base key -> how many so far)."""
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


def _shared(old: tuple[Entry, ...], new: tuple[Entry, ...]) -> int:
    """How many entries `new` begins with that are `old`'s first ones (the same objects): a live timeline
    grows at its end, so usually all of `old`."""
    n = min(len(old), len(new))
    if new[:n] == old[:n]:  # tuple equality tries identity first: no Entry is compared field by field
        return n
    lo, hi = 0, n  # new[:lo] == old[:lo] and new[:hi] != old[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if new[:mid] == old[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


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
        # the rows last shown, and what they were built from: a live refresh builds only the new entries'
        self._entries: tuple[Entry, ...] = ()
        self._seen: dict[str, int] = {}
        self._anchors: list[datetime | None] = []
        self._first_deploy: int | None = None
        self._rows: list[Row] = []
        self._theme = ""

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name or "mark")

    def show(self, view: View, force: bool = False) -> None:
        with self.updating():
            self._show(view, force)

    def _show(self, view: View, force: bool) -> None:
        old = self._view
        if not force and old is not None and old.timeline is view.timeline and old.cursor == view.cursor:
            self._view = view
            return
        self._view = view
        entries = view.timeline.entries
        # live: a cursor on the last row follows new entries, like `tail -f`
        self._follow = view.cursor is None and (not self.row_count or self.cursor_row >= self.row_count - 1)
        theme = self.app.current_theme
        colours = {"error": theme.error or "red", "accent": theme.primary or "blue",
                   "warning": theme.warning or "yellow"}
        live = not force and old is not None and old.cursor is None and view.cursor is None
        if live and theme.name == self._theme and old is not None and old.timeline is not view.timeline:
            self._grow(view, colours)
        elif not live or old is None or old.timeline is not view.timeline:
            self._build(view, colours)
        keys = self._keys
        self.sync(self._rows)
        n = len(entries)
        where = f"{(view.cursor or 0) + 1}/{n}" if view.cursor is not None and n else f"{n}"
        self.set_subtitle(f"{where} entries · t: {'relative' if self.absolute else 'absolute'} times")
        if view.cursor is not None and keys:
            # replay: the cursor row sits mid-pane, so what led to it and what follows both show
            self.move_to_key(keys[view.cursor], scroll=False)
            self._center(view.cursor)
        elif self._follow and keys:
            # following selects nothing unless the pane has focus (on_synced_table_row_highlighted)
            self.move_cursor(row=len(keys) - 1, announce=self.has_focus)

    def _build(self, view: View, colours: dict[str, str]) -> None:
        """Every row from `view`'s entries (a row whose inputs did not change is reused)."""
        entries = view.timeline.entries
        old = self._entries
        if entries is not old or not self._keys:
            self._seen, self._keys = {}, []
            _number(entries, self._known, self._seen, self._keys)
        self._entries = entries
        self._anchors = deploy_anchors(entries)
        self._first_deploy = next((i for i, e in enumerate(entries) if is_deploy(e)), None)
        self._theme = self.app.current_theme.name
        cache: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        rows: list[Row] = []
        for i, (key, e, anchor) in enumerate(zip(self._keys, entries, self._anchors, strict=True)):
            inputs = (e, anchor, self.absolute, view.cursor is not None and i > view.cursor, i == view.cursor,
                      self._theme)
            rows.append((key, self._entry_cells(cache, key, inputs, colours)))
        self._cache, self._rows = cache, rows

    def _grow(self, view: View, colours: dict[str, str]) -> None:
        """Live, no cursor: keep the rows of the entries the last timeline began with, build the rest."""
        entries = view.timeline.entries
        p = _shared(self._entries, entries)
        if self._first_deploy is None or self._first_deploy >= p:
            self._build(view, colours)  # times count from the first deploy: a new first one moves them all
            return
        seen = self._seen
        for key in self._keys[p:]:  # what the entries kept had counted
            base = key.rpartition("#")[0]
            seen[base] -= 1
            self._cache.pop(key, None)
        keys = self._keys[:p]
        _number(entries[p:], None, seen, keys)
        anchors = self._anchors[:p]
        current = anchors[-1]
        rows = self._rows[:p]
        for key, e in zip(keys[p:], entries[p:], strict=True):
            if is_deploy(e):
                current = e.at
            anchors.append(current)
            inputs = (e, current, self.absolute, False, False, self._theme)
            rows.append((key, self._entry_cells(self._cache, key, inputs, colours)))
        self._entries, self._keys, self._anchors, self._rows = entries, keys, anchors, rows

    def _entry_cells(self, cache: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]], key: str, inputs: tuple[Any, ...],
               colours: dict[str, str]) -> tuple[Any, ...]:
        hit = self._cache.get(key)
        if hit is not None and hit[0] == inputs:
            cells = hit[1]
        else:
            e, anchor, absolute, future, current = inputs[:5]
            cells = entry_cells(key, e, anchor, absolute, future, current, colours)
        cache[key] = (inputs, cells)
        return cells

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
