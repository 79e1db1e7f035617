"""`spares search reindex` and `spares search find`, in English."""

from __future__ import annotations

from sqlalchemy import text


def test_reindex_catches_up_with_names_changed_by_hand_written_sql(app, world, engine):
    customer = world.customer("Hunan Power", "湖南电力")
    # Hand-written SQL passes no ORM event: the keys still say the old name ...
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE customer SET name = 'Xiaoxiang Grid', name_zh = '潇湘电网' WHERE id = :id"
            ),
            {"id": customer.id},
        )
    assert world.found("xxdw", "customer") == []

    result = app.test_cli_runner().invoke(args=["search", "reindex"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("search index rebuilt: 1 customer, 0 sites, ")
    assert " cities, " in result.output and result.output.rstrip().endswith(" parts")
    assert world.found("xxdw", "customer") == ["Xiaoxiang Grid"]
    assert world.found("hndl", "customer") == []


def test_find_prints_what_a_query_finds(app, world):
    bank = world.customer("Xiangjiang Bank", "湘江银行", code="XJB-CS")
    world.site(bank, "Xiangjiang Bank HQ", "Changsha")
    runner = app.test_cli_runner()

    found = runner.invoke(args=["search", "find", "长沙"])

    assert found.exit_code == 0, found.output
    assert found.output.splitlines() == [
        "city: 1",
        "  Changsha · Hunan",
        "customer: 1",
        "  Xiangjiang Bank · XJB-CS",
        "site: 1",
        "  Xiangjiang Bank HQ · Xiangjiang Bank · Changsha",
    ]
    nothing = runner.invoke(args=["search", "find", "no-such-thing"])
    assert nothing.output == "nothing found for 'no-such-thing'\n"


def test_find_refuses_an_over_long_query_with_one_line(app):
    result = app.test_cli_runner().invoke(args=["search", "find", "x" * 101])
    assert result.exit_code == 2
    assert result.output.strip() == "error: q must be at most 100 characters"
