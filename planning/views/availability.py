"""The availability pages: targets that buy the replacement promise with the least stock.

``/availability`` takes a goal (the share of replacements arriving within the
window, e.g. 0.95) and a window (hours, 24 by default) and shows the exchange curve
(inventory value against predicted service, one point per budget step, today's
targets, the independent base stock and the optimised proposal marked), the three
sets of targets side by side per depot and per part family, and two ways to save
targets: the optimised proposal, or the targets of one point of the curve. Saving
posts the basis the page was shown and redirects with a message (so a reload saves
nothing again; a second click saves the same targets again, which changes nothing).

``/availability/simulation`` replays days of demand against today's or the optimised
targets (``planning.service.simulation``) and shows the share achieved within 24
hours overall, by fault level and by city beside the model's prediction. A year of
the demo network takes about a second, so the run happens within the request.

Planners only (and admins). Bad input shows the form again with the error and its
status (422); nothing is saved then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from markupsafe import Markup

from core import auth
from core.errors import DomainError, Invalid
from core.i18n import gettext, is_chinese, ngettext
from core.pdf import fonts
from core.svg import inline_svg
from core.web import uow
from depots.service.snapshot import network as depot_network
from inventory.labels import FAMILY_LABELS, label
from optimizer.availability import predict
from planning import charts
from planning.service import availability, availability_review, simulation
from planning.service.availability_review import OPTIMIZED_CHOICE, Review
from planning.views import PLANNER, views
from planning.views.common import actor, failed, number

TEMPLATE = "planning/availability.html"
SIMULATION_TEMPLATE = "planning/availability_simulation.html"
DEFAULT_DAYS = 365
TARGET_CHOICES = (simulation.CURRENT, simulation.OPTIMIZED)


def _settings(values: Mapping[str, str]) -> tuple[float, float]:
    """The goal (a share) and window (hours) typed in; the defaults when blank."""
    goal = number(values.get("goal"), gettext("Goal"), "goal")
    window = number(values.get("window_hours"), gettext("Window (hours)"), "window_hours")
    return (
        availability.DEFAULT_GOAL if goal is None else goal,
        availability.DEFAULT_WINDOW_HOURS if window is None else window,
    )


def plan_labels() -> dict[str, str]:
    """The three sets of targets by name, in the reader's language."""
    return {
        "current": gettext("today's targets"),
        "optimized": gettext("optimised"),
        "baseline": gettext("independent base stock"),
    }


def _curve_chart(review: Review) -> Markup:
    proposal = review.proposal
    names = plan_labels()
    marked = [
        charts.Marked(names[name], plan.inventory_value, plan.within_window)
        for name, plan in (
            ("current", proposal.current),
            ("baseline", proposal.baseline),
            ("optimized", proposal.optimized),
        )
        if not math.isnan(plan.within_window)  # no demand: nothing to mark
    ]
    drawing = charts.exchange_curve(
        [(step.inventory_value, step.within_window) for step in review.curve],
        marked,
        fonts(),
        goal=review.goal,
        window_hours=review.window_hours,
    )
    title = gettext("Exchange curve")
    return Markup(inline_svg(drawing, key="exchange-curve", title=title))


def _not_reached(review: Review) -> str | None:
    """Why the goal is out of reach, in the reader's words (the model says it in English)."""
    if review.reached:
        return None
    return gettext(
        "The goal %(goal)s cannot be reached within %(hours)s hours: at most %(best)s, because "
        "some customers have no depot that reaches them in time. The proposal gives the most "
        "service it can.",
        goal=f"{review.goal:.1%}",
        hours=f"{review.window_hours:g}",
        best="-" if review.ceiling is None else f"{review.ceiling:.1%}",
    )


def _page(values: Mapping[str, str], *, error: DomainError | None = None) -> Any:
    form = {name: values.get(name, "") for name in ("goal", "window_hours")}
    context: dict[str, Any] = {
        "form": form,
        "review": None,
        "plan_names": plan_labels(),
        "family_label": lambda code: label(FAMILY_LABELS, code),
        "depot_key": lambda code: code,
        "optimized_choice": OPTIMIZED_CHOICE,
        "simulation_days": DEFAULT_DAYS,
    }
    try:
        goal, window = _settings(values)
        review = availability_review.review(uow(), goal, window)
    except DomainError as refused:
        return failed(TEMPLATE, refused, **context)
    context.update(
        review=review,
        chart=_curve_chart(review),
        not_reached=_not_reached(review),
        form={"goal": f"{review.goal:g}", "window_hours": f"{review.window_hours:g}"},
    )
    if error is not None:
        return failed(TEMPLATE, error, **context)
    return render_template(TEMPLATE, error=None, error_field=None, **context)


@views.route("/availability")
@auth.page_roles(PLANNER)
def availability_page() -> Any:
    return _page(request.args)


