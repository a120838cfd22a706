"""Base vs head compose policy: field differences and update risk notes, rendered three ways."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccci_tui.domain.compose import ComposePolicy, Field, ServicePolicy
from ccci_tui.domain.redact import redact_text, redact_value

_DURATION_KEYS = frozenset({"delay", "monitor", "interval", "timeout", "start_period"})

# Risk kinds, in the order they are reported for a service.
START_FIRST_ROLLBACK = "start-first-rollback"
MONITOR_SHORTER_THAN_HEALTH = "monitor-shorter-than-health"
START_FIRST_HOST_PORTS = "start-first-host-ports"
START_FIRST_RESERVATION = "start-first-reservation"
SINGLE_REPLICA_STOP_FIRST = "single-replica-stop-first"
ROLLBACK_CONFIG_UNSET = "rollback-config-unset"
CHAIN_FILE_MISSING = "chain-file-missing"


@dataclass(frozen=True)
class Difference:
    """One field that differs between base and head (None: unset at that side); explicit is None where it
    does not apply."""

    service: str
    path: str
    base: Any = None
    head: Any = None
    base_explicit: bool | None = None
    head_explicit: bool | None = None

    @property
    def change(self) -> str:
        if self.base is None:
            return "added"
        return "removed" if self.head is None else "changed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service, "path": self.path, "change": self.change,
            "base": _shown(self.path, self.base), "head": _shown(self.path, self.head),
            "base_explicit": self.base_explicit, "head_explicit": self.head_explicit,
        }


def _shown(path: str, value: Any) -> Any:
    """A value for JSON: as is, unless it is (or holds) a secret."""
    if isinstance(value, str) and format_value(path, value) != value:
        return format_value(path, value)
    return _jsonable(value)


@dataclass(frozen=True)
class RiskNote:
    """An update risk a policy carries, with the field values that show it."""

    kind: str
    service: str
    side: str  # "base" or "head"
    message: str
    evidence: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "service": self.service, "side": self.side,
            "message": self.message, "evidence": dict(self.evidence),
        }


@dataclass(frozen=True)
class Comparison:
    """Differences and risks of a base and a head compose policy."""

    base_files: tuple[str, ...]
    head_files: tuple[str, ...]
    added_services: tuple[str, ...]
    removed_services: tuple[str, ...]
    differences: tuple[Difference, ...]
    base_risks: tuple[RiskNote, ...]
    head_risks: tuple[RiskNote, ...]
    base_missing: tuple[str, ...] = ()  # chain files the base does not have (it uses the rest)
    head_missing: tuple[str, ...] = ()
    base_unset: tuple[str, ...] = ()  # variables with no value, shown as ${NAME}
    head_unset: tuple[str, ...] = ()

    def notes(self) -> tuple[str, ...]:
        """What the reader must know to read the differences: files missing at a side, unset variables."""
        out = [f"{', '.join(missing)} missing at {side}: the {side} side uses the files it has"
               for side, missing in (("base", self.base_missing), ("head", self.head_missing)) if missing]
        out += [f"unset at {side}: {', '.join(unset)} (shown as ${{NAME}}; docker would substitute \"\")"
                for side, unset in (("base", self.base_unset), ("head", self.head_unset)) if unset]
        return tuple(out)

    @property
    def new_risks(self) -> tuple[RiskNote, ...]:
        """Head risks the base did not have (same kind on the same service)."""
        seen = {(r.kind, r.service) for r in self.base_risks}
        return tuple(r for r in self.head_risks if (r.kind, r.service) not in seen)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form of the whole comparison."""
        return {
            "base_files": list(self.base_files), "head_files": list(self.head_files),
            "base_missing": list(self.base_missing), "head_missing": list(self.head_missing),
            "unset_variables": {"base": list(self.base_unset), "head": list(self.head_unset)},
            "added_services": list(self.added_services),
            "removed_services": list(self.removed_services),
            "differences": [d.to_dict() for d in self.differences],
            "risks": {
                "base": [r.to_dict() for r in self.base_risks],
                "head": [r.to_dict() for r in self.head_risks],
                "new": [r.to_dict() for r in self.new_risks],
            },
        }

    def to_text(self) -> str:
        """Plain text for a terminal or a CI log."""
        lines = [f"compose policy: base {', '.join(self.base_files)} -> head "
                 f"{', '.join(self.head_files)}"]
        lines += [f"note: {n}" for n in self.notes()]
        if self.added_services or self.removed_services:
            lines.append(f"services added: {', '.join(self.added_services) or '-'}; "
                         f"removed: {', '.join(self.removed_services) or '-'}")
        lines.append(f"differences ({len(self.differences)}):" if self.differences
                     else "differences: none")
        lines += [f"  {d.service} {d.path}: {_side(d, 'base')} -> {_side(d, 'head')}"
                  for d in self.differences]
        new = set(map(id, self.new_risks))
        for side, risks in (("head", self.head_risks), ("base", self.base_risks)):
            lines.append(f"risks in {side} ({len(risks)}):" if risks else f"risks in {side}: none")
            for r in risks:
                mark = " [new]" if id(r) in new else ""
                lines.append(f"  ! {r.kind} ({r.service}){mark}: {r.message}")
                evidence = "; ".join(f"{k}={v}" for k, v in r.evidence.items())
                lines.append(f"      evidence: {evidence}")
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """Markdown for an issue or a pull-request comment; every external string is escaped."""
        files = (f"base {', '.join(map(_code, self.base_files))}, "
                 f"head {', '.join(map(_code, self.head_files))}")
        out = ["## Compose policy: base vs head", "", f"Files: {files}", ""]
        out += [*(f"- {_md(n)}" for n in self.notes()), ""] if self.notes() else []
        if self.added_services or self.removed_services:
            out += [f"Services added: {', '.join(map(_md, self.added_services)) or '-'}; "
                    f"removed: {', '.join(map(_md, self.removed_services)) or '-'}", ""]
        out += ["### Differences", ""]
        if self.differences:
            out += ["| service | field | base | head |", "| --- | --- | --- | --- |"]
            out += [f"| {_md(d.service)} | {_md(d.path)} | {_md(_side(d, 'base'))} | "
                    f"{_md(_side(d, 'head'))} |" for d in self.differences]
        else:
            out.append("None.")
        new = set(map(id, self.new_risks))
        for side, risks in (("head", self.head_risks), ("base", self.base_risks)):
            out += ["", f"### Risks in {side}", ""]
            out += [] if risks else ["None."]
            for r in risks:
                mark = ", **new**" if id(r) in new else ""
                out.append(f"- **{_md(r.kind)}** ({_md(r.service)}{mark}): {_md(r.message)}")
                out += [f"  - {_md(k)} = {_md(v)}" for k, v in r.evidence.items()]
        return "\n".join(out) + "\n"


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


