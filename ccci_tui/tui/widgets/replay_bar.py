"""Replay controls: previous/next entry, play/pause at 1x or 10x, first failure, and where the cursor is."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ccci_tui.tui.format import abs_time, is_deploy, rel_time
from ccci_tui.tui.view import View


class ReplayBar(Horizontal):
    """Buttons run the screen's replay actions, so mouse and keys do exactly the same thing."""

    def compose(self) -> ComposeResult:
        yield Button("◀ prev", id="replay-prev", compact=True, action="screen.replay_prev")
        yield Button("play ▶", id="replay-play", compact=True, action="screen.replay_play")
        yield Button("next ▶|", id="replay-next", compact=True, action="screen.replay_next")
        yield Button("1x", id="replay-speed", compact=True, action="screen.replay_speed")
        yield Button("first failure", id="replay-failure", compact=True, action="screen.replay_failure")
        yield Static("", id="replay-where")

    def show(self, view: View, playing: bool, speed: int) -> None:
        self.query_one("#replay-play", Button).label = "pause ‖" if playing else "play ▶"
        self.query_one("#replay-speed", Button).label = f"{speed}x"
        entry = view.cursor_entry
        where = Text()
        if entry is not None and view.cursor is not None:
            where.append(f"{abs_time(entry.at)} UTC", style="bold")
            anchor = next((e.at for e in reversed(view.timeline.entries[: view.cursor + 1])
                           if is_deploy(e)), None)
            if anchor is not None:
                where.append(f" ({rel_time(entry.at, anchor)})")
            where.append(f"  entry {view.cursor + 1}/{len(view.timeline.entries)}")
        else:
            where.append("empty recording", style="italic")
        self.query_one("#replay-where", Static).update(where)
