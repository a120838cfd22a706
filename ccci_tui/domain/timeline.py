"""Merge observations and engine events into one ordered, de-duplicated, bounded timeline."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from ccci_tui.domain.model import (
    ROLLBACK_STARTED,
    UPDATING,
    Event,
    Observation,
    ServiceState,
    SpecSummary,
    TaskState,
    describe_spec_change,
    mark_attempted,
    same_spec,
    spec_brief,
)
from ccci_tui.domain.timeline_entries import (
    ERROR,
    EVENT,
    GONE,
    SPEC,
    SPEC_FIRST,
    SPEC_ROLLBACK,
    SPEC_WRITE,
    STATUS,
    TASK,
    Entry,
    Timeline,
    _Fact,
    _insert,
    _remember,
    _same_write,
    _status_text,
    _status_time,
    _swap,
    _task_head,
)

__all__ = [
    "ERROR", "EVENT", "GONE", "SPEC", "SPEC_FIRST", "SPEC_ROLLBACK", "SPEC_WRITE", "STATUS", "TASK", "Entry",
    "Timeline", "TimelineBuilder", "build_timeline",
]

# UpdateStatus de-duplication: one entry per (state, write). A service event pins its write
# exactly (its time is the service's UpdatedAt); a poll that first shows a state pins it to
# (previous poll's UpdatedAt, its own UpdatedAt]. An event matches any known write of the same
# state whose window holds its time; a poll matches only event-made ones (polls are diffed against
# the previous poll already). The first source makes the entry; a poll confirming an event's entry
# adds its Message in place. The slack (timeline_entries._SLACK) absorbs float rounding of
# `timeNano`; two writes of one state are always far more than 1 ms apart. Other repeats: tasks are
# diffed on state, desired state, err and exit code; oom once per container; health on change;
# replayed events once.
_FACTS_KEPT = 64
_EVENTS_KEPT = 1024
_FAILED = frozenset({"failed", "rejected"})


class TimelineBuilder:
    """Folds observations and events into a timeline; each add_* costs O(what changed)."""

    def __init__(self, maxlen: int = 5000) -> None:
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._statuses: deque[Entry] = deque(maxlen=maxlen)
        self._first_failure: Entry | None = None
        self._facts: deque[_Fact] = deque(maxlen=_FACTS_KEPT)
        self._latest: _Fact | None = None
        self._poll_view: tuple[str, datetime | None] | None = None
        self._service: ServiceState | None = None
        self._present: bool | None = None
        self._tasks: dict[str, TaskState] = {}
        self._error: str | None = None
        self._attempted: SpecSummary | None = None
        self._attempted_index: int | None = None
        self._attempt_key: object = None
        self._seen: deque[tuple[str, str, datetime]] = deque(maxlen=_EVENTS_KEPT)
        self._seen_set: set[tuple[str, str, datetime]] = set()
        self._oom: OrderedDict[str, str] = OrderedDict()
        self._health: OrderedDict[str, str] = OrderedDict()

    # ---- public -------------------------------------------------------------------------

    def add_observation(self, obs: Observation) -> list[Entry]:
        """Fold one read in; returns the entries it added (unchanged polls add none)."""
        if obs.error is not None:
            if obs.error == self._error:
                return []
            self._error = obs.error
            return self._add([Entry(obs.at, ERROR, f"read failed: {obs.error}")])
        self._error = None
        svc = obs.service
        if svc is None:
            if self._present is not True:
                self._present = False
                return []
            self._present = False
            return self._add([Entry(obs.at, GONE, "service gone: no longer listed")])
        if self._service is not None and self._service.id != svc.id:
            self._service, self._poll_view = None, None  # recreated: a new service from scratch
        self._present = True
        self._capture_attempt(svc)
        obs = self.classify(obs)
        new, failures = self._service_entries(obs, svc)
        task_entries, task_failures = self._task_entries(obs)
        self._service = svc
        return self._add(new + task_entries, failures + task_failures)

    def add_event(self, ev: Event) -> list[Entry]:
        """Fold one engine event in; returns the entries it added (repeats add none)."""
        key = (ev.type + ":" + ev.action, ev.container_id or ev.task_id or ev.service, ev.at)
        if key in self._seen_set:
            return []
        if ev.service and self._service is not None and ev.service != self._service.name:
            return []  # a stack-wide event stream also carries the stack's other services
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(key)
        self._seen_set.add(key)
        if ev.type == "service":
            return self._service_event(ev)
        if ev.type == "container":
            return self._container_event(ev)
        return []

    def snapshot(self) -> Timeline:
        """The timeline as it stands."""
        return Timeline(
            entries=tuple(self._entries),
            attempted_spec=self._attempted,
            attempted_index=self._attempted_index,
            statuses=tuple(self._statuses),
            first_failure=self._first_failure,
        )

    def classify(self, obs: Observation) -> Observation:
        """`obs` with the attempted spec's tasks (role "other" at the source) marked "attempted"."""
        return mark_attempted(obs, self._attempted)

    # ---- bookkeeping --------------------------------------------------------------------

    def _add(self, entries: list[Entry], failures: Iterable[Entry] = ()) -> list[Entry]:
        entries.sort(key=lambda e: e.at)
        for entry in entries:
            _insert(self._entries, entry)
            if entry.kind == STATUS:
                _insert(self._statuses, entry)
        for entry in failures:
            if self._first_failure is None or entry.at < self._first_failure.at:
                self._first_failure = entry
        return entries

    def _capture_attempt(self, svc: ServiceState) -> None:
        st = svc.update_status
        if st is None:
            return
        key = st.started_at if st.started_at is not None else svc.index
        if st.state == UPDATING and key != self._attempt_key:
            self._attempted, self._attempted_index, self._attempt_key = svc.spec, svc.index, key
        elif (
            st.rollback
            and svc.previous_spec is None
            and key != self._attempt_key
            and self._service is not None
            and not same_spec(self._service.spec, svc.spec)
        ):
            # `updating` was missed; the spec seen just before the automatic rollback is the one
            # the rollback erased from the service.
            prev = self._service
            self._attempted, self._attempted_index, self._attempt_key = prev.spec, prev.index, key

    def _fact(
        self, state: str, lo: datetime | None, hi: datetime, at: datetime,
        old: str | None, message: str, polled: bool,
    ) -> Entry | None:
        """Record a status write unless already known; returns its new entry, if any."""
        for f in reversed(self._facts):
            if f.state == state and (not polled or not f.polled) and _same_write(f, lo, hi):
                if polled and message and not f.message and f.entry is not None:
                    # the event came first; the poll adds the message (e.g. the failed task)
                    richer = replace(f.entry, text=_status_text(f.old, state, message))
                    _swap(self._entries, f.entry, richer)
                    _swap(self._statuses, f.entry, richer)
                    f.entry, f.message = richer, message
                return None
        entry = None
        if old is not None or state:
            entry = Entry(at, STATUS, _status_text(old, state, message), state=state)
        fact = _Fact(state, lo, hi, polled, old, message, entry)
        self._facts.append(fact)
        if self._latest is None or hi >= self._latest.hi:
            self._latest = fact
        return entry

    def _find_fact(self, state: str, lo: datetime | None, hi: datetime) -> _Fact | None:
        for f in reversed(self._facts):
            if f.state == state and _same_write(f, lo, hi):
                return f
        return None

    # ---- observations -------------------------------------------------------------------

    def _service_entries(
        self, obs: Observation, svc: ServiceState
    ) -> tuple[list[Entry], list[Entry]]:
        prev = self._service
        st = svc.update_status
        view = (st.state, st.started_at) if st is not None else ("", None)
        before, self._poll_view = self._poll_view, view
        lo = prev.updated_at if prev is not None else None
        hi = svc.updated_at or obs.at
        statuses: list[Entry] = []
        fresh = False
        if before != view:
            old = before[0] if before is not None else None
            # `updating` is only written over an absent status: a new one means a spec write
            # cleared whatever was there, even when no poll saw the gap.
            fresh = view[0] == UPDATING and before is not None
            start = _status_time(st, svc, obs.at)
            if fresh and old:
                e = self._fact("", lo, hi, start, old, "", polled=True)
                statuses += [e] if e else []
                old = ""
            e = self._fact(view[0], lo, hi, start, old, st.message if st else "", polled=True)
            statuses += [e] if e else []
        if prev is None:
            text = f"spec first seen: index {svc.index}, {spec_brief(svc.spec)}"
            return [Entry(svc.updated_at or obs.at, SPEC, text, state=SPEC_FIRST)] + statuses, []
        if svc.index == prev.index:
            return statuses, []
        changed = not same_spec(prev.spec, svc.spec)
        prev_changed = not same_spec(prev.previous_spec, svc.previous_spec)
        what = describe_spec_change(prev.spec, svc.spec)
        if st is not None and st.rollback and before != view and (changed or prev_changed):
            rb = self._find_fact(ROLLBACK_STARTED, lo, hi)
            at = rb.hi if rb is not None and not rb.polled else _status_time(st, svc, obs.at)
            if svc.previous_spec is None:
                text = f"spec rolled back: {what}; PreviousSpec cleared"
            else:
                text = f"spec rolled back (manual): {what}; Spec and PreviousSpec swapped"
            return statuses + [Entry(at, SPEC, text, state=SPEC_ROLLBACK)], []
        if changed or prev_changed or fresh or (view[0] == "" and before != view):
            at = st.started_at if fresh and st is not None and st.started_at else hi
            return [Entry(at, SPEC, f"spec write: {what}", state=SPEC_WRITE)] + statuses, []
        return statuses, []

    def _task_entries(self, obs: Observation) -> tuple[list[Entry], list[Entry]]:
        out: list[Entry] = []
        failures: list[Entry] = []
        seen: dict[str, TaskState] = {}
        for t in obs.tasks:
            seen[t.id] = t
            old = self._tasks.get(t.id)
            if old is None:
                parts = [f"appeared: {t.state} (desired {t.desired})"]
                at = t.updated_at or t.created_at or obs.at
            else:
                parts = []
                if t.state != old.state:
                    why = f" ({t.message})" if t.message else ""
                    parts.append(f"{old.state} -> {t.state}{why}")
                if t.desired != old.desired:
                    parts.append(f"desired {old.desired} -> {t.desired}")
                if t.err != old.err and t.err is None:
                    parts.append("err cleared")
                if not parts and t.err == old.err and t.exit_code == old.exit_code:
                    continue
                # Status.Timestamp moves with state and err; a desired-state change alone has no
                # engine time in the task, so it gets the poll's.
                moved = t.updated_at is not None and t.updated_at != old.updated_at
                at = t.updated_at if moved and t.updated_at is not None else obs.at
            if t.exit_code is not None and (old is None or t.exit_code != old.exit_code):
                parts.append(f"exit {t.exit_code}")
            if t.err and (old is None or t.err != old.err):
                parts.append(f"err {t.err}")
            entry = Entry(at, TASK, f"{_task_head(t)}: {', '.join(parts)}", t.id, t.state, t.role)
            out.append(entry)
            ended_badly = t.state in _FAILED and (old is None or old.state != t.state)
            new_exit = old is None or old.exit_code != t.exit_code
            bad_exit = t.exit_code not in (None, 0) and new_exit
            if ended_badly or bad_exit:
                failures.append(entry)
        self._tasks = seen
        return out, failures

    # ---- events -------------------------------------------------------------------------

    def _service_event(self, ev: Event) -> list[Entry]:
        if ev.action == "remove":
            if self._present is False:
                return []
            self._present = False
            return self._add([Entry(ev.at, GONE, "service removed")])
        new = ev.attributes.get("updatestate.new")
        if not new:
            return []  # a spec write or other write: the next poll shows what it changed
        old = ev.attributes.get("updatestate.old")
        out: list[Entry] = []
        latest = self._latest
        if old is None and latest is not None and latest.state and latest.hi < ev.at:
            # no `old` means the status was absent just before: a spec write cleared it
            e = self._fact("", ev.at, ev.at, ev.at, latest.state, "", polled=False)
            out += [e] if e else []
        e = self._fact(new, ev.at, ev.at, ev.at, old or "", "", polled=False)
        return self._add(out + ([e] if e else []))

    def _container_event(self, ev: Event) -> list[Entry]:
        task = self._find_task(ev.task_id)
        task_id = task.id if task is not None else (ev.task_id or None)
        who = f"task {task_id[:12]}" if task_id else f"container {ev.container_id[:12]}"
        cid = ev.container_id or ev.task_id
        action = ev.action
        failure = False
        if action == "oom":
            if cid in self._oom:
                return []  # the kernel reports each OOM kill several times in a burst
            _remember(self._oom, cid, action)
            text, failure = f"oom: the container of {who} hit its memory limit", True
        elif action == "die":
            text = f"container of {who} died, exit {ev.attributes.get('exitCode', '?')}"
        elif action == "kill":
            text = f"container of {who} killed, signal {ev.attributes.get('signal', '?')}"
        elif action.startswith("health_status"):
            health = action.partition(":")[2].strip()
            if self._health.get(cid) == health:
                return []
            _remember(self._health, cid, health)
            text = f"container of {who} {health}"
        else:
            return []
        role = task.role if task is not None else None
        entry = Entry(ev.at, EVENT, text, task_id, action, role)
        return self._add([entry], [entry] if failure else [])

    def _find_task(self, task_id: str) -> TaskState | None:
        if not task_id:
            return None
        task = self._tasks.get(task_id)
        if task is not None:
            return task
        # recordings and some sources shorten ids; any 12-char prefix is unique in practice
        for t in self._tasks.values():
            if t.id and (task_id.startswith(t.id) or t.id.startswith(task_id)):
                return t
        return None


def build_timeline(observations: Iterable[Observation], events: Iterable[Event] = ()) -> Timeline:
    """Replay observations and events in time order into a timeline (for recordings and tests)."""
    # events first on equal times: the engine wrote them before a poll could read the result
    items: list[tuple[datetime, int, int, Observation | Event]] = [
        (e.at, 0, i, e) for i, e in enumerate(events)
    ]
    items += [(o.at, 1, i, o) for i, o in enumerate(observations)]
    builder = TimelineBuilder()
    for *_, item in sorted(items, key=lambda k: (k[0], k[1], k[2])):
        if isinstance(item, Event):
            builder.add_event(item)
        else:
            builder.add_observation(item)
    return builder.snapshot()
