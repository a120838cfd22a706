"""Chaos-version stamps: parsing never raises, `+U` never changes a match."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccci_tui.domain.stamp import make_stamp, parse_stamp, stamp_key

HEAD = "7ae7b0f76efb3a1f0c2d1e4b5a6978877665544"
BASE = "eb96de94aa00112233445566778899aabbccddee"


@pytest.mark.parametrize("raw,sha,dirty", [("7ae7b0f7", "7ae7b0f7", False), ("7ae7b0f7+U", "7ae7b0f7", True)])
def test_parses_abra_values(raw, sha, dirty):
    stamp = parse_stamp(raw)
    assert stamp.ok and stamp.sha == sha and stamp.dirty is dirty


def test_plus_u_is_informational_and_never_changes_the_match():
    assert parse_stamp("7ae7b0f7").matches(HEAD)
    assert parse_stamp("7ae7b0f7+U").matches(HEAD)
    assert not parse_stamp("eb96de94+U").matches(HEAD)
    assert not parse_stamp("eb96de94").matches(HEAD)


@pytest.mark.parametrize(
    "raw,why",
    [(None, "absent"), ("", "not a stamp"), ("false", "not a stamp"), ("v1.2.3", "not a stamp"),
     ("[red]x[/]", "not a stamp"), ("7ae7b0f7+X", "not a stamp"), (12345678, "not a stamp")],
)
def test_garbage_is_a_clear_not_a_stamp_result(raw, why):
    stamp = parse_stamp(raw)
    assert not stamp.ok and stamp.problem.startswith(why)
    assert not stamp.matches(HEAD)


def test_match_is_a_prefix_match_against_a_full_or_short_sha():
    stamp = parse_stamp("7ae7b0f7")
    assert stamp.matches(HEAD[:12]) and stamp.matches(HEAD[:7])
    assert not stamp.matches("7ae7b0f8")
    assert not stamp.matches("")
    assert not stamp.matches("not-a-sha")


def test_make_stamp_writes_what_abra_writes():
    assert make_stamp(HEAD, dirty=False) == "7ae7b0f7"
    assert make_stamp(HEAD.upper(), dirty=True) == "7ae7b0f7+U"
    assert stamp_key("disc_example_com") == "coop-cloud.disc_example_com.chaos-version"


@given(st.one_of(st.none(), st.text(max_size=80)))
def test_parse_never_raises(raw):
    stamp = parse_stamp(raw)
    assert stamp.ok == (stamp.problem is None)
    assert isinstance(stamp.matches(HEAD), bool)


@given(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40), st.booleans())
def test_round_trip(sha, dirty):
    stamp = parse_stamp(make_stamp(sha, dirty))
    assert stamp.ok and stamp.dirty is dirty and stamp.matches(sha)


def test_version_label_in_both_forms():
    from ccci_tui.domain.stamp import version_label

    assert version_label({"coop-cloud.s.version": "1.2.0+3"}, "s") == "1.2.0+3"
    assert version_label({"coop-cloud.s.app.version": "0.1.0+2"}, "s") == "0.1.0+2"  # go-ssb-room's form
    both = {"coop-cloud.s.version": "2.0.0+1", "coop-cloud.s.app.version": "1.0.0+1"}
    assert version_label(both, "s") == "2.0.0+1"
    assert version_label({"coop-cloud.other.version": "1"}, "s") is None
