"""TUI test fixtures: the bundled demo recording, a reference-run recording, a fixed clock."""

from __future__ import annotations

import pytest

from ccci_tui.domain.replay import Recording
from tests.tui.support import FIXED_NOW, reference_recording


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Pilot and snapshot tests wait on paints; beside the parallel live tests on 2 cores they
    # flaked, so they run in the serial phase (`make test`)
    here = str(__import__("pathlib").Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.serial)


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
