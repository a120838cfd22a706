"""A service's compose `ports`: the short form ("8080:80/udp", ranges) and the long form, as published ports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccci_tui.domain.compose_syntax import _DIGITS, ComposeError, _choice, _int, naming_unset


@dataclass(frozen=True)
class Port:
    """A published port; short-form ports publish in ingress mode."""

    target: int
    published: int | None
    protocol: str = "tcp"
    mode: str = "ingress"

    def __str__(self) -> str:
        published = "" if self.published is None else f"{self.published}:"
        return f"{published}{self.target}/{self.protocol} {self.mode}"


def parse_ports(raw: Any, path: str) -> tuple[Port, ...]:
    """The ports a service's `ports` list publishes; an error names the entry at `path[i]`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ComposeError(f"expected a list, got {type(raw).__name__}", path=path)
    ports: list[Port] = []
    for i, item in enumerate(raw):
        try:
            ports.extend(_port_entry(item))
        except ComposeError as exc:
            raise naming_unset(exc, item).located("", f"{path}[{i}]") from None
    return tuple(ports)


def port_identity(item: Any) -> object:
    """What makes two `ports` entries the same when overlays merge: the ports they publish."""
    try:
        return tuple(_port_entry(item))
    except ComposeError:
        return repr(item)


def _port_number(text: str) -> list[int]:
    low, _, high = text.partition("-")
    if not _DIGITS.fullmatch(low) or not (_DIGITS.fullmatch(high) or not high):
        raise ComposeError(f"{text!r} is not a port or port range")
    first, last = int(low), int(high or low)
    if not 0 < first <= last <= 65535:
        raise ComposeError(f"{text!r} is not a port or port range in 1-65535")
    return list(range(first, last + 1))


def _port_entry(item: Any) -> list[Port]:
    """One `ports` entry: short form ("8080:80/udp", ranges) or long form (a mapping)."""
    if isinstance(item, dict):
        published = item.get("published")
        return [Port(
            target=_port_number(str(_int(item.get("target"))))[0],
            published=None if published in (None, "") else _port_number(str(_int(published)))[0],
            protocol=_choice(("tcp", "udp", "sctp"))(item.get("protocol", "tcp")),
            mode=_choice(("ingress", "host"))(item.get("mode", "ingress")),
        )]
    if isinstance(item, bool) or not isinstance(item, int | str):
        raise ComposeError(f"{item!r} is not a port")
    spec, _, protocol = str(item).partition("/")
    parts = spec.rsplit(":", 2)
    targets = _port_number(parts[-1])
    hosts: list[int | None] = [None] * len(targets)
    if len(parts) > 1 and parts[-2]:
        hosts = list(_port_number(parts[-2]))
        if len(hosts) != len(targets):
            raise ComposeError(f"{item!r}: published and target ranges differ in length")
    proto = _choice(("tcp", "udp", "sctp"))(protocol or "tcp")
    return [Port(t, h, proto, "ingress") for t, h in zip(targets, hosts, strict=True)]
