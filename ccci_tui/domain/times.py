"""Engine timestamps: RFC 3339 with nanoseconds, and Go durations in nanoseconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_engine_time(value: object) -> datetime | None:
    """Parse an engine timestamp (nanosecond precision is cut to microseconds); None if absent or bad."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    m = _RFC3339.match(value.strip())
    if not m:
        return None
    date, clock, frac, zone = m.groups()
    micro = (frac or "0")[:6].ljust(6, "0")
    tz = "+00:00" if zone in (None, "Z") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        return datetime.fromisoformat(f"{date}T{clock}.{micro}{tz}").astimezone(UTC)
    except ValueError:
        return None


def from_nanos(nanos: int) -> datetime:
    """An event's `timeNano` as an aware UTC datetime."""
    return datetime.fromtimestamp(nanos / 1e9, tz=UTC)


def nanos_to_seconds(value: object, default: float = 0.0) -> float:
    """A Go duration in nanoseconds (as the Engine API sends it) in seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value) / 1e9
