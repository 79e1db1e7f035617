"""What a query finds, on both databases: Chinese, English, pinyin and initials;
a city with what is there; numbers and serials; wildcards taken literally; keys
kept current when names change, also through the bulk CSV import."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, update

from core.db import UnitOfWork
from core.errors import Invalid
from core.pagination import PageRequest
from inventory.models import Part
from inventory.service import imports
from rma.models import Customer, Site
from rma.service import customers
from search.models import SearchKey
from search.service import find, indexing


@pytest.fixture
def world(any_engine, world_on):
    return world_on(any_engine)


def _keys(engine) -> set[tuple[str, str, str]]:
    with engine.connect() as connection:
        return set(connection.execute(select(SearchKey.kind, SearchKey.ref, SearchKey.key)))


@pytest.mark.parametrize(
    "query",
    ["长沙银行", "银行", "Changsha Bank", "bank", "changsha", "chang sha", "csyh", "yinhang"],
)
def test_a_customer_is_found_by_chinese_english_pinyin_and_initials(world, query):
    world.customer("Changsha Bank", "长沙银行")
    world.customer("Wuhan Telecom", "武汉电信")
    assert world.found(query, "customer") == ["Changsha Bank"]


def test_initials_and_full_pinyin_find_the_city_and_its_people(world):
    bank = world.customer("Xiangjiang Bank", "湘江银行")
    world.site(bank, "Xiangjiang Bank HQ", "Changsha")
    for query in ("长沙", "changsha", "cs", "Changsha"):
        assert world.found(query, "city") == ["Changsha"], query
    assert world.found("cs", "customer") == ["Xiangjiang Bank"]


def test_a_city_brings_its_customers_sites_and_only_its_open_cases(world):
    bank = world.customer("Xiangjiang Bank", "湘江银行")
    hq = world.site(bank, "Xiangjiang Bank HQ", "Changsha")
    branch = world.site(bank, "Branch office", "Changsha")
    elsewhere = world.site(world.customer("Wuhan Telecom", "武汉电信"), "Core room", "Wuhan")
    part = world.part("Line card 48x10GE")
    open_case = world.case(world.install(hq, part, "CSA0001"))
    closed_case = world.cancel(world.case(world.install(branch, part, "CSA0002")))
    wuhan_case = world.case(world.install(elsewhere, part, "WHA0001"))

    results = world.find("长沙")

    kinds = {group.kind: [hit.title.en for hit in group.hits] for group in results.groups}
    assert kinds["city"] == ["Changsha"]
    assert kinds["customer"] == ["Xiangjiang Bank"]
    assert sorted(kinds["site"]) == ["Branch office", "Xiangjiang Bank HQ"]
    assert kinds["rma"] == [open_case.number]
    assert closed_case.number not in kinds["rma"] and wuhan_case.number not in kinds["rma"]
    assert {group.kind: group.total for group in results.groups}["site"] == 2


def test_sites_and_parts_are_found_by_their_words(world):
    bank = world.customer("Pearl River Mobile", "珠江移动")
    world.site(bank, "Tianhe Data Centre", "Guangzhou")
    number = world.part("Supervisor engine 2T", part_number="SUP-2T-XL")
    assert world.found("data centre", "site") == ["Tianhe Data Centre"]
    assert world.found("centre", "site") == ["Tianhe Data Centre"]
    assert world.found("supervisor eng", "part") == [number]
    assert world.found("sup-2t", "part") == [number]
    assert world.found("2t-xl", "part") == [number]  # a word of the number after its dash
    assert world.found("entre", "site") == []  # keys are word starts, not any substring


def test_rmas_by_number_with_or_without_prefix_and_units_by_serial(world):
    site = world.site(world.customer("Metro Group", "地铁集团"), "Line 2 control", "Wuhan")
    part = world.part("Power supply 3kW")
    installed = world.install(site, part, "WHX0000123")
    case = world.case(installed)
    in_stock = world.stock("WH", part, ["WHS0000777"])

    assert world.found(case.number, "rma") == [case.number]
    assert world.found(case.number.lower(), "rma") == [case.number]
    assert world.found(case.number.removeprefix("RMA-"), "rma") == [case.number]
    assert world.found("whx00001", "installed_unit") == ["WHX0000123"]
    assert world.found("WHS0000777", "unit") == in_stock
    assert world.found("WHS0000777", "installed_unit") == []


@pytest.mark.parametrize("wildcard", ["%", "_", "\\", "*"])
def test_wildcards_are_searched_as_themselves(world, wildcard):
    literal = world.part(f"Fan tray {wildcard}slow", part_number="FAN-LIT")
    world.part("Fan tray xslow", part_number="FAN-X")
    world.part("Fan tray", part_number="FAN-PLAIN")
    # Unescaped, "%" or "_" would also match "xslow", and "%" or "*" everything.
    assert world.found(f"{wildcard}slow", "part") == [literal]
    assert world.found(f"fan tray {wildcard}", "part") == [literal]
    assert world.found(wildcard, "part") == [literal]
    assert world.find(f"{wildcard}{wildcard}").groups == []


def test_a_renamed_customer_is_found_by_its_new_name_and_not_the_old(world):
    customer = world.customer("Hunan Power", "湖南电力")
    customers.update_customer(
        world.uow, world.supervisor, customer.id, name="Xiaoxiang Grid", name_zh="潇湘电网"
    )
    for query in ("Xiaoxiang", "潇湘", "xxdw", "xiaoxiang"):
        assert world.found(query, "customer") == ["Xiaoxiang Grid"], query
    for query in ("Hunan Power", "湖南电力", "hndl"):
        assert world.found(query, "customer") == [], query


def test_a_renamed_site_is_found_by_its_new_name(world):
    site = world.site(world.customer("Pearl River Mobile", "珠江移动"), "Old room", "Guangzhou")
    customers.update_site(world.uow, world.supervisor, site.id, name="Panyu switching centre")
    assert world.found("panyu", "site") == ["Panyu switching centre"]
    assert world.found("old room", "site") == []


def test_parts_imported_in_bulk_are_found(world):
    csv_text = (
        "part_number,description,family,serialized,unit_cost\n"
        "IMP-0001,Optical module 100G LR4,optic,no,900\n"
        "IMP-0002,Optical module 400G FR4,optic,no,2900\n"
    )
    imports.import_parts(world.uow, world.planner, csv_text)
    assert world.found("optical module", "part") == ["IMP-0001", "IMP-0002"]
    assert world.found("400g", "part") == ["IMP-0002"]
    # Updating an imported part renames it in the index too.
    header = "part_number,description,family,serialized,unit_cost\n"
    imports.import_parts(
        world.uow, world.planner, header + "IMP-0002,Coherent 400G ZR,optic,no,2900\n"
    )
    assert world.found("coherent", "part") == ["IMP-0002"]
    assert world.found("400g fr4", "part") == []


def test_reindex_rebuilds_exactly_what_the_events_kept(world):
    bank = world.customer("Xiangjiang Bank", "湘江银行")
    world.site(bank, "Xiangjiang Bank HQ", "Changsha")
    world.part("Line card 48x10GE")

    kept = _keys(world.engine)
    counts = indexing.reindex(UnitOfWork(world.engine))
    assert _keys(world.engine) == kept
    assert counts["customer"] >= 1 and counts["city"] >= 50


@pytest.mark.parametrize("text", ["", "   ", "x" * (find.MAX_QUERY + 1), "a\x00b"])
def test_a_query_that_cannot_be_searched_is_refused(world, text):
    with pytest.raises(Invalid) as refused:
        world.find(text)
    assert refused.value.extra["field"] == "q"


def test_each_kind_shows_ten_and_counts_the_rest(world):
    bank = world.customer("Xiangjiang Bank", "湘江银行")
    for number in range(12):
        world.site(bank, f"Branch {number:02d}", "Changsha")
    group = next(g for g in world.find("branch").groups if g.kind == "site")
    assert (len(group.hits), group.total, group.more) == (10, 12, 2)
    second = world.find("branch", kind="site", paging=PageRequest(2, 10, find.SORT, False))
    assert [hit.title.en for hit in second.groups[0].hits] == ["Branch 10", "Branch 11"]


def test_bulk_statements_of_the_orm_keep_the_keys_too(world):
    kept = world.customer("Hunan Power", "湖南电力")
    gone = world.customer("Short-lived Ltd", "短命公司")
    site = world.site(kept, "Old room", "Changsha")
    unit = UnitOfWork(world.engine)
    with unit.transaction():
        unit.session.execute(update(Site).where(Site.name == "Old room").values(name="Yuelu hall"))
        unit.session.execute(delete(Customer).where(Customer.id == gone.id))
        unit.session.execute(
            insert(Part).values(
                part_number="BULK-1", description="Fan tray 2U", family="fan", unit_cost=10
            )
        )
    assert world.found("yuelu", "site") == ["Yuelu hall"]
    assert world.found("old room", "site") == []
    assert world.found("dmgs", "customer") == []
    assert world.found("fan tray 2u", "part") == ["BULK-1"]
    assert [hit.link.ref for hit in world.find("yuelu").hits()] == [str(site.id)]
    before = _keys(world.engine)
    indexing.reindex(UnitOfWork(world.engine))
    assert _keys(world.engine) == before
