"""Pilot: export, read-only refusal, the --write re-run, the command palette, the picker, safety."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import OptionList

from ccci_tui.domain.model import Observation
from ccci_tui.domain.replay import RECIPE, Record, Recording
from ccci_tui.sources.swarm import StackSummary
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.commands import COMMANDS, applies
from ccci_tui.tui.screens.main import MainScreen
from ccci_tui.tui.screens.picker import PickerScreen
from tests.tui.support import RECIPE_STATE, FakeSwarm, Notes, run_observations, screen_text, wait_until


def _replay(recording: Recording, clock, tmp_path: Path, **kw):  # noqa: ANN001, ANN003, ANN202
    return AppOptions(recording=recording, recording_label="run C", clock=clock, export_dir=tmp_path,
                      cursor_blink=False, **kw).build()


def _live(clock, tmp_path: Path, **kw):  # noqa: ANN001, ANN003, ANN202
    stacks = kw.pop("stacks", ())
    return AppOptions(source=FakeSwarm(run_observations("C"), stacks=stacks), stack="research_oom", clock=clock,
                      export_dir=tmp_path, cursor_blink=False, poll_interval=0.01, memory_interval=None, **kw).build()


async def test_export_writes_markdown_and_copies_it(run_c: Recording, clock, tmp_path: Path) -> None:  # noqa: ANN001
    app, notes = _replay(run_c, clock, tmp_path), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await app.wait_settled()
        await pilot.press("e")
        await app.wait_settled()
        files = list(tmp_path.glob("*.md"))
        assert [f.name for f in files] == ["ccci-verdict-research_oom-20261127-190000.md"]
        text = files[0].read_text()
        assert text.startswith("### ccci-tui: `swarm-rollback`")
        assert "OOM-killed" in text and "| source | evidence |" in text
        assert app.clipboard == text
        assert str(files[0]) in notes.messages


async def test_export_from_the_evidence_screen(run_c: Recording, clock, tmp_path: Path) -> None:  # noqa: ANN001
    app = _replay(run_c, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_settled()
        await pilot.press("enter", "e")
        await app.wait_settled()
        assert len(list(tmp_path.glob("*.md"))) == 1


class FakeRerunner:
    """Plans and runs nothing, but records what it was asked."""

    def __init__(self) -> None:
        self.planned: list[tuple[str, str, str]] = []
        self.ran: list[object] = []

    def plan(self, stack: str, service: str, order: str) -> object:
        self.planned.append((stack, service, order))
        raise AssertionError("a read-only app never plans a re-run")

    def run(self, plan: object, *callbacks: object) -> object:
        self.ran.append(plan)
        raise AssertionError("a read-only app never re-runs")


async def test_read_only_refuses_the_re_run(clock, tmp_path: Path) -> None:  # noqa: ANN001
    rerunner, notes = FakeRerunner(), Notes()
    app = _live(clock, tmp_path, rerun=rerunner)
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.verdict is not None)
        # the footer is rebuilt from the bindings after the screen mounts: wait for it to be drawn
        await wait_until(pilot, lambda: "e Export" in screen_text(app).splitlines()[-1], what="the footer")
        assert "Re-run" not in screen_text(app).splitlines()[-1]
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Re-run the upgrade" not in commands
        await pilot.press("R")
        await app.wait_settled()
        assert isinstance(app.screen, MainScreen)
        assert "Read-only" in notes.messages
    assert rerunner.planned == [] and rerunner.ran == []


async def test_a_recording_cannot_be_re_run_even_with_write(run_c: Recording, clock, tmp_path: Path) -> None:  # noqa: ANN001
    rerunner, notes = FakeRerunner(), Notes()
    app = _replay(run_c, clock, tmp_path, write=True, rerun=rerunner)
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await app.wait_settled()
        await pilot.press("S", "T")
        await app.wait_settled()
        assert isinstance(app.screen, MainScreen)
        assert "not a recording" in notes.messages
    assert rerunner.planned == []


async def test_every_action_is_in_the_command_palette(run_c: Recording, clock, tmp_path: Path) -> None:  # noqa: ANN001
    app = _replay(run_c, clock, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        # the one command table: every command that applies to a replay is in the palette, none that does not
        for command in COMMANDS:
            if command.title:
                assert (command.title in titles) == applies(command, replay=True, write=False), command
        assert {"Help", "Next entry", "First failure", "Show Tasks pane"} <= titles
        # and the footer shows the table's footer labels, in the table's order
        footer = [c.footer for c in COMMANDS if c.footer and applies(c, replay=True, write=False)]
        shown = list(dict.fromkeys(b.binding.description for b in app.screen.active_bindings.values()
                                   if b.binding.show and b.enabled))
        assert [d for d in shown if d in footer] == footer, shown
        await pilot.press("ctrl+p")
        await pilot.press(*"export verdict")
        await app.wait_settled()  # the palette searches in a worker of its own
        await pilot.press("enter")
        await app.wait_settled()
        assert len(list(tmp_path.glob("*.md"))) == 1


async def test_picker_filters_as_you_type_and_switches_service(clock, tmp_path: Path) -> None:  # noqa: ANN001
    stacks = (StackSummary("alpha", ("alpha_app", "alpha_db"), "ok"),
              StackSummary("beta", ("beta_app",), "rollback"),
              StackSummary("research_oom", ("research_oom_app",), "updating"))
    app = _live(clock, tmp_path, stacks=stacks)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        assert isinstance(app.screen, PickerScreen)
        await app.wait_settled()  # the stacks are listed on a thread of the picker's
        text = screen_text(app)
        assert "alpha" in text
        assert "✔ ok" in text and "✖ rollback" in text and "… updating" in text
        await pilot.press(*"db")
        await app.wait_settled()
        options = app.screen.query_one("#picker-list", OptionList)
        enabled = [o.id for o in options.options if not o.disabled]
        assert enabled == ["alpha\x00db"]
        await pilot.press("backspace", "backspace", *"zzz")
        await app.wait_settled()
        assert "0 services match" in screen_text(app)
        await pilot.press("backspace", "backspace", "backspace", *"alpha db", "enter")
        await app.wait_settled()
        assert isinstance(app.screen, MainScreen)
        assert (app.live.stack, app.live.service) == ("alpha", "db")
        await wait_until(pilot, lambda: app.main.view.stack == "alpha")


async def test_external_text_is_never_markup(run_c: Recording, clock, tmp_path: Path) -> None:  # noqa: ANN001
    recipe = replace(RECIPE_STATE, head_subject="[skip ci] fix [/] [bold red]x")
    records = []
    for r in run_c.records:
        if r.kind == RECIPE:
            r = replace(r, value=recipe)
        elif isinstance(r.value, Observation) and r.value.tasks:
            tasks = tuple(replace(t, err="[/] boom [link] DB_PASSWORD=hunter2") if t.state == "failed" else t
                          for t in r.value.tasks)
            r = replace(r, value=replace(r.value, tasks=tasks))
        records.append(r)
    app = _replay(Recording(run_c.header, tuple(records)), clock, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await app.wait_settled()
        text = screen_text(app)
        assert "[skip ci] fix [/] [bold red]x" in text
        assert "[/] boom [link] DB_PASSWORD=<redacted>" in text and "hunter2" not in text
        await pilot.press("e")
        await app.wait_settled()
        assert "hunter2" not in next(tmp_path.glob("*.md")).read_text()


async def test_no_color_is_honoured(run_c: Recording, clock, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("NO_COLOR", "1")
    app = _replay(run_c, clock, tmp_path)
    async with app.run_test(size=(120, 36)):
        await app.wait_settled()
        assert app.no_color
        # severity stays readable without colour: a glyph and the kind in capitals
        assert "✖ SWARM-ROLLBACK" in screen_text(app)


async def test_unknown_recipe_compare_says_why(run_c: Recording, clock, tmp_path: Path) -> None:  # noqa: ANN001
    app = _replay(Recording(run_c.header, tuple(r for r in run_c.records if r.kind != RECIPE)), clock, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c")
        await app.wait_settled()
        assert "carries no compose policy" in screen_text(app)
        assert "unknown: pass --recipe PATH" not in screen_text(app)  # the dialog covers the pane


def test_the_app_needs_exactly_one_source(run_c: Recording) -> None:
    import pytest

    with pytest.raises(ValueError):
        AppOptions().build()
    with pytest.raises(ValueError):
        AppOptions(recording=run_c, source=FakeSwarm([])).build()
    _ = Record  # the recording helpers build records directly


async def test_escapes_bidi_bad_bytes_and_huge_lines_show_literally(run_c: Recording, clock, tmp_path: Path) -> None:  # noqa: ANN001,E501
    hostile = "\x1b[2J\x1b]0;pwned\x07 bidi \u202egnp.exe bad \udcff " + "x" * 30000
    recipe = replace(RECIPE_STATE, head_subject=hostile)
    records = []
    for r in run_c.records:
        if r.kind == RECIPE:
            r = replace(r, value=recipe)
        elif isinstance(r.value, Observation) and r.value.tasks:
            tasks = tuple(replace(t, err=hostile) if t.state == "failed" else t for t in r.value.tasks)
            r = replace(r, value=replace(r.value, tasks=tasks))
        records.append(r)
    app = _replay(Recording(run_c.header, tuple(records)), clock, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await pilot.press("enter")  # the evidence screen shows the task error in full
        await app.wait_settled()
        text = screen_text(app)
        assert "\\x1b[2J" in text or "\\x1b" in text
        assert "\x1b" not in text and "\u202e" not in text and "\udcff" not in text
