"""Read what `preflight` weighs: the head's compose policy, each of its services as it runs now (memory
sampled), and every node's context. Reads only; the weighing is domain/preflight.py."""

from __future__ import annotations

from pathlib import Path

from ccci_tui.domain.model import Observation
from ccci_tui.domain.preflight import Preflight, preflight
from ccci_tui.sources.swarm import SwarmSource


def read_preflight(source: SwarmSource, stack: str, recipe: Path, chain: tuple[str, ...], env: dict[str, str] | None,
                   head: str | None, order: str | None) -> Preflight:
    """The facts preflight weighs, read: the head's policy, each of its services as it runs (memory sampled), and
    every node's context. Raises RecipeError or ComposeError naming the ref or file, SwarmError for the swarm."""
    from ccci_tui.sources.recipe import RecipeSource

    head_ref = head or "HEAD"
    with RecipeSource(recipe) as src:  # the head alone: a chain file it lacks is an error naming the file
        _, policy = src.policies_at({"head": head_ref}, chain, {**(env or {}), "STACK_NAME": stack})["head"]
    running = {s.name for s in source.services(stack)}
    observed: dict[str, Observation] = {}
    for name in policy.services:
        if f"{stack}_{name}" not in running:
            continue
        first = source.observe(stack, name)
        source.sample_memory(first)  # current and peak of the old tasks on this node
        observed[name] = source.observe(stack, name)
    nodes = source.node_contexts(source.node_ids())  # those the sampling just read are not read again
    return preflight(stack, head_ref, policy, observed, nodes, order)
