"""Pilot: another service of the watched stack (`w`, `]`, `[`), on a fake live stack of several services."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual.widgets import OptionList

from ccci_tui.domain import verdict as v
from ccci_tui.domain.model import Observation
from ccci_tui.domain.replay import Recording
from ccci_tui.domain.stamp import stamp_key
from ccci_tui.domain.verdict import Expectation
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.swarm import StackSummary
from ccci_tui.sources.target import Target
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.commands import COMMANDS, applies, help_rows
from ccci_tui.tui.picker_rows import step_service
from ccci_tui.tui.screens.help import HelpScreen
from ccci_tui.tui.screens.main import MainScreen
from ccci_tui.tui.screens.picker import PickerScreen
from ccci_tui.tui.view import View
from tests.tui.support import RECIPE_STATE, FakeSwarm, Notes, run_observations, screen_text, wait_until

STACK = "research_oom"
RUN = run_observations("C")  # the incident's stack: the app rolled back; its reads lend the others a shape


def as_service(obs: Observation, service: str) -> Observation:
    """`obs` as a read of `<stack>_<service>` (one replica), without the chaos-version label abra puts on
    `app` only."""
    assert obs.service is not None
    spec = obs.service.spec
    labels = {k: val for k, val in spec.labels.items() if k != stamp_key(STACK)}
    svc = replace(obs.service, id=f"id-{service}", name=f"{STACK}_{service}",
                  spec=replace(spec, labels=labels, replicas=1))
    return replace(obs, service=svc)


READS = {
    "app": RUN[-1],  # rolled back
    "db": as_service(RUN[4], "db"),  # settled, running
    "worker": as_service(RUN[6], "worker"),  # updating
}


class StackSwarm(FakeSwarm):
    """A live stack of several services: each is read as itself, and the stack lists them with their state."""

    def __init__(self, reads: dict[str, Observation]) -> None:
        super().__init__([], stacks=(StackSummary(STACK, tuple(f"{STACK}_{s}" for s in sorted(reads)), "rollback"),
                                     StackSummary("beta", ("beta_app", "beta_db"), "ok")))
        self.by_service = reads
        self.listed = 0

    def observe(self, stack: str, service: str = "app", at: datetime | None = None) -> Observation:
        with self.lock:
            self.reads += 1
        return self.by_service[service]

    def services(self, stack: str) -> tuple[object, ...]:
        with self.lock:
            self.listed += 1
        if stack != STACK:
            raise SwarmError(f"no stack named {stack!r}")
        return tuple(self.by_service[s].service for s in sorted(self.by_service))


def _live(source: FakeSwarm, clock, **kw):  # noqa: ANN001, ANN003, ANN202
    return AppOptions(source=source, stack=STACK, clock=clock, cursor_blink=False, poll_interval=0.01,
                      memory_interval=None, **kw).build()


def picker_row(options: OptionList, service: str) -> str:
    """The picker's row for `service`, its cells joined by one space."""
    option = options.get_option(f"{STACK}\x00{service}")
    assert isinstance(option.prompt, Text)
    return " ".join(option.prompt.plain.split())


def _shows(app, service: str) -> bool:  # noqa: ANN001
    view = app.main.view
    return (view is not None and view.service == service and view.observation is not None
            and view.observation.service is not None and view.observation.service.name == f"{STACK}_{service}"
            and view.verdict is not None)


