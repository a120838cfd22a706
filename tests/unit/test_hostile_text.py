"""Labels, commit subjects and task errors with markup, ANSI escapes, huge lines or bad UTF-8 print literally."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import Observation, RecipeState, ServiceState, SpecSummary, TagInfo, TaskState, UpdateStatus
from ccci_tui.domain.text import printable
from ccci_tui.domain.verdict import Expectation
from ccci_tui.headless.render import emit

HOSTILE = [
    "[skip ci] fix",
    "[/]",
    "[bold red]boom[/bold red] [link=http://x]x[/link]",
    "\x1b[2J\x1b[31mred\x1b]0;title\x07",
    "bidi \u202egnp.exe",
    "x" * 20000,
    "bad \udcff\udcfe bytes",
    "line1\nline2\rline3",
]
T = datetime(2026, 11, 27, 18, tzinfo=UTC)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _verdict(text: str):
    spec = SpecSummary(labels={"com.docker.stack.namespace": "s", "coop-cloud.s.chaos-version": text,
                               "coop-cloud.s.version": text}, image=text, template_fp="fp")
    status = UpdateStatus("rollback_completed", T, T, text)
    task = TaskState(id="t1aaaaaaaaaa", slot=1, node_id="n", desired="shutdown", state="failed", err=text,
                     exit_code=137, spec_fp="other")
    obs = Observation(T, ServiceState("id", "s_app", "s", 5, spec, None, status), (task,))
    recipe = RecipeState(path=text, head_sha="7ae7b0f7" + "0" * 32, head_subject=text, describe=text,
                         tags=(TagInfo(text, "7ae7b0f7" + "0" * 32),))
    return diagnose(obs, recipe, Expectation(intent=text))


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_reports_show_hostile_text_literally(text, fmt, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    verdict = _verdict(text)
    for stream in (io.StringIO(), Tty()):
        emit(verdict, fmt, {"stack": text}, (text,), stream=stream)
        out = stream.getvalue()
        if fmt == "json":
            json.loads(out)
            continue
        body = out.split("\x1b[0m")  # rich's own colour codes end with this; anything else is ours
        assert "\x1b[2J" not in out and "\x07" not in out and "\u202e" not in out
        assert "\udcff" not in out and len(max(out.splitlines(), key=len)) < 5000
        if text.startswith("[") and fmt == "text":
            assert text in "".join(body)  # markup printed as written, not interpreted


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_printable_is_total_and_safe(text):
    out = printable(text, limit=100)
    out.encode("utf-8")  # never a lone surrogate
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
    assert len(out) <= 100 + len("… (  more characters)") + 12
