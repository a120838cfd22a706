"""`run_tui` builds the app with the cyclic collector off, freezes what the build made, and runs the app
with the collector on again; an argument error leaves the collector as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from ccci_tui.cli import main
from ccci_tui.tui import run as tui_run
from ccci_tui.tui.app import CcciApp


@pytest.fixture
def collector() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.unfreeze()  # what the test froze stays collectable for the rest of the session
    gc.enable()


def test_the_demo_is_built_without_collections_and_runs_with_them(collector: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    build = tui_run._recording_app

    def building(*args: Any) -> Any:
        seen["building"] = gc.isenabled()
        return build(*args)

    def run(self: CcciApp) -> None:  # the app as the CLI runs it, without a terminal
        seen["running"], seen["frozen"] = gc.isenabled(), gc.get_freeze_count()

    monkeypatch.setattr(tui_run, "_recording_app", building)
    monkeypatch.setattr(CcciApp, "run", run)
    assert main(["--demo"]) == 0
    assert seen["building"] is False
    assert seen["running"] is True and seen["frozen"] > 0
    assert gc.isenabled()


def test_an_argument_error_leaves_the_collector_on_and_nothing_frozen(collector: None,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    frozen = gc.get_freeze_count()
    assert main(["--demo", "--record", "x.jsonl"]) == 2
    assert "--record records the live swarm" in capsys.readouterr().err
    assert gc.isenabled() and gc.get_freeze_count() == frozen
