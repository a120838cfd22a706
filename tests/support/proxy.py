"""A logging unix-socket proxy in front of the Docker daemon: proves which API calls a command makes."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.lab import lab_docker_host

_REQUEST = re.compile(rb"(GET|HEAD|POST|PUT|DELETE|PATCH) (/\S*) HTTP/1\.[01]\r\n")


class EngineProxy:
    """Forwards every byte to `upstream` (a socket path, unix:// or tcp:// address; default: the lab
    daemon, never the machine's own); `requests` lists (method, path) the clients sent."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream or lab_docker_host()
        self.dir = Path(tempfile.mkdtemp(prefix="ccci-proxy-"))
        self.path = self.dir / "docker.sock"
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(64)
        self._stop = False
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def writes(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(m, p) for m, p in self.requests if m not in ("GET", "HEAD")]

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                up = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, up]
            threading.Thread(target=self._pipe, args=(client, up, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, client, False), daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        url = urlsplit(self.upstream if "://" in self.upstream else f"unix://{self.upstream}")
        if url.scheme == "tcp":
            up = socket.create_connection((url.hostname or "127.0.0.1", url.port or 2375), timeout=10)
            up.settimeout(None)  # an event stream stays quiet for long
            return up
        if url.scheme != "unix":
            raise OSError(f"EngineProxy cannot forward to {self.upstream}")
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            up.connect(url.path)
        except OSError:
            up.close()
            raise
        return up

    def _pipe(self, src: socket.socket, dst: socket.socket, log: bool) -> None:
        pending = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if log:
                    pending = (pending + data)[-8192:]
                    for m in _REQUEST.finditer(pending):
                        with self._lock:
                            self.requests.append((m.group(1).decode(), m.group(2).decode()))
                    pending = pending[pending.rfind(b"\r\n") + 2:] if b"\r\n" in pending else pending
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """Drop every connection and stop listening: to its clients the daemon is gone."""
        self._server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def restore(self) -> None:
        """Listen again on the same path."""
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._server.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            self.dir.rmdir()  # nothing left behind in /tmp
