"""Where the engines of the other nodes are: --node-host, [nodes] in config.toml, --nodes-ssh."""

from __future__ import annotations

import argparse

import pytest

from ccci_tui.cli import build_parser, main
from ccci_tui.config import ConfigError, load_config
from ccci_tui.sources.target import UsageError, node_hosts, swarm_source


def parsed(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_node_hosts_from_the_config_then_the_command_line(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[nodes]\nworker-1 = "ssh://root@10.0.0.2"\nworker-2 = "tcp://10.0.0.3:2375"\n')
    args = parsed("diagnose", "s", "--node-host", "worker-2=unix:///run/w2.sock", "--node-host", "abc123=tcp://h:1")
    hosts = node_hosts(args, load_config(config))
    assert hosts == {"worker-1": "ssh://root@10.0.0.2", "worker-2": "unix:///run/w2.sock", "abc123": "tcp://h:1"}
    source = swarm_source(parsed("preflight", "s", "--nodes-ssh", "ops"), load_config(config))
    assert (source.nodes_ssh, source.node_hosts["worker-1"]) == ("ops", "ssh://root@10.0.0.2")
    tui = swarm_source(parsed("--stack", "s", "--node-host", "w=unix:///x.sock", "--nodes-ssh", "me"),
                       load_config(config))
    assert (tui.node_hosts["w"], tui.nodes_ssh) == ("unix:///x.sock", "me")


@pytest.mark.parametrize("item", ["worker-1", "=tcp://h:1", "worker-1=h:2375", "worker-1=ssh://"])
def test_a_bad_node_host_names_what_is_wrong(item, capsys) -> None:
    with pytest.raises(UsageError, match="--node-host"):
        node_hosts(parsed("diagnose", "s", "--node-host", item), load_config(None, env={"CCCI_TUI_CONFIG": ""}))
    assert main(["diagnose", "s", "--node-host", item]) == 2
    assert f"--node-host {item!r}" in capsys.readouterr().err


def test_a_bad_nodes_table_names_the_key(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[nodes]\nworker-1 = "10.0.0.2"\n')
    with pytest.raises(ConfigError, match=r"nodes\.worker-1: '10\.0\.0\.2' is not a DOCKER_HOST"):
        load_config(config)
