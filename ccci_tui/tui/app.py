"""The Textual app, built from one frozen `AppOptions` for the CLI and the tests, live or replay."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen

from ccci_tui.tui.commands import APP, COMMANDS, app_bindings, applies, help_rows
from ccci_tui.tui.replay_feed import ReplayFeed
from ccci_tui.tui.rerun_flow import PLANNING
from ccci_tui.tui.screens.loading import Loading
from ccci_tui.tui.screens.main import MainScreen
from ccci_tui.tui.switching import Switching, close_source
from ccci_tui.tui.view import CONNECTING, LIVE, STALE, View

# What the first screen does not show loads when first used: the live feed and its Engine API client,
# compare and the YAML loader, the re-run's upgrade code, the picker, help (~45 ms together, bytecode cached;
# tests/unit/test_first_paint_imports.py keeps them off the first paint).
if TYPE_CHECKING:
    from ccci_tui.domain.replay import Recording
    from ccci_tui.sources.contexts import ContextAccess
    from ccci_tui.sources.source import LiveSource
    from ccci_tui.tui.compare_source import Comparer
    from ccci_tui.tui.live_feed import LiveFeed, Resolver
    from ccci_tui.tui.recording_tap import FeedRecorder
    from ccci_tui.tui.rerunner import Rerunner

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AppOptions:
    """Everything the app is built from, for the CLI and the tests alike: a recording to replay, or a live
    source (with a stack, or the picker first). `rerun` carries a re-run out (with `write`); `record`
    writes what the app watches (live, with `stack`); `contexts` lists every docker context's stacks in the
    picker (`all_contexts`: the picker starts there). `build()` makes the app."""

    recording: Recording | None = None
    recording_label: str | None = None
    source: LiveSource | None = None
    stack: str | None = None
    service: str = "app"
    resolver: Resolver | None = None
    write: bool = False
    clock: Clock = utcnow
    export_dir: Path | None = None
    cursor_blink: bool = True
    comparer: Comparer | None = None
    rerun: Rerunner | None = None
    record: FeedRecorder | None = None
    notices: tuple[str, ...] = ()
    theme: str | None = None
    poll_interval: float = 2.0
    memory_interval: float | None = 10.0
    contexts: ContextAccess | None = None
    all_contexts: bool = False

    def __post_init__(self) -> None:
        if (self.recording is None) == (self.source is None):
            raise ValueError("the app needs exactly one of recording= and source=")
        if self.all_contexts and (self.source is None or self.contexts is None):
            raise ValueError("all_contexts= lists live docker contexts: it needs source= and contexts=")
        if self.record is not None and (self.source is None or self.stack is None):
            raise ValueError("the app records a live stack only: record= needs source= and stack=")

    def build(self) -> CcciApp:
        return CcciApp(self)


class ViewReady(Message):
    """A feed published a view; the newest one is taken from the app (views coalesce)."""


class CcciApp(Switching, App[int]):
    """Read-only by default; the re-run keys re-run only when built with `write=True`."""

    CSS_PATH = "app.tcss"
    TITLE = "ccci-tui"
    ENABLE_COMMAND_PALETTE = True
    # The main screen shows these in its footer, in its own order; here they serve every screen.
    BINDINGS = app_bindings()
    options: AppOptions

    def __init__(self, options: AppOptions) -> None:
        super().__init__()
        self.options = options
        notices = options.notices
        if options.theme and options.theme != self.theme:
            if options.theme in self.available_themes:
                self.theme = options.theme
            else:
                notices = (*notices, f"unknown theme {options.theme!r} in the config; using {self.theme}")
        self.notices = notices
        self._noted: set[str] = set()
        self.replay = (ReplayFeed(options.recording, options.recording_label or "recording")
                       if options.recording is not None else None)
        self.source = options.source
        self.write = options.write
        self.clock = options.clock
        self.export_dir = options.export_dir or Path.cwd()
        self.cursor_blink = options.cursor_blink
        self.comparer = options.comparer
        self.rerun_fn = options.rerun
        self.record = options.record
        self.live: LiveFeed | None = None
        self.contexts = options.contexts
        self.all_contexts = options.all_contexts  # the picker's last choice: this daemon, or every context
        self.context: str | None = None  # the docker context `source` reads (None: the one the CLI uses)
        if options.stack is not None:
            self.live = self._new_feed(options.stack, options.service, options.record)
        self._pending: View | None = None
        self._posted = False
        self._views_shown = 0
        self._lock = threading.Lock()
        self._mode: str | None = None

    def _new_feed(self, stack: str, service: str, tap: FeedRecorder | None = None) -> LiveFeed:
        from ccci_tui.tui.live_feed import LiveFeed

        o = self.options
        assert self.source is not None  # a live app: AppOptions checked it
        return LiveFeed(self.source, stack, service, self.publish_view, clock=self.clock, tap=tap,
                        resolver=o.resolver, poll_interval=o.poll_interval, memory_interval=o.memory_interval)

    # ---- screens ------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(self.replay)

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        for text in self.notices:
            self.notify(text, title="Recording", severity="warning", markup=False, timeout=10)
        if self.live is not None:
            self.live.start()
        elif self.source is not None:
            label = str(getattr(self.source, "label", "docker"))
            self.main.show_view(View(mode=CONNECTING, source=label, stack="", service=""))
            self.action_pick()  # live, but no stack named yet

    def on_unmount(self) -> None:
        self.stop_rerun()
        if self.live is not None:
            self.live.close()
        elif self.record is not None:
            self.record.close("the TUI quit")
        if self.source is not self.options.source:
            close_source(self.source)  # one the app opened for another context

    # ---- views from feeds (any thread) --------------------------------------------------

    def publish_view(self, view: View) -> None:
        """Called from feed threads: keep the newest view, post at most one message for it."""
        with self._lock:
            self._pending = view
            if self._posted:
                return
            self._posted = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the app has exited
            self.post_message(ViewReady())

    def on_view_ready(self, _: ViewReady) -> None:
        with self._lock:
            view, self._pending, self._posted = self._pending, None, False
        if view is None or not self.is_running or not self.screen_stack:
            return  # nothing left to show it on: the app is exiting (its screens are being taken down)
        was, self._mode = self._mode, view.mode
        if view.mode == STALE and was != STALE:
            self.notify(f"{view.error}. Showing the last read; retrying.", title="Docker daemon not answering",
                        severity="warning", markup=False)
        elif view.mode == LIVE and was == STALE:
            self.notify("Reading the swarm again.", title="Reconnected", markup=False)
        for note in view.notes:
            if note not in self._noted:
                self._noted.add(note)
                self.notify(note, severity="warning", markup=False)
        self.main.show_view(view)
        self._views_shown += 1

    # ---- settled: what tests and screenshots wait for ----------------------------------

    def unsettled(self) -> str:
        """What the screen still waits for, in a few words; empty once it shows everything it was given."""
        with self._lock:
            if self._posted:
                return "a published view"
        if self._stepping:
            return "the stack's services"
        if self.rerun_state == PLANNING:
            return "the re-run's plan"
        view = self.main.view if self.screen_stack else None
        if view is not None and view.reading:  # the feed's own thread reads the verdict's inputs
            return f"{view.reading[0]} to be read"
        for screen in self.screen_stack:
            if not screen.is_mounted:
                return f"{type(screen).__name__} to mount"
            if isinstance(screen, Loading) and screen.awaiting:
                return screen.awaiting
        # the screens' workers (the command palette's search); the app's own is the re-run, which runs
        # for minutes and streams its progress as views
        busy = [w.name or w.group for w in self.workers if w.node is not self and not w.is_finished]
        return f"the {busy[0]} worker" if busy else ""

    @property
    def is_settled(self) -> bool:
        """No published view waits, every screen is mounted with its data, and no screen's worker runs."""
        return not self.unsettled()

    async def wait_settled(self, timeout: float = 30.0) -> None:
        """Return once the app is settled and has drawn the screen since, with no view shown meanwhile.

        For callers outside the app's task (Pilot tests, screenshots). A live feed's next read is not
        waited for: the app is settled between reads. Raises TimeoutError naming what it still waits for,
        and RuntimeError at once if the app stops running.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        async def within(step: Awaitable[object]) -> bool:
            try:
                await asyncio.wait_for(step, max(0.01, deadline - loop.time()))
            except TimeoutError:
                return False
            return True

        while True:
            if not self.is_running:
                raise RuntimeError("the app stopped running (it exited, or a handler raised) before it settled")
            shown = self._views_shown
            if (await within(self._drained()) and self.is_settled
                    and await within(self.animator.wait_until_complete())
                    and await within(self.screen.wait_for_refresh())
                    and self.is_settled and self._views_shown == shown):
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"the app did not settle in {timeout:g} s: it waits for "
                                   f"{self.unsettled() or 'views that keep arriving'}")
            await asyncio.sleep(0.01)  # loads finish on other threads: look again shortly

    async def _drained(self) -> None:
        """Every message already queued for the app, the screen or its widgets has been handled."""
        pending = {}
        for node in (self, *self.screen.walk_children(with_self=True)):
            handled = asyncio.get_running_loop().create_future()
            if node.call_later(handled.set_result, None):
                pending[handled] = node
        while pending:
            done, _ = await asyncio.wait(pending, timeout=0.05)
            for future in done:
                del pending[future]
            for future, node in list(pending.items()):
                if not node.is_running:  # removed meanwhile (a footer rebuilt): its queue went with it
                    del pending[future]

    # ---- actions ------------------------------------------------------------------------

    def action_help(self) -> None:
        from ccci_tui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(list(help_rows(self.replay is not None, self.write))))

    def action_refresh(self) -> None:
        if self.live is not None:
            self.live.refresh()
            self.notify("Reading again.")

    def comparer_for(self) -> tuple[Comparer | None, str]:
        from ccci_tui.sources.swarm import SwarmSource
        from ccci_tui.tui.compare_source import RecipeComparer, recorded_comparer

        if self.comparer is not None:
            return self.comparer, ""
        live = self.live
        if live is not None and live.recipe_path is not None:
            app_env, latest = live.app_env, live.latest
            swarm = live.source if isinstance(live.source, SwarmSource) else None  # the preflight panel's reads
            return RecipeComparer(live.recipe_path, live.stack, getattr(app_env, "env", None),
                                  getattr(app_env, "compose_files", ()), latest.service if latest else None,
                                  live.expect.intent, swarm), ""
        if self.replay is not None:
            return recorded_comparer(self.replay.recording)
        return None, "no recipe known: start with --recipe PATH to compare base and head"

    def action_compare(self) -> None:
        from ccci_tui.tui.screens.compare import CompareScreen

        comparer, reason = self.comparer_for()
        self.push_screen(CompareScreen(comparer, reason))

    def action_export(self) -> None:
        """The verdict as Markdown to a file (path shown) and to the clipboard (OSC 52)."""
        from ccci_tui.domain.report import verdict_markdown

        view = self.main.view
        if view is None or view.verdict is None:
            self.notify("No verdict to export yet.", severity="warning")
            return
        context = {
            "source": view.source, "stack": view.stack, "service": view.service,
            "at": view.at.isoformat(timespec="milliseconds") if view.at else None,
            "recipe": view.recipe.path if view.recipe else None, "expected_head": view.expected_head,
        }
        text = verdict_markdown(view.verdict, context)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"ccci-verdict-{view.stack}-{self.clock():%Y%m%d-%H%M%S}.md")
        path = self.export_dir / name
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(f"Cannot write {path}: {exc.strerror or exc}", severity="error", markup=False)
            return
        self.copy_to_clipboard(text)
        self.notify(f"Written to {path}\nand copied to the clipboard (OSC 52, where the terminal allows it).",
                    title="Verdict exported", markup=False, timeout=8)

    # ---- command palette ----------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        replay = self.replay is not None
        for c in COMMANDS:
            if c.title and applies(c, replay, self.write):
                target = self if c.scope == APP else self.main
                yield SystemCommand(c.title, c.description, partial(self.run_action, c.action, target))

__all__ = ["AppOptions", "CcciApp", "utcnow"]