def _md(text: str) -> str:
    """Escape Markdown and table syntax so a label or path renders as the text it is."""
    text = " ".join(str(text).split())
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def format_seconds(seconds: float) -> str:
    """A duration for people: 5s, 1m30s, 0.5s, 20m."""
    if seconds < 60 or seconds != int(seconds):
        return f"{seconds:g}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)


def format_bytes(size: int) -> str:
    """A byte size as compose writes it when it is a whole unit (32M), else plain bytes."""
    for unit, power in (("G", 3), ("M", 2), ("K", 1)):
        if size and size % 1024**power == 0:
            return f"{size // 1024**power}{unit}"
    return str(size)


def format_value(path: str, value: Any) -> str:
    """A flattened policy value as text; durations and byte sizes in compose units; secrets masked."""
    text = _format_value(path, value)
    if path.startswith("labels."):
        return redact_value(path.removeprefix("labels."), text)
    return redact_text(text)


def _format_value(path: str, value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value) if value else "-"
    leaf = path.rsplit(".", 1)[-1]
    if leaf in _DURATION_KEYS and isinstance(value, int | float):
        return format_seconds(float(value))
    if path.startswith("resources.") and isinstance(value, int):
        return format_bytes(value)
    return str(value)


def _side(d: Difference, side: str) -> str:
    value, explicit = (d.base, d.base_explicit) if side == "base" else (d.head, d.head_explicit)
    text = format_value(d.path, value)
    return f"{text} (default)" if explicit is False and value is not None else text


def flatten(service: ServicePolicy) -> dict[str, tuple[Any, bool | None]]:
    """Every compared field of a service: path -> (value, explicit or None where not applicable)."""
    out: dict[str, tuple[Any, bool | None]] = {
        "image": (service.image, None), "mode": (service.mode, None),
        "replicas": (service.replicas, None),
    }
    for name, config in (("update_config", service.update_config),
                         ("rollback_config", service.rollback_config)):
        out.update({f"{name}.{k}": _field(f) for k, f in config.fields().items()})
    if service.healthcheck is not None:
        out.update({f"healthcheck.{k}": _field(f) for k, f in service.healthcheck.fields().items()})
        out["healthcheck.disabled"] = (service.healthcheck.disabled, None)
    out["resources.limits.memory"] = (service.memory_limit, None)
    out["resources.reservations.memory"] = (service.memory_reservation, None)
    out["ports"] = (tuple(str(p) for p in service.ports), None)
    out.update({f"labels.{k}": (v, None) for k, v in service.labels.items()})
    # Env keys only: values may be secrets and never enter a policy.
    out.update({f"environment.{k}": ("set", None) for k in service.env_keys})
    return out


def _field(f: Field[Any]) -> tuple[Any, bool]:
    return f.value, f.explicit


def _evidence(service: ServicePolicy, *paths: str) -> dict[str, str]:
    flat = flatten(service)
    out: dict[str, str] = {}
    for path in paths:
        value, explicit = flat.get(path, (None, None))
        out[path] = format_value(path, value) + (" (default)" if explicit is False else "")
    return out


