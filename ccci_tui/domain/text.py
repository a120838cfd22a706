"""External text made safe to show: control characters visible, bad UTF-8 escaped, lengths bounded."""

from __future__ import annotations

import re

MAX_LINE = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, limit: int = MAX_LINE, newlines: bool = False) -> str:
    """`value` as text a terminal shows literally: ESC and other controls as `\\x1b`, lone surrogates
    (undecodable bytes) as `\\udcff`, bidi overrides escaped, and at most `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    # surrogateescape'd bytes or lone surrogates cannot be encoded: show them as escapes
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if not newlines:
        text = text.replace("\r\n", "\n").replace("\n", "\\n")
    text = text.replace("\t", "    ")
    text = _CONTROL.sub(_escape, text)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text
