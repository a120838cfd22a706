"""Memory on the real lab engine: the OOM head reaches its limit (task row, task detail, JSON), and `preflight`
predicts what an upgrade then does (a reservation that fits once; a service with no limits)."""

from __future__ import annotations

import json
import sys

import pytest
from rich.console import Console

from ccci_tui.cli import main
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.tui.screens.evidence import task_renderable
from ccci_tui.tui.widgets.tasks_pane import task_row
from tests.support.deploy import base_running
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live
MB = 1024 * 1024


def cli(capsys, *argv: str) -> tuple[int, dict, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, json.loads(out) if out.strip().startswith("{") else {}, err


def deploy(recipe, stack: str, order: str | None = None, ref: str | None = None) -> list[str]:
    cmd = ["--", sys.executable, "-m", "tests.support.deploy", str(recipe.path), stack]
    return cmd + (["--order", order] if order else []) + (["--ref", ref] if ref else [])


def text_of(renderable) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_the_oom_head_reached_its_limit_in_the_row_the_detail_and_the_json(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="oom", memory="32M")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc, err = cli(capsys, "wait", stack, "--recipe", str(recipe.path), "--format", "json", "--timeout", "90",
                       *deploy(recipe, stack))
    assert rc == 1, (doc, err)
    rc, doc, err = cli(capsys, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
    dead = [t for t in doc["tasks"] if t["exit_code"] == 137]
    assert dead, doc["tasks"]
    memory = dead[0]["memory"]
    assert dead[0]["oom_killed"] is True and memory["oom"] == "limit" and memory["limit"] == 32 * MB
    assert memory["facts"][0] == "reached the limit (OOM): the kernel killed it at its 32M limit"
    evidence = [(e["source"], e["text"]) for e in doc["verdict"]["evidence"]]
    assert ("task", "memory: reached the limit (OOM): the kernel killed it at its 32M limit") in evidence, evidence
    node_lines = [text for source, text in evidence if source == "node"]
    assert node_lines[0].startswith("the head task ran on node ") and "beside the old task (co-residence" in \
        node_lines[0], evidence  # start-first on one node: both at once
    assert node_lines[1].startswith("node ") and " memory; its " in node_lines[1], evidence

    obs = SwarmSource().observe(stack)
    task = next(t for t in obs.tasks if t.exit_code == 137)
    row = text_of(" | ".join(str(cell) for cell in task_row(task, False, {"error": "red", "warning": "yellow"},
                                                              None)[1]))
    assert "OOM: 32M limit" in row and "/32M" not in row  # never the sample taken before it allocated
    node = obs.node(task.node_id)
    assert node is not None and node.memory_bytes and node.usage_read
    assert obs.service is not None
    detail = text_of(task_renderable(task, obs.at, (), node, obs.service.name))
    assert "reached the limit (OOM): the kernel killed it at its 32M limit" in detail
    assert f"node {node.hostname}: " in detail and "(this service)" in detail


def _node_memory() -> int:
    source = SwarmSource()
    (node_id,) = source.node_ids()
    memory = source.node_context(node_id).memory_bytes
    assert memory
    return memory


@pytest.mark.serial  # it reserves most of the node's memory: nothing else may run beside it
def test_preflight_predicts_a_reservation_that_fits_once(swarm, recipe_repo, capsys):
    reservation = int(_node_memory() * 0.55) // MB  # one fits, two do not
    recipe = recipe_repo(head_script="base", reservation=f"{reservation}M")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)

    rc, doc, err = cli(capsys, "preflight", stack, "--recipe", str(recipe.path), "--format", "json")
    assert rc == 1, (doc, err)
    (app,) = doc["services"]
    assert app["order"] == "start-first" and app["at_risk"]
    unschedulable = [r for r in app["risks"] if r["kind"] == "unschedulable"]
    assert unschedulable, app
    assert unschedulable[0]["message"].startswith("start-first needs 2 × ") and "cannot be placed" in unschedulable[0][
        "message"]
    rc, stop_first, err = cli(capsys, "preflight", stack, "--recipe", str(recipe.path), "--order", "stop-first",
                              "--format", "json")
    assert rc == 0 and not stop_first["at_risk"], stop_first

    # what happens: stop-first converges, as predicted
    rc, doc, err = cli(capsys, "wait", stack, "--recipe", str(recipe.path), "--format", "json", "--timeout", "90",
                       *deploy(recipe, stack, order="stop-first"))
    assert (rc, doc["verdict"]["kind"]) == (0, "converged"), json.dumps(doc["verdict"], indent=1)
    # and start-first (back to the base, which reserves as much) is predicted stuck, then stays pending
    rc, doc, err = cli(capsys, "preflight", stack, "--recipe", str(recipe.path), "--head", BASE_TAG, "--format", "json")
    assert rc == 1 and [r["kind"] for r in doc["services"][0]["risks"]][:1] == ["unschedulable"], doc
    rc, doc, err = cli(capsys, "wait", stack, "--recipe", str(recipe.path), "--expect-head", BASE_TAG,
                       "--format", "json", "--timeout", "30", *deploy(recipe, stack, ref=BASE_TAG))
    assert (rc, doc["verdict"]["kind"]) == (1, "update-stuck"), (doc, err)
    evidence = [(e["source"], e["text"]) for e in doc["verdict"]["evidence"]]
    assert any(source == "spec" and text.startswith("memory: the task asks for a reservation of ")
               for source, text in evidence), evidence
    assert any(source == "node" and text.startswith("node ") and " reserved, " in text and " unreserved" in text
               for source, text in evidence), evidence  # why the one node could not take it


def test_preflight_says_what_it_cannot_know_without_limits(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc, err = cli(capsys, "preflight", stack, "--recipe", str(recipe.path), "--order", "stop-first",
                       "--format", "json")
    assert rc == 0, (doc, err)
    (app,) = doc["services"]
    assert any(u.startswith("app sets no memory limit or reservation: what the head will use cannot be known")
               for u in app["unknown"]), app
    # the recipe's own order is start-first with failure_action rollback: a policy risk compare also names
    rc, doc, err = cli(capsys, "preflight", stack, "--recipe", str(recipe.path), "--format", "json")
    assert rc == 1 and [r["kind"] for r in doc["services"][0]["risks"]] == ["start-first-rollback"], doc
    rc, text_doc, err = cli(capsys, "preflight", "no-such-stack", "--recipe", str(recipe.path))
    assert rc == 2 and "no stack named 'no-such-stack'" in err
    # the compare screen's panel says the same, from the same reads
    from ccci_tui.tui.compare_source import RecipeComparer
    from ccci_tui.tui.screens.compare import preflight_renderable

    report = RecipeComparer(recipe.path, stack, swarm=SwarmSource()).preflight("HEAD", ())
    assert not isinstance(report, str) and [s.service for s in report.services] == ["app"]
    panel = text_of(preflight_renderable(report, {"error": "red", "warning": "yellow"}))
    assert "HEAD AT RISK with each service's own order" in panel and "! start-first-rollback:" in panel
    assert "? app sets no memory limit or reservation" in panel
