"""``spares targets optimize``: availability-based targets from the terminal.

    spares targets optimize [--goal 0.95] [--window-hours 24] [--c1-weight 1]
        [--class-goal 7x24=0.98 ...] [--format text|json] [--apply]

prints the proposal (predicted share within the window and inventory value of the
optimised targets, of independent per-depot base stock at the same goal and of
today's targets, then units and value per depot; ``--format json`` prints the body
of ``POST /api/v1/targets/optimize``). ``--apply`` saves the proposal as the computed
targets (planners' overrides are kept). ``--class-goal CLASS=SHARE`` (repeatable)
sets a contract coverage class's own goal (``goals_by_class`` of the API; the other
classes keep ``--goal``). Bad input exits 2 with one line on stderr.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from core import auth
from core.cli import domain_errors
from core.errors import Invalid
from core.web import uow
from optimizer.availability import DEFAULT_GOAL, DEFAULT_WINDOW_HOURS
from planning.service import availability

FORMATS = ("text", "json")


def _number(value: str, name: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise Invalid(f"--{name} must be a number, not {value!r}", field=name) from None


def _class_goals(values: tuple[str, ...]) -> dict[str, float] | None:
    """{class: goal} from ``CLASS=SHARE`` options (None when there are none)."""
    if not values:
        return None
    goals: dict[str, float] = {}
    for value in values:
        name, sep, share = value.partition("=")
        if not sep or not name.strip():
            raise Invalid(
                f"--class-goal must be CLASS=SHARE (e.g. 7x24=0.98), not {value!r}",
                field="class-goal",
            )
        goals[name.strip()] = _number(share, "class-goal")
    return goals


def _figures_line(label: str, figures: dict[str, Any]) -> str:
    share = figures["within_window"]
    within = "no demand" if share is None else f"{share:.2%}"
    return (
        f"{label:<10} {within:>9} within the window, "
        f"{figures['inventory_value']:>16,.2f} CNY, {figures['units']} units"
    )


@click.command("optimize")
@with_appcontext
@click.option(
    "--goal", default=str(DEFAULT_GOAL), show_default=True, help="Share within the window, 0-1."
)
@click.option(
    "--window-hours",
    default=f"{DEFAULT_WINDOW_HOURS:g}",
    show_default=True,
    help="Hours from approval to arrival, 1 to 240.",
)
@click.option(
    "--c1-weight",
    default="1",
    show_default=True,
    help="A C-1 replacement counts this many times toward the goal.",
)
@click.option(
    "--class-goal",
    "class_goals",
    multiple=True,
    metavar="CLASS=SHARE",
    help="A contract class's own goal, e.g. 7x24=0.98 (repeatable; others keep --goal).",
)
@click.option("--format", "fmt", default="text", show_default=True, help="text or json.")
@click.option("--apply", "apply_", is_flag=True, help="Save the proposal as the computed targets.")
@domain_errors
def optimize_command(
    goal: str,
    window_hours: str,
    c1_weight: str,
    class_goals: tuple[str, ...],
    fmt: str,
    apply_: bool,
) -> None:
    """Propose targets reaching a share of replacements within a window at the least
    inventory value; with --apply, save them (overrides are kept)."""
    if fmt not in FORMATS:
        raise Invalid(f"--format must be text or json, not {fmt!r}", field="format")
    goal_value = _number(goal, "goal")
    window_value = _number(window_hours, "window-hours")
    proposal = availability.optimize(
        uow(),
        goal_value,
        window_value,
        c1_weight=_number(c1_weight, "c1-weight"),
        goals_by_class=_class_goals(class_goals),
    )
    body = proposal.as_dict()
    if fmt == "json":
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"goal {proposal.goal:.1%} within {proposal.window_hours:g} hours, "
            f"{len(body['targets'])} (depot, part) rows"
        )
        click.echo(_figures_line("optimized", body["predicted"]))
        click.echo(_figures_line("baseline", body["baseline"]))
        click.echo(_figures_line("current", body["current"]))
        if proposal.goals_by_class is not None:
            for name, aim in proposal.goals_by_class.items():
                shares = [body[key]["by_class"].get(name) for key in ("predicted", "baseline")]
                words = ["no demand" if v is None else f"{v:.2%}" for v in shares]
                click.echo(
                    f"class {name}: goal {aim:.1%}, optimized {words[0]}, baseline {words[1]}"
                )
        if proposal.reason:
            click.echo(f"note: {proposal.reason}")
        click.echo(f"{'depot':<6} {'optimized':>10} {'baseline':>10} {'current':>10}  (units)")
        for row in body["by_depot"]:
            click.echo(
                f"{row['depot']:<6} {row['optimized_units']:>10} {row['baseline_units']:>10} "
                f"{row['current_units']:>10}"
            )
    if apply_:
        applied = availability.apply(
            uow(),
            auth.system_actor(),
            body["targets"],
            goal=proposal.goal,
            window_hours=proposal.window_hours,
        )
        click.echo(
            f"applied: {applied.rows} computed targets, {applied.units} units", err=fmt == "json"
        )
