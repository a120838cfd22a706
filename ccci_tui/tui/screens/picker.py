"""Stack and service picker: every stack with its badge, or one stack's services with their state,
filtered as you type."""

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

from ccci_tui.domain.model import ServiceState, stack_badge
from ccci_tui.tui.format import safe
from ccci_tui.tui.live_feed import StackServices

Loader = Callable[[Callable[[tuple[Any, ...] | None, str | None], None]], None]
_SEP = "\x00"
BADGES = {"updating": "… updating", "rollback": "✖ rollback", "paused": "✖ paused", "ok": "✔ ok"}


def short_service(stack: str, name: str) -> str:
    return name[len(stack) + 1:] if name.startswith(f"{stack}_") else name


def step_service(services: Sequence[str], current: str, steps: int) -> str | None:
    """The service `steps` places after `current` in `services`, wrapping (before it when negative);
    from a `current` that is not listed, the first (or last) counts as one step. None when empty."""
    if not services:
        return None
    if current in services:
        return services[(services.index(current) + steps) % len(services)]
    return services[(steps - 1) % len(services)] if steps > 0 else services[steps % len(services)]


def matches(query: str, stack: str, service: str) -> bool:
    """Every word of the query appears in `stack/service` (case-insensitive)."""
    hay = f"{stack}/{service}".lower()
    return all(word in hay for word in query.lower().split())


def _badge(badge: str, colours: dict[str, str]) -> tuple[str, str]:
    colour = colours["ok"] if badge == "ok" else colours["info"] if badge == "updating" else colours["error"]
    return BADGES.get(badge, badge), f"bold {colour}"


def _status(state: ServiceState) -> str:
    return state.update_status.state if state.update_status else "ok"


def _service_row(name: str, widths: tuple[int, int], state: ServiceState | None, watching: bool,
                 colours: dict[str, str]) -> Text:
    """A service's row, ▶ on the watched one; with its last read (the picker of one stack): its
    UpdateStatus state (ok: none), image and replicas, in columns `widths` wide."""
    row = Text("▶ ", style="bold") if watching else Text("  ")
    row.append_text(safe(f"{name:<{widths[0]}}" if state is not None else name))
    if state is not None:
        status = _status(state)
        glyph, style = _badge(stack_badge([status]), colours)
        row.append(f"  {glyph.split(' ', 1)[0]} {status:<{widths[1]}}", style=style)
        spec = state.spec
        replicas = "global" if spec.replicas is None else f"{spec.replicas} replica{'s' if spec.replicas != 1 else ''}"
        row.append_text(safe(f"  {spec.image.split('@', 1)[0]} · {replicas}", "dim"))
    return row


def picker_options(stacks: Sequence[Any], query: str, colours: dict[str, str],
                   current: tuple[str, str] | None = None) -> list[Option]:
    """A disabled heading per stack (with its badge), then its services that match the query; the
    service being watched (`current`) is marked."""
    out: list[Option] = []
    for st in stacks:
        services = [short_service(st.name, s) for s in st.services]
        states: list[ServiceState | None] = (list(st.states) if isinstance(st, StackServices)
                                             else [None] * len(services))
        shown = [(s, state) for s, state in zip(services, states, strict=True) if matches(query, st.name, s)]
        if not shown:
            continue
        head = safe(st.name, "bold")
        head.append(f"  {BADGES.get(st.badge, st.badge)}", style=_badge(st.badge, colours)[1])
        head.append(f"  {len(services)} service{'s' if len(services) != 1 else ''}", style="dim")
        out.append(Option(head, disabled=True))
        widths = (max(len(s) for s, _ in shown), max((len(_status(x)) for _, x in shown if x), default=0))
        for s, state in shown:
            row = _service_row(s, widths, state, (st.name, s) == current, colours)
            out.append(Option(row, id=f"{st.name}{_SEP}{s}"))
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

    def __init__(self, stacks: Sequence[Any] | None = None, loader: Loader | None = None,
                 current: tuple[str, str] | None = None, stack: str | None = None) -> None:
        """`current`: the (stack, service) watched, highlighted; `stack`: the loader lists that stack only."""
        super().__init__()
        self.stacks: list[Any] = list(stacks or [])
        self.loader = loader
        self.current = current
        self.stack = stack
        self.what = "services" if stack else "stacks"
        self.error: str | None = None
        self._loaded = loader is None or bool(self.stacks)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog") as box:
            box.border_title = f"Services of {self.stack}" if self.stack else "Stacks and services"
            box.border_subtitle = "type to filter · Enter open · Esc close"
            yield Input(placeholder="filter services" if self.stack else "filter stacks and services",
                        id="picker-filter")
            yield OptionList(id="picker-list")
            yield Static("", id="picker-status")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = self.app.cursor_blink  # type: ignore[attr-defined]
        self.query_one(Input).focus()
        if self.loader is not None and not self.stacks:
            self.query_one("#picker-status", Static).update(Text(f"reading {self.what}…", style="italic"))
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
        """What the picker still waits for: the swarm's stacks (or the stack's services), read on a thread."""
        return "" if self._loaded else f"the list of {self.what}"

    @on(Input.Changed, "#picker-filter")
    def _changed(self) -> None:
        self._fill()

    def _fill(self) -> None:
        query = self.query_one(Input).value
        theme = self.app.current_theme
        colours = {"ok": theme.success or "green", "info": theme.warning or "yellow", "error": theme.error or "red"}
        options = picker_options(self.stacks, query, colours, self.current)
        olist = self.query_one(OptionList)
        olist.clear_options()
        olist.add_options(options)
        watched = f"{self.current[0]}{_SEP}{self.current[1]}" if self.current else None
        first = next((i for i, o in enumerate(options) if not o.disabled and o.id == watched),
                     next((i for i, o in enumerate(options) if not o.disabled), None))
        olist.highlighted = first
        n = sum(1 for o in options if not o.disabled)
        status = self.query_one("#picker-status", Static)
        if self.error:
            status.update(safe(f"cannot list {self.what}: {self.error}", "bold"))
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
