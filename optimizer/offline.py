"""The offline what-if rebalancing: three CSV files in, one plan CSV out.

``rebalance_files(stock_csv, targets_csv, lanes_csv, out_csv)`` is the core of the
``spares rebalance`` command (the click command wraps it). It reads CSV files
(UTF-8, an optional byte-order mark, comma-separated,
one header row; extra columns are ignored, surrounding spaces are trimmed):

* ``stock.csv``: ``depot,part_number,available`` - good units on hand; a missing
  row means 0.
* ``targets.csv``: ``depot,part_number,target`` - a missing row means target 0.
* ``lanes.csv``: ``from_depot,to_depot,hours,unit_cost`` - CNY per unit; a missing
  lane cannot be used.

and writes ``part_number,from_depot,to_depot,qty,unit_cost,cost``, one row per
used lane and part, whole units, CNY with two decimals, in the order parts first
appear (stock.csv, then targets.csv), then source and destination depot in the
order BJ SH GZ CD WH XA SY JN. The plan itself is ``optimizer.rebalance``'s.

All or nothing
--------------
Every file is checked completely before anything is solved or written. Any
problem - a missing column, a number that is negative, not whole or not a number,
a depot that is not one of the eight (BJ SH GZ CD WH XA SY JN), a duplicate row, a
lane from a depot to itself, a file that cannot be read, an output path that cannot
be written or would overwrite an input - raises ``PlanFileError``
whose ``problems`` list has one readable line per problem, e.g.
``stock.csv line 7: available must be a whole number >= 0, got '-3'`` (at most
``MAX_PROBLEMS`` lines, then a count of the rest). Then no output is written. The
plan is written to a temporary file next to ``out_csv`` and renamed over it only
when complete, so a failure part-way never leaves a partial plan behind.

Speed
-----
1,000,000 parts x 8 depots is up to 16 million input rows. A stock or targets file
that is entirely good is read by Apache Arrow (``optimizer.offline_columns``: the
C++ CSV parser and whole-column checks, no Python object per row) and the plan is
written by Arrow when no part number needs quoting. Whenever the Arrow path is not
sure the file is good, the file is read again with the standard ``csv`` module,
which names each bad line, so the answer (a plan, or the problems with their line
numbers) is the same either way; tests compare the two byte for byte. In that
careful path columns are checked with C-speed builtins (``str.isdigit``, ``set``,
``map(int)``, ``dict.fromkeys``) and only when that fast check fails does a per-row
pass run to name each bad line; line numbers are the physical lines ``csv`` reports,
so quoted values spanning lines are counted right. The cyclic garbage collector is
paused for the run: otherwise it repeatedly walks the millions of row lists being
built (they hold no cycles), which made reading three to five times slower.

Progress
--------
``progress(phase, done, total)`` is called for a terminal progress bar: "reading"
(bytes of the three files), "building" and "solving" (0/1 then 1/1), "writing"
(plan rows). Each phase's wall time is returned in the summary.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from optimizer.offline_columns import ColumnCells, number_parts, read_cells, write_plan_rows
from optimizer.rebalance import (
    DEPOT_CODES,
    MAX_LANE_CNY,
    MAX_UNITS,
    RebalancePlan,
    rebalance_matrix,
)

Progress = Callable[[str, int, int], None]

MAX_PROBLEMS = 100
MAX_LANE_HOURS = Decimal(240)
_CHUNK_ROWS = 50_000
_DEPOT_INDEX = {code: i for i, code in enumerate(DEPOT_CODES)}
_DEPOT_LIST = " ".join(DEPOT_CODES)
_WHOLE = re.compile(r"\+?[0-9]+")

STOCK_COLUMNS = ("depot", "part_number", "available")
TARGET_COLUMNS = ("depot", "part_number", "target")
LANE_COLUMNS = ("from_depot", "to_depot", "hours", "unit_cost")
PLAN_COLUMNS = ("part_number", "from_depot", "to_depot", "qty", "unit_cost", "cost")


class PlanFileError(Exception):
    """Input files that cannot be planned from; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the input files")


