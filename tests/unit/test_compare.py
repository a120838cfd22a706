"""Base vs head compose comparison: differences, risk notes and the three renderings."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ccci_tui.domain.compare import (
    MONITOR_SHORTER_THAN_HEALTH,
    ROLLBACK_CONFIG_UNSET,
    SINGLE_REPLICA_STOP_FIRST,
    START_FIRST_HOST_PORTS,
    START_FIRST_RESERVATION,
    START_FIRST_ROLLBACK,
    Comparison,
    compare_policies,
    format_bytes,
    format_seconds,
    risk_notes,
)
from ccci_tui.domain.compose import ComposePolicy, load_policy
from tests.support.recipes import BASE_TAG, OVERLAY, build_recipe

COMPOSE_DIR = Path(__file__).parents[1] / "fixtures" / "swarm-lab" / "compose"


def fixture(*names: str) -> ComposePolicy:
    return load_policy([(n, (COMPOSE_DIR / n).read_text()) for n in names], {})


def policy(text: str, env: dict[str, str] | None = None) -> ComposePolicy:
    return load_policy([("compose.yml", textwrap.dedent(text))], env or {})


def kinds(p: ComposePolicy) -> set[str]:
    return {n.kind for n in risk_notes(p)}


def diff_map(c: Comparison) -> dict[str, tuple[object, object, bool | None, bool | None]]:
    return {d.path: (d.base, d.head, d.base_explicit, d.head_explicit) for d in c.differences}


# --- risk rules ------------------------------------------------------------------------


def test_incident_shape_oom_fixture() -> None:
    notes = {n.kind: n for n in risk_notes(fixture("oom-v2-startfirst.yml"))}
    assert set(notes) == {START_FIRST_ROLLBACK, ROLLBACK_CONFIG_UNSET}
    incident = notes[START_FIRST_ROLLBACK]
    assert incident.service == "app" and incident.side == "head"
    assert dict(incident.evidence) == {
        "update_config.order": "start-first",
        "update_config.failure_action": "rollback",
        "update_config.monitor": "5s",
    }
    assert "rolled back" in incident.message and incident.message.count(".") == 1
    unset = notes[ROLLBACK_CONFIG_UNSET]
    assert unset.evidence["rollback_config.order"] == "stop-first (default)"
    assert unset.evidence["rollback_config.failure_action"] == "pause (default)"
    assert "start-first" in unset.message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unhealthy-v2-pause.yml", set()),  # start-first but pause: no silent rollback
        ("flag-v1-stopfirst.yml", {SINGLE_REPLICA_STOP_FIRST}),  # rollback_config is set
        ("healthy-v1-stopfirst.yml", {SINGLE_REPLICA_STOP_FIRST, ROLLBACK_CONFIG_UNSET}),
        ("reserve-v2-startfirst.yml",
         {START_FIRST_ROLLBACK, START_FIRST_RESERVATION, ROLLBACK_CONFIG_UNSET}),
        ("stats-probe.yml", {SINGLE_REPLICA_STOP_FIRST}),  # reservation, but stop-first
    ],
)
def test_risks_of_lab_fixtures(name: str, expected: set[str]) -> None:
    assert kinds(fixture(name)) == expected


def test_reservation_note_evidence() -> None:
    (note,) = [n for n in risk_notes(fixture("reserve-v1-startfirst.yml"))
               if n.kind == START_FIRST_RESERVATION]
    assert note.evidence["resources.reservations.memory"] == "13G"
    assert note.evidence["replicas"] == "1"
    assert "13G" in note.message


DISCOURSE = """
services:
  app:
    image: discourse
    healthcheck:
      test: [CMD, curl, -f, localhost]
      interval: ${INTERVAL:-30s}
      retries: 10
      start_period: 20m
    deploy:
      update_config: {failure_action: rollback, order: start-first, monitor: 5s}
