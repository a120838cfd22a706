"""Every command of the TUI in one table: its key, action, palette title, help row, footer label and
when it applies. The app's and the main screen's bindings, the footer, the help screen and the command
palette are all built from it, so a command cannot be in one and missing from another."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding, BindingType

ALWAYS, LIVE, REPLAY, WRITE = "always", "live", "replay", "write"  # WRITE: live, started with --write
APP, MAIN = "app", "main"  # where the action lives: the app (every screen) or the main screen
# key, order: each order has its own key, so what runs is never a radio button away from what was meant
ORDER_KEYS = (("S", "stop-first"), ("T", "start-first"))
# the picker's own key (a binding of its screen): its stacks from this daemon / from every docker context
CONTEXTS_KEY = "ctrl+o"


@dataclass(frozen=True)
class Command:
    """One command; an empty `title` keeps it out of the palette, an empty `help_text` out of help."""

    key: str  # Textual key names, comma-separated; "" for a help row that is no binding (Enter on a row)
    action: str  # the action on its scope, e.g. "help" or "pane('tasks')"
    scope: str = MAIN
    title: str = ""  # palette title
    description: str = ""  # palette help
    footer: str = ""  # footer label ("" = not in the footer); footer order is table order
    help_key: str = ""  # the help screen's key column (default: `key`)
    help_text: str = ""
    when: str = ALWAYS


def _pane(number: int, name: str) -> Command:
    title = name.capitalize()
    return Command(str(number), f"pane('{name}')", title=f"Show {title} pane", description=f"Focus the {name} pane",
                   help_key="1 2 3 4" if number == 1 else "",
                   help_text="recipe, spec, tasks, timeline pane (one at a time under 100 columns)"
                   if number == 1 else "")


COMMANDS: tuple[Command, ...] = (
    Command("v", "evidence", title="Evidence", description="The verdict's evidence lines and next step",
            footer="Evidence", help_key="v / Enter on the banner", help_text="the verdict's evidence"),
    *(Command(key, f"rerun_order('{order}')", APP, f"Re-run the upgrade {order}",
              f"Redeploy base and head with {order} (key {key}); shows the exact plan first", f"Re-run {order}",
              help_key="S / T" if key == "S" else "",
              help_text="re-run the upgrade stop-first / start-first: shows the plan, asks for the stack name"
              if key == "S" else "", when=WRITE)
      for key, order in ORDER_KEYS),
    Command("n", "replay_next", title="Next entry", description="Replay: move to the next timeline entry",
            footer="Next", help_key="n / p", help_text="next / previous timeline entry", when=REPLAY),
    Command("p", "replay_prev", title="Previous entry", description="Replay: move to the previous timeline entry",
            footer="Prev", when=REPLAY),
    Command("space", "replay_play", title="Play or pause", description="Replay at the recording's pace",
            footer="Play", help_text="play / pause", when=REPLAY),
    Command("f", "replay_failure", title="First failure", description="Replay: jump to the first failed task",
            footer="Failure", help_text="jump to the first failure", when=REPLAY),
    Command("question_mark,f1", "help", APP, "Help", "What each pane shows and every key", "Help",
            help_key="? / F1", help_text="this help"),
    Command("q", "quit", APP, footer="Quit", help_text="quit"),
    Command("s", "pick", APP, "Pick stack and service", "Every stack with its badge, filtered as you type",
            "Stacks", help_text="pick a stack and service"),
    Command("", "pick_contexts", APP, "Stacks of every docker context",
            "The picker listing the stacks of every docker context (abra's servers), read at once",
            help_key=f"{CONTEXTS_KEY} in the picker", help_text="stacks of this daemon / of every docker context",
            when=LIVE),
    Command("w", "pick_service", APP, "Services of this stack",
            "The watched stack's services with their update state; the watched one highlighted",
            help_text="pick another service of this stack", when=LIVE),
    Command("right_square_bracket", "step_service(1)", APP, "Next service",
            "Watch the next service of this stack (wraps)", help_key="] / [",
            help_text="next / previous service of this stack", when=LIVE),
    Command("left_square_bracket", "step_service(-1)", APP, "Previous service",
            "Watch the previous service of this stack (wraps)", when=LIVE),
    Command("c", "compare", APP, "Compare base and head", "Effective update policy with risk notes", "Compare",
            help_text="compare base and head compose policy"),
    Command("e", "export", APP, "Export verdict", "Markdown to a file and to the clipboard", "Export",
            help_text="export the verdict as Markdown (file + clipboard)"),
    Command("x", "replay_speed", title="Speed 1x/10x", description="Replay speed", help_text="speed 1x / 10x",
            when=REPLAY),
    Command("t", "toggle_time", title="Toggle absolute times",
            description="Timeline times relative to the deploy or absolute",
            help_text="timeline times: relative to the deploy / absolute UTC"),
    *(_pane(i, name) for i, name in enumerate(("recipe", "spec", "tasks", "timeline"), 1)),
    Command("", "", help_key="Enter on a task", help_text="the task in full"),
    Command("", "", help_key="Enter on an entry", help_text="move the cursor there", when=REPLAY),
    Command("ctrl+r", "refresh", APP, "Refresh", "Read the service and the recipe again now",
            help_text="read again now (live)", when=LIVE),
)


def applies(command: Command, replay: bool, write: bool) -> bool:
    """Whether `command` does anything in this app: a replay, or live (and started with --write)."""
    if command.when == REPLAY:
        return replay
    if command.when == LIVE:
        return not replay
    if command.when == WRITE:
        return write and not replay
    return True


def app_bindings() -> list[BindingType]:
    """The app's own bindings, answered on every screen; the footer shows them from the main screen."""
    bindings: list[BindingType] = [Binding(c.key, c.action, c.title or c.footer, show=False)
                for c in COMMANDS if c.scope == APP and c.key and c.when != WRITE]
    # the re-run keys answer even read-only, with the reason they are refused (rerun_flow.action_rerun)
    bindings += [Binding(key, f"rerun('{order}')", f"Re-run {order}", show=False) for key, order in ORDER_KEYS]
    bindings.append(Binding("R", "rerun", "Re-run", show=False))
    return bindings


def main_bindings() -> list[BindingType]:
    """The main screen's bindings in footer order: its own actions, and the app's that the footer shows."""
    out: list[BindingType] = []
    for c in COMMANDS:
        if not c.key or (c.scope == APP and not c.footer):
            continue
        action = f"app.{c.action}" if c.scope == APP else c.action
        key = c.key.split(",")[0] if c.scope == APP else c.key  # the app answers the other keys itself
        out.append(Binding(key, action, c.footer or c.title, show=bool(c.footer)))
    return out


def help_rows(replay: bool, write: bool) -> Iterator[tuple[str, str]]:
    """(key, what it does) for the help screen; a refused re-run says why."""
    for c in COMMANDS:
        if not c.help_text:
            continue
        if c.when == WRITE:  # listed either way, so the keys explain themselves
            yield c.help_key or c.key, c.help_text if applies(c, replay, write) else \
                "re-run stop-first / start-first (refused: start with --write)"
        elif applies(c, replay, write):
            yield c.help_key or c.key, c.help_text
