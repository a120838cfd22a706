"""The stamp overlay keeps every value a string whatever YAML version reads it."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from ccci_tui.domain.stamp import stamp_key
from ccci_tui.upgrade.stack import stamp_overlay

# short hashes that YAML 1.2 (docker's compose loader) would read as numbers if left plain
NUMBER_LIKE = ["71077e77", "170516e5", "01234567", "12345678", "0e123456", "1e100000"]


def _label_node(text: str, key: str) -> yaml.ScalarNode:
    root = yaml.compose(text)
    node = root
    for name in ("services", "app", "deploy", "labels", key):
        node = next(v for k, v in node.value if k.value == name)
    assert isinstance(node, yaml.ScalarNode)
    return node


@given(st.sampled_from(NUMBER_LIKE) | st.text("0123456789abcdef", min_size=8, max_size=8), st.booleans())
def test_stamp_is_a_quoted_string(sha: str, dirty: bool) -> None:
    stamp = sha + ("+U" if dirty else "")
    text = stamp_overlay("disc_example_com", stamp, order="stop-first")
    node = _label_node(text, stamp_key("disc_example_com"))
    assert (node.style, node.value) == ('"', stamp)
    assert yaml.safe_load(text)["services"]["app"]["deploy"]["update_config"] == {"order": "stop-first"}
