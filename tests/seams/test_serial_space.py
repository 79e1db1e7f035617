"""Defect 4: stock and the installed base share one serial space."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from core.db import UnitOfWork
from inventory.service import queries
from tests.rma.conftest import today
from tests.seams.conftest import call


def _installed_unit_body(serial: str, part: str, site_id: int) -> dict:
    return {
        "serial": serial,
        "part_number": part,
        "site_id": site_id,
        "shipped_on": (today() - timedelta(days=30)).isoformat(),
        "warranty_end": (today() + timedelta(days=300)).isoformat(),
    }


def test_a_serial_on_a_depot_shelf_cannot_be_registered_as_installed(
    client, auth_for, make_part, stock_up, account, engine
):
    part = make_part(serialized=True)
    [serial] = stock_up("SH", part, 1, serialized=True)
    acct = account("Shanghai")
    answer = call(
        client,
        "POST",
        "/api/v1/installed-units",
        auth_for("engineer"),
        409,
        json=_installed_unit_body(serial.lower(), part, acct.site.id),
    )
    assert f"serial {serial} is in stock at SH" in answer["detail"]
    assert (
        call(client, "GET", f"/api/v1/installed-units?q={serial}", auth_for("engineer"), 200) == []
    )
    unit, _ = queries.get_unit(UnitOfWork(engine), serial)
    assert (unit.location, unit.depot_code) == ("depot", "SH")


def test_an_installed_serial_cannot_be_received_into_stock(
    client, auth_for, make_part, account, install, engine
):
    part = make_part(serialized=True)
    unit = install(account("Wuhan"), part)
    receipt = {"depot": "WH", "part_number": part, "qty": 1, "serials": [unit.serial]}
    answer = call(
        client, "POST", "/api/v1/stock/receipts", auth_for("depot_staff", "WH"), 409, json=receipt
    )
    assert "installed at" in answer["detail"] and "two places" in answer["detail"]
    csv = f"depot,part_number,qty,serials\nWH,{part},1,{unit.serial}\n"
    refused = call(
        client,
        "POST",
        "/api/v1/stock/import",
        auth_for("planner"),
        422,
        data=csv,
        content_type="text/csv",
    )
    assert any("two places" in p["message"] for p in refused["fields"]), refused
    assert queries.stock(UnitOfWork(engine), part_number=part) == []


@pytest.mark.tampers_with_books
def test_spares_check_reports_a_serial_in_two_places(app, make_part, stock_up, account, engine):
    part = make_part(serialized=True)
    [serial] = stock_up("GZ", part, 1, serialized=True)
    acct = account("Guangzhou")
    # Written behind the services' back, as an old import or a manual fix could have.
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO installed_unit (serial, part_number, site_id, shipped_on, "
                "warranty_end, phase, active) VALUES (:s, :p, :site, :d, :d, 'in_warranty', :a)"
            ),
            {"s": serial, "p": part, "site": acct.site.id, "d": today(), "a": True},
        )
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert f"serial {serial} is in two places: in stock at GZ and installed at" in result.output
