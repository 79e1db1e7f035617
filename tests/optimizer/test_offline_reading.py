"""The offline rebalancer reads stock and targets with Arrow, and agrees with the csv reader.

``optimizer.offline`` first tries the columnar reader (``offline_columns.read_cells``)
and falls back to the line-by-line ``csv`` reader, which names bad lines. Each case
here is planned twice, once as shipped and once with the columnar reader switched
off, and the two plan files must be identical byte for byte.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.generate import write_instance
from optimizer import offline, offline_columns
from optimizer.offline import PlanFileError, rebalance_files

LANES = (
    "from_depot,to_depot,hours,unit_cost\n"
    "BJ,SH,11.52,466.84\n"
    "SH,BJ,11.52,466.84\n"
    "GZ,WH,12.43,362.74\n"
    "BJ,CD,12.23,607.87\n"
)
TARGETS = "depot,part_number,target\nSH,SW-1,2\nWH,RT-9,2\nCD,SW-1,1\nBJ,X 1,4\n"


def plan_both_ways(tmp_path: Path, stock: str | bytes, targets: str = TARGETS) -> bytes:
    """The plan as shipped; asserts the csv-only reader writes the very same bytes."""
    paths = []
    for name, text in (("stock.csv", stock), ("targets.csv", targets), ("lanes.csv", LANES)):
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        paths.append(path)
    fast = rebalance_files(*paths, tmp_path / "fast.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(offline, "read_cells", lambda *args: None)
        careful = rebalance_files(*paths, tmp_path / "careful.csv")
    assert fast.units_moved == careful.units_moved and fast.total_cost == careful.total_cost
    plan = (tmp_path / "fast.csv").read_bytes()
    assert plan == (tmp_path / "careful.csv").read_bytes()
    return plan


def test_a_generated_network_gives_the_same_plan_through_both_readers(tmp_path):
    paths = write_instance(tmp_path / "net", 3_000)
    fast = rebalance_files(paths["stock"], paths["targets"], paths["lanes"], tmp_path / "a.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(offline, "read_cells", lambda *args: None)
        careful = rebalance_files(
            paths["stock"], paths["targets"], paths["lanes"], tmp_path / "b.csv"
        )
    assert fast.units_moved > 0 and fast.parts == careful.parts
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.parametrize(
    "stock",
    [
        pytest.param("depot,part_number,available\nBJ,SW-1,5\nGZ,RT-9,4\n", id="plain"),
        pytest.param(
            "depot,part_number,available\r\nBJ,SW-1,5\r\nGZ,RT-9,4\r\n", id="crlf line ends"
        ),
        pytest.param("depot,part_number,available\nBJ,SW-1,+5\nGZ,RT-9,0004\n", id="plus sign"),
        pytest.param(
            "depot,part_number,available\nBJ,SW-1,00000000005\nGZ,RT-9,4\n", id="many zeros"
        ),
        pytest.param(
            '\ufeffDepot ,"part_number",available,note\n BJ ,"SW-1",5,"a, b"\n\nGZ,RT-9,4,\n',
            id="bom quoted header extra column",
        ),
        pytest.param(
            "depot,part_number,available\nBJ,\u3000SW-1\u00a0,5\nGZ,\tRT-9 ,4\nBJ,X 1,1\n",
            id="unicode spaces around part numbers",
        ),
        pytest.param(
            'depot,part_number,available\nBJ,"SW\n1",5\nGZ,RT-9,4\n', id="line break in a value"
        ),
        pytest.param("depot,part_number,available\n", id="header only"),
        pytest.param("depot,part_number,available\nBJ,交换机-1,5\nGZ,RT-9,4\n", id="chinese"),
    ],
)
def test_odd_but_valid_files_give_the_same_plan_through_both_readers(tmp_path, stock):
    plan_both_ways(tmp_path, stock)


def test_unicode_spaces_around_part_numbers_are_trimmed(tmp_path):
    plan = plan_both_ways(tmp_path, "depot,part_number,available\nBJ,\u3000SW-1\u00a0,5\n")
    assert plan.decode().splitlines()[1:] == [
        "SW-1,BJ,SH,2,466.84,933.68",
        "SW-1,BJ,CD,1,607.87,607.87",
    ]


def bad_lines(tmp_path: Path, stock: str) -> list[str]:
    paths = []
    for name, text in (("stock.csv", stock), ("targets.csv", TARGETS), ("lanes.csv", LANES)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(tmp_path / name)
    with pytest.raises(PlanFileError) as caught:
        rebalance_files(*paths, tmp_path / "plan.csv")
    assert not (tmp_path / "plan.csv").exists()
    return caught.value.problems


def big_stock(bad_row: str, at_line: int, rows: int = 5_000) -> str:
    lines = [f"BJ,P-{i},3" for i in range(rows)]
    lines[at_line - 2] = bad_row
    return "depot,part_number,available\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("BJ,P-x,-3", "available must be a whole number >= 0, got '-3'"),
        ("BJ,P-x,2.5", "available must be a whole number >= 0, got '2.5'"),
        ("BJ,P-x,1000000001", "available must be at most 1000000000, got '1000000001'"),
        ("HK,P-x,1", "depot must be one of BJ SH GZ CD WH XA SY JN, got 'HK'"),
        ("BJ, ,1", "part_number is empty"),
        ("BJ,P-x", "expected 3 fields, got 2"),
        ("BJ,P-7,1", "duplicate row for part P-7 at BJ (first on line 9)"),
    ],
)
def test_a_bad_row_in_a_big_file_is_refused_with_its_line_number(tmp_path, bad_row, message):
    assert bad_lines(tmp_path, big_stock(bad_row, 3_001)) == [f"stock.csv line 3001: {message}"]


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / "stock.csv").write_bytes(b"depot,part_number,available\nBJ,\xff\xfe,1\n")
    (tmp_path / "targets.csv").write_text(TARGETS, encoding="utf-8")
    (tmp_path / "lanes.csv").write_text(LANES, encoding="utf-8")
    with pytest.raises(PlanFileError) as caught:
        rebalance_files(*(tmp_path / n for n in ("stock.csv", "targets.csv", "lanes.csv")),
                        tmp_path / "plan.csv")  # fmt: skip
    assert caught.value.problems == ["stock.csv: is not UTF-8 text"]


def test_part_numbers_that_need_quoting_are_quoted_in_the_plan(tmp_path):
    stock = 'depot,part_number,available\nBJ,"SW,1",5\nBJ,"X ""2""",3\n'
    targets = 'depot,part_number,target\nSH,"SW,1",2\nSH,"X ""2""",1\n'
    plan = plan_both_ways(tmp_path, stock, targets).decode()
    assert plan.splitlines() == [
        "part_number,from_depot,to_depot,qty,unit_cost,cost",
        '"SW,1",BJ,SH,2,466.84,933.68',
        '"X ""2""",BJ,SH,1,466.84,466.84',
    ]


