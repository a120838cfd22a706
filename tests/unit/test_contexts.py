"""Every docker context the CLI knows, and their stacks read at once: listing from a DOCKER_CONFIG written
here (named as the docker CLI names them: the sha256 of the context's name), and the concurrent reads
against small engines on unix sockets (one answers, one accepts and never answers, one is no manager)."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccci_tui.sources.contexts import (
    ContextStacks,
    DockerContext,
    DockerContexts,
    list_contexts,
    read_contexts,
)
from ccci_tui.sources.endpoint import DEFAULT_SOCKET, resolve_endpoint
from ccci_tui.sources.swarm import StackSummary

DOCKER = shutil.which("docker")
HANG = 30.0  # a guard against a hung test, never a measure: every wait below ends on an event first


def write_context(config: Path, name: str, host: str | None, raw: str | None = None) -> Path:
    """A context as the docker CLI stores it: contexts/meta/<sha256 of the name>/meta.json."""
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    meta.parent.mkdir(parents=True)
    endpoints = {"docker": {"Host": host, "SkipTLSVerify": False}} if host is not None else {}
    meta.write_text(raw if raw is not None else json.dumps({"Name": name, "Metadata": {}, "Endpoints": endpoints}))
    return meta


# ---- listing -------------------------------------------------------------------------------------


def test_default_first_then_every_stored_context_by_name(tmp_path: Path) -> None:
    write_context(tmp_path, "zeta.example.org", "ssh://root@zeta.example.org")
    write_context(tmp_path, "lab", "unix:///var/lib/ccci-lab/docker.sock")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "lab"}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert list_contexts(env) == (
        DockerContext("default", DEFAULT_SOCKET, current=False),
        DockerContext("lab", "unix:///var/lib/ccci-lab/docker.sock", current=True),
        DockerContext("zeta.example.org", "ssh://root@zeta.example.org", current=False),
    )
    # DOCKER_CONTEXT picks another; DOCKER_HOST makes `default` the current one, at that address
    assert [c.name for c in list_contexts({**env, "DOCKER_CONTEXT": "zeta.example.org"}) if c.current] == [
        "zeta.example.org"]
    listed = list_contexts({**env, "DOCKER_HOST": "tcp://127.0.0.1:2375", "DOCKER_CONTEXT": "lab"})
    assert listed[0] == DockerContext("default", "tcp://127.0.0.1:2375", current=True)
    assert not any(c.current for c in listed[1:])


def test_no_store_lists_the_default_alone(tmp_path: Path) -> None:
    assert list_contexts({"DOCKER_CONFIG": str(tmp_path / "absent")}) == (
        DockerContext("default", DEFAULT_SOCKET, current=True),)


def test_an_unusable_context_is_listed_with_its_problem_never_raised(tmp_path: Path) -> None:
    write_context(tmp_path, "good", "tcp://10.0.0.1:2375")
    broken = write_context(tmp_path, "broken", None, raw="{not json")
    write_context(tmp_path, "k8s-only", None)  # no docker endpoint
    (tmp_path / "contexts" / "meta" / "no-meta-here").mkdir()  # not a context: skipped, as the CLI does
    (tmp_path / "config.json").write_text("{not json")  # no current context can be told
    listed = list_contexts({"DOCKER_CONFIG": str(tmp_path)})
    good = [c for c in listed if c.problem is None]
    assert [(c.name, c.host, c.current) for c in good] == [("default", DEFAULT_SOCKET, False),
                                                          ("good", "tcp://10.0.0.1:2375", False)]
    problems = sorted(c.problem or "" for c in listed if c.problem)
    assert len(problems) == 2 and all("docker context is unusable" in p for p in problems)
    assert any(str(broken) in p for p in problems) and any("'docker'" in p for p in problems)


def test_resolve_endpoint_reads_the_same_files(tmp_path: Path) -> None:
    """One home for the rule: the daemon a command reads is the listed current context's."""
    write_context(tmp_path, "lab", "unix:///tmp/lab.sock")
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "lab"}
    current = next(c for c in list_contexts(env) if c.current)
    assert resolve_endpoint(env) == (current.host, current.label) == (
        "unix:///tmp/lab.sock", "context lab (unix:///tmp/lab.sock)")


@pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI to write real contexts")
def test_lists_the_contexts_the_docker_cli_writes(tmp_path: Path) -> None:
    for name, host in (("abra.example.org", "ssh://root@abra.example.org"), ("lab", "tcp://127.0.0.1:2399")):
        subprocess.run([DOCKER, "--config", str(tmp_path), "context", "create", name, "--docker", f"host={host}"],
                       check=True, capture_output=True)
    subprocess.run([DOCKER, "--config", str(tmp_path), "context", "use", "lab"], check=True, capture_output=True)
    listed = list_contexts({"DOCKER_CONFIG": str(tmp_path)})
    assert [(c.name, c.host, c.current) for c in listed] == [
        ("default", DEFAULT_SOCKET, False), ("abra.example.org", "ssh://root@abra.example.org", False),
        ("lab", "tcp://127.0.0.1:2399", True)]


def test_a_source_for_a_context_names_it_in_the_header() -> None:
    source = DockerContexts(timeout=3.0).source(DockerContext("lab", "unix:///tmp/lab.sock"))
    assert (source.base_url, source.label, source.timeout) == (
        "unix:///tmp/lab.sock", "context lab (unix:///tmp/lab.sock)", 3.0)


# ---- small engines on unix sockets ---------------------------------------------------------------


@pytest.fixture
def sockets() -> Iterator[Path]:
    """A short directory for sockets (a unix socket path must stay under ~108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="ccci-ctx-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _service(stack: str, name: str, state: str | None) -> dict[str, object]:
    svc: dict[str, object] = {"ID": f"id-{name}", "Spec": {"Name": f"{stack}_{name}",
                                                          "Labels": {"com.docker.stack.namespace": stack}}}
    if state:
        svc["UpdateStatus"] = {"State": state}
    return svc


class Engine:
    """An Engine API that answers `/info` (a swarm manager unless told otherwise) and `/services`."""

    def __init__(self, path: Path, services: list[dict[str, object]], swarm: dict[str, object] | None = None) -> None:
        info = {"Name": path.stem, "Swarm": swarm if swarm is not None else
                {"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "n1"}}
        answers = {"/info": info, "/services": services}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = json.dumps(answers.get(self.path.split("?", 1)[0], {"message": "no such"})).encode()
                self.send_response(200 if self.path.split("?", 1)[0] in answers else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
        self.server.daemon_threads = True
        self.url = f"unix://{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """A unix socket that accepts every connection and never answers, until `release()` closes them."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.url = f"unix://{path}"
        self.conns: list[socket.socket] = []
        self.accepted = threading.Event()
        self.gave_up = threading.Event()  # the client closed its connection: it stopped waiting
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
                self.accepted.set()
                threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(4096):
                pass  # the request comes in; no answer ever goes out
            self.gave_up.set()

    def release(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        self.release()
        self.sock.close()


class Results:
    """What `read_contexts` delivers, in order, with a wait for a number of them."""

    def __init__(self, silent: Silent | None = None) -> None:
        self.items: list[ContextStacks] = []
        self.silent_waiting: list[bool] = []  # per result: was the silent context's reader still waiting?
        self._silent = silent
        self._cond = threading.Condition()

    def __call__(self, result: ContextStacks) -> None:
        with self._cond:
            self.items.append(result)
            self.silent_waiting.append(self._silent is not None and not self._silent.gave_up.is_set())
            self._cond.notify_all()

    def wait(self, count: int) -> list[ContextStacks]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= count, HANG), f"only {self.items}"
            return list(self.items)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.items]


# ---- reading every context at once ---------------------------------------------------------------


