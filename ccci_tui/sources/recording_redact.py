"""Redaction of encoded trees before they reach a recording, and the recorder's cached observation trees."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ccci_tui.domain.codec import Tree, encode
from ccci_tui.domain.model import Observation, SpecSummary, TaskState
from ccci_tui.domain.redact import redact_mapping, redact_text

# Keys whose string values are identifiers, times or fixed vocabulary: no secret can hide there,
# and skipping them keeps the recorder cheap.
_PLAIN_KEYS = frozenset({
    "id", "node_id", "container_id", "task_id", "spec_fp", "template_fp", "sha", "head_sha", "at",
    "created_at", "updated_at", "started_at", "completed_at", "created", "state", "desired", "role",
    "kind", "type", "action", "mode", "order", "format", "version", "tool_version", "source_kind",
})
# Keys whose value is a label, attribute or env mapping: masked by key as well as by value.
_MAPPING_KEYS = frozenset({"labels", "attributes", "env"})


@lru_cache(maxsize=16384)
def _text(value: str) -> str:
    return redact_text(value)  # cached: a watch records the same strings over and over


def redact_tree(tree: Any, key: str = "") -> Any:
    """A copy of `tree` with secrets masked: secret-looking keys of mappings, secrets inside text."""
    if isinstance(tree, str):
        return tree if key in _PLAIN_KEYS else _text(tree)
    if isinstance(tree, list):
        return [redact_tree(v, key) for v in tree]
    if isinstance(tree, dict):
        if key in _MAPPING_KEYS:
            masked = redact_mapping({k: v for k, v in tree.items() if isinstance(v, str)})
            return {k: _text(masked[k]) if k in masked else redact_tree(v, k) for k, v in tree.items()}
        return {k: redact_tree(v, k) for k, v in tree.items()}
    return tree


# ---- the recorder's path -------------------------------------------------------------------------
# A watch reads the same tasks and specs over and over; their redacted trees are built once.
# Trees are never changed after they are made (deltas build new ones), so sharing them is safe.
_SPEC_TREES: dict[tuple[Any, ...], Tree] = {}
_CACHE_MAX = 1024


@lru_cache(maxsize=4096)
def _task_tree(task: TaskState) -> Tree:
    return redact_tree(encode(task))  # type: ignore[no-any-return]


def _spec_tree(spec: SpecSummary) -> Tree:
    key = (tuple(spec.labels.items()), spec.image, spec.template_fp, spec.update_config, spec.rollback_config,
           spec.replicas, spec.mode, spec.memory_limit, spec.memory_reservation, spec.healthcheck,
           spec.monitor_hint_s)
    tree = _SPEC_TREES.get(key)
    if tree is None:
        if len(_SPEC_TREES) >= _CACHE_MAX:
            _SPEC_TREES.clear()
        tree = _SPEC_TREES[key] = redact_tree(encode(spec))
    return tree


def redacted_observation_tree(obs: Observation) -> Tree:
    """`redact_tree(encode_observation(obs))`, with the trees of known tasks and specs reused."""
    svc = obs.service
    service: Tree | None = None
    if svc is not None:
        service = redact_tree(encode(svc, skip=("spec", "previous_spec")))
        service["spec"] = _spec_tree(svc.spec)
        if svc.previous_spec is not None:
            service["previous_spec"] = _spec_tree(svc.previous_spec)
    tree: Tree = {"service": service, "tasks": {t.id: _task_tree(t) for t in obs.tasks},
                  "order": [t.id for t in obs.tasks]}
    if obs.error is not None:
        tree["error"] = _text(obs.error)
    if obs.nodes:
        tree["nodes"] = {n.id: redact_tree(encode(n)) for n in obs.nodes}
    return tree
