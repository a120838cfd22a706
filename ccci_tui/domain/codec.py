"""Model dataclasses to JSON-able trees and back, exactly; tree and object deltas.

Datetimes become RFC 3339 strings (`Z` for UTC, microseconds kept), tuples become lists and come
back as tuples, fields equal to their dataclass default are left out. A recording stores these
trees (docs/recording-format.md); nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ccci_tui.domain.compose import (
    ComposePolicy,
    Field,
    Healthcheck,
    ServicePolicy,
    UpdateConfigPolicy,
)
from ccci_tui.domain.compose_ports import Port
from ccci_tui.domain.model import (
    Event,
    NodeContext,
    NodeTask,
    Observation,
    RecipeState,
    ServiceState,
    SpecSummary,
    TagInfo,
    TaskState,
    UpdatePolicy,
    UpdateStatus,
)
from ccci_tui.domain.replay import DeployMarker, Header, RerunStep
from ccci_tui.domain.verdict import Evidence, Verdict

Tree = dict[str, Any]
_MISSING = dataclasses.MISSING
_intern = sys.intern


class CodecError(ValueError):
    """A stored value does not decode; the message names the type and the field."""


# ---- times ---------------------------------------------------------------------------------


def encode_time(dt: datetime) -> str:
    """RFC 3339 with microseconds; `Z` for UTC."""
    if dt.utcoffset() is not None and not dt.utcoffset():
        return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return dt.isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """The datetime `encode_time` wrote; CodecError for anything without a UTC offset."""
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"not an RFC 3339 time: {text!r}") from exc
    tz = dt.tzinfo
    if tz is UTC:  # `Z` reads back as UTC itself
        return dt
    if tz is None or dt.utcoffset() is None:
        raise CodecError(f"time without a UTC offset: {text!r}")
    return dt.replace(tzinfo=UTC) if not dt.utcoffset() else dt


@lru_cache(maxsize=4096)
def decode_time(text: str) -> datetime:
    """`parse_time`, cached: a service's and its tasks' times repeat from read to read."""
    return parse_time(text)


# ---- dataclass tables ------------------------------------------------------------------------

# Per class, the fields that need more than JSON's own types: a nested class, a time, a tuple of
# a nested class, or a mapping of a nested class. Everything else is stored as it is.
_TIME = "time"
_Kind = str | type | tuple[str, type]

_SPECIAL: dict[type, dict[str, _Kind]] = {
    UpdatePolicy: {},
    SpecSummary: {"update_config": UpdatePolicy, "rollback_config": UpdatePolicy},
    UpdateStatus: {"started_at": _TIME, "completed_at": _TIME},
    TaskState: {"created_at": _TIME, "updated_at": _TIME, "memory_at": _TIME},
    NodeTask: {},
    NodeContext: {"tasks": ("tuple", NodeTask), "at": _TIME},
    ServiceState: {
        "spec": SpecSummary, "previous_spec": SpecSummary, "update_status": UpdateStatus,
        "created_at": _TIME, "updated_at": _TIME,
    },
    Event: {"at": _TIME},
    TagInfo: {},
    RecipeState: {"tags": ("tuple", TagInfo)},
    Evidence: {},
    Verdict: {"evidence": ("tuple", Evidence)},
    Field: {},
    UpdateConfigPolicy: {name: Field for name in (
        "parallelism", "delay_s", "failure_action", "monitor_s", "max_failure_ratio", "order")},
    Healthcheck: {name: Field for name in ("test", "interval_s", "timeout_s", "retries", "start_period_s")},
    Port: {},
    ServicePolicy: {
        "update_config": UpdateConfigPolicy, "rollback_config": UpdateConfigPolicy,
        "healthcheck": Healthcheck, "ports": ("tuple", Port),
    },
    ComposePolicy: {"services": ("map", ServicePolicy)},
    DeployMarker: {"started_at": _TIME},
    Header: {"created": _TIME, "marker": DeployMarker},
    RerunStep: {},
}
_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {
    cls: tuple(
        (f.name, f.default if f.default is not _MISSING else
         (f.default_factory() if f.default_factory is not _MISSING else _MISSING))
        for f in dataclasses.fields(cls)
    )
    for cls in _SPECIAL
}


def _plain_out(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain_out(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain_out(v) for k, v in value.items()}
    return value


def _plain_in(value: Any) -> Any:
    """A stored plain value as the model holds it: lists become tuples, text is interned.

    A recording repeats the same ids, names and labels in record after record; interned, a loaded
    recording holds each once instead of once per record.
    """
    if type(value) is str:
        return _intern(value)
    if isinstance(value, list):
        return tuple(_plain_in(v) for v in value)  # every sequence in the model is a tuple
    if isinstance(value, dict):
        return {_intern(k) if type(k) is str else k: _intern(v) if type(v) is str else _plain_in(v)
                for k, v in value.items()}
    return value


def _same(value: Any, default: Any) -> bool:
    return default is not _MISSING and type(value) is type(default) and value == default


def encode(obj: Any, skip: tuple[str, ...] = ()) -> Tree:
    """A model dataclass as a tree; fields equal to their default (and those in `skip`) left out."""
    cls = type(obj)
    special = _SPECIAL.get(cls)
    if special is None:
        raise CodecError(f"no codec for {cls.__name__}")
    out: Tree = {}
    for name, default in _FIELDS[cls]:
        if name in skip:
            continue
        value = getattr(obj, name)
        if _same(value, default):
            continue
        kind = special.get(name)
        if value is None or kind is None:
            out[name] = _plain_out(value)
        elif kind == _TIME:
            out[name] = encode_time(value)
        elif isinstance(kind, tuple):
            container, _ = kind
            if container == "tuple":
                out[name] = [encode(v) for v in value]
            else:
                out[name] = {str(k): encode(v) for k, v in value.items()}
        else:
            out[name] = encode(value)
    return out


# Per class: for each field, how to decode it (0 as stored, 1 time, 2 nested, 3 tuple of, 4 map
# of) and the nested class; and the fields without a default. Decoding walks only the stored
# fields, so a tree that left most defaults out is quick to read back.
_PLAN: dict[type, dict[str, tuple[int, Any]]] = {}
_REQUIRED: dict[type, frozenset[str]] = {}
for _cls, _special in _SPECIAL.items():
    _plan: dict[str, tuple[int, Any]] = {}
    for _name, _ in _FIELDS[_cls]:
        _kind = _special.get(_name)
        if _kind is None:
            _plan[_name] = (0, None)
        elif _kind == _TIME:
            _plan[_name] = (1, None)
        elif isinstance(_kind, tuple):
            _plan[_name] = (3 if _kind[0] == "tuple" else 4, _kind[1])
        else:
            _plan[_name] = (2, _kind)
    _PLAN[_cls] = _plan
    _REQUIRED[_cls] = frozenset(n for n, d in _FIELDS[_cls] if d is _MISSING)


def _decode_fields(cls: type, plan: dict[str, tuple[int, Any]], tree: Any) -> dict[str, Any]:
    """The stored fields of a `cls` tree, decoded; fields this version does not know are ignored."""
    if not isinstance(tree, dict):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(tree).__name__}")
    out: dict[str, Any] = {}
    name, value = "", None
    try:
        for name, value in tree.items():
            step = plan.get(name)
            if step is None:
                continue  # a field a later version added: ignored, as the format promises
            how = step[0]
            if how == 0 or value is None:
                if type(value) is str:
                    out[name] = _intern(value)
                else:
                    out[name] = _plain_in(value) if isinstance(value, list | dict) else value
            elif how == 1:
                out[name] = decode_time(value)
            elif how == 2:
                out[name] = decode(step[1], value)
            elif how == 3:
                out[name] = tuple(decode(step[1], v) for v in value)
            else:
                out[name] = {k: decode(step[1], v) for k, v in value.items()}
    except CodecError as exc:
        raise CodecError(f"{cls.__name__}.{name}: {exc}") from exc
    except (AttributeError, TypeError) as exc:
        raise CodecError(f"{cls.__name__}.{name}: unexpected value {value!r:.60}") from exc
    return out


def decode(cls: type, tree: Any, extra: Mapping[str, Any] | None = None) -> Any:
    """The `cls` instance `encode` made `tree` from; `extra` supplies fields stored elsewhere."""
    plan = _PLAN.get(cls)
    if plan is None:
        raise CodecError(f"no codec for {cls.__name__}")
    kwargs = _decode_fields(cls, plan, tree)
    if extra:
        kwargs = {**extra, **kwargs}
    if not kwargs.keys() >= _REQUIRED[cls]:
        raise CodecError(f"{cls.__name__}: field {min(_REQUIRED[cls] - kwargs.keys())!r} is missing")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise CodecError(f"{cls.__name__}: {exc}") from exc


# ---- observations ------------------------------------------------------------------------------
# An observation's tree keys its tasks by id (so a delta names the tasks that changed) and keeps
# their order apart; its time is the record's.


def encode_observation(obs: Observation) -> Tree:
    """The observation's tree without its time: service, tasks by id, task order, error."""
    tree: Tree = {
        "service": encode(obs.service) if obs.service is not None else None,
        "tasks": {t.id: encode(t) for t in obs.tasks},
        "order": [t.id for t in obs.tasks],
    }
    if obs.error is not None:
        tree["error"] = obs.error
    if obs.nodes:
        tree["nodes"] = {n.id: encode(n) for n in obs.nodes}
    return tree


