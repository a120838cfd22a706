"""dockerd stopped and restarted under a running watch (runs last: it restarts the lab daemon)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ccci_tui.domain.verdict import Expectation
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import Target
from ccci_tui.sources.watch import watch_until_terminal
from tests.support.deploy import base_running, deploy_recipe
from tests.support.lab import lab_client
from tests.support.proxy import EngineProxy

pytestmark = [pytest.mark.live, pytest.mark.serial]
ROOT = Path(__file__).resolve().parents[2]



def test_wait_keeps_trying_while_the_daemon_is_down(lab_daemon, swarm, recipe_repo):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    mark = json.loads(subprocess.run([sys.executable, "-m", "ccci_tui", "mark", stack, "--format", "json"],
                                     capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    proc = subprocess.Popen([sys.executable, "-m", "ccci_tui", "wait", stack, "--recipe", str(recipe.path),
                             "--since-index", str(mark["index"]), "--timeout", "15"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # let it connect and take its first reads
        lab_daemon.stop()
        # the daemon is gone (stop waits until dockerd has exited): a wait that gave up on the first
        # error would have exited by now; this one must keep trying until its own 15 s are up
        assert proc.poll() is None, f"wait exited when the daemon went away: {proc.communicate()}"
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        lab_daemon.start()
    assert proc.returncode == 2, (out, err)
    assert "gave up after 15 s" in err and "unreachable" in err, err
    assert "Traceback" not in err


def test_restart_then_a_rollback_while_disconnected_is_still_diagnosed(lab_daemon, swarm, recipe_repo):
    """The watch reads through a proxy that stays cut across a dockerd restart and the whole rollback."""
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    proxy = EngineProxy()
    source = SwarmSource(proxy.url)
    svc = source.observe(stack).service
    st = svc.update_status
    expect = Expectation(head=recipe.head, marker_taken=True, marker_index=svc.index,
                         marker_started_at=st.started_at if st else None)
    target = Target(stack, "app", None, None, None, expect)
    result, errors, seen = {}, [], []

    def watch():
        result["verdict"] = watch_until_terminal(source, target, expect, 240, on_error=errors.append,
                                                 on_observation=lambda obs, vd: seen.append((obs, vd)))

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        time.sleep(2)
        before = len(seen)
        assert before > 0
        proxy.cut()  # from here on the watch is disconnected
        lab_daemon.stop()
        lab_daemon.start()
        swarm.client.close()
        swarm.client = lab_client(timeout=30)
        swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" and x["DesiredState"] == "running"
                                               for x in t), timeout=90)
        deploy_recipe(recipe.path, stack)  # the upgrade and its rollback happen while the watch is away
        swarm.wait_for(stack, lambda s, t: (s.get("UpdateStatus") or {}).get("State") == "rollback_completed",
                       timeout=120)
        proxy.restore()
        thread.join(120)
    finally:
        proxy.restore() if not proxy.path.exists() else None
        proxy.close()
    assert not thread.is_alive()
    assert any("unreachable" in e or "dropped" in e for e in errors), errors
    verdict = result["verdict"]
    assert verdict.kind == "swarm-rollback", verdict  # from what survives: status, task history
    # it was not seen live: no observation between the cut and the restore showed the update
    assert not any(obs.service and obs.service.update_status and obs.service.update_status.state == "updating"
                   for obs, _ in seen)
