"""The offline rebalancer's fast path for reading stock.csv and targets.csv: Apache Arrow.

``optimizer.offline`` reads its files with the standard ``csv`` module, which names
every bad line; at 100,000 parts that reading was half of the whole run, and at
1,000,000 parts (13 million rows) it dominated. Arrow's CSV reader parses in C++ on
every core and its compute kernels check whole columns at once, so a file that is
entirely good is read here without a Python object per row.

The fast path promises the SAME result as the ``csv`` path or nothing:
``read_cells`` returns ``None`` whenever it is not sure (Arrow refuses the file, a
header that needs quoting, a required column missing or doubled, a depot that is
not one of the eight, a number that is not plain digits, an empty part number,
any value whose trimming Arrow and Python might disagree about). The caller then
reads that file with the ``csv`` path, which either reports the problems with
their line numbers or, for the rare good file Arrow declined (a quoted value
spanning lines, ``+5``), reads it. Duplicates are the caller's check, after part
numbers are numbered across both files.

The optimizer keeps its house rule of no database and no framework imports;
pyarrow is a columnar file reader, used here only because this module is about
reading files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

# Arrow's block size: big blocks keep the per-block overhead low on million-row files.
_BLOCK_BYTES = 16 << 20
# A part number whose first or last character is not a plain letter or digit might
# carry whitespace that Python's str.strip and Arrow's trim treat differently:
# those (few) values are stripped by Python itself.
_EDGE = r"^[^0-9A-Za-z]|[^0-9A-Za-z]$"
_PLAIN_WHOLE = r"^\+?[0-9]{1,10}$"


@dataclass(frozen=True)
class ColumnCells:
    """One file's rows as columns: part numbers (trimmed), depot index, whole value."""

    parts: pa.Array | pa.ChunkedArray
    depot: NDArray[np.int64]
    value: NDArray[np.int64]


def read_cells(
    path: Path, required: tuple[str, str, str], depot_codes: tuple[str, ...], max_value: int
) -> ColumnCells | None:
    """``required`` = (depot, part_number, value) columns of ``path``, or None if unsure.

    None means "read this file the careful way"; it is never an error by itself.
    """
    names = _header(path)
    if names is None or any(names.count(name) != 1 for name in required):
        return None
    positions = [names.index(name) for name in required]
    columns = [f"c{i}" for i in range(len(names))]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                skip_rows=1, column_names=columns, block_size=_BLOCK_BYTES, use_threads=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={columns[i]: pa.string() for i in positions},
                include_columns=[columns[i] for i in positions],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError):
        return None
    depot_text, part_text, value_text = (table.column(columns[i]) for i in positions)
    if table.num_rows == 0:
        empty = np.zeros(0, np.int64)
        return ColumnCells(parts=_strings(()), depot=empty, value=empty)
    if _contains_line_break(part_text):
        return None

    codes = _strings(depot_codes)
    depot_text = pc.ascii_trim_whitespace(depot_text)
    depot = pc.index_in(depot_text, value_set=codes)
    if depot.null_count:
        return None

    value_text = pc.ascii_trim_whitespace(value_text)
    if not pc.all(pc.match_substring_regex(value_text, _PLAIN_WHOLE)).as_py():
        return None
    try:
        value = pc.cast(pc.utf8_ltrim(value_text, characters="+"), pa.int64())
    except pa.ArrowInvalid:
        return None
    value_np = _numpy(value)
    if value_np.size and int(value_np.max()) > max_value:
        return None

    parts = _python_stripped(part_text.combine_chunks())
    if pc.min(pc.utf8_length(parts)).as_py() == 0:
        return None
    return ColumnCells(parts=parts, depot=_numpy(depot), value=value_np)


def number_parts(
    files: list[ColumnCells], n_depots: int
) -> tuple[pa.Array, list[NDArray[np.int64]]]:
    """Part numbers in first-appearance order across ``files`` and each file's cells.

    A cell is ``part * n_depots + depot``, the flat index into a P x D matrix.
    """
    everything = pa.chunked_array([cells.parts for cells in files], pa.string())
    distinct = pc.unique(everything)  # first-appearance order, like dict.fromkeys
    cells = []
    for file in files:
        index = _numpy(pc.index_in(file.parts, value_set=distinct))
        cells.append(index * n_depots + file.depot)
    return distinct, cells


