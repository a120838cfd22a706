"""Parse abra's chaos-version stamps and match them against commits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DIRTY_SUFFIX = "+U"
_SHORT = 8
_HEX = re.compile(r"[0-9a-f]{7,40}")


def stamp_key(stack: str) -> str:
    """Label key abra writes on a `--chaos` deploy."""
    return f"coop-cloud.{stack}.chaos-version"


def chaos_key(stack: str) -> str:
    """Label key abra sets to "true" on a `--chaos` deploy."""
    return f"coop-cloud.{stack}.chaos"


def version_key(stack: str) -> str:
    """Label key carrying the recipe version from the compose file."""
    return f"coop-cloud.{stack}.version"


def version_keys(stack: str) -> tuple[str, str]:
    """The version label as recipes write it now, then the older `….app.version` form."""
    return version_key(stack), f"coop-cloud.{stack}.app.version"


def version_label(labels: Mapping[str, str], stack: str) -> str | None:
    """The recipe version a service's labels carry, in either form (the current one first)."""
    return next((labels[k] for k in version_keys(stack) if labels.get(k)), None)


@dataclass(frozen=True)
class Stamp:
    """A parsed chaos-version value; `problem` says why it is not usable."""

    raw: str | None
    sha: str | None = None
    dirty: bool = False
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def matches(self, commit: str | None) -> bool:
        """True when this stamp names `commit`; `+U` never changes the answer."""
        if not self.ok or self.sha is None or not commit:
            return False
        commit = commit.strip().lower()
        if not _HEX.fullmatch(commit):
            return False
        n = min(len(self.sha), len(commit))
        return self.sha[:n] == commit[:n]

    def __str__(self) -> str:
        return self.raw if self.raw is not None else "(no stamp)"


def parse_stamp(raw: str | None) -> Stamp:
    """Parse a label value such as `7ae7b0f7` or `7ae7b0f7+U`; never raises."""
    if raw is None:
        return Stamp(raw=None, problem="absent: no chaos-version label (not a chaos deploy)")
    if not isinstance(raw, str):
        return Stamp(raw=repr(raw), problem="not a stamp: value is not text")
    value = raw.strip()
    if value in ("", "false"):
        return Stamp(raw=raw, problem=f"not a stamp: {value or 'empty'!r} (abra's value for no chaos)")
    dirty = value.endswith(DIRTY_SUFFIX)
    sha = value[: -len(DIRTY_SUFFIX)] if dirty else value
    if not _HEX.fullmatch(sha.lower()):
        return Stamp(raw=raw, problem=f"not a stamp: {raw[:60]!r} is not a short commit hash")
    return Stamp(raw=raw, sha=sha.lower(), dirty=dirty)


def make_stamp(commit: str, dirty: bool) -> str:
    """The value abra writes: the first 8 hex of HEAD, plus `+U` when the worktree is dirty."""
    return commit[:_SHORT].lower() + (DIRTY_SUFFIX if dirty else "")
