"""The steps of a case, posted from its page, the pick list, the returns page or
the escalations page; a refused step shows the page again with the error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import flash, redirect, request, url_for

from core import auth, clock
from core.db import UnitOfWork
from core.errors import DomainError, Invalid, NotFound
from core.web import uow
from rma import kinds as kind_rules
from rma.models import Kind, Rma, Status
from rma.service import lifecycle
from rma.service import returns as return_steps
from rma.views import views
from rma.views.cases import rma_page
from rma.views.common import (
    BACK_PAGES,
    CASE_READERS,
    MAX_FIELD,
    current_actor,
)
from rma.views.desk import pick_page, returns_page
from rma.views.escalations import escalations_page

# --- actions --------------------------------------------------------------------------------


def _text(form: Mapping[str, str], name: str, label: str) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > MAX_FIELD:
        raise Invalid(f"{label}: at most {MAX_FIELD} characters", field=name)
    return value


def _local_instant(raw: str | None, label: str, field: str) -> datetime | None:
    """A ``datetime-local`` field (Shanghai wall-clock time) as an aware instant."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{label}: {value!r} is not a date and time", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.SHANGHAI)
    return clock.as_utc(parsed)


def _rating(raw: str | None) -> int:
    value = (raw or "").strip()
    if value not in ("1", "2", "3", "4", "5"):
        raise Invalid("Rating: the customer's rating of the service, 1 to 5", field="rating")
    return int(value)


def _depot_of(actor: auth.Actor, form: Mapping[str, str]) -> str:
    """Staff receive into their own depot; administrators name one."""
    depot = (form.get("depot") or actor.depot_code or "").strip().upper()
    if not depot:
        raise Invalid("Depot: where did the unit arrive?", field="depot")
    return depot


def _do_allocate(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    done = lifecycle.allocate_again(uow(), actor, number)
    if done.status == "allocated":
        return f"{done.number} allocated to {done.depot_code}."
    return f"{done.number}: still no depot has the part in stock (backorder)."


def _do_approve(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    done = lifecycle.approve(uow(), actor, number)
    if done.status == Status.ALLOCATED:
        return f"{done.number} approved and allocated to {done.depot_code}."
    if done.backorder:
        return f"{done.number} approved; no depot has the part in stock (backorder)."
    return f"{done.number} approved."


def _do_ship(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    serial = (form.get("serial") or "").strip()
    done = lifecycle.ship(uow(), actor, number, serial or None)
    unit_text = f" unit {done.shipped_serial}" if done.shipped_serial else ""
    return (
        f"{done.number} shipped from {done.depot_code}:{unit_text} is on its way to the customer."
    )


def _do_deliver(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    at = _local_instant(form.get("delivered_at"), "Delivered at", "delivered_at")
    done = lifecycle.deliver(uow(), actor, number, at)
    assert done.delivered_at is not None
    met = done.due_replacement is None or done.delivered_at <= done.due_replacement
    return f"{done.number} delivered {clock.local(done.delivered_at):%Y-%m-%d %H:%M}" + (
        " — within the 24-hour promise." if met else " — after the 24-hour promise."
    )


def _do_receive(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.receive_defective(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    if done.kind == Kind.REPAIR:
        return f"{done.number}: the customer's unit arrived at {depot} for repair."
    return f"{done.number}: defective unit {done.returned_serial or ''} received at {depot}."


def _repair_step(
    step: Callable[[UnitOfWork, auth.Actor, str], Rma], message: str
) -> Callable[[auth.Actor, str, Mapping[str, str]], str]:
    def run(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
        done = step(uow(), actor, number)
        return f"{done.number}: {message}."

    return run


def _do_loaner_back(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.loaner_back(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    return f"{done.number}: loaner {done.returned_serial or ''} back at {depot} (quarantine)."


def _do_receive_back(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.receive_replacement_back(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    return (
        f"{done.number}: unit {done.returned_serial or ''} back at {depot} (quarantine); "
        "the case is cancelled."
    )


def _do_confirm_cause(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    cause = _text(form, "cause", "Cause")
    if not cause:
        raise Invalid("Cause: describe the confirmed cause", field="cause")
    done = lifecycle.confirm_cause(uow(), actor, number, cause)
    return f"{done.number}: cause confirmed; the escalation clock has stopped."


def _do_cancel(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    reason = _text(form, "reason", "Reason")
    if not reason:
        raise Invalid("Reason: why is the case cancelled?", field="reason")
    done = lifecycle.cancel(uow(), actor, number, reason)
    if done.status == Status.RETURNING:
        assert done.due_defective_return is not None
        return (
            f"{done.number} is cancelled and returning: unit {done.shipped_serial or ''} is "
            f"expected back by {clock.local(done.due_defective_return):%Y-%m-%d}."
        )
    return f"{done.number} cancelled; anything it held was released."


def _do_close(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    rating = _rating(form.get("rating"))
    signed_by = _text(form, "signed_by", "Signed by")
    if not signed_by:
        raise Invalid("Signed by: the name of the customer's signer", field="signed_by")
    done = lifecycle.close(
        uow(), actor, number, rating, _text(form, "remarks", "Remarks"), signed_by
    )
    return f"{done.number} closed with {done.signed_by}'s sign-off (rating {done.rating}/5)."


ACTIONS: dict[str, Callable[[auth.Actor, str, Mapping[str, str]], str]] = {
    "approve": _do_approve,
    "allocate": _do_allocate,
    "ship": _do_ship,
    "deliver": _do_deliver,
    "receive-defective": _do_receive,
    "start-repair": _repair_step(return_steps.start_repair, "repair started"),
    "finish-repair": _repair_step(return_steps.finish_repair, "repaired"),
    "return-repaired": _repair_step(
        return_steps.return_repaired, "repaired unit sent back to the customer"
    ),
    "loaner-back": _do_loaner_back,
    kind_rules.RECEIVE_REPLACEMENT_BACK: _do_receive_back,
    "confirm-cause": _do_confirm_cause,
    "cancel": _do_cancel,
    "close": _do_close,
}


def _back(form: Mapping[str, str]) -> str:
    back = form.get("back") or "rma"
    return back if back in BACK_PAGES else "rma"


def _back_url(back: str, number: str) -> str:
    if back == "pick-list":
        return url_for(".pick_list")
    if back == "returns":
        return url_for(".returns")
    if back == "escalations":
        return url_for(".escalations")
    return url_for(".rma", number=number)


@views.route("/rmas/<number>/<action>", methods=["POST"])
@auth.page_roles(*CASE_READERS)
def act(number: str, action: str) -> Any:
    """Apply one step to a case; refused steps show the page again with the error."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"unknown action {action!r}")
    form = request.form
    back = _back(form)
    try:
        message = handler(current_actor(), number, form)
    except DomainError as error:
        failed = {"number": number.strip().upper(), "action": action}
        if back == "pick-list":
            return pick_page(error=error, failed=failed, form=form)
        if back == "returns":
            return returns_page(error=error, failed=failed, form=form)
        if back == "escalations":
            return escalations_page(error=error, failed=failed)
        return rma_page(number, status=error.status, error=error, error_action=action, form=form)
    flash(message, "ok")
    return redirect(_back_url(back, number))
