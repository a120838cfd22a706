"""Verdicts as text (colour only on a TTY without NO_COLOR), stable JSON, or Markdown for an issue."""

from __future__ import annotations

import json
import os
import sys
from typing import IO, TYPE_CHECKING, Any

from ccci_tui import __version__
from ccci_tui.domain.redact import redact_text
from ccci_tui.domain.report import clean, verdict_markdown, verdict_text
from ccci_tui.domain.verdict import Verdict

if TYPE_CHECKING:
    from ccci_tui.domain.model import Observation
    from ccci_tui.domain.replay import RecordedPolicy

SCHEMA_VERSION = 1
_STYLE = {"ok": "bold green", "info": "bold yellow", "error": "bold red"}


def use_colour(stream: IO[str]) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def verdict_json(verdict: Verdict, context: dict[str, Any]) -> str:
    """The documented JSON document (docs/json-schema.md)."""
    doc = {"schema": "ccci-tui/verdict", "version": SCHEMA_VERSION, "tool_version": __version__, **context}
    doc["verdict"] = verdict.to_dict()
    return json.dumps(_redacted(doc), indent=2, sort_keys=False)


def tasks_json(obs: Observation) -> list[dict[str, Any]]:
    """Every task of a read for the verdict document: state, exit, OOM flag, node and memory facts."""
    from ccci_tui.domain.memory import memory_dict

    return [{
        "id": t.id, "slot": t.slot, "node": t.node_id, "node_name": t.node or None,
        "node_access": t.node_access or None, "state": t.state, "desired": t.desired,
        "exit_code": t.exit_code, "oom_killed": t.oom_killed, "error": t.err, "memory": memory_dict(t, obs.at),
    } for t in obs.tasks]


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def emit(verdict: Verdict, fmt: str, context: dict[str, Any], notes: tuple[str, ...] = (),
         stream: IO[str] | None = None) -> None:
    """Write the verdict in `fmt` to `stream` (stdout)."""
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(verdict_json(verdict, {**context, "notes": [clean(n) for n in notes]}) + "\n")
    elif fmt == "markdown":
        stream.write(verdict_markdown(verdict, context) + "\n")
    elif use_colour(stream):
        from rich.console import Console  # deferred: only a terminal needs colour
        from rich.text import Text

        console = Console(file=stream, highlight=False)
        text = verdict_text(verdict, context, notes)
        first, _, rest = text.partition("\n")
        out = Text(first, style=_STYLE[verdict.severity])
        out.append("\n" + rest)
        console.print(out)
    else:
        stream.write(verdict_text(verdict, context, notes) + "\n")


def emit_comparison(base: RecordedPolicy, head: RecordedPolicy, fmt: str, heading: str | None = None,
                    stream: IO[str] | None = None) -> None:
    """`compare`'s output, live or from a recording: JSON (`ccci-tui/compare`), Markdown, or text after
    an optional heading line."""
    from ccci_tui.domain.compare import compare_policies  # deferred: only `compare` needs it

    stream = stream or sys.stdout
    comparison = compare_policies(base.policy, head.policy)
    if fmt == "json":
        doc = {"schema": "ccci-tui/compare", "version": 1, "base": base.ref, "head": head.ref, **comparison.to_dict()}
        stream.write(json.dumps(doc, indent=2) + "\n")
    elif fmt == "markdown":
        stream.write(comparison.to_markdown() + "\n")
    else:
        text = comparison.to_text()
        stream.write((heading + "\n" if heading else "") + text + ("" if heading else "\n"))
