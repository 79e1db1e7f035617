"""The offline rebalancer's fast path for reading stock.csv and targets.csv: Apache Arrow.

``optimizer.offline`` reads its files with the standard ``csv`` module, which names
every bad line; at 100,000 parts that reading was half of the whole run, and at
1,000,000 parts (13 million rows) it dominated. Arrow's CSV reader parses in C++ on
every core and its compute kernels check whole columns at once, so a file that is
entirely good is read here without a Python object per row.

The fast path promises the SAME result as the ``csv`` path or nothing:
``read_cells`` returns ``None`` whenever it is not sure (Arrow refuses the file, a
header that needs quoting, a required column missing or doubled, a depot that is
not one of the eight, a number that is not plain digits), and ``number_parts``
names the files whose part numbers it is not sure of (an empty part number, a
quoted line break). The caller then reads that file with the ``csv`` path, which
either reports the problems with their line numbers or, for the rare good file
Arrow declined (a quoted value spanning lines, ``+5``), reads it. Duplicates are
the caller's check, after part numbers are numbered across both files.

Part numbers are checked and trimmed once per distinct value, not once per row:
``number_parts`` dictionary-encodes both files' part numbers in one hash pass
(1.3 million rows, about 100,000 distinct at 100,000 parts), and the line-break,
trimming and emptiness checks run over the distinct values only.

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
    """One file's rows as columns: part numbers, depot index, whole value.

    ``checked`` part numbers are trimmed and known good (the ``csv`` path); Arrow's
    are as written in the file until ``number_parts`` has checked them.
    """

    parts: pa.Array | pa.ChunkedArray
    depot: NDArray[np.int64]
    value: NDArray[np.int64]
    checked: bool = False


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
        return ColumnCells(parts=_strings(()), depot=empty, value=empty, checked=True)

    codes = _strings(depot_codes)
    depot_text = pc.ascii_trim_whitespace(depot_text)
    depot = pc.index_in(depot_text, value_set=codes)
    if depot.null_count:
        return None

    value = _whole_values(value_text)
    if value is None:
        return None
    value_np = _numpy(value)
    if value_np.size and int(value_np.max()) > max_value:
        return None
    return ColumnCells(parts=part_text, depot=_numpy(depot), value=value_np)


def number_parts(
    files: list[ColumnCells], n_depots: int
) -> tuple[pa.Array, list[NDArray[np.int64]], list[int]]:
    """(part numbers, each file's cells, the files to read again the careful way).

    Part numbers are trimmed as Python's ``str.strip`` would and listed in
    first-appearance order across ``files``, like ``dict.fromkeys``. A cell is
    ``part * n_depots + depot``, the flat index into a P x D matrix. The last item
    lists (by position) the unchecked files holding a part number that is empty once
    trimmed or holds a line break: the ``csv`` path must read those (it names the
    empty ones; it counts the lines of the others right).
    """
    # The files' chunks side by side (a ChunkedArray given to pa.chunked_array would
    # be read value by value).
    everything = pa.chunked_array(
        [chunk for file in files for chunk in _chunks(file.parts)], pa.string()
    )
    # One hash pass over every row; the dictionary is in first-appearance order and
    # every chunk's indices refer to the same, final dictionary.
    encoded = pc.dictionary_encode(everything)
    if encoded.num_chunks == 0:
        return _strings(()), [np.zeros(0, np.int64) for _ in files], []
    written = encoded.chunk(0).dictionary
    # Empty chunks may be dropped, so the files are told apart by their row counts.
    every_index = np.concatenate(
        [_int32s(chunk.indices) for chunk in encoded.chunks], dtype=np.int64
    )
    ends = np.cumsum([len(file.parts) for file in files])
    indices = np.split(every_index, ends[:-1])

    distinct = _python_stripped(written)
    unsure: list[int] = []
    if not all(file.checked for file in files):
        # Positions via numpy: a Python scalar in a compute call (``pc.equal(x, 0)``)
        # would import pandas, which costs more than this whole check.
        broken = _numpy(pc.indices_nonzero(pc.match_substring_regex(written, r"[\r\n]")))
        empty = np.flatnonzero(_numpy(pc.utf8_length(distinct)) == 0)
        if broken.size or empty.size:
            bad = np.zeros(len(written), dtype=bool)
            bad[broken] = True
            bad[empty] = True
            unsure = [
                position
                for position, file in enumerate(files)
                if not file.checked and bool(np.any(bad[indices[position]]))
            ]
    if distinct is not written:
        # Trimming can make two written values one ("A" and " A"): number them again,
        # in dictionary order, which keeps the first-appearance order of the rows.
        again = pc.dictionary_encode(distinct)
        renumber = _numpy(again.indices)
        distinct = again.dictionary
        indices = [renumber[index] for index in indices]
    cells = [index * n_depots + file.depot for index, file in zip(indices, files, strict=True)]
    return distinct, cells, unsure


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


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _int32s(values: pa.Array) -> NDArray[np.int32]:
    """An int32 array without nulls as numpy, over Arrow's memory (no copy)."""
    assert values.type == pa.int32() and values.null_count == 0
    data = values.buffers()[1]
    if data is None:
        return np.zeros(0, np.int32)
    return np.frombuffer(data, np.int32, len(values), values.offset * 4)


def _whole_values(text: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """``text`` as int64 when every value is a plain whole number (``+`` and spaces
    allowed, as the csv path allows them), else None."""
    if not _plain_digits(text):
        text = pc.ascii_trim_whitespace(text)
        if not pc.all(pc.match_substring_regex(text, _PLAIN_WHOLE)).as_py():
            return None
        text = pc.utf8_ltrim(text, characters="+")
    try:
        # Only ASCII digits reach the cast: no sign, space or "0x" for Arrow's integer
        # parser to read differently from Python's int().
        return pc.cast(text, pa.int64())
    except pa.ArrowInvalid:
        return None


def _plain_digits(text: pa.ChunkedArray) -> bool:
    """True when every value is 1 to 10 ASCII digits, checked on the raw bytes (the
    usual file: one numpy pass instead of a regular expression per row)."""
    for chunk in text.chunks:
        if len(chunk) == 0:
            continue
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int32, len(chunk) + 1, chunk.offset * 4)
        lengths = np.diff(offsets)
        if int(lengths.min()) < 1 or int(lengths.max()) > 10:
            return False
        data = np.frombuffer(data_buffer, np.uint8, int(offsets[-1] - offsets[0]), int(offsets[0]))
        # Bytes below "0" wrap around to large values, so one comparison checks both ends.
        if bool(np.any((data - np.uint8(48)) > 9)):
            return False
    return True


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
    # Checked on the distinct names first (fewer than the rows); only when one of
    # them needs quoting does it matter whether the plan uses it.
    quoting = r'[,"\r\n]'
    if pc.any(pc.match_substring_regex(names, quoting)).as_py() and (
        pc.any(pc.match_substring_regex(used, quoting)).as_py()
    ):
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
    formatted once and the rest is a take. The distinct amounts come from a hash
    (``dictionary_encode``), not a sort.
    """
    encoded = pc.dictionary_encode(_ints(fen))
    amounts = _numpy(encoded.dictionary).tolist()
    texts = _strings([f"{value // 100}.{value % 100:02d}" for value in amounts])
    return pc.take(texts, encoded.indices)
