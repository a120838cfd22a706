"""TUI test fixtures: the bundled demo recording, a reference-run recording, a fixed clock."""

from __future__ import annotations

import pytest

from ccci_tui.domain.replay import Recording
from tests.tui.support import FIXED_NOW, reference_recording


@pytest.fixture(scope="session")
def demo() -> Recording:
    from ccci_tui.sources.recording import demo_path, read_recording

    return read_recording(demo_path())


@pytest.fixture
def run_c() -> Recording:
    return reference_recording("C")


@pytest.fixture
def clock():
    return lambda: FIXED_NOW
