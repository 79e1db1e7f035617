"""The targets page: every target beside the available stock, a page at a time (sorted
and filtered on the server, totals of the whole selection), an override per row, and
the form that recomputes them all from demand."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from core import auth
from core.errors import DomainError, Invalid
from core.i18n import gettext
from core.pagination import PageRequest
from core.web import uow
from inventory.labels import FAMILY_LABELS, label
from inventory.service import targets
from planning.service import demand, queries
from planning.service.queries import TargetFilters
from planning.views import PLANNER, views
from planning.views.common import actor, depots, failed, number, part_numbers

TEMPLATE = "planning/targets.html"
# What a form posted from the list keeps of it, to come back to the same view.
LIST_ARGS = ("depot", "part_number", "family", "all", "sort", "order", "page", "per_page")


def read_filters(values: Mapping[str, str]) -> TargetFilters:
    """The list's filters from query arguments (``all=1``: targets of 0 too)."""
    return TargetFilters(
        depot=(values.get("depot") or "").strip().upper() or None,
        part_number=(values.get("part_number") or "").strip().upper() or None,
        family=(values.get("family") or "").strip() or None,
        nonzero=values.get("all") != "1",
    )


def _page_request(values: Mapping[str, str]) -> PageRequest:
    return PageRequest.from_args(
        values, sorts=queries.TARGET_SORTS, default_sort=queries.TARGET_DEFAULT_SORT
    )


def _list_args(form: Mapping[str, str]) -> dict[str, str]:
    """The list view a form came from (its ``list_*`` fields), to redirect back to."""
    return {name: form[f"list_{name}"] for name in LIST_ARGS if form.get(f"list_{name}")}


def _targets_page(
    values: Mapping[str, str],
    *,
    error: DomainError | None = None,
    form: Mapping[str, str] | None = None,
) -> Any:
    filters = read_filters(values)
    page_request = _page_request(values)
    context: dict[str, Any] = {
        "filters": filters,
        "list_args": {name: values[name] for name in LIST_ARGS if values.get(name)},
        "depots": depots(),
        "families": queries.part_families(uow()),
        "family_label": lambda code: label(FAMILY_LABELS, code),
        "part_numbers": part_numbers(),
        "form": form or {},
        "defaults": {
            "fill_rate": 95,
            "lead_time_days": demand.DEFAULT_LEAD_TIME_DAYS,
            "window_days": demand.DEFAULT_WINDOW_DAYS,
        },
        "max_target": targets.MAX_TARGET,
        "listing": None,
    }
    try:
        context["listing"] = queries.target_listing(uow(), filters, page_request)
    except DomainError as listing_error:
        # A filter naming an unknown depot, part or family: the page, empty, with the reason.
        return failed(TEMPLATE, listing_error, **context)
    if error is not None:
        return failed(TEMPLATE, error, **context)
    return render_template(TEMPLATE, error=None, error_field=None, **context)


@views.route("/targets")
@auth.page_roles(PLANNER)
def targets_page() -> Any:
    return _targets_page(request.args)


def _override_value(raw: str | None) -> int | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{1,9}", value):
        raise Invalid(
            gettext(
                "Override: %(value)r is not a whole number of units (leave it blank to use "
                "the computed target)",
                value=value,
            ),
            field="override",
        )
    return int(value)


@views.route("/targets/override", methods=["POST"])
@auth.page_roles(PLANNER)
def set_target_override() -> Any:
    form = request.form
    back = _list_args(form)
    try:
        saved = targets.set_override(
            uow(),
            actor(),
            form.get("depot", ""),
            form.get("part_number", ""),
            _override_value(form.get("override")),
        )
    except DomainError as error:
        return _targets_page(back, error=error, form=form)
    if saved.override is None:
        message = gettext(
            "%(part)s at %(depot)s: override removed; the target is the computed %(computed)s.",
            part=saved.part_number,
            depot=saved.depot_code,
            computed=saved.computed,
        )
    else:
        message = gettext(
            "%(part)s at %(depot)s: target set to %(target)s.",
            part=saved.part_number,
            depot=saved.depot_code,
            target=saved.override,
        )
    flash(message, "ok")
    return redirect(url_for("planning.targets_page", **back))


def _compute_options(form: Mapping[str, str]) -> dict[str, Any]:
    """The recompute form's settings; ``Invalid`` naming the field that is wrong."""
    options: dict[str, Any] = {}
    fill_percent = number(form.get("fill_rate"), gettext("Fill rate"), "fill_rate")
    if fill_percent is not None:
        if not 0 < fill_percent < 100:
            raise Invalid(
                gettext("Fill rate: a percentage above 0 and below 100"), field="fill_rate"
            )
        options["fill_rate"] = fill_percent / 100
    lead_time = number(form.get("lead_time_days"), gettext("Lead time"), "lead_time_days")
    if lead_time is not None:
        options["lead_time_days"] = lead_time
    window = number(form.get("window_days"), gettext("Demand window"), "window_days", whole=True)
    if window is not None:
        options["window_days"] = int(window)
    return options


@views.route("/targets/compute", methods=["POST"])
@auth.page_roles(PLANNER)
def compute_targets() -> Any:
    form = request.form
    back = _list_args(form)
    try:
        report = demand.compute_targets(uow(), actor(), **_compute_options(form))
    except DomainError as error:
        return _targets_page(back, error=error, form=form)
    flash(gettext("Targets recomputed: %(summary)s.", summary=report.summary()), "ok")
    return redirect(url_for("planning.targets_page", **back))
