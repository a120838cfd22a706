"""Compose policy: interpolation, durations, byte sizes, overlays, defaults and errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ccci_tui.domain.compose import (
    ComposeError,
    ComposePolicy,
    ServicePolicy,
    UpdateConfigPolicy,
    interpolate,
    load_policy,
    merge_tree,
    parse_bytes,
    parse_compose_file_chain,
    parse_duration,
)
from ccci_tui.domain.model import UpdatePolicy
from tests.support.recipes import BASE_TAG, LAB_IMAGE, OVERLAY, build_recipe, compose_text

COMPOSE_DIR = Path(__file__).parents[1] / "fixtures" / "swarm-lab" / "compose"
FIXTURES = sorted(p.name for p in COMPOSE_DIR.glob("*.yml"))



def _values(c: UpdateConfigPolicy) -> UpdatePolicy:
    """The effective values, in the live spec's model: what `docker service inspect` would show."""
    return UpdatePolicy(c.parallelism.value, c.delay_s.value, c.failure_action.value, c.monitor_s.value,
                        c.max_failure_ratio.value, c.order.value)

def fixture(name: str) -> ServicePolicy:
    policy = load_policy([(name, (COMPOSE_DIR / name).read_text())], {})
    return policy.services["app"]


def one(text: str, env: dict[str, str] | None = None, name: str = "compose.yml") -> ComposePolicy:
    return load_policy([(name, textwrap.dedent(text))], env or {})


def app(text: str, env: dict[str, str] | None = None) -> ServicePolicy:
    return one(text, env).services["app"]


# --- COMPOSE_FILE chains ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "chain"),
    [
        (None, ("compose.yml",)),
        ("", ("compose.yml",)),
        ("compose.yml", ("compose.yml",)),
        ("compose.yml:compose.lab.yml", ("compose.yml", "compose.lab.yml")),
        (" compose.yml : compose.x.yml: ", ("compose.yml", "compose.x.yml")),
    ],
)
def test_compose_file_chain(value: str | None, chain: tuple[str, ...]) -> None:
    assert parse_compose_file_chain(value) == chain


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("10us", 1e-5),
        ("10\u00b5s", 1e-5), ("1.5h", 5400.0), (".5s", 0.5), ("0", 0.0), ("20m", 1200.0),
        ("1h2m3s4ms", 3723.004), (7, 7.0), (2.5, 2.5),
    ],
)
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["five", "5", "", "s", "-5s", "5 s", "5sec", "1e3s", "5s5", "1d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ComposeError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [True, None, [5], -1, float("nan"), 10**30, "9" * 400 + "h"])
def test_parse_duration_rejects_non_durations(value: object) -> None:
    with pytest.raises(ComposeError):
        parse_duration(value)


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(_UNITS))), min_size=1))
def test_parse_duration_sums_its_parts(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_duration(text) == pytest.approx(sum(n * _UNITS[u] for n, u in parts))


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans()))
def test_parse_duration_only_raises_compose_error(value: object) -> None:
    try:
        seconds = parse_duration(value)
    except ComposeError as exc:
        assert "duration" in str(exc)
    else:
        assert 0 <= seconds < 300 * 365 * 86400


# --- byte sizes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("32M", 32 * 1024**2), ("1g", 1024**3), ("512m", 512 * 1024**2),
        ("1.5G", int(1.5 * 1024**3)), ("13G", 13 * 1024**3), (1048576, 1048576),
        ("1024", 1024), ("1kb", 1024), ("2KiB", 2048), ("64 MB", 64 * 1024**2), ("100b", 100),
    ],
)
def test_parse_bytes(text: str | int, size: int) -> None:
    assert parse_bytes(text) == size


@pytest.mark.parametrize("value", ["lots", "1.5.3G", "1x", "-1", -1, True, None, 1.5, "1e9", ""])
def test_parse_bytes_rejects(value: object) -> None:
    with pytest.raises(ComposeError, match="byte size"):
        parse_bytes(value)


@given(st.one_of(st.text(), st.integers()))
def test_parse_bytes_only_raises_compose_error(value: str | int) -> None:
    try:
        size = parse_bytes(value)
    except ComposeError as exc:
        assert "byte size" in str(exc)
    else:
        assert 0 <= size < 2**63


