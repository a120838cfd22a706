"""`--record FILE`: the TUI writes what it watches, and the file replays to what the screen showed."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest

from ccci_tui.domain import verdict as v
from ccci_tui.domain.replay import NOTE, RECIPE, VERDICT
from ccci_tui.domain.timeline import build_timeline
from ccci_tui.domain.verdict import Expectation
from ccci_tui.sources.recording import RecordingWriter, new_header, read_recording
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.recording_tap import FeedRecorder
from ccci_tui.tui.run import add_replay_parser, add_tui_arguments, run_tui
from tests.tui.support import RECIPE_STATE, FakeSwarm, Notes, run_observations, wait_until


async def test_the_recording_replays_to_the_timeline_the_screen_showed(clock, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "tui.jsonl.gz"
    tap = FeedRecorder(RecordingWriter(path, new_header("research_oom", "app", host=None)))
    app = AppOptions(source=FakeSwarm(run_observations("C")), stack="research_oom", clock=clock,
                     cursor_blink=False, poll_interval=0.01, memory_interval=None, record=tap,
                     resolver=lambda st, sv: SimpleNamespace(recipe=RECIPE_STATE, recipe_path=None,
                                                             expect=Expectation(), app_env=None, notes=())).build()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.verdict is not None
                         and app.main.view.verdict.kind == v.SWARM_ROLLBACK, timeout=10)
        shown = [(e.kind, e.text) for e in app.main.view.timeline.entries]
    recording = read_recording(path)
    replayed = build_timeline(recording.observations(), recording.events())
    assert [(e.kind, e.text) for e in replayed.entries] == shown
    assert [r.value for r in recording.records if r.kind == RECIPE] == [RECIPE_STATE]
    assert recording.last_verdict().kind == v.SWARM_ROLLBACK
    assert [r for r in recording.records if r.kind == VERDICT][0].value.kind != v.SWARM_ROLLBACK  # as it changed
    assert [r.value for r in recording.records if r.kind == NOTE] == ["recording stopped: the TUI quit"]


async def test_switching_stacks_stops_the_recording(clock, tmp_path: Path) -> None:  # noqa: ANN001
    from ccci_tui.sources.swarm import StackSummary

    path = tmp_path / "tui.jsonl"
    tap = FeedRecorder(RecordingWriter(path, new_header("research_oom", "app", host=None)))
    stacks = (StackSummary("research_oom", ("research_oom_app",), "ok"), StackSummary("beta", ("beta_app",), "ok"))
    app = AppOptions(source=FakeSwarm(run_observations("C"), stacks=stacks), stack="research_oom", clock=clock,
                     cursor_blink=False, poll_interval=0.01, memory_interval=None, record=tap).build()
    notes = Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.observation is not None)
        await pilot.press("s")
        await app.wait_settled()  # the picker lists the stacks on a thread of its own
        await pilot.press(*"beta", "enter")
        await wait_until(pilot, lambda: app.live.stack == "beta")
        await wait_until(pilot, lambda: "holds research_oom/app only" in notes.messages)
        assert tap.writer.closed
    notes = [r.value for r in read_recording(path).records if r.kind == NOTE]
    assert notes == ["recording stopped: the TUI switched to beta/app"]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--demo", action="store_true")
    add_tui_arguments(parser)
    add_replay_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(("argv", "message"), [
    (("--record", "x.jsonl"), "--record needs --stack"),
    (("--demo", "--record", "x.jsonl"), "--record records the live swarm"),
])
def test_record_refuses_what_it_cannot_record(argv: tuple[str, ...], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("")
    monkeypatch.setenv("CCCI_TUI_CONFIG", str(tmp_path / "config.toml"))
    assert run_tui(_args(*argv)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()
