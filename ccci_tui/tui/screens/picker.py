"""Stack and service picker: every stack with its badge, filtered as you type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ccci_tui.tui.format import safe

Loader = Callable[[Callable[[tuple[Any, ...] | None, str | None], None]], None]
_SEP = "\x00"
BADGES = {"updating": "… updating", "rollback": "✖ rollback", "paused": "✖ paused", "ok": "✔ ok"}


def short_service(stack: str, name: str) -> str:
    return name[len(stack) + 1:] if name.startswith(f"{stack}_") else name


def matches(query: str, stack: str, service: str) -> bool:
    """Every word of the query appears in `stack/service` (case-insensitive)."""
    hay = f"{stack}/{service}".lower()
    return all(word in hay for word in query.lower().split())


def picker_options(stacks: Sequence[Any], query: str, colours: dict[str, str]) -> list[Option]:
    """A disabled heading per stack (with its badge), then its services that match the query."""
    out: list[Option] = []
    for st in stacks:
        services = [short_service(st.name, s) for s in st.services]
        shown = [s for s in services if matches(query, st.name, s)]
        if not shown:
            continue
        head = safe(st.name, "bold")
        colour = colours["ok"] if st.badge == "ok" else colours["info"] if st.badge == "updating" else colours["error"]
        head.append(f"  {BADGES.get(st.badge, st.badge)}", style=f"bold {colour}")
        head.append(f"  {len(services)} service{'s' if len(services) != 1 else ''}", style="dim")
        out.append(Option(head, disabled=True))
        for s in shown:
            out.append(Option(safe(f"  {s}"), id=f"{st.name}{_SEP}{s}"))
    return out


class PickerScreen(ModalScreen[tuple[str, str] | None]):
    """Returns (stack, service) or None."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("down", "focus_list", "List", show=False),
    ]

    class Loaded(Message):
        def __init__(self, stacks: tuple[Any, ...] | None, error: str | None) -> None:
            super().__init__()
            self.stacks, self.error = stacks, error

    def __init__(self, stacks: Sequence[Any] | None = None, loader: Loader | None = None) -> None:
        super().__init__()
        self.stacks: list[Any] = list(stacks or [])
        self.loader = loader
        self.error: str | None = None
        self._loaded = loader is None or bool(self.stacks)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog") as box:
            box.border_title = "Stacks and services"
            box.border_subtitle = "type to filter · Enter open · Esc close"
            yield Input(placeholder="filter stacks and services", id="picker-filter")
            yield OptionList(id="picker-list")
            yield Static("", id="picker-status")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = self.app.cursor_blink  # type: ignore[attr-defined]
        self.query_one(Input).focus()
        if self.loader is not None and not self.stacks:
            self.query_one("#picker-status", Static).update(Text("reading stacks…", style="italic"))
            self.loader(self._loaded_from_thread)
        self._fill()

    def _loaded_from_thread(self, stacks: tuple[Any, ...] | None, error: str | None) -> None:
        self.post_message(self.Loaded(stacks, error))  # post_message is safe from any thread

    def on_picker_screen_loaded(self, event: Loaded) -> None:
        self.stacks, self.error = list(event.stacks or []), event.error
        self._loaded = True
        self._fill()

    @property
    def awaiting(self) -> str:
        """What the picker still waits for: the swarm's stacks, read on a thread."""
        return "" if self._loaded else "the list of stacks"

    @on(Input.Changed, "#picker-filter")
    def _changed(self) -> None:
        self._fill()

    def _fill(self) -> None:
        query = self.query_one(Input).value
        theme = self.app.current_theme
        colours = {"ok": theme.success or "green", "info": theme.warning or "yellow", "error": theme.error or "red"}
        options = picker_options(self.stacks, query, colours)
        olist = self.query_one(OptionList)
        olist.clear_options()
        olist.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        olist.highlighted = first
        n = sum(1 for o in options if not o.disabled)
        status = self.query_one("#picker-status", Static)
        if self.error:
            status.update(safe(f"cannot list stacks: {self.error}", "bold"))
        elif self.stacks or self.loader is None:
            status.update(Text(f"{n} service{'s' if n != 1 else ''} match", style="dim"))

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self) -> None:
        olist = self.query_one(OptionList)
        if olist.highlighted is not None:
            self._choose(olist.get_option_at_index(olist.highlighted))

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option)

    def _choose(self, option: Option) -> None:
        if option.id and _SEP in option.id:
            stack, service = option.id.split(_SEP, 1)
            self.dismiss((stack, service))

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()

    async def action_dismiss(self, result: tuple[str, str] | None = None) -> None:
        self.dismiss(result)