# --- interpolation ---------------------------------------------------------------------

ENV = {"STACK_NAME": "st", "EMPTY": "", "IMAGE": "x/y:1"}


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("${STACK_NAME}", "st"), ("$STACK_NAME", "st"), ("a.$STACK_NAME.b", "a.st.b"),
        ("coop-cloud.${STACK_NAME}.version=1", "coop-cloud.st.version=1"),
        ("${UNSET:-dflt}", "dflt"), ("${EMPTY:-dflt}", "dflt"), ("${IMAGE:-dflt}", "x/y:1"),
        ("${UNSET-dflt}", "dflt"), ("${EMPTY-dflt}", ""), ("${EMPTY?boom}", ""),
        ("$$HOSTNAME", "$HOSTNAME"), ("$${STACK_NAME}", "${STACK_NAME}"), ("cost $$5", "cost $5"),
        ("${UNSET:-$$}", "$$"),  # docker takes a default literally
        ("${UNSET}", "${UNSET}"), ("$UNSET", "${UNSET}"), ("no dollars", "no dollars"),
    ],
)
def test_interpolate(text: str, out: str) -> None:
    assert interpolate(text, ENV) == out


@pytest.mark.parametrize(
    ("text", "needle"),
    [("${UNSET:?set UNSET first}", "UNSET"), ("${EMPTY:?must not be empty}", "EMPTY"),
     ("${UNSET?gone}", "UNSET")],
)
def test_interpolate_required_names_variable_and_message(text: str, needle: str) -> None:
    with pytest.raises(ComposeError) as err:
        interpolate(text, ENV)
    message = text.split("?", 1)[1].rstrip("}")
    assert needle in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("text", ["$", "cost $5", "${}", "${X:+y}", "${unclosed", "$-"])
def test_interpolate_rejects_invalid_templates(text: str) -> None:
    with pytest.raises(ComposeError, match="invalid interpolation"):
        interpolate(text, ENV)


def test_interpolate_collects_unset_variables() -> None:
    unset: set[str] = set()
    assert interpolate("$A-${B}-${C:-c}-$STACK_NAME", ENV, unset) == "${A}-${B}-c-st"
    assert unset == {"A", "B"}


@given(st.text())
def test_interpolate_escaped_text_is_unchanged(text: str) -> None:
    assert interpolate(text.replace("$", "$$"), ENV) == text


@given(
    st.text(alphabet=st.sampled_from(list("${}:-?AB_1 x")), max_size=30),
    st.dictionaries(st.sampled_from(["A", "B", "_1"]), st.sampled_from(["", "v", "$"])),
)
def test_interpolate_only_raises_compose_error(text: str, env: dict[str, str]) -> None:
    try:
        out = interpolate(text, env)
    except ComposeError:
        return
    if "$" not in text:
        assert out == text


# --- the lab fixtures ------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_every_lab_fixture_loads(name: str) -> None:
    svc = fixture(name)
    assert svc.image == "ccci/busybox:test"
    assert svc.replicas == 1 and svc.mode == "replicated"


def test_oom_fixture_policy() -> None:
    svc = fixture("oom-v2-startfirst.yml")
    assert svc.memory_limit == 32 * 1024 * 1024  # HostConfig.Memory=33554432 in run C
    assert svc.memory_reservation is None
    up = svc.update_config
    assert (up.order.value, up.failure_action.value, up.monitor_s.value) == (
        "start-first", "rollback", 5.0)
    assert up.order.explicit and up.failure_action.explicit and up.monitor_s.explicit
    assert not up.delay_s.explicit and up.delay_s.value == 0.0
    assert not up.max_failure_ratio.explicit
    assert svc.labels == {"research.version": "v2-oom"}
    assert svc.healthcheck is not None
    assert svc.healthcheck.test.value == ("CMD", "sh", "-c", "test -f /tmp/ok")
    assert svc.healthcheck.health_window_s == 1 + 1 * 2
    assert _values(up) == UpdatePolicy(1, 0.0, "rollback", 5.0, 0.0, "start-first")


