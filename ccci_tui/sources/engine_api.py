"""A small read-only Engine API client over a unix socket or plain TCP: the reads and the event stream.

Why not docker-py's APIClient here (issue 16, measured in the same runs): each request costs it ~0.85 ms
of CPU against ~0.25 ms here, and the TUI's idle CPU beside `watch -n 2` went from 0.28-0.43x with this
client to 0.47-0.70x with APIClient (target <= 0.5x); importing it (requests, urllib3, paramiko) also
doubles a headless `diagnose`. docker-py stays for what needs it: ssh:// and TLS endpoints.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit


class EngineAPIError(RuntimeError):
    """The daemon answered with an error status."""

    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status}: {explanation}")
        self.status = status
        self.explanation = explanation


class EngineNotFound(EngineAPIError):
    """404 from the daemon."""


class EngineUnreachable(OSError):
    """The daemon's socket or port did not answer."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class EventStream:
    """The events of a GET /events, one decoded dict at a time; it ends when the connection does.
    `close()` may come from another thread: it shuts the socket down, which ends a blocked read."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self._conn, self._resp = conn, resp

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                line = self._resp.readline()
            except (OSError, ValueError, http.client.HTTPException):
                return  # closed or dropped: the end of the stream
            if not line:
                return
            if line.strip():
                yield json.loads(line)

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._conn.close()


def supports(base_url: str, env: dict[str, str] | None = None) -> bool:
    """True for endpoints this client can talk to: unix sockets and plain tcp (no TLS)."""
    scheme = urlsplit(base_url).scheme
    if scheme in ("unix", "npipe", "http+unix"):
        return scheme != "npipe"
    tls = (env or {}).get("DOCKER_TLS_VERIFY") or (env or {}).get("DOCKER_CERT_PATH")
    return scheme in ("tcp", "http") and not tls


class EngineClient:
    """GET-only access to the endpoints diagnosis reads; one short connection per request."""

    def __init__(self, base_url: str, timeout: float | None = 10.0) -> None:
        parts = urlsplit(base_url)
        self.timeout = timeout
        if parts.scheme in ("unix", "http+unix"):
            self._unix: str | None = parts.path or "/var/run/docker.sock"
            self._host, self._port = "", 0
        elif parts.scheme in ("tcp", "http"):
            self._unix = None
            self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 2375
        else:
            raise ValueError(f"unsupported endpoint for the plain client: {base_url}")

    def _connection(self) -> http.client.HTTPConnection:
        if self._unix is not None:
            return _UnixConnection(self._unix, self.timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _open(self, path: str, params: dict[str, Any] | None) -> tuple[http.client.HTTPConnection,
                                                                          http.client.HTTPResponse]:
        """GET `path` (unversioned: the daemon answers in its own API version) up to the response headers."""
        query = f"?{urlencode(params)}" if params else ""
        conn = self._connection()
        try:
            conn.request("GET", path + query, headers={"Host": "docker"})
            resp = conn.getresponse()
            if resp.status >= 400:
                body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise EngineUnreachable(getattr(exc, "errno", None) or 0, getattr(exc, "strerror", None) or str(exc)
                                    or type(exc).__name__) from exc
        if resp.status >= 400:
            conn.close()
            try:
                message = json.loads(body).get("message", "")
            except ValueError:
                message = body.decode(errors="replace")[:200]
            cls = EngineNotFound if resp.status == 404 else EngineAPIError
            raise cls(resp.status, message or resp.reason)
        return conn, resp

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET `path` and decode its JSON."""
        conn, resp = self._open(path, params)
        try:
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnreachable(0, str(exc) or type(exc).__name__) from exc
        finally:
            conn.close()
        return json.loads(body) if body else None

    def events(self, since: int | None = None, filters: dict[str, Any] | None = None,
               decode: bool = True) -> EventStream:
        """The event stream from `since` (a unix time), decoded; as docker-py's `events(..., decode=True)`."""
        params = self._filters(filters)
        if since is not None:
            params["since"] = str(since)
        conn, resp = self._open("/events", params)
        if conn.sock is not None:
            conn.sock.settimeout(None)  # a stream waits for as long as nothing happens
        return EventStream(conn, resp)

    @staticmethod
    def _filters(filters: dict[str, Any] | None) -> dict[str, str]:
        if not filters:
            return {}
        norm = {k: v if isinstance(v, list) else [v] for k, v in filters.items()}
        return {"filters": json.dumps(norm)}

    def info(self) -> Any:
        return self.get("/info")

    def services(self, filters: dict[str, Any] | None = None) -> Any:
        return self.get("/services", self._filters(filters))

    def inspect_service(self, name: str) -> Any:
        return self.get(f"/services/{quote(name, safe='')}")

    def tasks(self, filters: dict[str, Any] | None = None) -> Any:
        return self.get("/tasks", self._filters(filters))

    def nodes(self, filters: dict[str, Any] | None = None) -> Any:
        return self.get("/nodes", self._filters(filters))

    def inspect_node(self, node_id: str) -> Any:
        return self.get(f"/nodes/{quote(node_id, safe='')}")

    def inspect_container(self, cid: str) -> Any:
        return self.get(f"/containers/{quote(cid, safe='')}/json")

    def stats(self, cid: str, stream: bool = False, one_shot: bool = True) -> Any:
        params = {"stream": "false" if not stream else "true", "one-shot": "true" if one_shot else "false"}
        return self.get(f"/containers/{quote(cid, safe='')}/stats", params)

    def close(self) -> None:
        """Nothing is held between requests."""
