"""Compose files -> effective per-service deploy policy: interpolated, merged, defaults marked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ccci_tui.domain.compose_ports import Port, parse_ports, port_identity
from ccci_tui.domain.compose_syntax import (
    _BARE_SECONDS,
    ComposeError,
    _as_mapping,
    _bool,
    _choice,
    _float,
    _int,
    _join,
    _load_file,
    interpolate,  # noqa: F401 - part of this module's interface (tests, callers)
    naming_unset,
    parse_bytes,
    parse_duration,
)

T = TypeVar("T")

DEFAULT_CHAIN = ("compose.yml",)
_UPDATE_ORDERS = ("stop-first", "start-first")
_FAILURE_ACTIONS = ("pause", "continue", "rollback")
_MODES = ("replicated", "global", "replicated-job", "global-job")


@dataclass(frozen=True)
class Field(Generic[T]):
    """An effective value and whether the compose file set it (False: the engine default)."""

    value: T
    explicit: bool
    note: str = ""


@dataclass(frozen=True)
class UpdateConfigPolicy:
    """`deploy.update_config` or `deploy.rollback_config`, each field marked explicit or default."""

    parallelism: Field[int]
    delay_s: Field[float]
    failure_action: Field[str]
    monitor_s: Field[float]
    max_failure_ratio: Field[float]
    order: Field[str]

    def fields(self) -> dict[str, Field[Any]]:
        """Fields by their compose key, in compose order."""
        return {
            "parallelism": self.parallelism, "delay": self.delay_s,
            "failure_action": self.failure_action, "monitor": self.monitor_s,
            "max_failure_ratio": self.max_failure_ratio, "order": self.order,
        }

@dataclass(frozen=True)
class Healthcheck:
    """A service healthcheck; unset fields carry docker's defaults."""

    test: Field[tuple[str, ...]]
    interval_s: Field[float]
    timeout_s: Field[float]
    retries: Field[int]
    start_period_s: Field[float]
    disabled: bool = False

    @property
    def health_window_s(self) -> float:
        """Time the healthcheck may take to decide: start_period + interval x retries."""
        return self.start_period_s.value + self.interval_s.value * self.retries.value

    def fields(self) -> dict[str, Field[Any]]:
        """Fields by their compose key."""
        return {
            "test": self.test, "interval": self.interval_s, "timeout": self.timeout_s,
            "retries": self.retries, "start_period": self.start_period_s,
        }


@dataclass(frozen=True)
class ServicePolicy:
    """One service's effective deploy policy; env values are left out (they may be secret)."""

    name: str
    image: str | None
    labels: Mapping[str, str]
    update_config: UpdateConfigPolicy
    rollback_config: UpdateConfigPolicy
    rollback_config_set: bool
    healthcheck: Healthcheck | None
    memory_limit: int | None
    memory_reservation: int | None
    ports: tuple[Port, ...]
    replicas: int | None  # None in global mode
    mode: str
    env_keys: tuple[str, ...]
    update_config_set: bool = False


@dataclass(frozen=True)
class ComposePolicy:
    """All services of a merged compose chain and the files it came from."""

    services: Mapping[str, ServicePolicy]
    files: tuple[str, ...]
    unset_variables: tuple[str, ...] = ()  # docker interpolates "" and only warns; shown as ${NAME}
    missing: tuple[str, ...] = ()  # chain files this side does not have (the other side does)
    # per file (as in `files`), the policy keys it sets: `app.deploy.update_config`, `db.healthcheck`
    file_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def keys_in(self, name: str) -> tuple[str, ...]:
        """The policy keys the chain file `name` (labelled `name` or `name@ref`) sets here."""
        for label, keys in self.file_keys:
            if label == name or label.startswith(f"{name}@"):
                return keys
        return ()


def parse_compose_file_chain(value: str | None, separator: str = ":") -> tuple[str, ...]:
    """Split a COMPOSE_FILE value into its chain of file names; None or empty means compose.yml."""
    parts = tuple(p.strip() for p in (value or "").split(separator) if p.strip())
    return parts or DEFAULT_CHAIN


