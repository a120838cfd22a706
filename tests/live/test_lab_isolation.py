"""The lab keeps to itself: a user's own daemon is never touched, and the sweep removes only the suite's."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.lab import lab_client, lab_env, swarm_lab
from tests.support.recipes import LAB_IMAGE
from tests.support.sweep import STACK_LABEL, sweep

USER_IMAGE = "ccci-user/busybox:1"
LOOP = "trap 'exit 0' TERM; while true; do sleep 1; done"


class StandIn:
    """A stand-in for a user's own dockerd: own network namespace, data and exec roots, socket, pidfile."""

    def __init__(self, tmp_path: Path) -> None:
        self.ns = f"ccci-user-{uuid.uuid4().hex[:6]}"
        self.data = tmp_path / "data"
        # short: containerd's sockets live under the exec root and a socket path has at most 108 bytes
        self.run = Path(tempfile.mkdtemp(prefix="ccci-u", dir="/tmp"))
        self.sock = self.run / "docker.sock"
        self.pidfile = self.run / "dockerd.pid"
        self.host = f"unix://{self.sock}"
        self.log = tmp_path / "dockerd.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        subprocess.run(["ip", "netns", "add", self.ns], check=True, capture_output=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True, capture_output=True)
        config = self.run / "daemon.json"
        config.write_text("{}")
        with self.log.open("ab") as log:
            # its environment has no DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: a plain daemon as a user runs it
            self.proc = subprocess.Popen(
                ["nsenter", f"--net=/var/run/netns/{self.ns}", "dockerd", f"--data-root={self.data}",
                 f"--exec-root={self.run}/x", f"--host={self.host}", f"--pidfile={self.pidfile}",
                 f"--config-file={config}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")})
        deadline = time.monotonic() + 60
        while self.docker("version", check=False).returncode != 0:
            assert self.proc.poll() is None, f"the stand-in dockerd exited: {self.log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the stand-in dockerd did not answer within 60 s"
            time.sleep(0.2)

    def docker(self, *argv: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
        proc = subprocess.run(["docker", "-H", self.host, *argv], input=stdin, capture_output=True, env=env,
                              timeout=60, check=False)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    def snapshot(self) -> dict:
        """What a user would notice: the daemon's pid, swarm state, containers, networks, volumes, images."""
        import docker

        client = docker.DockerClient(base_url=self.host, timeout=30)
        try:
            api = client.api
            containers = []
            for c in api.containers(all=True):
                state = api.inspect_container(c["Id"])["State"]
                containers.append((c["Id"], tuple(c["Names"]), state["Running"], state["StartedAt"]))
            return {
                "pid": int(self.pidfile.read_text()),
                "swarm": api.info()["Swarm"]["LocalNodeState"],
                "containers": sorted(containers),
                "networks": sorted(n["Id"] for n in api.networks()),
                "volumes": sorted(v["Name"] for v in (api.volumes() or {}).get("Volumes") or []),
                "images": sorted(i["Id"] for i in api.images(all=True)),
            }
        finally:
            client.close()

    def destroy(self) -> None:
        """Kill by pid, wait, remove what is left: helpers, mounts, the namespace, the data."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                ids = self.docker("ps", "-aq", check=False).stdout.split()
                if ids:
                    self.docker("rm", "-f", *[i.decode() for i in ids], check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        _kill_helpers(f"{self.run}/x/")
        _unmount_under(self.run, self.data)
        subprocess.run(["ip", "netns", "delete", self.ns], capture_output=True, check=False)
        shutil.rmtree(self.run, ignore_errors=True)
        shutil.rmtree(self.data, ignore_errors=True)


def _kill_helpers(marker: str) -> None:
    """SIGKILL the stand-in's containerd and shims a killed dockerd may leave: they name its exec root."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if marker.encode() in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), signal.SIGKILL)


def _unmount_under(*roots: Path) -> None:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4].encode().decode("unicode_escape")  # \040 for a space
        if any(target.startswith(f"{r}/") for r in roots):
            mounts.append(target)
    for target in sorted(mounts, reverse=True):  # the deepest first
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def _busybox_tar() -> bytes:
    """The same image swarm-lab imports: busybox-static, a few applet links, a writable /tmp."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, mode in (("bin", 0o755), ("tmp", 0o1777), ("data", 0o755)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add("/bin/busybox", "bin/busybox")
        for applet in ("sh", "sleep", "true"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return buf.getvalue()


@pytest.mark.live
@pytest.mark.serial
def test_the_lab_never_touches_a_users_daemon(lab_daemon, tmp_path, monkeypatch, session_prefix):
    """DOCKER_HOST names the user's daemon; swarm-lab up/status, the fault tests' stop+start and the
    session sweep all act on the lab daemon, and the user's daemon is exactly as it was."""
    # lab_daemon: root and the lab's own dockerd (it is stopped and started here, and started again
    # after a failure)
    if not Path("/bin/busybox").exists():
        pytest.skip("needs /bin/busybox (busybox-static) for the stand-in's image")
    user = StandIn(tmp_path)
    try:
        user.start()
        user.docker("import", "-c", "ENV PATH=/bin", "-", USER_IMAGE, stdin=_busybox_tar())
        # named with the session's own prefix: a sweep that reached this daemon would remove it
        user.docker("run", "-d", "--network", "none", "--name", f"{session_prefix}user", USER_IMAGE,
                    "sh", "-c", LOOP)
        before = user.snapshot()
        assert before["swarm"] == "inactive" and len(before["containers"]) == 1

        # as a user with DOCKER_HOST set would run it
        monkeypatch.setenv("DOCKER_HOST", user.host)
        monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
        for command in ("up", "status"):
            proc = swarm_lab(command)
            assert proc.returncode == 0, (command, proc.stderr)
        lab_daemon.stop()
        lab_daemon.start()
        sweep(session_prefix)

        after = user.snapshot()
        assert after == before
        assert user.proc is not None and user.proc.poll() is None and after["pid"] == user.proc.pid
        assert user.docker("service", "ls", check=False).returncode != 0  # still no swarm: no services
    finally:
        user.destroy()
    assert swarm_lab("status").returncode == 0  # and the lab is up again for the tests after this one