def test_unset_rollback_config_gets_engine_defaults_not_update_config() -> None:
    svc = fixture("oom-v2-startfirst.yml")
    assert not svc.rollback_config_set
    rb = svc.rollback_config
    assert rb.order.value == "stop-first" and not rb.order.explicit
    assert rb.failure_action.value == "pause" and not rb.failure_action.explicit
    assert _values(rb) == UpdatePolicy()


def test_explicit_rollback_config() -> None:
    svc = fixture("flag-v1-stopfirst.yml")
    assert svc.rollback_config_set
    assert svc.rollback_config.failure_action.value == "pause"
    assert svc.rollback_config.failure_action.explicit


@pytest.mark.parametrize("name", ["reserve-v1-startfirst.yml", "reserve-v2-startfirst.yml"])
def test_reservation_fixtures(name: str) -> None:
    svc = fixture(name)
    assert svc.memory_reservation == 13 * 1024**3
    assert svc.memory_limit is None


def test_fixture_without_update_config_is_all_defaults() -> None:
    svc = fixture("stats-probe.yml")
    assert not svc.update_config_set
    assert all(not f.explicit for f in svc.update_config.fields().values())
    assert _values(svc.update_config) == UpdatePolicy()
    assert svc.healthcheck is None
    assert (svc.memory_limit, svc.memory_reservation) == (64 * 1024**2, 16 * 1024**2)
    assert svc.labels == {}


def test_environment_keys_only() -> None:
    assert fixture("healthy-v2-startfirst.yml").env_keys == ("RESEARCH_REV",)
    svc = app(
        """
        services:
          app:
            image: x
            environment:
              DB_PASSWORD: hunter2-very-secret
              PLAIN:
            deploy:
              labels: {a: b}
        """
    )
    assert svc.env_keys == ("DB_PASSWORD", "PLAIN")
    assert "hunter2" not in repr(svc)


def test_environment_list_form_and_secret_from_env_stay_out() -> None:
    policy = one(
        """
        services:
          app:
            image: x
            environment:
              - TOKEN=${TOKEN}
              - MODE=prod
              - FROM_SHELL
        """,
        {"TOKEN": "s3cr3t-token"},
    )
    assert policy.services["app"].env_keys == ("FROM_SHELL", "MODE", "TOKEN")
    assert "s3cr3t" not in repr(policy)


# --- the recipe chain ------------------------------------------------------------------


def recipe_chain(version: str = "0.9.0+3.5.0", **kw: str) -> list[tuple[str, str]]:
    return [("compose.yml", compose_text(version, "contention", "3.5.0", **kw)),
            ("compose.lab.yml", OVERLAY)]


def test_recipe_chain_merges_overlay_and_interpolates_stack_name() -> None:
    policy = load_policy(recipe_chain(), {"STACK_NAME": "discourse_example_test"})
    svc = policy.services["app"]
    assert policy.files == ("compose.yml", "compose.lab.yml")
    assert svc.labels == {
        "coop-cloud.discourse_example_test.version": "0.9.0+3.5.0",
        "coop-cloud.discourse_example_test.overlay": "lab",
    }
    assert svc.image == LAB_IMAGE  # ${IMAGE:-...} default
    assert svc.env_keys == ("APP_VERSION", "DOMAIN", "OVERLAY")
    assert svc.update_config.order.value == "start-first"
    assert svc.update_config.parallelism.explicit
    assert svc.healthcheck is not None and svc.healthcheck.retries.value == 3


def test_recipe_chain_env_overrides_image_and_reports_unset() -> None:
    policy = load_policy(recipe_chain(), {"STACK_NAME": "s", "IMAGE": "other:2"})
    assert policy.services["app"].image == "other:2"
    assert policy.unset_variables == ()
    policy = load_policy([("compose.yml", "services:\n  app:\n    image: $NOPE\n")], {})
    assert policy.unset_variables == ("NOPE",) and policy.services["app"].image == "${NOPE}"