def _volume_target(item: Any) -> object:
    if isinstance(item, dict):
        return ("target", str(item.get("target")))
    parts = str(item).split(":")
    return ("target", parts[1] if len(parts) > 1 else parts[0])


def _source(item: Any) -> object:
    return ("source", str(item.get("source") if isinstance(item, dict) else item))


# How `docker stack deploy` merges lists of one service across -c files; other lists append.
_LIST_IDENTITY: dict[str, Callable[[Any], object]] = {
    "ports": port_identity, "volumes": _volume_target, "secrets": _source, "configs": _source,
}
_REPLACED = frozenset({"command", "entrypoint", "test"})


def merge_tree(base: Any, over: Any, key: str = "") -> Any:
    """Merge parsed compose `over` onto `base` as `docker stack deploy -c a -c b` does.

    Mappings merge by key, later scalars win, `ports`/`volumes`/`secrets`/`configs` merge by
    identity, `command`/`entrypoint`/healthcheck `test` are replaced and other lists append.
    """
    if over is None:
        return base
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge_tree(base[k], v, str(k)) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list) and key not in _REPLACED:
        identity = _LIST_IDENTITY.get(key)
        if identity is None:
            return base + over
        merged: dict[object, Any] = {}
        for item in base + over:
            merged[identity(item)] = item  # re-assigning keeps the first position
        return list(merged.values())
    return over


def _get(raw: Mapping[Any, Any], key: str, path: str, convert: Callable[[Any], T]) -> T | None:
    if raw.get(key) is None:
        return None
    try:
        return convert(raw[key])
    except ComposeError as exc:
        raise naming_unset(exc, raw[key]).located("", _join(path, key)) from None


def _field(
    raw: Mapping[Any, Any], key: str, path: str, default: T, convert: Callable[[Any], T]
) -> Field[T]:
    value = _get(raw, key, path, convert)
    if value is None:
        return Field(default, False)
    bare = convert is parse_duration and not isinstance(raw[key], str)
    return Field(value, True, _BARE_SECONDS if bare else "")


def _update_config(raw: Any, path: str) -> UpdateConfigPolicy:
    m = _as_mapping(raw, path)
    monitor = _field(m, "monitor", path, 5.0, parse_duration)
    if monitor.explicit and monitor.value == 0:
        # The engine treats a zero monitor as unset (moby daemon/cluster/convert/service.go).
        monitor = Field(5.0, True, "0 means the engine default, 5s")
    return UpdateConfigPolicy(
        parallelism=_field(m, "parallelism", path, 1, _int),
        delay_s=_field(m, "delay", path, 0.0, parse_duration),
        failure_action=_field(m, "failure_action", path, "pause", _choice(_FAILURE_ACTIONS)),
        monitor_s=monitor,
        max_failure_ratio=_field(m, "max_failure_ratio", path, 0.0, _float),
        order=_field(m, "order", path, "stop-first", _choice(_UPDATE_ORDERS)),
    )


