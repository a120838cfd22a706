"""Compose syntax: errors, Go durations, byte sizes, integers, numbers, booleans and choices, `${VAR}`
interpolation, and reading one file."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

# Only these top-level sections are interpolated; `x-` extensions stay literal. That was docker/cli's
# rule; docker CLI 28 interpolates top-level `x-` sections too (`${X:?msg}` there fails its deploy).
_INTERPOLATED = ("services", "networks", "volumes", "secrets", "configs")
_MAX_NS = 2**63 - 1  # Go's time.Duration and go-units both stop at int64
_BARE_SECONDS = "a bare number, read as seconds; docker stack deploy wants a unit such as 5s"

class ComposeError(ValueError):
    """A compose file or value is unusable; the message names the file and the key path."""

    def __init__(self, problem: str, file: str = "", path: str = "") -> None:
        self.problem, self.file, self.path = problem, file, path
        super().__init__(": ".join(p for p in (file, path, problem) if p))

    def located(self, file: str, path: str) -> ComposeError:
        """The same error with a file and key path, keeping any location it already has."""
        return ComposeError(self.problem, self.file or file, self.path or path)


_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6,
            "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration(value: object) -> float:
    """Seconds in a Go duration ("1m30s", "500ms"); a bare number is read as seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ComposeError(f"{value!r} is not a duration")
    if isinstance(value, str):
        text = value.strip()
        ns = 0.0
        if text != "0":
            pos = 0
            for m in _DURATION_PART.finditer(text):
                if m.start() != pos:
                    break
                ns += float(m.group(1)) * _UNIT_NS[m.group(2)]
                pos = m.end()
            if pos == 0 or pos != len(text):
                raise ComposeError(f"{value!r} is not a duration (expected e.g. 5s, 1m30s, 500ms)")
        seconds = ns / 1e9
    elif isinstance(value, int) and abs(value) > _MAX_NS:
        seconds = float("inf")  # float() of a huge int raises instead of saturating
    else:
        seconds = float(value)
    if seconds != seconds or seconds < 0 or seconds * 1e9 > _MAX_NS:
        raise ComposeError(f"{value!r} is not a duration between 0 and 292 years")
    return seconds


_BYTES = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?([kmgtp])?i?b?", re.IGNORECASE)
_BYTE_UNITS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_bytes(value: object) -> int:
    """Bytes in a compose size ("32M", "1.5G", "512m", plain int); units are powers of 1024."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ComposeError(f"{value!r} is not a byte size")
    if isinstance(value, int):
        size = value
    else:
        m = _BYTES.fullmatch(value.strip())
        if m is None:
            raise ComposeError(f"{value!r} is not a byte size (expected e.g. 32M, 1g, 512m)")
        unit = m.group(2)
        scaled = float(m.group(1)) * 1024 ** (_BYTE_UNITS[unit.lower()] if unit else 0)
        size = int(scaled) if scaled <= _MAX_NS else _MAX_NS + 1
    if not 0 <= size <= _MAX_NS:
        raise ComposeError(f"{value!r} is not a byte size between 0 and 8 EiB")
    return size


_DIGITS = re.compile(r"[0-9]+")


def _int(value: Any) -> int:
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ComposeError(f"{value!r} is not a non-negative integer")
    return value


def _float(value: Any) -> float:
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except (ValueError, OverflowError):
        number = None
    if number is None or isinstance(value, bool) or not 0 <= number < float("inf"):
        raise ComposeError(f"{value!r} is not a non-negative number")
    return number


_BOOLEANS = {"y": True, "yes": True, "true": True, "on": True, "n": False, "no": False, "false": False, "off": False}


def _bool(value: Any) -> bool:
    """A YAML boolean, or a string docker casts to one after interpolation (`${HC_OFF:-true}`)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise ComposeError(f"{value!r} is not a boolean (true or false)")


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            raise ComposeError(f"{value!r} is not one of {', '.join(choices)}")
        return str(value)

    return convert


_TEMPLATE = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>[_a-zA-Z][_a-zA-Z0-9]*)"
    r"|\{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<invalid>))"
)


class Unresolved(str):
    """Interpolated text that still holds `${NAME}` for variables with no value (`names`)."""

    names: frozenset[str]

    def __new__(cls, text: str, names: frozenset[str]) -> Unresolved:
        self = super().__new__(cls, text)
        self.names = names
        return self


