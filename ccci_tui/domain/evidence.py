"""A verdict's evidence lines: the stamps, UpdateStatus and update policy, the recipe and expected head,
and for a task its state with its memory and placement."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ccci_tui.domain import failure as fl
from ccci_tui.domain import verdict as v
from ccci_tui.domain.memory import fmt_bytes, memory_facts, node_facts
from ccci_tui.domain.model import (
    ROLE_ATTEMPTED,
    ROLE_CURRENT,
    ROLE_PREVIOUS,
    ROLLBACK_COMPLETED,
    NodeContext,
    RecipeState,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdatePolicy,
)
from ccci_tui.domain.placement import co_residence, unplaced_lines
from ccci_tui.domain.stamp import Stamp, parse_stamp, stamp_key, version_label
from ccci_tui.domain.timeline import Timeline
from ccci_tui.domain.verdict import Evidence, Expectation

APP_SERVICE = "app"  # the service abra's chaos deploy stamps (DESIGN.md, vocabulary: stamp)


@dataclass(frozen=True)
class Case:
    """One service at one moment as `diagnose` weighs it: its read, stamp, expectation and timeline."""

    svc: ServiceState
    stack: str
    stamp: Stamp
    expected: str | None
    expected_from: str
    recipe: RecipeState | None
    expect: Expectation
    timeline: Timeline | None
    tasks: tuple[TaskState, ...]
    now: datetime
    attempted: SpecSummary | None
    stamped: bool  # the stamp rules apply: see `diagnose.carries_stamp`
    nodes: tuple[NodeContext, ...] = ()

    @property
    def order(self) -> str:
        """The update order in force: the attempted spec's, else the service's (the engine's default)."""
        policy = (self.attempted or self.svc.spec).update_config
        return policy.order if policy else "stop-first"

    def waited(self, task: TaskState) -> float:
        """Seconds since `task` was created (0 when that is not known)."""
        return (self.now - task.created_at).total_seconds() if task.created_at is not None else 0.0


def short_sha(sha: str | None) -> str:
    return sha[:8] if sha else "?"


def verdict_evidence(ctx: Case, extra: list[Evidence], task: TaskState | None) -> tuple[Evidence, ...]:
    """`task`'s line and its memory lines, then `extra`, then what the service, recipe and expectation say."""
    lines = [*extra, *_service_lines(ctx)]
    if task is not None:
        lines[0:0] = [_task_line(task), *_memory_lines(ctx, task)]
    return tuple(lines)


def _no_stamp_note(ctx: Case) -> str:
    return (f"{ctx.svc.name} carries no chaos-version stamp: abra stamps the {APP_SERVICE} service only, "
            f"so the stack's version is checked on {ctx.stack}_{APP_SERVICE}")


def _names(ctx: Case, stamp: Stamp) -> str:
    """What a stamp points to: tags, the expected head, the recipe HEAD."""
    if not stamp.ok or stamp.sha is None:
        return stamp.problem or ""
    names = []
    if ctx.recipe is not None:
        names += [f"tag {t}" for t in ctx.recipe.tags_at(stamp.sha)]
        if stamp.matches(ctx.recipe.head_sha):
            names.append("recipe HEAD")
    if ctx.expected and stamp.matches(ctx.expected):
        names.append("the expected head")
    return ", ".join(names) if names else "no tag, not the expected head"


def _stamp_line(ctx: Case, where: str, stamp: Stamp) -> Evidence:
    return Evidence(v.SRC_LABEL, f"{where} chaos-version {stamp} ({_names(ctx, stamp)})")


def _policy(p: UpdatePolicy | None) -> str:
    if p is None:
        return "unset (engine defaults: stop-first, failure_action pause, monitor 5s)"
    return f"order {p.order}, failure_action {p.failure_action}, monitor {p.monitor_s:g}s"


def _service_lines(ctx: Case) -> list[Evidence]:
    svc, lines = ctx.svc, []
    lines.append(_stamp_line(ctx, "Spec", ctx.stamp) if ctx.stamped else Evidence(v.SRC_LABEL, _no_stamp_note(ctx)))
    version = version_label(svc.spec.labels, ctx.stack)
    if version:
        lines.append(Evidence(v.SRC_LABEL, f"Spec version label {version}"))
    if svc.previous_spec is not None:
        prev = parse_stamp(svc.previous_spec.label(stamp_key(ctx.stack)))
        if ctx.stamped or prev.raw is not None:
            lines.append(_stamp_line(ctx, "PreviousSpec", prev))
    elif svc.update_status is not None and svc.update_status.state == ROLLBACK_COMPLETED:
        lines.append(Evidence(v.SRC_SPEC, "PreviousSpec is gone: an automatic rollback erases it"))
    if ctx.attempted is not None and ctx.attempted.template_fp != svc.spec.template_fp:
        lines.append(_stamp_line(ctx, "attempted spec (seen while updating)", parse_stamp(
            ctx.attempted.label(stamp_key(ctx.stack)))))
    st = svc.update_status
    if st is None:
        absent = "UpdateStatus absent (cleared by the last spec write; no rolling update since)"
        lines.append(Evidence(v.SRC_STATUS, absent))
    else:
        started = st.started_at.strftime("%H:%M:%S") if st.started_at else "?"
        lines.append(Evidence(v.SRC_STATUS, f"UpdateStatus {st.state} (started {started} UTC): {st.message}"))
    lines.append(Evidence(v.SRC_SPEC, f"update_config {_policy((ctx.attempted or svc.spec).update_config)}"))
    if ctx.recipe is not None:
        r = ctx.recipe
        dirty = f", {len(r.untracked)} untracked and {len(r.modified)} modified files" if r.dirty else ", clean"
        described = r.describe or "no tags"
        head = f"recipe HEAD {short_sha(r.head_sha)} {r.head_subject!r}"
        lines.append(Evidence(v.SRC_GIT, f"{head} ({described}){dirty}"))
    if ctx.expected:
        lines.append(Evidence(v.SRC_GIT, f"expected head {short_sha(ctx.expected)} (from {ctx.expected_from})"))
    if ctx.expect.intent:
        lines.append(Evidence(v.SRC_APP_ENV, f"app env records {ctx.expect.intent} as the deployed version"))
    return lines


def _task_line(t: TaskState) -> Evidence:
    bits = [f"task {t.id[:12]} slot {t.slot} ({t.role} spec): {t.state}, desired {t.desired}"]
    if t.exit_code is not None:
        bits.append(f"exit {t.exit_code}")
    if t.oom_killed:
        bits.append("OOMKilled")
    if t.err:
        bits.append(f"err {t.err!r}")
    return Evidence(v.SRC_TASK, ", ".join(bits))


def _memory_lines(ctx: Case, task: TaskState) -> list[Evidence]:
    """For a task that died of memory or waits for a node: its memory facts and where it ran against the old
    task (start-first), its node's memory with what the tasks there limit, reserve and use; for a task no
    node could take, why each node could not."""
    starved = fl.waits_for_node(task)
    oom = fl.oom_seen(task, ctx.timeline)
    if not (oom or task.exit_code == 137 or starved):
        return []
    ran = {ROLE_ATTEMPTED: ctx.attempted, ROLE_CURRENT: ctx.svc.spec, ROLE_PREVIOUS: ctx.svc.previous_spec}
    spec = ran.get(task.role)
    # the OOM event counts as the flag, and the limit of the spec the task ran where the task has none
    task = replace(task, oom_killed=True if oom else task.oom_killed,
                   memory_limit=task.memory_limit or (spec.memory_limit if spec is not None else None))
    if starved:  # it never ran: what it asks for, and why each node said no
        wants = spec.memory_reservation if spec is not None else None
        lines = [Evidence(v.SRC_SPEC, f"memory: the task asks for a reservation of {fmt_bytes(wants)}" if wants
                          else "memory: the task sets no memory reservation")]
        lines += [Evidence(v.SRC_NODE, line) for line in unplaced_lines(
            ctx.nodes, wants, spec.constraints if spec is not None else ())]
        return lines
    lines = [Evidence(v.SRC_TASK, f"memory: {fact}") for fact in memory_facts(task, ctx.now)]
    if ctx.order == "start-first":
        old = [t for t in ctx.tasks if t.id != task.id and t.role in (ROLE_CURRENT, ROLE_PREVIOUS)
               and t.desired == "running"]
        where = co_residence(task, old, {n.id: n.hostname for n in ctx.nodes if n.hostname})
        if where:
            lines.append(Evidence(v.SRC_NODE, where))
    nodes = tuple(n for n in ctx.nodes if n.id == task.node_id)
    lines += [Evidence(v.SRC_NODE, fact.strip()) for n in nodes for fact in node_facts(n, ctx.svc.name)]
    if not nodes and task.node_id:
        lines.append(Evidence(v.SRC_NODE, f"node {task.node or task.node_id[:12]}: its memory was not read"))
    return lines
