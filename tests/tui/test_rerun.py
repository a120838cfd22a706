"""Pilot: the re-run behind --write — one key per order, the exact plan, a typed stack name, the run streamed.

The plans are real (`make_plan` on a throwaway recipe repo); the swarm is a stand-in, and so is
`execute` except in the quit test, which runs the real one (its watch on a fake swarm).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from ccci_tui.config import Config
from ccci_tui.domain import verdict as v
from ccci_tui.domain.replay import NOTE, STEP, VERDICT, RerunStep
from ccci_tui.sources.recording import RecordingWriter, new_header, read_recording
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.recording_tap import FeedRecorder
from ccci_tui.tui.rerunner import StackRerunner
from ccci_tui.tui.screens.main import MainScreen
from ccci_tui.tui.screens.rerun import ConfirmRerunScreen
from ccci_tui.tui.view import RERUN
from ccci_tui.upgrade.plan import CLEANUP, WATCH, Step, UpgradePlan
from tests.support.recipes import build_recipe
from tests.support.reference import HEAD_SHA
from tests.tui.support import (
    FakeSwarm,
    Notes,
    PlanSwarm,
    run_observations,
    screen_text,
    scripted_execute,
    wait_until,
)

STACK = "research_oom"  # the stack of reference run C


@pytest.fixture
def docker_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make_plan` checks that a docker CLI is on PATH; these tests never run it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text("#!/bin/sh\necho 'not in a Pilot test' >&2\nexit 97\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("ABRA_DIR", str(tmp_path / "no-abra"))  # no app env: the recipe is given


@pytest.fixture
def recipe(tmp_path: Path, docker_cli: None):  # noqa: ANN201
    """A recipe whose head reserves memory and publishes a host-mode port."""
    import yaml

    rec = build_recipe(tmp_path / "recipes", reservation="64M")
    doc = yaml.safe_load((rec.path / "compose.yml").read_text())
    doc["services"]["app"]["ports"] = [{"target": 80, "published": 8080, "mode": "host"}]
    rec.head = rec.commit_file("compose.yml", yaml.safe_dump(doc, sort_keys=False), "publish 8080 on the host")
    return rec


def _app(clock, tmp_path: Path, rerun, write: bool = True, record: FeedRecorder | None = None):  # noqa: ANN001, ANN202
    # the feed shows run C's first read (the base running); the re-run's watcher sees the rest
    feed = FakeSwarm(run_observations("C")[:1])
    return AppOptions(source=feed, stack=STACK, clock=clock, export_dir=tmp_path, cursor_blink=False,
                      poll_interval=0.01, memory_interval=None, write=write, rerun=rerun, record=record).build()


def _rerunner(recipe_path: Path | None, calls: list[object]) -> StackRerunner:
    return StackRerunner(PlanSwarm(STACK), Config(), str(recipe_path) if recipe_path else None,
                         execute=scripted_execute(run_observations("C"), calls, HEAD_SHA))


def _text(screen: ConfirmRerunScreen, selector: str) -> str:
    content = screen.query_one(selector, Static).content
    return content.plain if hasattr(content, "plain") else str(content)


def _shown(app, selector: str) -> str:  # noqa: ANN001
    """What the terminal shows inside one widget, its wrapped lines joined (border glyphs dropped)."""
    region = app.screen.query_one(selector).content_region
    lines = screen_text(app).splitlines()[region.y:region.bottom]
    return " ".join(" ".join(line[region.x:region.right] for line in lines).split())


def _footer(app) -> str:  # noqa: ANN001
    return screen_text(app).splitlines()[-1]


async def _open(pilot, key: str) -> ConfirmRerunScreen:  # noqa: ANN001
    app = pilot.app
    await wait_until(pilot, lambda: app.main.view is not None and app.main.view.verdict is not None)
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmRerunScreen), timeout=15)
    screen = app.screen
    assert isinstance(screen, ConfirmRerunScreen)
    return screen


async def test_without_write_the_order_keys_refuse(clock, tmp_path: Path, recipe) -> None:  # noqa: ANN001
    calls: list[object] = []
    app, notes = _app(clock, tmp_path, _rerunner(recipe.path, calls), write=False), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: "e Export" in _footer(app), what="the footer")
        assert "Re-run" not in _footer(app)
        assert not [c.title for c in app.get_system_commands(app.screen) if "Re-run" in c.title]
        await pilot.press("S", "T", "R")
        await app.wait_settled()
        assert isinstance(app.screen, MainScreen)
        assert sum("Read-only" in str(n.message) for n in notes.raised) == 3
    assert calls == []


async def test_each_order_key_confirms_its_own_plan_with_commands_and_risks(clock, tmp_path: Path, recipe) -> None:  # noqa: ANN001
    calls: list[object] = []
    app, notes = _app(clock, tmp_path, _rerunner(recipe.path, calls)), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: "e Export" in _footer(app), what="the footer")
        footer = _footer(app)
        assert "S Re-run stop-first" in footer and "T Re-run start-first" in footer
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Re-run the upgrade stop-first" in titles and "Re-run the upgrade start-first" in titles
        await pilot.press("R")  # no order named: the two keys are pointed out, nothing is planned
        await app.wait_settled()
        assert isinstance(app.screen, MainScreen) and "S stop-first, T start-first" in notes.messages

        seen: dict[str, UpgradePlan] = {}
        for key, order in (("S", "stop-first"), ("T", "start-first")):
            screen = await _open(pilot, key)
            plan = screen.plan
            seen[order] = plan
            assert (plan.stack, plan.order, plan.head_sha) == (STACK, order, recipe.head)
            # the exact plan, verbatim: refs, every command, every overlay line
            shown = _text(screen, "#confirm-commands")
            assert shown == plan.render()
            assert f"base     0.7.0+3.3.1 ({recipe.base[:8]})" in shown
            deploy = f"docker stack deploy --detach=true --resolve-image never -c {plan.workdir}/base/compose.yml"
            assert deploy in shown
            assert f"worktree add --detach {plan.workdir}/head {recipe.head}" in shown
            # the risks, up front
            risks = _shown(app, "#confirm-risks")
            assert plan.risks and all(r in risks for r in plan.risks), risks
            assert screen.query_one("#confirm-risks").has_class("-risky")
            await pilot.press("escape")
            await app.wait_settled()
            assert isinstance(app.screen, MainScreen)
        assert "Cancelled: nothing was deployed" in notes.messages
    stop = " ".join(seen["stop-first"].risks)
    start = " ".join(seen["start-first"].risks)
    assert "single replica and updates stop-first" in stop and "host-mode" not in stop
    assert "host-mode port 8080" in start and "memory reservation of 64" in start
    assert "two reservations per slot" in start
    assert calls == []  # nothing ran


async def test_run_stays_disabled_until_the_stack_name_is_typed_exactly(clock, tmp_path: Path, recipe) -> None:  # noqa: ANN001
    calls: list[object] = []
    app = _app(clock, tmp_path, _rerunner(recipe.path, calls))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, "S")
        run = screen.query_one("#confirm-run", Button)
        name = screen.query_one("#confirm-name", Input)
        assert name.has_focus and run.disabled
        # the app's own keys (s, c, e, q, ...) are letters of the name: the input takes them
        await pilot.press(*STACK[:-1])
        await app.wait_settled()
        assert name.value == STACK[:-1] and run.disabled
        await pilot.press("enter")
        await pilot.click("#confirm-run")
        await app.wait_settled()
        assert app.screen is screen and calls == []
        await pilot.press(STACK[-1])
        await app.wait_settled()
        assert not run.disabled
        await pilot.press("x")
        await app.wait_settled()
        assert run.disabled
        await pilot.press("backspace", "home", "delete", "R")  # a different case is not the name
        await app.wait_settled()
        assert name.value == "R" + STACK[1:] and run.disabled
        await pilot.press("home", "delete", STACK[0])
        await app.wait_settled()
        assert name.value == STACK and not run.disabled
        await pilot.press("escape")
        await app.wait_settled()
    assert calls == []


async def test_the_run_streams_into_the_timeline_banner_and_recording(clock, tmp_path: Path, recipe) -> None:  # noqa: ANN001
    calls: list[object] = []
    path = tmp_path / "tui.jsonl"
    tap = FeedRecorder(RecordingWriter(path, new_header(STACK, "app", host=None)))
    app, shown = _app(clock, tmp_path, _rerunner(recipe.path, calls), record=tap), Notes()
    async with app.run_test(size=(120, 36), message_hook=shown) as pilot:
        screen = await _open(pilot, "S")
        plan = screen.plan
        before = app.main.view.verdict.kind
        await pilot.press(*STACK, "enter")
        await wait_until(pilot, lambda: app.rerun_state == "idle" and app.main.view.verdict.kind == v.SWARM_ROLLBACK,
                         timeout=15)
        assert calls == [plan] and before != v.SWARM_ROLLBACK
        rows = [e.text for e in app.main.view.timeline.entries if e.kind == RERUN]
        head_deploy = next(i for i, s in enumerate(plan.steps, 1) if s.text == f"deploy head {plan.head_sha[:8]}")
        assert rows[0].startswith(f"started: stop-first, base 0.7.0+3.3.1 ({recipe.base[:8]})")
        assert f"{head_deploy}. deploy head {plan.head_sha[:8]} ✓" in rows
        assert any(r.endswith("✓ swarm-rollback") and "watch until a verdict" in r for r in rows)
        assert rows[-1] == "ended: swarm-rollback"
        assert len(rows) == 2 + len([s for s in plan.steps if s.kind != CLEANUP])
        # the run's reads are in the same timeline: the rollback the watcher saw is there
        assert any("rollback_started" in (e.state or "") for e in app.main.view.timeline.entries)
        text = screen_text(app)
        assert "SWARM-ROLLBACK" in text and "rerun" in text
        assert "Re-run with stop-first finished" in shown.titles
    recording = read_recording(path)
    notes = [r.value for r in recording.records if r.kind == NOTE]
    steps = [r.value for r in recording.records if r.kind == STEP]
    assert RerunStep(f"{head_deploy}. deploy head {plan.head_sha[:8]} ✓") in steps
    assert steps[-1] == RerunStep("ended: swarm-rollback", failed=True)
    assert notes[-1] == "recording stopped: the TUI quit"
    verdicts = [r.value.kind for r in recording.records if r.kind == VERDICT]
    assert verdicts[-1] == v.SWARM_ROLLBACK and v.IN_PROGRESS in verdicts


@pytest.mark.parametrize("case", ["dirty", "no recipe", "unknown service"])
async def test_a_plan_error_is_a_message_and_nothing_runs(clock, tmp_path: Path, recipe, case: str) -> None:  # noqa: ANN001
    calls: list[object] = []
    rerunner = _rerunner(None if case == "no recipe" else recipe.path, calls)
    expected = {"dirty": "is dirty (1 untracked", "no recipe": "no recipe to re-run from",
                "unknown service": "has no service 'research_oom_app'"}[case]
    if case == "dirty":
        (recipe.path / "scratch.txt").write_text("local change")
    if case == "unknown service":
        rerunner.source = PlanSwarm(STACK, services=("db",))
    app, notes = _app(clock, tmp_path, rerunner), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None)
        await pilot.press("S")
        await wait_until(pilot, lambda: expected in notes.messages, timeout=15)
        assert isinstance(app.screen, MainScreen) and app.rerun_state == "idle"
        refusal = next(n for n in notes.raised if expected in str(n.message))
        assert refusal.title == "Re-run refused" and refusal.severity == "error"
        assert str(refusal.message).endswith("nothing was deployed") and "Traceback" not in str(refusal.message)
    assert calls == []


async def test_quitting_mid_run_cancels_and_still_cleans_up(clock, tmp_path: Path) -> None:  # noqa: ANN001
    """The real `execute`: its watch waits (timeout 600 s) on a service that stays updating; quitting
    ends the watch at the next poll and `execute`'s cleanup runs."""
    updating = next(o for o in run_observations("C")
                    if o.service and o.service.update_status and o.service.update_status.state == "updating")
    workdir, cleaned = tmp_path / "work", tmp_path / "cleaned"
    workdir.mkdir()
    plan = UpgradePlan(
        stack=STACK, service="app", order="stop-first", backend="stack", recipe=tmp_path / "no-recipe",
        base_ref=None, base_sha=None, head_ref="HEAD", head_sha=HEAD_SHA, compose_chain=("compose.yml",),
        env_file=None, workdir=workdir, env={"STACK_NAME": STACK},
        steps=(Step(WATCH, "watch until a verdict (timeout 600 s)", side="head"),
               Step(CLEANUP, "remove the head worktree", ("touch", str(cleaned)))),
    )

    class Planned(StackRerunner):
        def plan(self, stack: str, service: str, order: str) -> UpgradePlan:
            return plan

    rerunner = Planned(FakeSwarm([updating]), Config(), None, timeout=600.0)
    app = _app(clock, tmp_path, rerunner)
    async with app.run_test(size=(120, 36)) as pilot:
        await _open(pilot, "S")
        await pilot.press(*STACK, "enter")
        await wait_until(pilot, lambda: app.main.view.verdict.kind == v.IN_PROGRESS, timeout=10)
        assert app.rerun_state == "running" and not cleaned.exists()
        await pilot.press("q")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a bound far below the watch's 600 s: the run did not wait for its timeout
    while not (cleaned.exists() and not workdir.exists()):  # the cleanup step ran, then `execute`'s finally
        assert loop.time() < deadline, "the re-run did not end and clean up after quitting"
        await asyncio.sleep(0.05)