def service_risks(service: ServicePolicy, side: str = "head") -> tuple[RiskNote, ...]:
    """The update risks one service's policy carries."""
    name, update = service.name, service.update_config
    order, action = update.order.value, update.failure_action.value
    monitor = format_seconds(update.monitor_s.value)
    start_first = order == "start-first"
    notes: list[RiskNote] = []

    def note(kind: str, message: str, *paths: str) -> None:
        notes.append(RiskNote(kind, name, side, message, _evidence(service, *paths)))

    if start_first and action == "rollback":
        note(START_FIRST_ROLLBACK,
             f"{name} updates start-first with failure_action rollback: a new task that fails "
             f"within the {monitor} monitor while the old task still serves is rolled back "
             "silently, labels included, and the service keeps running the old version.",
             "update_config.order", "update_config.failure_action", "update_config.monitor")
    hc = service.healthcheck
    if hc is not None and not hc.disabled and hc.health_window_s > update.monitor_s.value:
        note(MONITOR_SHORTER_THAN_HEALTH,
             f"{name}'s update monitor ({monitor}) is shorter than the "
             f"{format_seconds(hc.health_window_s)} its healthcheck may take to decide "
             "(start_period + interval x retries), so a task that turns unhealthy after the "
             "window is not counted as an update failure.",
             "update_config.monitor", "healthcheck.start_period", "healthcheck.interval",
             "healthcheck.retries")
    host_ports = [p for p in service.ports if p.mode == "host" and p.published is not None]
    if start_first and host_ports:
        note(START_FIRST_HOST_PORTS,
             f"{name} updates start-first but publishes host-mode port "
             f"{', '.join(str(p.published) for p in host_ports)}, which the new task cannot "
             "bind on a node while the old task still holds it.",
             "update_config.order", "ports")
    if start_first and service.memory_reservation:
        note(START_FIRST_RESERVATION,
             f"{name} updates start-first with a memory reservation of "
             f"{format_bytes(service.memory_reservation)}, so a node needs room for two "
             "reservations per slot or the new task stays pending and the update never ends.",
             "update_config.order", "resources.reservations.memory", "replicas")
    if service.mode == "replicated" and service.replicas == 1 and not start_first:
        note(SINGLE_REPLICA_STOP_FIRST,
             f"{name} runs a single replica and updates stop-first, so nothing serves between "
             "the old task stopping and the new one becoming healthy.",
             "replicas", "update_config.order")
    if not service.rollback_config_set and action == "rollback":
        unlike = " rather than its start-first update order" if start_first else ""
        note(ROLLBACK_CONFIG_UNSET,
             f"{name} has no rollback_config, so an automatic rollback runs with the engine "
             f"defaults (stop-first, failure_action pause){unlike}, and the service is down "
             "while the old version restarts.",
             "update_config.failure_action", "rollback_config.order",
             "rollback_config.failure_action")
    return tuple(notes)


def risk_notes(policy: ComposePolicy, side: str = "head") -> tuple[RiskNote, ...]:
    """The update risks of every service in a policy."""
    return tuple(n for s in policy.services.values() for n in service_risks(s, side))


def missing_file_risks(policy: ComposePolicy, other: ComposePolicy, side: str) -> tuple[RiskNote, ...]:
    """A note per service whose deploy policy or healthcheck is set by a chain file `side` lacks."""
    notes: list[RiskNote] = []
    other_side = "head" if side == "base" else "base"
    for name in policy.missing:
        by_service: dict[str, list[str]] = {}
        for key in other.keys_in(name):
            service, _, field = key.partition(".")
            by_service.setdefault(service, []).append(field)
        for service, fields in by_service.items():
            notes.append(RiskNote(
                CHAIN_FILE_MISSING, service, side,
                f"{name} is missing at {side}, but at {other_side} it sets {service}'s {', '.join(fields)}: "
                f"the {side} deploy runs {service} without them, so those differences come from the file, "
                "not from a change of the recipe's policy.",
                {"file": name, f"set at {other_side}": ", ".join(fields)}))
    return tuple(notes)


def compare_policies(base: ComposePolicy, head: ComposePolicy) -> Comparison:
    """Field-level differences of services in both policies, services added or removed, risks."""
    diffs: list[Difference] = []
    for name, head_service in head.services.items():
        base_service = base.services.get(name)
        if base_service is None:
            continue
        before, after = flatten(base_service), flatten(head_service)
        for path in [*before, *(p for p in after if p not in before)]:
            (bv, be), (hv, he) = before.get(path, (None, None)), after.get(path, (None, None))
            if bv != hv:
                diffs.append(Difference(name, path, bv, hv, be if bv is not None else None,
                                        he if hv is not None else None))
    return Comparison(
        base_files=base.files,
        head_files=head.files,
        added_services=tuple(n for n in head.services if n not in base.services),
        removed_services=tuple(n for n in base.services if n not in head.services),
        differences=tuple(diffs),
        base_risks=missing_file_risks(base, head, "base") + risk_notes(base, "base"),
        head_risks=missing_file_risks(head, base, "head") + risk_notes(head, "head"),
        base_missing=base.missing, head_missing=head.missing,
        base_unset=base.unset_variables, head_unset=head.unset_variables,
    )