def _test(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return ("CMD-SHELL", value)
    if isinstance(value, list) and value:
        return tuple(str(v) for v in value)
    raise ComposeError(f"{value!r} is not a healthcheck test (a string or a non-empty list)")


def _healthcheck(raw: Any, path: str) -> Healthcheck | None:
    if raw is None:
        return None
    m = _as_mapping(raw, path)
    inherited: tuple[str, ...] = ()  # no test: the image's HEALTHCHECK applies
    test = _field(m, "test", path, inherited, _test)
    return Healthcheck(
        test=test,
        interval_s=_field(m, "interval", path, 30.0, parse_duration),
        timeout_s=_field(m, "timeout", path, 30.0, parse_duration),
        retries=_field(m, "retries", path, 3, _int),
        start_period_s=_field(m, "start_period", path, 0.0, parse_duration),
        disabled=_get(m, "disable", path, _bool) is True or test.value[:1] == ("NONE",),
    )


def _label_value(value: Any) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _service(name: str, raw: dict[Any, Any]) -> ServicePolicy:
    path = f"services.{name}"
    deploy = _as_mapping(raw.get("deploy"), f"{path}.deploy")
    dpath, epath = f"{path}.deploy", f"{path}.environment"
    resources = _as_mapping(deploy.get("resources"), f"{dpath}.resources")
    limits = _as_mapping(resources.get("limits"), f"{dpath}.resources.limits")
    reservations = _as_mapping(resources.get("reservations"), f"{dpath}.resources.reservations")
    mode = _get(deploy, "mode", dpath, _choice(_MODES)) or "replicated"
    replicas = _get(deploy, "replicas", dpath, _int)
    labels = _as_mapping(deploy.get("labels"), f"{dpath}.labels")
    image = raw.get("image")
    return ServicePolicy(
        name=name,
        image=None if image is None else str(image),
        labels={str(k): _label_value(v) for k, v in labels.items()},
        update_config=_update_config(deploy.get("update_config"), f"{dpath}.update_config"),
        rollback_config=_update_config(deploy.get("rollback_config"), f"{dpath}.rollback_config"),
        rollback_config_set=deploy.get("rollback_config") is not None,
        healthcheck=_healthcheck(raw.get("healthcheck"), f"{path}.healthcheck"),
        memory_limit=_get(limits, "memory", f"{dpath}.resources.limits", parse_bytes),
        memory_reservation=_get(
            reservations, "memory", f"{dpath}.resources.reservations", parse_bytes
        ),
        ports=parse_ports(raw.get("ports"), f"{path}.ports"),
        replicas=None if mode.startswith("global") else (1 if replicas is None else replicas),
        mode=mode,
        # `env_file` is not read: docker reads those files from beside the compose file at deploy
        # time, and they are the operator's, not the recipe's; their keys are not in env_keys.
        env_keys=tuple(sorted(str(k) for k in _as_mapping(raw.get("environment"), epath))),
        update_config_set=deploy.get("update_config") is not None,
    )


def _services(doc: Mapping[Any, Any], file: str) -> dict[str, ServicePolicy]:
    try:
        services = _as_mapping(doc.get("services"), "services")
        return {str(n): _service(str(n), s) for n, s in services.items()}
    except ComposeError as exc:
        raise exc.located(file, "") from None


_POLICY_KEYS = ("deploy", "healthcheck")


def _policy_keys(doc: Mapping[Any, Any]) -> tuple[str, ...]:
    """The update-relevant keys one file sets: each service's `deploy.*` and `healthcheck`."""
    keys: list[str] = []
    for name, raw in _as_mapping(doc.get("services"), "services").items():
        for key in _POLICY_KEYS:
            value = raw.get(key) if isinstance(raw, dict) else None
            if isinstance(value, dict) and key == "deploy":
                keys += [f"{name}.deploy.{k}" for k in value if value[k] is not None]
            elif value is not None:
                keys.append(f"{name}.{key}")
    return tuple(keys)


def load_policy(files: Sequence[tuple[str, str]], env: Mapping[str, str],
                missing: Sequence[str] = ()) -> ComposePolicy:
    """Effective policy of a compose chain: (file name, YAML text) pairs in COMPOSE_FILE order;
    `missing` names chain files this side does not have (recorded, not read).

    `env` supplies interpolation (callers include STACK_NAME); its values never reach the result.
    """
    if not files:
        raise ComposeError("no compose files given")
    unset: set[str] = set()
    merged: dict[Any, Any] = {}
    file_keys: list[tuple[str, tuple[str, ...]]] = []
    for name, text in files:
        doc = _load_file(name, text, env, unset)
        _services(doc, name)  # validate each file alone so an error names the file that has it
        file_keys.append((name, _policy_keys(doc)))
        merged = merge_tree(merged, doc, "")
    names = tuple(name for name, _ in files)
    return ComposePolicy(_services(merged, "+".join(names)), names, tuple(sorted(unset)), tuple(missing),
                         tuple(file_keys))
