"""Compare screen: the base vs head effective update policy, overlays merged, with risk notes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Select, SelectionList, Static

from ccci_tui.domain.compare import Comparison, format_value
from ccci_tui.domain.memory import fmt_bytes
from ccci_tui.tui.compare_source import CompareChoices, CompareError, Comparer
from ccci_tui.tui.format import safe

if TYPE_CHECKING:
    from ccci_tui.domain.preflight import Preflight


def _value(path: str, value: object, explicit: bool | None) -> str:
    if value is None:
        return "(unset)"
    return format_value(path, value) + (" (default)" if explicit is False else "")


def comparison_renderable(c: Comparison, colours: dict[str, str]) -> Group:
    """Differences as a table, then the head's and the base's risk notes (new ones marked)."""
    parts: list[Table | Text] = []
    files = Text("base ", style="bold")
    files.append_text(safe(" + ".join(c.base_files)))
    files.append("   head ", style="bold")
    files.append_text(safe(" + ".join(c.head_files)))
    parts.append(files)
    for note in c.notes():
        parts.append(safe(f"note: {note}", f"italic {colours['warning']}"))
    if c.added_services or c.removed_services:
        parts.append(safe(f"services added: {', '.join(c.added_services) or '-'}; "
                          f"removed: {', '.join(c.removed_services) or '-'}"))
    diff = Table(expand=True, box=None, padding=(0, 1), header_style="bold", title_justify="left",
                 title=f"differences ({len(c.differences)})" if c.differences else "differences: none")
    diff.add_column("service", no_wrap=True)
    diff.add_column("field", ratio=2, overflow="fold")
    diff.add_column("base", ratio=1, overflow="fold")
    diff.add_column("head", ratio=1, overflow="fold")
    for d in c.differences:
        diff.add_row(safe(d.service), safe(d.path), safe(_value(d.path, d.base, d.base_explicit)),
                     safe(_value(d.path, d.head, d.head_explicit), f"bold {colours['warning']}"))
    parts.append(diff)
    new = {id(r) for r in c.new_risks}
    for side, risks in (("head", c.head_risks), ("base", c.base_risks)):
        title = Text(f"\nrisks in {side} ({len(risks)})" if risks else f"\nrisks in {side}: none",
                     style="bold underline")
        parts.append(title)
        for r in risks:
            line = Text("! ", style=f"bold {colours['error']}")
            line.append_text(safe(r.kind, "bold"))
            line.append_text(safe(f" ({r.service})"))
            if id(r) in new:
                line.append(" NEW", style=f"bold {colours['error']}")
            line.append(": ")
            line.append_text(safe(r.message))
            parts.append(line)
            evidence = "; ".join(f"{k}={v}" for k, v in r.evidence.items())
            if evidence:
                parts.append(safe(f"    {evidence}", "dim"))
    return Group(*parts)


def preflight_renderable(report: Preflight | str, colours: dict[str, str]) -> Group:
    """The preflight panel: can the head roll out with each service's own order, per service, with numbers."""
    title = Text("\npreflight: ", style="bold underline")
    if isinstance(report, str):
        title.append_text(safe(report or "not run", "italic"))
        return Group(title)
    title.append(f"{report.head} {'AT RISK' if report.at_risk else 'ok'} with each service's own order",
                 style=f"bold {colours['error'] if report.at_risk else ''}")
    parts: list[Text] = [title]
    for node in report.nodes:
        parts.append(safe(f"  node {node.hostname or node.id[:12]}: {fmt_bytes(node.memory_bytes)}, "
                          f"{fmt_bytes(node.reserved)} reserved", "dim"))
    for check in report.services:
        parts.append(safe(f"{check.service} ({check.order}): {'at risk' if check.risks else 'ok'}", "bold"))
        for r in check.risks:
            line = Text("  ! ", style=f"bold {colours['error']}")
            line.append_text(safe(f"{r.kind}: {r.message}"))
            parts.append(line)
        parts += [safe(f"  ? {u}", "dim") for u in check.unknown]
    return Group(*parts)


