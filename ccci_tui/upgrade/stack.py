"""The stamp overlay abra's chaos deploy amounts to: the labels (and optionally an update order) for a service."""

from __future__ import annotations

import yaml

from ccci_tui.domain.stamp import chaos_key, stamp_key


def stamp_overlay(stack: str, stamp: str, service: str = "app", order: str | None = None) -> str:
    """Compose overlay adding abra's chaos labels (and optionally an update order) to `service`."""
    deploy: dict[str, object] = {
        "labels": {chaos_key(stack): "true", stamp_key(stack): stamp},
    }
    if order is not None:
        if order not in ("stop-first", "start-first"):
            raise ValueError(f"order must be stop-first or start-first, not {order!r}")
        deploy["update_config"] = {"order": order}
    doc = {"version": "3.8", "services": {service: {"deploy": deploy}}}
    # every scalar double-quoted: docker reads compose as YAML 1.2, where a short hash such as
    # 71077e77 is a float (the label would read 7.1077e+81) and 01234567 an integer
    return yaml.safe_dump(doc, sort_keys=False, default_style='"')
