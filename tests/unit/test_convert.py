"""Engine JSON recorded from the lab (tests/fixtures/engine) converts to the model faithfully."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccci_tui.domain.model import ROLE_CURRENT, ROLE_OTHER, ROLE_PREVIOUS, template_fingerprint
from ccci_tui.domain.stamp import parse_stamp, stamp_key
from ccci_tui.sources import convert

CAPTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "engine" / "rollback-capture.json").read_text())
META = CAPTURE["meta"]
SNAP = CAPTURE["snapshots"]


def _service(state: str):
    return convert.service_state(SNAP[state]["service"])


def _tasks(state: str):
    svc = _service(state)
    return svc, [convert.task_state(t, svc) for t in SNAP[state]["tasks"]]


def test_updating_has_head_spec_and_base_previous_spec():
    svc = _service("updating")
    stack = META["stack"]
    assert svc.stack == stack and svc.name == f"{stack}_app"
    assert svc.update_status.state == "updating" and svc.update_status.started_at is not None
    assert parse_stamp(svc.spec.label(stamp_key(stack))).matches(META["head"])
    assert parse_stamp(svc.previous_spec.label(stamp_key(stack))).matches(META["base"])
    assert svc.spec.template_fp != svc.previous_spec.template_fp
    uc = svc.spec.update_config
    assert (uc.order, uc.failure_action, uc.monitor_s, uc.parallelism) == ("start-first", "rollback", 5.0, 1)
    assert svc.spec.rollback_config is None  # the recipe sets none
    assert svc.spec.monitor_hint_s == pytest.approx(1 + 1 * 3)  # start_period + interval x retries


def test_task_spec_equals_template_minus_runtime():
    raw_svc = SNAP["updating"]["service"]
    fps = {template_fingerprint(t["Spec"]) for t in SNAP["updating"]["tasks"]}
    assert template_fingerprint(raw_svc["Spec"]["TaskTemplate"]) in fps
    assert "Runtime" in raw_svc["Spec"]["TaskTemplate"]


def test_roles_while_updating_are_current_and_previous():
    _, tasks = _tasks("updating")
    assert {t.role for t in tasks} == {ROLE_CURRENT, ROLE_PREVIOUS}


def test_after_rollback_the_head_tasks_belong_to_no_spec_on_the_service():
    svc, tasks = _tasks("rollback_completed")
    assert svc.previous_spec is None
    assert parse_stamp(svc.spec.label(stamp_key(META["stack"]))).matches(META["base"])
    head_fp = _service("updating").spec.template_fp
    head_tasks = [t for t in tasks if t.spec_fp == head_fp]
    assert head_tasks and all(t.role == ROLE_OTHER for t in head_tasks)
    assert any(t.state in ("failed", "shutdown", "complete") for t in head_tasks)


def test_exit_code_only_once_terminal():
    _, tasks = _tasks("rollback_completed")
    for t in tasks:
        if not t.terminal:
            assert t.exit_code is None
    assert any(t.terminal and t.exit_code is not None for t in tasks)


def test_status_message_names_failed_task_only_while_rolling_back():
    started = _service("rollback_started").update_status
    assert started.failed_task_id is not None
    assert any(t["ID"] == started.failed_task_id for t in SNAP["rollback_started"]["tasks"])
    assert _service("rollback_completed").update_status.failed_task_id is None


def test_update_policy_defaults_for_absent_fields():
    policy = convert.update_policy({"Parallelism": 1})
    assert (policy.failure_action, policy.monitor_s, policy.order) == ("pause", 5.0, "stop-first")
    assert convert.update_policy(None) is None


def test_events_drop_exec_noise_and_keep_only_safe_container_attributes():
    raw = {
        "Type": "container", "Action": "die", "timeNano": 1795804047372478140,
        "Actor": {"ID": "c" * 64, "Attributes": {
            "exitCode": "137", "com.docker.swarm.task.id": "t1", "com.docker.swarm.service.name": "s_app",
            "com.docker.stack.namespace": "s", "DB_PASSWORD": "hunter2",
        }},
    }
    ev = convert.event(raw)
    assert ev.action == "die" and ev.task_id == "t1" and ev.service == "s_app"
    assert ev.attributes["exitCode"] == "137" and "DB_PASSWORD" not in ev.attributes
    assert convert.event({**raw, "Action": "exec_start: sh -c test"}) is None
    assert convert.event({**raw, "Type": "network"}) is None


def test_memory_in_use_cgroup_v1_and_v2():
    v1 = {"memory_stats": {"usage": 31424512, "stats": {"total_inactive_file": 10485760}}}
    v2 = {"memory_stats": {"usage": 5000, "stats": {"inactive_file": 1000}}}
    assert convert.memory_in_use(v1) == 20938752  # the figure `docker stats` showed (reference stats probe)
    assert convert.memory_in_use(v2) == 4000
    assert convert.memory_in_use({"memory_stats": {}}) is None


def test_secret_labels_are_masked_at_the_source():
    spec = convert.spec_summary({"Labels": {"coop-cloud.s.smtp_password": "hunter2", "note": "TOKEN=abc123",
                                            "coop-cloud.s.chaos-version": "7ae7b0f7+U"}})
    assert spec.labels["coop-cloud.s.smtp_password"] == "<redacted>"
    assert spec.labels["note"] == "TOKEN=<redacted>"
    assert spec.labels["coop-cloud.s.chaos-version"] == "7ae7b0f7+U"
