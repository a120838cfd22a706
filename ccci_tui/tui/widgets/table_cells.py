"""What the synced tables' rows are made of: keyed rows of cells, a first cell that knows its row, a
message naming a row's task, and the equality that decides whether a row changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.message import Message

Row = tuple[str, Sequence[Any]]


class TaskMessage(Message):
    """A table's row names a task (None: the row is about no task)."""

    def __init__(self, task_id: str | None) -> None:
        super().__init__()
        self.task_id = task_id


class KeyCell(Text):
    """A first-column cell that carries its row key (kept for callers that sort by it)."""

    def __init__(self, text: str | Text, row_key: str, style: str = "") -> None:
        if isinstance(text, Text):
            super().__init__(text.plain, style=text.style)
            self.spans = list(text.spans)
        else:
            super().__init__(text, style=style)
        self.row_key = row_key


def as_text(value: Any) -> Text:
    return value if isinstance(value, Text) else Text(str(value))


def _same(a: Any, b: Any) -> bool:
    # rich's Text equality ignores the base style; a row turning dim must count as a change
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.spans == b.spans and a.style == b.style
    return bool(a == b)


def same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