def test_a_context_that_never_answers_delays_none_of_the_others(sockets: Path) -> None:
    fast = Engine(sockets / "fast.sock", [_service("alpha", "app", "rollback_completed"),
                                          _service("alpha", "db", None), _service("beta", "app", "updating")])
    idle = Engine(sockets / "idle.sock", [], swarm={"LocalNodeState": "inactive", "ControlAvailable": False})
    worker = Engine(sockets / "worker.sock", [], swarm={"LocalNodeState": "active", "ControlAvailable": False})
    silent = Silent(sockets / "silent.sock")
    contexts = [DockerContext("silent", silent.url), DockerContext("fast", fast.url),
                DockerContext("dead", f"unix://{sockets / 'nobody.sock'}"), DockerContext("idle", idle.url),
                DockerContext("worker", worker.url), DockerContext("broken", "", problem="its meta.json is unusable")]
    results = Results(silent)
    try:
        reads = read_contexts(contexts, results, timeout=HANG)  # the silent one never reaches its timeout here
        answered = results.wait(5)
        assert silent.accepted.wait(HANG)  # its request is in: the engine just never answers
        # every other context is in while the silent one is still being read
        assert "silent" not in [r.name for r in answered] and reads.waiting == ("silent",)
        assert all(results.silent_waiting)
        by_name = {r.name: r for r in answered}
        assert by_name["fast"].error is None and by_name["fast"].stacks == (
            StackSummary("alpha", ("alpha_app", "alpha_db"), "rollback"),
            StackSummary("beta", ("beta_app",), "updating"))
        assert by_name["fast"].host == fast.url and by_name["fast"].seconds >= 0
        # no swarm, or no manager: a result with that reason, not a crash
        assert by_name["idle"].stacks is None and "is not part of a swarm" in (by_name["idle"].error or "")
        assert "is a swarm worker, not a manager" in (by_name["worker"].error or "")
        assert "unreachable" in (by_name["dead"].error or "") and by_name["dead"].stacks is None
        assert (by_name["broken"].error, by_name["broken"].seconds) == ("its meta.json is unusable", 0.0)
        silent.release()  # the engine hangs up without answering: that read fails on its own, last
        last = results.wait(6)[-1]
        assert results.names[-1] == "silent" and last.stacks is None and "unreachable" in (last.error or "")
        assert reads.wait(HANG) and reads.waiting == ()
    finally:
        for server in (fast, idle, worker, silent):
            server.close()


def test_a_context_that_never_answers_is_given_up_after_its_timeout(sockets: Path) -> None:
    fast = Engine(sockets / "fast.sock", [_service("alpha", "app", None)])
    silent = Silent(sockets / "silent.sock")
    results = Results(silent)
    try:
        reads = read_contexts([DockerContext("silent", silent.url), DockerContext("fast", fast.url)], results,
                              timeout=2.0)
        assert reads.wait(HANG)  # every context has a result: the silent one's is its timeout
        assert results.names == ["fast", "silent"]
        assert results.silent_waiting[0]  # the fast one came in while the silent one was still being read
        slow = results.items[1]
        assert slow.stacks is None and slow.seconds >= results.items[0].seconds
        # the reader's own socket timeout or the give-up, whichever came first: both say it did not answer
        assert slow.error == "no answer within 2 s" or "timed out" in (slow.error or ""), slow.error
    finally:
        fast.close()
        silent.close()


def test_each_context_gets_one_result_and_none_after_cancel() -> None:
    gate = threading.Event()
    calls: list[str] = []

    def reader(host: str, timeout: float) -> tuple[StackSummary, ...]:
        calls.append(host)
        if host == "held":
            gate.wait(HANG)
        return (StackSummary(f"on-{host}", (), "ok"),)

    results = Results()
    reads = read_contexts([DockerContext("a", "quick"), DockerContext("b", "held")], results, timeout=HANG,
                          reader=reader)
    assert results.wait(1)[0].stacks == (StackSummary("on-quick", (), "ok"),)
    reads.cancel()
    gate.set()
    assert reads.wait(HANG)  # b's read ended, and was not delivered
    assert results.names == ["a"] and sorted(calls) == ["held", "quick"]


def test_a_reader_that_raises_anything_is_that_context_s_result() -> None:
    def reader(host: str, timeout: float) -> tuple[StackSummary, ...]:
        raise ValueError("surprise")

    results = Results()
    read_contexts([DockerContext("x", "tcp://x")], results, reader=reader)
    assert results.wait(1)[0].error == "ValueError: surprise"


def test_no_contexts_is_done_at_once() -> None:
    reads = read_contexts([], Results())
    assert reads.wait(0) and reads.waiting == ()
