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
