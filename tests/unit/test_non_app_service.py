"""A stack's other services (db, workers, sidecars): abra stamps only `app`, so no stamp there is no drift."""

from __future__ import annotations

from dataclasses import replace

from ccci_tui.domain import verdict as v
from ccci_tui.domain.diagnose import carries_stamp
from ccci_tui.domain.model import Event, Observation, SpecSummary
from ccci_tui.domain.stamp import parse_stamp, stamp_key
from ccci_tui.domain.verdict import Expectation
from tests.support.reference import HEAD_SHA, merged, verdicts
from tests.unit.test_diagnose import OTHER_SHA, kinds

UNSET = object()


def _labels(spec: SpecSummary | None, stack: str, stamp: object) -> SpecSummary | None:
    """`spec` with its chaos-version label dropped (None), set to `stamp`, or kept (UNSET)."""
    if spec is None or stamp is UNSET:
        return spec
    labels = {k: val for k, val in spec.labels.items() if k != stamp_key(stack)}
    if isinstance(stamp, str):
        labels[stamp_key(stack)] = stamp
    return replace(spec, labels=labels)


def as_service(run: str, service: str, stamp: object = None, **stamp_args: object) -> list[Observation | Event]:
    """Run `run` as if it had happened to `<stack>_<service>`, its chaos-version label dropped (None),
    replaced (a string) or kept as recorded (UNSET)."""
    out: list[Observation | Event] = []
    for item in merged(run, **stamp_args):
        if isinstance(item, Observation) and item.service is not None:
            svc = item.service
            svc = replace(svc, name=f"{svc.stack}_{service}", spec=_labels(svc.spec, svc.stack, stamp),
                          previous_spec=_labels(svc.previous_spec, svc.stack, stamp))
            item = replace(item, service=svc)
        elif isinstance(item, Event) and item.service.endswith("_app"):
            item = replace(item, service=f"{item.service.removesuffix('_app')}_{service}")
        out.append(item)
    return out


def test_a_healthy_db_without_a_stamp_is_converged_and_says_why() -> None:
    results = verdicts(as_service("D", "db"))
    assert v.STAMP_MISMATCH not in kinds(results) and v.CHECKOUT_DRIFT not in kinds(results)
    obs, verdict = next((o, vd) for o, vd in results if vd.kind == v.CONVERGED)
    stack = obs.service.stack
    assert verdict.exit_code == 0 and verdict.severity == "ok"
    assert f"{stack}_db carries no stamp (abra stamps {stack}_app)" in verdict.summary
    assert "matches the expected head" not in verdict.summary
    first = verdict.evidence[0]
    assert first.source == v.SRC_LABEL
    assert first.text == (f"{stack}_db carries no chaos-version stamp: abra stamps the app service only, "
                          f"so the stack's version is checked on {stack}_app")
    assert not any("(no stamp)" in e.text for e in verdict.evidence)  # said once, plainly
    assert f"ccci-tui diagnose {stack}" in verdict.next_step


def test_the_verdict_follows_the_db_s_own_update() -> None:
    # run C rolled its service back: on a db that is the db's own rollback, not a stamp problem
    results = verdicts(as_service("C", "db"))
    seq = kinds(results)
    assert v.STAMP_MISMATCH not in seq and seq[-1] == v.SWARM_ROLLBACK
    assert "OOM-killed" in results[-1][1].summary
    # and the app env's "the head was deployed" is no claim about a service abra does not stamp
    assert not any(e.source == v.SRC_APP_ENV for _, vd in results for e in vd.evidence)


def test_the_app_service_without_a_stamp_stays_red() -> None:
    results = verdicts(as_service("D", "app"))
    assert results[-1][1].kind == v.STAMP_MISMATCH
    assert "no usable chaos-version stamp (absent" in results[-1][1].summary


def test_a_wrong_stamp_on_a_db_stays_red() -> None:
    # D deploys v2 cleanly; pretend v2 is another commit, and the db carries that stamp
    results = verdicts(as_service("D", "db", UNSET, head=OTHER_SHA))
    assert v.CONVERGED not in kinds(results)
    assert results[-1][1].kind == v.STAMP_MISMATCH


def test_a_malformed_stamp_on_a_db_stays_red() -> None:
    results = verdicts(as_service("D", "db", "false"))
    verdict = results[-1][1]
    assert verdict.kind == v.STAMP_MISMATCH and "not a stamp: 'false'" in verdict.summary


def test_a_right_stamp_on_a_db_is_checked_like_the_app_s() -> None:
    results = verdicts(as_service("D", "db", UNSET))
    converged = [vd for _, vd in results if vd.kind == v.CONVERGED]
    assert converged and all("matches the expected head" in vd.summary for vd in converged)


def test_no_expected_head_still_says_the_db_is_not_stamped() -> None:
    results = verdicts(as_service("D", "db"), Expectation())
    converged = [vd for _, vd in results if vd.kind == v.CONVERGED]
    assert converged and all("carries no stamp" in vd.summary for vd in converged)
    assert all("--expect-head" not in vd.next_step for vd in converged)


def test_carries_stamp_is_about_the_service_name_and_the_label() -> None:
    svc = next(it for it in as_service("D", "db") if isinstance(it, Observation) and it.service).service
    assert svc is not None
    absent, wrong = parse_stamp(None), parse_stamp(HEAD_SHA[:8])
    assert not carries_stamp(svc, absent) and carries_stamp(svc, wrong)
    assert carries_stamp(replace(svc, name=f"{svc.stack}_app"), absent)
    # a service whose name merely ends in "app" is not the app service
    assert not carries_stamp(replace(svc, name=f"{svc.stack}_webapp"), absent)