def interpolate(text: str, env: Mapping[str, str], unset: set[str] | None = None) -> str:
    """Substitute `${VAR}`, `$VAR`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`, `$$`.

    A variable with no value stays as `${NAME}` (also when written `$NAME`), is added to `unset`,
    and the result is an `Unresolved` naming it: docker substitutes "" and warns, which would show
    a label as ``Host(``)`` where the recipe says ``Host(`${DOMAIN}`)``.
    """
    # As docker/cli's template package otherwise: a default is taken literally, never
    # interpolated again, and `:` makes an empty value count as missing.
    missing_names: set[str] = set()

    def substitute(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("named") or m.group("braced")
        if name is None:
            raise ComposeError(f"invalid interpolation format in {text!r}")
        op, arg, value = m.group("op"), m.group("arg") or "", env.get(name)
        missing = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if missing else str(value)
        if op in (":?", "?") and missing:
            raise ComposeError(f"required variable {name} is missing a value" + (f": {arg}" if arg else ""))
        if value is None:
            missing_names.add(name)
            return f"${{{name}}}"
        return value

    out = _TEMPLATE.sub(substitute, text)
    if not missing_names:
        return out
    if unset is not None:
        unset.update(missing_names)
    return Unresolved(out, frozenset(missing_names))


def unset_in(value: object) -> frozenset[str]:
    """The unset variables an interpolated value (text, or a list or mapping of it) still holds."""
    if isinstance(value, Unresolved):
        return value.names
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return frozenset().union(*map(unset_in, value))
    return frozenset()


def naming_unset(exc: ComposeError, value: object) -> ComposeError:
    """`exc` about `value`, saying which unset variables it holds as `${NAME}` (if any)."""
    names = sorted(unset_in(value))
    if not names:
        return exc
    verb = "is" if len(names) == 1 else "are"
    return ComposeError(f"{exc.problem} ({', '.join(names)} {verb} unset)", exc.file, exc.path)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _interpolate_tree(node: Any, env: Mapping[str, str], path: str, unset: set[str]) -> Any:
    if isinstance(node, str):
        try:
            return interpolate(node, env, unset)
        except ComposeError as exc:
            raise exc.located("", path) from None
    if isinstance(node, dict):
        return {k: _interpolate_tree(v, env, _join(path, k), unset) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate_tree(v, env, f"{path}[{i}]", unset) for i, v in enumerate(node)]
    return node


def _as_mapping(value: Any, what: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = "str" if isinstance(value, str) else type(value).__name__
        raise naming_unset(ComposeError(f"expected a mapping, got {kind}", path=what), value)
    return value


def _key_value_list(value: Any, path: str) -> Any:
    """List form `KEY=value` (or bare `KEY`) -> mapping, so overlays merge by key as docker does."""
    if not isinstance(value, list):
        return value
    out: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, str | int | float):
            raise ComposeError(f"list entry {item!r} is not KEY=value", path=path)
        key, sep, val = str(item).partition("=")
        out[key] = val if sep else None
    return out


def _load_file(name: str, text: str, env: Mapping[str, str], unset: set[str]) -> dict[Any, Any]:
    """Parse, check and interpolate one file; list-form labels/environment become mappings."""
    import yaml  # deferred: PyYAML (~12 ms) only once a compose file is read, never on a replay's first paint

    try:
        doc = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ComposeError(f"invalid YAML: {' '.join(str(exc).split())}", name) from None
    if not isinstance(doc, dict):
        raise ComposeError(f"top level must be a mapping, got {type(doc).__name__}", name)
    try:
        for section in _INTERPOLATED:
            if section in doc:
                doc[section] = _interpolate_tree(doc[section], env, section, unset)
        services = _as_mapping(doc.get("services"), "services")
        for sname, raw in list(services.items()):
            path = f"services.{sname}"
            svc = dict(_as_mapping(raw, path))
            for key in ("labels", "environment"):
                svc[key] = _key_value_list(svc.get(key), f"{path}.{key}")
            if isinstance(svc.get("networks"), list):
                svc["networks"] = {str(n): None for n in svc["networks"]}
            if isinstance(svc.get("deploy"), dict):
                labels = _key_value_list(svc["deploy"].get("labels"), f"{path}.deploy.labels")
                svc["deploy"] = {**svc["deploy"], "labels": labels}
            services[sname] = svc
        doc["services"] = services
    except ComposeError as exc:
        raise exc.located(name, "") from None
    return doc
