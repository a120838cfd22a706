"""Plans refuse bad input before anything runs; these feed a stand-in source (no Docker claim here)."""

from __future__ import annotations

import pytest

from ccci_tui.config import Config
from ccci_tui.sources.errors import SwarmError
from ccci_tui.upgrade.plan import PlanError, make_plan
from tests.support.recipes import build_recipe


class StandIn:
    """Feeds make_plan the answers a daemon would give, to exercise its refusals."""

    label = "stand-in"

    def __init__(self, manager=True, services=("s_app",)):
        self.manager, self._services = manager, services

    def require_manager(self):
        if not self.manager:
            raise SwarmError("the Docker daemon at stand-in is a swarm worker, not a manager")

    def services(self, stack):
        from types import SimpleNamespace

        return [SimpleNamespace(name=n) for n in self._services]

    def observe(self, stack, service):
        raise SwarmError("not needed")


@pytest.fixture
def recipe(tmp_path):
    return build_recipe(tmp_path)


def test_not_a_manager_is_refused(recipe):
    with pytest.raises(PlanError, match="not a manager"):
        make_plan("s", "stop-first", recipe.path, StandIn(manager=False), Config())


def test_bad_order_and_foreign_service_are_refused(recipe):
    with pytest.raises(PlanError, match="--order must be"):
        make_plan("s", "sideways", recipe.path, StandIn(), Config())
    with pytest.raises(PlanError, match="not part of stack 's'"):
        make_plan("s", "stop-first", recipe.path, StandIn(), Config(), service="other_app")


def test_plan_defaults_to_the_newest_tag_before_head(recipe):
    plan = make_plan("s", "start-first", recipe.path, StandIn(), Config())
    assert (plan.base_ref, plan.base_sha, plan.head_sha) == ("0.7.0+3.3.1", recipe.base, recipe.head)
    text = plan.render()
    assert "docker stack deploy --detach=true --resolve-image never" in text
    assert f"\"coop-cloud.s.chaos-version\": \"{recipe.head[:8]}\"" in text
    assert any("start-first" in r for r in plan.risks)


def test_head_only_skips_the_base(recipe):
    plan = make_plan("s", "stop-first", recipe.path, StandIn(), Config(), head_only=True)
    assert plan.base_sha is None and all(step.side != "base" for step in plan.steps)


def test_abra_backend_cannot_change_the_order_and_needs_the_app_env(recipe, tmp_path, monkeypatch):
    with pytest.raises(PlanError, match="'abra' is not on PATH"):
        make_plan("s", "start-first", recipe.path, StandIn(), Config(), backend="abra")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "abra").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "abra").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    with pytest.raises(PlanError, match="needs the app env"):
        make_plan("s", "start-first", recipe.path, StandIn(), Config(), backend="abra")
    env_file = tmp_path / "servers" / "host" / "disc.example.com.env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("RECIPE=discourse:0.7.0+3.3.1\nCOMPOSE_FILE=compose.yml\nDB_PASSWORD=hunter2\n")
    with pytest.raises(PlanError, match="cannot re-run with stop-first"):
        make_plan("s", "stop-first", recipe.path, StandIn(), Config(), backend="abra", env_file=env_file)
    plan = make_plan("s", "start-first", recipe.path, StandIn(), Config(), backend="abra", env_file=env_file)
    text = plan.render()
    assert "IN PLACE" in text and "abra app deploy disc.example.com --chaos" in text
    assert "hunter2" not in text
