"""TUI: first full paint of `ccci-tui --demo` with the verdict, vs a minimal Textual app, in a real pty.

Each run starts a fresh process in a pseudo-terminal (120x36, TERM=xterm-256color) and times it
from fork until the verdict kind (`SWARM-ROLLBACK`) appears in what the terminal receives, escape
sequences stripped; then it presses `q` and times the exit. The baseline is a one-widget Textual
app started the same way: the floor any Textual app pays (interpreter, imports, first frame). The
target is a ratio to that floor measured in the same run (issue 16: at most 1.5x), so a slow or busy
machine moves both sides.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import termios
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchError, fmt, ratio, table

NAME = "tui_first_paint"
TARGET_RATIO = 1.5  # ccci-tui --demo's median over the baseline's, this run
FULL_RUNS = 7
QUICK_RUNS = 3
TIMEOUT_S = 20.0
VERDICT = b"SWARM-ROLLBACK"
_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")

MINIMAL_APP = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Static

    class Minimal(App):
        BINDINGS = [("q", "quit", "Quit")]

        def compose(self):
            yield Static("MINIMAL-PAINTED")

    Minimal().run()
    """
)


@dataclass
class PtyRun:
    """A process in a pseudo-terminal whose output is drained by a thread (a full pty would block it)."""

    pid: int
    fd: int
    started: float
    output: bytearray
    lock: threading.Lock
    found_at: float | None = None
    needle: bytes = b""

    def _drain(self) -> None:
        tail = b""
        while True:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.05)
                if not r:
                    if self._exited():
                        return
                    continue
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            now = time.monotonic()
            with self.lock:
                self.output += chunk
            if self.found_at is None and self.needle:
                # the needle may straddle two reads: search the stripped tail plus the new chunk
                tail = (tail + chunk)[-200_000:]
                if self.needle in _ANSI.sub(b"", tail):
                    self.found_at = now

    def _exited(self) -> bool:
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return True
        return pid != 0

    def wait_for(self, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while self.found_at is None and time.monotonic() < deadline:
            time.sleep(0.005)
        return None if self.found_at is None else self.found_at - self.started

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait_exit(self, timeout: float) -> float | None:
        """Seconds until the process exits, or None (then it is killed)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return time.monotonic() - t0
            if pid:
                return time.monotonic() - t0
            time.sleep(0.005)
        self.kill()
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def spawn(argv: list[str], needle: bytes = b"", cols: int = 120, rows: int = 36,
          env: dict[str, str] | None = None) -> PtyRun:
    """Start `argv` in a new pty of `cols` x `rows`; its output is read in the background."""
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows), **(env or {})})
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    run = PtyRun(pid, fd, started, bytearray(), threading.Lock(), needle=needle)
    threading.Thread(target=run._drain, name="bench-pty", daemon=True).start()
    return run


def _one(argv: list[str], needle: bytes) -> tuple[float, float | None]:
    run = spawn(argv, needle)
    try:
        painted = run.wait_for(TIMEOUT_S)
        if painted is None:
            run.kill()
            with run.lock:
                seen = _ANSI.sub(b"", bytes(run.output))[-300:]
            raise BenchError(f"{' '.join(argv[:2])}: {needle.decode()} never painted within {TIMEOUT_S:g} s; "
                             f"last output: {seen!r}")
        run.send(b"q")
        return painted, run.wait_exit(10.0)
    finally:
        run.close()


def _compiled_each_start() -> bool:
    """ccci_tui has no cached bytecode and none will be written: it compiles on every start (the baseline's
    Textual, installed, does not)."""
    cached = Path(importlib.util.cache_from_source(str(ROOT / "ccci_tui" / "tui" / "app.py")))
    return bool(os.environ.get("PYTHONDONTWRITEBYTECODE")) and not cached.exists()


def run(args: Any) -> dict[str, Any]:
    """Alternate ours and the baseline, so both see the same machine state."""
    runs = QUICK_RUNS if getattr(args, "quick", False) else FULL_RUNS
    exe = Path(sys.executable).parent / "ccci-tui"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install the package (make demo) first")
    ours_argv = [str(exe), "--demo"]
    base_argv = [sys.executable, "-c", MINIMAL_APP]
    print(f"  {runs} runs each, alternating: ccci-tui --demo, then a one-widget Textual app ...", flush=True)
    _one(ours_argv, VERDICT)  # warm the page cache: the first start of a fresh venv is not the question
    ours: list[float] = []
    base: list[float] = []
    quits: list[float] = []
    for _ in range(runs):
        painted, quit_s = _one(ours_argv, VERDICT)
        ours.append(painted)
        if quit_s is not None:
            quits.append(quit_s)
        base.append(_one(base_argv, b"MINIMAL-PAINTED")[0])
    med, bmed = statistics.median(ours), statistics.median(base)
    r = ratio(med, bmed)
    passed = r is not None and r <= TARGET_RATIO
    print()
    print("First full paint (fork -> the text on the terminal), seconds")
    print()
    print(table(
        ["", "median", "min", "max", "ratio vs baseline"],
        [["ccci-tui --demo (verdict shown)", fmt(med, 3), fmt(min(ours), 3), fmt(max(ours), 3),
          fmt(r, 2, "x")],
         ["baseline: one-widget Textual app", fmt(bmed, 3), fmt(min(base), 3), fmt(max(base), 3), "1.00x"]],
    ))
    print()
    quit_med = statistics.median(quits) if quits else None
    verdict = "PASS" if passed else "FAIL"
    print(f"target: ours/baseline <= {TARGET_RATIO:g}x (floor: the baseline's {fmt(bmed, 3)} s, this run): "
          f"{fmt(r, 2)}x -> {verdict}; quit after `q`: median {fmt(quit_med, 3)} s")
    if _compiled_each_start():
        print("note: PYTHONDONTWRITEBYTECODE is set and ccci_tui has no cached bytecode: it compiles its modules "
              "on every start, which an installed copy does not")
    return {
        "runs": runs, "ours_s": ours, "baseline_s": base, "ours_median_s": med, "baseline_median_s": bmed,
        "ratio": r, "quit_median_s": quit_med, "target_ratio": TARGET_RATIO,
        "target_s": TARGET_RATIO * bmed,  # the ratio target in seconds, for this run's floor
        "passed": passed, "root": str(ROOT),
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args())
