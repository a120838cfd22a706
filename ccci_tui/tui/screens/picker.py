"""Stack and service picker: every stack with its badge (of this daemon, or of every docker context, each
context's rows appearing as it answers), or one stack's services with their state, filtered as you type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.css.styles import RulesMap
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ccci_tui.sources.contexts import ContextAccess, ContextReads, ContextStacks, DockerContext
from ccci_tui.tui.commands import CONTEXTS_KEY
from ccci_tui.tui.format import safe
from ccci_tui.tui.picker_rows import ID_SEP, Choice, context_options, picker_options

Loader = Callable[[Callable[[tuple[Any, ...] | None, str | None], None]], None]
class PickerInput(Input):
    """The filter; `changed` runs as its value changes, in the same turn of the loop as the keystroke (the
    Changed message arrives a hop later, often after the key's own frame: two frames for one key)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, changed: Callable[[], None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.changed = changed

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        self.changed()


class PickerList(OptionList):
    """The list; an option's rendered lines are kept across `set_options` (picker_options reuses its
    options), so a keystroke draws only the options it shows for the first time."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # (option, style, width) -> (the option's index the lines were drawn at, the lines)
        self._kept: LRUCache[tuple[Option, Style, int], tuple[int, list[Strip]]] = LRUCache(1024)
        self._lines_for: tuple[object, ...] | None = None  # what the line cache was last brought up to date for

    def _update_lines(self) -> None:
        """As OptionList's, which every drawn line calls (measuring the content region each time), but only
        when the options, their lines, the size or the scrollbars changed since it last ran."""
        cache = self._line_cache
        key = (len(self.options), len(cache.lines), self.size, self.show_vertical_scrollbar,
               self.show_horizontal_scrollbar)
        if key != self._lines_for:
            super()._update_lines()
            self._lines_for = (len(self.options), len(cache.lines), *key[2:])

    def notify_style_update(self) -> None:
        self._lines_for = None  # the padding or gutter may have changed the lines' width
        super().notify_style_update()

    def _get_visual(self, option: Option) -> Visual:
        visual = super()._get_visual(option)  # kept on the option
        if not isinstance(visual, _KeptHeight):
            visual = option._visual = _KeptHeight(visual)
        return visual

    def _get_option_render(self, option: Option, style: Style) -> list[Strip]:
        index = self._option_to_index[option]
        key = (option, style, self.scrollable_content_region.width)
        hit = self._kept.get(key)
        if hit is None:
            strips = super()._get_option_render(option, style)
        elif hit[0] != index:  # the lines name their option's index (for a click): name the new one
            strips = [strip.apply_meta({"option": index}) for strip in hit[1]]
        else:
            return hit[1]
        self._kept[key] = (index, strips)
        return strips


class _KeptHeight(Visual):
    """An option's visual with its height at each width kept: the list asks for the height of every
    option it is given, and a keystroke gives it the options it had (picker_options reuses them)."""

    def __init__(self, visual: Visual) -> None:
        self.visual = visual
        self.heights: dict[int, int] = {}

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        return self.visual.render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.visual.get_optimal_width(rules, container_width)

    def get_height(self, rules: RulesMap, width: int) -> int:
        if (height := self.heights.get(width)) is None:
            height = self.heights[width] = self.visual.get_height(rules, width)
        return height


class PickerScreen(ModalScreen[Choice | None]):
    """Returns a Choice or None. With `contexts`, a key toggles between this daemon's stacks and those of
    every docker context (`all_contexts`: start there)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("down", "focus_list", "List", show=False),
        Binding(CONTEXTS_KEY, "toggle_contexts", "This daemon / all contexts", show=False),
    ]

    class Loaded(Message):
        def __init__(self, stacks: tuple[Any, ...] | None, error: str | None) -> None:
            super().__init__()
            self.stacks, self.error = stacks, error

    class ContextRead(Message):
        """One docker context's stacks, or why not, from its reading thread."""

        def __init__(self, result: ContextStacks) -> None:
            super().__init__()
            self.result = result

    def __init__(self, stacks: Sequence[Any] | None = None, loader: Loader | None = None,
                 current: tuple[str, str] | None = None, stack: str | None = None,
                 contexts: ContextAccess | None = None, all_contexts: bool = False,
                 context: str | None = None) -> None:
        """`current`: the (stack, service) watched, highlighted; `stack`: the loader lists that stack only;
        `contexts`: where every docker context's stacks come from; `context`: the context watched (None:
        the one the docker CLI uses now)."""
        super().__init__()
        self.stacks: list[Any] = list(stacks or [])
        self.loader = loader
        self.current = current
        self.stack = stack
        self.what = "services" if stack else "stacks"
        self.error: str | None = None
        self._loaded = loader is None or bool(self.stacks)
        self._loading = False
        self.access = contexts
        self.all_contexts = all_contexts and contexts is not None
        self.context = context
        self.listed: tuple[DockerContext, ...] = ()
        self.found: dict[str, ContextStacks] = {}
        self._reads: ContextReads | None = None
        self._placed: str | None = None  # the option the last fill highlighted by itself
        self._made: dict[tuple[object, ...], tuple[object, Option]] = {}  # options kept across keystrokes
        self._said: tuple[str, object] | None = None  # the status line shown

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog"):
            yield PickerInput(self._changed, id="picker-filter")
            yield PickerList(id="picker-list")
            yield Static("", id="picker-status")

    def _titles(self) -> None:
        box = self.query_one("#picker-box", Vertical)
        toggle = "" if self.access is None else \
            f" · {CONTEXTS_KEY.replace('ctrl+', '^')} {'this daemon' if self.all_contexts else 'all contexts'}"
        if self.all_contexts:
            box.border_title = "Stacks of every docker context"
        else:
            box.border_title = f"Services of {self.stack}" if self.stack else "Stacks and services"
        box.border_subtitle = f"type to filter · Enter open{toggle} · Esc close"
        self.query_one(Input).placeholder = ("filter contexts, stacks and services" if self.all_contexts
                                             else "filter services" if self.stack else "filter stacks and services")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = self.app.cursor_blink  # type: ignore[attr-defined]
        self.query_one(Input).focus()
        self._titles()
        self._load()
        self._fill()

    def on_unmount(self) -> None:
        if self._reads is not None:
            self._reads.cancel()

    def _load(self) -> None:
        """Start reading what the shown list needs, once: this daemon's stacks, or every context's."""
        if self.all_contexts:
            if self._reads is None and self.access is not None:
                self.listed = self.access.contexts()
                self._reads = self.access.read(self.listed, self._context_from_thread)
            return
        if self.loader is not None and not self._loaded and not self._loading:
            self._loading = True
            self._said = None
            self.query_one("#picker-status", Static).update(Text(f"reading {self.what}…", style="italic"))
            self.loader(self._loaded_from_thread)

    def _loaded_from_thread(self, stacks: tuple[Any, ...] | None, error: str | None) -> None:
        self.post_message(self.Loaded(stacks, error))  # post_message is safe from any thread

    def _context_from_thread(self, result: ContextStacks) -> None:
        self.post_message(self.ContextRead(result))

    def on_picker_screen_loaded(self, event: Loaded) -> None:
        self.stacks, self.error = list(event.stacks or []), event.error
        self._loaded = True
        if not self.all_contexts:
            self._fill(keep=True)

    def on_picker_screen_context_read(self, event: ContextRead) -> None:
        self.found[event.result.name] = event.result
        if self.all_contexts:
            self._fill(keep=True)

    @property
    def awaiting(self) -> str:
        """What the picker still waits for: the swarm's stacks (or the stack's services), or the docker
        contexts that have not answered yet (each gives up after its timeout), read on threads."""
        if self.all_contexts:
            waiting = [c.name for c in self.listed if c.name not in self.found]
            return f"the stacks of docker context {', '.join(waiting)}" if waiting else ""
        return "" if self._loaded else f"the list of {self.what}"

    def _watched(self) -> tuple[str, str, str] | None:
        """The (context, stack, service) watched, among the listed contexts."""
        if self.current is None:
            return None
        name = self.context if self.context is not None else next(
            (c.name for c in self.listed if c.current), None)
        return (name, *self.current) if name is not None else None

    def action_toggle_contexts(self) -> None:
        """This daemon's stacks, or every docker context's."""
        if self.access is None:
            return
        self.all_contexts = not self.all_contexts
        self._titles()
        self._load()
        self._fill()

    def _changed(self) -> None:
        if self.is_mounted:
            self._fill()

    def _fill(self, keep: bool = False) -> None:
        """List what matches the filter; the highlight goes to the watched service, or stays where it was
        (`keep`: more rows came in while the user looked)."""
        query = self.query_one(Input).value
        theme = self.app.current_theme
        colours = {"ok": theme.success or "green", "info": theme.warning or "yellow", "error": theme.error or "red"}
        if self.all_contexts:
            watched = self._watched()
            timeout = self.access.timeout if self.access is not None else 0.0
            options = context_options(self.listed, self.found, query, colours, watched, timeout, self._made)
            watched_id = ID_SEP.join(watched) if watched else None
        else:
            options = picker_options(self.stacks, query, colours, self.current, made=self._made)
            watched_id = f"{self.current[0]}{ID_SEP}{self.current[1]}" if self.current else None
        olist = self.query_one(OptionList)
        was = olist.highlighted_option.id if keep and olist.highlighted_option is not None else None
        moved = was is not None and was != self._placed  # by the user, since the last fill placed it
        if olist.options != options:  # the same options (picker_options keeps them): nothing to redraw
            olist.set_options(options)  # clear_options, then add_options, hid the scrollbar and showed it again
        enabled = [i for i, o in enumerate(options) if not o.disabled]
        first = enabled[0] if enabled else None
        target = next((i for i in enabled if options[i].id == was), None) if moved else None
        if target is None:
            target = next((i for i in enabled if options[i].id == watched_id), first)
            self._placed = options[target].id if target is not None else None
        olist.highlighted = target  # set once: the same highlight on the same options announces nothing
        self._status(len(enabled))

    def _status(self, n: int) -> None:
        status = self.query_one("#picker-status", Static)
        matching = f"{n} service{'s' if n != 1 else ''} match"
        if self.all_contexts:
            answered = sum(1 for c in self.listed if c.name in self.found)
            text = Text(f"{matching} · {answered} of {len(self.listed)} docker contexts answered", style="dim")
        elif self.error:
            text = safe(f"cannot list {self.what}: {self.error}", "bold")
        elif self.stacks or self.loader is None or self._loaded:
            text = Text(matching, style="dim")
        else:
            return
        if (text.plain, text.style) != self._said:  # a keystroke often leaves the count as it was
            self._said = (text.plain, text.style)
            status.update(text, layout=False)  # one line high in the stylesheet: no layout

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self) -> None:
        olist = self.query_one(OptionList)
        if olist.highlighted is not None:
            self._choose(olist.get_option_at_index(olist.highlighted))

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option)

    def _choose(self, option: Option) -> None:
        if not option.id or ID_SEP not in option.id:
            return
        parts = option.id.split(ID_SEP)
        if len(parts) == 3:
            context = next((c for c in self.listed if c.name == parts[0]), None)
            self.dismiss(Choice(parts[1], parts[2], context))
        else:
            self.dismiss(Choice(parts[0], parts[1]))

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()

    async def action_dismiss(self, result: Choice | None = None) -> None:
        self.dismiss(result)
