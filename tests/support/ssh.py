"""The lab served over ssh (`scripts/swarm-lab ssh-up`: an sshd on 127.0.0.1:22 whose sessions reach the
lab daemon): bring it up and down, and count the ssh connections it accepted, from its own log."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.lab import SWARM_LAB

SSH_HOST = "ssh://root@127.0.0.1"


def ssh_up() -> str | None:
    """Serve the lab over ssh (idempotent); None when it does, else why not."""
    proc = subprocess.run([str(SWARM_LAB), "ssh-up"], capture_output=True, text=True, timeout=300, check=False)
    return None if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["ssh-up failed"])[-1]


def ssh_down() -> None:
    subprocess.run([str(SWARM_LAB), "ssh-down"], capture_output=True, timeout=60, check=False)


_SHARED = Path("/tmp/ccci-lab-sshd")  # the test processes that use the lab's sshd, and the locks they share


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    _SHARED.mkdir(exist_ok=True)
    with open(_SHARED / name, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def shared_sshd() -> Iterator[str | None]:
    """The lab's sshd for this process (an xdist worker) while others may use it too: the first user starts
    it, the last one stops it (each user is a pid file; a dead worker's is not counted). Yields None when it
    serves, else why not."""
    me = _SHARED / f"user-{os.getpid()}"
    with _locked("users.lock"):
        me.touch()
        problem = ssh_up()
    try:
        yield problem
    finally:
        with _locked("users.lock"):
            me.unlink(missing_ok=True)
            others = [f for f in _SHARED.glob("user-*") if _alive(int(f.name[5:]))]
            if not others:
                ssh_down()


@contextlib.contextmanager
def sshd_turn() -> Iterator[None]:
    """This test alone on the lab's sshd: connections are counted in its log and sessions are killed, so two
    tests on it at once (two xdist workers) would see each other's."""
    with _locked("turn.lock"):
        yield


def serving() -> bool:
    """Whether an sshd listens on 127.0.0.1:22."""
    return _listener() is not None


def _listener() -> int | None:
    out = subprocess.run(["ss", "-Htlnp", "src", "127.0.0.1", "sport", "= :22"], capture_output=True, text=True,
                         check=False).stdout
    found = re.search(r'"sshd",pid=(\d+)', out)
    return int(found.group(1)) if found else None


def sessions() -> list[int]:
    """The pids of the lab sshd's per-connection processes (killing one ends that connection)."""
    pid = _listener()
    if pid is None:
        return []
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def sshd_log() -> Path:
    """The log of the sshd listening on 127.0.0.1:22: its `-E` argument, read from its process title."""
    pid = _listener()
    if pid is None:
        raise RuntimeError("no sshd listens on 127.0.0.1:22 (scripts/swarm-lab ssh-up)")
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()  # sshd retitles itself
    if b"-E" not in argv:
        raise RuntimeError(f"the sshd on 127.0.0.1:22 (pid {pid}) logs to syslog, not a file")
    return Path(argv[argv.index(b"-E") + 1].decode())


def logins() -> int:
    """How many ssh connections the lab's sshd has accepted so far (one `Accepted publickey` line each)."""
    return sshd_log().read_text(errors="replace").count("Accepted publickey for ")
