"""Command-line options more than one entry point takes (argparse only: nothing else is imported)."""

from __future__ import annotations

import argparse


def node_args(p: argparse.ArgumentParser, dest_prefix: str = "") -> None:
    """Where the engines of the swarm's other nodes are: a task's container facts come from its own node."""
    p.add_argument("--node-host", dest=f"{dest_prefix}node_host", action="append", metavar="NODE=DOCKER_HOST",
                   help="the engine on NODE (hostname or id): unix://, tcp:// or ssh://; repeatable; also "
                   "[nodes] in config.toml")
    p.add_argument("--nodes-ssh", dest=f"{dest_prefix}nodes_ssh", metavar="USER",
                   help="reach every other node as ssh://USER@<its address from node inspect>")