@dataclass(frozen=True)
class RebalanceSummary:
    """What a run produced. Costs in CNY; ``seconds`` is the wall time per phase."""

    out_path: Path
    parts: int
    plan_rows: int
    units_moved: int
    total_cost: Decimal
    surplus_before: int
    shortage_before: int
    shortage_left: int
    seconds: dict[str, float] = field(default_factory=dict)


class _CsvReader(Protocol):
    """What ``csv.reader`` returns: rows of strings and the physical line number read."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


@dataclass
class _Table:
    """One CSV file's body: rows of the right width as columns, with their line numbers."""

    label: str
    columns: dict[str, list[str]]
    lines: list[int]


class _Problems:
    """Problems found so far, each with a sort key (file order, line) for readable output."""

    def __init__(self) -> None:
        self._items: list[tuple[int, int, str]] = []

    def add(self, file_rank: int, line: int, message: str) -> None:
        self._items.append((file_rank, line, message))

    def __len__(self) -> int:
        return len(self._items)

    def lines(self) -> list[str]:
        ordered = [message for _, _, message in sorted(self._items, key=lambda x: x[:2])]
        if len(ordered) > MAX_PROBLEMS:
            rest = len(ordered) - MAX_PROBLEMS
            ordered = [*ordered[:MAX_PROBLEMS], f"... and {rest} more problems"]
        return ordered


