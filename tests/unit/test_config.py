"""config.toml: typed, frozen, errors name the file and the key."""

from __future__ import annotations

import pytest

from ccci_tui.config import DEFAULT_ABRA_DEPLOY, Config, ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_file_gives_defaults(tmp_path):
    cfg = load_config(env={"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)})
    assert cfg == Config() and cfg.backend == "stack" and cfg.abra_deploy == DEFAULT_ABRA_DEPLOY


def test_env_var_and_explicit_path(tmp_path):
    path = write(tmp_path, '[upgrade]\nbackend = "abra"\n[abra]\ndeploy = "abra app deploy {app} --chaos"\n'
                           "[tui]\npoll_interval = 1\n")
    cfg = load_config(env={"CCCI_TUI_CONFIG": str(path)})
    assert (cfg.backend, cfg.poll_interval, cfg.path) == ("abra", 1.0, path)
    assert cfg.abra_argv(app="disc.example.com", stack="s", recipe="r", ref="x", server="h") == [
        "abra", "app", "deploy", "disc.example.com", "--chaos"]
    assert load_config(path).backend == "abra"


@pytest.mark.parametrize("text,message", [
    ('[upgrade]\nbackend = "helm"\n', "upgrade.backend: 'helm' is not one of stack, abra"),
    ("[tui]\npoll_interval = \"fast\"\n", "tui.poll_interval: expected float"),
    ("[tui]\npoll_interval = 0\n", "tui.poll_interval: 0.0 is outside"),
    ("[colours]\nx = 1\n", "unknown table or key 'colours'"),
    ("upgrade = [", "not valid TOML"),
])
def test_errors_name_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_a_named_file_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_unknown_placeholder_in_the_abra_template(tmp_path):
    cfg = load_config(write(tmp_path, '[abra]\ndeploy = "abra app deploy {application}"\n'))
    with pytest.raises(ConfigError, match="abra.deploy: unknown placeholder 'application'"):
        cfg.abra_argv(app="a", stack="s", recipe="r", ref="x", server="h")
