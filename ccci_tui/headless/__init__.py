"""Headless commands for CI and scripts: diagnose, mark, wait, compare."""
