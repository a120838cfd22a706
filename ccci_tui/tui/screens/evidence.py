"""The verdict's evidence, and one task in full: modal screens over the main screen."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ccci_tui.domain.memory import Samples, memory_facts, node_facts, series
from ccci_tui.domain.model import NodeContext, TaskState
from ccci_tui.domain.verdict import Verdict
from ccci_tui.tui.format import SEVERITY_GLYPH, abs_time, fmt_bytes, safe
from ccci_tui.tui.screens.page import Page


def evidence_renderable(verdict: Verdict) -> Table:
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    table.add_row("verdict", Text(f"{SEVERITY_GLYPH[verdict.severity]} {verdict.kind}  (exit {verdict.exit_code})",
                                  style="bold"))
    table.add_row("summary", safe(verdict.summary))
    table.add_row("", "")
    for e in verdict.evidence:
        table.add_row(safe(e.source), safe(e.text))
    table.add_row("", "")
    table.add_row("next step", safe(verdict.next_step, "bold"))
    if verdict.task_id:
        table.add_row("task", safe(verdict.task_id))
    return table


class EvidenceScreen(ModalScreen[None]):
    """Every evidence line with its source; `e` exports, Escape closes."""

    BINDINGS = [
        Binding("escape,q,v", "dismiss", "Close"),
        Binding("e", "app.export", "Export"),
    ]

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(classes=f"-{verdict.severity}")
        self.verdict = verdict

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="evidence-box", classes="dialog") as box:
            box.border_title = "Evidence"
            box.border_subtitle = "e export · Esc close"
            yield Static(evidence_renderable(self.verdict), id="evidence-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="evidence-export", compact=True, action="app.export")
                yield Button("Close", id="evidence-close", compact=True, action="screen.dismiss")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def task_renderable(t: TaskState, now: datetime | None = None, samples: Samples = (),
                    node: NodeContext | None = None, service: str = "") -> Table:
    """One task in full: its memory facts labelled with what and when they are, the samples so far as a
    sparkline, and its node's memory with what every task there limits, reserves and uses."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    rows: list[tuple[str, str]] = [
        ("task", t.id),
        ("slot", str(t.slot) if t.slot is not None else "-"),
        ("spec", t.role),
        ("state", f"{t.state} (desired {t.desired})"),
        ("since", f"{abs_time(t.updated_at)} UTC" if t.updated_at else "?"),
        ("created", f"{abs_time(t.created_at)} UTC" if t.created_at else "?"),
        ("exit code", "" if t.exit_code is None else str(t.exit_code)),
        ("OOM-killed", {True: "yes (State.OOMKilled)", False: "no",
                        None: f"unknown: {t.node_access or 'its container is gone or was not read'}"}[t.oom_killed]),
    ]
    rows += [("memory" if i == 0 else "", fact) for i, fact in enumerate(memory_facts(t, now))]
    if len(samples) > 1:
        low, high = min(v for _, v in samples), max(v for _, v in samples)
        rows.append(("", f"{series(samples)}  {len(samples)} samples {abs_time(samples[0][0])}–"
                         f"{abs_time(samples[-1][0])} UTC, {fmt_bytes(low)}–{fmt_bytes(high)}"))
    rows += [
        ("message", t.message),
        ("error", t.err or ""),
        ("node", f"{t.node} ({t.node_id})" if t.node else t.node_id),
    ]
    if node is not None:
        rows += [("", fact) for fact in node_facts(node, service)]
    rows += [
        ("container", t.container_id),
        ("template", t.spec_fp),
    ]
    for name, value in rows:
        table.add_row(name, safe(value))
    return table


class TaskScreen(Page):
    """One task with its full error text."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, task: TaskState, now: datetime | None = None, samples: Samples = (),
                 node: NodeContext | None = None, service: str = "") -> None:
        super().__init__("task-box", f"Task {task.id[:12]}", task_renderable(task, now, samples, node, service))
        self.task_state = task
