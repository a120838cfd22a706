"""Timeline entries and the small pieces the builder keeps them with: kinds, status facts, ordered insert."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from ccci_tui.domain.model import (
    COMPLETED,
    ROLLBACK_COMPLETED,
    UPDATING,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdateStatus,
)

# within 1 ms, two sightings of one state are one engine write (see timeline.py)
_SLACK = timedelta(milliseconds=1)
_CONTAINERS_KEPT = 256

STATUS = "status"
SPEC = "spec"
# a spec entry's `state`: what the write was (a deploy, a rollback, or the first sight of the service)
SPEC_FIRST, SPEC_WRITE, SPEC_ROLLBACK = "first seen", "write", "rolled back"
TASK = "task"
EVENT = "event"
GONE = "gone"
ERROR = "error"


@dataclass(frozen=True)
class Entry:
    """One line of the timeline, at engine time when known, else at observation time."""

    at: datetime
    kind: str  # status | spec | task | event | gone | error
    text: str
    task_id: str | None = None
    # status: the new UpdateStatus.State ("" = absent); task: the task state; event: the action
    state: str | None = None
    role: str | None = None  # task: current/previous/attempted/other


@dataclass(frozen=True)
class Timeline:
    """A snapshot: entries by time, the attempted spec, the status history and the first failure."""

    entries: tuple[Entry, ...]
    attempted_spec: SpecSummary | None
    attempted_index: int | None
    statuses: tuple[Entry, ...]
    first_failure: Entry | None


@dataclass
class _Fact:
    """A status write as far as it is known: its state and the window (lo, hi] it happened in."""

    state: str
    lo: datetime | None
    hi: datetime
    polled: bool
    old: str | None
    message: str
    entry: Entry | None


def _same_write(fact: _Fact, lo: datetime | None, hi: datetime) -> bool:
    starts = [t for t in (fact.lo, lo) if t is not None]
    return not starts or max(starts) < min(fact.hi, hi) + _SLACK


def _status_text(old: str | None, new: str, message: str) -> str:
    if old is None:
        head = f"UpdateStatus {new or 'absent'} when first seen"
    else:
        head = f"UpdateStatus {old or 'absent'} -> {new or 'absent'}"
    if not new:
        return f"{head} (cleared by a spec write)"
    return f"{head}: {message}" if message else head


def _status_time(st: UpdateStatus | None, svc: ServiceState, fallback: datetime) -> datetime:
    if st is not None and st.state == UPDATING and st.started_at is not None:
        return st.started_at
    if st is not None and st.state in (COMPLETED, ROLLBACK_COMPLETED) and st.completed_at:
        return st.completed_at
    return svc.updated_at or fallback


def _task_head(t: TaskState) -> str:
    slot = f" slot {t.slot}" if t.slot is not None else ""
    return f"task {t.id[:12]}{slot} ({t.role})"


def _insert(dq: deque[Entry], entry: Entry) -> None:
    """Insert by time, after equal times; O(distance from the end): entries come nearly sorted."""
    i = len(dq)
    while i > 0 and dq[i - 1].at > entry.at:
        i -= 1
    if i == len(dq):
        dq.append(entry)  # a full deque drops its oldest entry itself
        return
    if dq.maxlen is not None and len(dq) == dq.maxlen:
        if i == 0:
            return  # older than everything kept: a bounded timeline has already let it go
        dq.popleft()
        i -= 1
    dq.insert(i, entry)


def _remember(cache: OrderedDict[str, str], key: str, value: str) -> None:
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > _CONTAINERS_KEPT:
        cache.popitem(last=False)


def _swap(dq: deque[Entry], old: Entry, new: Entry) -> None:
    for i in range(len(dq) - 1, -1, -1):
        if dq[i] is old:
            dq[i] = new
            return
