"""Tasks pane: every task per slot with its spec, state, exit code, OOM flag, memory and full error."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text

from ccci_tui.domain.model import ROLE_ATTEMPTED, ROLE_CURRENT, ROLE_PREVIOUS, TaskState
from ccci_tui.tui.format import memory_bar, safe
from ccci_tui.tui.view import View
from ccci_tui.tui.widgets.synced_table import SyncedTable
from ccci_tui.tui.widgets.table_cells import KeyCell, Row, TaskMessage

# the error before the memory bar: errors are short, and the first thing to read
COLUMNS = ("", "slot", "task", "node", "spec", "state", "desired", "exit", "OOM", "error", "memory")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BAD = frozenset({"failed", "rejected"})


def _order(t: TaskState) -> tuple[int, datetime, str]:
    return (t.slot if t.slot is not None else 0, t.created_at or t.updated_at or _EPOCH, t.id)


def task_row(t: TaskState, marked: bool, colours: dict[str, str], limit: int | None) -> Row:
    """One task as table cells; terminal tasks dim, failures in the error colour."""
    dim = "dim" if t.terminal and t.state not in _BAD else ""
    bad = f"bold {colours['error']}" if t.state in _BAD or (t.exit_code not in (None, 0)) else ""
    role = {ROLE_CURRENT: "current", ROLE_PREVIOUS: "previous", ROLE_ATTEMPTED: "attempted"}.get(t.role, t.role)
    role_style = f"bold {colours['warning']}" if t.role == ROLE_ATTEMPTED else dim
    oom = {True: Text("OOM", style=f"bold {colours['error']}"), False: Text("no", style=dim),
           None: Text("?", style="dim")}[t.oom_killed]
    error = t.err or (t.message if t.state in _BAD else "")
    cells = (
        KeyCell("▶" if marked else " ", t.id, style="bold"),
        Text(str(t.slot) if t.slot is not None else "-", style=dim),
        safe(t.id[:12], "bold" if marked else dim),
        safe(t.node or t.node_id[:8], f"italic {colours['warning']}" if t.node_access else dim),
        Text(role, style=role_style),
        Text(t.state, style=bad or ("bold" if t.running else dim)),
        Text(t.desired, style=dim),
        Text("" if t.exit_code is None else str(t.exit_code), style=bad or dim),
        oom,
        safe(error, bad or dim),
        memory_bar(t),  # the task's own limit: its spec's, which may not be the service's now
    )
    return t.id, cells


class TasksTable(SyncedTable):
    """Rows keyed by task id; a timeline selection marks its task."""

    class Chosen(TaskMessage):
        """Enter on a task: show everything about it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.marked: str | None = None
        self._view: View | None = None
        self._rows: dict[str, tuple[TaskState, bool, Row]] = {}  # task id -> (task, marked, its row)
        self._built_for: tuple[object, ...] = ()  # (memory limit, theme) the rows were built with

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name or "mark")

    def mark(self, task_id: str | None, move: bool = True) -> bool:
        """Mark the task a timeline entry concerns (and move there); False when it is not in view now."""
        self.marked = task_id
        task = self._find(task_id) if task_id is not None else None
        if self._view is not None:
            self.show(self._view, force=True)
        if task is not None and move:
            self.move_to_key(task.id)
        return task is not None

    def _find(self, task_id: str) -> TaskState | None:
        obs = self._view.observation if self._view is not None else None
        return obs.task(task_id) if obs is not None else None

    def show(self, view: View, force: bool = False) -> None:
        with self.updating():
            self._show(view, force)

    def _show(self, view: View, force: bool) -> None:
        if not force and self._view is not None and self._view.observation is view.observation:
            return
        self._view = view
        obs = view.observation
        tasks = sorted(obs.tasks, key=_order) if obs is not None else []
        svc = obs.service if obs is not None else None
        limit = svc.spec.memory_limit if svc is not None else None
        marked = self._find(self.marked) if self.marked else None
        theme = self.app.current_theme
        colours = {"error": theme.error or "red", "warning": theme.warning or "yellow"}
        if (limit, theme.name) != self._built_for:  # in every row: its colours, and the memory bar's limit
            self._rows, self._built_for = {}, (limit, theme.name)
        marked_id = marked.id if marked is not None else None
        # a row is rebuilt only when its task (or its mark) changed: polls repeat most tasks as they were
        old, kept, rows = self._rows, {}, []
        for t in tasks:
            mark = t.id == marked_id
            hit = old.get(t.id)
            if hit is None or hit[1] != mark or (hit[0] is not t and hit[0] != t):
                hit = (t, mark, task_row(t, mark, colours, limit))
            kept[t.id] = hit
            rows.append(hit[2])
        self._rows = kept
        self.sync(rows)
        self.set_subtitle(f"{len(tasks)} tasks")

    def on_synced_table_row_selected(self, event: SyncedTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None:
            self.post_message(self.Chosen(event.row_key))
