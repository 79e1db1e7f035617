"""``spares simulate``: replay days of demand against a set of targets.

    spares simulate --targets optimized|current|FILE [--days 365] [--seed 0]
        [--format json|csv] [--history] [--repair-loop]

prints ``{"within_window", "cases", "by_fault_level": {...}, "by_city": {...}}`` (JSON,
shares between 0 and 1, null where there were no requests) or CSV rows of scope
(overall, fault_level, city), key, cases, within and within_window. FILE is a CSV of
``part_number,depot,target``. ``--history`` replays the real RMA history of the last
``--days`` days instead of sampling; ``--repair-loop`` resupplies through the repair
loop (the defective units' yield and turnaround) instead of the network's lead time.
Bad input exits 2 with one line on stderr.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from core.cli import domain_errors
from core.errors import Invalid
from core.web import uow
from planning.service import simulation

FORMATS = ("json", "csv")
CSV_COLUMNS = ("scope", "key", "cases", "within", "within_window")


def _whole(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise Invalid(f"--{name} must be a whole number, not {value!r}", field=name) from None


@click.command("simulate")
@with_appcontext
@click.option(
    "--targets",
    "targets",
    default=simulation.CURRENT,
    show_default=True,
    help="optimized (the proposal at goal 0.95, 24 h), current, or a CSV file "
    "part_number,depot,target.",
)
@click.option("--days", default="365", show_default=True, help="Days of demand, 1 to 3650.")
@click.option("--seed", default="0", show_default=True, help="Seed of the sampled demand.")
@click.option("--format", "fmt", default="json", show_default=True, help="json or csv.")
@click.option(
    "--history", is_flag=True, help="Replay the RMA history of the last --days days instead."
)
@click.option(
    "--repair-loop",
    is_flag=True,
    help="Resupply through the repair loop (returns, yield, no fault found, turnaround).",
)
@domain_errors
def simulate_command(
    targets: str, days: str, seed: str, fmt: str, history: bool, repair_loop: bool
) -> None:
    """Simulate replacement demand against targets: the share within 24 hours."""
    if fmt not in FORMATS:
        raise Invalid(f"--format must be json or csv, not {fmt!r}", field="format")
    day_count, seed_value = _whole(days, "days"), _whole(seed, "seed")
    targets_file = None
    if targets not in (simulation.CURRENT, simulation.OPTIMIZED):
        path = Path(targets)
        if not path.is_file():
            raise Invalid(
                f"--targets must be optimized, current or a CSV file; no file {targets!r}",
                field="targets",
            )
        try:
            targets_file = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise Invalid(f"cannot read {targets}: {error}", field="targets") from None
    run = simulation.run_simulation(
        uow(),
        targets,
        days=day_count,
        seed=seed_value,
        history=history,
        targets_file=targets_file,
        with_repair_loop=repair_loop,
    )
    if fmt == "json":
        click.echo(json.dumps(run.result.summary(), ensure_ascii=False, indent=2))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(simulation.as_rows(run.result))
