"""Verdicts as text (colour only on a TTY without NO_COLOR), stable JSON, or Markdown for an issue."""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

from ccci_tui import __version__
from ccci_tui.domain.redact import redact_text
from ccci_tui.domain.text import printable
from ccci_tui.domain.verdict import Verdict

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


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def _clean(text: str) -> str:
    """Secrets masked, then controls and bad bytes made visible: external text shown literally."""
    return printable(redact_text(text))


def verdict_markdown(verdict: Verdict, context: dict[str, Any]) -> str:
    """Markdown ready to paste into an issue; external text goes into code spans."""
    where = ", ".join(f"{k} `{_code(_clean(str(v)))}`" for k, v in context.items() if v not in (None, ""))
    lines = [
        f"### ccci-tui: `{verdict.kind}`",
        "",
        f"**{_md(_clean(verdict.summary))}**",
        "",
        f"_{where}_" if where else "",
        "",
        "| source | evidence |",
        "| --- | --- |",
    ]
    lines += [f"| {e.source} | {_md(_clean(e.text))} |" for e in verdict.evidence]
    lines += ["", f"**Next step:** {_md(_clean(verdict.next_step))}", ""]
    return "\n".join(line for i, line in enumerate(lines) if line or i)


def _code(text: str) -> str:
    return text.replace("`", "'")


def _md(text: str) -> str:
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


def verdict_text(verdict: Verdict, context: dict[str, Any], notes: tuple[str, ...] = ()) -> str:
    """Plain text for people; the caller decides about colour."""
    head = f"{verdict.kind}: {_clean(verdict.summary)}"
    lines = [head]
    where = "  ".join(f"{k}={_clean(str(v))}" for k, v in context.items() if v not in (None, ""))
    if where:
        lines.append(f"  {where}")
    lines += [f"  [{e.source}] {_clean(e.text)}" for e in verdict.evidence]
    lines += [f"  note: {_clean(n)}" for n in notes]
    lines.append(f"  next: {_clean(verdict.next_step)}")
    return "\n".join(lines)


def emit(verdict: Verdict, fmt: str, context: dict[str, Any], notes: tuple[str, ...] = (),
         stream: IO[str] | None = None) -> None:
    """Write the verdict in `fmt` to `stream` (stdout)."""
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(verdict_json(verdict, {**context, "notes": [_clean(n) for n in notes]}) + "\n")
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
