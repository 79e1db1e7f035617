"""The e-mails a case's steps send, each in its recipients' language
(``notifications.enqueue_translated``: a user's own choice, else Simplified
Chinese): a billable case needs approval (supervisors), no depot can deliver in
time (supervisors), no depot holds the part (planners). The escalations' and the
return reminders' e-mails are written by ``escalations`` and ``chasing``.

Every message names the case by its number and ends with the path of its page.
"""

from __future__ import annotations

from datetime import datetime

from core.auth import Role
from core.db import UnitOfWork
from core.i18n import gettext, zh_first
from rma import kinds
from rma.models import Customer, Rma
from rma.service import approvals
from rma.service.notifications import addresses_of_role, enqueue_translated
from rma.service.wording import entitlement_text, local_time, money, service_label


def case_link(rma: Rma) -> str:
    """The last line of every case e-mail: where the case's page is."""
    path = "/rmas/" + rma.number
    return gettext("Open the case: %(path)s", path=path)


def ask_approval(uow: UnitOfWork, rma: Rma, customer: Customer, now: datetime) -> None:
    """Tell the supervisors a billable case waits for their approval, with its price."""
    price = approvals.quote_for(uow, rma, now)

    def compose() -> tuple[str, str]:
        subject = gettext(
            "%(rma)s: billable %(kind)s needs approval",
            rma=rma.number,
            kind=kinds.kind_label(rma.kind).lower(),  # mid-sentence (no case in Chinese)
        )
        lines = [
            gettext(
                "%(customer)s: %(part)s (%(level)s). %(why)s.",
                customer=zh_first(customer.name_zh, customer.name),
                part=rma.part_number,
                level=rma.fault_level,
                why=entitlement_text(rma.entitlement_reason),
            ),
            gettext("Price if approved now: %(charge)s CNY", charge=money(price.charge)),
            "",
            gettext("Symptom: %(symptom)s", symptom=rma.symptom),
            "",
            case_link(rma),
        ]
        return subject, "\n".join(lines) + "\n"

    enqueue_translated(
        uow, "approval_needed", addresses_of_role(uow, Role.SUPERVISOR), compose, rma=rma
    )


def tell_at_risk(uow: UnitOfWork, rma: Rma) -> None:
    """Tell the supervisors no depot can deliver a case's unit within 24 hours."""
    assert rma.promised_delivery is not None and rma.due_replacement is not None
    promised, due = rma.promised_delivery, rma.due_replacement

    def compose() -> tuple[str, str]:
        subject = gettext(
            "%(rma)s %(level)s: no depot can deliver within 24 hours",
            rma=rma.number,
            level=rma.fault_level,
        )
        body = gettext(
            "Best option: %(depot)s by %(service)s, arriving %(arrival)s (due %(due)s).",
            depot=rma.depot_code,
            service=service_label(rma.service),
            arrival=local_time(promised),
            due=local_time(due),
        )
        return subject, f"{body}\n\n{case_link(rma)}\n"

    enqueue_translated(uow, "at_risk", addresses_of_role(uow, Role.SUPERVISOR), compose, rma=rma)


def tell_backorder(uow: UnitOfWork, rma: Rma) -> None:
    """Tell the planners no depot holds a case's part (once per case)."""

    def compose() -> tuple[str, str]:
        subject = gettext(
            "%(rma)s: no stock of %(part)s in any depot", rma=rma.number, part=rma.part_number
        )
        body = gettext(
            "%(level)s %(kind)s for %(rma)s is backordered: no depot holds %(part)s or a part "
            "that supersedes it.",
            level=rma.fault_level,
            kind=kinds.kind_label(rma.kind).lower(),
            rma=rma.number,
            part=rma.part_number,
        )
        return subject, f"{body}\n\n{case_link(rma)}\n"

    enqueue_translated(
        uow,
        "backorder",
        addresses_of_role(uow, Role.PLANNER),
        compose,
        rma=rma,
        dedupe_key=f"backorder:{rma.number}",
    )


def when(value: datetime | None) -> str:
    """An instant in e-mails: Shanghai wall-clock time, saying so."""
    if value is None:
        return ""
    return gettext("%(when)s (Asia/Shanghai)", when=local_time(value))