def decode_task(tree: Any) -> TaskState:
    """One task tree."""
    return decode(TaskState, tree)  # type: ignore[no-any-return]


def decode_service(tree: Any) -> ServiceState | None:
    """A service tree, or None for a service that was gone."""
    if tree is None:
        return None
    return decode(ServiceState, tree)  # type: ignore[no-any-return]


def decode_observation(tree: Any, at: datetime) -> Observation:
    """The observation `encode_observation` made `tree` from, at `at`."""
    if not isinstance(tree, dict) or "tasks" not in tree or "order" not in tree:
        raise CodecError("Observation: expected an object with service, tasks and order")
    tasks = tree["tasks"]
    try:
        ordered = tuple(decode_task(tasks[i]) for i in tree["order"])
    except KeyError as exc:
        raise CodecError(f"Observation: task order names an unknown task {exc}") from exc
    nodes = tree.get("nodes") or {}
    if not isinstance(nodes, dict):
        raise CodecError("Observation: nodes must be an object")
    return Observation(at=at, service=decode_service(tree.get("service")), tasks=ordered,
                       error=tree.get("error"), nodes=tuple(decode(NodeContext, n) for n in nodes.values()))


# ---- deltas --------------------------------------------------------------------------------
# A delta of two objects: {"=": {key: new value}, "~": {key: delta of a nested object}, "-": [key]}.
# Nested objects present on both sides get a nested delta; anything else is replaced whole.
# An empty delta means "unchanged".

