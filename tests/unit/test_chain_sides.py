"""A compose chain file at only one side of an upgrade: that side uses the files it has, and every
output says which file is missing where; a file at neither side is still an error naming it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from ccci_tui.cli import main
from ccci_tui.config import Config
from ccci_tui.domain.codec import decode, encode
from ccci_tui.domain.compare import CHAIN_FILE_MISSING, compare_policies
from ccci_tui.domain.compose import ComposePolicy
from ccci_tui.sources.recipe import RecipeError, RecipeSource
from ccci_tui.tui.compare_source import RecipeComparer
from ccci_tui.tui.screens.compare import comparison_renderable
from ccci_tui.upgrade.plan import DEPLOY, make_plan
from tests.support.recipes import BASE_TAG, Recipe, build_recipe
from tests.unit.test_plan import StandIn

# What a real recipe's head adds (as compose.host.yml does): host-mode ports and its own update order.
HOST_OVERLAY = textwrap.dedent(
    """\
    services:
      app:
        ports:
          - target: 80
            published: 8080
            mode: host
        deploy:
          update_config:
            order: stop-first
    """
)
CHAIN = "compose.yml:compose.host.yml"


@pytest.fixture
def recipe(tmp_path: Path) -> Recipe:
    """Tag BASE_TAG has no compose.host.yml; HEAD adds it."""
    recipe = build_recipe(tmp_path)
    recipe.head = recipe.commit_file("compose.host.yml", HOST_OVERLAY, "add a host-port overlay")
    return recipe


def compare(capsys: pytest.CaptureFixture[str], recipe: Recipe, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["compare", "--recipe", str(recipe.path), *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_overlay_added_by_the_head_compares_base_alone(capsys, recipe) -> None:
    rc, out, err = compare(capsys, recipe, BASE_TAG, "HEAD", "--compose-file", CHAIN, "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["base_files"] == [f"compose.yml@{BASE_TAG}"]
    assert doc["head_files"] == ["compose.yml@HEAD", "compose.host.yml@HEAD"]
    assert (doc["base_missing"], doc["head_missing"]) == (["compose.host.yml"], [])
    diffs = {(d["service"], d["path"]): (d["base"], d["head"]) for d in doc["differences"]}
    assert diffs[("app", "update_config.order")] == ("start-first", "stop-first")
    assert diffs[("app", "ports")] == ([], ["8080:80/tcp host"])
    (note,) = [r for r in doc["risks"]["base"] if r["kind"] == CHAIN_FILE_MISSING]
    assert (note["service"], note["side"]) == ("app", "base")
    assert note["evidence"] == {"file": "compose.host.yml", "set at head": "deploy.update_config"}
    assert "compose.host.yml is missing at base" in note["message"]


def test_text_and_markdown_say_which_file_is_missing_where(capsys, recipe) -> None:
    rc, text, _ = compare(capsys, recipe, BASE_TAG, "HEAD", "--compose-file", CHAIN)
    assert rc == 0
    assert "note: compose.host.yml missing at base: the base side uses the files it has" in text
    assert f"! {CHAIN_FILE_MISSING} (app)" in text
    rc, md, _ = compare(capsys, recipe, BASE_TAG, "HEAD", "--compose-file", CHAIN, "--format", "markdown")
    assert rc == 0
    assert "- compose.host.yml missing at base: the base side uses the files it has" in md
    assert f"**{CHAIN_FILE_MISSING}** (app" in md


def test_a_file_the_head_dropped_is_missing_at_head(capsys, recipe) -> None:
    recipe.repo.index.remove(["compose.lab.yml"], working_tree=True)
    recipe.repo.index.commit("drop the lab overlay")
    rc, out, err = compare(capsys, recipe, BASE_TAG, "HEAD", "--compose-file", "compose.yml:compose.lab.yml",
                           "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert (doc["base_missing"], doc["head_missing"]) == ([], ["compose.lab.yml"])
    # compose.lab.yml sets only deploy.labels: named as missing, and a note for the policy it carried
    assert [r["evidence"] for r in doc["risks"]["head"] if r["kind"] == CHAIN_FILE_MISSING] == [
        {"file": "compose.lab.yml", "set at base": "deploy.labels"}]


def test_a_file_at_neither_side_is_an_error_naming_it(capsys, recipe) -> None:
    rc, out, err = compare(capsys, recipe, BASE_TAG, "HEAD", "--compose-file", "compose.yml:compose.nope.yml")
    assert (rc, out) == (2, "")
    assert "no file 'compose.nope.yml' at base '0.7.0+3.3.1'" in err and "nor head 'HEAD'" in err
    assert "Traceback" not in err


def test_one_side_alone_still_needs_every_file(recipe) -> None:
    with RecipeSource(recipe.path) as src, pytest.raises(RecipeError, match="no file 'compose.host.yml' at ref"):
        src.policy_at(BASE_TAG, ("compose.yml", "compose.host.yml"), {"STACK_NAME": "s"})


def test_a_side_with_none_of_the_files_is_an_error(recipe) -> None:
    with RecipeSource(recipe.path) as src, pytest.raises(RecipeError, match="none of the compose files"):
        src.policies_at({"base": BASE_TAG, "head": "HEAD"}, ("compose.host.yml",), {"STACK_NAME": "s"})


def test_the_recorded_policy_keeps_what_was_missing(recipe) -> None:
    """A recording's header holds each side's policy: a replay compares exactly as the recipe did."""
    with RecipeSource(recipe.path) as src:
        sides = src.policies_at({"base": BASE_TAG, "head": "HEAD"}, CHAIN.split(":"), {"STACK_NAME": "s"})
    base, head = (decode(ComposePolicy, json.loads(json.dumps(encode(sides[s][1])))) for s in ("base", "head"))
    assert base.missing == ("compose.host.yml",)
    assert head.keys_in("compose.host.yml") == ("app.deploy.update_config",)
    assert compare_policies(base, head) == compare_policies(sides["base"][1], sides["head"][1])


def test_the_compare_screen_shows_the_note(recipe) -> None:
    comparison = RecipeComparer(recipe.path, "s").compare(BASE_TAG, "HEAD", ("compose.host.yml",))
    console = Console(width=160, record=True)
    console.print(comparison_renderable(comparison, {"warning": "yellow", "error": "red"}))
    shown = console.export_text()
    assert "note: compose.host.yml missing at base: the base side uses the files it has" in shown
    assert CHAIN_FILE_MISSING in shown


def test_rerun_plans_the_base_with_the_base_files(recipe, tmp_path) -> None:
    env_file = tmp_path / "s.example.env"
    env_file.write_text('TYPE=discourse\nCOMPOSE_FILE="compose.yml"\nCOMPOSE_FILE="$COMPOSE_FILE:compose.host.yml"\n')
    plan = make_plan("s", "stop-first", recipe.path, StandIn(), Config(), base=BASE_TAG, env_file=env_file)
    deploys = {step.side: step.argv for step in plan.steps if step.kind == DEPLOY}
    files = {side: [Path(a).name for a in argv if a.endswith(".yml")] for side, argv in deploys.items()}
    assert files == {"base": ["compose.yml", "compose.ccci-base.yml"],
                     "head": ["compose.yml", "compose.host.yml", "compose.ccci-head.yml"]}
    assert f"base {BASE_TAG} has no compose.host.yml: its deploy uses compose.yml" in plan.render()


def test_record_sides_know_the_other_side(recipe) -> None:
    """`record` and the TUI's --record take both sides through upgrade_sides; a head-only refresh (the
    recipe moved) still knows the file is missing at the head only, not at every side."""
    from ccci_tui.sources.target import upgrade_sides

    chain = ("compose.yml", "compose.lab.yml", "compose.host.yml")
    (base, head), note = upgrade_sides(recipe.path, "s", chain, base=BASE_TAG)
    assert note is None and (base.ref, base.policy.missing, head.policy.missing) == (
        BASE_TAG, ("compose.host.yml",), ())
    recipe.repo.index.remove(["compose.lab.yml"], working_tree=True)
    recipe.repo.index.commit("drop the lab overlay")
    (head,), note = upgrade_sides(recipe.path, "s", chain, base=BASE_TAG, sides=("head",))
    assert (head.side, head.policy.missing, note) == ("head", ("compose.lab.yml",), None)


def test_the_recipe_pane_names_the_chain_and_what_is_missing(recipe) -> None:
    """Live: the app env's chain against the checkout; replay: the recorded head's chain and what it lacked."""
    from dataclasses import replace

    from ccci_tui.domain.replay import POLICY, Record, RecordedPolicy
    from ccci_tui.sources.recording import demo_path, read_recording
    from ccci_tui.sources.target import chain_in_checkout
    from ccci_tui.tui.replay_feed import ReplayFeed
    from ccci_tui.tui.view import View
    from ccci_tui.tui.widgets.recipe_pane import recipe_renderable

    assert chain_in_checkout(recipe.path, ("compose.yml", "compose.host.yml", "compose.nope.yml")) == (
        "compose.nope.yml",)

    def shown(view: View) -> str:
        console = Console(width=160, record=True)
        console.print(recipe_renderable(view))
        return console.export_text()

    live = View("live", "x", "s", "app", compose=("compose.yml", "compose.nope.yml"),
                compose_missing=("compose.nope.yml",))
    assert "compose.yml + compose.nope.yml  missing: compose.nope.yml" in shown(live)
    demo = read_recording(demo_path())
    with RecipeSource(recipe.path) as src:
        sides = src.policies_at({"base": BASE_TAG, "head": "HEAD"}, CHAIN.split(":"), {"STACK_NAME": "s"})
    last = demo.records[-1]
    record = Record(last.at, POLICY, RecordedPolicy("head", "HEAD", sides["head"][0], replace(
        sides["head"][1], missing=("compose.extra.yml",))), line=last.line + 1)
    feed = ReplayFeed(replace(demo, records=(*demo.records, record)), "demo")
    view = feed.view_at(None)
    assert (view.compose, view.compose_missing) == (("compose.yml", "compose.host.yml"), ("compose.extra.yml",))
    assert "missing: compose.extra.yml" in shown(view)
