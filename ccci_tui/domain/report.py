"""A verdict as plain text or as Markdown for an issue: external text shown literally, secrets masked."""

from __future__ import annotations

from typing import Any

from ccci_tui.domain.redact import redact_text
from ccci_tui.domain.text import printable
from ccci_tui.domain.verdict import Verdict


def clean(text: str) -> str:
    """Secrets masked, then controls and bad bytes made visible: external text shown literally."""
    return printable(redact_text(text))


def verdict_markdown(verdict: Verdict, context: dict[str, Any]) -> str:
    """Markdown ready to paste into an issue; external text goes into code spans."""
    where = ", ".join(f"{k} `{_code(clean(str(v)))}`" for k, v in context.items() if v not in (None, ""))
    lines = [
        f"### ccci-tui: `{verdict.kind}`",
        "",
        f"**{_md(clean(verdict.summary))}**",
        "",
        f"_{where}_" if where else "",
        "",
        "| source | evidence |",
        "| --- | --- |",
    ]
    lines += [f"| {e.source} | {_md(clean(e.text))} |" for e in verdict.evidence]
    lines += ["", f"**Next step:** {_md(clean(verdict.next_step))}", ""]
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
    head = f"{verdict.kind}: {clean(verdict.summary)}"
    lines = [head]
    where = "  ".join(f"{k}={clean(str(v))}" for k, v in context.items() if v not in (None, ""))
    if where:
        lines.append(f"  {where}")
    lines += [f"  [{e.source}] {clean(e.text)}" for e in verdict.evidence]
    lines += [f"  note: {clean(n)}" for n in notes]
    lines.append(f"  next: {clean(verdict.next_step)}")
    return "\n".join(lines)
