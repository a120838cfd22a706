"""Carry out an UpgradePlan step by step; temporary worktrees and files go, also on failure or Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable

from ccci_tui.domain import verdict as v
from ccci_tui.domain.model import Event, Observation
from ccci_tui.domain.verdict import Expectation, Verdict, anchored, anchored_to
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import Target
from ccci_tui.sources.watch import WatchCancelled, WatchTimeout, watch_until_terminal
from ccci_tui.upgrade.plan import CLEANUP, DEPLOY, GIT, WAIT, WATCH, WRITE, Step, UpgradePlan
from ccci_tui.upgrade.progress import DONE, FAILED, INTERRUPTED, START, StepReport

COMMAND_TIMEOUT = 180.0
_SETTLED = frozenset({v.CONVERGED, v.NO_ROLLING_UPDATE})


class RerunError(RuntimeError):
    """A step failed; the message names the step. Cleanup has run."""


class RerunCancelled(RerunError):
    """The caller set the cancel flag; the run stopped before its next step or inside the watch. Cleanup has run."""


def _before(source: SwarmSource, plan: UpgradePlan) -> Observation:
    try:
        return source.observe(plan.stack, plan.service)
    except SwarmError as exc:
        raise RerunError(f"cannot read {plan.stack}_{plan.service} before deploying: {exc}") from exc


def _run(step: Step, env: dict[str, str] | None) -> str:
    try:
        proc = subprocess.run(list(step.argv), capture_output=True, text=True, env=env,
                              timeout=COMMAND_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise RerunError(f"{step.text}: {step.argv[0]} not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise RerunError(f"{step.text}: no answer within {COMMAND_TIMEOUT:g} s") from exc
    if proc.returncode != 0:
        raise RerunError(f"{step.text} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[:500]}")
    return (proc.stdout or "").strip()


def execute(
    plan: UpgradePlan,
    source: SwarmSource,
    timeout: float = 300.0,
    on_step: Callable[[StepReport], None] | None = None,
    on_observation: Callable[[Observation, Verdict], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
) -> Verdict:
    """Run every step of `plan` in order and return the head's verdict.

    Setting `cancel` stops the run before its next step, or within a fraction of a second inside a
    watch (a running git or docker command is left to finish); the cleanup steps run either way.
    """
    report = on_step or (lambda r: None)
    before: Observation | None = None
    verdict: Verdict | None = None
    deploy_env = {**os.environ, **plan.env}
    main = [s for s in plan.steps if s.kind != CLEANUP]
    cleanup = [s for s in plan.steps if s.kind == CLEANUP]
    try:
        for i, step in enumerate(main, 1):
            if cancel is not None and cancel.is_set():
                raise RerunCancelled(f"cancelled before step {i}: {step.text}")
            report(StepReport(i, step, START))
            detail = ""
            if step.kind == GIT:
                detail = _run(step, None)
            elif step.kind == WRITE:
                assert step.path is not None
                step.path.parent.mkdir(parents=True, exist_ok=True)
                step.path.write_text(step.content)
            elif step.kind == DEPLOY:
                before = _before(source, plan)  # read before the write: the watch anchors on it
                detail = _run(step, deploy_env)
            elif step.kind in (WAIT, WATCH):
                sha = plan.head_sha if step.side == "head" else plan.base_sha
                ref = plan.head_ref if step.side == "head" else plan.base_ref
                expect = Expectation(head=sha, head_ref=f"{step.side} {ref}")
                # anchored to the read before the deploy; a plan without one watches unanchored
                expect = anchored_to(expect, before) if before else anchored(expect, None, None, None)
                target = Target(plan.stack, plan.service, None, plan.recipe, None, expect)
                try:
                    verdict = watch_until_terminal(source, target, expect, timeout, on_observation=on_observation,
                                                   on_event=on_event, cancel=cancel)
                except WatchTimeout as exc:
                    raise RerunError(f"{step.text}: {exc}") from exc
                except WatchCancelled as exc:
                    raise RerunCancelled(f"{step.text}: cancelled") from exc
                detail = f"{verdict.kind}: {verdict.summary}"
                if step.kind == WAIT and verdict.kind not in _SETTLED:
                    report(StepReport(i, step, FAILED, detail))
                    raise RerunError(f"the base did not converge, so the head was not deployed: {verdict.summary}")
            report(StepReport(i, step, DONE, detail))
    except BaseException as exc:
        if on_step is not None and not isinstance(exc, RerunError):
            report(StepReport(0, Step(CLEANUP, "interrupted"), INTERRUPTED, type(exc).__name__))
        raise
    finally:
        for step in cleanup:
            with contextlib.suppress(RerunError):
                _run(step, None)
        shutil.rmtree(plan.workdir, ignore_errors=True)
        with contextlib.suppress(Exception):
            subprocess.run(["git", "-C", str(plan.recipe), "worktree", "prune"], capture_output=True, timeout=30,
                           check=False)
    assert verdict is not None
    return verdict
