"""abra's layout as operators have it (`~/.abra/servers/<server>/<app>.env`, `~/.abra/recipes/<recipe>`),
read end to end: `compare` through the CLI, the target a diagnose resolves, the recipe a re-run locates.

HOME (or ABRA_DIR) points at a tmp dir; DOCKER_HOST at a socket nobody listens on, so `compare`
without BASE finds no running stamp and falls back to the app env, as it does off the swarm.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccci_tui.cli import main
from ccci_tui.sources.abra import abra_dir
from ccci_tui.sources.target import resolve_target
from ccci_tui.upgrade.plan import PlanError, locate
from tests.support.corpus import new_repo

STACK = "myapp_example_com"
DOMAIN = "myapp.example.com"
OLD, NEW = "1.0.0+1.2", "1.1.0+1.3"


def _compose(label: str, image: str, rule: str, greeting: bool = False) -> str:
    greeting_line = '\n                - "greeting=${GREETING}"' if greeting else ""
    return f"""\
        version: "3.8"
        services:
          app:
            image: {image}
            environment:
              - DOMAIN
            deploy:
              labels:
                - "traefik.http.routers.${{STACK_NAME}}.rule={rule}"
                - "{label}"{greeting_line}
        """


def _postgres(pg: str) -> str:
    return f"""\
        version: "3.8"
        services:
          app:
            deploy:
              update_config:
                order: start-first
          db:
            image: postgres:{pg}
            secrets:
              - db_password
        secrets:
          db_password:
            external: true
            name: ${{STACK_NAME}}_db_password_${{SECRET_DB_PASSWORD_VERSION}}
        """


def build_myrecipe(recipes: Path, name: str = "myrecipe") -> tuple[Path, str]:
    """Tags OLD (the older `….app.version` label) and NEW (the newer `….version` label, a second Host
    in the rule), then an untagged head that adds a `greeting` label. Returns (path, head sha)."""
    r = new_repo(recipes, name)
    r.commit("release", {
        "compose.yml": _compose(f"coop-cloud.${{STACK_NAME}}.app.version={OLD}", "nginx:1.25.0", "Host(`${DOMAIN}`)"),
        "compose.postgres.yml": _postgres("15"),
    })
    r.tag(OLD)
    two_hosts = "Host(`${DOMAIN}`) || Host(`${EXTRA_DOMAIN}`)"
    r.commit("release", {
        "compose.yml": _compose(f"coop-cloud.${{STACK_NAME}}.version={NEW}", "nginx:1.26.0", two_hosts),
        "compose.postgres.yml": _postgres("16"),
    })
    r.tag(NEW)
    head = r.commit("feat: greeting label", {
        "compose.yml": _compose(f"coop-cloud.${{STACK_NAME}}.version={NEW}", "nginx:1.26.0", two_hosts, greeting=True),
    })
    return r.path, head


def app_env_text(recipe_line: str) -> str:
    """An app env as `abra app new` writes it and an operator then edits it."""
    return f"""\
# abra app new myrecipe; edited by hand since
{recipe_line}  # set by abra app deploy

export DOMAIN={DOMAIN}
## Domain aliases
#EXTRA_DOMAINS=', `www.{DOMAIN}`'
EXTRA_DOMAIN="www.${{DOMAIN}}" # the alias, from the domain above
LETS_ENCRYPT_ENV='production'
GREETING='hello $DOMAIN # not a comment'

COMPOSE_FILE="compose.yml"
## Postgres
COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"
## Outgoing mail
#COMPOSE_FILE="$COMPOSE_FILE:compose.smtp.yml"

SECRET_DB_PASSWORD_VERSION=v1 # length=32
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An operator's HOME with no ABRA_DIR, and no daemon to ask for a running stamp."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ABRA_DIR", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nobody-listens.sock'}")
    return home


def install(abra: Path, recipe_line: str, server: str = "srv.example.com") -> tuple[Path, str]:
    """The app env under `<abra>/servers/<server>/` and the recipe checkout under `<abra>/recipes/`."""
    env_dir = abra / "servers" / server
    env_dir.mkdir(parents=True)
    (env_dir / f"{DOMAIN}.env").write_text(app_env_text(recipe_line))
    return build_myrecipe(abra / "recipes")


