"""The one action that changes a swarm (only with --write): the exact plan, its risks, and a typed stack name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ccci_tui.tui.format import safe

if TYPE_CHECKING:
    from ccci_tui.upgrade.plan import UpgradePlan


def risk_text(plan: UpgradePlan) -> Table:
    """The plan's risk notes and warnings as a hanging list, loud; or a line saying there are none."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    if plan.risks:
        grid.add_row("⚠", Text(f"Risks of re-running with {plan.order}:", style="bold"))
        for risk in plan.risks:
            grid.add_row("•", safe(risk))
    else:
        grid.add_row("", Text(f"No risk notes for {plan.order} in the head's compose policy."))
    for warning in plan.warnings:
        grid.add_row("⚠", safe(warning, "bold"))
    return grid


class ConfirmRerunScreen(ModalScreen[bool]):
    """The plan verbatim (refs, every command) under its risks; True only once the stack name is typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, plan: UpgradePlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(id="confirm-box", classes="dialog") as box:
            box.border_title = f"Re-run {plan.stack} with {plan.order}: this changes the swarm"
            box.border_subtitle = "nothing has run yet · Esc cancels"
            risks = Static(risk_text(plan), id="confirm-risks")
            risks.set_class(bool(plan.risks or plan.warnings), "-risky")
            yield risks
            with VerticalScroll(id="confirm-plan"):
                yield Static(safe(plan.render()), id="confirm-commands")
            with Horizontal(id="confirm-typed"):
                prompt = Text("Type ")
                prompt.append_text(safe(plan.stack, "bold"))
                prompt.append(" to enable Run: ")
                yield Static(prompt, id="confirm-prompt")
                yield Input(placeholder="the stack name; Enter runs", id="confirm-name", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"Run {plan.order}", id="confirm-run", variant="error", compact=True, disabled=True)
                yield Button("Cancel", id="confirm-cancel", compact=True)

    def on_mount(self) -> None:
        name = self.query_one("#confirm-name", Input)
        name.cursor_blink = bool(getattr(self.app, "cursor_blink", True))
        name.focus()

    @property
    def confirmed(self) -> bool:
        """The typed text is the stack name, exactly."""
        return self.query_one("#confirm-name", Input).value == self.plan.stack

    @on(Input.Changed, "#confirm-name")
    def _typed(self) -> None:
        self.query_one("#confirm-run", Button).disabled = not self.confirmed

    @on(Input.Submitted, "#confirm-name")
    def _entered(self) -> None:
        if self.confirmed:
            self.dismiss(True)
        else:
            self.notify(f"Type {self.plan.stack} exactly to run the re-run.", severity="warning", markup=False)

    @on(Button.Pressed, "#confirm-run")
    def _run(self) -> None:
        if self.confirmed:  # the button is disabled otherwise; checked again all the same
            self.dismiss(True)

    @on(Button.Pressed, "#confirm-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
