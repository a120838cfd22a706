"""The header line (source, stack, service, live/stale/replay) and the verdict banner."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from ccci_tui.domain.verdict import Verdict
from ccci_tui.tui.format import SEVERITY_GLYPH, safe
from ccci_tui.tui.view import CONNECTING, LIVE, MODES, REPLAY, STALE, View

_MODE_TEXT = {LIVE: " LIVE ", STALE: " STALE ", REPLAY: " REPLAY ", CONNECTING: " CONNECTING "}


class SourceHeader(Static):
    """One line: where the data comes from and whether it is live, stale or a replay."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._shown: tuple[object, ...] | None = None

    def show(self, view: View) -> None:
        key = (view.mode, view.source, view.stack, view.service, view.stale_since, view.error,
               view.observation is None)
        if key == self._shown:
            return
        self._shown = key
        for mode in MODES:
            self.set_class(mode == view.mode, f"-{mode}")
        line = Text()
        line.append(_MODE_TEXT.get(view.mode, view.mode), style="bold reverse")
        line.append(" ")
        line.append_text(safe(view.stack or "no stack", "bold"))
        if view.service:
            line.append(" / ")
            line.append_text(safe(view.service, "bold"))
        line.append("  ·  ")
        line.append_text(safe(view.source))
        if view.mode == STALE:
            since = f" since {view.stale_since:%H:%M:%S}" if view.stale_since else ""
            what = "showing the last read" if view.observation is not None else "nothing read yet"
            line.append(f"  ·  {what}{since}; retrying", style="italic")
        self.update(line)


class VerdictBanner(Vertical, can_focus=True):
    """The verdict's kind and sentence, coloured by severity; Enter or a click opens the evidence."""

    BINDINGS = [Binding("enter", "open", "Evidence", show=False)]

    class Opened(Message):
        """The user asked for the evidence."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="verdict-summary")
        yield Static("", id="verdict-next")

    def show(self, view: View) -> None:
        verdict = view.verdict
        key = (verdict, view.mode, view.stack, view.service, view.error, view.reading, view.problem)
        if key == self._shown:
            return
        self._shown = key
        severity = verdict.severity if verdict is not None else "error" if view.problem else "info"
        for sev in ("ok", "info", "error"):
            self.set_class(sev == severity, f"-{sev}")
        summary, next_step = self._texts(verdict, view)
        self._update(self.query_one("#verdict-summary", Static), summary)
        self._update(self.query_one("#verdict-next", Static), next_step)

    def _update(self, static: Static, text: Text) -> None:
        """Update in place; lay the screen out again only when the wrapped height changes.

        While updating, the sentence changes every second ("12 s so far"); a layout of the whole
        screen for that would cost more than everything else a refresh does.
        """
        shown = (text.plain, text.spans, text.style)
        if shown == getattr(static, "_ccci_shown", None):
            return  # the same text ("next: ..." stays while the sentence above counts seconds)
        static._ccci_shown = shown  # type: ignore[attr-defined]
        width = static.content_region.width
        if width <= 0:
            lines = -1
        elif "\n" not in text.plain and text.cell_len <= width:
            lines = 1  # fits on its line: nothing to wrap
        else:
            lines = len(text.wrap(self.app.console, width))
        same = lines > 0 and lines == getattr(static, "_ccci_lines", None)
        static._ccci_lines = lines  # type: ignore[attr-defined]
        static.update(text, layout=not same)

    @staticmethod
    def _texts(verdict: Verdict | None, view: View) -> tuple[Text, Text]:
        if verdict is None and not view.stack:
            return Text(f"{SEVERITY_GLYPH['info']} NO STACK CHOSEN  press s to pick a stack and service",
                        style="bold"), Text("")
        if verdict is None and view.problem is not None:
            text = Text(f"{SEVERITY_GLYPH['error']} NO VERDICT  ", style="bold")
            text.append_text(safe(view.problem))
            return text, Text("Fix the --recipe or --expect-head given and start again.", style="italic")
        if verdict is None:
            what = "reading" if view.mode != STALE else "cannot read"
            text = Text(f"{SEVERITY_GLYPH['info']} NO VERDICT YET  {what} ", style="bold")
            waiting = ([f"{view.stack}/{view.service}"] if view.observation is None or view.mode == STALE else [])
            text.append_text(safe(", ".join([*waiting, *view.reading])))
            return text, safe(view.error or "", "italic")
        text = Text(f"{SEVERITY_GLYPH[verdict.severity]} {verdict.kind.upper()}  ", style="bold")
        text.append_text(safe(verdict.summary))
        nxt = Text("next: ", style="bold")
        nxt.append_text(safe(verdict.next_step))
        nxt.append("  (Enter: evidence)", style="italic")
        return text, nxt

    def action_open(self) -> None:
        self.post_message(self.Opened())

    def on_click(self) -> None:
        self.post_message(self.Opened())
