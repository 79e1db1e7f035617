"""Depot choice for one replacement (optimizer.depot_choice): the rule, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer import depot_choice as rule
from optimizer.depot_choice import Candidate, TransitOption, choose_depot

REASON_CODES = (
    rule.CHOSEN,
    rule.NO_STOCK,
    rule.NO_LANE,
    rule.LATE,
    rule.LATER_THAN_WINNER,
    rule.BELOW_TARGET,
    rule.COSTLIER,
    rule.LATER_SAME_COST,
    rule.TIE_BY_CODE,
)
EMERGENCY_CODES = (rule.NOT_BOOKED_STANDARD_ON_TIME, rule.BOOKED_SOONER, rule.NOT_BOOKED_NO_SOONER)

# 2026-03-02 12:00 Asia/Shanghai.
DUE = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
SHIPS = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def quote(hours_before_due: float, cost: str) -> TransitOption:
    """A quote arriving ``hours_before_due`` hours before the due time (negative: late)."""
    return TransitOption(SHIPS, DUE - timedelta(hours=hours_before_due), Decimal(cost))


def depot(code, standard, emergency=None, available=5, target=1):
    return Candidate(code, available, target, standard, emergency)


def reasons(decision):
    return {alt.depot: alt.reason for alt in decision.alternatives}


def codes(decision):
    """Each depot's reason as the machine-readable code and its arguments."""
    return {alt.depot: (alt.reason_code, dict(alt.reason_args)) for alt in decision.alternatives}


def local(hours_before_due: float) -> str:
    """The ISO text of the instant ``hours_before_due`` before the due time, as reasons
    carry it."""
    return (DUE - timedelta(hours=hours_before_due)).isoformat()


def test_meeting_the_due_time_beats_a_cheaper_late_depot():
    decision = choose_depot([depot("GZ", quote(-2, "90.00")), depot("WH", quote(1, "400.00"))], DUE)
    assert decision.depot == "WH"
    assert not decision.at_risk and not decision.backorder and decision.meets_due
    assert reasons(decision)["GZ"] == "arrives 2026-03-02 14:00, after the due time"
    assert codes(decision) == {"WH": ("chosen", {}), "GZ": ("late", {"arrival": local(-2)})}


def test_arriving_exactly_at_the_due_time_meets_it():
    decision = choose_depot([depot("SH", quote(0, "100.00"))], DUE)
    assert decision.depot == "SH" and not decision.at_risk


def test_target_stock_is_protected_before_cost():
    decision = choose_depot(
        [
            depot("BJ", quote(3, "100.00"), available=3, target=3),
            depot("JN", quote(2, "300.00"), available=4, target=3),
        ],
        DUE,
    )
    assert decision.depot == "JN"
    assert reasons(decision)["BJ"] == "would fall below target stock (2 < 3)"
    assert codes(decision)["BJ"] == ("below_target", {"left": 2, "target": 3})


def test_lowest_cost_wins_among_on_time_depots():
    decision = choose_depot([depot("SH", quote(1, "412.00")), depot("JN", quote(5, "292.00"))], DUE)
    assert decision.depot == "JN"
    assert decision.cost == Decimal("292.00")
    assert reasons(decision)["SH"] == "costs 412.00 CNY, 120.00 more"
    assert codes(decision)["SH"] == ("costlier", {"cost": "412.00", "extra": "120.00"})


def test_earliest_arrival_breaks_a_cost_tie():
    decision = choose_depot(
        [depot("SH", quote(1, "200.00")), depot("WH", quote(3.5, "200.00"))], DUE
    )
    assert decision.depot == "WH"
    assert reasons(decision)["SH"] == "same cost, arrives 2026-03-02 11:00, 2 h 30 min later"
    assert codes(decision)["SH"] == (
        "later_same_cost",
        {"arrival": local(1), "later_minutes": 150},
    )


def test_depot_code_breaks_a_full_tie():
    decision = choose_depot([depot("XA", quote(2, "150.00")), depot("CD", quote(2, "150.00"))], DUE)
    assert decision.depot == "CD"
    assert reasons(decision)["XA"] == "same cost and arrival as CD, which comes first by code"
    assert codes(decision)["XA"] == ("tie_by_code", {"winner": "CD"})


def test_emergency_courier_is_used_only_when_standard_misses_the_due_time():
    on_time = choose_depot([depot("BJ", quote(1, "100.00"), quote(6, "300.00"))], DUE)
    assert on_time.service == "standard" and on_time.cost == Decimal("100.00")

    rescued = choose_depot([depot("BJ", quote(-4, "100.00"), quote(1, "300.00"))], DUE)
    assert rescued.service == "emergency"
    assert rescued.cost == Decimal("300.00")
    assert rescued.promised_delivery == DUE - timedelta(hours=1)
    assert not rescued.at_risk


