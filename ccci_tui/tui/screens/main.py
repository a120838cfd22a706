"""The main screen: header, verdict banner, four panes and (in replay) the replay controls.

The first frame is the header and the verdict; the rest mounts right after it, so the verdict is on the
terminal before the panes are laid out (issue 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.events import DescendantFocus
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget

from ccci_tui.tui.commands import main_bindings
from ccci_tui.tui.replay_feed import ReplayFeed
from ccci_tui.tui.view import View
from ccci_tui.tui.widgets.status import SourceHeader, VerdictBanner

# The panes load with them, after the first frame (_mount_panes); their messages reach the handlers by name.
if TYPE_CHECKING:
    from textual.widgets import Tabs

    from ccci_tui.tui.widgets.recipe_pane import RecipePane
    from ccci_tui.tui.widgets.replay_bar import ReplayBar
    from ccci_tui.tui.widgets.spec_pane import SpecPane
    from ccci_tui.tui.widgets.tasks_pane import TasksTable
    from ccci_tui.tui.widgets.timeline_pane import TimelineTable

PANES = ("recipe", "spec", "tasks", "timeline")
PANE_TITLES = {"recipe": "Recipe", "spec": "Spec", "tasks": "Tasks", "timeline": "Timeline"}
SPEEDS = (1, 10)


@dataclass(frozen=True)
class Panes:
    """What the main screen mounts after its first frame; `boxes` holds what focus and `-active` go to."""

    tabs: Tabs
    recipe: RecipePane
    spec: SpecPane
    tasks: TasksTable
    timeline: TimelineTable
    bar: ReplayBar
    boxes: dict[str, Widget]


class MainScreen(Screen[None]):
    """Renders views; in replay it also owns the cursor and the play timer."""

    # Under 100 columns one pane at a time (tabs 1-4), so 80x24 over SSH stays readable.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    # Footer order: what matters most first, so 80 columns still show it.
    BINDINGS = main_bindings()

    def __init__(self, replay: ReplayFeed | None = None) -> None:
        super().__init__(classes="-replay" if replay is not None else "-live")
        self.replay = replay
        self.view: View | None = None
        self.active = "timeline"
        self.cursor: int | None = None
        self.playing = False
        self.speed = SPEEDS[0]
        self._timer: Timer | None = None
        self._dirty: set[str] = set()
        self._focused_task: str | None = None
        self._ready = False  # the header and the banner are mounted
        self._panes_asked = False  # the rest of the screen, after the first frame
        self._p: Panes | None = None  # once mounted
        self._pane_focus: str | None = None  # a pane chosen before the panes were mounted

    def compose(self) -> ComposeResult:
        yield SourceHeader(id="header")
        yield VerdictBanner(id="banner")

    def _panes(self) -> tuple[list[Widget], Panes]:
        """The tabs, the four panes, the replay controls and the footer, in the screen's order."""
        from textual.containers import Container, VerticalScroll
        from textual.widgets import Footer, Tab, Tabs

        from ccci_tui.tui.widgets.recipe_pane import RecipePane
        from ccci_tui.tui.widgets.replay_bar import ReplayBar
        from ccci_tui.tui.widgets.spec_pane import SpecPane
        from ccci_tui.tui.widgets.tasks_pane import TasksTable
        from ccci_tui.tui.widgets.timeline_pane import TimelineTable

        p = Panes(Tabs(*(Tab(f"{i + 1} {PANE_TITLES[p]}", id=f"tab-{p}") for i, p in enumerate(PANES)),
                       active=f"tab-{self.active}", id="pane-tabs"),
                  RecipePane(id="recipe"), SpecPane(id="spec"), TasksTable(id="tasks"), TimelineTable(id="timeline"),
                  ReplayBar(id="replay-bar"), {})
        p.boxes.update(recipe=VerticalScroll(p.recipe, id="recipe-box"), spec=VerticalScroll(p.spec, id="spec-box"),
                       tasks=p.tasks, timeline=p.timeline)
        for i, (name, box) in enumerate(p.boxes.items()):
            box.add_class("pane")
            box.set_class(name == self.active, "-active")
            box.border_title = f"{i + 1} {PANE_TITLES[name]}"
        p.boxes["spec"].border_title = "2 Spec · PreviousSpec · attempted"
        return [p.tabs, Container(*p.boxes.values(), id="panes"), p.bar, Footer()], p

    def on_mount(self) -> None:
        self._ready = True
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.query_one(VerdictBanner).focus()
        if self.replay is not None:
            self.cursor = self.replay.initial_cursor()
            self.show_view(self.replay.view_at(self.cursor))
        elif self.view is not None:
            self.show_view(self.view)  # a live view that came before the screen was mounted

    def on_screen_resume(self) -> None:
        if self._p is None:  # shown (first, or again after a screen pushed before the panes mounted)
            self.call_after_refresh(self._mount_panes)

    async def _mount_panes(self) -> None:
        """After the first frame: the rest of the screen, filled with the view shown meanwhile."""
        if self._panes_asked or not self.is_active:
            return  # asked already, or beneath another screen: the next resume asks again
        self._panes_asked = True
        widgets, panes = self._panes()
        await self.mount_all(widgets)
        self._p = panes
        self.refresh_bindings()  # the footer lists them once told (the banner's focus told the screen before)
        if self.view is not None:
            self.show_view(self.view)
        if self._pane_focus is not None:
            self._pane(self._pane_focus).focus()

    @property
    def awaiting(self) -> str:
        """The panes until they are mounted (see `Loading`). A screen pushed before they are holds them back
        until this one is shown again."""
        return "the panes" if self._p is None and self.is_active else ""

    # ---- rendering ----------------------------------------------------------------------

    def _pane(self, name: str) -> Widget:
        assert self._p is not None
        return self._p.boxes[name]

    def _visible(self, name: str) -> bool:
        return not self.has_class("-narrow") or name == self.active

    def show_view(self, view: View) -> None:
        """Render `view`; hidden panes (narrow layout) catch up when they are shown."""
        self.view = view
        if not self._ready:
            return
        with self.app.batch_update():
            self.query_one(SourceHeader).show(view)
            self.query_one(VerdictBanner).show(view)
            if self._p is None:
                return
            for name in PANES:
                if self._visible(name):
                    self._show_pane(name, view)
                else:
                    self._dirty.add(name)
            if self.replay is not None:
                self._p.bar.show(view, self.playing, self.speed)

    def _show_pane(self, name: str, view: View) -> None:
        assert self._p is not None
        self._dirty.discard(name)
        if name == "recipe":
            self._p.recipe.show(view)
        elif name == "spec":
            self._p.spec.show(view)
        elif name == "tasks":
            self._p.tasks.show(view)
        else:
            self._p.timeline.show(view)

    def _theme_changed(self, _: object) -> None:
        """Cells carry theme colours: draw every pane again in the new theme."""
        if self.view is not None and self._p is not None:
            self._p.tasks.show(self.view, force=True)
            self._p.timeline.show(self.view, force=True)
            self._p.spec.show(self.view)

    def on_resize(self) -> None:
        self._catch_up()

    def _catch_up(self) -> None:
        if self.view is not None:
            for name in list(self._dirty):
                if self._visible(name):
                    self._show_pane(name, self.view)

    # ---- panes --------------------------------------------------------------------------

    def action_pane(self, name: str) -> None:
        """Show (narrow) and focus pane `name`."""
        self._activate(name)
        if self._p is not None:
            self._pane(name).focus()
        elif name in PANES:
            self._pane_focus = name

    def _activate(self, name: str) -> None:
        if name not in PANES:
            return
        self.active = name
        if self._p is None:
            return  # _panes() marks it
        for pane in PANES:
            self._pane(pane).set_class(pane == name, "-active")
        if self._p.tabs.active != f"tab-{name}":
            self._p.tabs.active = f"tab-{name}"
        self._catch_up()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tabs.id == "pane-tabs" and event.tab.id:
            self._activate(event.tab.id.removeprefix("tab-"))

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if self._p is None:
            return
        for name in PANES:
            pane = self._pane(name)
            if event.widget is pane or pane in event.widget.ancestors:
                if name != self.active:
                    self._activate(name)
                return

    def on_timeline_table_task_focused(self, event: TimelineTable.TaskFocused) -> None:
        if event.task_id == self._focused_task or self._p is None:
            return
        self._focused_task = event.task_id
        tasks = self._p.tasks
        found = tasks.mark(event.task_id)
        if event.task_id and not found:
            tasks.set_subtitle(f"task {event.task_id[:12]} is not in view at this time")

    def on_tasks_table_chosen(self, event: TasksTable.Chosen) -> None:
        from ccci_tui.tui.screens.evidence import TaskScreen  # the pop-ups load when first opened

        obs = self.view.observation if self.view is not None else None
        task = obs.task(event.task_id) if obs is not None and event.task_id is not None else None
        if task is not None and obs is not None and self.view is not None:
            self.app.push_screen(TaskScreen(task, self.view.at or obs.at, self.view.memory.get(task.id, ()),
                                            obs.node(task.node_id), obs.service.name if obs.service else ""))

    @on(VerdictBanner.Opened)
    def _banner_opened(self) -> None:
        self.action_evidence()

    def action_evidence(self) -> None:
        from ccci_tui.tui.screens.evidence import EvidenceScreen

        verdict = self.view.verdict if self.view is not None else None
        if verdict is None:
            self.notify("No verdict yet: nothing has been read.", severity="warning")
            return
        self.app.push_screen(EvidenceScreen(verdict))

    def action_toggle_time(self) -> None:
        if self._p is not None:
            self._p.timeline.toggle_absolute()

    # ---- replay -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action.startswith("replay_"):
            return self.replay is not None
        return True

    def seek(self, index: int | None) -> None:
        """Move the replay cursor to entry `index`; every pane follows."""
        if self.replay is None or index is None:
            return
        self.cursor = index
        self.show_view(self.replay.view_at(index))

    def on_timeline_table_cursor_requested(self, event: TimelineTable.CursorRequested) -> None:
        self.seek(event.index)

    def action_replay_next(self) -> None:
        if self.replay is not None:
            self.seek(self.replay.step(self.cursor, +1))

    def action_replay_prev(self) -> None:
        if self.replay is not None:
            self.seek(self.replay.step(self.cursor, -1))

    def action_replay_failure(self) -> None:
        if self.replay is None:
            return
        index = self.replay.first_failure()
        if index is None:
            self.notify("No task failed in this recording.")
            return
        self.seek(index)

    def action_replay_play(self) -> None:
        if self.replay is None:
            return
        self.playing = not self.playing
        if self.playing and self.cursor == self.replay.last:
            self.seek(0)  # play from the start once the end is reached
        self._rearm()

    def action_replay_speed(self) -> None:
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        self._rearm()

    @property
    def step_scheduled(self) -> bool:
        """Playing has a step to the next entry on its timer."""
        return self._timer is not None

    def _rearm(self) -> None:
        """One-shot timer to the next entry at the recording's pace; never two at once."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._show_bar()
        if not self.playing or self.replay is None or self.cursor is None:
            return
        delay = self.replay.play_delay(self.cursor, self.speed)
        if delay is None:
            self.playing = False
            self._show_bar()
            return
        self._timer = self.set_timer(max(delay, 0.01), self._tick)  # Textual timers need a positive delay

    def _show_bar(self) -> None:
        if self._p is not None and self.replay is not None and self.view is not None:
            self._p.bar.show(self.view, self.playing, self.speed)

    def _tick(self) -> None:
        self._timer = None
        if self.playing and self.replay is not None:
            self.seek(self.replay.step(self.cursor, +1))
            self._rearm()
