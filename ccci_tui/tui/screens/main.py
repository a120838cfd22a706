"""The main screen: header, verdict banner, four panes and (in replay) the replay controls."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.events import DescendantFocus
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Tab, Tabs

from ccci_tui.tui.commands import main_bindings
from ccci_tui.tui.replay_feed import ReplayFeed
from ccci_tui.tui.view import View
from ccci_tui.tui.widgets.recipe_pane import RecipePane
from ccci_tui.tui.widgets.replay_bar import ReplayBar
from ccci_tui.tui.widgets.spec_pane import SpecPane
from ccci_tui.tui.widgets.status import SourceHeader, VerdictBanner
from ccci_tui.tui.widgets.tasks_pane import TasksTable
from ccci_tui.tui.widgets.timeline_pane import TimelineTable

PANES = ("recipe", "spec", "tasks", "timeline")
PANE_TITLES = {"recipe": "Recipe", "spec": "Spec", "tasks": "Tasks", "timeline": "Timeline"}
SPEEDS = (1, 10)


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
        self._ready = False

    def compose(self) -> ComposeResult:
        yield SourceHeader(id="header")
        yield VerdictBanner(id="banner")
        yield Tabs(*(Tab(f"{i + 1} {PANE_TITLES[p]}", id=f"tab-{p}") for i, p in enumerate(PANES)),
                   active="tab-timeline", id="pane-tabs")
        with Container(id="panes"):
            with VerticalScroll(id="recipe-box", classes="pane") as box:
                box.border_title = "1 Recipe"
                yield RecipePane(id="recipe")
            with VerticalScroll(id="spec-box", classes="pane") as box:
                box.border_title = "2 Spec · PreviousSpec · attempted"
                yield SpecPane(id="spec")
            tasks = TasksTable(id="tasks")
            tasks.add_class("pane")
            tasks.border_title = "3 Tasks"
            yield tasks
            timeline = TimelineTable(id="timeline")
            timeline.add_class("pane", "-active")
            timeline.border_title = "4 Timeline"
            yield timeline
        yield ReplayBar(id="replay-bar")
        yield Footer()

    def on_mount(self) -> None:
        self._ready = True
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.query_one(VerdictBanner).focus()
        if self.replay is not None:
            self.cursor = self.replay.initial_cursor()
            self.show_view(self.replay.view_at(self.cursor))
        elif self.view is not None:
            self.show_view(self.view)  # a live view that came before the panes were mounted

    # ---- rendering ----------------------------------------------------------------------

    def _pane(self, name: str) -> Widget:
        return self.query_one(f"#{name}-box" if name in ("recipe", "spec") else f"#{name}")

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
            for name in PANES:
                if self._visible(name):
                    self._show_pane(name, view)
                else:
                    self._dirty.add(name)
            if self.replay is not None:
                self.query_one(ReplayBar).show(view, self.playing, self.speed)

    def _show_pane(self, name: str, view: View) -> None:
        self._dirty.discard(name)
        if name == "recipe":
            self.query_one(RecipePane).show(view)
        elif name == "spec":
            self.query_one(SpecPane).show(view)
        elif name == "tasks":
            self.query_one(TasksTable).show(view)
        else:
            self.query_one(TimelineTable).show(view)

    def _theme_changed(self, _: object) -> None:
        """Cells carry theme colours: draw every pane again in the new theme."""
        if self.view is not None:
            self.query_one(TasksTable).show(self.view, force=True)
            self.query_one(TimelineTable).show(self.view, force=True)
            self.query_one(SpecPane).show(self.view)

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
        self._pane(name).focus()

    def _activate(self, name: str) -> None:
        if name not in PANES:
            return
        self.active = name
        for pane in PANES:
            self._pane(pane).set_class(pane == name, "-active")
        tabs = self.query_one(Tabs)
        if tabs.active != f"tab-{name}":
            tabs.active = f"tab-{name}"
        self._catch_up()

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        if event.tab.id:
            self._activate(event.tab.id.removeprefix("tab-"))

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        for name in PANES:
            pane = self._pane(name)
            if event.widget is pane or pane in event.widget.ancestors:
                if name != self.active:
                    self._activate(name)
                return

    @on(TimelineTable.TaskFocused)
    def _task_focused(self, event: TimelineTable.TaskFocused) -> None:
        if event.task_id == self._focused_task:
            return
        self._focused_task = event.task_id
        tasks = self.query_one(TasksTable)
        found = tasks.mark(event.task_id)
        if event.task_id and not found:
            tasks.set_subtitle(f"task {event.task_id[:12]} is not in view at this time")

    @on(TasksTable.Chosen)
    def _task_chosen(self, event: TasksTable.Chosen) -> None:
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
        self.query_one(TimelineTable).toggle_absolute()

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

    @on(TimelineTable.CursorRequested)
    def _cursor_requested(self, event: TimelineTable.CursorRequested) -> None:
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
        if self.replay is not None and self.view is not None:
            self.query_one(ReplayBar).show(self.view, self.playing, self.speed)
        if not self.playing or self.replay is None or self.cursor is None:
            return
        delay = self.replay.play_delay(self.cursor, self.speed)
        if delay is None:
            self.playing = False
            if self.view is not None:
                self.query_one(ReplayBar).show(self.view, self.playing, self.speed)
            return
        self._timer = self.set_timer(max(delay, 0.01), self._tick)  # Textual timers need a positive delay

    def _tick(self) -> None:
        self._timer = None
        if self.playing and self.replay is not None:
            self.seek(self.replay.step(self.cursor, +1))
            self._rearm()
