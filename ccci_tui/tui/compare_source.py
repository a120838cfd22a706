"""Base vs head compose policy for the compare screen: refs and overlays picked from the recipe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ccci_tui.domain.compare import Comparison, compare_policies
from ccci_tui.domain.compose import ComposePolicy
from ccci_tui.domain.compose_syntax import ComposeError
from ccci_tui.domain.model import ServiceState
from ccci_tui.domain.replay import Recording

if TYPE_CHECKING:
    from ccci_tui.domain.preflight import Preflight
    from ccci_tui.sources.swarm import SwarmSource

MAIN_COMPOSE = "compose.yml"


class CompareError(RuntimeError):
    """A comparison could not be made; the message names the ref, file or key."""


@dataclass(frozen=True)
class CompareChoices:
    """What the user can pick, and what is picked at first."""

    refs: tuple[str, ...]  # newest tag first, then HEAD
    overlays: tuple[str, ...]  # compose.*.yml next to compose.yml
    base: str | None
    head: str | None
    chosen: tuple[str, ...]  # overlays picked at first (the app env's COMPOSE_FILE, when known)
    note: str = ""
    fixed: bool = False  # nothing to pick: the policies are given (a recording)


class Comparer(Protocol):
    def choices(self) -> CompareChoices: ...

    def compare(self, base: str, head: str, overlays: Sequence[str]) -> Comparison: ...

    def preflight(self, head: str, overlays: Sequence[str]) -> Preflight | str:
        """Whether `head` rolls out with each service's own order, or why that cannot be said here."""
        ...


class RecipeComparer:
    """Reads compose files from a recipe checkout at refs (never changes the checkout)."""

    def __init__(self, path: Path, stack: str, env: Mapping[str, str] | None = None,
                 compose_files: Sequence[str] = (), service: ServiceState | None = None,
                 version: str | None = None, swarm: SwarmSource | None = None) -> None:
        self.path = Path(path)
        self.stack = stack
        self.env = dict(env or {})
        self.compose_files = tuple(compose_files)
        self.service, self.version = service, version  # what names the base, as for `rerun` and `record`
        self.swarm = swarm  # the live swarm, for the preflight panel (reads only)

    def choices(self) -> CompareChoices:
        from ccci_tui.sources.recipe import RecipeError, RecipeSource  # deferred: git only once compared
        from ccci_tui.sources.target import default_base

        try:
            with RecipeSource(self.path) as src:
                tags = src.tags()
                base = default_base(src, src.resolve("HEAD"), self.stack, self.service, self.version)
        except RecipeError as exc:
            raise CompareError(str(exc)) from exc
        overlays = tuple(sorted(
            p.name for p in self.path.iterdir()
            if p.is_file() and p.name.startswith("compose.") and p.suffix in (".yml", ".yaml")
            and p.name not in (MAIN_COMPOSE, "compose.yaml")
        ))
        refs = tuple(t.name for t in tags) + ("HEAD",)
        chosen = tuple(f for f in self.compose_files if f in overlays)
        note = "" if base else "no release tag before HEAD: compare HEAD with itself, or tag a release"
        return CompareChoices(refs, overlays, base or "HEAD", "HEAD", chosen, note)

    def compare(self, base: str, head: str, overlays: Sequence[str]) -> Comparison:
        from ccci_tui.sources.recipe import RecipeError, RecipeSource

        chain = (MAIN_COMPOSE, *overlays)
        env = {**self.env, "STACK_NAME": self.stack}
        try:
            with RecipeSource(self.path) as src:
                sides = src.policies_at({"base": base, "head": head}, chain, env)
        except (RecipeError, ComposeError) as exc:
            raise CompareError(str(exc)) from exc
        return compare_policies(sides["base"][1], sides["head"][1])

    def preflight(self, head: str, overlays: Sequence[str]) -> Preflight | str:
        if self.swarm is None:
            return "preflight reads the live swarm: not available here"
        from ccci_tui.sources.errors import SwarmError
        from ccci_tui.sources.preflight import read_preflight
        from ccci_tui.sources.recipe import RecipeError

        try:
            return read_preflight(self.swarm, self.stack, self.path, (MAIN_COMPOSE, *overlays), self.env, head, None)
        except (RecipeError, ComposeError, SwarmError) as exc:
            return f"preflight: {exc}"


class FixedComparer:
    """Policies known in advance (a recording carries them): one base and one head, no choice."""

    def __init__(self, base_ref: str, head_ref: str, base: ComposePolicy, head: ComposePolicy) -> None:
        self.base_ref, self.head_ref = base_ref, head_ref
        self.base, self.head = base, head

    def choices(self) -> CompareChoices:
        overlays = tuple(f for f in self.head.files[1:])
        return CompareChoices((self.base_ref, self.head_ref), overlays, self.base_ref, self.head_ref, overlays,
                              "as recorded: the recording fixes the refs and overlays", fixed=True)

    def compare(self, base: str, head: str, overlays: Sequence[str]) -> Comparison:
        return compare_policies(self.base, self.head)

    def preflight(self, head: str, overlays: Sequence[str]) -> Preflight | str:
        return "preflight reads the live swarm: a recording cannot say how the head would roll out now"


def recorded_comparer(recording: Recording) -> tuple[Comparer | None, str]:
    """The policies a recording carries; else its recipe, when that checkout is on this machine."""
    from ccci_tui.sources.replay_source import policies  # deferred: the reader is only needed here

    found = policies(recording)
    if "base" in found and "head" in found:
        b, h = found["base"], found["head"]
        return FixedComparer(b.ref, h.ref, b.policy, h.policy), ""
    path = recording.header.recipe_path
    if path and Path(path).is_dir():
        return RecipeComparer(Path(path), recording.header.stack), ""
    return None, "this recording carries no compose policy, and its recipe is not on this machine"
