"""Run the benchmarks: `python -m bench [NAME ...] [--quick]`; results go to bench/results/<name>.json."""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench.common import RESULTS_DIR, BenchError, lab_client, lab_problem

# every bench/bench_<name>.py with a `run(args) -> dict` is a benchmark
BENCHES = {
    path.stem.removeprefix("bench_"): f"bench.{path.stem}"
    for path in sorted(Path(__file__).parent.glob("bench_*.py"))
}


def _resolve(names: list[str], parser: argparse.ArgumentParser) -> list[str]:
    chosen: list[str] = []
    for raw in names or list(BENCHES):
        name = raw.removesuffix(".py").removeprefix("bench/").removeprefix("bench_")
        if name not in BENCHES:
            parser.error(f"unknown benchmark {raw!r}; choose from: {', '.join(BENCHES)}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # so every benchmark's `finally` removes its stacks


def _engine_version() -> str | None:
    """The lab engine's version for the results, None when no lab answers (a bench that needs none)."""
    try:
        client = lab_client(timeout=10)
    except Exception:  # noqa: BLE001 - only metadata
        return None
    try:
        return str(client.version().get("Version"))
    except Exception:  # noqa: BLE001 - only metadata
        return None
    finally:
        client.close()


def _run_one(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from ccci_tui.sources.errors import SwarmError
    from tests.support.deploy import DeployError

    module = importlib.import_module(BENCHES[name])
    started = datetime.now(UTC)
    t0 = time.monotonic()
    try:
        results = module.run(args)
    except (BenchError, DeployError, SwarmError) as exc:
        raise BenchError(f"{name}: {exc}") from exc
    return {
        "name": name,
        "quick": args.quick,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "engine": _engine_version(),
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks against the lab swarm (scripts/swarm-lab up); "
        "each prints a table and writes bench/results/NAME.json.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(BENCHES)}"
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run (fewer upgrades, smaller stacks)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, module in BENCHES.items():
            doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()[0]
            print(f"{name:20} {doc}")
        return 0
    names = _resolve(args.names, parser)
    # a module sets NEEDS_LAB = False when it runs without the swarm (e.g. recording size and load)
    needs_lab = [n for n in names if getattr(importlib.import_module(BENCHES[n]), "NEEDS_LAB", True)]
    problem = lab_problem() if needs_lab else None
    if problem is not None:
        print(f"bench: the lab swarm is not usable ({', '.join(needs_lab)} need it): {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sigterm)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    for name in names:
        print(f"== {name}{' (quick)' if args.quick else ''} ==", flush=True)
        try:
            payload = _run_one(name, args)
        except KeyboardInterrupt:
            print(f"bench: interrupted during {name}; its stacks were removed", file=sys.stderr)
            return 130
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        except Exception:  # noqa: BLE001 - a bug in one benchmark must not stop the others
            traceback.print_exc()
            failed.append(name)
            continue
        out = RESULTS_DIR / f"{name}.json"
        out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"\n(wrote {out.relative_to(RESULTS_DIR.parent.parent)}, {payload['duration_s']} s)\n", flush=True)
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
