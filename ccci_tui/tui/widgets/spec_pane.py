"""Spec pane: Spec, PreviousSpec and the attempted spec side by side, differences highlighted."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ccci_tui.domain.model import ROLLBACK_COMPLETED, ROLLBACK_STARTED, SpecSummary, same_spec
from ccci_tui.domain.stamp import version_label
from ccci_tui.domain.timeline import SPEC
from ccci_tui.tui.format import fmt_bytes, policy_lines, safe, spec_stamp
from ccci_tui.tui.view import View
from ccci_tui.tui.widgets.keyed import KeyedPane

Getter = Callable[[SpecSummary, str], str]

ROWS: tuple[tuple[str, Getter], ...] = (
    ("stamp", lambda s, stack: spec_stamp(s, stack) or "(none)"),
    ("version", lambda s, stack: version_label(s.labels, stack) or "(none)"),
    ("image", lambda s, stack: s.image or "?"),
    ("template", lambda s, stack: s.template_fp or "?"),
    ("update", lambda s, stack: policy_lines(s.update_config)),
    ("rollback", lambda s, stack: policy_lines(s.rollback_config)),
    ("memory", lambda s, stack: (f"limit {fmt_bytes(s.memory_limit)}" if s.memory_limit else "no limit")
     + (f", reserve {fmt_bytes(s.memory_reservation)}" if s.memory_reservation else "")),
)

ERASED = "erased by the automatic rollback"


def _rolled_back(view: View) -> bool:
    """Whether an automatic rollback cleared PreviousSpec (status, or the timeline up to now)."""
    svc = view.observation.service if view.observation is not None else None
    if svc is None or svc.previous_spec is not None:
        return False
    st = svc.update_status
    if st is not None and st.state in (ROLLBACK_STARTED, ROLLBACK_COMPLETED):
        return True
    entries = view.timeline.entries
    upto = entries if view.cursor is None else entries[: view.cursor + 1]
    for e in reversed(upto):
        if e.kind == SPEC:
            return e.text.startswith("spec rolled back") and "PreviousSpec cleared" in e.text
    return False


def spec_renderable(view: View, highlight: str) -> Table:
    """The comparison table; a cell differing from the Spec's is styled `highlight`."""
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False, header_style="bold")
    table.add_column("", style="bold", no_wrap=True)
    svc = view.observation.service if view.observation is not None else None
    attempted = view.attempted
    same_as_spec = svc is not None and attempted is not None and same_spec(attempted, svc.spec)
    table.add_column("Spec", ratio=1, overflow="fold")
    table.add_column("PreviousSpec", ratio=1, overflow="fold")
    table.add_column("attempted" + (" (= Spec)" if same_as_spec else ""), ratio=1, overflow="fold")
    if svc is None:
        table.add_row("", Text("no service read yet" if view.observation is None else "service gone",
                               style="italic"), "", "")
        return table
    erased = _rolled_back(view)
    for i, (name, get) in enumerate(ROWS):
        spec_value = get(svc.spec, view.stack)
        cells: list[Text] = [safe(spec_value)]
        for other, missing in (
            (svc.previous_spec, ERASED if erased else "none: never updated since created"),
            (attempted, "no rolling update seen yet"),
        ):
            if other is None:
                cells.append(Text(missing if i == 0 else "·", style="italic dim" if i else "italic"))
                continue
            value = get(other, view.stack)
            cells.append(safe(value, highlight if value != spec_value else ""))
        table.add_row(name, *cells)
    return table


class SpecPane(KeyedPane):
    """Re-rendered only when a spec (or whether a rollback erased PreviousSpec) changes."""

    def key(self, view: View) -> tuple[object, ...]:
        svc = view.observation.service if view.observation is not None else None
        return (svc.spec if svc else None, svc.previous_spec if svc else None, view.attempted,
                view.observation is None, _rolled_back(view), self.app.current_theme.name)

    def render_view(self, view: View) -> RenderableType:
        return spec_renderable(view, f"bold underline {self.app.current_theme.warning or 'yellow'}")
