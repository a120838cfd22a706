"""`ccci-tui --demo` paints its first screen without what that screen does not show.

The demo runs through the CLI in a fresh interpreter, headless, until the app is settled with the
verdict on screen; then the modules loaded so far are compared with those that must load only when
first used: compare, the re-run, export, the picker, the live feed, the docker SDK, git and PyYAML.
Loading one of them again before the first paint fails here, whatever it costs on this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# The first paint of a replay must not load these (each name also stands for its submodules).
# ccci_tui.domain.compose is not among them: the recording holds the compose policies, and the codec
# decodes them into its dataclasses; its YAML loader is deferred (`yaml` below).
NOT_BEFORE_FIRST_PAINT = (
    "docker", "requests", "urllib3", "paramiko", "git", "yaml",
    "ccci_tui.headless", "ccci_tui.upgrade",
    "ccci_tui.domain.compare", "ccci_tui.domain.preflight", "ccci_tui.domain.report",
    "ccci_tui.sources.contexts", "ccci_tui.sources.swarm", "ccci_tui.sources.engine_api",
    "ccci_tui.sources.live", "ccci_tui.sources.recipe", "ccci_tui.sources.target", "ccci_tui.sources.preflight",
    "ccci_tui.tui.compare_source", "ccci_tui.tui.live_feed", "ccci_tui.tui.recording_tap",
    "ccci_tui.tui.rerunner", "ccci_tui.tui.picker_rows",
    "ccci_tui.tui.screens.compare", "ccci_tui.tui.screens.rerun", "ccci_tui.tui.screens.picker",
    "ccci_tui.tui.screens.help", "ccci_tui.tui.screens.evidence",
)

# `ccci-tui --demo` as the CLI runs it, headless; exits once the first screen shows the verdict
_DEMO = """
import json, sys
from ccci_tui.tui.app import CcciApp

shown = {}

async def first_paint(pilot):
    await pilot.app.wait_settled()
    view = pilot.app.main.view
    shown["verdict"] = view.verdict.kind if view is not None and view.verdict is not None else None
    shown["modules"] = sorted(sys.modules)
    pilot.app.exit(0)

run = CcciApp.run
CcciApp.run = lambda self: run(self, headless=True, size=(120, 36), auto_pilot=first_paint)
from ccci_tui.cli import main

code = main(["--demo"])
print(json.dumps({"code": code, **shown}))
"""


def _demo_first_paint(tmp_path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "CCCI_TUI_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no user config: the defaults
    proc = subprocess.run([sys.executable, "-c", _DEMO], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_the_demo_paints_its_verdict_without_what_the_first_screen_does_not_show(tmp_path: Path) -> None:
    result = _demo_first_paint(tmp_path)
    assert result["code"] == 0
    assert result["verdict"] == "swarm-rollback"  # the screen really was painted, with the demo's verdict
    modules = result["modules"]
    assert isinstance(modules, list)
    assert "ccci_tui.tui.screens.main" in modules and "ccci_tui.sources.recording" in modules
    early = sorted(m for m in modules
                   if any(m == name or m.startswith(name + ".") for name in NOT_BEFORE_FIRST_PAINT))
    assert early == [], f"loaded before the first paint of --demo: {', '.join(early)}"
