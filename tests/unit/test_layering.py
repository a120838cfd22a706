"""The domain stays pure, and the headless path stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ccci_tui.domain

DOMAIN = Path(ccci_tui.domain.__file__).parent


def test_domain_imports_no_textual_docker_or_git():
    code = (
        "import sys, importlib, pkgutil, ccci_tui.domain as d\n"
        "for m in pkgutil.iter_modules(d.__path__): importlib.import_module('ccci_tui.domain.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'textual', 'docker', 'git', 'requests'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"domain pulled in: {out}"
    assert len(list(DOMAIN.glob("*.py"))) >= 4  # the check above really imported modules


def test_the_import_contracts_hold():
    """The layers of DESIGN.md section 4 and no import cycles, as pyproject.toml's contracts state them."""
    root = Path(__file__).resolve().parents[2]
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint)], capture_output=True, text=True, cwd=root, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout  # the three contracts were all read and checked
