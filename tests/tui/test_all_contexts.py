"""Pilot: the stacks of every docker context in the picker (`--all-contexts`, ctrl+o), rows appearing as
each context answers, and watching a stack on another context, on fake contexts and fake sources."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

from textual.widgets import OptionList

from ccci_tui.sources.contexts import ContextReads, DockerContext, OnContext, read_contexts
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.swarm import StackSummary
from ccci_tui.tui.app import AppOptions, CcciApp
from ccci_tui.tui.commands import COMMANDS, CONTEXTS_KEY, help_rows
from ccci_tui.tui.recording_tap import FeedRecorder
from ccci_tui.tui.screens.main import MainScreen
from ccci_tui.tui.screens.picker import PickerScreen
from ccci_tui.tui.view import LIVE
from tests.tui.support import FakeEvents, FakeSwarm, Notes, run_observations, screen_text, wait_until

STACK = "research_oom"
HOME = DockerContext("default", "unix:///var/run/docker.sock", current=True)
LAB = DockerContext("lab", "unix:///srv/lab.sock")
DEAD = DockerContext("dead", "unix:///srv/dead.sock")
IDLE = DockerContext("idle", "tcp://10.0.0.9:2375")
SEP = "\x00"


class Swarm(FakeSwarm):
    """A fake daemon that keeps its event streams (to tell its watch stopped) and knows when it is closed."""

    def __init__(self, label: str, stacks: tuple[StackSummary, ...]) -> None:
        super().__init__(run_observations("C"), stacks=stacks)
        self.label = label
        self.streams: list[FakeEvents] = []
        self.closed = False

    def events(self, stack, on_event, on_reconnect=None, on_error=None) -> FakeEvents:  # noqa: ANN001
        stream = super().events(stack, on_event, on_reconnect, on_error)
        self.streams.append(stream)
        return stream

    def close(self) -> None:
        self.closed = True


class FakeContexts:
    """Docker contexts without docker: each read answers with the stacks (or raises the error) given for its
    host, after its gate opens for the held ones; the real `read_contexts` runs them."""

    def __init__(self, answers: dict[DockerContext, object], held: Sequence[DockerContext] = (),
                 timeout: float = 30.0) -> None:
        self.listed = tuple(answers)
        self.answers = {c.host: a for c, a in answers.items()}
        self.gates = {c.host: threading.Event() for c in held}
        self.timeout = timeout
        self.sources: dict[str, Swarm] = {}
        self.reads = 0

    def contexts(self) -> tuple[DockerContext, ...]:
        return self.listed

    def read(self, contexts: Sequence[DockerContext], on_result: OnContext) -> ContextReads:
        self.reads += 1
        return read_contexts(contexts, on_result, self.timeout, reader=self._stacks)

    def _stacks(self, host: str, timeout: float) -> tuple[StackSummary, ...]:
        gate = self.gates.get(host)
        if gate is not None:
            gate.wait(60)
        answer = self.answers[host]
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, tuple)
        return answer

    def source(self, context: DockerContext) -> Swarm:
        answer = self.answers[context.host]
        source = Swarm(context.label, answer if isinstance(answer, tuple) else ())
        self.sources[context.name] = source
        return source

    def release(self) -> None:
        for gate in self.gates.values():
            gate.set()


HOME_STACKS = (StackSummary(STACK, (f"{STACK}_app",), "ok"), StackSummary("beta", ("beta_app", "beta_db"), "ok"))
LAB_STACKS = (StackSummary(STACK, (f"{STACK}_app",), "rollback"), StackSummary("gamma", ("gamma_app",), "updating"))


def _contexts(**kw) -> FakeContexts:  # noqa: ANN003
    return FakeContexts({
        HOME: HOME_STACKS, LAB: LAB_STACKS,
        DEAD: SwarmError("Docker daemon unreachable at unix:///srv/dead.sock (docker info): No such file or directory"),
        IDLE: SwarmError("the Docker daemon at tcp://10.0.0.9:2375 is not part of a swarm"),
    }, **kw)


def _app(home: Swarm, contexts: FakeContexts, clock, **kw) -> CcciApp:  # noqa: ANN001, ANN003
    return AppOptions(source=home, contexts=contexts, clock=clock, cursor_blink=False, poll_interval=0.01,
                      memory_interval=None, **kw).build()


def _home() -> Swarm:
    return Swarm("unix:///var/run/docker.sock", HOME_STACKS)


def _enabled(app: CcciApp) -> list[str]:
    options = app.screen.query_one("#picker-list", OptionList)
    return [str(o.id) for o in options.options if not o.disabled]


def _highlighted(app: CcciApp) -> str:
    options = app.screen.query_one("#picker-list", OptionList)
    return str(options.get_option_at_index(options.highlighted).id) if options.highlighted is not None else ""


async def _type(pilot, text: str, *then: str) -> None:  # noqa: ANN001
    """Put `text` in the picker's filter (as typing it would, without a repaint per key), then press `then`."""
    from textual.widgets import Input

    pilot.app.screen.query_one("#picker-filter", Input).value = text
    await pilot.app.wait_settled()
    await pilot.click("#picker-filter")
    if then:
        await pilot.press(*then)


