"""Use cases of the transport network, against a real migrated and seeded database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from core.auth import Actor
from core.db import UnitOfWork, transactional
from core.errors import Forbidden, Invalid, NotFound
from depots.lanes import SHANGHAI, default_terms
from depots.models import Lane
from depots.service import lane_edits, network
from depots.service.lane_edits import LaneChange

DOMAIN_DEPOTS = {
    "BJ": ("Beijing", 39.904, 116.407),
    "SH": ("Shanghai", 31.230, 121.474),
    "GZ": ("Guangzhou", 23.129, 113.264),
    "CD": ("Chengdu", 30.573, 104.066),
    "WH": ("Wuhan", 30.593, 114.305),
    "XA": ("Xi'an", 34.342, 108.940),
    "SY": ("Shenyang", 41.805, 123.431),
    "JN": ("Jinan", 36.651, 117.120),
}
PROVINCIAL_CAPITALS = {
    "Beijing", "Tianjin", "Shanghai", "Chongqing", "Shijiazhuang", "Taiyuan", "Hohhot",
    "Shenyang", "Changchun", "Harbin", "Nanjing", "Hangzhou", "Hefei", "Fuzhou", "Nanchang",
    "Jinan", "Zhengzhou", "Wuhan", "Changsha", "Guangzhou", "Nanning", "Haikou", "Chengdu",
    "Guiyang", "Kunming", "Lhasa", "Xi'an", "Lanzhou", "Xining", "Yinchuan", "Urumqi",
}  # fmt: skip


@pytest.fixture
def planner(make_user) -> Actor:
    return make_user("planner")


@pytest.fixture
def engineer(make_user) -> Actor:
    return make_user("engineer")


def _lane_rows(uow: UnitOfWork) -> list[tuple]:
    @transactional
    def read(uow: UnitOfWork) -> list[tuple]:
        lanes = uow.session.exec(select(Lane).order_by(Lane.id)).all()
        return [
            (lane.id, lane.mode, lane.hours, lane.cost, lane.edited, lane.updated_at)
            for lane in lanes
        ]

    return read(uow)


# --- reference data ----------------------------------------------------------------------


def test_the_eight_depots_are_seeded_as_the_domain_describes(uow):
    depots = {depot.code: depot for depot in network.list_depots(uow)}
    assert {code: (d.city, d.lat, d.lon) for code, d in depots.items()} == DOMAIN_DEPOTS
    assert {d.calendar_code for d in depots.values()} == {"5x8"}
    assert {(d.pickup_open_hour, d.pickup_cutoff_hour) for d in depots.values()} == {(9, 18)}


def test_cities_cover_every_provincial_capital_and_every_depot_city(uow):
    cities = {city.name: city for city in network.list_cities(uow)}
    assert set(cities) >= PROVINCIAL_CAPITALS
    assert len(PROVINCIAL_CAPITALS) == 31
    assert {"Shenzhen", "Qingdao", "Dalian", "Xiamen", "Suzhou", "Ningbo"} <= set(cities)
    assert {name for name, city in cities.items() if city.remote} == {
        "Lhasa",
        "Urumqi",
        "Xining",
        "Haikou",
    }
    assert {city.depot: name for name, city in cities.items() if city.depot} == {
        code: city for code, (city, _, _) in DOMAIN_DEPOTS.items()
    }
    assert cities["Lhasa"].name_zh == "拉萨" and cities["Urumqi"].province == "Xinjiang"
    for city in cities.values():  # mainland China, roughly
        assert 18 <= city.lat <= 54 and 73 <= city.lon <= 135, city


def test_every_depot_has_a_lane_to_every_city_and_every_other_depot(uow):
    lanes = network.list_lanes(uow)
    cities = network.list_cities(uow)
    assert len(lanes) == 8 * len(cities) + 8 * 7
    pairs = {(lane.from_depot, lane.kind, lane.to) for lane in lanes}
    assert len(pairs) == len(lanes)
    assert not [lane for lane in lanes if lane.kind == "depot" and lane.to == lane.from_depot]


def test_a_depot_ships_to_its_own_city_by_same_city_courier(uow):
    lane = network.find_lane(uow, "BJ", "Beijing")
    assert (lane.mode, lane.hours, lane.cost, lane.distance_km) == (
        "courier",
        Decimal("4.00"),
        Decimal("80.00"),
        0.0,
    )


def test_seeded_lanes_follow_the_default_rule(uow):
    shanghai = network.find_lane(uow, "BJ", "Shanghai")
    assert shanghai.distance_km == pytest.approx(1067.4, abs=0.1)
    assert shanghai.terms == default_terms(1067.36)
    lhasa = network.find_lane(uow, "CD", "Lhasa")
    assert lhasa.remote and lhasa.mode == "air"
    assert lhasa.hours == default_terms(lhasa.distance_km, remote=True).hours
    transfer = network.find_lane(uow, "BJ", "JN")
    assert (transfer.kind, transfer.mode) == ("depot", "road")


def test_seeding_again_changes_nothing(uow):
    before = _lane_rows(uow)
    network.seed_network(uow)
    network.seed_network(uow)
    assert _lane_rows(uow) == before
    assert len(network.list_cities(uow)) == len({c.name for c in network.list_cities(uow)})


def test_seeding_never_overwrites_a_planners_edit(uow, planner):
    lane = network.find_lane(uow, "BJ", "Shanghai")
    lane_edits.update_lane(uow, planner, lane.id, mode="road", hours="20", cost="150")
    network.seed_network(uow)
    after = network.get_lane(uow, lane.id)
    assert (after.mode, after.hours, after.cost, after.edited) == (
        "road",
        Decimal("20.00"),
        Decimal("150.00"),
        True,
    )


def test_seeding_puts_an_unedited_lane_back_on_the_rule_and_adds_missing_ones(uow):
    lane = network.find_lane(uow, "SH", "Hangzhou")

    @transactional
    def tamper(uow: UnitOfWork) -> None:
        uow.session.execute(text("UPDATE lane SET hours = 99 WHERE id = :id"), {"id": lane.id})
        uow.session.execute(text("DELETE FROM lane WHERE from_depot = 'GZ' AND to_depot = 'SH'"))

    tamper(uow)
    network.seed_network(uow)
    assert network.get_lane(uow, lane.id).hours == lane.hours
    assert network.find_lane(uow, "GZ", "SH").mode == "air"


# --- reading lanes ---------------------------------------------------------------------------


def test_lanes_filter_by_origin_destination_and_kind(uow):
    from_bj = network.list_lanes(uow, from_depot="bj")
    assert {lane.from_depot for lane in from_bj} == {"BJ"}
    depot_lanes = network.list_lanes(uow, from_depot="BJ", kind="depot")
    assert [lane.to for lane in depot_lanes] == ["CD", "GZ", "JN", "SH", "SY", "WH", "XA"]
    to_lhasa = network.list_lanes(uow, to="lhasa")
    assert {lane.from_depot for lane in to_lhasa} == set(DOMAIN_DEPOTS)
    assert {lane.to for lane in to_lhasa} == {"Lhasa"}
    city_lanes = network.list_lanes(uow, from_depot="SH", kind="city")
    assert all(lane.kind == "city" for lane in city_lanes) and city_lanes


def test_lanes_of_an_unknown_depot_or_destination_are_not_found(uow):
    with pytest.raises(NotFound, match="unknown depot 'XX'"):
        network.list_lanes(uow, from_depot="XX")
    with pytest.raises(NotFound, match="Atlantis"):
        network.list_lanes(uow, to="Atlantis")
    with pytest.raises(Invalid, match="kind"):
        network.list_lanes(uow, kind="planet")
    with pytest.raises(NotFound, match="itself"):
        network.find_lane(uow, "BJ", "BJ")
    with pytest.raises(NotFound):
        network.get_lane(uow, 999_999)


# --- editing lanes ---------------------------------------------------------------------------


def test_a_planner_edits_a_lane_and_it_is_marked_edited_by_them(uow, planner):
    lane = network.find_lane(uow, "BJ", "Shanghai")
    saved = lane_edits.update_lane(uow, planner, lane.id, mode="road", hours="9.5", cost="123.45")
    assert (saved.mode, saved.hours, saved.cost) == ("road", Decimal("9.50"), Decimal("123.45"))
    assert saved.edited and saved.updated_by == planner.username
    assert saved.updated_at >= lane.updated_at
    assert network.get_lane(uow, lane.id) == saved


def test_an_engineer_may_not_edit_a_lane(uow, engineer):
    lane = network.find_lane(uow, "BJ", "Shanghai")
    with pytest.raises(Forbidden):
        lane_edits.update_lane(uow, engineer, lane.id, mode="road", hours="9", cost="1")
    assert network.get_lane(uow, lane.id) == lane


def test_bad_values_are_all_reported_and_change_nothing(uow, planner):
    lane = network.find_lane(uow, "BJ", "Shanghai")
    with pytest.raises(Invalid) as raised:
        lane_edits.update_lane(uow, planner, lane.id, mode="boat", hours="241", cost="-1")
    assert {item.field for item in raised.value.fields} == {"mode", "hours", "cost"}
    assert network.get_lane(uow, lane.id) == lane


def test_reset_puts_the_default_rule_back(uow, planner):
    lane = network.find_lane(uow, "BJ", "Lhasa")
    lane_edits.update_lane(uow, planner, lane.id, mode="road", hours="70", cost="900")
    reset = lane_edits.reset_lane(uow, planner, lane.id)
    assert reset.terms == lane.terms
    assert not reset.edited and reset.updated_by == planner.username


def test_bulk_edit_applies_every_lane_in_order(uow, planner):
    saved = lane_edits.update_lanes(
        uow,
        planner,
        [
            LaneChange("SH", "Hangzhou", "courier", "5", "90"),
            LaneChange("SH", "BJ", "road", "16", "300", kind="depot"),
        ],
    )
    assert [(lane.to, lane.mode, lane.edited) for lane in saved] == [
        ("Hangzhou", "courier", True),
        ("BJ", "road", True),
    ]
    assert network.find_lane(uow, "SH", "BJ").hours == Decimal("16.00")


def test_bulk_edit_with_one_bad_entry_changes_nothing_and_names_every_bad_entry(uow, planner):
    before = _lane_rows(uow)
    with pytest.raises(Invalid) as raised:
        lane_edits.update_lanes(
            uow,
            planner,
            [
                LaneChange("SH", "Hangzhou", "courier", "5", "90"),
                LaneChange("SH", "Atlantis", "road", "5", "90"),
                LaneChange("ZZ", "Hangzhou", "road", "0", "90"),
                LaneChange("SH", "hangzhou", "road", "6", "90"),
            ],
        )
    errors = raised.value.fields
    assert {e.field for e in errors} == {
        "1.to",
        "2.from_depot",
        "2.hours",
        "3.to",  # the same lane twice
    }
    assert _lane_rows(uow) == before


def test_bulk_edit_needs_at_least_one_lane_and_a_planner(uow, planner, engineer):
    with pytest.raises(Invalid):
        lane_edits.update_lanes(uow, planner, [])
    with pytest.raises(Forbidden):
        lane_edits.update_lanes(uow, engineer, [LaneChange("SH", "Hangzhou", "road", "5", "90")])


# --- CSV -----------------------------------------------------------------------------------


def test_export_then_import_changes_no_lane(uow, planner):
    before = _lane_rows(uow)
    csv_text = lane_edits.export_lanes_csv(uow)
    assert csv_text.splitlines()[0] == "from_depot,to,kind,mode,hours,cost"
    assert "BJ,Shanghai,city,air,11.52,466.84" in csv_text.splitlines()
    result = lane_edits.import_lanes_csv(uow, planner, csv_text)
    assert result.rows == len(before) and result.changed == []
    assert _lane_rows(uow) == before


def test_import_applies_the_rows_that_differ(uow, planner):
    csv_text = (
        "\ufefffrom_depot,to,kind,mode,hours,cost\n"
        "BJ,Shanghai,city,road,20,150\n"
        "BJ,SH,depot,air,11.52,466.84\n"  # as stored already
        "\n"
        "SY,Harbin,city,road,10.5,200\n"
    )
    result = lane_edits.import_lanes_csv(uow, planner, csv_text)
    assert result.rows == 3 and result.unchanged == 1
    assert [lane.label for lane in result.changed] == ["BJ → Shanghai", "SY → Harbin"]
    assert network.find_lane(uow, "SY", "Harbin").hours == Decimal("10.50")
    assert not network.find_lane(uow, "BJ", "SH").edited


def test_import_with_bad_rows_reports_every_one_and_writes_nothing(uow, planner):
    before = _lane_rows(uow)
    csv_text = (
        "from_depot,to,kind,mode,hours,cost\n"
        "BJ,Shanghai,city,road,20,150\n"
        "BJ,Atlantis,city,road,20,150\n"
        "XX,Shanghai,city,boat,-3,150\n"
        "BJ,SH,city,road,20,150\n"
        "BJ,Shanghai,city,road,21,150\n"
        "BJ,Harbin\n"
        "BJ,Harbin,,road,5,1\n"
    )
    with pytest.raises(Invalid) as raised:
        lane_edits.import_lanes_csv(uow, planner, csv_text)
    errors = [(e.line, e.field) for e in raised.value.fields]
    assert errors == [
        (3, "to"),
        (4, "from_depot"),
        (4, "mode"),
        (4, "hours"),
        (5, "to"),  # SH is a depot, not a city
        (6, "to"),  # the same lane as line 2
        (7, ""),  # too few cells
        (8, "kind"),
    ]
    assert "line 3 to: unknown city 'Atlantis'" in raised.value.detail
    assert _lane_rows(uow) == before


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("", "empty"),
        ("from_depot,to,mode,hours,cost\nBJ,Shanghai,road,1,1\n", "missing column"),
        ("from_depot,to,kind,mode,hours,cost\n", "no lanes"),
    ],
)
def test_import_refuses_files_without_a_proper_header_or_rows(uow, planner, csv_text, message):
    with pytest.raises(Invalid, match=message):
        lane_edits.import_lanes_csv(uow, planner, csv_text)


def test_import_is_for_planners(uow, engineer):
    with pytest.raises(Forbidden):
        lane_edits.import_lanes_csv(
            uow, engineer, lane_edits.export_lanes_csv(uow, from_depot="BJ")
        )


# --- quotes ----------------------------------------------------------------------------------


def test_quote_uses_the_stored_lane_and_the_depot_pickup_window(uow, planner):
    lane = network.find_lane(uow, "BJ", "Lhasa")
    lane_edits.update_lane(uow, planner, lane.id, mode="air", hours="30", cost="1000")
    answer = network.quote(uow, "BJ", "Lhasa", datetime(2026, 3, 6, 18, 30, tzinfo=SHANGHAI))
    assert answer.ships_at == datetime(2026, 3, 7, 9, 0, tzinfo=SHANGHAI)
    assert answer.arrives_at == datetime(2026, 3, 8, 15, 0, tzinfo=SHANGHAI)
    assert (answer.hours, answer.cost) == (Decimal("30.00"), Decimal("1000.00"))
    urgent = network.quote(
        uow, "BJ", "Lhasa", datetime(2026, 3, 6, 18, 30, tzinfo=SHANGHAI), "emergency"
    )
    assert urgent.ships_at == datetime(2026, 3, 6, 19, 30, tzinfo=SHANGHAI)
    assert urgent.cost == Decimal("3000.00")


def test_quote_between_depots(uow):
    answer = network.quote(uow, "SH", "BJ", datetime(2026, 3, 4, 10, 0, tzinfo=SHANGHAI))
    assert answer.mode == "air" and answer.hours == network.find_lane(uow, "SH", "BJ").hours


def test_quote_refuses_naive_times_unknown_services_and_places(uow):
    with pytest.raises(Invalid, match="time zone"):
        network.quote(uow, "BJ", "Lhasa", datetime(2026, 3, 4, 10, 0))
    ready = datetime(2026, 3, 4, 10, 0, tzinfo=SHANGHAI)
    with pytest.raises(Invalid, match="service"):
        network.quote(uow, "BJ", "Lhasa", ready, "overnight")
    with pytest.raises(NotFound):
        network.quote(uow, "QQ", "Lhasa", ready)
    with pytest.raises(NotFound):
        network.quote(uow, "BJ", "Gotham", ready)


def test_lane_counts_match_the_table(uow):
    @transactional
    def count(uow: UnitOfWork) -> int:
        return uow.session.exec(select(func.count()).select_from(Lane)).one()

    assert count(uow) == len(network.list_lanes(uow))


def test_seeding_editing_importing_and_quoting_work_on_both_databases(any_engine):
    uow = UnitOfWork(any_engine)
    planner = Actor(id=1, username="planner-pg", role="planner")
    network.seed_network(uow)
    assert len(network.list_lanes(uow)) == 8 * len(network.list_cities(uow)) + 56
    lane = network.find_lane(uow, "WH", "Changsha")
    saved = lane_edits.update_lane(uow, planner, lane.id, mode="road", hours="5.25", cost="99.9")
    assert (saved.hours, saved.cost) == (Decimal("5.25"), Decimal("99.90"))
    lane_edits.update_lanes(uow, planner, [LaneChange("WH", "Nanchang", "road", "6", "120")])
    result = lane_edits.import_lanes_csv(
        uow, planner, "from_depot,to,kind,mode,hours,cost\nWH,XA,depot,air,9,400\n"
    )
    assert len(result.changed) == 1
    network.seed_network(uow)
    assert network.find_lane(uow, "WH", "XA").hours == Decimal("9.00")
    answer = network.quote(uow, "WH", "Changsha", datetime(2026, 3, 6, 18, 0, tzinfo=SHANGHAI))
    assert answer.arrives_at == datetime(2026, 3, 6, 23, 15, tzinfo=SHANGHAI)


def test_the_default_shown_for_a_lane_is_what_reset_would_set(uow, planner):
    for lane in network.list_lanes(uow, from_depot="BJ"):
        assert network.default_for(lane) == lane.terms, lane.label
    lane = network.find_lane(uow, "BJ", "Shanghai")
    lane_edits.update_lane(uow, planner, lane.id, mode="road", hours="1", cost="1")
    assert lane_edits.reset_lane(uow, planner, lane.id).terms == network.default_for(lane)
