"""Recordings for the TUI tests, built from the real reference runs (tests/fixtures/swarm-lab)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccci_tui.domain.model import Event, Observation, RecipeState, TagInfo
from ccci_tui.domain.replay import EVENT, OBSERVATION, RECIPE, Header, Record, Recording
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
