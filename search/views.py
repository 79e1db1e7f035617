"""Pages of the search: the results of the header's box (``/search?q=``), one kind of
them page by page (``&kind=``), and what is at a city, a customer or a site.

Names are shown Chinese first on a Chinese page (``core.i18n.zh_first``). Every
signed-in role may search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import pgettext

from core import auth
from core.errors import Invalid, NotFound
from core.i18n import gettext, lazy_gettext, zh_first
from core.pagination import DEFAULT_PER_PAGE, PageRequest
from core.web import uow
from search.links import url_of
from search.service import find
from search.service.find import KINDS, MAX_QUERY, SORT, Group, Hit, Name

# template_folder "templates": the header's box is found as "_search_box.html".
views = Blueprint("search", __name__, template_folder="templates")

HEADINGS: dict[str, Any] = {
    "rma": lazy_gettext("RMAs"),
    "unit": lazy_gettext("Stock units"),
    "installed_unit": lazy_gettext("Installed units"),
    "customer": lazy_gettext("Customers"),
    "site": lazy_gettext("Sites"),
    "city": lazy_gettext("Cities"),
    "part": lazy_gettext("Parts"),
}
# At a place, its cases are its open ones.
PLACE_HEADINGS: dict[str, Any] = {**HEADINGS, "rma": lazy_gettext("Open cases")}
PLACE_TITLES: dict[str, Any] = {
    "city": lazy_gettext("City"),
    "customer": lazy_gettext("Customer"),
    "site": lazy_gettext("Site"),
}


def _state_label(category: str, code: str) -> str:
    """An RMA status, a unit's location or condition in the reader's language.

    Translated with a context (``pgettext``) because the catalogues of all packages
    are merged: "received" or "in repair" may mean something else on another page.
    """
    labels = {
        "status": {
            "requested": pgettext("rma status", "requested"),
            "approved": pgettext("rma status", "approved"),
            "allocated": pgettext("rma status", "allocated"),
            "shipped": pgettext("rma status", "shipped"),
            "delivered": pgettext("rma status", "delivered"),
            "defective_received": pgettext("rma status", "defective received"),
            "received": pgettext("rma status", "received"),
            "in_repair": pgettext("rma status", "in repair"),
            "repaired": pgettext("rma status", "repaired"),
            "returned": pgettext("rma status", "returned"),
            "back": pgettext("rma status", "back"),
            "returning": pgettext("rma status", "returning"),
            "closed": pgettext("rma status", "closed"),
            "cancelled": pgettext("rma status", "cancelled"),
        },
        "location": {
            "depot": pgettext("unit location", "at a depot"),
            "in_transit": pgettext("unit location", "in transit"),
            "customer": pgettext("unit location", "at a customer"),
            "repair": pgettext("unit location", "at repair"),
            "scrapped": pgettext("unit location", "scrapped"),
            "missing": pgettext("unit location", "missing"),
            "sent_back": pgettext("unit location", "sent back"),
        },
        "condition": {
            "good": pgettext("unit condition", "good"),
            "defective": pgettext("unit condition", "defective"),
            "in_repair": pgettext("unit condition", "in repair"),
            "quarantine": pgettext("unit condition", "quarantine"),
        },
    }
    return labels.get(category, {}).get(code, code)


@dataclass(frozen=True)
class ShownHit:
    """A hit as a page shows it: names in the reader's order, states translated."""

    title: str
    details: list[str]
    states: list[tuple[str, str]]  # (code, label)
    url: str


def _name(name: Name) -> str:
    return zh_first(name.zh, name.en)


def _shown(hit: Hit) -> ShownHit:
    return ShownHit(
        title=_name(hit.title),
        details=[_name(name) for name in hit.details if name.en or name.zh],
        states=[(code, _state_label(category, code)) for category, code in hit.states],
        url=url_of(hit.link),
    )


@dataclass(frozen=True)
class ShownGroup:
    kind: str
    heading: str
    group: Group
    hits: list[ShownHit]


def _shown_groups(groups: list[Group], headings: dict[str, Any]) -> list[ShownGroup]:
    return [
        ShownGroup(g.kind, str(headings[g.kind]), g, [_shown(hit) for hit in g.hits])
        for g in groups
    ]


def _one_kind(allowed: tuple[str, ...]) -> tuple[str | None, PageRequest | None]:
    """The kind asked for (``kind=``) and its page; an unknown kind shows them all,
    as a stale or hand-edited link should."""
    kind = request.args.get("kind")
    if kind not in allowed:
        return None, None
    paging = PageRequest.from_args(
        request.args, sorts=(SORT,), default_sort=SORT, per_page=DEFAULT_PER_PAGE
    )
    return kind, paging


def _query_problem(error: Invalid) -> str:
    """Why the query cannot be searched, in the reader's language."""
    if error.extra.get("reason") == "too_long":
        return gettext("Type at most %(count)s characters.", count=MAX_QUERY)
    return gettext("The search cannot contain control characters.")


@views.route("/search")
@auth.page_roles()
def results() -> Any:
    """What the query ``q`` finds, grouped by kind; with ``kind``, that kind page by page."""
    text = request.args.get("q", "").strip()
    kind, paging = _one_kind(KINDS)
    found, error, status = None, None, 200
    if text:
        try:
            found = find.find(uow(), text, kind=kind, paging=paging)
        except Invalid as refused:
            error, status = _query_problem(refused), 422
    return render_template(
        "search/results.html",
        q=found.text if found else text,
        kind=kind,
        found=found,
        groups=_shown_groups(found.groups, HEADINGS) if found else [],
        error=error,
    ), status


def _place_page(place: str, ident: int) -> Any:
    kind, paging = _one_kind(find.PLACE_KINDS[place])
    try:
        found = find.around(uow(), place, ident, kind=kind, paging=paging)
    except NotFound:
        abort(404)
    return render_template(
        "search/place.html",
        place=place,
        place_title=PLACE_TITLES[place],
        head=_shown(found.hit),
        groups=_shown_groups(found.groups, PLACE_HEADINGS),
        kind=kind,
        ident=ident,
    )


@views.route("/search/cities/<int:ident>")
@auth.page_roles()
def city(ident: int) -> Any:
    """A city: the customers with a site there, its sites and its open cases."""
    return _place_page("city", ident)


@views.route("/search/customers/<int:ident>")
@auth.page_roles()
def customer(ident: int) -> Any:
    """A customer: its sites, its open cases and its installed units."""
    return _place_page("customer", ident)


@views.route("/search/sites/<int:ident>")
@auth.page_roles()
def site(ident: int) -> Any:
    """A site: its open cases and the units installed there."""
    return _place_page("site", ident)
