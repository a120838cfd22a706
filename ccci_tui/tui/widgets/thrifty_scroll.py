"""A scroll view whose scrollbars are redrawn only when their thumb moves.

A live table grows by a row or two per refresh; that rarely moves a thumb by one of the eighths of a
cell it is drawn in, and each redraw of a bar costs more than the rows changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from math import ceil
from typing import Any

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar


class ThriftyScrollView(ScrollView):
    """A ScrollView that sets its bars' sizes and positions without redrawing them, then redraws a bar
    only if the thumb it shows moved (`updating()` batches a whole refresh into one such check)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batching = 0
        self._bars_set: set[ScrollBar] = set()  # bars given new sizes or a new position in this batch
        self._bars_drawn: dict[ScrollBar, tuple[int, int, int]] = {}  # bar -> the thumb it was last drawn with

    def _scroll_update(self, virtual_size: Size) -> None:
        self._refresh_scrollbars()
        width, height = self.container_size
        if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
            self._set_bar(self.vertical_scrollbar, window_virtual_size=virtual_size.height,
                          window_size=height - self.scrollbar_size_horizontal)
        if self.show_horizontal_scrollbar and self.styles.scrollbar_size_horizontal:
            self._set_bar(self.horizontal_scrollbar, window_virtual_size=virtual_size.width,
                          window_size=width - self.scrollbar_size_vertical)
        self.scroll_x = self.validate_scroll_x(self.scroll_x)
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    @contextmanager
    def updating(self) -> Iterator[None]:
        """Rows, cursor and scroll changed inside redraw a scrollbar once, at the end, if its thumb moved
        (more rows, then a scroll to follow them, often leave it where it was)."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
            if not self._batching:
                self._check_bars()

    def _set_bar(self, bar: ScrollBar, **values: float) -> None:
        for name, value in values.items():
            bar.set_reactive(getattr(ScrollBar, name), value)
        self._bars_set.add(bar)
        if not self._batching:
            self._check_bars()

    def _check_bars(self) -> None:
        for bar in self._bars_set:
            thumb = _thumb(bar)
            if not bar.is_mounted or thumb is None or self._bars_drawn.get(bar) != thumb:
                bar.refresh()
            if bar.is_mounted and thumb is not None:
                self._bars_drawn[bar] = thumb
            else:  # a bar not mounted yet loses a refresh: ask again next time
                self._bars_drawn.pop(bar, None)
        self._bars_set.clear()

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        if self.show_horizontal_scrollbar:
            self._set_bar(self.horizontal_scrollbar, position=new_value)
        if round(old_value) != round(new_value):
            self.refresh(self.size.region)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        if self.show_vertical_scrollbar:
            self._set_bar(self.vertical_scrollbar, position=new_value)
        if round(old_value) != round(new_value):
            self.refresh(self.size.region)


def _thumb(bar: ScrollBar) -> tuple[int, int, int] | None:
    """Where `bar` draws its thumb, in eighths of a cell (ScrollBar._render_bar and
    ScrollBarRender.render_bar in Textual 8.2, which pyproject pins)."""
    virtual = ceil(bar.window_virtual_size)
    window = ceil(bar.window_size if bar.window_size < bar.window_virtual_size else 0)
    size = bar.size.height if bar.vertical else bar.size.width
    if not (window and size and virtual and size != virtual):
        return None
    thumb = max(1, window / (virtual / size))
    start = int((size - thumb) * (bar.position / (virtual - window)) * 8)
    return size, start, start + ceil(thumb * 8)
