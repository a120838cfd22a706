"""What the app watches, and switching it: the stack picker (this daemon's stacks or every docker
context's), another service of the watched stack (`]` / `[`), and another docker context's source and feed.

A mixin like RerunFlow (its handlers found by name); it holds the switches while a re-run runs, and holds
the re-run to the daemon the app started on.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from textual.message import Message

from ccci_tui.domain.model import stack_badge
from ccci_tui.tui.rerun_flow import IDLE, RUNNING, RerunFlow
from ccci_tui.tui.stacks import list_stacks
from ccci_tui.tui.view import View

if TYPE_CHECKING:  # the picker, the contexts and the live feed load when first used: a replay paints without them
    from ccci_tui.sources.contexts import ContextAccess, DockerContext
    from ccci_tui.sources.source import LiveSource
    from ccci_tui.sources.swarm import StackSummary
    from ccci_tui.tui.live_feed import LiveFeed
    from ccci_tui.tui.picker_rows import Choice
    from ccci_tui.tui.screens.main import MainScreen

RERUN_HOLDS = "A re-run is running: the stack stays in view until it ends."


class ServicesRead(Message):
    """The services of `stack` (one StackServices), read on a thread for `]` / `[`, or why they could not be."""

    def __init__(self, stack: str, stacks: tuple[Any, ...] | None, error: str | None) -> None:
        super().__init__()
        self.stack, self.stacks, self.error = stack, stacks, error


class _Started(Protocol):
    """What switching reads of the app's options: the source the app started on (the CLI's context)."""

    @property
    def source(self) -> LiveSource | None: ...


class Switching(RerunFlow):
    """Mixed into CcciApp: the picker's actions, `]` / `[`, and the switch to another docker context."""

    options: _Started
    source: LiveSource | None
    contexts: ContextAccess | None
    all_contexts: bool
    context: str | None
    _steps: int = 0  # `]` / `[` presses the services read in flight will apply (`_stepping`)
    _stepping: bool = False

    if TYPE_CHECKING:  # the app's

        @property
        def main(self) -> MainScreen: ...

        def _new_feed(self, stack: str, service: str) -> LiveFeed: ...

    # ---- a stack: this daemon's, or any docker context's --------------------------------

    def action_pick(self) -> None:
        from ccci_tui.tui.screens.picker import PickerScreen

        if self.replay is not None:
            stacks = [_replay_stack(self.main.view)] if self.main.view is not None else []
            self.push_screen(PickerScreen(stacks), self._picked_replay)
            return
        self._open_picker(self.all_contexts)

    def action_pick_contexts(self) -> None:
        """The picker on the stacks of every docker context."""
        if self.replay is not None:
            self.notify("A recording holds one stack: there are no docker contexts to list.", severity="warning")
            return
        self._open_picker(True)

    def _open_picker(self, all_contexts: bool) -> None:
        from ccci_tui.tui.screens.picker import PickerScreen

        if self.source is None:
            self.notify("No swarm to list stacks from.", severity="warning")
            return
        if self.rerun_state == RUNNING:
            self.notify(RERUN_HOLDS, severity="warning")
            return
        if all_contexts and self.contexts is None:
            self.notify("No docker contexts to list here.", severity="warning")
            all_contexts = False
        current = (self.live.stack, self.live.service) if self.live is not None else None
        source = self.source
        picker = PickerScreen(loader=lambda done: list_stacks(source, done), current=current,
                              contexts=self.contexts, all_contexts=all_contexts, context=self.context)
        self.push_screen(picker, lambda choice: self._picked(choice, picker.all_contexts))

    def _picked_replay(self, choice: Choice | None) -> None:
        if (choice is not None and self.replay is not None
                and (choice.stack, choice.service) != (self.replay.stack, self.replay.service)):
            self.notify("A recording holds one service.", severity="warning")

    def _picked(self, choice: Choice | None, all_contexts: bool | None = None) -> None:
        if all_contexts is not None:
            self.all_contexts = all_contexts  # the picker opens next time as it was left
        if choice is None:
            return
        stack, service, context = choice
        if context is not None and not self._reading(context):
            self._switch_context(context, stack, service)
        elif self.live is None:
            self.live = self._new_feed(stack, service)
            self.live.start()
        elif (stack, service) != (self.live.stack, self.live.service):
            self.live.retarget(stack, service)

    # ---- another docker context ---------------------------------------------------------

    def _reading(self, context: DockerContext) -> bool:
        """Whether `source` reads `context` already."""
        return context.name == self.context if self.context is not None else context.current

    def _switch_context(self, context: DockerContext, stack: str, service: str) -> None:
        """Watch `stack`/`service` on `context`: a source for it (the one the app started with for the CLI's
        current context), a new feed on it, and the old feed and the old source closed off the UI thread."""
        if self.rerun_state != IDLE:
            self.notify(f"A re-run is {self.rerun_state}: the daemon stays until it ends.", severity="warning",
                        markup=False)
            return
        assert self.contexts is not None  # only the picker of every context names one
        source = self.options.source if context.current else self.contexts.source(context)
        assert source is not None
        old_feed, old_source = self.live, self.source
        self.source, self.context = source, context.name
        self.live = self._new_feed(stack, service)
        if old_feed is not None:
            if old_feed.tap is not None:
                self.notify(f"Recording to {old_feed.tap.path} stopped: it holds "
                            f"{old_feed.tap.stack}/{old_feed.tap.service} only.", severity="warning", markup=False)
            old_feed.detach(f"the TUI switched to {stack}/{service} on docker context {context.name}")
        owned = old_source if old_source is not self.options.source else None
        if old_feed is not None or owned is not None:
            threading.Thread(target=_retire, args=(old_feed, owned), name="ccci-retire-feed", daemon=True).start()
        self.live.start()
        self.notify(f"{stack}/{service} on docker context {context.name} ({context.host})", title="Watching",
                    markup=False)

    def _rerun_blocked(self) -> str | None:
        if self.source is not self.options.source:
            return (f"The re-run deploys through the daemon ccci-tui started on; this view reads docker context "
                    f"{self.context}. To re-run there, start ccci-tui with DOCKER_CONTEXT={self.context} --write.")
        return super()._rerun_blocked()

    # ---- another service of the watched stack -------------------------------------------

    def _switch_refused(self) -> str:
        """Why the watched service cannot change now; empty when it can."""
        if self.replay is not None:
            return (f"A recording holds one service ({self.replay.stack}/{self.replay.service}): "
                    "there is no other to switch to.")
        if self.live is None or self.source is None:
            return "No stack chosen yet: press s to pick a stack and service."
        if self.rerun_state == RUNNING:
            return RERUN_HOLDS
        return ""

    def action_pick_service(self) -> None:
        """The picker, limited to the watched stack's services (read on a thread), the watched one highlighted."""
        from ccci_tui.tui.screens.picker import PickerScreen

        refused = self._switch_refused()
        if refused:
            self.notify(refused, severity="warning", markup=False)
            return
        assert self.live is not None
        source, stack = self.source, self.live.stack
        self.push_screen(PickerScreen(loader=lambda done: list_stacks(source, done, stack),
                                      current=(stack, self.live.service), stack=stack), self._picked)

    def action_step_service(self, steps: int) -> None:
        """Watch the service `steps` places on in the stack (wrapping), once its services are read."""
        refused = self._switch_refused()
        if refused:
            self.notify(refused, severity="warning", markup=False)
            return
        assert self.live is not None
        self._steps += steps
        if self._stepping:
            return  # the read in flight applies this press too
        self._stepping = True
        stack = self.live.stack
        list_stacks(self.source, lambda found, error: self._post(ServicesRead(stack, found, error)), stack)

    def on_services_read(self, message: ServicesRead) -> None:
        from ccci_tui.tui.picker_rows import short_service, step_service

        steps, self._steps, self._stepping = self._steps, 0, False
        live, stack = self.live, message.stack
        if live is None or live.stack != stack:
            return  # another stack was picked meanwhile: the steps were within the old one
        if self.rerun_state == RUNNING:
            self.notify(RERUN_HOLDS, severity="warning", markup=False)
            return
        if message.error is not None or not message.stacks:
            self.notify(f"Cannot list the services of {stack}: {message.error}", severity="error", markup=False)
            return
        names = [short_service(stack, name) for name in message.stacks[0].services]
        target = step_service(names, live.service, steps)
        if target is None or names == [live.service]:
            self.notify(f"{stack} has no other service than {live.service}.", markup=False)
            return
        if target == live.service:
            return  # as many steps back as forth
        live.retarget(stack, target)
        self.notify(f"{stack}/{target} ({names.index(target) + 1} of {len(names)} services)", title="Watching",
                    markup=False)


def close_source(source: Any) -> None:
    """Close a source that can be closed (a test's stand-in may have no `close`)."""
    close = getattr(source, "close", None)
    if close is not None:
        close()


def _retire(feed: LiveFeed | None, source: Any) -> None:
    """Stop an old feed's watch threads, then close the source the app opened for it (if any)."""
    if feed is not None:
        feed.close(timeout=1.0)
    if source is not None:
        close_source(source)


def _replay_stack(view: View) -> StackSummary:
    """The one stack a recording holds, as the swarm source lists stacks."""
    from ccci_tui.sources.swarm import StackSummary

    st = view.observation.service.update_status if view.observation and view.observation.service else None
    return StackSummary(view.stack, (f"{view.stack}_{view.service}",), stack_badge([st.state] if st else []))
