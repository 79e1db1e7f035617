"""Terminal commands of the planners: targets, batch dispatch and rebalancing.

``spares targets compute|list``, ``spares dispatch`` and ``spares rebalance`` act
on the database as the server's operator (``core.auth.system_actor()``, who
holds administrator rights), through the same services as the API and pages.
``spares rebalance --approve-plan ID`` approves a plan saved earlier; a stale one
(its stock, transfers, targets or lanes changed since) is refused with exit 4.

``spares rebalance --stock S --targets T --lanes L --out P`` is the offline
what-if mode: it reads three CSV files, writes the plan CSV and never opens the
database (it works with ``DATABASE_URL`` pointing nowhere). Bad files exit 2
with one line per problem on stderr and write nothing. A progress bar is drawn
on stderr when it is a terminal (or with ``--progress``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from tqdm import tqdm

from core import auth, clock
from core.cli import domain_errors
from core.schemas import MAX_ID
from core.web import uow
from inventory.service import rebalancing
from inventory.service.targets import find_targets
from optimizer.offline import PlanFileError, RebalanceSummary, rebalance_files
from optimizer.targets import DEFAULT_FILL_RATE
from planning.availability_cli import optimize_command
from planning.service import demand
from planning.service.queries import per_month
from planning.simulate_cli import simulate_command
from rma.service import dispatch

FILE_OPTIONS = ("stock", "targets", "lanes", "out")
PHASE_LABELS = {
    "reading": "reading files",
    "building": "building network",
    "solving": "solving",
    "writing": "writing plan",
}


def register(app: Any) -> None:
    """Add the planners' commands to ``spares``."""
    for command in (targets_group, dispatch_command, rebalance_command, simulate_command):
        app.cli.add_command(command)


# --- targets --------------------------------------------------------------------------------


@click.group("targets", cls=AppGroup)  # AppGroup: every command runs in the app context
def targets_group() -> None:
    """Target stock per depot and part."""


targets_group.add_command(optimize_command)


@targets_group.command("compute")
@click.option(
    "--fill-rate",
    type=float,
    default=DEFAULT_FILL_RATE,
    show_default=True,
    help="Share of demand met from stock, between 0 and 1.",
)
@click.option(
    "--lead-time-days",
    type=float,
    default=demand.DEFAULT_LEAD_TIME_DAYS,
    show_default=True,
    help="Replenishment lead time in days.",
)
@click.option(
    "--window-days",
    type=int,
    default=demand.DEFAULT_WINDOW_DAYS,
    show_default=True,
    help="Days of RMA history counted as demand.",
)
@domain_errors
def targets_compute_command(fill_rate: float, lead_time_days: float, window_days: int) -> None:
    """Recompute every part's target at every depot from regional demand.

    Replaces every earlier computation: a part whose demand has gone loses its computed
    target. Planners' overrides are kept.
    """
    report = demand.compute_targets(
        uow(),
        auth.system_actor(),
        fill_rate=fill_rate,
        lead_time_days=lead_time_days,
        window_days=window_days,
    )
    click.echo(report.summary())


