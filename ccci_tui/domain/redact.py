"""Secret redaction for everything that reaches a screen, a recording or an export."""

from __future__ import annotations

import re
from collections.abc import Mapping

MASK = "<redacted>"

# A key looks secret when one of its words is one of these (DB_PASSWORD, api-token, SECRET_KEY_BASE).
_SECRET_WORDS = (
    "PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CREDENTIALS", "AUTH",
    "APIKEY", "PRIVATE", "SALT", "COOKIE", "SESSION", "CERT", "DSN", "AUTHORIZATION",
)
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
# KEY=value, KEY: value, "KEY": "value" inside free text (labels, env lines, error messages). The
# value is only looked ahead at, so `failed: DB_PASSWORD=x` still finds the second assignment.
_ASSIGN = re.compile(
    r"""(?<![A-Za-z0-9_.\-])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,511})(?P<sep>\s*[=:]\s*|"\s*:\s*")"""
    r"""(?=(?P<val>"[^"]*"|'[^']*'|[^\s,;"']+))"""
)
# credentials after an auth scheme, e.g. `Authorization: Bearer abc.def`
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>Bearer|Basic|Token|Digest)\s+(?P<cred>[A-Za-z0-9._~+/=-]{6,})")
# the look-behinds and bounds keep these linear on a 20,000-character line of letters
_URL_CREDS = re.compile(r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@")


def is_secret_key(key: str) -> bool:
    """True when a variable or label key names a secret."""
    words = {w.upper() for w in _SPLIT.split(key) if w}
    return any(w in words for w in _SECRET_WORDS) or any(w.endswith(("PASSWORD", "TOKEN", "SECRET")) for w in words)


def looks_secret_value(value: str) -> bool:
    """Values that are secrets whatever their key: JWTs and private keys."""
    return bool(_JWT.search(value) or _PEM.search(value))


def redact_value(key: str, value: str) -> str:
    """The value to show for `key`: masked for a secret key, else with any secret inside it masked."""
    return MASK if is_secret_key(key) or looks_secret_value(value) else redact_text(value)


def redact_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """A copy of a label or env mapping with secret values masked."""
    return {k: redact_value(k, v) if isinstance(v, str) else v for k, v in mapping.items()}


def redact_text(text: str) -> str:
    """Mask secrets inside free text: `KEY=value` with a secret key, URL passwords, JWTs, private keys."""
    if not text:
        return text
    out = _PEM.sub(MASK, text)
    out = _JWT.sub(MASK, out)
    out = _URL_CREDS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", out)

    out = _AUTH_SCHEME.sub(lambda m: f"{m['scheme']} {MASK}", out)
    spans: list[tuple[int, int, str]] = []
    for m in _ASSIGN.finditer(out):
        val = m["val"]
        if not is_secret_key(m["key"]) or val.strip("\"'") == MASK:
            continue
        quote = val[0] if val[:1] in "\"'" else ""
        start = m.end()
        if spans and start < spans[-1][1]:
            continue  # inside a value already masked
        spans.append((start, start + len(val), f"{quote}{MASK}{quote}"))
    for start, end, repl in reversed(spans):
        out = out[:start] + repl + out[end:]
    return out
