"""The verdict: kind, one sentence, evidence lines and a next step, plus the deploy expectation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ccci_tui.domain.model import Observation

CONVERGED = "converged"
IN_PROGRESS = "in-progress"
SWARM_ROLLBACK = "swarm-rollback"
UPDATE_PAUSED = "update-paused"
UPDATE_STUCK = "update-stuck"
ROLLBACK_UNHEALTHY = "rollback-unhealthy"
CRASH_AFTER_MONITOR = "crash-after-monitor"
CHECKOUT_DRIFT = "checkout-drift"
STAMP_MISMATCH = "stamp-mismatch"
NO_ROLLING_UPDATE = "no-rolling-update"
STALE_STATUS = "stale-status"
SERVICE_GONE = "service-gone"

# Exit codes (DESIGN.md section 6): 0 fine, 1 drift, 2 usage or connection, 3 still in progress.
EXIT_CODES = {
    CONVERGED: 0,
    NO_ROLLING_UPDATE: 0,
    IN_PROGRESS: 3,
    SERVICE_GONE: 2,
}
SEVERITY = {CONVERGED: "ok", NO_ROLLING_UPDATE: "ok", IN_PROGRESS: "info"}
KINDS = (
    CONVERGED, IN_PROGRESS, SWARM_ROLLBACK, UPDATE_PAUSED, UPDATE_STUCK, ROLLBACK_UNHEALTHY,
    CRASH_AFTER_MONITOR, CHECKOUT_DRIFT, STAMP_MISMATCH, NO_ROLLING_UPDATE, STALE_STATUS, SERVICE_GONE,
)

# Evidence sources.
SRC_LABEL = "label"
SRC_TASK = "task"
SRC_STATUS = "status"
SRC_GIT = "git"
SRC_APP_ENV = "app env"
SRC_SPEC = "spec"
SRC_TIMELINE = "timeline"
SRC_NODE = "node"


@dataclass(frozen=True)
class Evidence:
    """One evidence line and where it was read."""

    source: str
    text: str


@dataclass(frozen=True)
class Verdict:
    """The engine's finding about one service."""

    kind: str
    summary: str
    evidence: tuple[Evidence, ...] = ()
    next_step: str = ""
    task_id: str | None = None  # the task the verdict is about, when there is one

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.kind, 1)

    @property
    def severity(self) -> str:
        """ok, info or error: drives colour in every front end."""
        return SEVERITY.get(self.kind, "error")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (docs/json-schema.md)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "exit_code": self.exit_code,
            "summary": self.summary,
            "evidence": [{"source": e.source, "text": e.text} for e in self.evidence],
            "next_step": self.next_step,
            "task_id": self.task_id,
        }


@dataclass(frozen=True)
class Expectation:
    """What the deploy was meant to do, taken from the user and git, never from the deployed stamp."""

    head: str | None = None  # expected head commit (full sha, or a prefix of at least 7 hex)
    head_ref: str | None = None  # what the user named it, for messages
    marker_index: int | None = None  # Version.Index read before the redeploy
    marker_started_at: datetime | None = None  # UpdateStatus.StartedAt read before the redeploy
    marker_state: str | None = None  # UpdateStatus.State read before the redeploy ("" = absent)
    marker_taken: bool = False
    intent: str | None = None  # the app env's TYPE/RECIPE version, e.g. "7ae7b0f7+U" or "0.7.0+3.3.1"
    now: datetime | None = None
    head_missing: str | None = None  # why no expected head is known, when that is a definite fact


def anchored(expect: Expectation, index: int | None, started_at: datetime | None, state: str | None) -> Expectation:
    """`expect` with the deploy marker: the Version.Index and UpdateStatus read before the redeploy."""
    return replace(expect, marker_taken=True, marker_index=index, marker_started_at=started_at,
                   marker_state=state or "")


def anchored_to(expect: Expectation, before: Observation) -> Expectation:
    """`expect` anchored to an observation taken just before the redeploy."""
    svc = before.service
    st = svc.update_status if svc else None
    return anchored(expect, svc.index if svc else 0, st.started_at if st else None, st.state if st else None)
