"""The app's re-run (only with --write): one key per order, a plan made off the main thread, a typed
confirmation, then a thread worker whose steps, reads and verdict stream into the live view.

The workers post messages and feed the LiveFeed (thread-safe); only the `on_*` handlers here touch
the screen. Quitting sets the run's cancel flag: `execute` stops before its next step, or inside the
watch within a fraction of a second, and its `finally` removes the worktrees.
"""

from __future__ import annotations

import contextlib
import threading
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from ccci_tui.tui.commands import ORDER_KEYS

# The upgrade package, the confirmation screen and the live feed load with the first re-run: the app
# mixes this in, and a replay or a read-only session never needs them.
if TYPE_CHECKING:
    from textual.app import App

    from ccci_tui.domain.verdict import Verdict
    from ccci_tui.tui.live_feed import LiveFeed
    from ccci_tui.tui.rerunner import Rerunner
    from ccci_tui.upgrade.plan import UpgradePlan
    from ccci_tui.upgrade.progress import StepReport

IDLE, PLANNING, CONFIRMING, RUNNING = "idle", "planning", "confirming", "running"
REFUSED = "Read-only: re-running the upgrade changes the swarm. Start ccci-tui with --write to allow it."
_WATCHING = ("wait", "watch")  # upgrade.plan step kinds whose detail is a verdict


class RerunPlanned(Message):
    """From the planning thread: the plan to confirm."""

    def __init__(self, plan: UpgradePlan) -> None:
        super().__init__()
        self.plan = plan


class RerunRefused(Message):
    """From the planning thread: the plan could not be made; nothing was deployed."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title, self.text = title, text


class RerunStepped(Message):
    """From the run thread: one step started, finished or failed."""

    def __init__(self, plan: UpgradePlan, report: StepReport) -> None:
        super().__init__()
        self.plan, self.report = plan, report


class RerunEnded(Message):
    """From the run thread: the head's verdict, or the error that stopped the run (cleanup has run)."""

    def __init__(self, plan: UpgradePlan, verdict: Verdict | None, error: str | None) -> None:
        super().__init__()
        self.plan, self.verdict, self.error = plan, verdict, error


def step_line(report: StepReport) -> str:
    """A step as one timeline entry: `3. deploy head 7ae7b0f7 ✓`."""
    from ccci_tui.upgrade.progress import DONE, INTERRUPTED

    if report.status == INTERRUPTED:
        return f"interrupted ({report.detail})"
    line = f"{report.index}. {report.step.text} {'✓' if report.status == DONE else '✗'}"
    if report.status == DONE and report.step.kind in _WATCHING and report.detail:
        line += f" {report.detail.split(':', 1)[0]}"
    elif report.status != DONE and report.detail:
        line += f" {report.detail[:300]}"
    return line


if TYPE_CHECKING:  # the mixin is checked as the App it is mixed into
    _AppBase = App[int]
else:
    _AppBase = object