async def test_brackets_step_through_the_stack_s_services_and_wrap(clock) -> None:  # noqa: ANN001
    app, notes = _live(StackSwarm(READS), clock), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        assert app.main.view.verdict.kind == v.SWARM_ROLLBACK
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: _shows(app, "db"), what="the db's view")
        assert (app.live.stack, app.live.service) == (STACK, "db")
        assert f"{STACK}/db (2 of 3 services)" in notes.messages and "Watching" in notes.titles
        text = screen_text(app)
        # the header names the service, the banner and panes show the db's own read and verdict
        assert f"LIVE  {STACK} / db" in text.splitlines()[0]
        assert "✔ CONVERGED" in text and f"{STACK}_db carries no stamp" in text
        db_task = READS["db"].tasks[0].id[:12]
        assert db_task in text and READS["app"].tasks[0].id[:12] not in text
        assert app.main.view.verdict.kind == v.CONVERGED
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: _shows(app, "worker"))
        await pilot.press("right_square_bracket")  # past the last: the first again
        await wait_until(pilot, lambda: _shows(app, "app"))
        assert f"{STACK}/app (1 of 3 services)" in notes.messages
        await pilot.press("left_square_bracket")  # before the first: the last
        await wait_until(pilot, lambda: _shows(app, "worker"))
        assert f"{STACK}/worker (3 of 3 services)" in notes.messages