class CompareScreen(ModalScreen[None]):
    """Pick base, head and overlays; the comparison runs off the main thread (git reads)."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    class Done(Message):
        def __init__(self, seq: int, choices: CompareChoices | None, result: Comparison | None,
                     error: str | None) -> None:
            super().__init__()
            self.seq, self.choices, self.result, self.error = seq, choices, result, error

    class Preflighted(Message):
        def __init__(self, seq: int, report: Preflight | str) -> None:
            super().__init__()
            self.seq, self.report = seq, report

    def __init__(self, comparer: Comparer | None, reason: str = "") -> None:
        super().__init__()
        self.comparer = comparer
        self.reason = reason
        self.choices: CompareChoices | None = None
        self._seq = 0
        self._shown = 0  # the newest `_seq` whose answer is on screen
        self._preflighted = 0  # the newest `_seq` whose preflight is on screen
        self._comparison: Comparison | None = None
        self._filling = False

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-box", classes="dialog") as box:
            box.border_title = "Compare base and head compose policy"
            box.border_subtitle = "Esc close"
            with Horizontal(id="compare-pick"):
                yield Select[str]([], prompt="base ref", id="compare-base", allow_blank=True)
                yield Select[str]([], prompt="head ref", id="compare-head", allow_blank=True)
                yield SelectionList[str](id="compare-overlays")
            yield Static("", id="compare-note")
            with VerticalScroll(id="compare-body"):
                yield Static(Text("reading the recipe…", style="italic"), id="compare-result")

    def on_mount(self) -> None:
        if self.comparer is None:
            self.query_one("#compare-pick").display = False
            self._show_text(self.reason or "no recipe to compare: pass --recipe PATH", "italic")
            return
        self._run(None)

    def _run(self, pick: tuple[str, str, tuple[str, ...]] | None) -> None:
        """Read choices (first time) and compare, on a daemon thread (git may be slow)."""
        comparer = self.comparer
        assert comparer is not None
        self._seq += 1
        seq = self._seq

        def work() -> None:
            try:
                choices = comparer.choices() if pick is None else None
                base, head, overlays = pick if pick is not None else (
                    choices.base or "HEAD", choices.head or "HEAD", choices.chosen)  # type: ignore[union-attr]
                result = comparer.compare(base, head, overlays)
            except CompareError as exc:
                self.post_message(self.Done(seq, None, None, str(exc)))
                return
            self.post_message(self.Done(seq, choices, result, None))
            self.post_message(self.Preflighted(seq, comparer.preflight(head, overlays)))

        threading.Thread(target=work, name="ccci-compare", daemon=True).start()

    @property
    def awaiting(self) -> str:
        """What the screen still waits for: the comparison, or the pickers settling on their values."""
        if self.comparer is not None and self._shown != self._seq:
            return "the comparison"
        if self.comparer is not None and self._comparison is not None and self._preflighted != self._seq:
            return "the preflight"
        return "the ref pickers" if self._filling else ""

    def on_compare_screen_done(self, event: Done) -> None:
        if event.seq != self._seq:
            return  # an older pick finished after a newer one started
        self._shown = event.seq
        if event.choices is not None:
            self._fill(event.choices)
        if event.error is not None:
            self._comparison = None
            self._show_text(event.error, "bold")
            return
        assert event.result is not None
        theme = self.app.current_theme
        colours = {"warning": theme.warning or "yellow", "error": theme.error or "red"}
        self._comparison = event.result
        self.query_one("#compare-result", Static).update(
            Group(comparison_renderable(event.result, colours), preflight_renderable("reading the swarm…", colours)))

    def on_compare_screen_preflighted(self, event: Preflighted) -> None:
        if event.seq != self._seq or self._comparison is None:
            return
        self._preflighted = event.seq
        theme = self.app.current_theme
        colours = {"warning": theme.warning or "yellow", "error": theme.error or "red"}
        self.query_one("#compare-result", Static).update(
            Group(comparison_renderable(self._comparison, colours), preflight_renderable(event.report, colours)))

    def _fill(self, choices: CompareChoices) -> None:
        self.choices = choices
        self._filling = True
        options = [(ref, ref) for ref in choices.refs]
        base = self.query_one("#compare-base", Select)
        head = self.query_one("#compare-head", Select)
        base.set_options(options)
        head.set_options(options)
        if choices.base:
            base.value = choices.base
        if choices.head:
            head.value = choices.head
        overlays = self.query_one("#compare-overlays", SelectionList)
        overlays.clear_options()
        overlays.add_options([(name, name, name in choices.chosen) for name in choices.overlays])
        overlays.border_title = "overlays"
        overlays.display = bool(choices.overlays)
        base.disabled = head.disabled = overlays.disabled = choices.fixed
        note = self.query_one("#compare-note", Static)
        note.update(safe(choices.note, "italic"))
        note.display = bool(choices.note)
        self.call_after_refresh(self._done_filling)

    def _done_filling(self) -> None:
        self._filling = False

    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    def _picked(self) -> None:
        if self._filling or self.comparer is None or self.choices is None:
            return
        base = self.query_one("#compare-base", Select).value
        head = self.query_one("#compare-head", Select).value
        if not isinstance(base, str) or not isinstance(head, str):
            return
        overlays: Sequence[str] = self.query_one("#compare-overlays", SelectionList).selected
        chosen = tuple(name for name in self.choices.overlays if name in overlays)
        self._show_text(f"comparing {base} with {head}…", "italic")
        self._run((base, head, chosen))

    def _show_text(self, text: str, style: str) -> None:
        self.query_one("#compare-result", Static).update(safe(text, style))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
