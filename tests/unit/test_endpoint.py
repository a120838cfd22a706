"""Which daemon a command talks to: DOCKER_HOST, DOCKER_CONTEXT or the CLI's current context."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ccci_tui.sources.endpoint import DEFAULT_SOCKET, resolve_endpoint
from ccci_tui.sources.engine_api import supports
from ccci_tui.sources.errors import SwarmError

DOCKER = shutil.which("docker")


def test_docker_host_wins(tmp_path):
    env = {"DOCKER_HOST": "ssh://root@example.test", "DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "x"}
    assert resolve_endpoint(env) == ("ssh://root@example.test", "ssh://root@example.test")


def test_no_config_means_the_default_socket(tmp_path):
    assert resolve_endpoint({"DOCKER_CONFIG": str(tmp_path)})[0] == DEFAULT_SOCKET


@pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI to write a real context")
def test_reads_contexts_written_by_the_docker_cli(tmp_path):
    # the CLI itself writes the context store: this checks our reading of its real layout
    subprocess.run([DOCKER, "--config", str(tmp_path), "context", "create", "lab", "--docker",
                    "host=tcp://127.0.0.1:2399"], check=True, capture_output=True)
    assert resolve_endpoint({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "lab"}) == (
        "tcp://127.0.0.1:2399", "context lab (tcp://127.0.0.1:2399)")
    subprocess.run([DOCKER, "--config", str(tmp_path), "context", "use", "lab"], check=True, capture_output=True)
    assert resolve_endpoint({"DOCKER_CONFIG": str(tmp_path)})[0] == "tcp://127.0.0.1:2399"


def test_a_missing_context_is_a_clear_error(tmp_path):
    with pytest.raises(SwarmError, match="docker context 'gone' is unusable"):
        resolve_endpoint({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "gone"})
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(SwarmError, match="cannot read .*config.json"):
        resolve_endpoint({"DOCKER_CONFIG": str(tmp_path)})


def test_plain_client_only_where_it_can():
    assert supports("unix:///var/run/docker.sock", {})
    assert supports("tcp://127.0.0.1:2375", {})
    assert not supports("tcp://127.0.0.1:2376", {"DOCKER_TLS_VERIFY": "1"})
    assert not supports("ssh://root@host", {})