def test_standard_service_is_used_everywhere_when_some_depot_meets_the_due_time_by_it():
    decision = choose_depot(
        [
            depot("BJ", quote(-4, "100.00"), quote(1, "300.00")),
            depot("SY", quote(1, "250.00"), quote(6, "750.00")),
        ],
        DUE,
    )
    assert decision.depot == "SY" and decision.service == "standard"
    bj = next(alt for alt in decision.alternatives if alt.depot == "BJ")
    assert bj.service == "standard" and not bj.meets_due
    assert bj.emergency == quote(1, "300.00")
    assert bj.emergency_note == "not booked: standard service from SY meets the due time"
    assert (bj.emergency_code, bj.emergency_args) == (
        "not_booked_standard_on_time",
        {"depot": "SY"},
    )
    assert bj.reason == "arrives 2026-03-02 16:00, after the due time"


def test_a_depot_on_time_by_standard_service_is_named_as_why_its_courier_is_not_booked():
    decision = choose_depot(
        [
            depot("CD", quote(1, "600.00"), quote(6, "1800.00")),
            depot("SH", quote(8, "80.00"), quote(9, "240.00")),
            depot("XA", quote(-2, "500.00"), quote(3, "1500.00")),
        ],
        DUE,
    )
    assert decision.depot == "SH" and decision.service == "standard"
    notes = {
        alt.depot: (alt.emergency_code, dict(alt.emergency_args)) for alt in decision.alternatives
    }
    assert notes["SH"] == ("not_booked_standard_on_time", {"depot": "SH"})
    assert notes["CD"] == ("not_booked_standard_on_time", {"depot": "CD"})
    # A depot late by standard names one that is on time by it.
    assert notes["XA"][0] == "not_booked_standard_on_time"
    assert notes["XA"][1]["depot"] in {"CD", "SH"}


def test_when_nothing_meets_the_due_time_c1_gets_the_earliest_arrival_emergency_included():
    # Standard leaves next morning; the emergency courier leaves within the hour.
    decision = choose_depot(
        [
            depot("BJ", quote(-14, "100.00"), quote(-1, "300.00")),
            depot("XA", quote(-12, "80.00"), quote(-3, "240.00")),
        ],
        DUE,
    )
    assert decision.at_risk and decision.depot == "BJ" and decision.service == "emergency"
    assert decision.promised_delivery == DUE + timedelta(hours=1)
    chosen, xa = decision.alternatives
    assert chosen.emergency_note == "booked: arrives 2026-03-02 13:00, 13 h sooner than standard"
    assert (chosen.emergency_code, chosen.emergency_args) == (
        "booked_sooner",
        {"arrival": local(-1), "sooner_minutes": 13 * 60},
    )
    assert xa.service == "emergency" and xa.arrives_at == DUE + timedelta(hours=3)
    assert xa.reason == "arrives 2026-03-02 15:00, after the due time and 2 h after BJ"
    assert (xa.reason_code, xa.reason_args) == (
        "later_than_winner",
        {"arrival": local(-3), "later_minutes": 120, "winner": "BJ"},
    )


def test_emergency_courier_is_not_booked_when_it_arrives_no_sooner():
    decision = choose_depot([depot("BJ", quote(-6, "100.00"), quote(-6, "300.00"))], DUE)
    assert decision.at_risk
    assert decision.service == "standard" and decision.cost == Decimal("100.00")
    assert decision.alternatives[0].emergency_note == (
        "not booked: it arrives no sooner than standard service"
    )
    assert decision.alternatives[0].emergency_code == "not_booked_no_sooner"


def test_no_depot_on_time_ships_the_earliest_arrival_at_risk():
    decision = choose_depot(
        [depot("GZ", quote(-10, "90.00")), depot("CD", quote(-3, "600.00"))], DUE
    )
    assert decision.depot == "CD"
    assert decision.at_risk and not decision.backorder and not decision.meets_due
    assert (
        reasons(decision)["GZ"] == "arrives 2026-03-02 22:00, after the due time and 7 h after CD"
    )


def test_no_stock_anywhere_is_a_backorder_with_every_reason():
    decision = choose_depot(
        [
            depot("SH", quote(1, "100.00"), available=0),
            depot("BJ", quote(1, "100.00"), available=0),
            depot("GZ", None, available=3),
        ],
        DUE,
    )
    assert decision.backorder and not decision.at_risk
    assert decision.depot is None and decision.promised_delivery is None
    assert [(a.depot, a.reason) for a in decision.alternatives] == [
        ("BJ", "no stock"),
        ("GZ", "no transit lane to the site"),
        ("SH", "no stock"),
    ]
    assert [a.reason_code for a in decision.alternatives] == ["no_stock", "no_lane", "no_stock"]