def test_recipe_repo_at_base_tag_and_head(tmp_path: Path) -> None:
    recipe = build_recipe(tmp_path, head_order="stop-first", memory="512m")
    env = {"STACK_NAME": "disc"}

    def at(ref: str) -> ServicePolicy:
        names = ("compose.yml", "compose.lab.yml")
        files = [(n, recipe.repo.git.show(f"{ref}:{n}")) for n in names]
        return load_policy(files, env).services["app"]

    base, head = at(BASE_TAG), at(recipe.head)
    assert base.labels["coop-cloud.disc.version"] == BASE_TAG
    assert head.labels["coop-cloud.disc.version"] == "0.9.0+3.5.0"
    assert (base.update_config.order.value, head.update_config.order.value) == (
        "start-first", "stop-first")
    assert base.memory_limit == head.memory_limit == 512 * 1024**2


# --- labels, update_config, healthcheck, ports, replicas -------------------------------


def test_labels_mapping_and_list_forms_and_keys_not_interpolated() -> None:
    svc = app(
        """
        services:
          app:
            deploy:
              labels:
                coop-cloud.${STACK_NAME}.timeout: ${TIMEOUT:-120}
                backupbot.backup: true
                count: 3
                empty:
        """,
        {"STACK_NAME": "st"},
    )
    # docker interpolates values only: recipes use the list form for ${STACK_NAME} in keys
    assert svc.labels == {"coop-cloud.${STACK_NAME}.timeout": "120", "backupbot.backup": "true",
                          "count": "3", "empty": ""}
    svc = app(
        """
        services:
          app:
            deploy:
              labels: ["a=1", "b=x=y", "c", "coop-cloud.${STACK_NAME}.version=1.0"]
        """,
        {"STACK_NAME": "st"},
    )
    assert svc.labels == {"a": "1", "b": "x=y", "c": "", "coop-cloud.st.version": "1.0"}


def test_update_config_values_interpolated_and_converted() -> None:
    svc = app(
        """
        services:
          app:
            deploy:
              replicas: ${REPLICAS:-2}
              update_config:
                parallelism: "${PAR}"
                delay: 1m30s
                monitor: ${MONITOR:-10s}
                max_failure_ratio: 0.25
                order: ${ORDER:-start-first}
        """,
        {"PAR": "0"},
    )
    up = svc.update_config
    assert svc.replicas == 2
    assert (up.parallelism.value, up.delay_s.value, up.monitor_s.value) == (0, 90.0, 10.0)
    assert up.max_failure_ratio.value == 0.25 and up.order.value == "start-first"
    assert not up.failure_action.explicit and up.failure_action.value == "pause"


def test_bare_number_duration_is_seconds_with_a_note_and_zero_monitor_is_default() -> None:
    up = app(
        """
        services:
          app:
            deploy:
              update_config: {monitor: 0s, delay: 3}
        """
    ).update_config
    assert up.delay_s.value == 3.0 and "seconds" in up.delay_s.note
    assert up.monitor_s.value == 5.0 and up.monitor_s.explicit and "default" in up.monitor_s.note


def test_healthcheck_defaults_and_forms() -> None:
    hc = app("services:\n  app:\n    healthcheck:\n      test: curl -f localhost\n").healthcheck
    assert hc is not None
    assert hc.test.value == ("CMD-SHELL", "curl -f localhost") and hc.test.explicit
    assert (hc.interval_s.value, hc.timeout_s.value, hc.retries.value, hc.start_period_s.value) == (
        30.0, 30.0, 3, 0.0)
    assert not any(f.explicit for k, f in hc.fields().items() if k != "test")
    assert hc.health_window_s == 90.0 and not hc.disabled
    hc = app("services:\n  app:\n    healthcheck:\n      start_period: 20m\n").healthcheck
    assert hc is not None and hc.test.value == () and not hc.test.explicit
    assert hc.health_window_s == 1200 + 90
    off = app("services:\n  app:\n    healthcheck:\n      disable: true\n").healthcheck
    none = app("services:\n  app:\n    healthcheck:\n      test: [NONE]\n").healthcheck
    assert off is not None and none is not None and off.disabled and none.disabled
    assert app("services:\n  app:\n    image: x\n").healthcheck is None


