"""Timeline + observation + recipe state + expectation -> one Verdict (DESIGN.md section 5).

The expected head comes from the user (`--expect-head`) or the recipe's HEAD, never from what
is deployed: a genuinely wrong stamp must stay red.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ccci_tui.domain import failure as fl
from ccci_tui.domain import verdict as v
from ccci_tui.domain.evidence import APP_SERVICE, Case, short_sha, verdict_evidence
from ccci_tui.domain.model import (
    ACTIVE_STATES,
    COMPLETED,
    PAUSED,
    ROLE_ATTEMPTED,
    ROLE_CURRENT,
    ROLE_OTHER,
    ROLLBACK_COMPLETED,
    ROLLBACK_PAUSED,
    ROLLBACK_STARTED,
    UPDATING,
    Observation,
    RecipeState,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdatePolicy,
    mark_attempted,
)
from ccci_tui.domain.stamp import Stamp, parse_stamp, stamp_key
from ccci_tui.domain.timeline import Timeline
from ccci_tui.domain.verdict import Evidence, Expectation, Verdict

# How long an update may run before "no progress" is reported: this many times the time one batch
# needs (monitor + start time), plus a fixed allowance for image pulls and scheduling.
_STUCK_FACTOR = 3.0
_STUCK_ALLOWANCE_S = 60.0
PENDING_GRACE_S = 20.0  # under stop-first a head task may wait this long for the old one's resources


def carries_stamp(svc: ServiceState, stamp: Stamp) -> bool:
    """Whether the wrong-commit rule applies to `svc`: abra stamps only the stack's `app` service, so
    another service without the chaos-version label has nothing to check (a wrong or malformed stamp
    on it is still checked)."""
    return svc.name.removeprefix(f"{svc.stack}_") == APP_SERVICE or stamp.raw is not None


def _make(ctx: Case, kind: str, summary: str, next_step: str, extra: list[Evidence] | None = None,
          task: TaskState | None = None) -> Verdict:
    return Verdict(kind, summary, verdict_evidence(ctx, extra or [], task), next_step, task.id if task else None)


def _failure_sentence(ctx: Case, f: fl.Failure, who: str) -> str:
    monitor = ((ctx.attempted or ctx.svc.spec).update_config or UpdatePolicy()).monitor_s
    when = ""
    if f.running_for_s is not None and f.running_for_s <= monitor + 0.5:
        when = f" {f.running_for_s:.0f} s into the {monitor:g} s monitor"
    elif f.running_for_s is None and f.cause in ("unhealthy", "oom", "exit", "early-exit"):
        when = " before it became healthy" if f.cause != "unhealthy" else ""
    return f"the {who} task {f.phrase}{when} under {ctx.order}"


def _rollback(ctx: Case) -> Verdict:
    task = fl.failing_task(Observation(ctx.now, ctx.svc, ctx.tasks), ctx.tasks, ctx.svc.update_status, ctx.timeline)
    healthcheck = bool((ctx.attempted or ctx.svc.spec).healthcheck)
    extra: list[Evidence] = []
    if ctx.attempted is None:
        others = [t for t in ctx.tasks if t.role in (ROLE_OTHER, ROLE_ATTEMPTED)]
        if others:
            extra.append(Evidence(v.SRC_TASK, f"{len(others)} task(s) ran a spec the service no longer has: "
                                  "the attempted update, erased by the rollback"))
        intent = parse_stamp(ctx.expect.intent) if ctx.expect.intent else None
        if ctx.stamped and intent is not None and intent.ok and ctx.expected and intent.matches(ctx.expected):
            extra.append(Evidence(v.SRC_APP_ENV, "the app env says the head was deployed; the service says otherwise"))
    if task is None:
        summary = "Swarm rolled the upgrade back; the failed task is no longer in the task history"
        return _make(ctx, v.SWARM_ROLLBACK, summary, _rerun_hint(ctx), extra)
    f = fl.explain(task, ctx.timeline, healthcheck)
    summary = f"Swarm rolled the upgrade back: {_failure_sentence(ctx, f, 'head')}"
    return _make(ctx, v.SWARM_ROLLBACK, summary, _rerun_hint(ctx, f), extra, task)


def _manual_rollback(ctx: Case) -> bool:
    """A manual rollback swaps Spec and PreviousSpec; an automatic one clears PreviousSpec (fact 2)."""
    if ctx.svc.previous_spec is not None:
        return True
    if ctx.timeline is None:
        return False
    last = next((e for e in reversed(ctx.timeline.statuses) if e.state == ROLLBACK_STARTED), None)
    return last is not None and "manually requested" in last.text


def _rerun_hint(ctx: Case, f: fl.Failure | None = None) -> str:
    if ctx.order == "start-first":
        return (f"Re-run with stop-first (ccci-tui rerun {ctx.stack} --order stop-first): if it converges, old and "
                "new tasks could not co-reside; set update_config.order: stop-first or give the service more room.")
    cause = f" ({f.phrase})" if f else ""
    return f"The head itself fails{cause}: read its logs (docker service logs) and fix the recipe."


def _stuck_budget(spec: SpecSummary) -> float:
    p = spec.update_config or UpdatePolicy()
    batches = max(1, (spec.replicas or 1) // max(1, p.parallelism or (spec.replicas or 1)))
    return _STUCK_FACTOR * batches * (p.monitor_s + p.delay_s + (spec.monitor_hint_s or 0.0)) + _STUCK_ALLOWANCE_S


def _wrong_commit(ctx: Case) -> Verdict | None:
    """checkout-drift or stamp-mismatch when the deployed (or attempted) stamp is not the expected head."""
    if not ctx.stamped or not ctx.expected or ctx.stamp.matches(ctx.expected):
        return None
    if ctx.recipe is not None and not parse_stamp(ctx.recipe.head_sha[:8]).matches(ctx.expected):
        summary = (f"The recipe checkout is at {short_sha(ctx.recipe.head_sha)}, not the expected head "
                   f"{short_sha(ctx.expected)}: the deploy used what was checked out ({ctx.stamp})")
        ref = ctx.expect.head_ref or short_sha(ctx.expected)
        return _make(ctx, v.CHECKOUT_DRIFT, summary, f"git -C {ctx.recipe.path} checkout {ref}, then redeploy.")
    extra = _erased_rollback(ctx)
    if not ctx.stamp.ok:
        summary = (f"The service carries no usable chaos-version stamp ({ctx.stamp.problem}); "
                   f"expected {short_sha(ctx.expected)}")
    elif extra:
        summary = (f"The deployed stamp {ctx.stamp} is not the expected head {short_sha(ctx.expected)}: an earlier "
                   "update was rolled back, and a later deploy of this commit erased the rollback's status")
    else:
        summary = (f"The deployed stamp {ctx.stamp} is not the expected head {short_sha(ctx.expected)} and no rollback "
                   "explains it: a different commit was deployed")
    return _make(ctx, v.STAMP_MISMATCH, summary,
                 "Redeploy the expected head and check what the deploy step checks out.", extra)


def _erased_rollback(ctx: Case) -> list[Evidence]:
    """A rollback the timeline saw whose UpdateStatus a later deploy has cleared."""
    if ctx.timeline is None or ctx.svc.update_status is not None:
        return []
    rolled = [e for e in ctx.timeline.statuses if e.state == ROLLBACK_COMPLETED]
    if not rolled:
        return []
    att = ctx.attempted
    what = f" of {parse_stamp(att.label(stamp_key(ctx.stack)))}" if att is not None else ""
    return [Evidence(v.SRC_TIMELINE, f"an earlier update{what} was rolled back at {rolled[-1].at:%H:%M:%S}; "
                     "a later deploy cleared that UpdateStatus")]


def _settled(ctx: Case, after: datetime | None, no_update: bool) -> Verdict:
    """completed, or no status: crashes, wrong commit, converged or still starting."""
    pending = [t for t in ctx.tasks if fl.waits_for_node(t)]
    crashed = fl.current_failures(ctx.tasks, after)
    up = fl.running(ctx.tasks)
    if crashed and after is not None:
        t = crashed[-1]
        f = fl.explain(t, ctx.timeline, bool(ctx.svc.spec.healthcheck))
        monitor = (ctx.svc.spec.update_config or UpdatePolicy()).monitor_s
        summary = (f"The update completed, then an up-to-date task {f.phrase}: the head fails after the "
                   f"{monitor:g} s monitor, so Swarm never rolled back")
        return _make(ctx, v.CRASH_AFTER_MONITOR, summary,
                     "Read the task logs; a longer monitor would have caught it and rolled back.", task=t)
    wrong = _wrong_commit(ctx)
    if wrong is not None:
        return wrong
    scaled_to_zero = ctx.svc.spec.mode == "replicated" and ctx.svc.spec.replicas == 0
    if not up and not scaled_to_zero:
        if pending and ctx.waited(pending[0]) >= PENDING_GRACE_S:
            t = pending[0]
            return _make(ctx, v.UPDATE_STUCK, f"No task can be placed: task {t.id[:12]} is pending with {t.err!r}",
                         "Free resources, lower the reservation, or change the placement constraints.", task=t)
        if crashed:
            t = crashed[-1]
            f = fl.explain(t, ctx.timeline, bool(ctx.svc.spec.healthcheck))
            return _make(ctx, v.CRASH_AFTER_MONITOR, f"No up-to-date task is running: the latest {f.phrase}",
                         "Read the task logs (docker service logs).", task=t)
        return _make(ctx, v.IN_PROGRESS, "The deployed spec is right but its tasks are not running yet",
                     "Wait for the tasks to start (ccci-tui wait).", task=pending[0] if pending else None)
    if not ctx.stamped:
        stamp_note = f"{ctx.svc.name} carries no stamp (abra stamps {ctx.stack}_{APP_SERVICE})"
    elif ctx.expected:
        stamp_note = f"stamp {ctx.stamp} matches the expected head"
    else:
        why = ctx.expect.head_missing
        stamp_note = f"no expected head given ({why})" if why else "no expected head given"
    running = ("the service is scaled to 0 replicas, so no task runs" if scaled_to_zero
               else f"{len(up)} up-to-date task(s) are running")
    if no_update:
        return _make(ctx, v.NO_ROLLING_UPDATE,
                     "The redeploy changed no task (labels, replicas or config only), so there was no rolling "
                     f"update; {stamp_note} and {running}", "Nothing to do.")
    if not ctx.stamped:
        done = (f"Nothing to do for this service; check the stack's version on its {APP_SERVICE} service: "
                f"ccci-tui diagnose {ctx.stack}.")
    else:
        done = "Nothing to do." if ctx.expected else "Pass --expect-head or --recipe to check the stamp."
    return _make(ctx, v.CONVERGED, f"Converged: {stamp_note} and {running}", done)


def _restored_not_running(ctx: Case, since: datetime | None) -> Verdict:
    """rollback_completed with no restored task running. Swarm completes a rollback that finds no dirty slot at
    once, while the restored task is still pending or starting (reference run F): that is not yet a verdict.
    A restored task that failed, or one no node takes past the grace, is."""
    failed = fl.current_failures(ctx.tasks, since, ended=True)
    starting = [t for t in ctx.tasks if t.role == ROLE_CURRENT and not t.terminal and t.desired in ("ready", "running")]
    stuck = [t for t in starting if fl.waits_for_node(t) and ctx.waited(t) >= PENDING_GRACE_S]
    if starting and not failed and not stuck:
        t = starting[0]
        return _make(ctx, v.IN_PROGRESS, f"Swarm rolled the upgrade back; the restored version is starting (task "
                     f"{t.id[:12]} is {t.state})", "Wait for it to run (ccci-tui wait).", task=t)
    cause, task = "", None
    if failed:
        task = failed[-1]
        cause = f": its task {task.id[:12]} {fl.explain(task, ctx.timeline, bool(ctx.svc.spec.healthcheck)).phrase}"
    elif stuck:
        task = stuck[0]
        cause = f": its task {task.id[:12]} is pending with {task.err!r}"
    return _make(ctx, v.ROLLBACK_UNHEALTHY,
                 f"Swarm rolled the upgrade back, but the restored version is not running either{cause}",
                 "Both versions fail: read the task logs; the base may need the same fix.", task=task)


def diagnose(
    obs: Observation,
    recipe: RecipeState | None = None,
    expect: Expectation | None = None,
    timeline: Timeline | None = None,
) -> Verdict:
    """The verdict for one service observation."""
    expect = expect or Expectation()
    svc = obs.service
    if svc is None:
        return Verdict(v.SERVICE_GONE, f"The service is gone: {obs.error or 'no such service'}",
                       (Evidence(v.SRC_STATUS, obs.error or "service not found"),),
                       "Check the stack name (ccci-tui with no arguments lists stacks).")
    expected, expected_from = expect.head, f"--expect-head {expect.head_ref or ''}".strip()
    if not expected and recipe is not None:
        expected, expected_from = recipe.head_sha, f"recipe HEAD in {recipe.path}"
    attempted = timeline.attempted_spec if timeline is not None else None
    stamp = parse_stamp(svc.spec.label(stamp_key(svc.stack)))
    ctx = Case(
        svc=svc, stack=svc.stack, stamp=stamp,
        expected=expected, expected_from=expected_from, recipe=recipe, expect=expect, timeline=timeline,
        tasks=mark_attempted(obs, attempted).tasks, now=expect.now or obs.at, attempted=attempted,
        stamped=carries_stamp(svc, stamp), nodes=obs.nodes,
    )
    return _by_status(ctx)


def _by_status(ctx: Case) -> Verdict:
    svc, st, expect = ctx.svc, ctx.svc.update_status, ctx.expect
    if expect.marker_taken:
        if expect.marker_index is not None and svc.index <= expect.marker_index:
            return _make(ctx, v.STALE_STATUS,
                         f"Nothing was written to the service since the marker (Version.Index {svc.index} <= "
                         f"{expect.marker_index}): what it shows belongs to an earlier deploy",
                         "Check that the deploy targets this stack and service.")
        if st is not None and expect.marker_started_at is not None and st.started_at == expect.marker_started_at:
            return _make(ctx, v.STALE_STATUS,
                         f"The UpdateStatus {st.state} started before the redeploy: it belongs to an earlier deploy",
                         "Check that the deploy targets this stack and service.")
    if st is None:
        prev = svc.previous_spec
        no_update = prev is not None and prev.template_fp == svc.spec.template_fp
        return _settled(ctx, None, no_update)
    if st.state in ACTIVE_STATES:
        wrong = _wrong_commit(ctx) if st.state == UPDATING else None
        if wrong is not None:
            return wrong
        pending = [t for t in ctx.tasks if fl.waits_for_node(t)]
        if pending and (ctx.order == "start-first" or ctx.waited(pending[0]) >= PENDING_GRACE_S):
            # stop-first frees the old task's resources only as it stops: a head pending a moment is placed next
            t = pending[0]
            return _make(ctx, v.UPDATE_STUCK, f"The update cannot proceed: task {t.id[:12]} is pending with "
                         f"{t.err!r}" + (" (start-first needs room for old and new tasks at once)"
                                         if ctx.order == "start-first" else ""),
                         "Free resources, lower the reservation, or use stop-first.", task=t)
        elapsed = (ctx.now - st.started_at).total_seconds() if st.started_at else 0.0
        budget = _stuck_budget(ctx.attempted or svc.spec)
        if elapsed > budget:
            return _make(ctx, v.UPDATE_STUCK, f"{st.state} for {elapsed:.0f} s, far beyond the {budget:.0f} s "
                         "that monitor plus start time allow", "Inspect the tasks: something is not progressing.")
        if st.state == ROLLBACK_STARTED:
            rb = _rollback(ctx)
            return Verdict(v.IN_PROGRESS, rb.summary.replace("rolled the upgrade back", "is rolling the upgrade back"),
                           rb.evidence, "Wait for the rollback to finish (ccci-tui wait).", rb.task_id)
        return _make(ctx, v.IN_PROGRESS, f"Swarm is updating the service ({elapsed:.0f} s so far)",
                     "Wait for the update to finish (ccci-tui wait).")
    if st.state in (PAUSED, ROLLBACK_PAUSED):
        task = fl.failing_task(Observation(ctx.now, svc, ctx.tasks), ctx.tasks, st, ctx.timeline,
                               roles=(ROLE_CURRENT, ROLE_ATTEMPTED, ROLE_OTHER))
        what = "rollback" if st.state == ROLLBACK_PAUSED else "update"
        name = f" on task {task.id[:12]}" if task else ""
        cause = ""
        if task is not None:
            cause = f": it {fl.explain(task, ctx.timeline, bool(svc.spec.healthcheck)).phrase}"
        return _make(ctx, v.UPDATE_PAUSED, f"Swarm paused the {what}{name}{cause}",
                     f"Fix the cause, then `docker service update --rollback` or redeploy {ctx.stack}.", task=task)
    if st.state == ROLLBACK_COMPLETED:
        if not fl.running(ctx.tasks):
            return _restored_not_running(ctx, st.started_at)
        if _manual_rollback(ctx):
            note = Evidence(v.SRC_STATUS, "a manually requested rollback (docker service rollback) swapped Spec "
                            "and PreviousSpec: Swarm did not decide this")
            settled = _settled(ctx, st.completed_at, False)
            return replace(settled, evidence=(note, *settled.evidence))
        if ctx.expected and ctx.stamp.matches(ctx.expected):
            return _settled(ctx, st.completed_at, False)
        return _rollback(ctx)
    if st.state == COMPLETED:
        return _settled(ctx, st.completed_at, False)
    return _make(ctx, v.IN_PROGRESS, f"Unknown update state {st.state!r}", "Wait and look again.")
