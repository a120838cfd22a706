"""A stack's other services on the lab swarm: abra stamps only `app`, so a healthy `db` is not red."""

from __future__ import annotations

import json

import pytest
import yaml

from ccci_tui.cli import main
from ccci_tui.upgrade.stack import stamp_overlay
from tests.support.deploy import deploy_recipe, stack_deploy
from tests.support.recipes import LAB_IMAGE

pytestmark = pytest.mark.live


def diagnose_json(capsys, *argv):
    capsys.readouterr()
    rc = main(["diagnose", *argv, "--format", "json"])
    return rc, json.loads(capsys.readouterr().out)


def with_db(recipe):
    """Commit a `db` service beside `app` (no stamp: abra's chaos deploy labels `app` only)."""
    doc = yaml.safe_load((recipe.path / "compose.yml").read_text())
    doc["services"]["db"] = {
        "image": f"${{IMAGE:-{LAB_IMAGE}}}",
        "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
        "deploy": {"replicas": 1, "update_config": {"order": "stop-first", "failure_action": "rollback"}},
    }
    recipe.commit_file("compose.yml", yaml.safe_dump(doc, sort_keys=False, width=1000), "add a db service")
    return recipe


def running(swarm, stack, name):
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60, name=name)


def test_a_healthy_db_without_a_stamp_is_not_red_and_says_why(swarm, recipe_repo, capsys):
    recipe = with_db(recipe_repo(head_script="base"))
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack)
    running(swarm, stack, "app")
    running(swarm, stack, "db")
    assert f"coop-cloud.{stack}.chaos-version" not in (swarm.service(stack, "db")["Spec"].get("Labels") or {})
    rc, doc = diagnose_json(capsys, stack, "--service", "db", "--recipe", str(recipe.path))
    verdict = doc["verdict"]
    assert (rc, verdict["severity"]) == (0, "ok"), verdict
    assert verdict["kind"] in ("converged", "no-rolling-update"), verdict
    assert f"{stack}_db carries no stamp (abra stamps {stack}_app)" in verdict["summary"]
    texts = [e["text"] for e in verdict["evidence"]]
    assert (f"{stack}_db carries no chaos-version stamp: abra stamps the app service only, so the stack's "
            f"version is checked on {stack}_app") in texts
    # and the stack's version is checked where abra put it
    rc, doc = diagnose_json(capsys, stack, "--recipe", str(recipe.path))
    assert (rc, doc["verdict"]["kind"]) == (0, "converged"), doc["verdict"]
    assert "matches the expected head" in doc["verdict"]["summary"]


def test_a_db_carrying_a_wrong_stamp_stays_red(swarm, recipe_repo, tmp_path, capsys):
    recipe = with_db(recipe_repo(head_script="base"))
    stack = swarm.new_stack()
    overlay = tmp_path / "db-stamp.yml"
    overlay.write_text(stamp_overlay(stack, "01234567", service="db"))
    stack_deploy(stack, [recipe.path / "compose.yml", overlay], {}, cwd=recipe.path)
    running(swarm, stack, "db")
    rc, doc = diagnose_json(capsys, stack, "--service", "db", "--recipe", str(recipe.path))
    assert (rc, doc["verdict"]["kind"]) == (1, "stamp-mismatch"), doc["verdict"]
    assert "01234567" in doc["verdict"]["summary"]