SET, NESTED, REMOVED = "=", "~", "-"
_OPS = frozenset((SET, NESTED, REMOVED))


def diff_tree(old: Tree, new: Tree) -> Tree:
    """The delta that turns `old` into `new`."""
    sets: Tree = {}
    nested: Tree = {}
    for key, value in new.items():
        if key not in old:
            sets[key] = value
            continue
        before = old[key]
        if before == value:
            continue
        if isinstance(before, dict) and isinstance(value, dict):
            nested[key] = diff_tree(before, value)
        else:
            sets[key] = value
    removed = [key for key in old if key not in new]
    delta: Tree = {}
    if sets:
        delta[SET] = sets
    if nested:
        delta[NESTED] = nested
    if removed:
        delta[REMOVED] = removed
    return delta


def apply_delta(old: Tree, delta: Tree) -> Tree:
    """`old` with `delta` applied; a new tree sharing every unchanged branch with `old`."""
    if not delta:
        return old
    if not isinstance(delta, dict) or not _OPS.issuperset(delta):
        raise CodecError(f"not a delta: {delta!r:.80}")
    out = dict(old)
    for key in delta.get(REMOVED, ()):
        out.pop(key, None)
    for key, sub in delta.get(NESTED, {}).items():
        base = out.get(key)
        if not isinstance(base, dict):
            raise CodecError(f"delta changes {key!r} inside a value that is not an object")
        out[key] = apply_delta(base, sub)
    out.update(delta.get(SET, {}))
    return out


_DEFAULTS: dict[type, dict[str, Any]] = {cls: dict(f) for cls, f in _FIELDS.items()}


def patch(cls: type, obj: Any, delta: Any) -> Any:
    """`obj` (a `cls`) with an object delta applied, equal to decoding the patched tree.

    Only the changed fields are decoded; unchanged ones (nested objects included) are shared.
    """
    if not delta:
        return obj
    plan = _PLAN.get(cls)
    if plan is None:
        raise CodecError(f"no codec for {cls.__name__}")
    if not isinstance(delta, dict) or not _OPS.issuperset(delta):
        raise CodecError(f"{cls.__name__}: not a delta: {delta!r:.80}")
    changes: dict[str, Any] = {}
    if SET in delta:
        changes.update(_decode_fields(cls, plan, delta[SET]))
    for name in delta.get(REMOVED, ()):
        default = _DEFAULTS[cls].get(name, _MISSING)
        if default is _MISSING:
            raise CodecError(f"{cls.__name__}: a delta cannot remove the required field {name!r}")
        changes[name] = default
    for name, sub in delta.get(NESTED, {}).items():
        step, current = plan.get(name), getattr(obj, name, None)
        if step is None:
            continue
        if step[0] == 2 and current is not None:
            changes[name] = patch(step[1], current, sub)
        elif step[0] == 0 and isinstance(current, Mapping):
            changes[name] = _plain_in(apply_delta(_plain_out(current), sub))
        else:
            raise CodecError(f"{cls.__name__}: a delta changes {name!r} inside a value that is not an object")
    # frozen dataclasses without __post_init__: copying the field dict is what replace() would
    # do through __init__, at a fraction of the cost (the reader patches every task it replays)
    new: Any = object.__new__(cls)
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


def decode_event(tree: Any, at: datetime) -> Event:
    """An event tree stored without its time (the record carries it)."""
    return decode(Event, tree, {"at": at})  # type: ignore[no-any-return]