async def _until_shown(pilot, predicate, what: str) -> None:  # noqa: ANN001
    """Poll the screen: while a context is still being read the picker is, rightly, not settled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not predicate():
        assert loop.time() < deadline, f"never shown: {what}\n{screen_text(pilot.app)}"
        await pilot.pause(0.02)


async def test_all_contexts_lists_each_context_s_stacks_as_it_answers(clock) -> None:  # noqa: ANN001
    contexts = _contexts(held=(LAB,))
    app = _app(_home(), contexts, clock, all_contexts=True)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await _until_shown(pilot, lambda: isinstance(app.screen, PickerScreen)
                               and len(app.screen.found) == 3, "the three contexts that answer")
            # the held context does not hold up the others: their rows are in, it says it is still reading
            assert app.screen.awaiting == "the stacks of docker context lab"
            await asyncio.wait_for(app.screen.wait_for_refresh(), 5)
            text = screen_text(app)
            assert "Stacks of every docker context" in text
            assert "◆ lab  unix:///srv/lab.sock  … still reading (gives up after 30 s)" in text
            assert "◆ dead  unix:///srv/dead.sock  ✖ Docker daemon unreachable at unix:///srv/dead.sock" in text
            assert "◆ idle  tcp://10.0.0.9:2375  ✖ the Docker daemon at tcp://10.0.0.9:2375 is not part of a swarm" \
                in text
            assert f"{STACK}  ✔ ok  1 service  · default" in text
            assert _enabled(app) == [f"default{SEP}{STACK}{SEP}app", f"default{SEP}beta{SEP}app",
                                     f"default{SEP}beta{SEP}db"]
            assert "3 services match · 3 of 4 docker contexts answered" in text
            await pilot.press("down", "down")  # the user moves while the last context is still being read
            await _until_shown(pilot, lambda: _highlighted(app) == f"default{SEP}beta{SEP}app", "the move")
            contexts.release()
            await app.wait_settled()
            text = screen_text(app)
            assert f"{STACK}  ✖ rollback  1 service  · lab" in text and "gamma  … updating  1 service  · lab" in text
            assert "still reading" not in text and "5 services match · 4 of 4 docker contexts answered" in text
            # in the listing's order, whatever the order of the answers; the highlight stayed put
            assert _enabled(app)[3:] == [f"lab{SEP}{STACK}{SEP}app", f"lab{SEP}gamma{SEP}app"]
            assert _highlighted(app) == f"default{SEP}beta{SEP}app"
            await _type(pilot, "lab gam")  # the filter reads the context too
            assert _enabled(app) == [f"lab{SEP}gamma{SEP}app"]
            assert "dead" not in screen_text(app)
    finally:
        contexts.release()


async def test_a_context_that_never_answers_is_given_up_after_its_timeout(clock) -> None:  # noqa: ANN001
    contexts = _contexts(held=(LAB,), timeout=0.3)
    app = _app(_home(), contexts, clock, all_contexts=True)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await app.wait_settled()  # every context has a result: lab's is its timeout
            text = screen_text(app)
            assert "◆ lab  unix:///srv/lab.sock  ✖ no answer within 0.3 s" in text
            assert f"default{SEP}beta{SEP}db" in _enabled(app)
            assert app.screen.found["lab"].error == "no answer within 0.3 s"
            assert pilot.app.screen.awaiting == ""
    finally:
        contexts.release()


async def test_the_key_toggles_between_this_daemon_and_every_context(clock) -> None:  # noqa: ANN001
    contexts = _contexts()
    app = _app(_home(), contexts, clock, stack=STACK)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.observation is not None)
        await pilot.press("s")
        await app.wait_settled()
        text = screen_text(app)
        assert "Stacks and services" in text and "^o all contexts" in text and contexts.reads == 0
        assert _enabled(app) == [f"{STACK}{SEP}app", f"beta{SEP}app", f"beta{SEP}db"]
        await pilot.press(CONTEXTS_KEY)
        await app.wait_settled()
        text = screen_text(app)
        assert "Stacks of every docker context" in text and "^o this daemon" in text and contexts.reads == 1
        # the watched service is marked in its own context only, though lab has a stack of that name too
        assert _highlighted(app) == f"default{SEP}{STACK}{SEP}app"
        assert "◆ default  unix:///var/run/docker.sock  watching" in text
        await pilot.press(CONTEXTS_KEY)
        await app.wait_settled()
        assert "Stacks and services" in screen_text(app) and _highlighted(app) == f"{STACK}{SEP}app"
        await pilot.press(CONTEXTS_KEY, "escape")
        await app.wait_settled()
        await pilot.press("s")  # the picker opens as it was left: every context (read again)
        await app.wait_settled()
        assert "Stacks of every docker context" in screen_text(app) and contexts.reads == 2


async def test_choosing_a_stack_of_another_context_watches_it_there(clock, tmp_path: Path) -> None:  # noqa: ANN001
    from ccci_tui.domain.replay import NOTE
    from ccci_tui.sources.recording import RecordingWriter, new_header, read_recording

    home, contexts, notes = _home(), _contexts(), Notes()
    tap = FeedRecorder(RecordingWriter(tmp_path / "tui.jsonl", new_header(STACK, "app", host=None)))
    app = _app(home, contexts, clock, stack=STACK, record=tap)
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.observation is not None)
        old = app.live
        assert old is not None and home.streams
        await pilot.press("s", CONTEXTS_KEY)
        await app.wait_settled()
        await _type(pilot, "lab research", "enter")  # the same stack name, on another daemon
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.source == LAB.label
                         and app.main.view.mode == LIVE, what="the lab's view")
        lab = contexts.sources["lab"]
        assert app.source is lab and app.context == "lab" and app.live is not old
        assert (app.live.stack, app.live.service) == (STACK, "app") and lab.reads > 0
        text = screen_text(app)
        assert f"LIVE  {STACK} / app  ·  context lab (unix:///srv/lab.sock)" in text.splitlines()[0]
        assert "research_oom/app on docker context lab (unix:///srv/lab.sock)" in notes.messages
        # the old feed stopped: its event stream closed, its watch threads ended; the app's own source stays
        await wait_until(pilot, lambda: not home.streams[-1].alive and not old._watch.alive, what="the old watch")
        assert not home.closed
        assert tap.writer.closed and "holds research_oom/app only" in notes.messages
        # the picker opens as it was left (every context), the watched service marked on lab, not on default
        await pilot.press("s")
        await app.wait_settled()
        assert _highlighted(app) == f"lab{SEP}{STACK}{SEP}app"
        assert "◆ lab  unix:///srv/lab.sock  watching" in screen_text(app)
        await pilot.press(CONTEXTS_KEY)  # and this daemon is lab now
        await app.wait_settled()
        assert _enabled(app) == [f"{STACK}{SEP}app", f"gamma{SEP}app"]  # lab's, read from lab's source
        await pilot.press(CONTEXTS_KEY)
        await app.wait_settled()
        await _type(pilot, "default beta", "enter")  # back to the context the app started on
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.stack == "beta"
                         and app.main.view.source == home.label, what="home again")
        assert app.source is home and app.context == "default" and isinstance(app.screen, MainScreen)
        await wait_until(pilot, lambda: lab.closed, what="the lab source closed")  # opened by the app, closed by it
        assert not home.closed
    recorded = [r.value for r in read_recording(tmp_path / "tui.jsonl").records if r.kind == NOTE]
    assert recorded == [f"recording stopped: the TUI switched to {STACK}/app on docker context lab"]


async def test_the_re_run_is_refused_on_another_context(clock) -> None:  # noqa: ANN001
    class Rerunner:
        def plan(self, stack: str, service: str, order: str) -> object:
            raise AssertionError("never planned on another context")

        def run(self, *args: object) -> object:
            raise AssertionError("never run")

    contexts, notes = _contexts(), Notes()
    app = _app(_home(), contexts, clock, stack=STACK, write=True, rerun=Rerunner())
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.observation is not None)
        await pilot.press("s", CONTEXTS_KEY)
        await app.wait_settled()
        await _type(pilot, "lab gamma", "enter")
        await wait_until(pilot, lambda: app.context == "lab" and app.main.view.stack == "gamma")
        await pilot.press("S")
        await app.wait_settled()
        assert "this view reads docker context lab" in notes.messages
        assert "DOCKER_CONTEXT=lab --write" in notes.messages


async def test_a_context_listing_is_in_the_palette_and_help(clock) -> None:  # noqa: ANN001
    contexts = _contexts()
    app = _app(_home(), contexts, clock, stack=STACK)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.observation is not None)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Stacks of every docker context" in titles
        app.action_pick_contexts()
        await app.wait_settled()
        assert isinstance(app.screen, PickerScreen) and app.screen.all_contexts
    command = next(c for c in COMMANDS if c.action == "pick_contexts")
    assert not command.key  # the key lives in the picker; the palette opens it from anywhere
    assert (f"{CONTEXTS_KEY} in the picker", "stacks of this daemon / of every docker context") in list(
        help_rows(replay=False, write=False))


async def test_without_contexts_the_picker_has_no_toggle(clock) -> None:  # noqa: ANN001
    app = AppOptions(source=_home(), stack=STACK, clock=clock, cursor_blink=False, poll_interval=0.01,
                     memory_interval=None).build()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.observation is not None)
        await pilot.press("s")
        await app.wait_settled()
        await pilot.press(CONTEXTS_KEY)
        await app.wait_settled()
        text = screen_text(app)
        assert "Stacks and services" in text and "^o" not in text and not app.screen.all_contexts


def test_all_contexts_is_a_top_level_option() -> None:
    from ccci_tui.cli import build_parser

    assert build_parser().parse_args(["--all-contexts"]).tui_all_contexts is True
    assert build_parser().parse_args([]).tui_all_contexts is False
