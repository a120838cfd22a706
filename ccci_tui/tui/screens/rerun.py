"""Confirmation before the one action that changes a swarm (shown only with --write)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
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
            text.append("\n\nPick the update order to try:")
            yield Static(text)
            with RadioSet(id="rerun-order"):
                yield RadioButton("stop-first: if it converges, old and new tasks could not co-reside", value=True)
                yield RadioButton("start-first: the order the recipe may already use")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Re-run", id="rerun-go", variant="error", compact=True)
                yield Button("Cancel", id="rerun-cancel", compact=True, action="screen.dismiss")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rerun-go":
            index = self.query_one(RadioSet).pressed_index
            self.dismiss(ORDERS[index if index >= 0 else 0])

    async def action_dismiss(self, result: str | None = None) -> None:
        self.dismiss(result)
