"""Secrets in a service's env and labels reach no screen, recording, export or JSON output."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ccci_tui.cli import main
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import resolve_target
from ccci_tui.tui.app import AppOptions
from tests.support.deploy import deploy_recipe
from tests.tui.support import screen_text

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"DB_PASSWORD": "pw-7f3a9c-hunter2", "API_TOKEN": "tok-51d2e8-bearer", "APP_SECRET": "sec-0b4c61-base"}


def secret_recipe(recipe_repo):
    recipe = recipe_repo(head_script="base")
    doc = yaml.safe_load((recipe.path / "compose.yml").read_text())
    app = doc["services"]["app"]
    app["environment"] += [f"{k}={v}" for k, v in SECRETS.items()]
    app["labels"] = [f"com.example.smtp_password={SECRETS['DB_PASSWORD']}"]  # container label
    app["deploy"]["labels"] += [f"coop-cloud.${{STACK_NAME}}.api_token={SECRETS['API_TOKEN']}",
                                f"coop-cloud.${{STACK_NAME}}.note=APP_SECRET={SECRETS['APP_SECRET']}"]
    recipe.commit_file("compose.yml", yaml.safe_dump(doc, sort_keys=False, width=1000), "add secrets")
    recipe.head = recipe.repo.head.commit.hexsha
    return recipe


def assert_clean(text: str, where: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked into {where}"


def test_secrets_reach_no_output(swarm, recipe_repo, capsys, tmp_path):
    recipe = secret_recipe(recipe_repo)
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    # the secrets really are on the service: the test would notice a leak
    raw = json.dumps(swarm.service(stack))
    assert SECRETS["DB_PASSWORD"] in raw and SECRETS["API_TOKEN"] in raw

    env_file = tmp_path / "servers" / "lab" / "app.example.test.env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()) + "RECIPE=discourse:0.7.0+3.3.1\n")

    for fmt in ("text", "json", "markdown"):
        capsys.readouterr()
        main(["diagnose", stack, "--recipe", str(recipe.path), "--format", fmt])
        assert_clean(capsys.readouterr().out, f"diagnose --format {fmt}")
        main(["compare", "--recipe", str(recipe.path), "0.7.0+3.3.1", "HEAD", "--env-file", str(env_file),
              "--format", fmt])
        assert_clean(capsys.readouterr().out, f"compare --format {fmt}")

    for name in ("rec.jsonl", "rec.jsonl.gz"):
        out = tmp_path / name
        proc = subprocess.run([sys.executable, "-m", "ccci_tui", "record", stack, "-o", str(out), "--recipe",
                               str(recipe.path), "--duration", "4", "--all-services"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        data = gzip.decompress(out.read_bytes()) if name.endswith(".gz") else out.read_bytes()
        assert b"coop-cloud" in data  # labels were recorded, only masked
        assert_clean(data.decode(), f"recording {name}")

    app = AppOptions(source=SwarmSource(), stack=stack, service="app", cursor_blink=False, export_dir=tmp_path,
                     resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path))).build()

    async def drive() -> None:
        async with app.run_test(size=(200, 60)) as pilot:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while app.main.view is None or app.main.view.verdict is None:
                assert loop.time() < deadline
                await asyncio.sleep(0.1)
            await pilot.pause()
            assert_clean(screen_text(app), "the main screen")
            await pilot.press("enter")  # the evidence screen
            await pilot.pause()
            assert_clean(screen_text(app), "the evidence screen")
            await pilot.press("escape")
            await pilot.press("e")  # export
            await pilot.pause()

    asyncio.run(drive())
    exports = list(tmp_path.glob("ccci-verdict-*.md"))
    assert exports, "the export wrote no file"
    assert_clean(exports[0].read_text(), "the Markdown export")
