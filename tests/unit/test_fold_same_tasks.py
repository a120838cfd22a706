"""The fold hands the screen the task objects it handed before when a read repeats them: a source builds
new tasks on every read, and the screen redraws a row only when its task is another object (or unequal)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ccci_tui.domain.fold import Fold
from ccci_tui.domain.model import (
    ROLE_ATTEMPTED,
    ROLE_OTHER,
    Observation,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdateStatus,
)

T0 = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
SPEC = SpecSummary(labels={"v": "2"}, image="img", template_fp="f-new")


def _task(tid: str, slot: int, state: str = "running") -> TaskState:
    return TaskState(id=tid, slot=slot, node_id="n1", desired="running", state=state, spec_fp="f-new",
                     role=ROLE_OTHER, created_at=T0, updated_at=T0)


def _read(step: int, tasks: list[TaskState]) -> Observation:
    """A read as a source makes it: every object new, even where nothing changed."""
    svc = ServiceState(id="s", name="st_app", stack="st", index=10, spec=SPEC,
                       update_status=UpdateStatus("updating", started_at=T0))
    return Observation(at=T0 + timedelta(seconds=step), service=svc, tasks=tuple(replace(t) for t in tasks))


def test_equal_tasks_are_the_objects_handed_out_before_and_changed_ones_are_not() -> None:
    fold = Fold()
    tasks = [_task("a" * 25, 1), _task("b" * 25, 2)]
    fold.observation(_read(0, tasks))
    first = fold.classified()
    assert first is not None
    assert [t.role for t in first.tasks] == [ROLE_ATTEMPTED, ROLE_ATTEMPTED]  # marked: new objects each time

    tasks[1] = replace(tasks[1], state="failed", updated_at=T0 + timedelta(seconds=1))
    fold.observation(_read(1, tasks))
    second = fold.classified()
    assert second is not None and second is not first
    assert second.tasks[0] is first.tasks[0]
    assert second.tasks[1] is not first.tasks[1]
    assert (second.tasks[1].state, second.tasks[1].role) == ("failed", ROLE_ATTEMPTED)
    assert second.at == T0 + timedelta(seconds=1)


def test_a_new_task_and_a_gone_one_are_told_as_they_are() -> None:
    fold = Fold()
    fold.observation(_read(0, [_task("a" * 25, 1)]))
    first = fold.classified()
    fold.observation(_read(1, [_task("c" * 25, 1)]))
    second = fold.classified()
    assert first is not None and second is not None
    assert [t.id for t in second.tasks] == ["c" * 25]
    assert second.tasks[0] is not first.tasks[0]