@targets_group.command("list")
@click.option("--depot", default=None, help="Only this depot (code, e.g. GZ).")
@click.option("--part-number", default=None, help="Only this part.")
@click.option("--all", "show_all", is_flag=True, help="Include targets of 0.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=5000, show_default=True)
@domain_errors
def targets_list_command(
    depot: str | None, part_number: str | None, show_all: bool, limit: int
) -> None:
    """Print the targets: effective, computed, override and how it was computed."""
    rows = find_targets(
        uow(), depot=depot, part_number=part_number, nonzero=not show_all, limit=limit
    )
    click.echo(
        f"{'depot':5} {'part_number':24} {'target':>6} {'computed':>8} {'override':>8} "
        f"{'demand/month':>12} {'lead':>5} {'fill':>5}  override_by"
    )
    for t in rows:
        computed = t.computed_at is not None
        click.echo(
            f"{t.depot_code:5} {t.part_number:24} {t.effective:>6} {t.computed:>8} "
            f"{'' if t.override is None else t.override:>8} "
            f"{demand_text(t.demand_per_day) if computed else '':>12} "
            f"{f'{t.lead_time_days:g}' if computed else '':>5} "
            f"{f'{t.fill_rate:.0%}' if computed else '':>5}  {t.override_by or ''}"
        )
    click.echo(f"{len(rows)} target{'' if len(rows) == 1 else 's'}", err=True)


def demand_text(per_day: float) -> str:
    """Demand per month as a plain number: two decimals, ``<0.01`` for a trickle."""
    monthly = per_month(per_day)
    if monthly == 0:
        return "0"
    return "<0.01" if monthly < 0.005 else f"{monthly:.2f}"


# --- batch dispatch -------------------------------------------------------------------------


@click.command("dispatch")
@with_appcontext
@click.option("--apply", "apply_it", is_flag=True, help="Apply the proposal printed.")
@domain_errors
def dispatch_command(apply_it: bool) -> None:
    """Propose a re-plan of every open, unshipped replacement together; with --apply,
    apply it (exit 4 if the cases or stock changed in between)."""
    actor = auth.system_actor()
    proposal = dispatch.propose(uow(), actor)
    for case in proposal.cases:
        if case.changed:
            plan = case.plan
            click.echo(
                f"{case.number} {case.fault_level}: {case.depot_before or 'backorder'} -> "
                f"{plan.depot or 'backorder'}"
                + (f" by {plan.service}, arriving {_local(plan.arrives_at)}" if plan.depot else "")
                + ("" if plan.meets_due or not plan.depot else " (at risk)")
            )
    if not apply_it:
        click.echo(proposal.summary())
        if proposal.changed:
            click.echo("not applied: run again with --apply", err=True)
        return
    report = dispatch.apply(uow(), actor, proposal.basis)
    click.echo(report.summary())


def _local(instant: Any) -> str:
    return f"{clock.local(instant):%Y-%m-%d %H:%M}" if instant else "-"


# --- rebalancing ----------------------------------------------------------------------------


class _ProgressBars:
    """One progress bar per phase of an offline run, on stderr (bytes while reading)."""

    def __init__(self) -> None:
        self._phase: str | None = None
        self._bar: Any = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            self.close()
            self._phase = phase
            units: dict[str, Any] = (
                {"unit": "B", "unit_scale": True, "unit_divisor": 1024}
                if phase == "reading"
                else {"unit": " rows" if phase == "writing" else " steps"}
            )
            self._bar = tqdm(
                total=max(total, 0),
                desc=PHASE_LABELS.get(phase, phase),
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
                **units,
            )
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(max(0, done - self._bar.n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def offline_summary(summary: RebalanceSummary) -> str:
    """The one line printed after an offline run."""
    seconds = sum(summary.seconds.values())
    return (
        f"{summary.out_path}: {summary.plan_rows} moves for {summary.parts} parts, "
        f"{summary.units_moved} units moved for {summary.total_cost} CNY; shortage "
        f"{summary.shortage_before} before, {summary.shortage_left} left ({seconds:.1f} s)"
    )


def _run_offline(files: dict[str, Path], show_progress: bool) -> None:
    bars = _ProgressBars() if show_progress else None
    try:
        summary = rebalance_files(
            files["stock"], files["targets"], files["lanes"], files["out"], progress=bars
        )
    except PlanFileError as error:
        if bars is not None:
            bars.close()
        for problem in error.problems:
            click.echo(problem, err=True)
        sys.exit(2)
    if bars is not None:
        bars.close()
    click.echo(offline_summary(summary))


def _print_approved(plan_id: int, transfer_ids: list[int]) -> None:
    ids = ", ".join(str(i) for i in transfer_ids)
    click.echo(f"plan {plan_id} approved: draft transfers {ids}")


def _run_from_database(approve: bool) -> None:
    actor = auth.system_actor()
    found = rebalancing.propose_plan(uow(), actor)
    plan = found.plan
    lanes = len({(m.from_depot, m.to_depot) for m in found.moves})
    click.echo(
        f"plan {plan.id}: {plan.units_moved} units moved for {plan.cost} CNY on {lanes} "
        f"lane{'' if lanes == 1 else 's'} ({plan.parts} parts); shortage "
        f"{plan.shortage_before} before, {plan.shortage_left} left"
    )
    click.echo(
        f"freight as charged: each lane's shipment once plus handling per unit; lane choice "
        f"{found.method}, optimality gap {100 * (found.gap or 0.0):.2f}%"
    )
    if not approve:
        click.echo(
            f"plan id: {plan.id} (proposed; review it at /rebalance/{plan.id}, approve it with "
            f"spares rebalance --approve-plan {plan.id})"
        )
        return
    if not found.moves:
        # Nothing to draft: leave no proposed plan behind for someone to approve later.
        rebalancing.discard_plan(uow(), actor, plan.id)
        click.echo(f"plan {plan.id} moves nothing; discarded")
        return
    # Refused (exit 4) when stock, transfers, targets or lanes changed in between.
    approved = rebalancing.approve_plan(uow(), actor, plan.id)
    _print_approved(plan.id, approved.transfer_ids)


@click.command("rebalance")
@with_appcontext  # only the application: the offline mode never opens the database
@click.option(
    "--stock",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Offline: depot,part_number,available.",
)
@click.option(
    "--targets",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Offline: depot,part_number,target (missing rows mean 0).",
)
@click.option(
    "--lanes",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Offline: from_depot,to_depot,hours,unit_cost (missing lanes cannot be used).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Offline: the plan CSV to write.",
)
@click.option("--approve", is_flag=True, help="Approve the new plan at once (database mode).")
@click.option(
    "--approve-plan",
    "plan_id",
    type=click.IntRange(1, MAX_ID),
    metavar="ID",
    help="Approve a saved, reviewed plan instead of making one; refused (exit 4) when it is "
    "decided or stale.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (offline mode); default: when stderr is a terminal.",
)
@domain_errors
def rebalance_command(
    stock: Path | None,
    targets: Path | None,
    lanes: Path | None,
    out: Path | None,
    approve: bool,
    plan_id: int | None,
    progress: bool | None,
) -> None:
    """Plan transfers between depots toward their targets.

    Without file options: plan from the database, save the plan and print its id
    (--approve turns it into draft transfers at once). --approve-plan ID approves a
    plan saved earlier, unless stock, transfers, targets or lanes have changed since
    it was made (it is stale: make a new plan). With --stock, --targets, --lanes and
    --out (all four): the offline what-if mode, files only.
    """
    given = {"stock": stock, "targets": targets, "lanes": lanes, "out": out}
    files = {name: path for name, path in given.items() if path is not None}
    if files:
        missing = [f"--{name}" for name in FILE_OPTIONS if name not in files]
        if missing:
            raise click.UsageError(
                f"the offline mode needs --stock, --targets, --lanes and --out together; "
                f"missing {', '.join(missing)}"
            )
        if approve or plan_id is not None:
            raise click.UsageError("approving is for a plan from the database, not from files")
        show = progress if progress is not None else sys.stderr.isatty()
        _run_offline(files, show)
        return
    if plan_id is not None:
        if approve:
            raise click.UsageError(
                "--approve makes a new plan and --approve-plan approves a saved one: give one"
            )
        approved = rebalancing.approve_plan(uow(), auth.system_actor(), plan_id)
        _print_approved(plan_id, approved.transfer_ids)
        return
    _run_from_database(approve)
