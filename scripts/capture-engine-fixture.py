"""Record real `GET /services/{id}` and `GET /tasks` answers of a lab rollback into tests/fixtures/engine/.

Run against the lab swarm (scripts/swarm-lab up): .venv/bin/python scripts/capture-engine-fixture.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from tests.support.deploy import deploy_recipe  # noqa: E402
from tests.support.recipes import BASE_TAG, build_recipe  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "engine"


def main() -> None:
    client = docker.from_env(timeout=30)
    stack = "ccci-tcapture"
    recipe = build_recipe(Path(tempfile.mkdtemp()), head_script="contention")
    snapshots: dict[str, dict] = {}
    try:
        deploy_recipe(recipe.path, stack, ref=BASE_TAG)
        name = f"{stack}_app"
        while not any(t["Status"]["State"] == "running" for t in client.api.tasks(filters={"service": name})):
            time.sleep(0.2)
        deploy_recipe(recipe.path, stack)
        while True:
            svc = client.api.inspect_service(name)
            state = (svc.get("UpdateStatus") or {}).get("State")
            if state and state not in snapshots:
                snapshots[state] = {"service": svc, "tasks": client.api.tasks(filters={"service": svc["ID"]})}
            if state == "rollback_completed":
                break
            time.sleep(0.1)
    finally:
        subprocess.run(["docker", "stack", "rm", stack], capture_output=True, check=False)
    meta = {"stack": stack, "base": recipe.base, "head": recipe.head, "engine": client.version()["Version"]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "rollback-capture.json").write_text(json.dumps({"meta": meta, "snapshots": snapshots}, indent=1))
    print(f"wrote {OUT / 'rollback-capture.json'}: {sorted(snapshots)}")


if __name__ == "__main__":
    main()
