"""A read-only page over the main screen: a titled, scrollable box that Escape closes."""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class Page(ModalScreen[None]):
    """`body` in a box titled `title`; subclasses add the keys that close it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, box_id: str, title: str, body: RenderableType) -> None:
        super().__init__()
        self.box_id, self.page_title, self.body = box_id, title, body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id=self.box_id, classes="dialog") as box:
            box.border_title = self.page_title
            box.border_subtitle = "Esc close"
            yield Static(self.body)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
