"""Compose shapes real Co-op Cloud recipes use (tests/fixtures/compose-shapes): the effective policy of each.

Every fixture but durations-bare.yml is one `docker stack config` (docker CLI 28.2.2) accepts; where
docker's reading matters, the comment on a test says what it showed.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import git
import pytest
import yaml

from ccci_tui.cli import main
from ccci_tui.domain.compare import (
    CHAIN_FILE_MISSING,
    MONITOR_SHORTER_THAN_HEALTH,
    compare_policies,
    risk_notes,
)
from ccci_tui.domain.compose import ComposeError, ComposePolicy, ServicePolicy, load_policy, merge_tree

SHAPES = Path(__file__).parents[1] / "fixtures" / "compose-shapes"
ENV = {"STACK_NAME": "st"}


def policy(*names: str, env: dict[str, str] | None = None, missing: tuple[str, ...] = ()) -> ComposePolicy:
    """The policy of fixture files merged in order, each labelled by its name."""
    return load_policy([(n, (SHAPES / n).read_text()) for n in names], ENV if env is None else env, missing)


def service(name: str, svc: str = "app", env: dict[str, str] | None = None) -> ServicePolicy:
    return policy(name, env=env).services[svc]


def merged_doc(*names: str) -> dict[str, object]:
    """The fixtures as merge_tree merges them, before interpolation (YAML only)."""
    doc: dict[str, object] = {}
    for n in names:
        doc = merge_tree(doc, yaml.safe_load((SHAPES / n).read_text()))
    return doc


def test_every_fixture_loads() -> None:
    full = {"STACK_NAME": "st", "APP_VERSION": "1", "DOMAIN": "d.example", "APP_ENTRYPOINT_VERSION": "v1",
            "SECRET_DB_PASSWORD_VERSION": "v1", "SECRET_SMTP_PASSWORD_VERSION": "v1",
            "SECRET_OIDC_SECRET_VERSION": "v1"}
    for path in sorted(SHAPES.glob("*.yml")):
        loaded = policy(path.name, env=full)
        assert loaded.services and loaded.unset_variables == (), path.name


# --- anchors, aliases, merge keys, x- fields ----------------------------------------------


def test_anchors_aliases_and_merge_keys_resolve_before_the_policy() -> None:
    anchored = policy("anchors.yml")
    app, worker, cron = (anchored.services[n] for n in ("app", "worker", "cron"))
    # `<<: *default` then `replicas: 2`: the key written beside the merge key wins
    assert app.replicas == 2 and worker.replicas == 1
    assert app.update_config.order.value == "start-first" and app.update_config.monitor_s.value == 30.0
    assert app.update_config.order.explicit and app.update_config.failure_action.value == "rollback"
    # a merge key is shallow: worker's own `labels` replaces the anchor's list, it does not extend it
    assert worker.labels == {"backupbot.backup": "false"}
    assert app.labels == {"coop-cloud.st.version": "1.2.0+3.4.5"}
    assert app.healthcheck is not None and worker.healthcheck is not None
    assert (app.healthcheck.retries.value, worker.healthcheck.retries.value) == (5, 2)
    assert app.healthcheck.interval_s.value == worker.healthcheck.interval_s.value == 10.0
    # `<<: [*default]` (a list of anchors) and a nested merge key in update_config
    assert cron.update_config.order.value == "stop-first" and cron.update_config.monitor_s.value == 30.0
    assert cron.labels == app.labels


def test_anchored_file_has_the_policy_of_the_same_file_written_out() -> None:
    # docker stack config shows the same services for both files (only the x- keys differ)
    comparison = compare_policies(policy("anchors-expanded.yml"), policy("anchors.yml"))
    assert comparison.differences == () and not comparison.added_services and not comparison.removed_services


def test_x_key_inside_a_service_is_interpolated_like_the_rest() -> None:
    # docker stack config: "invalid interpolation format for services.app.x-extra: required variable XIN ..."
    text = "services:\n  app:\n    image: x\n    x-extra: ${XIN:?set XIN}\n"
    with pytest.raises(ComposeError) as err:
        load_policy([("compose.yml", text)], {})
    assert str(err.value) == "compose.yml: services.app.x-extra: required variable XIN is missing a value: set XIN"
    unset = load_policy([("compose.yml", text.replace(":?set XIN", ""))], {})
    assert unset.unset_variables == ("XIN",) and unset.services["app"].image == "x"


# --- deploy only in an overlay --------------------------------------------------------------


def test_deploy_set_only_in_an_overlay() -> None:
    alone = service("deploy-in-overlay.yml")
    assert (alone.replicas, alone.update_config_set, alone.rollback_config_set) == (1, False, False)
    assert not alone.update_config.order.explicit and alone.labels == {}
    both = policy("deploy-in-overlay.yml", "deploy-in-overlay.swarm.yml")
    app = both.services["app"]
    assert app.replicas == 2 and app.update_config_set and app.rollback_config_set
    assert (app.update_config.order.value, app.update_config.monitor_s.value) == ("start-first", 60.0)
    assert app.memory_limit == 256 * 1024**2 and app.env_keys == ("DOMAIN",)
    assert app.labels == {"traefik.enable": "true", "coop-cloud.st.version": "2.0.0+1.0"}
    assert both.keys_in("deploy-in-overlay.yml") == ()
    assert "app.deploy.update_config" in both.keys_in("deploy-in-overlay.swarm.yml")


def test_compare_base_without_the_overlay_names_the_file_that_sets_deploy() -> None:
    base = policy("deploy-in-overlay.yml", missing=("deploy-in-overlay.swarm.yml",))
    head = policy("deploy-in-overlay.yml", "deploy-in-overlay.swarm.yml")
    comparison = compare_policies(base, head)
    diffs = {d.path: (d.base, d.head) for d in comparison.differences}
    assert diffs["update_config.order"] == ("stop-first", "start-first")
    assert diffs["replicas"] == (1, 2) and diffs["resources.limits.memory"] == (None, 256 * 1024**2)
    (missing,) = [r for r in comparison.base_risks if r.kind == CHAIN_FILE_MISSING]
    assert missing.evidence["file"] == "deploy-in-overlay.swarm.yml"
    assert "deploy.update_config" in missing.evidence["set at head"]


# --- list and mapping forms -----------------------------------------------------------------


def test_mapping_forms_of_labels_and_environment() -> None:
    app = service("labels-env-forms.yml", env={"STACK_NAME": "st", "DOMAIN": "d.example"})
    assert app.labels == {"traefik.enable": "true", "traefik.http.services.app.loadbalancer.server.port": "8080",
                          "backupbot.backup": "true"}
    assert app.env_keys == ("APP_URL", "EMPTY", "LOG_LEVEL")


def test_list_form_overlay_merges_onto_mapping_form_by_key() -> None:
    # docker stack config -c labels-env-forms.yml -c labels-env-forms.list.yml: the same keys and values
    app = policy("labels-env-forms.yml", "labels-env-forms.list.yml", env={"STACK_NAME": "st", "DOMAIN": "d"})
    svc = app.services["app"]
    assert svc.labels == {"traefik.enable": "true", "traefik.http.services.app.loadbalancer.server.port": "9090",
                          "backupbot.backup": "true", "coop-cloud.st.version": "3.0.0+1.0"}
    assert svc.env_keys == ("APP_URL", "BARE", "EMPTY", "EXTRA", "LOG_LEVEL")


def test_service_labels_in_both_forms_merge_by_key() -> None:
    # service `labels` (the container's) are not policy, but they merge as deploy.labels do
    from ccci_tui.domain.compose_syntax import _load_file

    docs = [_load_file(n, (SHAPES / n).read_text(), ENV, set())
            for n in ("labels-env-forms.yml", "labels-env-forms.list.yml")]
    merged = merge_tree(docs[0], docs[1])
    assert merged["services"]["app"]["labels"] == {
        "com.example.role": "web", "com.example.tier": "back", "com.example.owner": "ops"}


# --- env_file -------------------------------------------------------------------------------


def test_env_file_is_accepted_and_its_keys_are_not_env_keys() -> None:
    # docker reads env_file at deploy (and fails when a file is missing); the tool reads no file beside the
    # compose file, so only `environment` keys count
    loaded = policy("env-file.yml")
    assert loaded.services["app"].env_keys == ("APP_ENV",)
    assert loaded.services["db"].env_keys == ()
    assert loaded.unset_variables == ()


# --- configs and secrets with versioned names ------------------------------------------------


def test_configs_and_secrets_with_versioned_names() -> None:
    versions = {"STACK_NAME": "st", "APP_ENTRYPOINT_VERSION": "v3", "SECRET_DB_PASSWORD_VERSION": "v1",
                "SECRET_SMTP_PASSWORD_VERSION": "v2", "SECRET_OIDC_SECRET_VERSION": "v1"}
    set_all = policy("configs-secrets.yml", "configs-secrets.bump.yml", env=versions)
    assert set_all.unset_variables == () and set_all.services["app"].image == "example/app:4.1.0"
    bare = policy("configs-secrets.yml", "configs-secrets.bump.yml")
    assert bare.unset_variables == ("APP_ENTRYPOINT_VERSION", "SECRET_DB_PASSWORD_VERSION",
                                    "SECRET_OIDC_SECRET_VERSION", "SECRET_SMTP_PASSWORD_VERSION")
    assert compare_policies(set_all, bare).differences == ()  # names of configs and secrets are no policy


def test_service_configs_and_secrets_merge_by_source() -> None:
    doc = merged_doc("configs-secrets.yml", "configs-secrets.bump.yml")
    app = doc["services"]["app"]  # type: ignore[index]
    assert app["configs"] == [{"source": "app_entrypoint", "target": "/entrypoint.sh"}, "nginx_conf"]
    assert [s if isinstance(s, str) else s["source"] for s in app["secrets"]] == [
        "db_password", "smtp_password", "oidc_secret"]
    assert app["configs"] and app["secrets"][1]["mode"] == 0o400
    assert set(doc["secrets"]) == {"db_password", "smtp_password", "oidc_secret"}  # type: ignore[arg-type]


# --- durations -------------------------------------------------------------------------------


def test_go_durations() -> None:
    app = service("durations.yml")
    hc = app.healthcheck
    assert hc is not None
    assert (hc.interval_s.value, hc.timeout_s.value, hc.start_period_s.value) == (90.0, 0.5, 3600.0)
    assert app.update_config.delay_s.value == 3723.5 and app.update_config.monitor_s.value == 120.0
    assert app.rollback_config.delay_s.value == 0.25
    # a zero monitor is the engine default
    assert app.rollback_config.monitor_s.value == 5.0 and "default" in app.rollback_config.monitor_s.note
    assert not any(f.note for f in (hc.interval_s, hc.timeout_s, app.update_config.delay_s))


def test_bare_numbers_are_seconds_with_a_note() -> None:
    # docker stack deploy refuses them ("must be a string"); compose reads seconds, and so does the tool
    app = service("durations-bare.yml")
    hc = app.healthcheck
    assert hc is not None
    assert (hc.interval_s.value, hc.timeout_s.value) == (90.0, 2.5)
    assert (app.update_config.delay_s.value, app.update_config.monitor_s.value) == (0.5, 30.0)
    for f in (hc.interval_s, hc.timeout_s, app.update_config.delay_s, app.update_config.monitor_s):
        assert "bare number" in f.note


# --- healthcheck disabled, global mode, document markers --------------------------------------


def test_disabled_healthchecks_carry_no_monitor_risk() -> None:
    loaded = policy("healthcheck-disabled.yml")
    hcs = {n: s.healthcheck for n, s in loaded.services.items()}
    assert all(hc is not None for hc in hcs.values())
    assert [n for n, hc in hcs.items() if hc is not None and hc.disabled] == ["app", "worker"]
    risky = {r.service for r in risk_notes(loaded) if r.kind == MONITOR_SHORTER_THAN_HEALTH}
    assert risky == {"probe"}


@pytest.mark.parametrize(("value", "disabled"), [("true", True), ("yes", True), ("off", False), ("False", False)])
def test_healthcheck_disable_from_a_variable(value: str, disabled: bool) -> None:
    # docker casts an interpolated `disable` to a boolean (y/yes/true/on, n/no/false/off)
    text = "services:\n  app:\n    healthcheck:\n      disable: ${HC_OFF}\n"
    hc = load_policy([("compose.yml", text)], {"HC_OFF": value}).services["app"].healthcheck
    assert hc is not None and hc.disabled is disabled


def test_global_mode_has_no_replicas() -> None:
    agent = service("global-mode.yml", "agent")
    assert (agent.mode, agent.replicas) == ("global", None)
    assert agent.update_config.parallelism.value == 0 and agent.update_config.parallelism.explicit
    assert all(r.kind != "single-replica-stop-first" for r in risk_notes(policy("global-mode.yml")))


def test_no_version_key_leading_comments_and_document_markers() -> None:
    app = service("document-markers.yml")
    assert (app.image, app.replicas, app.update_config.order.value) == ("example/app:5.0.0", 3, "start-first")


def test_two_documents_in_one_file_are_an_error_naming_the_file() -> None:
    with pytest.raises(ComposeError, match="^compose.yml: invalid YAML"):
        load_policy([("compose.yml", "---\nservices: {}\n---\nservices: {}\n")], {})


# --- unset variables: shown as ${NAME}, named as unset ----------------------------------------


def test_unset_variables_are_shown_as_written_references() -> None:
    loaded = policy("unset-variables.yml")
    app = loaded.services["app"]
    assert loaded.unset_variables == ("APP_VERSION", "DOMAIN")
    assert app.image == "example/app:${APP_VERSION}"
    assert app.labels == {
        # `$DOMAIN` is shown braced, as every unset variable is; `$${1}` is a literal `${1}`, not a variable
        "traefik.http.routers.st.rule": "Host(`${DOMAIN}`) || Host(`www.${DOMAIN}`)",
        "traefik.http.routers.st.tls.certresolver": "production",
        "traefik.http.middlewares.st-redirect.redirectregex.replacement": "https://${DOMAIN}/${1}",
        "coop-cloud.st.version": "1.0.0+${APP_VERSION}",
    }
    assert all(type(v) is str for v in (app.image, *app.labels.values()))
    assert app.env_keys == ("DOMAIN", "LETS_ENCRYPT_ENV")
    set_ = service("unset-variables.yml", env={"STACK_NAME": "st", "DOMAIN": "d.example", "APP_VERSION": "2"})
    assert set_.labels["traefik.http.routers.st.rule"] == "Host(`d.example`) || Host(`www.d.example`)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deploy:\n      replicas: ${REPLICAS}",
         "services.app.deploy.replicas: '${REPLICAS}' is not a non-negative integer (REPLICAS is unset)"),
        ("deploy:\n      update_config: {parallelism: '${PAR}'}",
         "services.app.deploy.update_config.parallelism: '${PAR}' is not a non-negative integer (PAR is unset)"),
        ("deploy:\n      update_config: {monitor: '${MON}s'}",
         "services.app.deploy.update_config.monitor: '${MON}s' is not a duration (expected e.g. 5s, 1m30s, 500ms)"
         " (MON is unset)"),
        ("deploy:\n      update_config: {order: '${ORDER}'}",
         "services.app.deploy.update_config.order: '${ORDER}' is not one of stop-first, start-first "
         "(ORDER is unset)"),
        ("deploy:\n      update_config: {max_failure_ratio: '${RATIO}'}",
         "services.app.deploy.update_config.max_failure_ratio: '${RATIO}' is not a non-negative number "
         "(RATIO is unset)"),
        ("deploy:\n      resources: {limits: {memory: '${MEM}'}}",
         "services.app.deploy.resources.limits.memory: '${MEM}' is not a byte size (expected e.g. 32M, 1g, 512m) "
         "(MEM is unset)"),
        ("deploy:\n      mode: '${MODE}'", "services.app.deploy.mode: '${MODE}' is not one of"),
        ("healthcheck:\n      retries: '${RETRIES}'", "(RETRIES is unset)"),
        ("healthcheck:\n      interval: '${A}${B}'", "healthcheck.interval: '${A}${B}' is not a duration"),
        ("healthcheck:\n      disable: '${HC_OFF}'",
         "services.app.healthcheck.disable: '${HC_OFF}' is not a boolean (true or false) (HC_OFF is unset)"),
        ("ports: ['${PORT}:80']", "services.app.ports[0]: '${PORT}' is not a port or port range (PORT is unset)"),
        ("ports: [{target: 80, published: '${PORT}'}]",
         "services.app.ports[0]: '${PORT}' is not a non-negative integer (PORT is unset)"),
        ("deploy: '${DEPLOY}'", "services.app.deploy: expected a mapping, got str (DEPLOY is unset)"),
    ],
)
def test_unset_variable_in_a_structural_field_names_key_and_variable(text: str, message: str) -> None:
    # docker substitutes "" and then refuses these too (strconv.Atoi: parsing "", invalid size: '', ...)
    with pytest.raises(ComposeError) as err:
        load_policy([("compose.yml", f"services:\n  app:\n    {text}\n")], {})
    assert str(err.value).startswith("compose.yml: ") and message in str(err.value)
    if "${A}${B}" in text:
        assert str(err.value).endswith("(A, B are unset)")


def test_an_escaped_reference_is_not_called_unset() -> None:
    with pytest.raises(ComposeError) as err:
        load_policy([("compose.yml", "services:\n  app:\n    deploy: {replicas: '$${R}'}\n")], {})
    assert str(err.value).endswith("'${R}' is not a non-negative integer")


def test_unset_host_ip_in_a_port_is_no_error() -> None:
    # docker reads ":8080:80" (no host IP) as published 8080; the tool does not keep the host IP either
    svc = load_policy([("compose.yml", "services:\n  app:\n    ports: ['${BIND}:8080:80']\n")], {}).services["app"]
    assert [str(p) for p in svc.ports] == ["8080:80/tcp ingress"]


def test_compare_shows_unset_references_and_notes_them() -> None:
    base = policy("unset-variables.yml", env={"STACK_NAME": "st", "DOMAIN": "d.example", "APP_VERSION": "1"})
    head = policy("unset-variables.yml")
    comparison = compare_policies(base, head)
    diffs = {d.path: (d.base, d.head) for d in comparison.differences}
    assert diffs["labels.traefik.http.routers.st.rule"] == (
        "Host(`d.example`) || Host(`www.d.example`)", "Host(`${DOMAIN}`) || Host(`www.${DOMAIN}`)")
    assert diffs["image"] == ("example/app:1", "example/app:${APP_VERSION}")
    assert comparison.head_unset == ("APP_VERSION", "DOMAIN") and comparison.base_unset == ()
    assert any(n.startswith("unset at head: APP_VERSION, DOMAIN") for n in comparison.notes())


# --- through the CLI: a throwaway recipe repo ------------------------------------------------


def _repo(root: Path, versions: list[tuple[str, str]]) -> Path:
    """A git repo with one commit (and tag) per (tag, compose.yml text)."""
    path = root / "recipe"
    path.mkdir()
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Recipe Maintainer")
        cw.set_value("user", "email", "maintainer@example.test")
        cw.set_value("commit", "gpgsign", "false")
    for tag, text in versions:
        (path / "compose.yml").write_text(textwrap.dedent(text))
        repo.index.add(["compose.yml"])
        repo.index.commit(f"release {tag}")
        repo.create_tag(tag)
    return path


def _compare(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["compare", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(autouse=True)
def _no_abra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABRA_DIR", str(tmp_path / "no-abra"))


_RELEASE = """\
    services:
      app:
        image: example/app:1.0.0
        deploy:
          labels:
            - "traefik.http.routers.${STACK_NAME}.rule=Host(`old.${DOMAIN}`)"
    """


@pytest.mark.parametrize(
    ("reference", "problem"),
    [("${DOMAIN:?set DOMAIN in the app env}", "required variable DOMAIN is missing a value: set DOMAIN in the app env"),
     ("${DOMAIN?no domain}", "required variable DOMAIN is missing a value: no domain"),
     ("${DOMAIN:?}", "required variable DOMAIN is missing a value")],
)
def test_required_variable_unset_is_one_line_through_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reference: str, problem: str,
) -> None:
    head = _RELEASE.replace("old.${DOMAIN}", reference).replace("1.0.0", "1.1.0")
    recipe = _repo(tmp_path, [("1.0.0", _RELEASE), ("1.1.0", head)])
    rc, out, err = _compare(capsys, "--recipe", str(recipe), "1.0.0", "1.1.0")
    assert (rc, out) == (2, "")
    assert err == (f"ccci-tui compare: compose.yml@1.1.0: services.app.deploy.labels[0]: {problem}\n")
    assert "Traceback" not in err


def test_unset_variable_through_compare_shows_the_reference_and_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    head = _RELEASE.replace("old.${DOMAIN}", "${DOMAIN}")
    recipe = _repo(tmp_path, [("1.0.0", _RELEASE), ("1.1.0", head)])
    rc, out, err = _compare(capsys, "--recipe", str(recipe), "--stack", "st", "1.0.0", "1.1.0")
    assert rc == 0, err
    assert "note: unset at base: DOMAIN (shown as ${NAME}" in out
    assert "note: unset at head: DOMAIN (shown as ${NAME}" in out
    assert "app labels.traefik.http.routers.st.rule: Host(`old.${DOMAIN}`) -> Host(`${DOMAIN}`)" in out
    rc, out, err = _compare(capsys, "--recipe", str(recipe), "--stack", "st", "1.0.0", "1.1.0", "--format", "json")
    doc = json.loads(out)
    assert doc["unset_variables"] == {"base": ["DOMAIN"], "head": ["DOMAIN"]}
    (diff,) = doc["differences"]
    assert (diff["base"], diff["head"]) == ("Host(`old.${DOMAIN}`)", "Host(`${DOMAIN}`)")


def test_unset_variable_in_a_count_through_compare_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    head = _RELEASE.replace("deploy:\n", "deploy:\n          replicas: ${REPLICAS}\n")
    recipe = _repo(tmp_path, [("1.0.0", _RELEASE), ("1.1.0", head)])
    rc, out, err = _compare(capsys, "--recipe", str(recipe), "1.0.0", "1.1.0")
    assert (rc, out) == (2, "")
    assert err == ("ccci-tui compare: compose.yml@1.1.0: services.app.deploy.replicas: '${REPLICAS}' is not a "
                   "non-negative integer (REPLICAS is unset)\n")
