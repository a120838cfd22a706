"""A DataTable updated in place: rows diffed by key, changed cells only, cursor kept on its row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

Row = tuple[str, Sequence[Any]]


class KeyCell(Text):
    """A first-column cell that carries its row key: `DataTable.sort` shows a key function only values."""

    def __init__(self, text: str | Text, row_key: str, style: str = "") -> None:
        if isinstance(text, Text):
            super().__init__(text.plain, style=text.style)
            self.spans = list(text.spans)
        else:
            super().__init__(text, style=style)
        self.row_key = row_key


class SyncedTable(DataTable[Any]):
    """`sync(rows)` makes the table show `rows` in that order with the fewest changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cells: dict[str, tuple[Any, ...]] = {}
        self._order: list[str] = []

    def sync(self, rows: Sequence[Row]) -> bool:
        """Show `rows` ((key, cells) in display order); returns whether anything changed."""
        wanted = [key for key, _ in rows]
        changed = False
        cursor_key = self.cursor_key()
        columns = list(self.columns)
        with self.app.batch_update():
            present = {key for key, _ in rows}
            for key in [k for k in self._order if k not in present]:
                self.remove_row(key)
                del self._cells[key]
                changed = True
            kept = [k for k in self._order if k in present]
            added: list[str] = []
            for key, cells in rows:
                cells = tuple(cells)
                old = self._cells.get(key)
                if old is cells:
                    continue  # the caller's row cache handed back the very same row
                if old is None:
                    self.add_row(*cells, key=key)
                    added.append(key)
                    changed = True
                elif not _same_row(old, cells):
                    for col, a, b in zip(columns, old, cells, strict=False):
                        if not _same(a, b):
                            self.update_cell(key, col, b, update_width=self._wider(col, b))
                    changed = True
                self._cells[key] = cells
            if kept + added != wanted:
                rank = {key: i for i, key in enumerate(wanted)}
                self.sort(key=lambda values: _rank_of(values, rank))
            self._order = wanted
            if cursor_key is not None and cursor_key in present:
                index = self.get_row_index(cursor_key)
                if index != self.cursor_row:
                    self.move_cursor(row=index, animate=False, scroll=False)
        return changed

    def _wider(self, column: Any, value: Any) -> bool:
        """Whether `value` needs a wider column. Columns only grow: Textual re-measures every cell
        of a column when one of them shrinks, which costs O(rows) per updated cell."""
        width = value.cell_len if isinstance(value, Text) else len(str(value))
        col = self.columns.get(column)
        return col is None or width > col.content_width

    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - no cell under the cursor (empty or shrinking table)
            return None
        return str(key.value) if key.value is not None else None

    def move_to_key(self, key: str, scroll: bool = True) -> bool:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index, animate=False, scroll=scroll)
        return True


def _rank_of(values: tuple[Any, ...], rank: dict[str, int]) -> int:
    first = values[0]
    return rank.get(first.row_key, len(rank)) if isinstance(first, KeyCell) else len(rank)


def _same(a: Any, b: Any) -> bool:
    # rich's Text equality ignores the base style; a row turning dim must count as a change
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.spans == b.spans and a.style == b.style
    return bool(a == b)


def _same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
