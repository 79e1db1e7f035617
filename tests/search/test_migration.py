"""Migration 0007 fills the search keys of the customers, sites, cities and parts a
database already holds (pinyin computed in the migration), on both databases; a
downgrade drops them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from core import schema
from core.db import UnitOfWork, make_engine
from search.models import SearchKey
from search.service import find, indexing
from tests.conftest import assert_books_balance


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    postgres = request.getfixturevalue("postgres")
    name = postgres.create(f"m{uuid.uuid4().hex[:8]}")
    engine = make_engine(postgres.url_for(name))
    yield engine
    engine.dispose()
    postgres.drop(name)


def _rows_written_before_search(engine: Engine) -> None:
    """A city, a customer with a Chinese name and its site, and a part, written with
    plain SQL as an older version of the software left them (no search keys)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO city (id, name, name_zh, province, lat, lon, remote) "
                "VALUES (1, 'Changsha', '长沙', 'Hunan', 28.228, 112.939, false)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO customer (id, code, name, name_zh, email, created_at) VALUES "
                "(1, 'XJB-CS', 'Xiangjiang Bank', '湘江银行', NULL, '2026-01-05 02:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO site (id, customer_id, name, city_id, address, contact_name, "
                "contact_phone, contact_email) VALUES "
                "(1, 1, 'Riverside data centre', 1, '', '', '', NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO part (part_number, description, family, serialized, unit_cost, "
                "weight_kg, criticality, superseded_by, created_at) VALUES "
                "('LC-48X10GE', 'Line card 48x10GE', 'line_card', true, 1000, 2.5, 'high', "
                "NULL, '2026-01-05 02:00:00')"
            )
        )


def _keys(engine: Engine) -> set[tuple[str, str, str]]:
    with engine.connect() as connection:
        return set(connection.execute(select(SearchKey.kind, SearchKey.ref, SearchKey.key)))


def test_upgrading_a_database_with_rows_makes_them_findable(empty_engine, request):
    schema.upgrade(empty_engine, "0006")
    _rows_written_before_search(empty_engine)

    schema.upgrade(empty_engine)

    def titles(query: str) -> dict[str, list[str]]:
        found = find.find(UnitOfWork(empty_engine), query)
        return {group.kind: [hit.title.en for hit in group.hits] for group in found.groups}

    assert titles("xjyh") == {"customer": ["Xiangjiang Bank"]}
    assert titles("湘江") == {"customer": ["Xiangjiang Bank"]}
    assert titles("长沙") == {
        "customer": ["Xiangjiang Bank"],
        "site": ["Riverside data centre"],
        "city": ["Changsha"],
    }
    assert titles("cs")["city"] == ["Changsha"]
    assert titles("data centre") == {"site": ["Riverside data centre"]}
    assert titles("48x10ge") == {"part": ["LC-48X10GE"]}
    # The migration's copy of the key rules gives exactly what the app's rules give.
    backfilled = _keys(empty_engine)
    indexing.reindex(UnitOfWork(empty_engine))
    assert _keys(empty_engine) == backfilled
    assert_books_balance(request, empty_engine)


def test_downgrading_drops_the_keys(empty_engine):
    schema.upgrade(empty_engine)
    assert "search_key" in inspect(empty_engine).get_table_names()
    schema.downgrade(empty_engine, "0006")
    assert "search_key" not in inspect(empty_engine).get_table_names()
