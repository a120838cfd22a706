"""Recordings for the TUI tests, built from the real reference runs (tests/fixtures/swarm-lab)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

from ccci_tui.domain.model import Event, Observation, RecipeState, TagInfo
from ccci_tui.domain.replay import EVENT, OBSERVATION, RECIPE, Header, Record, Recording
from ccci_tui.tui.view import View
from tests.support.reference import BASE_SHA, HEAD_SHA, merged

FIXED_NOW = datetime(2026, 11, 27, 19, 0, 0, tzinfo=UTC)
RECIPE_STATE = RecipeState(
    path="/srv/recipes/lab-app",
    head_sha=HEAD_SHA,
    head_subject="chore: upgrade to 0.9.0+3.5.0",
    describe="0.7.0+3.3.1-9-g7ae7b0f",
    tags=(TagInfo("0.7.0+3.3.1", BASE_SHA), TagInfo("0.6.0+3.2.0", "1f2e3d4c" + "0" * 32)),
    branch="main",
)


def reference_recording(run: str = "C", stack: str | None = None, cut_removal: bool = True) -> Recording:
    """Run `run` (C: start-first OOM rolled back) as a recording, with the recipe at the head."""
    items = merged(run)
    if cut_removal:  # the lab removed the stack at the end; a reviewer's recording ends before that
        items = [it for it in items if not (isinstance(it, Observation) and it.service is None)
                 and not (isinstance(it, Event) and it.action == "remove")]
    first = items[0].at
    records = [Record(first - timedelta(milliseconds=1), RECIPE, RECIPE_STATE)]
    records += [Record(it.at, OBSERVATION if isinstance(it, Observation) else EVENT, it) for it in items]
    obs = next(it for it in items if isinstance(it, Observation) and it.service is not None)
    assert obs.service is not None
    header = Header(format="ccci-recording", version=1, tool_version="test", created=first, host=None,
                    stack=stack or obs.service.stack, service="app", recipe_path=RECIPE_STATE.path,
                    source="unix:///var/run/docker.sock")
    return Recording(header=header, records=tuple(records))


class FakeEvents:
    """What `SwarmSource.events` returns: a handle the watch closes."""

    alive = True

    def close(self, timeout: float = 1.0) -> None:
        self.alive = False


class FakeSwarm:
    """A live source stand-in: `observe` plays a script of observations, errors and hangs.

    Each script item is an Observation (returned, then repeated until the next read), an
    Exception instance (raised), or the string "hang" (blocks until `release()`).
    """

    label = "unix:///var/run/docker.sock"

    def __init__(self, script: list[object], stacks: tuple[object, ...] = ()) -> None:
        import threading

        self.script = list(script)
        self.reads = 0
        self.hanging = 0  # reads blocked in "hang" right now
        self._stacks = stacks
        self._gate = threading.Event()
        self._last: Observation | None = None
        self.lock = threading.Lock()

    def release(self) -> None:
        self._gate.set()

    def observe(self, stack: str, service: str = "app", at: datetime | None = None) -> Observation:
        with self.lock:
            item = self.script.pop(0) if self.script else self._last
            self.reads += 1
        if isinstance(item, str) and item == "hang":
            with self.lock:
                self.hanging += 1
            self._gate.wait()
            with self.lock:
                self.hanging -= 1
            from ccci_tui.sources.errors import SwarmError

            raise SwarmError("released after hanging")
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, Observation)
        self._last = item
        return item

    def events(self, stack, on_event, on_reconnect=None, on_error=None) -> FakeEvents:  # noqa: ANN001
        return FakeEvents()

    def sample_memory(self, obs: Observation) -> dict[str, int]:
        return {}

    def sample_containers(self, ids) -> dict[str, int]:  # noqa: ANN001
        return {}

    def stacks(self) -> tuple[object, ...]:
        return self._stacks

    def services(self, stack: str) -> tuple[object, ...]:
        return tuple(s for st in self._stacks for s in getattr(st, "services", ()) if st.name == stack)


def run_observations(run: str = "C") -> list[Observation]:
    """The stamped observations of a reference run with a service (no events)."""
    return [it for it in merged(run) if isinstance(it, Observation) and it.service is not None]


async def wait_until(pilot, predicate, timeout: float = 10.0, what: str = "") -> None:  # noqa: ANN001
    """Let the app settle until `predicate()` holds: feeds post from their own threads, so it may
    take a few reads; fails after `timeout` seconds naming `what` (or the predicate)."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        unsettled = ""
        try:
            await app.wait_settled(timeout=max(0.1, min(2.0, deadline - loop.time())))
        except TimeoutError as exc:
            # a feed mid-update publishes every read (a 10 ms poll in these tests): on a busy machine a
            # settle round may never see a gap between views. Only that is let through: the predicate
            # is looked at when nothing else (a screen to mount, a read on a thread) is outstanding.
            unsettled = app.unsettled()
            if unsettled == "a published view":  # the feed's next read, already on its way
                unsettled = ""
            if unsettled:
                unsettled = f" (not settled: {exc})"
                if loop.time() < deadline:
                    continue
        if not unsettled and predicate():
            return
        assert loop.time() < deadline, f"timed out after {timeout:g} s waiting for {what or predicate}{unsettled}"
        await asyncio.sleep(0.01)  # the next view comes from a feed's thread


def screen_text(app) -> str:  # noqa: ANN001
    """What the terminal shows, as plain text.

    Read back from `App.export_screenshot`, Textual's public rendering of the whole terminal: it draws
    a modal dialog over the screens beneath it, as the terminal does. (Rendering the screen's
    compositor directly, outside a refresh, draws a dialog over nothing, and the dialog keeps that
    blank backdrop until its next refresh, in snapshots too.)
    """
    return "\n".join(svg_lines(app.export_screenshot(), *app.size))


