"""Entitlement: serial -> installed base -> phase, warranty, contract."""

from __future__ import annotations

import pytest

from core.db import UnitOfWork
from rma.service import entitlement
from tests.rma.conftest import today


@pytest.fixture
def decide(engine):
    from core.db import read_only

    @read_only
    def run(uow, customer_id, unit, kind):
        return entitlement.decide(uow, customer_id, unit, kind, today())

    return lambda acct, unit, kind="advance_replacement": run(
        UnitOfWork(engine), acct.customer.id, unit, kind
    )


def test_in_warranty_unit_is_entitled_to_replacement(decide, account, install, make_part):
    acct = account(coverage=None)
    unit = install(acct, make_part(serialized=True))
    result = decide(acct, unit)
    assert result.entitled and "in warranty" in result.reason
    assert result.coverage == "5x8"


def test_unit_in_trial_run_is_the_vendors_responsibility(decide, account, install, make_part):
    acct = account(coverage=None)
    unit = install(acct, make_part(serialized=True), phase="trial_run", warranty_days=-10)
    assert decide(acct, unit).entitled


def test_expired_warranty_without_contract_is_billable(decide, account, install, make_part):
    acct = account(coverage=None)
    unit = install(acct, make_part(serialized=True), warranty_days=-1)
    result = decide(acct, unit)
    assert not result.entitled and "warranty ended" in result.reason


def test_expired_warranty_with_7x24_contract_is_entitled_with_its_coverage(
    decide, account, install, make_part
):
    acct = account(coverage="7x24")
    unit = install(acct, make_part(serialized=True), phase="out_of_warranty", warranty_days=-30)
    result = decide(acct, unit)
    assert result.entitled and result.coverage == "7x24"
    assert result.contract.number == acct.contract.number


def test_loaner_needs_a_contract_that_includes_loaners(decide, account, install, make_part):
    part = make_part(serialized=True)
    plain = account(coverage="5x8", loaner=False)
    assert not decide(plain, install(plain, part), "loaner").entitled
    generous = account(coverage="5x8", loaner=True)
    assert decide(generous, install(generous, part), "loaner").entitled


def test_unknown_serial_falls_back_to_the_customers_contract(decide, account):
    assert decide(account(coverage="5x8"), None).entitled
    assert not decide(account(coverage=None), None).entitled


# --- the opening reads the contracts with its site and part (one query) --------------


def _open(engine, engineer, **given):
    from rma.service.opening import OpenRequest, open_rma

    request = OpenRequest(fault_level="C-2", symptom="link down", **given)
    return open_rma(UnitOfWork(engine), engineer, request)


@pytest.mark.parametrize("kind", ["advance_replacement", "loaner", "repair"])
def test_an_opened_case_is_entitled_as_decide_says_among_several_contracts(
    engine, supervisor, engineer, decide, account, make_part, kind
):
    """Expired and future contracts are left out, the 7x24 one is weighed first, and the
    one that covers the kind decides: the case opened by part and site agrees with
    ``decide`` field for field."""
    from datetime import timedelta

    from rma.service import customers

    acct = account(coverage="5x8", contract_days=90)
    day = today()
    for number, coverage, starts, ends, covers in [
        ("K-OLD-724", "7x24", day - timedelta(days=400), day - timedelta(days=1), True),
        ("K-NEXT-724", "7x24", day + timedelta(days=1), day + timedelta(days=400), True),
        ("K-LOAN-724", "7x24", day - timedelta(days=10), day + timedelta(days=10), False),
    ]:
        customers.create_contract(
            UnitOfWork(engine),
            supervisor,
            acct.customer.id,
            number,
            coverage,
            starts,
            ends,
            advance_replacement=covers,
            repair=covers,
            loaner=not covers,
        )
    expected = decide(acct, None, kind)
    rma = _open(engine, engineer, kind=kind, part_number=make_part(), site_id=acct.site.id)
    assert (rma.entitled, rma.entitlement_reason, rma.coverage) == (
        expected.entitled,
        expected.reason,
        expected.coverage,
    )
    assert rma.contract_id == expected.contract.id
    covering = "K-LOAN-724" if kind == "loaner" else acct.contract.number
    assert expected.contract.number == covering
    assert rma.coverage == ("7x24" if kind == "loaner" else "5x8")


def test_a_customer_without_a_contract_in_force_opens_a_billable_case(
    engine, engineer, account, make_part
):
    acct = account(coverage="7x24", contract_days=-1)  # ended yesterday
    rma = _open(engine, engineer, kind="repair", part_number=make_part(), site_id=acct.site.id)
    assert not rma.entitled and rma.billable
    assert (rma.contract_id, rma.coverage) == (None, "5x8")
    assert "no active contract" in rma.entitlement_reason


def test_an_unknown_site_is_refused_before_an_unknown_part(engine, engineer, account, make_part):
    from core.errors import NotFound

    acct = account()
    part = make_part()
    with pytest.raises(NotFound, match="unknown site 999999"):
        _open(engine, engineer, kind="repair", part_number="NO-SUCH-PART", site_id=999_999)
    with pytest.raises(NotFound, match="unknown part 'no-such-part'"):
        _open(engine, engineer, kind="repair", part_number="no-such-part", site_id=acct.site.id)
    # A part typed in lower case with spaces is the catalogue's part.
    rma = _open(
        engine, engineer, kind="repair", part_number=f" {part.lower()} ", site_id=acct.site.id
    )
    assert rma.part_number == part
