"""The steps of a case, posted from its page, the pick list, the returns page or
the escalations page; a refused step shows the page again with the error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import flash, redirect, request, url_for

from core import auth, clock
from core.db import UnitOfWork
from core.errors import DomainError, Invalid, NotFound
from core.i18n import gettext
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
    bool_arg,
    current_actor,
)
from rma.views.desk import pick_page, returns_page
from rma.views.escalations import approvals_page, escalations_page

# --- actions --------------------------------------------------------------------------------


def _text(form: Mapping[str, str], name: str, label: str) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > MAX_FIELD:
        raise Invalid(
            gettext("%(field)s: at most %(count)s characters", field=label, count=MAX_FIELD),
            field=name,
        )
    return value


def _rating(raw: str | None) -> int:
    value = (raw or "").strip()
    if value not in ("1", "2", "3", "4", "5"):
        raise Invalid(
            gettext("Rating: the customer's rating of the service, 1 to 5"), field="rating"
        )
    return int(value)


def _depot_of(actor: auth.Actor, form: Mapping[str, str]) -> str:
    """Staff receive into their own depot; administrators name one."""
    depot = (form.get("depot") or actor.depot_code or "").strip().upper()
    if not depot:
        raise Invalid(gettext("Depot: where did the unit arrive?"), field="depot")
    return depot


def _do_allocate(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    done = lifecycle.allocate_again(uow(), actor, number)
    if done.status == "allocated":
        return gettext("%(rma)s allocated to %(depot)s.", rma=done.number, depot=done.depot_code)
    return gettext("%(rma)s: still no depot has the part in stock (backorder).", rma=done.number)


def _charge(form: Mapping[str, str]) -> Decimal | None:
    """The charge the supervisor saw with the approval form (None when not sent)."""
    raw = (form.get("confirmed_charge") or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise Invalid(gettext("The price shown is not an amount: open the case again.")) from None
    return amount if amount.is_finite() else None


def _do_approve(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    if not bool_arg(form, "confirm"):
        raise Invalid(
            gettext(
                "Confirm the price: tick the box once the customer accepts the charge, then "
                "approve."
            ),
            field="confirm",
        )
    done = lifecycle.approve(
        uow(),
        actor,
        number,
        comment=_text(form, "comment", gettext("Comment")),
        confirmed_charge=_charge(form),
    )
    if done.status == Status.ALLOCATED:
        return gettext(
            "%(rma)s approved and allocated to %(depot)s.", rma=done.number, depot=done.depot_code
        )
    if done.backorder:
        return gettext(
            "%(rma)s approved; no depot has the part in stock (backorder).", rma=done.number
        )
    return gettext("%(rma)s approved.", rma=done.number)


def _do_ship(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    serial = (form.get("serial") or "").strip()
    done = lifecycle.ship(uow(), actor, number, serial or None)
    if done.shipped_serial:
        return gettext(
            "%(rma)s shipped from %(depot)s: unit %(serial)s is on its way to the customer.",
            rma=done.number,
            depot=done.depot_code,
            serial=done.shipped_serial,
        )
    return gettext(
        "%(rma)s shipped from %(depot)s: it is on its way to the customer.",
        rma=done.number,
        depot=done.depot_code,
    )


def _do_deliver(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    at = clock.read_optional_instant(
        form.get("delivered_at"), gettext("Delivered at"), "delivered_at"
    )
    done = lifecycle.deliver(uow(), actor, number, at)
    assert done.delivered_at is not None
    met = done.due_replacement is None or done.delivered_at <= done.due_replacement
    when = f"{clock.local(done.delivered_at):%Y-%m-%d %H:%M}"
    if met:
        return gettext(
            "%(rma)s delivered %(when)s — within the 24-hour promise.", rma=done.number, when=when
        )
    return gettext(
        "%(rma)s delivered %(when)s — after the 24-hour promise.", rma=done.number, when=when
    )


def _do_receive(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.receive_defective(
        uow(),
        actor,
        number,
        depot,
        (form.get("serial") or "").strip() or None,
        form.get("finding") or None,
    )
    if done.kind == Kind.REPAIR:
        return gettext(
            "%(rma)s: the customer's unit arrived at %(depot)s for repair.",
            rma=done.number,
            depot=depot,
        )
    return gettext(
        "%(rma)s: defective unit %(serial)s received at %(depot)s.",
        rma=done.number,
        serial=done.returned_serial or "",
        depot=depot,
    )


def _repair_step(
    step: Callable[[UnitOfWork, auth.Actor, str], Rma], message: Callable[[str], str]
) -> Callable[[auth.Actor, str, Mapping[str, str]], str]:
    def run(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
        done = step(uow(), actor, number)
        return message(done.number)

    return run


def _do_loaner_back(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.loaner_back(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    return gettext(
        "%(rma)s: loaner %(serial)s back at %(depot)s (quarantine).",
        rma=done.number,
        serial=done.returned_serial or "",
        depot=depot,
    )


def _do_receive_back(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    depot = _depot_of(actor, form)
    done = return_steps.receive_replacement_back(
        uow(), actor, number, depot, (form.get("serial") or "").strip() or None
    )
    return gettext(
        "%(rma)s: unit %(serial)s back at %(depot)s (quarantine); the case is cancelled.",
        rma=done.number,
        serial=done.returned_serial or "",
        depot=depot,
    )


def _do_confirm_cause(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    cause = _text(form, "cause", gettext("Cause"))
    if not cause:
        raise Invalid(gettext("Cause: describe the confirmed cause"), field="cause")
    done = lifecycle.confirm_cause(uow(), actor, number, cause)
    return gettext("%(rma)s: cause confirmed; the escalation clock has stopped.", rma=done.number)


def _do_cancel(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    reason = _text(form, "reason", gettext("Reason"))
    if not reason:
        raise Invalid(gettext("Reason: why is the case cancelled?"), field="reason")
    done = lifecycle.cancel(uow(), actor, number, reason)
    if done.status == Status.RETURNING:
        assert done.due_defective_return is not None
        date = clock.local(done.due_defective_return).strftime("%Y-%m-%d")
        return gettext(
            "%(rma)s is cancelled and returning: unit %(serial)s is expected back by %(date)s.",
            rma=done.number,
            serial=done.shipped_serial or "",
            date=date,
        )
    return gettext("%(rma)s cancelled; anything it held was released.", rma=done.number)


def _do_close(actor: auth.Actor, number: str, form: Mapping[str, str]) -> str:
    rating = _rating(form.get("rating"))
    signed_by = _text(form, "signed_by", gettext("Signed by"))
    if not signed_by:
        raise Invalid(gettext("Signed by: the name of the customer's signer"), field="signed_by")
    done = lifecycle.close(
        uow(), actor, number, rating, _text(form, "remarks", gettext("Remarks")), signed_by
    )
    return gettext(
        "%(rma)s closed with %(signer)s's sign-off (rating %(rating)s/5).",
        rma=done.number,
        signer=done.signed_by,
        rating=done.rating,
    )


ACTIONS: dict[str, Callable[[auth.Actor, str, Mapping[str, str]], str]] = {
    "approve": _do_approve,
    "allocate": _do_allocate,
    "ship": _do_ship,
    "deliver": _do_deliver,
    "receive-defective": _do_receive,
    "start-repair": _repair_step(
        return_steps.start_repair, lambda rma: gettext("%(rma)s: repair started.", rma=rma)
    ),
    "finish-repair": _repair_step(
        return_steps.finish_repair, lambda rma: gettext("%(rma)s: repaired.", rma=rma)
    ),
    "return-repaired": _repair_step(
        return_steps.return_repaired,
        lambda rma: gettext("%(rma)s: repaired unit sent back to the customer.", rma=rma),
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
    if back == "approvals":
        return url_for(".approvals")
    return url_for(".rma", number=number)


@views.route("/rmas/<number>/<action>", methods=["POST"])
@auth.page_roles(*CASE_READERS)
def act(number: str, action: str) -> Any:
    """Apply one step to a case; refused steps show the page again with the error."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(gettext("unknown action %(action)s", action=repr(action)))
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
        if back == "approvals":
            return approvals_page(error=error, failed=failed, form=form)
        return rma_page(number, status=error.status, error=error, error_action=action, form=form)
    flash(message, "ok")
    return redirect(_back_url(back, number))