class RerunFlow(_AppBase):
    """Mixed into CcciApp: the re-run actions, workers and handlers (found by name: a plain mixin has no
    `@on` registry)."""

    write: bool
    rerun_fn: Rerunner | None
    rerun_state: str = IDLE
    rerun_cancel: threading.Event | None = None
    live: LiveFeed | None
    replay: Any

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rerun_order":
            return self.write and self.replay is None
        return super().check_action(action, parameters)

    def action_rerun_order(self, order: str) -> None:
        self.action_rerun(order)

    def _post(self, message: Message) -> None:
        with contextlib.suppress(RuntimeError):  # the app has exited meanwhile
            self.post_message(message)

    # ---- keys ---------------------------------------------------------------------------

    def action_rerun(self, order: str | None = None) -> None:
        if not self.write:
            self.notify(REFUSED, title="Refused", severity="error", markup=False)
            return
        if order is None:
            keys = ", ".join(f"{key} {each}" for key, each in ORDER_KEYS)
            self.notify(f"One key per update order: {keys}.", title="Re-run", markup=False)
            return
        blocked = self._rerun_blocked()
        if blocked:
            self.notify(blocked, severity="warning", markup=False)
            return
        assert self.live is not None and self.rerun_fn is not None
        self.rerun_state = PLANNING
        self.notify(f"Planning the {order} re-run of {self.live.stack}: nothing runs before you confirm.",
                    markup=False)
        self._plan_rerun(self.rerun_fn, self.live.stack, self.live.service, order)

    def _rerun_blocked(self) -> str | None:
        if self.replay is not None or self.live is None:
            return "A re-run needs a live stack, not a recording."
        if self.rerun_fn is None:
            return "No recipe known to re-run from: start with --recipe PATH."
        if self.rerun_state != IDLE:
            return f"A re-run is {self.rerun_state} already: one at a time."
        return None

    # ---- plan (thread) ------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="rerun-plan")
    def _plan_rerun(self, rerunner: Rerunner, stack: str, service: str, order: str) -> None:
        from ccci_tui.upgrade.plan import PlanError

        try:
            plan = rerunner.plan(stack, service, order)
        except PlanError as exc:
            self._post(RerunRefused("Re-run refused", f"{exc}; nothing was deployed"))
            return
        except Exception as exc:  # noqa: BLE001 - any failure to plan is a message, never a traceback
            self._post(RerunRefused("Re-run could not be planned",
                                    f"{type(exc).__name__}: {exc}; nothing was deployed"))
            return
        if not get_current_worker().is_cancelled:
            self._post(RerunPlanned(plan))

    def on_rerun_refused(self, message: RerunRefused) -> None:
        self.rerun_state = IDLE
        self.notify(message.text, title=message.title, severity="error", markup=False, timeout=15)

    def on_rerun_planned(self, message: RerunPlanned) -> None:
        from ccci_tui.tui.screens.rerun import ConfirmRerunScreen

        plan, live = message.plan, self.live
        if live is None or (live.stack, live.service) != (plan.stack, plan.service):
            self.rerun_state = IDLE
            self.notify("The watched stack changed while planning: nothing was deployed.", markup=False)
            return
        self.rerun_state = CONFIRMING
        self.push_screen(ConfirmRerunScreen(plan), partial(self._rerun_confirmed, plan))

    def _rerun_confirmed(self, plan: UpgradePlan, go: bool | None) -> None:
        live, rerunner = self.live, self.rerun_fn
        if not go or live is None or rerunner is None:
            self.rerun_state = IDLE
            self.notify("Cancelled: nothing was deployed.", markup=False)
            return
        self.rerun_state = RUNNING
        base = f"base {plan.base_ref} ({plan.base_sha[:8]})" if plan.base_sha else "no base (head only)"
        live.rerun_note(plan.stack, plan.service,
                        f"started: {plan.order}, {base}, head {plan.head_ref} ({plan.head_sha[:8]})")
        self.notify(f"Re-running {plan.stack} with {plan.order}: each step shows in the timeline.",
                    title="Re-run", markup=False)
        self.rerun_cancel = threading.Event()
        self._run_rerun(rerunner, plan, live, self.rerun_cancel)

    # ---- run (thread) -------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="rerun")
    def _run_rerun(self, rerunner: Rerunner, plan: UpgradePlan, feed: LiveFeed, cancel: threading.Event) -> None:
        from ccci_tui.tui.rerunner import RerunCancelled

        stack, service = plan.stack, plan.service
        # after a quit nothing the run reports reaches the screen or the recording (which has closed)

        def on_step(report: StepReport) -> None:
            if not cancel.is_set():
                self._post(RerunStepped(plan, report))

        def on_observation(obs: Any, verdict: Verdict) -> None:
            if not cancel.is_set():
                feed.rerun_observed(stack, service, obs, verdict)

        def on_event(ev: Any) -> None:
            if not cancel.is_set():
                feed.rerun_event(stack, service, ev)

        try:
            verdict = rerunner.run(plan, on_step, on_observation, on_event, cancel)
        except RerunCancelled:
            return
        except Exception as exc:  # noqa: BLE001 - a failed step is shown; `execute` has cleaned up
            if not cancel.is_set():
                self._post(RerunEnded(plan, None, str(exc)))
            return
        if not cancel.is_set():
            self._post(RerunEnded(plan, verdict, None))

    def on_rerun_stepped(self, message: RerunStepped) -> None:
        from ccci_tui.upgrade.progress import DONE, START

        report, plan = message.report, message.plan
        if report.status != START and self.live is not None:
            self.live.rerun_note(plan.stack, plan.service, step_line(report), failed=report.status != DONE)

    def on_rerun_ended(self, message: RerunEnded) -> None:
        plan, verdict = message.plan, message.verdict
        self.rerun_state = IDLE
        if self.live is not None:
            if verdict is not None:
                self.live.rerun_note(plan.stack, plan.service, f"ended: {verdict.kind}",
                                     failed=verdict.severity == "error")
            else:
                self.live.rerun_note(plan.stack, plan.service, f"failed: {message.error}", failed=True)
            self.live.rerun_ended(plan.stack, plan.service, verdict)
        if verdict is not None:
            self.notify(f"{verdict.kind}: {verdict.summary}", title=f"Re-run with {plan.order} finished",
                        severity="error" if verdict.severity == "error" else "information", markup=False,
                        timeout=15)
        else:
            self.notify(f"{message.error}. The temporary worktrees were removed.", title="Re-run failed",
                        severity="error", markup=False, timeout=15)

    def stop_rerun(self) -> None:
        """On quit: cancel the run (its cleanup still runs) and say so in the timeline and the recording."""
        if self.rerun_state == RUNNING and self.live is not None:
            self.live.rerun_note(self.live.stack, self.live.service,
                                 "interrupted: ccci-tui quit; the temporary worktrees are removed", failed=True)
        if self.rerun_cancel is not None:
            self.rerun_cancel.set()
        self.workers.cancel_group(self, "rerun")
        self.workers.cancel_group(self, "rerun-plan")