def test_no_candidates_is_a_backorder():
    decision = choose_depot([], DUE)
    assert decision.backorder and decision.alternatives == ()


def test_alternatives_list_every_candidate_chosen_first_then_rank_then_unusable():
    decision = choose_depot(
        [
            depot("WH", quote(-1, "80.00")),
            depot("SH", quote(2, "300.00")),
            depot("BJ", quote(2, "200.00")),
            depot("XA", quote(2, "100.00"), available=0),
        ],
        DUE,
    )
    assert [a.depot for a in decision.alternatives] == ["BJ", "SH", "WH", "XA"]
    chosen = decision.alternatives[0]
    assert chosen.chosen and chosen.reason == "chosen" and chosen.meets_due
    assert chosen.reason_code == "chosen" and chosen.emergency_code == ""
    assert [a.meets_due for a in decision.alternatives] == [True, True, False, False]
    assert decision.alternatives[2].arrives_at == DUE + timedelta(hours=1)
    assert decision.alternatives[3].cost is None


def test_decision_carries_the_chosen_quote():
    standard = quote(2, "123.45")
    decision = choose_depot([depot("JN", standard)], DUE)
    assert decision.ships_at == standard.ships_at
    assert decision.promised_delivery == standard.arrives_at
    assert decision.due == DUE


@pytest.mark.parametrize(
    "make",
    [
        lambda: choose_depot([depot("BJ", quote(1, "1")), depot("BJ", quote(1, "2"))], DUE),
        lambda: choose_depot([], DUE.replace(tzinfo=None)),
        lambda: TransitOption(SHIPS.replace(tzinfo=None), DUE, Decimal(1)),
        lambda: TransitOption(DUE, SHIPS, Decimal(1)),
        lambda: TransitOption(SHIPS, DUE, Decimal(-1)),
        lambda: Candidate("BJ", -1, 0, quote(1, "1")),
        lambda: Candidate("BJ", 1, 0, None, quote(1, "1")),
    ],
)
def test_malformed_input_is_refused(make):
    with pytest.raises(ValueError):
        make()


offset = st.integers(-48 * 60, 48 * 60)
EARLY = DUE - timedelta(days=3)


@st.composite
def candidate_sets(draw):
    codes = draw(
        st.lists(st.sampled_from(["BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN"]), unique=True)
    )
    out = []
    for code in codes:
        arrives = DUE + timedelta(minutes=draw(offset))
        std = TransitOption(EARLY, arrives, Decimal(draw(st.integers(0, 900))))
        emg = None
        if draw(st.booleans()):
            emg = TransitOption(EARLY, DUE + timedelta(minutes=draw(offset)), std.cost * 3)
        out.append(Candidate(code, draw(st.integers(0, 4)), draw(st.integers(0, 4)), std, emg))
    return out


@given(candidate_sets())
def test_choice_is_never_beaten_by_another_candidate_under_the_rule(cands):
    decision = choose_depot(cands, DUE)
    usable = [c for c in cands if c.available > 0]
    assert decision.backorder == (not usable)
    assert {a.depot for a in decision.alternatives} == {c.depot for c in cands}
    if decision.backorder:
        return

    standard_on_time = any(c.standard.arrives_at <= DUE for c in usable)

    def option(c):
        if standard_on_time or c.emergency is None:
            return c.standard
        return c.emergency if c.emergency.arrives_at < c.standard.arrives_at else c.standard

    on_time = [c for c in usable if option(c).arrives_at <= DUE]
    assert decision.at_risk == (not on_time)
    if on_time:
        best = min(
            on_time,
            key=lambda c: (
                c.available - 1 < c.target,
                option(c).cost,
                option(c).arrives_at,
                c.depot,
            ),
        )
    else:
        best = min(
            usable,
            key=lambda c: (
                option(c).arrives_at,
                c.available - 1 < c.target,
                option(c).cost,
                c.depot,
            ),
        )
    assert decision.depot == best.depot
    assert decision.promised_delivery == option(best).arrives_at
    assert all(a.reason for a in decision.alternatives)
    # Every reason and emergency note also comes as a code (the same count of each).
    assert all(a.reason_code in REASON_CODES for a in decision.alternatives)
    assert all(
        bool(a.emergency_code) == bool(a.emergency_note)
        and a.emergency_code in (*EMERGENCY_CODES, "")
        for a in decision.alternatives
    )
