"""Command line entry point `ccci-tui`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ccci_tui import __version__

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_IN_PROGRESS = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ccci-tui",
        description="Diagnose drift in Co-op Cloud recipe upgrades on Docker Swarm.",
    )
    parser.add_argument("--version", action="version", version=f"ccci-tui {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