def svg_lines(svg: str, width: int, height: int) -> list[str]:
    """The text of a Rich SVG export, one string per terminal line (cells without text are spaces)."""
    import html
    import re

    from rich.cells import cell_len

    clip = re.search(r'-line-0">\s*<rect x="0" y="[\d.]+" width="([\d.]+)"', svg)
    assert clip is not None, "not a Rich SVG export"
    cell = float(clip.group(1)) / width
    rows: dict[int, list[tuple[int, str]]] = {}
    for m in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                         r'clip-path="url\(#[\w-]+-line-(\d+)\)">(.*?)</text>', svg, re.S):
        rows.setdefault(int(m.group(2)), []).append((round(float(m.group(1)) / cell), html.unescape(m.group(3))))
    lines = []
    for y in range(height):
        line, at = "", 0
        for x, text in sorted(rows.get(y, [])):
            text = text.replace("\xa0", " ").replace("\n", "")  # Rich ends each line with a newline segment
            line += " " * (x - at) + text
            at = x + cell_len(text)
        lines.append(line)
    return lines


class Notes:
    """A `run_test(message_hook=...)` that keeps every notification the app raised, in order.

    Textual's own list of notifications is private, and drops each one when its timeout passes.
    """

    def __init__(self) -> None:
        from textual.notifications import Notification

        self.raised: list[Notification] = []

    def __call__(self, message: object) -> None:
        from textual.notifications import Notify

        if isinstance(message, Notify):
            self.raised.append(message.notification)

    @property
    def messages(self) -> str:
        return "\n".join(str(n.message) for n in self.raised)

    @property
    def titles(self) -> str:
        return "\n".join(str(n.title) for n in self.raised)


# ---- the re-run without a swarm ----------------------------------------------------------------


class PlanSwarm:
    """The swarm as `make_plan` reads it: a manager holding `stack`; reading the service fails, so the
    base comes from the recipe's tags."""

    label = "unix:///var/run/docker.sock"

    def __init__(self, stack: str, services: tuple[str, ...] = ("app",)) -> None:
        self.stack, self._services = stack, services

    def require_manager(self) -> None:
        return None

    def services(self, stack: str) -> tuple[object, ...]:
        from types import SimpleNamespace

        from ccci_tui.sources.errors import SwarmError

        if stack != self.stack:
            raise SwarmError(f"no stack named {stack!r}")
        return tuple(SimpleNamespace(name=f"{stack}_{s}") for s in self._services)

    def observe(self, stack: str, service: str = "app", at: datetime | None = None) -> Observation:
        from ccci_tui.sources.errors import SwarmError

        raise SwarmError("not read while planning in this test")


def scripted_execute(script: list[Observation], calls: list[object], head: str):  # noqa: ANN201
    """`upgrade.run.execute`'s stand-in: reports every step without running git or docker; the head's
    watch folds `script` the way the race-free watcher does (anchored to a marker at the first read),
    expecting `head`, the commit the scripted swarm deploys (a throwaway recipe's head is another)."""
    from dataclasses import replace as dc_replace

    from ccci_tui.domain.diagnose import diagnose
    from ccci_tui.domain.timeline import TimelineBuilder
    from ccci_tui.domain.verdict import Expectation
    from ccci_tui.sources.watch import NOT_YET
    from ccci_tui.upgrade.plan import CLEANUP, WAIT, WATCH
    from ccci_tui.upgrade.progress import DONE, START, StepReport

    def run(plan, source, timeout=300.0, on_step=None, on_observation=None, on_event=None,  # noqa: ANN001, ANN202
            cancel=None):  # noqa: ANN001
        calls.append(plan)
        first = script[0]
        assert first.service is not None
        expect = Expectation(head=head, head_ref=f"head {plan.head_ref}", marker_taken=True,
                             marker_index=first.service.index, marker_state="")
        verdict = None
        for i, step in enumerate([s for s in plan.steps if s.kind != CLEANUP], 1):
            on_step(StepReport(i, step, START))
            detail = ""
            if step.kind in (WAIT, WATCH) and step.side == "head":
                builder = TimelineBuilder()
                builder.add_observation(first)
                for obs in script[1:]:
                    builder.add_observation(obs)
                    verdict = diagnose(obs, None, dc_replace(expect, now=obs.at), builder.snapshot())
                    on_observation(obs, verdict)
                    if verdict.kind not in NOT_YET:
                        break
                detail = f"{verdict.kind}: {verdict.summary}"
            on_step(StepReport(i, step, DONE, detail))
        assert verdict is not None
        return verdict

    return run


class Views:
    """Every view a feed publishes (it is the feed's `publish`); `wait` blocks for one that matches."""

    def __init__(self) -> None:
        self.items: list[View] = []
        self.cond = threading.Condition()

    def __call__(self, view: View) -> None:
        with self.cond:
            self.items.append(view)
            self.cond.notify_all()

    def wait(self, predicate, timeout: float = 5.0, after: int = 0) -> tuple[int, View]:  # noqa: ANN001
        """The first view from position `after` on that satisfies `predicate`, and its position."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(after, len(self.items)):
                    if predicate(self.items[i]):
                        return i, self.items[i]
                left = deadline - time.monotonic()
                assert left > 0, f"no such view; last: {self.items[-1] if self.items else None}"
                self.cond.wait(left)
