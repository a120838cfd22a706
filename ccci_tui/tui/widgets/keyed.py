"""A pane that renders a view only when the part of it that it shows has changed."""

from __future__ import annotations

from rich.console import RenderableType
from textual.widgets import Static

from ccci_tui.tui.view import View


class KeyedPane(Static):
    """`key(view)` names what the pane shows; `show` renders only when it differs from the last one."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._shown: tuple[object, ...] | None = None

    def key(self, view: View) -> tuple[object, ...]:
        raise NotImplementedError

    def render_view(self, view: View) -> RenderableType:
        raise NotImplementedError

    def show(self, view: View) -> None:
        key = self.key(view)
        if key == self._shown:
            return
        self._shown = key
        self.update(self.render_view(view))