async def test_w_lists_only_this_stack_s_services_with_the_watched_one_highlighted(clock) -> None:  # noqa: ANN001
    app = _live(StackSwarm(READS), clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        await pilot.press("w")
        assert isinstance(app.screen, PickerScreen)
        await app.wait_settled()  # the services are read on a thread
        options = app.screen.query_one("#picker-list", OptionList)
        enabled = [o.id for o in options.options if not o.disabled]
        assert enabled == [f"{STACK}\x00app", f"{STACK}\x00db", f"{STACK}\x00worker"]  # not beta's
        assert options.get_option_at_index(options.highlighted).id == f"{STACK}\x00app"
        text = screen_text(app)
        assert f"Services of {STACK}" in text and "beta" not in text
        assert picker_row(options, "app") == "▶ app ✖ rollback_completed ccci/busybox:test · global"
        assert picker_row(options, "db") == "db ✔ ok ccci/busybox:test · 1 replica"
        assert picker_row(options, "worker") == "worker … updating ccci/busybox:test · 1 replica"
        assert "▶ app     ✖ rollback_completed  ccci/busybox:test" in text
        await pilot.press(*"db", "enter")
        await wait_until(pilot, lambda: _shows(app, "db"))
        assert isinstance(app.screen, MainScreen)
        await pilot.press("w")
        await app.wait_settled()
        options = app.screen.query_one("#picker-list", OptionList)
        assert options.get_option_at_index(options.highlighted).id == f"{STACK}\x00db"
        await pilot.press("escape")
        await app.wait_settled()
        assert app.live.service == "db"


async def test_the_stack_picker_marks_the_watched_service(clock) -> None:  # noqa: ANN001
    app = _live(StackSwarm(READS), clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        await pilot.press("s")
        await app.wait_settled()
        options = app.screen.query_one("#picker-list", OptionList)
        assert options.get_option_at_index(options.highlighted).id == f"{STACK}\x00app"
        assert "beta" in screen_text(app)


async def test_no_verdict_for_the_new_service_before_its_evidence(clock) -> None:  # noqa: ANN001
    release = threading.Event()

    def resolver(stack: str, service: str) -> Target:
        if service != "app":
            release.wait(10)
        return Target(stack, service, None, Path(RECIPE_STATE.path), RECIPE_STATE, Expectation())

    app = _live(StackSwarm(READS), clock, resolver=resolver)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        shown: list[View] = []
        show = app.main.show_view
        app.main.show_view = lambda view: (shown.append(view), show(view))[1]  # type: ignore[method-assign]
        await pilot.press("right_square_bracket")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        # the recipe is still being read: the app is not settled, so look at what it shows
        while not any(x.service == "db" and x.observation is not None for x in shown):
            assert loop.time() < deadline, "the db was never shown"
            await pilot.pause(0.01)
        db = next(x for x in shown if x.service == "db" and x.observation is not None)
        assert db.verdict is None and db.reading == ("the app env and recipe",)
        await asyncio.wait_for(app.screen.wait_for_refresh(), 5)  # drawn at the next refresh
        assert "NO VERDICT YET" in screen_text(app)
        release.set()
        await wait_until(pilot, lambda: _shows(app, "db"))
        before = [x for x in shown if x.service == "db" and x.reading]
        assert before and all(x.verdict is None for x in before)
        verdict = app.main.view.verdict
        # against the recipe HEAD, the db (no stamp) is judged on its own update; the app would be red
        assert verdict.kind == v.CONVERGED and f"{STACK}_db carries no stamp" in verdict.summary


async def test_a_stack_of_one_service_says_so(clock) -> None:  # noqa: ANN001
    app, notes = _live(StackSwarm({"app": READS["app"]}), clock), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        await pilot.press("right_square_bracket")
        await app.wait_settled()  # settled once the services are read and the answer shown
        assert f"{STACK} has no other service than app." in notes.messages
        assert app.live.service == "app"


async def test_a_failed_listing_is_shown_and_the_service_stays(clock) -> None:  # noqa: ANN001
    source = StackSwarm(READS)
    source.services = lambda stack: (_ for _ in ()).throw(SwarmError("daemon gone"))  # type: ignore[method-assign]
    app, notes = _live(source, clock), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        await pilot.press("left_square_bracket")
        await app.wait_settled()
        assert f"Cannot list the services of {STACK}: daemon gone" in notes.messages
        assert app.live.service == "app"


async def test_presses_during_one_read_take_one_read(clock) -> None:  # noqa: ANN001
    source, gate = StackSwarm(READS), threading.Event()
    listing = source.services

    def slow_services(stack: str) -> tuple[object, ...]:
        gate.wait(10)
        return listing(stack)

    source.services = slow_services  # type: ignore[method-assign]
    app, notes = _live(source, clock), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket",
                          "left_square_bracket")
        assert app.unsettled() == "the stack's services"
        gate.set()
        await wait_until(pilot, lambda: _shows(app, "worker"))
        assert source.listed == 1  # one read for the four presses: two steps on, app -> worker
        assert f"{STACK}/worker (3 of 3 services)" in notes.messages
        assert f"{STACK}/db" not in notes.messages


async def test_a_replay_refuses_and_says_why(run_c: Recording, clock) -> None:  # noqa: ANN001
    app, notes = AppOptions(recording=run_c, recording_label="run C", clock=clock, cursor_blink=False).build(), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await app.wait_settled()
        for key in ("right_square_bracket", "left_square_bracket", "w"):
            notes.raised.clear()
            await pilot.press(key)
            await app.wait_settled()
            assert isinstance(app.screen, MainScreen)
            assert notes.messages == (f"A recording holds one service ({STACK}/app): there is no other to "
                                      "switch to."), key
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert not {"Services of this stack", "Next service", "Previous service"} & titles
        await pilot.press("question_mark")
        await app.wait_settled()
        assert isinstance(app.screen, HelpScreen)
        assert not any(key in ("w", "] / [") for key, _ in app.screen.keys)


async def test_live_help_and_palette_list_the_keys(clock) -> None:  # noqa: ANN001
    app = _live(StackSwarm(READS), clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: _shows(app, "app"))
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Services of this stack", "Next service", "Previous service"} <= titles
        await pilot.press("question_mark")
        await app.wait_settled()
        keys = dict(app.screen.keys)
        assert keys["w"] == "pick another service of this stack"
        assert keys["] / ["] == "next / previous service of this stack"


def test_the_keys_are_in_the_one_table_and_apply_live_only() -> None:
    keys = {c.key: c for c in COMMANDS}
    for key in ("w", "right_square_bracket", "left_square_bracket"):
        assert not applies(keys[key], replay=True, write=False) and applies(keys[key], replay=False, write=False)
    assert ("] / [", "next / previous service of this stack") in list(help_rows(replay=False, write=False))


def test_step_service_wraps_both_ways() -> None:
    names = ["app", "db", "worker"]
    assert [step_service(names, "app", n) for n in (1, 2, 3, -1, -2, 0)] == ["db", "worker", "app", "worker",
                                                                            "db", "app"]
    assert step_service(names, "gone", 1) == "app" and step_service(names, "gone", -1) == "worker"
    assert step_service([], "app", 1) is None