def test_ports_short_and_long_forms() -> None:
    svc = app(
        """
        services:
          app:
            ports:
              - "8080:80"
              - 9000
              - "127.0.0.1:5353:53/udp"
              - "7000-7001:8000-8001"
              - target: 443
                published: "${HTTPS_PORT:-8443}"
                mode: host
              - target: 22
        """
    )
    assert [str(p) for p in svc.ports] == [
        "8080:80/tcp ingress", "9000/tcp ingress", "5353:53/udp ingress",
        "7000:8000/tcp ingress", "7001:8001/tcp ingress", "8443:443/tcp host", "22/tcp ingress",
    ]
    assert svc.ports[5].published == 8443 and svc.ports[1].published is None


def test_replicas_and_modes() -> None:
    assert app("services:\n  app:\n    image: x\n").replicas == 1
    assert app("services:\n  app:\n    deploy: {replicas: 3}\n").replicas == 3
    glob = app("services:\n  app:\n    deploy: {mode: global, replicas: 3}\n")
    assert (glob.replicas, glob.mode) == (None, "global")


# --- overlays --------------------------------------------------------------------------

BASE = """
services:
  app:
    image: app:1
    command: [sh, -c, base]
    environment: [A=1, B=2]
    ports: ["8080:80", "9090:90"]
    healthcheck: {test: [CMD, base], interval: 10s, retries: 5}
    deploy:
      labels: [keep=1, change=old]
      update_config: {order: start-first, failure_action: rollback, monitor: 5s}
  db:
    image: postgres
"""
OVER = """
services:
  app:
    image: app:2
    environment: {B: 3, C: 4}
    ports: ["8080:80", "8081:81"]
    healthcheck: {test: [CMD, over]}
    deploy:
      labels: {change: new, added: "yes"}
      update_config: {order: stop-first}
  cache:
    image: redis
"""


def test_overlay_merge_like_stack_deploy() -> None:
    policy = load_policy([("compose.yml", BASE), ("compose.x.yml", OVER)], {})
    assert list(policy.services) == ["app", "db", "cache"]
    svc = policy.services["app"]
    assert svc.image == "app:2"
    assert svc.labels == {"keep": "1", "change": "new", "added": "yes"}
    assert svc.env_keys == ("A", "B", "C")
    up = svc.update_config
    assert (up.order.value, up.failure_action.value, up.monitor_s.value) == (
        "stop-first", "rollback", 5.0)
    assert [str(p) for p in svc.ports] == [
        "8080:80/tcp ingress", "9090:90/tcp ingress", "8081:81/tcp ingress"]
    assert svc.healthcheck is not None
    assert svc.healthcheck.test.value == ("CMD", "over")  # replaced, not appended
    assert (svc.healthcheck.interval_s.value, svc.healthcheck.retries.value) == (10.0, 5)


def test_merge_tree_lists() -> None:
    base = yaml.safe_load(BASE)["services"]["app"]
    base["volumes"] = ["data:/data", {"type": "bind", "source": "/a", "target": "/cfg"}, "/tmp"]
    base["dns"] = ["1.1.1.1"]
    over = {"command": ["sh", "-c", "over"], "entrypoint": ["tini"], "dns": ["9.9.9.9"],
            "volumes": ["other:/data", {"type": "bind", "source": "/b", "target": "/new"}]}
    merged = merge_tree(base, over)
    assert merged["command"] == ["sh", "-c", "over"] and merged["entrypoint"] == ["tini"]
    assert merged["dns"] == ["1.1.1.1", "9.9.9.9"]
    assert merged["volumes"] == [
        "other:/data", {"type": "bind", "source": "/a", "target": "/cfg"}, "/tmp",
        {"type": "bind", "source": "/b", "target": "/new"},
    ]
    assert merge_tree({"a": {"b": 1}}, {"a": None}) == {"a": {"b": 1}}


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("services: [app", "compose.yml: invalid YAML"),
        ("- a\n- b\n", "compose.yml: top level must be a mapping, got list"),
        ("", "compose.yml: top level must be a mapping, got NoneType"),
        ("services: [app]\n", "compose.yml: services: expected a mapping, got list"),
        ("services:\n  app: nginx\n", "compose.yml: services.app: expected a mapping, got str"),
        ("services:\n  app:\n    deploy:\n      update_config:\n        monitor: five\n",
         "compose.yml: services.app.deploy.update_config.monitor: 'five' is not a duration"),
        ("services:\n  app:\n    deploy:\n      resources: {limits: {memory: lots}}\n",
         "compose.yml: services.app.deploy.resources.limits.memory: 'lots' is not a byte size"),
        ("services:\n  app:\n    deploy:\n      update_config:\n        order: sideways\n",
         "services.app.deploy.update_config.order: 'sideways' is not one of"),
        ("services:\n  app:\n    deploy:\n      replicas: many\n",
         "services.app.deploy.replicas: 'many' is not a non-negative integer"),
        ("services:\n  app:\n    healthcheck:\n      interval: 1\n      retries: -1\n",
         "services.app.healthcheck.retries"),
        ("services:\n  app:\n    ports: ['99999:80']\n", "services.app.ports[0]: '99999'"),
        ("services:\n  app:\n    ports: ['80-81:90']\n", "services.app.ports[0]"),
        ("services:\n  app:\n    ports: [{target: 80, mode: bridge}]\n", "'bridge' is not one of"),
        ("services:\n  app:\n    deploy: {mode: sometimes}\n", "services.app.deploy.mode"),
        ("services:\n  app:\n    deploy:\n      labels: [{a: b}]\n", "services.app.deploy.labels"),
        ("services:\n  app:\n    image: ${IMAGE:?set IMAGE in the app env}\n",
         "compose.yml: services.app.image: required variable IMAGE is missing a value: "
         "set IMAGE in the app env"),
        ("services:\n  app:\n    command: echo $1\n",
         "services.app.command: invalid interpolation"),
        ("when: 2024-13-45\n", "compose.yml: invalid YAML"),
    ],
)
def test_errors_name_file_and_key_path(text: str, needle: str) -> None:
    with pytest.raises(ComposeError) as err:
        load_policy([("compose.yml", text)], {})
    assert needle in str(err.value)