COMPOSE = f"""
version: "3.8"
services:
  app:
    image: {LAB_IMAGE}
    command: ["sh", "-c", "{LOOP}"]
    volumes: [data:/data]
volumes:
  data:
"""


def _deploy(stack: str, tmp_path: Path) -> None:
    compose = tmp_path / f"{stack}.yml"
    compose.write_text(COMPOSE)
    proc = subprocess.run(["docker", "stack", "deploy", "-c", str(compose), stack], capture_output=True, text=True,
                          env=lab_env(), timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr


def _objects(api, start: str) -> dict[str, list[str]]:
    """Names starting with `start`, by kind (containers by name, the rest by name too)."""
    return {
        "services": [s["Spec"]["Name"] for s in api.services() if s["Spec"]["Name"].startswith(start)],
        "containers": [n.lstrip("/") for c in api.containers(all=True) for n in c["Names"]
                       if n.lstrip("/").startswith(start)],
        "networks": [n["Name"] for n in api.networks() if n["Name"].startswith(start)],
        "volumes": [v["Name"] for v in (api.volumes() or {}).get("Volumes") or [] if v["Name"].startswith(start)],
    }


@pytest.mark.live
def test_the_sweep_removes_the_sessions_objects_and_nothing_else(tmp_path, session_prefix):
    # "sw" is no hex: no stack of another test in this session starts with this prefix
    prefix = f"{session_prefix}sw{uuid.uuid4().hex[:4]}"
    other = f"ccci-u{uuid.uuid4().hex[:6]}"  # a stand-in for the user's own stack
    client = lab_client()
    api = client.api
    try:
        _deploy(f"{prefix}a", tmp_path)
        _deploy(other, tmp_path)
        api.create_volume(f"{prefix}vol")
        api.create_network(f"{prefix}net", driver="overlay", attachable=True)
        box = api.create_container(LAB_IMAGE, ["sh", "-c", LOOP], name=f"{prefix}box",
                                   host_config=api.create_host_config(network_mode=f"{prefix}net"))
        api.start(box["Id"])
        deadline = time.monotonic() + 90
        # both stacks' tasks run (so their containers and volumes exist) before the sweep
        while not all(api.containers(filters={"label": f"{STACK_LABEL}={s}", "status": "running"})
                      for s in (f"{prefix}a", other)):
            assert time.monotonic() < deadline, "the stacks' tasks did not start within 90 s"
            time.sleep(0.5)
        theirs = _objects(api, other)
        assert all(theirs.values()), theirs

        result = sweep(prefix)

        assert result.left == [], result.left
        assert not any(_objects(api, prefix).values()), _objects(api, prefix)
        for kind in ("service", "container", "network", "volume"):
            assert any(f.startswith(f"{kind} {prefix}") for f in result.found), (kind, result.found)
        assert _objects(api, other) == theirs
        running = api.containers(filters={"label": f"{STACK_LABEL}={other}", "status": "running"})
        assert running, "the other stack's task was stopped"
    finally:
        sweep(other)
        sweep(prefix)
        client.close()