def test_a_line_break_in_a_target_part_number_gives_the_same_plan_through_both_readers(tmp_path):
    targets = 'depot,part_number,target\nSH,SW-1,2\nWH,"RT\n9",2\n'
    plan = plan_both_ways(tmp_path, "depot,part_number,available\nBJ,SW-1,5\n", targets)
    assert plan.decode().splitlines()[1:] == ["SW-1,BJ,SH,2,466.84,933.68"]


def test_problems_in_both_files_are_all_named_when_arrow_reads_one_of_them(tmp_path):
    # Arrow declines stock.csv (a bad depot) at once; the empty part number in
    # targets.csv shows only when part numbers are checked, and is named all the same.
    targets = "depot,part_number,target\n" + "".join(f"SH,P-{i},1\n" for i in range(40))
    targets += "SH, ,1\n"
    for name, text in (
        ("stock.csv", "depot,part_number,available\nHK,P-1,3\n"),
        ("targets.csv", targets),
        ("lanes.csv", LANES),
    ):
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(PlanFileError) as caught:
        rebalance_files(*(tmp_path / n for n in ("stock.csv", "targets.csv", "lanes.csv")),
                        tmp_path / "plan.csv")  # fmt: skip
    assert caught.value.problems == [
        "stock.csv line 2: depot must be one of BJ SH GZ CD WH XA SY JN, got 'HK'",
        "targets.csv line 42: part_number is empty",
    ]


def test_planning_from_files_does_not_import_pandas(tmp_path):
    # Importing pandas costs more CPU than reading a 10,000-part network; pyarrow
    # imports it behind the scenes for Python lists and scalars in compute calls.
    paths = write_instance(tmp_path / "net", 300)
    script = (
        "import sys\n"
        "from optimizer.offline import rebalance_files\n"
        "rebalance_files(*sys.argv[1:5])\n"
        "print('pandas' in sys.modules)\n"
    )
    files = [str(paths[name]) for name in ("stock", "targets", "lanes")]
    done = subprocess.run(
        [sys.executable, "-c", script, *files, str(tmp_path / "plan.csv")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_files_read_in_many_blocks_give_the_same_plan(tmp_path):
    # Million-part files arrive from Arrow in several chunks; small blocks make a
    # 3,000-part network do the same, with part numbers split across chunks and files.
    paths = write_instance(tmp_path / "net", 3_000)
    files = (paths["stock"], paths["targets"], paths["lanes"])
    rebalance_files(*files, tmp_path / "whole.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(offline_columns, "_BLOCK_BYTES", 4_096)
        rebalance_files(*files, tmp_path / "blocks.csv")
        patch.setattr(offline, "read_cells", lambda *args: None)
        rebalance_files(*files, tmp_path / "careful.csv")
    plan = (tmp_path / "whole.csv").read_bytes()
    assert plan.count(b"\n") > 1_000
    assert plan == (tmp_path / "blocks.csv").read_bytes() == (tmp_path / "careful.csv").read_bytes()
