"""Every recording a test session made, replayed: the verdicts must be, record for record, the ones written."""

from __future__ import annotations

from pathlib import Path

from ccci_tui.domain import codec
from ccci_tui.domain.fold import replayed_verdicts
from ccci_tui.domain.verdict import Verdict
from ccci_tui.sources.recording import RecordingError, read_recording
from ccci_tui.sources.recording_redact import redact_tree


def _as_written(verdict: Verdict) -> Verdict:
    """`verdict` as a recording holds it (redacted, round-tripped), to compare like with like."""
    return codec.decode(Verdict, redact_tree(codec.encode(verdict)))  # type: ignore[no-any-return]


def replay_problems(root: Path) -> tuple[int, list[str]]:
    """(recordings with verdicts checked, one line per recording whose replay disagrees) under `root`."""
    checked, problems = 0, []
    for path in sorted(p for p in root.rglob("*.jsonl*") if p.name.endswith((".jsonl", ".jsonl.gz"))):
        try:
            recording = read_recording(path)
        except (RecordingError, OSError):
            continue  # the bad-input tests' broken files, or one still being written
        pairs = replayed_verdicts(recording)
        if not pairs:
            continue
        checked += 1
        for record, replayed in pairs:
            if replayed is None or _as_written(replayed) != record.value:
                got = f"{replayed.kind}: {replayed.summary}" if replayed else "no verdict yet"
                problems.append(f"{path} line {record.line}: written {record.value.kind}: {record.value.summary}; "
                                f"replayed {got}")
                break
    return checked, problems