def _header(path: Path) -> list[str] | None:
    """The header's column names (trimmed, lower case), or None when it needs the csv path."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
        text = first.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    text = text.rstrip("\r\n")
    if not text or '"' in text or "\r" in text:
        return None
    return [name.strip().lower() for name in text.split(",")]


def _contains_line_break(column: pa.ChunkedArray) -> bool:
    """True if some value holds a line break (quoted): the csv path counts those lines."""
    return bool(pc.any(pc.match_substring_regex(column, r"[\r\n]")).as_py())


def _python_stripped(parts: pa.Array) -> pa.Array:
    """``parts`` with each value stripped exactly as Python's ``str.strip`` would."""
    edge = pc.match_substring_regex(parts, _EDGE)
    if not pc.any(edge).as_py():
        return parts
    rows = pc.indices_nonzero(edge)
    stripped = [text.strip() for text in pc.take(parts, rows).to_pylist()]
    return pc.replace_with_mask(parts, edge, _strings(stripped))


def _strings(texts: tuple[str, ...] | list[str]) -> pa.Array:
    """A string array built from its buffers: ``pa.array`` of a Python list first
    imports pandas to check for its types, which costs more than reading a small file."""
    encoded = [text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    offsets[1:] = np.cumsum([len(data) for data in encoded], dtype=np.int64)
    return pa.StringArray.from_buffers(
        len(encoded), pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded))
    )


def _numpy(values: pa.Array | pa.ChunkedArray) -> NDArray[np.int64]:
    """Whole numbers without nulls as int64; never through pandas (importing it costs
    more than reading a 10,000-part file)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.int64())
    values = values.cast(pa.int64())
    assert values.null_count == 0
    # The values buffer itself (``to_numpy`` would import pandas too).
    data = values.buffers()[1]
    if data is None:
        return np.zeros(0, np.int64)
    return np.frombuffer(data, np.int64, len(values), values.offset * 8)


def write_plan_rows(
    handle: BinaryIO,
    names: pa.Array,
    depot_codes: tuple[str, ...],
    columns: tuple[NDArray[np.int64], ...],
) -> bool:
    """Write the plan's rows (no header) as the ``csv`` module would, with Arrow.

    ``columns`` = (part, from, to, qty, unit fen, cost fen). Returns False, having
    written nothing, when some part number would need quoting (a comma, a quote, a
    line break): the caller then writes with the ``csv`` module, which quotes it.
    """
    part, src, dst, qty, unit_fen, cost_fen = columns
    used = pc.take(names, _ints(part))
    if pc.any(pc.match_substring_regex(used, r'[,"\r\n]')).as_py():
        return False
    codes = _strings(depot_codes)
    table = pa.Table.from_arrays(
        [
            used,
            pc.take(codes, _ints(src)),
            pc.take(codes, _ints(dst)),
            _ints(qty),
            _money(unit_fen),
            _money(cost_fen),
        ],
        names=["part_number", "from_depot", "to_depot", "qty", "unit_cost", "cost"],
    )
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)
    pacsv.write_csv(table, handle, write_options=options)
    return True


def _ints(values: NDArray[np.int64]) -> pa.Array:
    """An int64 Arrow array over the numpy array's memory (no pandas, no copy)."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Int64Array.from_buffers(pa.int64(), data.size, [None, pa.py_buffer(data)])


def _money(fen: NDArray[np.int64]) -> pa.Array:
    """Amounts in fen (>= 0) as CNY text with two decimals, no floats.

    Plans repeat few distinct amounts (lanes times small quantities): each is
    formatted once and the rest is a take.
    """
    distinct, where = np.unique(fen, return_inverse=True)
    texts = _strings([f"{value // 100}.{value % 100:02d}" for value in distinct.tolist()])
    return pc.take(texts, _ints(where.astype(np.int64)))