"""


def test_monitor_shorter_than_healthcheck() -> None:
    notes = {n.kind: n for n in risk_notes(policy(DISCOURSE))}
    note = notes[MONITOR_SHORTER_THAN_HEALTH]
    assert note.evidence == {
        "update_config.monitor": "5s",
        "healthcheck.start_period": "20m",
        "healthcheck.interval": "30s",
        "healthcheck.retries": "10",
    }
    assert "25m" in note.message  # 20m + 30s x 10
    assert MONITOR_SHORTER_THAN_HEALTH in kinds(policy(DISCOURSE.replace("5s", "24m")))
    assert MONITOR_SHORTER_THAN_HEALTH not in kinds(policy(DISCOURSE.replace("5s", "25m")))
    assert MONITOR_SHORTER_THAN_HEALTH not in kinds(policy(DISCOURSE.replace("20m", "0s"), {
        "INTERVAL": "0.4s"}))  # 0s + 0.4s x 10 = 4s < 5s
    disabled = DISCOURSE.replace("test: [CMD, curl, -f, localhost]", "test: [NONE]")
    assert MONITOR_SHORTER_THAN_HEALTH not in kinds(policy(disabled))


def test_default_healthcheck_timing_counts() -> None:
    text = "services:\n  app:\n    healthcheck: {test: [CMD, true]}\n"
    (note,) = [n for n in risk_notes(policy(text)) if n.kind == MONITOR_SHORTER_THAN_HEALTH]
    assert note.evidence["healthcheck.interval"] == "30s (default)"
    assert note.evidence["update_config.monitor"] == "5s (default)"


@pytest.mark.parametrize(
    ("order", "mode", "expected"),
    [("start-first", "host", True), ("start-first", "ingress", False),
     ("stop-first", "host", False)],
)
def test_start_first_host_ports(order: str, mode: str, expected: bool) -> None:
    text = f"""
    services:
      app:
        ports: [{{target: 80, published: 8080, mode: {mode}}}]
        deploy:
          replicas: 2
          update_config: {{order: {order}}}
    """
    notes = [n for n in risk_notes(policy(text)) if n.kind == START_FIRST_HOST_PORTS]
    assert bool(notes) is expected
    if notes:
        assert notes[0].evidence["ports"] == "8080:80/tcp host"
        assert "8080" in notes[0].message


@pytest.mark.parametrize(
    ("deploy", "expected"),
    [("{}", True), ("{replicas: 1, update_config: {order: stop-first}}", True),
     ("{replicas: 2}", False), ("{mode: global}", False),
     ("{update_config: {order: start-first}}", False)],
)
def test_single_replica_stop_first(deploy: str, expected: bool) -> None:
    p = policy(f"services:\n  app:\n    deploy: {deploy}\n")
    assert (SINGLE_REPLICA_STOP_FIRST in kinds(p)) is expected


def test_base_side_is_labelled() -> None:
    notes = risk_notes(fixture("oom-v2-startfirst.yml"), side="base")
    assert notes and {n.side for n in notes} == {"base"}


# --- differences -----------------------------------------------------------------------


def test_base_stop_first_head_incident_shape() -> None:
    c = compare_policies(fixture("healthy-v1-stopfirst.yml"), fixture("oom-v2-startfirst.yml"))
    assert diff_map(c) == {
        "update_config.order": ("stop-first", "start-first", True, True),
        "resources.limits.memory": (None, 32 * 1024**2, None, None),
        "labels.research.version": ("v1", "v2-oom", None, None),
    }
    changes = {d.path: d.change for d in c.differences}
    assert changes["resources.limits.memory"] == "added"
    assert {n.kind for n in c.new_risks} == {START_FIRST_ROLLBACK}
    assert {n.kind for n in c.base_risks} == {SINGLE_REPLICA_STOP_FIRST, ROLLBACK_CONFIG_UNSET}
    assert c.added_services == c.removed_services == ()


def test_default_vs_explicit_is_reported() -> None:
    base = policy("services:\n  app:\n    image: x\n")
    head = policy("services:\n  app:\n    image: x\n    deploy:\n      update_config:\n"
                  "        order: start-first\n        parallelism: 1\n")
    c = compare_policies(base, head)
    assert diff_map(c) == {"update_config.order": ("stop-first", "start-first", False, True)}
    assert "update_config.order: stop-first (default) -> start-first" in c.to_text()


def test_identical_policies_have_no_differences() -> None:
    p = fixture("oom-v2-startfirst.yml")
    c = compare_policies(p, fixture("oom-v2-startfirst.yml"))
    assert c.differences == () and c.new_risks == ()
    assert c.head_risks and len(c.head_risks) == len(c.base_risks)
    assert "differences: none" in c.to_text()


def test_added_and_removed_services_and_env_keys() -> None:
    base = policy("services:\n  app:\n    environment: {OLD: 'v'}\n  worker:\n    image: w\n")
    head = policy("services:\n  app:\n    environment: {NEW: 'hunter2'}\n  cache:\n    image: r\n")
    c = compare_policies(base, head)
    assert (c.added_services, c.removed_services) == (("cache",), ("worker",))
    assert diff_map(c) == {
        "environment.OLD": ("set", None, None, None),
        "environment.NEW": (None, "set", None, None),
    }
    for rendering in (c.to_text(), c.to_markdown(), json.dumps(c.to_dict())):
        assert "hunter2" not in rendering
        assert "cache" in rendering and "worker" in rendering


def test_healthcheck_and_rollback_config_differences() -> None:
    c = compare_policies(fixture("unhealthy-v2-stopfirst.yml"), fixture("flag-v1-stopfirst.yml"))
    # head's explicit rollback_config equals the engine defaults: explicitness alone is no change
    assert diff_map(c) == {
        "healthcheck.test": (("CMD", "sh", "-c", "test -f /tmp/nope"),
                             ("CMD", "sh", "-c", "test -f /tmp/ok"), True, True),
        "labels.research.version": ("v2", "v1", None, None),
    }
    assert ROLLBACK_CONFIG_UNSET in {n.kind for n in c.base_risks}
    assert ROLLBACK_CONFIG_UNSET not in {n.kind for n in c.head_risks}


# --- recipe chain base vs head ---------------------------------------------------------


def test_recipe_base_tag_vs_head(tmp_path: Path) -> None:
    recipe = build_recipe(tmp_path, head_order="stop-first")
    env = {"STACK_NAME": "disc"}

    def at(ref: str) -> ComposePolicy:
        return load_policy([("compose.yml", recipe.repo.git.show(f"{ref}:compose.yml")),
                            ("compose.lab.yml", OVERLAY)], env)

    c = compare_policies(at(BASE_TAG), at(recipe.head))
    assert c.base_files == c.head_files == ("compose.yml", "compose.lab.yml")
    assert diff_map(c) == {
        "update_config.order": ("start-first", "stop-first", True, True),
        "labels.coop-cloud.disc.version": (BASE_TAG, "0.9.0+3.5.0", None, None),
    }
    assert START_FIRST_ROLLBACK in {n.kind for n in c.base_risks}
    assert START_FIRST_ROLLBACK not in {n.kind for n in c.head_risks}
    assert {n.kind for n in c.new_risks} == {SINGLE_REPLICA_STOP_FIRST}


# --- renderings ------------------------------------------------------------------------


def incident_comparison() -> Comparison:
    return compare_policies(fixture("healthy-v1-stopfirst.yml"), fixture("oom-v2-startfirst.yml"))


def test_to_dict_is_json_and_complete() -> None:
    c = incident_comparison()
    data = json.loads(json.dumps(c.to_dict()))
    assert data["base_files"] == ["healthy-v1-stopfirst.yml"]
    assert len(data["differences"]) == len(c.differences)
    order = next(d for d in data["differences"] if d["path"] == "update_config.order")
    assert order == {"service": "app", "path": "update_config.order", "change": "changed",
                     "base": "stop-first", "head": "start-first",
                     "base_explicit": True, "head_explicit": True}
    assert [r["kind"] for r in data["risks"]["new"]] == [START_FIRST_ROLLBACK]
    assert data["risks"]["head"][0]["evidence"]["update_config.monitor"] == "5s"


def test_to_text_lists_differences_and_marks_new_risks() -> None:
    text = incident_comparison().to_text()
    assert "app update_config.order: stop-first -> start-first" in text
    assert "app resources.limits.memory: unset -> 32M" in text
    assert f"! {START_FIRST_ROLLBACK} (app) [new]:" in text
    assert "evidence: update_config.order=start-first; update_config.failure_action=rollback" in text


def test_to_markdown_table_and_escaping() -> None:
    base = policy("services:\n  app:\n    deploy:\n      labels: {rule: 'Host(`a`)'}\n")
    head = policy("services:\n  app:\n    deploy:\n      labels: {rule: 'Host(`a`) || [x]|*y*'}\n")
    md = compare_policies(base, head).to_markdown()
    rows = [line for line in md.splitlines() if line.startswith("| app ")]
    assert len(rows) == 1
    assert r"Host(\`a\`) \|\| \[x\]\|\*y\*" in rows[0]
    assert rows[0].count(" | ") == 3  # escaped pipes do not add cells
    md = incident_comparison().to_markdown()
    assert md.startswith("## Compose policy: base vs head")
    assert f"- **{START_FIRST_ROLLBACK}** (app, **new**): app updates start-first" in md


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5.0, "5s"), (0.5, "0.5s"), (90.0, "1m30s"), (1200.0, "20m"), (3723.0, "1h2m3s"),
     (0.0, "0s"), (59.5, "59.5s")],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(32 * 1024**2, "32M"), (13 * 1024**3, "13G"), (1536 * 1024**2, "1536M"), (1000, "1000"),
     (2048, "2K"), (0, "0")],
)
def test_format_bytes(size: int, text: str) -> None:
    assert format_bytes(size) == text


def test_compare_reads_an_env_file_that_builds_its_chain_line_by_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from ccci_tui.cli import main

    recipe = build_recipe(tmp_path, head_script="oom", memory="32M")
    env_file = tmp_path / "app.example.org.env"
    env_file.write_text('TYPE=discourse\nCOMPOSE_FILE="compose.yml"\nCOMPOSE_FILE="$COMPOSE_FILE:compose.lab.yml"\n')
    code = main(["compare", "--recipe", str(recipe.path), BASE_TAG, "HEAD", "--env-file", str(env_file),
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["base"], doc["head"]) == (BASE_TAG, "HEAD")
    # the overlay was merged: its label is on both sides, so it is no difference; the head's changes are
    assert doc["differences"] and not any("overlay" in d["path"] for d in doc["differences"])
