"""Recipe pane: the checkout's HEAD, describe, dirty files, newest tags, and what each stamp names."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ccci_tui.domain.model import RecipeState
from ccci_tui.domain.stamp import parse_stamp
from ccci_tui.tui.format import safe, sha_names, short, spec_stamp, stamp_names
from ccci_tui.tui.view import View
from ccci_tui.tui.widgets.keyed import KeyedPane

TAGS_SHOWN = 4
DIRTY_SHOWN = 3


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold", ratio=1)
    return grid


def _dirty(recipe: RecipeState) -> Text:
    if not recipe.dirty:
        return Text("clean")
    files = [*recipe.modified, *recipe.untracked]
    text = Text(f"{len(recipe.untracked)} untracked, {len(recipe.modified)} modified (stamp gets +U): ",
                style="bold")
    text.append_text(safe(", ".join(files[:DIRTY_SHOWN]) + (" …" if len(files) > DIRTY_SHOWN else "")))
    return text


def _points(label: str, raw: str | None, view: View) -> tuple[Text, Text]:
    stamp = parse_stamp(raw)
    text = safe(str(stamp) if stamp.ok else "—", "bold")
    text.append(" → ")
    text.append_text(safe(stamp_names(raw, view.recipe, view.expected_head)))
    return Text(label), text


def recipe_renderable(view: View) -> Table:
    """The pane's content for `view` (a pure function of it, so unchanged views cost nothing)."""
    grid = _grid()
    recipe = view.recipe
    if recipe is None:
        grid.add_row("recipe", Text("unknown: pass --recipe PATH (or keep abra's layout)", style="italic"))
    else:
        grid.add_row("path", safe(recipe.path))
        head = safe(short(recipe.head_sha), "bold")
        head.append(" ")
        head.append_text(safe(recipe.head_subject))
        grid.add_row("HEAD", head)
        where = recipe.branch or "detached HEAD"
        grid.add_row("describe", safe(f"{recipe.describe or 'no tag reachable'}  ({where})"
                                      + ("  shallow clone" if recipe.shallow else "")))
        grid.add_row("worktree", _dirty(recipe))
        for i, tag in enumerate(recipe.tags[:TAGS_SHOWN]):
            line = safe(tag.name)
            line.append(f"  {short(tag.sha)}", style="dim")
            grid.add_row("tags" if i == 0 else "", line)
        if len(recipe.tags) > TAGS_SHOWN:
            grid.add_row("", Text(f"… {len(recipe.tags) - TAGS_SHOWN} older", style="dim"))
    if view.compose:
        chain = safe(" + ".join(view.compose))
        if view.compose_missing:
            chain.append_text(safe(f"  missing: {', '.join(view.compose_missing)}", "bold"))
        grid.add_row("compose", chain)
    svc = view.observation.service if view.observation is not None else None
    grid.add_row(*_points("Spec stamp", spec_stamp(svc.spec if svc else None, view.stack), view))
    if svc is not None and svc.previous_spec is not None:
        grid.add_row(*_points("PreviousSpec", spec_stamp(svc.previous_spec, view.stack), view))
    else:
        grid.add_row("PreviousSpec", Text("none on the service", style="italic"))
    if view.expected_head:
        exp = safe(short(view.expected_head), "bold")
        exp.append(" → ")
        exp.append_text(safe(sha_names(view.expected_head, recipe)))
        grid.add_row("expected", exp)
    else:
        grid.add_row("expected", Text("no expected head (no recipe, no --expect-head)", style="italic"))
    return grid


class RecipePane(KeyedPane):
    """Re-rendered only when the recipe, the stamps or the expected head change."""

    def key(self, view: View) -> tuple[object, ...]:
        svc = view.observation.service if view.observation is not None else None
        return (view.recipe, view.expected_head, view.stack, view.compose, view.compose_missing,
                svc.spec.labels if svc else None,
                svc.previous_spec.labels if svc and svc.previous_spec else None)

    def render_view(self, view: View) -> RenderableType:
        return recipe_renderable(view)
