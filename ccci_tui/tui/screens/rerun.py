"""The one action that changes a swarm (only with --write): pick the order, then confirm the exact plan."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, RadioButton, RadioSet, Static

from ccci_tui.tui.format import safe

ORDERS = ("stop-first", "start-first")


class RerunScreen(ModalScreen[str | None]):
    """Returns the chosen update order, or None when cancelled (the default)."""

    BINDINGS = [Binding("escape,q", "dismiss", "Cancel")]

    def __init__(self, plan: str) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(id="rerun-box", classes="dialog") as box:
            box.border_title = "Re-run the upgrade (changes the swarm)"
            text = Text("This redeploys the service:\n", style="bold")
            text.append_text(safe(self.plan))
            text.append("\n\nPick the update order to try; the exact commands are shown before anything runs:")
            yield Static(text)
            with RadioSet(id="rerun-order"):
                yield RadioButton("stop-first: if it converges, old and new tasks could not co-reside", value=True)
                yield RadioButton("start-first: the order the recipe may already use")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Plan the re-run", id="rerun-go", variant="warning", compact=True)
                yield Button("Cancel", id="rerun-cancel", compact=True, action="screen.dismiss")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rerun-go":
            index = self.query_one(RadioSet).pressed_index
            self.dismiss(ORDERS[index if index >= 0 else 0])

    async def action_dismiss(self, result: str | None = None) -> None:
        self.dismiss(result)


class PlanScreen(ModalScreen[bool]):
    """The plan verbatim (refs, risks, every command); True only when the operator says run it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Cancel")]

    def __init__(self, plan_text: str) -> None:
        super().__init__()
        self.plan_text = plan_text

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box", classes="dialog") as box:
            box.border_title = "Re-run plan: nothing has run yet"
            with VerticalScroll(id="plan-body"):
                yield Static(safe(self.plan_text))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run it", id="plan-run", variant="error", compact=True)
                yield Button("Cancel", id="plan-cancel", compact=True, action="screen.dismiss")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan-run":
            self.dismiss(True)

    async def action_dismiss(self, result: bool | None = False) -> None:
        self.dismiss(bool(result))
