"""The picker's rows: a stack's services with their state, every stack with its badge, or every docker
context's stacks under its heading; filtered by a query. Built as OptionList options, off any screen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from rich.text import Text
from textual.widgets.option_list import Option

from ccci_tui.domain.model import ServiceState, stack_badge
from ccci_tui.sources.contexts import ContextStacks, DockerContext
from ccci_tui.tui.format import safe
from ccci_tui.tui.stacks import StackServices

ID_SEP = "\x00"  # between the parts of an option id (context, stack, service)
_MADE_KEPT = 20_000  # options picker_options keeps for later keystrokes (its `made`)
BADGES = {"updating": "… updating", "rollback": "✖ rollback", "paused": "✖ paused", "ok": "✔ ok"}


class Choice(NamedTuple):
    """What the picker returns: a stack's service, and the docker context it is on (None: this daemon)."""

    stack: str
    service: str
    context: DockerContext | None = None


def short_service(stack: str, name: str) -> str:
    return name[len(stack) + 1:] if name.startswith(f"{stack}_") else name


def step_service(services: Sequence[str], current: str, steps: int) -> str | None:
    """The service `steps` places after `current` in `services`, wrapping (before it when negative);
    from a `current` that is not listed, the first (or last) counts as one step. None when empty."""
    if not services:
        return None
    if current in services:
        return services[(services.index(current) + steps) % len(services)]
    return services[(steps - 1) % len(services)] if steps > 0 else services[steps % len(services)]


def matches(query: str, stack: str, service: str, context: str = "") -> bool:
    """Every word of the query appears in `stack/service` (`context/stack/service` with a context;
    case-insensitive)."""
    hay = (f"{context}/{stack}/{service}" if context else f"{stack}/{service}").lower()
    return all(word in hay for word in query.lower().split())


def _badge(badge: str, colours: dict[str, str]) -> tuple[str, str]:
    colour = colours["ok"] if badge == "ok" else colours["info"] if badge == "updating" else colours["error"]
    return BADGES.get(badge, badge), f"bold {colour}"


def _status(state: ServiceState) -> str:
    return state.update_status.state if state.update_status else "ok"


def _service_row(name: str, widths: tuple[int, int], state: ServiceState | None, watching: bool,
                 colours: dict[str, str]) -> Text:
    """A service's row, ▶ on the watched one; with its last read (the picker of one stack): its
    UpdateStatus state (ok: none), image and replicas, in columns `widths` wide."""
    row = Text("▶ ", style="bold") if watching else Text("  ")
    row.append_text(safe(f"{name:<{widths[0]}}" if state is not None else name))
    if state is not None:
        status = _status(state)
        glyph, style = _badge(stack_badge([status]), colours)
        row.append(f"  {glyph.split(' ', 1)[0]} {status:<{widths[1]}}", style=style)
        spec = state.spec
        replicas = "global" if spec.replicas is None else f"{spec.replicas} replica{'s' if spec.replicas != 1 else ''}"
        row.append_text(safe(f"  {spec.image.split('@', 1)[0]} · {replicas}", "dim"))
    return row


def picker_options(stacks: Sequence[Any], query: str, colours: dict[str, str],
                   current: tuple[str, str] | None = None, context: str = "",
                   made: dict[tuple[object, ...], tuple[object, Option]] | None = None) -> list[Option]:
    """A disabled heading per stack (with its badge), then its services that match the query; the
    service being watched (`current`) is marked. With `context`, the stacks are that docker context's:
    its name is in each heading and in the filter, and in the options' ids. `made` keeps the options
    built for earlier queries, by what they show: a keystroke reuses them (and what the list cached
    about each) instead of building every row again."""
    made = {} if made is None else made
    out: list[Option] = []
    for st in stacks:
        services = [short_service(st.name, s) for s in st.services]
        states: list[ServiceState | None] = (list(st.states) if isinstance(st, StackServices)
                                             else [None] * len(services))
        shown = [(s, state) for s, state in zip(services, states, strict=True)
                 if matches(query, st.name, s, context)]
        if not shown:
            continue
        key: tuple[object, ...] = ("head", context, st.name, st.badge, len(services), tuple(colours.items()))
        if (head := made.get(key)) is None:
            text = safe(st.name, "bold")
            text.append(f"  {BADGES.get(st.badge, st.badge)}", style=_badge(st.badge, colours)[1])
            text.append(f"  {len(services)} service{'s' if len(services) != 1 else ''}", style="dim")
            if context:
                text.append_text(safe(f"  · {context}", "dim"))
            head = made[key] = (None, Option(text, disabled=True))
        out.append(head[1])
        widths = (max(len(s) for s, _ in shown), max((len(_status(x)) for _, x in shown if x), default=0))
        prefix = f"{context}{ID_SEP}" if context else ""
        for s, state in shown:
            watching = (st.name, s) == current
            # a service's last read is no dict key (its labels are a dict): it is the same read or not
            key = (f"{prefix}{st.name}{ID_SEP}{s}", widths if state is not None else None, id(state), watching, key[-1])
            hit = made.get(key)
            if hit is None or hit[0] is not state:
                hit = made[key] = (state, Option(_service_row(s, widths, state, watching, colours), id=key[0]))
            out.append(hit[1])
    if len(made) > _MADE_KEPT:
        made.clear()  # the next keystroke builds what it shows again
    return out


def _context_heading(ctx: DockerContext, result: ContextStacks | None, watched: bool, timeout: float,
                     colours: dict[str, str]) -> Text:
    """A context's line: its name and endpoint, then its stacks' count, why it has none, or that it is
    still being read."""
    line = safe(f"◆ {ctx.name}", "bold")
    line.append_text(safe(f"  {ctx.host}" if ctx.host else "", "dim"))
    if watched:
        line.append("  watching", style="italic")
    if result is None:
        line.append(f"  … still reading (gives up after {timeout:g} s)", style=f"italic {colours['info']}")
    elif result.error is not None:
        line.append_text(safe(f"  ✖ {result.error}", f"bold {colours['error']}"))
    else:
        n = len(result.stacks or ())
        line.append(f"  {n} stack{'s' if n != 1 else ''} · {result.seconds:.1f} s", style="dim")
    return line


def context_options(contexts: Sequence[DockerContext], found: Mapping[str, ContextStacks], query: str,
                    colours: dict[str, str], current: tuple[str, str, str] | None = None,
                    timeout: float = 10.0, made: dict[tuple[object, ...], tuple[object, Option]] | None = None,
                    ) -> list[Option]:
    """Every docker context in `contexts` order: a disabled line saying how its read went (or that it is
    still going), then its stacks as `picker_options` lists them, with the context in each heading.
    `current`: the (context, stack, service) watched."""
    out: list[Option] = []
    for ctx in contexts:
        result = found.get(ctx.name)
        watched = current is not None and current[0] == ctx.name
        rows = picker_options(result.stacks or () if result else (), query, colours,
                              current[1:] if watched and current else None, ctx.name, made)
        if rows or not query.strip() or matches(query, ctx.name, ""):
            out.append(Option(_context_heading(ctx, result, watched, timeout, colours), disabled=True))
        out += rows
    return out


# The stylesheet sizes the filter and the list, so a keystroke that changes what they hold needs no
# layout of the screen (nor of the main screen beneath the dialog): their virtual sizes move their
# scrollbars only, and a scrollbar that appears or goes asks for a layout itself.