def test_error_in_an_overlay_names_the_overlay() -> None:
    bad = "services:\n  app:\n    deploy:\n      update_config:\n        delay: soon\n"
    with pytest.raises(ComposeError) as err:
        load_policy([("compose.yml", BASE), ("compose.lab.yml", bad)], {})
    assert err.value.file == "compose.lab.yml"
    assert err.value.path == "services.app.deploy.update_config.delay"
    assert str(err.value).startswith("compose.lab.yml: services.app.deploy.update_config.delay:")


def test_no_files_and_extensions_not_interpolated() -> None:
    with pytest.raises(ComposeError, match="no compose files"):
        load_policy([], {})
    # docker interpolates services/networks/volumes/secrets/configs only
    policy = one("x-notes: ${NOT_SET:?never checked}\nservices:\n  app: {image: x}\n")
    assert policy.services["app"].image == "x"


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**20), st.floats(allow_nan=True),
    st.text(alphabet=st.sampled_from(list("0123456789.smhkMG-:/$ {}abc=")), max_size=12),
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.sampled_from(["target", "mode", "test", "a"]), inner,
                                         max_size=3), max_leaves=8)
_KEYS = st.sampled_from([
    ("image",), ("ports",), ("environment",), ("healthcheck",), ("healthcheck", "interval"),
    ("healthcheck", "test"), ("healthcheck", "retries"), ("deploy",), ("deploy", "labels"),
    ("deploy", "replicas"), ("deploy", "mode"), ("deploy", "update_config"),
    ("deploy", "update_config", "monitor"), ("deploy", "update_config", "order"),
    ("deploy", "rollback_config", "max_failure_ratio"), ("deploy", "resources", "limits", "memory"),
])


@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=4))
def test_any_service_shape_gives_a_policy_or_compose_error(
    entries: list[tuple[tuple[str, ...], object]],
) -> None:
    svc: dict[str, object] = {}
    for path, value in entries:
        node = svc
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[path[-1]] = value
    text = yaml.safe_dump({"services": {"app": svc}})
    try:
        policy = load_policy([("compose.yml", text), ("compose.x.yml", text)], {"a": "1"})
    except ComposeError as exc:
        assert exc.file == "compose.yml"
    else:
        assert set(policy.services) == {"app"}


@given(st.text(max_size=200))
def test_any_text_gives_a_policy_or_compose_error(text: str) -> None:
    try:
        load_policy([("compose.yml", text)], {})
    except ComposeError as exc:
        assert str(exc).startswith("compose.yml: ")
