"""The re-run behind --write as the TUI drives it: plan (changes nothing), then carry the plan out.

`StackRerunner` is the real one (`upgrade.plan.make_plan`, then `upgrade.run.execute`); tests inject
stand-ins with the same two methods through `create_app(rerun=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ccci_tui.domain.model import Event, Observation
from ccci_tui.domain.verdict import Verdict

if TYPE_CHECKING:
    from ccci_tui.upgrade.plan import UpgradePlan
    from ccci_tui.upgrade.run import StepReport

OnStep = Callable[["StepReport"], None]
OnObservation = Callable[[Observation, Verdict], None]
OnEvent = Callable[[Event], None]
Execute = Callable[..., Verdict]  # upgrade.run.execute's signature
CANCELLED = "re-run cancelled: ccci-tui is quitting"


class RerunCancelled(Exception):
    """Raised from the step callback once the app cancels the run; `execute` cleans up on the way out."""


class Rerunner(Protocol):
    """Makes a plan (reads only) and carries it out (the one thing that changes the swarm)."""

    def plan(self, stack: str, service: str, order: str) -> UpgradePlan:
        """The plan for `order`; raises PlanError (or any exception) with a message naming the bad input."""
        ...

    def run(self, plan: UpgradePlan, on_step: OnStep, on_observation: OnObservation, on_event: OnEvent,
            cancelled: Callable[[], bool]) -> Verdict:
        """Carry the plan out; returns the head's verdict; raises with a message when a step fails."""
        ...


class CancellableSource:
    """The swarm source as the re-run's watcher sees it: once cancelled, a read says the service is gone.

    The watcher waits for a terminal verdict (up to its timeout) and takes no cancel signal, so a quit
    during the watch would otherwise hold the app's exit for minutes. "Gone" is terminal: the watch
    returns within one poll and `execute` cleans up. The app drops everything the run reports after
    the cancel, so this read reaches neither the screen nor a recording.
    """

    def __init__(self, source: Any, cancelled: Callable[[], bool]) -> None:
        self._source = source
        self._cancelled = cancelled

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def observe(self, stack: str, service: str = "app", *args: Any, **kwargs: Any) -> Observation:
        if self._cancelled():
            return Observation(at=datetime.now(UTC), service=None, error=CANCELLED)
        return self._source.observe(stack, service, *args, **kwargs)  # type: ignore[no-any-return]


class StackRerunner:
    """`make_plan` for the watched stack, then `execute` through a cancellable source."""

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
            cancelled: Callable[[], bool]) -> Verdict:
        from ccci_tui.upgrade.run import execute

        run = self._execute or execute
        return run(plan, CancellableSource(self.source, cancelled), timeout=self.timeout, on_step=on_step,
                   on_observation=on_observation, on_event=on_event)