def compare(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["compare", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def by_path(doc: dict[str, Any]) -> dict[str, tuple[object, object, str]]:
    return {d["path"]: (d["base"], d["head"], d["change"]) for d in doc["differences"] if d["service"] == "app"}


# --- compare, the app env found for --stack ------------------------------------------------------


@pytest.mark.parametrize(("recipe_line", "base"), [
    (f'RECIPE="myrecipe:{OLD}"', OLD),  # the version after ':' is the default base
    ("TYPE=myrecipe", NEW),  # no version: the newest tag before the head
])
def test_compare_reads_the_stacks_app_env(home: Path, capsys: pytest.CaptureFixture[str],
                                          recipe_line: str, base: str) -> None:
    recipe, _ = install(home / ".abra", recipe_line)
    code, out, err = compare(capsys, "--recipe", str(recipe), "--stack", STACK, "--format", "json")
    assert code == 0, err
    # the chain the env file builds line by line, in order
    assert err == (f"ccci-tui compare: base {base} (the default for {STACK}), head HEAD, "
                   "files compose.yml:compose.postgres.yml\n")
    doc = json.loads(out)
    assert doc["base_files"] == [f"compose.yml@{base}", f"compose.postgres.yml@{base}"]
    assert doc["head_files"] == ["compose.yml@HEAD", "compose.postgres.yml@HEAD"]
    diffs = by_path(doc)
    # single quotes: no expansion, and the ` #` is part of the value
    assert diffs["labels.greeting"] == (None, "hello $DOMAIN # not a comment", "added")
    if base == OLD:
        # `export DOMAIN=` and `"www.${DOMAIN}"` reach the labels; STACK_NAME is the stack
        assert diffs[f"labels.traefik.http.routers.{STACK}.rule"] == (
            f"Host(`{DOMAIN}`)", f"Host(`{DOMAIN}`) || Host(`www.{DOMAIN}`)", "changed")
    assert "db" not in doc["added_services"]  # the overlay is read at both sides


def test_compare_without_an_app_env_uses_compose_yml_alone(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe, _ = build_myrecipe(home / "recipes")
    code, out, err = compare(capsys, "--recipe", str(recipe), "--stack", STACK, "--format", "json")
    assert code == 0, err
    assert err.endswith(f"base {NEW} (the default for {STACK}), head HEAD, files compose.yml\n")
    assert json.loads(out)["head_files"] == ["compose.yml@HEAD"]


def test_abra_dir_overrides_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    # the operator's ~/.abra names another version; ABRA_DIR (with a `~`) wins
    install(home / ".abra", "RECIPE=myrecipe:0.0.1+0.0")
    monkeypatch.setenv("ABRA_DIR", "~/work-abra")
    recipe, _ = install(home / "work-abra", f"RECIPE=myrecipe:{OLD}")
    assert abra_dir() == home / "work-abra"
    code, _, err = compare(capsys, "--recipe", str(recipe), "--stack", STACK)
    assert code == 0, err
    assert f"base {OLD} (the default for {STACK})" in err


def test_the_env_file_named_for_another_stack_is_not_used(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe, _ = install(home / ".abra", f"RECIPE=myrecipe:{OLD}")
    code, _, err = compare(capsys, "--recipe", str(recipe), "--stack", "other_example_com")
    assert code == 0, err
    assert err.endswith(f"base {NEW} (the default for other_example_com), head HEAD, files compose.yml\n")


# --- the version label in both forms --------------------------------------------------------------


def test_old_and_new_version_labels_show_as_a_readable_difference(home: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    recipe, _ = install(home / ".abra", f"RECIPE=myrecipe:{OLD}")
    old_key, new_key = f"coop-cloud.{STACK}.app.version", f"coop-cloud.{STACK}.version"

    code, out, err = compare(capsys, "--recipe", str(recipe), OLD, NEW, "--stack", STACK)
    assert code == 0, err
    assert f"  app labels.{old_key}: {OLD} -> unset\n" in out
    assert f"  app labels.{new_key}: unset -> {NEW}\n" in out

    code, out, err = compare(capsys, "--recipe", str(recipe), OLD, NEW, "--stack", STACK, "--format", "json")
    assert code == 0, err
    diffs = by_path(json.loads(out))
    assert diffs[f"labels.{old_key}"] == (OLD, None, "removed")
    assert diffs[f"labels.{new_key}"] == (None, NEW, "added")

    code, out, err = compare(capsys, "--recipe", str(recipe), OLD, NEW, "--stack", STACK, "--format", "markdown")
    assert code == 0, err
    md_stack = STACK.replace("_", "\\_")  # Markdown escapes `_`; rendered, it reads as the key
    assert f"| app | labels.coop-cloud.{md_stack}.app.version | {OLD} | unset |" in out.splitlines()
    assert f"| app | labels.coop-cloud.{md_stack}.version | unset | {NEW} |" in out.splitlines()


# --- the recipe checkout under ~/.abra/recipes -----------------------------------------------------


@pytest.mark.parametrize(("recipe_line", "version"), [(f"RECIPE=myrecipe:{OLD}", OLD), ("TYPE=myrecipe", None)])
def test_resolve_target_finds_the_app_env_and_the_recipe_checkout(home: Path, recipe_line: str,
                                                                  version: str | None) -> None:
    recipe, head = install(home / ".abra", recipe_line)
    target = resolve_target(STACK)
    assert target.app_env is not None
    assert (target.app_env.path, target.app_env.server) == (
        home / ".abra" / "servers" / "srv.example.com" / f"{DOMAIN}.env", "srv.example.com")
    assert (target.app_env.recipe, target.app_env.version) == ("myrecipe", version)
    assert target.app_env.compose_files == ("compose.yml", "compose.postgres.yml")
    assert target.recipe_path == home / ".abra" / "recipes" / "myrecipe" == recipe
    assert target.recipe is not None and target.recipe.head_sha == head
    assert target.expect.intent == version
    assert target.notes == ()


def test_resolve_target_finds_a_recipe_named_by_its_repo_path(home: Path) -> None:
    install(home / ".abra", f"RECIPE=git.example.org/coop/myrecipe:{OLD}")
    target = resolve_target(STACK)
    assert target.recipe_path is None  # the checkout is under the escaped name, not yet there
    assert target.notes == (f"recipe git.example.org/coop/myrecipe from {DOMAIN}.env not found at "
                            f"{home / '.abra' / 'recipes' / 'git_example_org_coop_myrecipe'}",)
    _, head = build_myrecipe(home / ".abra" / "recipes", "git_example_org_coop_myrecipe")
    target = resolve_target(STACK)
    assert target.recipe is not None and target.recipe.head_sha == head
    assert target.expect.intent == OLD


def test_rerun_locates_the_recipe_checkout(home: Path) -> None:
    recipe, _ = install(home / ".abra", f"RECIPE=myrecipe:{OLD}")
    app_env, path = locate(STACK, None)
    assert path == str(recipe)
    assert app_env is not None and app_env.version == OLD
    assert locate(STACK, "/elsewhere")[1] == "/elsewhere"  # --recipe wins
    with pytest.raises(PlanError, match="no recipe to re-run from"):
        locate("other_example_com", None)
