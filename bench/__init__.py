"""Benchmarks against the lab swarm: `python -m bench [NAME ...] [--quick]`."""

from __future__ import annotations
