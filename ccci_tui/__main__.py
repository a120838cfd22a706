"""Allow `python -m ccci_tui`."""

from __future__ import annotations

import sys

from ccci_tui.cli import main

sys.exit(main())
