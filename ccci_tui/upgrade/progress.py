"""A re-run's progress as its runner reports it: one StepReport per step started, done or failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccci_tui.upgrade.plan import Step

START, DONE, FAILED = "start", "done", "failed"
INTERRUPTED = "interrupted"  # the run stopped between steps (an exception, a cancel): no step failed


@dataclass(frozen=True)
class StepReport:
    """Progress of one step, for a UI or the terminal."""

    index: int  # 1-based position in the plan; 0 for INTERRUPTED, which is no step of it
    step: Step
    status: str  # START, DONE, FAILED or INTERRUPTED
    detail: str = ""
