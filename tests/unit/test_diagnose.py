"""The verdict engine on real engine output (tests/fixtures/swarm-lab) and its guardrails."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccci_tui.domain import verdict as v
from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import Observation, RecipeState, TagInfo
from ccci_tui.domain.verdict import Expectation
from tests.support.reference import BASE_SHA, EXPECT, HEAD_SHA, merged, verdicts


def replay(run: str, expect: Expectation = EXPECT, **stamp_args):
    """Feed a run through the timeline and diagnose every observation, as `wait` and the TUI do."""
    return verdicts(merged(run, **stamp_args), expect)


def kinds(results) -> list[str]:
    seq: list[str] = []
    for _, verdict in results:
        if not seq or seq[-1] != verdict.kind:
            seq.append(verdict.kind)
    return seq


def first(results, kind: str):
    return next(verdict for _, verdict in results if verdict.kind == kind)


def test_c_oom_rollback_reads_like_the_incident():
    results = replay("C")
    assert kinds(results)[:3] == [v.STAMP_MISMATCH, v.IN_PROGRESS, v.SWARM_ROLLBACK]
    verdict = first(results, v.SWARM_ROLLBACK)
    assert verdict.summary == (
        "Swarm rolled the upgrade back: the head task was OOM-killed 2 s into the 5 s monitor under start-first"
    )
    assert verdict.exit_code == 1 and verdict.task_id.startswith("ilzqnbjdivzd")
    sources = {e.source for e in verdict.evidence}
    assert {v.SRC_TASK, v.SRC_LABEL, v.SRC_STATUS, v.SRC_SPEC} <= sources
    assert any("attempted spec" in e.text and "7ae7b0f7" in e.text for e in verdict.evidence)
    assert any("PreviousSpec is gone" in e.text for e in verdict.evidence)


def test_rolling_back_is_in_progress_with_the_cause_already_named():
    verdict = first(replay("C"), v.IN_PROGRESS)
    assert verdict.exit_code == 3
    rolling = [vd for obs, vd in replay("C") if obs.service.update_status
               and obs.service.update_status.state == "rollback_started"]
    assert rolling and all(vd.kind == v.IN_PROGRESS and "is rolling the upgrade back" in vd.summary for vd in rolling)


@pytest.mark.parametrize("run,order", [("A", "start-first"), ("B", "stop-first"), ("J", "start-first")])
def test_unhealthy_head_rollbacks_name_health_and_order(run, order):
    verdict = first(replay(run), v.SWARM_ROLLBACK)
    assert "never became healthy" in verdict.summary and f"under {order}" in verdict.summary


def test_e_pause_names_the_failed_task():
    verdict = first(replay("E"), v.UPDATE_PAUSED)
    assert "c0fu0z5k6v93" in verdict.summary and verdict.exit_code == 1


def test_f_rollback_with_nothing_running_is_rollback_unhealthy():
    verdict = first(replay("F"), v.ROLLBACK_UNHEALTHY)
    assert "not running either: its task ex9ewm8iv763 exited with code 3" in verdict.summary
    assert verdict.task_id.startswith("ex9ewm8iv763") and verdict.exit_code == 1


def test_f_a_restored_task_still_starting_at_rollback_completed_is_no_verdict_yet():
    """Run F: rollback_completed came 2 ms after rollback_started, the restored task still pending; it failed 5 s
    later. Until then nothing says the base fails too."""
    results = replay("F")
    done = [(obs, vd) for obs, vd in results
            if obs.service.update_status and obs.service.update_status.state == "rollback_completed"]
    before_exit = [vd for obs, vd in done if not any(t.id.startswith("ex9ewm") and t.terminal for t in obs.tasks)]
    assert before_exit and all(vd.kind == v.IN_PROGRESS and vd.exit_code == 3 for vd in before_exit)
    assert before_exit[0].summary == ("Swarm rolled the upgrade back; the restored version is starting "
                                      "(task ex9ewm8iv763 is pending)")


def test_a_restored_task_that_ends_by_itself_after_the_rollback_is_rollback_unhealthy():
    """Run F with the restored task ending `complete`, exit 0 (as a task killed for never turning healthy ends,
    reference run A): it did not fail, yet the restored version is not running. That is the verdict, not a
    restored version forever "starting"."""
    def ended(task):
        if task.id.startswith("ex9ewm") and task.state == "failed":
            return replace(task, state="complete", exit_code=0, err=None, message="finished")
        return task

    items = [replace(i, tasks=tuple(map(ended, i.tasks))) if isinstance(i, Observation) else i for i in merged("F")]
    verdict = first(verdicts(items, EXPECT), v.ROLLBACK_UNHEALTHY)
    assert verdict.task_id.startswith("ex9ewm8iv763"), verdict


def test_g_crash_after_monitor_follows_converged():
    seq = kinds(replay("G"))
    assert seq.index(v.CONVERGED) < seq.index(v.CRASH_AFTER_MONITOR)
    assert "exited with code 1" in first(replay("G"), v.CRASH_AFTER_MONITOR).summary


def test_h_unschedulable_start_first_is_stuck_at_once():
    verdict = first(replay("H"), v.UPDATE_STUCK)
    assert "no suitable node" in verdict.summary and "start-first" in verdict.summary


def test_d_label_only_redeploy_is_no_rolling_update():
    seq = kinds(replay("D"))
    assert v.CONVERGED in seq and v.NO_ROLLING_UPDATE in seq
    assert first(replay("D"), v.NO_ROLLING_UPDATE).exit_code == 0


def test_erased_rollback_stays_red_and_says_what_erased_it():
    verdict = replay("A")[-1][1]  # an unchanged redeploy of the base cleared UpdateStatus
    assert verdict.kind == v.STAMP_MISMATCH
    assert any(e.source == v.SRC_TIMELINE and "rolled back" in e.text for e in verdict.evidence)


def test_after_the_fact_rollback_is_found_from_task_history():
    results = replay("C")
    final = next(obs for obs, vd in results if obs.service.update_status
                 and obs.service.update_status.state == "rollback_completed")
    intent = Expectation(head=HEAD_SHA, intent="7ae7b0f7+U", now=final.at)
    verdict = diagnose(final, None, intent, timeline=None)
    assert verdict.kind == v.SWARM_ROLLBACK
    assert any("a spec the service no longer has" in e.text for e in verdict.evidence)
    assert any(e.source == v.SRC_APP_ENV and "head was deployed" in e.text for e in verdict.evidence)


@pytest.mark.parametrize(("oom", "why"), [(None, "its container is gone or on another node"),
                                          (False, "the engine did not flag an OOM kill, which it can miss")])
def test_exit_137_without_an_oom_flag_says_what_is_not_known(oom, why):
    # run C after the fact, but the OOM flag unknown (container gone) or false (the engine's race)
    final = next(obs for obs, _ in reversed(replay("C")) if obs.service.update_status
                 and obs.service.update_status.state == "rollback_completed")
    tasks = tuple(replace(t, oom_killed=oom) if t.exit_code == 137 else t for t in final.tasks)
    verdict = diagnose(replace(final, tasks=tasks), None, replace(EXPECT, now=final.at), timeline=None)
    assert verdict.kind == v.SWARM_ROLLBACK
    assert f"was killed with exit 137 (OOM not confirmed: {why})" in verdict.summary
    assert "OOM-killed" not in verdict.summary


# --- guardrails --------------------------------------------------------------------------------

OTHER_SHA = "0123456789abcdef0123456789abcdef01234567"


def test_guardrail_1_a_genuinely_wrong_stamp_is_stamp_mismatch():
    # D deploys v2 cleanly; pretend v2 is some other commit: completed, running, no rollback
    results = replay("D", head=OTHER_SHA)
    assert v.CONVERGED not in kinds(results) and v.SWARM_ROLLBACK not in kinds(results)
    assert results[-1][1].kind == v.STAMP_MISMATCH


def test_guardrail_2_an_earlier_rollback_is_not_blamed_on_a_later_deploy():
    results = replay("C")
    obs = next(o for o, _ in results if o.service.update_status
               and o.service.update_status.state == "rollback_completed")
    st = obs.service.update_status
    marker = Expectation(head=HEAD_SHA, marker_taken=True, marker_index=obs.service.index - 1,
                         marker_started_at=st.started_at, marker_state=st.state, now=obs.at)
    verdict = diagnose(obs, None, marker)
    assert verdict.kind == v.STALE_STATUS and verdict.exit_code == 1
    nothing_written = replace(marker, marker_index=obs.service.index)
    assert diagnose(obs, None, nothing_written).kind == v.STALE_STATUS


def test_guardrail_3_plus_u_never_changes_the_match():
    clean = [vd.kind for _, vd in replay("D")]
    dirty = [vd.kind for _, vd in replay("D", dirty=True)]
    assert clean == dirty


def test_guardrail_4_no_expected_head_no_stamp_claim():
    results = replay("D", expect=Expectation())
    converged = [vd for _, vd in results if vd.kind == v.CONVERGED]
    assert converged and all("no expected head given" in vd.summary for vd in converged)
    assert all("matches the expected head" not in vd.summary for _, vd in results)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40))
def test_guardrail_4_any_other_expected_head_is_never_converged(sha):
    if sha[:8] in (BASE_SHA[:8], HEAD_SHA[:8]):
        return
    for _, verdict in replay("D", expect=Expectation(head=sha)):
        assert verdict.kind not in (v.CONVERGED, v.NO_ROLLING_UPDATE)


def test_checkout_drift_when_the_recipe_head_is_not_the_expected_head():
    # the recipe is checked out at OTHER (the deploy stamped what was checked out)
    recipe = RecipeState(path="/r", head_sha=OTHER_SHA, head_subject="x", tags=(TagInfo("0.7.0+3.3.1", BASE_SHA),))
    results = replay("D", head=OTHER_SHA)
    obs = results[-1][0]
    verdict = diagnose(obs, recipe, Expectation(head=HEAD_SHA, head_ref="pr-head", now=obs.at))
    assert verdict.kind == v.CHECKOUT_DRIFT
    assert "checkout" in verdict.next_step and "pr-head" in verdict.next_step


def test_tags_name_what_a_stamp_points_to():
    recipe = RecipeState(path="/r", head_sha=HEAD_SHA, tags=(TagInfo("0.7.0+3.3.1", BASE_SHA),))
    results = replay("C")
    obs = next(o for o, vd in results if vd.kind == v.SWARM_ROLLBACK)
    verdict = diagnose(obs, recipe, Expectation(now=obs.at))
    assert any("eb96de94 (tag 0.7.0+3.3.1)" in e.text for e in verdict.evidence)


def test_service_gone_and_same_input_same_verdict():
    gone = diagnose(Observation(at=replay("C")[0][0].at, service=None, error="service x_app not found"))
    assert gone.kind == v.SERVICE_GONE and gone.exit_code == 2
    a = [vd for _, vd in replay("E")]
    b = [vd for _, vd in replay("E")]
    assert a == b


def test_verdict_json_shape_is_stable():
    verdict = first(replay("C"), v.SWARM_ROLLBACK)
    doc = verdict.to_dict()
    assert list(doc) == ["kind", "severity", "exit_code", "summary", "evidence", "next_step", "task_id"]
    assert doc["severity"] == "error" and all(set(e) == {"source", "text"} for e in doc["evidence"])