@views.route("/availability/apply", methods=["POST"])
@auth.page_roles(PLANNER)
def apply_availability_targets() -> Any:
    form = request.form
    try:
        goal, window = _settings(form)
        applied = availability_review.apply_choice(
            uow(),
            actor(),
            goal=goal,
            window_hours=window,
            choice=form.get("choice", ""),
            basis=form.get("basis", ""),
        )
    except DomainError as error:
        return _page(form, error=error)
    share = "-" if applied.within_window is None else f"{applied.within_window:.1%}"
    flash(
        ngettext(
            "%(num)d target saved (%(units)s units, %(value)s CNY, predicted %(share)s "
            "within %(hours)s hours). Planners' overrides were kept.",
            "%(num)d targets saved (%(units)s units, %(value)s CNY, predicted %(share)s "
            "within %(hours)s hours). Planners' overrides were kept.",
            applied.rows,
            units=f"{applied.units:,}",
            value=f"{applied.inventory_value:,.2f}",
            share=share,
            hours=f"{window:g}",
        ),
        "ok",
    )
    return redirect(
        url_for("planning.availability_page", goal=f"{goal:g}", window_hours=f"{window:g}")
    )


# --- the simulation -----------------------------------------------------------------------


def _whole(values: Mapping[str, str], name: str, label_text: str, default: int) -> int:
    value = number(values.get(name), label_text, name, whole=True)
    return default if value is None else int(value)


def _run(values: Mapping[str, str]) -> simulation.SimulationRun:
    targets = (values.get("targets") or simulation.CURRENT).strip()
    if targets not in TARGET_CHOICES:
        raise Invalid(
            gettext("Targets: choose today's targets or the optimised ones."), field="targets"
        )
    return simulation.run_simulation(
        uow(),
        targets,
        days=_whole(values, "days", gettext("Days"), DEFAULT_DAYS),
        seed=_whole(values, "seed", gettext("Seed"), 0),
        history=values.get("history") == "1",
        with_repair_loop=values.get("repair_loop") == "1",
    )


def _level_label(level: str) -> str:
    return gettext("C-2 and C-3") if level == "other" else level


def _chinese_city_names(network_cities: tuple[str, ...]) -> dict[str, str]:
    """{the network's name of a city: its Chinese name} (the network lists the depot
    network's cities in the order of their ids)."""
    cities = depot_network(uow()).city_by_id
    ordered = [cities[city_id] for city_id in sorted(cities)]
    if len(ordered) != len(network_cities):
        return {}
    return {label: city.name_zh for label, city in zip(network_cities, ordered, strict=True)}


def _result(run: simulation.SimulationRun) -> dict[str, Any]:
    """The run's figures beside the model's prediction for the same targets."""
    result = run.result
    predicted = predict(run.network, run.base_stock)
    city_index = {city: c for c, city in enumerate(run.network.cities)}
    chinese = _chinese_city_names(run.network.cities)
    cities = sorted(result.by_city.items(), key=lambda item: (-item[1].cases, item[0]))
    city_rows = [
        {
            "city": city,
            "city_zh": chinese.get(city, ""),
            "cases": tally.cases,
            "within": tally.within,
            "simulated": tally.share,
            "predicted": _finite(float(predicted.by_city[city_index[city]]))
            if city in city_index
            else None,
        }
        for city, tally in cities
    ]
    level_rows = [
        {
            "level": _level_label(level),
            "cases": tally.cases,
            "within": tally.within,
            "simulated": tally.share,
            "predicted": _finite(predicted.by_fault_level.get(level, float("nan"))),
        }
        for level, tally in result.by_fault_level.items()
    ]
    reader_chinese = is_chinese()
    drawing = charts.simulated_by_city(
        [
            (
                f"{(row['city_zh'] if reader_chinese and row['city_zh'] else row['city'])}"
                f" ({row['cases']})",
                row["simulated"],
                row["predicted"],
            )
            for row in city_rows
            if row["cases"]
        ],
        fonts(),
    )
    return {
        "run": run,
        "result": result,
        "predicted": _finite(predicted.within_window),
        "levels": level_rows,
        "cities": city_rows,
        "chart": Markup(
            inline_svg(
                drawing, key="simulated-by-city", title=gettext("Share within the window by city")
            )
        ),
    }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value  # NaN: no demand


@views.route("/availability/simulation")
@auth.page_roles(PLANNER)
def availability_simulation() -> Any:
    values = request.args
    context: dict[str, Any] = {
        "form": {
            "targets": values.get("targets", simulation.CURRENT),
            "days": values.get("days", str(DEFAULT_DAYS)),
            "seed": values.get("seed", "0"),
            "history": values.get("history") == "1",
            "repair_loop": values.get("repair_loop") == "1",
        },
        "target_choices": {
            simulation.CURRENT: plan_labels()["current"],
            simulation.OPTIMIZED: plan_labels()["optimized"],
        },
        "outcome": None,
        "max_days": simulation.MAX_DAYS,
    }
    if not any(name in values for name in ("targets", "days", "seed")):
        return render_template(SIMULATION_TEMPLATE, error=None, error_field=None, **context)
    try:
        context["outcome"] = _result(_run(values))
    except DomainError as refused:
        return failed(SIMULATION_TEMPLATE, refused, **context)
    return render_template(SIMULATION_TEMPLATE, error=None, error_field=None, **context)
