"""The re-run behind --write as the TUI drives it: plan (changes nothing), then carry the plan out.

`StackRerunner` is the real one (`upgrade.plan.make_plan`, then `upgrade.run.execute`); tests inject
stand-ins with the same two methods through `AppOptions(rerun=...)`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ccci_tui.domain.model import Event, Observation
from ccci_tui.domain.verdict import Verdict
from ccci_tui.upgrade.run import RerunCancelled

if TYPE_CHECKING:
    from ccci_tui.upgrade.plan import UpgradePlan
    from ccci_tui.upgrade.progress import StepReport

OnStep = Callable[["StepReport"], None]
OnObservation = Callable[[Observation, Verdict], None]
OnEvent = Callable[[Event], None]
Execute = Callable[..., Verdict]  # upgrade.run.execute's signature

__all__ = ["RerunCancelled", "Rerunner", "StackRerunner"]


class Rerunner(Protocol):
    """Makes a plan (reads only) and carries it out (the one thing that changes the swarm)."""

    def plan(self, stack: str, service: str, order: str) -> UpgradePlan:
        """The plan for `order`; raises PlanError (or any exception) with a message naming the bad input."""
        ...

    def run(self, plan: UpgradePlan, on_step: OnStep, on_observation: OnObservation, on_event: OnEvent,
            cancel: threading.Event) -> Verdict:
        """Carry the plan out; returns the head's verdict; raises with a message when a step fails, and
        RerunCancelled soon after `cancel` is set (cleanup done)."""
        ...


class StackRerunner:
    """`make_plan` for the watched stack, then `execute` with the app's cancel flag."""

    def __init__(self, source: Any, config: Any, recipe: str | None, timeout: float = 300.0,
                 execute: Execute | None = None) -> None:
        self.source, self.config, self.recipe, self.timeout = source, config, recipe, timeout
        self._execute = execute

    def plan(self, stack: str, service: str, order: str) -> UpgradePlan:
        from ccci_tui.upgrade.plan import locate, make_plan

        app_env, recipe = locate(stack, self.recipe)
        return make_plan(stack, order, recipe, self.source, self.config, app_env=app_env, service=service,
                         timeout=self.timeout)

    def run(self, plan: UpgradePlan, on_step: OnStep, on_observation: OnObservation, on_event: OnEvent,
            cancel: threading.Event) -> Verdict:
        from ccci_tui.upgrade.run import execute

        run = self._execute or execute
        return run(plan, self.source, timeout=self.timeout, on_step=on_step, on_observation=on_observation,
                   on_event=on_event, cancel=cancel)