class _Clock:
    """Forwards progress and records when each phase starts and ends."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._phase: str | None = None
        self._started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            self._close()
            self._phase, self._started = phase, time.perf_counter()
        if self._progress is not None:
            self._progress(phase, done, total)

    def _close(self) -> None:
        if self._phase is not None:
            elapsed = time.perf_counter() - self._started
            self.seconds[self._phase] = self.seconds.get(self._phase, 0.0) + elapsed

    def finish(self) -> dict[str, float]:
        self._close()
        self._phase = None
        return self.seconds


def rebalance_files(
    stock_csv: str | os.PathLike[str],
    targets_csv: str | os.PathLike[str],
    lanes_csv: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
    progress: Progress | None = None,
) -> RebalanceSummary:
    """Read the three files, plan the rebalancing, write ``out_csv``; see the module notes.

    Raises ``PlanFileError`` (with ``problems``) for any bad input or an output path
    that cannot be written; nothing is written then. An existing ``out_csv`` is
    replaced only by a complete plan.
    """
    with _gc_paused():
        return _run([Path(stock_csv), Path(targets_csv), Path(lanes_csv)], Path(out_csv), progress)


def _run(paths: list[Path], out_path: Path, progress: Progress | None) -> RebalanceSummary:
    clock = _Clock(progress)
    problems = _Problems()
    _check_output(out_path, paths, problems)
    if problems:
        raise PlanFileError(problems.lines())

    total_bytes = sum(_size(path) for path in paths)
    reader = _Reader(clock, total_bytes)
    clock("reading", 0, total_bytes)
    read: list[ColumnCells | None] = []
    for rank, value_name in ((0, "available"), (1, "target")):
        columns = (STOCK_COLUMNS, TARGET_COLUMNS)[rank]
        cells = read_cells(paths[rank], columns, DEPOT_CODES, MAX_UNITS)
        if cells is None:
            cells = _careful_cells(reader, paths[rank], rank, columns, value_name, problems)
        else:
            reader.skip(paths[rank])
        read.append(cells)
    lanes = reader.read(paths[2], 2, LANE_COLUMNS, problems)
    numbered = _numbered(read, reader, paths, problems)
    clock("reading", total_bytes, total_bytes)
    lane_matrix = _lane_matrix(lanes, problems) if lanes else None
    if problems or numbered is None or lane_matrix is None:
        raise PlanFileError(problems.lines())

    files, distinct, flat = numbered
    names = distinct.to_pylist()
    n_cells = len(names) * len(DEPOT_CODES)
    for rank, cells in enumerate(flat):
        if _has_repeats(cells, n_cells):
            # Name the duplicate lines: only the careful reader knows line numbers.
            columns = (STOCK_COLUMNS, TARGET_COLUMNS)[rank]
            _careful_cells(reader, paths[rank], rank, columns, columns[2], problems)
    if problems:
        raise PlanFileError(problems.lines())

    n_parts = len(names)
    available = np.zeros((n_parts, len(DEPOT_CODES)), np.int64)
    target = np.zeros((n_parts, len(DEPOT_CODES)), np.int64)
    available.ravel()[flat[0]] = files[0].value
    target.ravel()[flat[1]] = files[1].value
    del read, files, flat
    plan = rebalance_matrix(available, target, lane_matrix, part_numbers=names, progress=clock)

    _write_plan(out_path, plan, names, distinct, clock)
    return RebalanceSummary(
        out_path=out_path,
        parts=n_parts,
        plan_rows=int(plan.qty.size),
        units_moved=plan.units_moved,
        total_cost=plan.total_cost,
        surplus_before=plan.surplus_before,
        shortage_before=plan.shortage_before,
        shortage_left=plan.shortage_left,
        seconds=clock.finish(),
    )


def _numbered(
    read: list[ColumnCells | None], reader: _Reader, paths: list[Path], problems: _Problems
) -> tuple[list[ColumnCells], pa.Array, list[NDArray[np.int64]]] | None:
    """(both files' cells, part numbers, cells as flat indices), or None after problems.

    A file whose part numbers Arrow could not vouch for (an empty one, a line break)
    is read again the careful way, which names its bad lines or reads it right; that
    happens even when the other file has problems, so that all of them are reported.
    """
    ranks = [rank for rank, cells in enumerate(read) if cells is not None]
    present = [cells for cells in read if cells is not None]
    distinct, flat, unsure = number_parts(present, len(DEPOT_CODES))
    for position in unsure:
        rank = ranks[position]
        columns = (STOCK_COLUMNS, TARGET_COLUMNS)[rank]
        read[rank] = _careful_cells(reader, paths[rank], rank, columns, columns[2], problems)
    files = [cells for cells in read if cells is not None]
    if len(files) != len(read):
        return None
    if unsure:
        distinct, flat, _ = number_parts(files, len(DEPOT_CODES))
    return files, distinct, flat


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of row lists are created.

    Every few hundred new containers trigger a collection that walks all the live
    rows, which made reading 3-5x slower; these rows form no cycles, so nothing is
    lost by collecting once at the end instead.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_output(out_path: Path, inputs: list[Path], problems: _Problems) -> None:
    parent = out_path.parent if str(out_path.parent) else Path(".")
    if not parent.is_dir():
        problems.add(-1, 0, f"{out_path}: the directory {parent} does not exist")
    elif out_path.is_dir():
        problems.add(-1, 0, f"{out_path}: is a directory, not a file")
    elif not os.access(parent, os.W_OK):
        problems.add(-1, 0, f"{out_path}: the directory {parent} is not writable")
    for path in inputs:
        with contextlib.suppress(OSError):
            if out_path.exists() and out_path.samefile(path):
                problems.add(-1, 0, f"{out_path}: would overwrite the input file {path.name}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Reader:
    """Reads CSV files into columns, reporting progress in bytes across all files."""

    def __init__(self, report: Progress, total_bytes: int) -> None:
        self._report = report
        self._total = total_bytes
        self._done = 0

    def skip(self, path: Path) -> None:
        """Count ``path`` as read (another reader did it) for the progress report."""
        self._done = min(self._total, self._done + _size(path))
        self._report("reading", self._done, self._total)

    def read(
        self, path: Path, rank: int, required: tuple[str, ...], problems: _Problems
    ) -> _Table | None:
        label = path.name
        try:
            handle = path.open("rb")
        except OSError as error:
            problems.add(rank, 0, f"{label}: cannot be read ({error.strerror or error})")
            return None
        with handle:
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            reader: _CsvReader = csv.reader(text)
            try:
                header = next(reader, None)
                if header is None:
                    problems.add(
                        rank, 0, f"{label}: is empty; expected columns {','.join(required)}"
                    )
                    return None
                names = [name.strip().lower() for name in header]
                missing = [name for name in required if name not in names]
                if missing:
                    problems.add(rank, 1, f"{label}: missing column(s) {', '.join(missing)}")
                    return None
                doubled = sorted({name for name in names if names.count(name) > 1} & set(required))
                if doubled:
                    problems.add(rank, 1, f"{label}: column(s) {', '.join(doubled)} appear twice")
                    return None
                rows, lines = self._rows(reader, handle)
            except UnicodeDecodeError:
                problems.add(rank, 0, f"{label}: is not UTF-8 text")
                return None
            except csv.Error as error:
                problems.add(rank, reader.line_num, f"{label} line {reader.line_num}: {error}")
                return None
        width = len(names)
        if set(map(len, rows)) <= {width}:
            good_rows, good_lines = rows, lines
        else:
            good_rows, good_lines = [], []
            for row, line in zip(rows, lines, strict=True):
                if len(row) == width:
                    good_rows.append(row)
                    good_lines.append(line)
                else:
                    got = len(row)
                    problems.add(
                        rank, line, f"{label} line {line}: expected {width} fields, got {got}"
                    )
        positions = [names.index(name) for name in required]
        columns = list(zip(*good_rows, strict=True)) if good_rows else [() for _ in names]
        return _Table(
            label=label,
            columns={
                name: list(map(str.strip, columns[i]))
                for name, i in zip(required, positions, strict=True)
            },
            lines=good_lines,
        )

    def _rows(
        self, reader: _CsvReader, handle: io.BufferedReader
    ) -> tuple[list[list[str]], list[int]]:
        """All non-blank records and their (last) physical line numbers."""
        rows: list[list[str]] = []
        start_of_file = self._done
        while True:
            chunk = list(islice(reader, _CHUNK_ROWS))
            if not chunk:
                break
            rows.extend(chunk)
            self._done = start_of_file + handle.tell()
            self._report("reading", min(self._done, self._total), self._total)
        self._done = start_of_file + handle.tell()
        last_line = reader.line_num
        if last_line == len(rows) + 1:
            # One record per line: the record at index i sits on line i + 2.
            lines = list(range(2, len(rows) + 2))
        else:
            lines = self._physical_lines(rows)
        keep = [i for i, row in enumerate(rows) if row] if not all(rows) else None
        if keep is not None:
            rows = [rows[i] for i in keep]
            lines = [lines[i] for i in keep]
        return rows, lines

    @staticmethod
    def _physical_lines(rows: list[list[str]]) -> list[int]:
        """Line numbers when some record spans lines: count the line breaks inside fields."""
        lines = []
        line = 1
        for row in rows:
            line += 1 + sum(value.count("\n") for value in row)
            lines.append(line)
        return lines


def _careful_cells(
    reader: _Reader,
    path: Path,
    rank: int,
    columns: tuple[str, ...],
    value_name: str,
    problems: _Problems,
) -> ColumnCells | None:
    """Read one stock or targets file with the ``csv`` module, naming each bad line."""
    table = reader.read(path, rank, columns, problems)
    if table is None:
        return None
    found = _cells(table, value_name, rank, {}, problems)
    if found is None:
        return None
    parts = table.columns["part_number"]
    depots = table.columns["depot"]
    depot = np.fromiter(map(_DEPOT_INDEX.__getitem__, depots), np.int64, len(depots))
    return ColumnCells(
        parts=pa.array(parts, pa.string()), depot=depot, value=found[1], checked=True
    )


def _has_repeats(cells: NDArray[np.int64], n_cells: int) -> bool:
    """True if some cell (each below ``n_cells``) appears twice: marks, not a sort."""
    seen = np.zeros(n_cells, dtype=bool)
    seen[cells] = True
    return int(np.count_nonzero(seen)) != cells.size


def _cells(
    table: _Table,
    value_name: str,
    rank: int,
    part_ids: dict[str, int],
    problems: _Problems,
) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """(flat cell index part * 8 + depot, value) per row; problems for bad rows."""
    label = table.label
    depots = table.columns["depot"]
    parts = table.columns["part_number"]
    values = table.columns[value_name]
    lines = table.lines
    found_before = len(problems)

    if not set(depots) <= _DEPOT_INDEX.keys():
        for depot, line in zip(depots, lines, strict=True):
            if depot not in _DEPOT_INDEX:
                problems.add(
                    rank,
                    line,
                    f"{label} line {line}: depot must be one of {_DEPOT_LIST}, got {depot!r}",
                )
    if "" in set(parts):
        for part, line in zip(parts, lines, strict=True):
            if not part:
                problems.add(rank, line, f"{label} line {line}: part_number is empty")
    numbers = _whole_numbers(values, lines, label, value_name, rank, problems)
    if len(problems) != found_before or numbers is None:
        return None

    # dict.fromkeys keeps first-appearance order at C speed; then index every row.
    for part in dict.fromkeys(parts):
        part_ids.setdefault(part, len(part_ids))
    part_index = np.fromiter(map(part_ids.__getitem__, parts), np.int64, len(parts))
    depot_index = np.fromiter(map(_DEPOT_INDEX.__getitem__, depots), np.int64, len(depots))
    cells = part_index * len(DEPOT_CODES) + depot_index
    order = np.argsort(cells, kind="stable")
    ranked = cells[order]
    repeated = np.flatnonzero(ranked[1:] == ranked[:-1])
    if repeated.size:
        for position in repeated.tolist():
            first, again = int(order[position]), int(order[position + 1])
            problems.add(
                rank,
                lines[again],
                f"{label} line {lines[again]}: duplicate row for part {parts[again]} at "
                f"{depots[again]} (first on line {lines[first]})",
            )
        return None
    return cells, numbers


def _whole_numbers(
    values: list[str], lines: list[int], label: str, column: str, rank: int, problems: _Problems
) -> NDArray[np.int64] | None:
    """Whole numbers in [0, MAX_UNITS] as int64, or None after reporting the bad ones."""
    limit_digits = len(str(MAX_UNITS))
    digits_only = all(map(str.isdigit, values)) and all(map(str.isascii, values))
    if digits_only and (not values or max(map(len, values)) <= limit_digits):
        numbers = np.fromiter(map(int, values), np.int64, len(values))
        if not np.any(numbers > MAX_UNITS):
            return numbers
    numbers_slow: list[int] = []
    clean = True
    for value, line in zip(values, lines, strict=True):
        where = f"{label} line {line}: {column}"
        if not _WHOLE.fullmatch(value):
            problems.add(rank, line, f"{where} must be a whole number >= 0, got {value!r}")
            clean = False
        elif int(value) > MAX_UNITS:
            problems.add(rank, line, f"{where} must be at most {MAX_UNITS}, got {value!r}")
            clean = False
        elif clean:
            numbers_slow.append(int(value))
    return np.array(numbers_slow, dtype=np.int64) if clean else None


def _lane_matrix(table: _Table, problems: _Problems) -> NDArray[np.float64] | None:
    """8 x 8 unit costs in CNY with NaN for lanes that are not in the file."""
    label = table.label
    rank = 2
    found_before = len(problems)
    matrix = np.full((len(DEPOT_CODES), len(DEPOT_CODES)), np.nan)
    first_line: dict[tuple[str, str], int] = {}
    cols = table.columns
    for src, dst, hours, cost, line in zip(
        cols["from_depot"],
        cols["to_depot"],
        cols["hours"],
        cols["unit_cost"],
        table.lines,
        strict=True,
    ):
        where = f"{label} line {line}"
        ok = True
        for name, depot in (("from_depot", src), ("to_depot", dst)):
            if depot not in _DEPOT_INDEX:
                problems.add(
                    rank, line, f"{where}: {name} must be one of {_DEPOT_LIST}, got {depot!r}"
                )
                ok = False
        if ok and src == dst:
            problems.add(
                rank, line, f"{where}: from_depot and to_depot must differ, got {src!r} twice"
            )
            ok = False
        hours_value = _decimal(hours)
        if hours_value is None or not 0 < hours_value <= MAX_LANE_HOURS:
            problems.add(
                rank,
                line,
                f"{where}: hours must be a number > 0 and <= {MAX_LANE_HOURS}, got {hours!r}",
            )
        cost_value = _decimal(cost)
        if cost_value is None or cost_value < 0 or cost_value > MAX_LANE_CNY:
            problems.add(
                rank,
                line,
                f"{where}: unit_cost must be CNY >= 0 and <= {MAX_LANE_CNY}, got {cost!r}",
            )
            ok = False
        elif cost_value != cost_value.quantize(Decimal("0.01")):
            problems.add(
                rank, line, f"{where}: unit_cost must have at most 2 decimals, got {cost!r}"
            )
            ok = False
        if not ok:
            continue
        key = (src, dst)
        if key in first_line:
            problems.add(
                rank,
                line,
                f"{where}: duplicate lane {src} -> {dst} (first on line {first_line[key]})",
            )
            continue
        first_line[key] = line
        assert cost_value is not None
        matrix[_DEPOT_INDEX[src], _DEPOT_INDEX[dst]] = float(cost_value)
    if len(problems) != found_before:
        return None
    return matrix


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _write_plan(
    out_path: Path, plan: RebalancePlan, names: list[str], distinct: pa.Array, report: Progress
) -> None:
    """Write the plan to a temporary file beside ``out_path`` and rename it into place.

    Arrow writes it when no part number needs quoting (the usual case, several times
    faster); otherwise the ``csv`` module does. Both give the same bytes.
    """
    part, src, dst, qty = plan.part, plan.from_depot, plan.to_depot, plan.qty
    unit_fen, cost_fen = plan.unit_cost_fen, plan.cost_fen
    total = int(qty.size)
    report("writing", 0, total)
    codes = DEPOT_CODES
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise PlanFileError(
            [f"{out_path}: cannot be written ({error.strerror or error})"]
        ) from None
    try:
        with os.fdopen(fd, "wb") as raw:
            raw.write((",".join(PLAN_COLUMNS) + "\n").encode())
            arrays = (part, src, dst, qty, unit_fen, cost_fen)
            written = write_plan_rows(raw, distinct, codes, arrays)
        with open(tmp_name, "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            for start in range(0 if not written else total, total, _CHUNK_ROWS):
                stop = min(total, start + _CHUNK_ROWS)
                unit_text = _money_texts(unit_fen[start:stop])
                cost_text = _money_texts(cost_fen[start:stop])
                writer.writerows(
                    zip(
                        map(names.__getitem__, part[start:stop].tolist()),
                        map(codes.__getitem__, src[start:stop].tolist()),
                        map(codes.__getitem__, dst[start:stop].tolist()),
                        qty[start:stop].tolist(),
                        map(unit_text.__getitem__, unit_fen[start:stop].tolist()),
                        map(cost_text.__getitem__, cost_fen[start:stop].tolist()),
                        strict=True,
                    )
                )
                report("writing", stop, total)
        # mkstemp creates the file private (0600); give the plan a normal file's mode.
        os.chmod(tmp_name, out_path.stat().st_mode & 0o777 if out_path.exists() else 0o644)
        os.replace(tmp_name, out_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    report("writing", total, total)


def _money_texts(fen: NDArray[np.int64]) -> dict[int, str]:
    """Each distinct amount in fen (>= 0) as CNY text with two decimals, no floats.

    Plans repeat few distinct amounts (56 lanes times small quantities), so
    formatting each once and looking the rest up is much faster than per row.
    """
    return {value: f"{value // 100}.{value % 100:02d}" for value in np.unique(fen).tolist()}
