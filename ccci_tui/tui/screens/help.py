"""Help: what each pane shows, what live/stale/replay mean, and every key."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding

from ccci_tui.tui.screens.page import Page

ABOUT = (
    ("banner", "the verdict: what happened, in one sentence, coloured by severity (✔ ok, … in progress, "
               "✖ drift); Enter or a click opens the evidence"),
    ("recipe", "the checkout: HEAD, describe, dirty files (abra stamps +U), newest tags, and what the Spec "
               "stamp, the PreviousSpec stamp and the expected head point to"),
    ("spec", "Spec, PreviousSpec and the attempted spec side by side; cells differing from the Spec are "
             "highlighted; an automatic rollback erases PreviousSpec and the pane says so"),
    ("tasks", "every task per slot: which spec it ran, state, desired state, exit code, OOM flag, memory "
              "against the limit, and the error; Enter shows one task in full"),
    ("timeline", "UpdateStatus transitions, spec writes, task changes and oom/die/health events, timed from "
                 "the deploy (t: absolute UTC); moving over an entry marks its task with ▶"),
    ("header", "LIVE: reading the swarm; STALE: the daemon stopped answering, the last read is shown and "
               "reads are retried with backoff; REPLAY: a recording, stepped with the replay keys"),
    ("replay", "panes show the state at the cursor's entry (▶); later entries are dimmed; play runs at the "
               "recording's pace (1x or 10x) with idle gaps shortened to 5 s"),
    ("read-only", "nothing here changes a swarm unless the app was started with --write"),
)


def help_renderable(keys: Iterable[tuple[str, str]]) -> Group:
    about = Table.grid(padding=(0, 2), expand=True)
    about.add_column(style="bold", no_wrap=True)
    about.add_column(ratio=1)
    for name, text in ABOUT:
        about.add_row(name, text)
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    for key, description in keys:
        table.add_row(key, description)
    table.add_row("ctrl+p", "command palette: every action, searchable")
    return Group(about, Text("\nkeys", style="bold underline"), table)


class HelpScreen(Page):
    """A scrollable page; any of Escape, q, ? or F1 closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__("help-box", "ccci-tui help", help_renderable(keys))
        self.keys = keys
