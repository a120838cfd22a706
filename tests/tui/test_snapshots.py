"""Snapshots of every screen on the bundled demo recording, at 120x36 and 80x24 (see scenes.py)."""

from __future__ import annotations

import pytest

from ccci_tui.domain.replay import Recording
from tests.tui.scenes import SCENES, SIZES, demo_app


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCENES))
def test_screen(snap_compare, demo: Recording, name: str, size: tuple[int, int]) -> None:  # noqa: ANN001
    press, before = SCENES[name]
    assert snap_compare(demo_app(demo), press=press, terminal_size=size, run_before=before)
