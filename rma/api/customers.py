"""Customers, sites, contracts and the installed base: recorded, read and edited.

Edits answer what changed (the customer, site, contract or unit as it is now).
Refusals are 4xx JSON with a stable ``error`` code: besides ``invalid``,
``not_found``, ``forbidden`` and ``conflict``, a phase change that stays or goes
back is ``phase_not_forward`` (with the unit's ``phase`` and the ``allowed``
ones), a unit that left the installed base ``unit_decommissioned``, a unit an open
case holds ``open_rma`` and a site city change while cases are open
``site_has_open_cases`` (both with the ``rma``). A refused edit changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core import auth, clock
from core.db import UnitOfWork, read_only
from core.web import answer_once, uow
from depots.models import City
from rma.api import api
from rma.api.answers import (
    CUSTOMER_EDITORS,
    READ_ERRORS,
    READERS,
    WRITE_ERRORS,
    by_id,
    city_answer,
    contract_answer,
    customer_answer,
    customer_ref,
    decision_alternatives,
    json_answer,
    load_context,
    site_answer,
)
from rma.models import (
    OPEN_STATUSES,
    Customer,
    InstalledUnit,
    Kind,
    Rma,
    Site,
)
from rma.schemas import (
    ByCustomerQuery,
    ContinuationOut,
    ContractBody,
    ContractContinueBody,
    ContractExtendBody,
    ContractList,
    ContractOut,
    CustomerBody,
    CustomerList,
    CustomerOut,
    CustomerPatch,
    CustomersQuery,
    ErrorOut,
    HeldConflictOut,
    IdPath,
    InstalledUnitBody,
    InstalledUnitDetailOut,
    InstalledUnitList,
    InstalledUnitOut,
    InstalledUnitQuery,
    InstalledUnitsQuery,
    PhaseBody,
    PhaseConflictOut,
    SerialPath,
    SiteBody,
    SiteList,
    SiteOut,
    SitePatch,
)
from rma.service import allocation, customers
from rma.service import entitlement as entitlement_rules

# Contracts are commercial terms: supervisors record and renew them.
CONTRACT_EDITORS = tuple(role.value for role in customers.CONTRACT_ROLES)

# --- customers, sites, contracts, installed base --------------------------------------------


@api.get(
    "/customers",
    responses={200: CustomerList, 401: ErrorOut, 422: ErrorOut},
    summary="Customers by code; search by name",
)
@auth.api_roles(*READERS)
def get_customers(query: CustomersQuery) -> Any:
    found = customers.list_customers(uow(), search=query.search or None, limit=query.limit)
    return json_answer([customer_answer(c) for c in found])


@api.post(
    "/customers",
    responses={201: CustomerOut, **WRITE_ERRORS},
    summary="Add a customer (engineers, supervisors)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_customer(body: CustomerBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            customer_answer(
                customers.create_customer(
                    u, actor, body.code, body.name, name_zh=body.name_zh, email=body.email
                )
            ),
            201,
        )
    )


@api.patch(
    "/customers/<int:id>",
    responses={200: CustomerOut, **WRITE_ERRORS},
    summary="Change a customer's names or e-mail (engineers, supervisors)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def patch_customer(path: IdPath, body: CustomerPatch) -> Any:
    actor = auth.api_actor()
    changed = customers.update_customer(uow(), actor, path.id, **_given(body))
    return json_answer(customer_answer(changed))


def _given(body: Any) -> dict[str, Any]:
    """The fields a PATCH body gives (those left out stay as they are)."""
    return {name: getattr(body, name) for name in body.model_fields_set}


@read_only
def _sites(uow: UnitOfWork, sites: list[Site]) -> list[dict[str, Any]]:
    ctx = load_context(uow, sites=sites)
    return [site_answer(site, ctx.cities) for site in sites]


@api.get(
    "/sites",
    responses={200: SiteList, 401: ErrorOut, 422: ErrorOut},
    summary="Customers' sites with their cities",
)
@auth.api_roles(*READERS)
def get_sites(query: ByCustomerQuery) -> Any:
    u = uow()
    return json_answer(_sites(u, customers.list_sites(u, customer_id=query.customer_id)))


@api.post(
    "/sites",
    responses={201: SiteOut, **WRITE_ERRORS},
    summary="Add a site of a customer in a city (engineers, supervisors)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_site(body: SiteBody) -> Any:
    actor = auth.api_actor()

    def work(u: UnitOfWork) -> tuple[Any, int]:
        site = customers.create_site(
            u,
            actor,
            body.customer_id,
            body.name,
            body.city,
            address=body.address,
            contact_name=body.contact_name,
            contact_phone=body.contact_phone,
            contact_email=body.contact_email,
        )
        return _sites(u, [site])[0], 201

    return answer_once(work)


@api.patch(
    "/sites/<int:id>",
    responses={200: SiteOut, **WRITE_ERRORS, 409: HeldConflictOut},
    summary="Change a site's name, city, address or contact (engineers, supervisors)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def patch_site(path: IdPath, body: SitePatch) -> Any:
    actor = auth.api_actor()
    u = uow()
    with u.transaction():
        site = customers.update_site(u, actor, path.id, **_given(body))
        answer = _sites(u, [site])[0]
    return json_answer(answer)


@api.get(
    "/contracts",
    responses={200: ContractList, 401: ErrorOut, 422: ErrorOut},
    summary="Service contracts: coverage, dates and the services they include",
)
@auth.api_roles(*READERS)
def get_contracts(query: ByCustomerQuery) -> Any:
    found = customers.list_contracts(uow(), customer_id=query.customer_id)
    return json_answer([contract_answer(c) for c in found])


@api.post(
    "/contracts",
    responses={201: ContractOut, **WRITE_ERRORS},
    summary="Add a service contract (supervisors)",
)
@auth.api_roles(*CONTRACT_EDITORS)
def post_contract(body: ContractBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            contract_answer(
                customers.create_contract(
                    u,
                    actor,
                    body.customer_id,
                    body.number,
                    body.coverage,
                    body.starts_on,
                    body.ends_on,
                    advance_replacement=body.advance_replacement,
                    repair=body.repair,
                    loaner=body.loaner,
                )
            ),
            201,
        )
    )


@api.post(
    "/contracts/<int:id>/extend",
    responses={200: ContractOut, **WRITE_ERRORS},
    summary="Renew a contract on the same terms to a later end date (supervisors)",
)
@auth.api_roles(*CONTRACT_EDITORS)
def post_contract_extension(path: IdPath, body: ContractExtendBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (contract_answer(customers.extend_contract(u, actor, path.id, body.ends_on)), 200)
    )


@api.post(
    "/contracts/<int:id>/continue",
    responses={201: ContinuationOut, **WRITE_ERRORS},
    summary="Renew a contract with a new one continuing it; its units move to the new one "
    "(supervisors)",
)
@auth.api_roles(*CONTRACT_EDITORS)
def post_contract_continuation(path: IdPath, body: ContractContinueBody) -> Any:
    actor = auth.api_actor()

    def work(u: UnitOfWork) -> tuple[Any, int]:
        done = customers.continue_contract(
            u,
            actor,
            path.id,
            body.number,
            body.ends_on,
            starts_on=body.starts_on,
            coverage=body.coverage,
            advance_replacement=body.advance_replacement,
            repair=body.repair,
            loaner=body.loaner,
        )
        answer = ContinuationOut(
            contract=contract_answer(done.contract),
            previous=contract_answer(done.previous),
            units_moved=done.units_moved,
        )
        return answer.model_dump(), 201

    return answer_once(work)


def _unit(unit: InstalledUnit, site: Site, customer: Customer, city: City) -> dict[str, Any]:
    return {
        "serial": unit.serial,
        "part_number": unit.part_number,
        "site_id": unit.site_id,
        "site_name": site.name,
        "customer": customer_ref(customer),
        "city": city_answer(city),
        "contract_id": unit.contract_id,
        "shipped_on": unit.shipped_on,
        "warranty_end": unit.warranty_end,
        "phase": unit.phase,
        "active": unit.active,
    }


@read_only
def _units(uow: UnitOfWork, units: list[InstalledUnit]) -> list[dict[str, Any]]:
    sites = by_id(uow, Site, [unit.site_id for unit in units])
    ctx = load_context(uow, sites=sites.values())
    return [
        InstalledUnitOut.model_validate(
            _unit(
                unit,
                ctx.sites[unit.site_id],
                ctx.customers[ctx.sites[unit.site_id].customer_id],
                ctx.cities[ctx.sites[unit.site_id].city_id],
            )
        ).model_dump()
        for unit in units
    ]


@api.get(
    "/installed-units",
    responses={200: InstalledUnitList, 401: ErrorOut, 422: ErrorOut},
    summary="The installed base, by customer, site, or the start of the serial (q)",
)
@auth.api_roles(*READERS)
def get_installed_units(query: InstalledUnitsQuery) -> Any:
    u = uow()
    if query.q:
        # The search also matches part of the customer's name; it is narrowed by
        # customer and site here, so it reads more rows than it answers.
        found = [
            view.unit
            for view in customers.search_installed_units(u, query.q, limit=1000)
            if (query.customer_id is None or view.customer.id == query.customer_id)
            and (query.site_id is None or view.site.id == query.site_id)
        ][: query.limit]
    else:
        found = customers.list_installed_units(
            u, site_id=query.site_id, customer_id=query.customer_id, limit=query.limit
        )
    return json_answer(_units(u, found))


@api.post(
    "/installed-units",
    responses={201: InstalledUnitOut, **WRITE_ERRORS},
    summary="Record a unit installed at a customer's site (engineers, supervisors)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_installed_unit(body: InstalledUnitBody) -> Any:
    actor = auth.api_actor()

    def work(u: UnitOfWork) -> tuple[Any, int]:
        unit = customers.create_installed_unit(
            u,
            actor,
            body.serial,
            body.part_number,
            body.site_id,
            body.shipped_on,
            body.warranty_end,
            phase=body.phase,
            contract_id=body.contract_id,
        )
        return _units(u, [unit])[0], 201

    return answer_once(work)


@read_only
def _unit_detail(uow: UnitOfWork, serial: str, fault_level: str | None) -> dict[str, Any]:
    found = customers.find_installed_unit(uow, serial)
    today = clock.local(clock.now()).date()
    body = _unit(found.unit, found.site, found.customer, found.city)
    body["entitlement"] = {
        kind.value: entitlement_rules.decide(
            uow, found.customer.id, found.unit, kind, today
        ).as_dict()
        for kind in Kind
    }
    body["open_rma"] = uow.session.scalar(
        select(Rma.number).where(Rma.serial == found.unit.serial, Rma.status.in_(OPEN_STATUSES))
    )
    body["replacement_preview"] = None
    if fault_level is not None:
        decision, options = allocation.preview(
            uow, found.unit.part_number, found.city.name, fault_level
        )
        body["replacement_preview"] = {
            "fault_level": fault_level,
            "due": decision.due,
            "depot": decision.depot,
            "part_number": options.part_at.get(decision.depot) if decision.depot else None,
            "service": decision.service,
            "ships_at": decision.ships_at,
            "promised_delivery": decision.promised_delivery,
            "cost": decision.cost,
            "at_risk": decision.at_risk,
            "backorder": decision.backorder,
            "alternatives": decision_alternatives(decision, options.part_at),
        }
    return InstalledUnitDetailOut.model_validate(body).model_dump()


@api.get(
    "/installed-units/<serial>",
    responses={200: InstalledUnitDetailOut, **READ_ERRORS},
    summary="An installed unit with its entitlement for each kind of RMA today",
)
@auth.api_roles(*READERS)
def get_installed_unit(path: SerialPath, query: InstalledUnitQuery) -> Any:
    return json_answer(_unit_detail(uow(), path.serial, query.fault_level))


@api.post(
    "/installed-units/<serial>/phase",
    responses={200: InstalledUnitOut, **WRITE_ERRORS, 409: PhaseConflictOut},
    summary="Move a unit on to a later phase: acceptance, installation, trial_run, "
    "in_warranty, out_of_warranty (engineers, supervisors)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_unit_phase(path: SerialPath, body: PhaseBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (_units(u, [customers.change_phase(u, actor, path.serial, body.phase)])[0], 200)
    )


@api.post(
    "/installed-units/<serial>/decommission",
    responses={200: InstalledUnitOut, **WRITE_ERRORS, 409: HeldConflictOut},
    summary="Take a unit out of the installed base; refused while an open RMA holds it "
    "(engineers, supervisors)",
)
@auth.api_roles(*CUSTOMER_EDITORS)
def post_unit_decommission(path: SerialPath) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (_units(u, [customers.decommission(u, actor, path.serial)])[0], 200)
    )
