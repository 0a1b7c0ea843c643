"""read_table on generated CSV files: both engines against the values the files were written
from, against each other, and against pandas.read_csv and the csv module read independently."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.data import table as table_module
from nabla.data.table import MISSING_TOKENS, Table, read_table
from nabla.data.table_numpy import CHUNK_ROWS
from nabla.errors import DataError

pd = pytest.importorskip("pandas")

ENGINES = ["pandas", "numpy"]
SRC = Path(table_module.__file__).resolve().parents[2]


def write_rows(path: Path, rows: list[list[Any]], delimiter: str = ",", **options: Any) -> Path:
    """Write rows with the csv module (quoting cells that need it), as UTF-8 by default."""
    encoding = options.pop("encoding", "utf-8")
    with path.open("w", newline="", encoding=encoding) as stream:
        csv.writer(stream, delimiter=delimiter, lineterminator="\n", **options).writerows(rows)
    return path


def assert_same(a: Table, b: Table) -> None:
    """Two tables are equal: names, flags, lines, dtypes and every cell (NaN equal to NaN)."""
    assert (a.names, a.has_header, a.delimiter, a.notices) == (
        b.names,
        b.has_header,
        b.delimiter,
        b.notices,
    )
    assert (a.lines is None) == (b.lines is None)
    assert [a.line(i) for i in range(a.n_rows)] == [b.line(i) for i in range(b.n_rows)]
    for name in a.names:
        x, y = a.columns[name], b.columns[name]
        assert x.dtype == y.dtype, name
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert x.tolist() == y.tolist(), name


def read_both(path: Path, **options: Any) -> Table:
    """The table both engines read (asserted equal), with writable columns."""
    tables = [read_table(path, engine=engine, **options) for engine in ENGINES]
    assert_same(*tables)
    for column in tables[0].columns.values():
        assert column.flags.writeable
    return tables[0]


def error_of(path: Path, engine: str, **options: Any) -> str:
    with pytest.raises(DataError) as caught:
        read_table(path, engine=engine, **options)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def expected_numbers(cells: list[str]) -> np.ndarray:
    """Independent truth for a numeric column: pandas.to_numeric after blanking the NA tokens."""
    series = pd.Series([c.strip() for c in cells], dtype=object)
    series[series.isin(MISSING_TOKENS)] = None
    return pd.to_numeric(series).to_numpy(dtype=np.float64)


def expected_text(cells: list[str]) -> list[str | None]:
    return [None if c.strip() in MISSING_TOKENS else c.strip() for c in cells]


def mixed_rows(rng: np.random.Generator, n: int) -> list[list[str]]:
    """A header and n rows: an ID, floats with NA tokens, a date, text with delimiters, quotes
    and newlines, booleans as words, integers, and a class label."""
    tokens = list(MISSING_TOKENS) + [" NA ", "  "]
    rows = [["id", "x", "when", "note", "flag", "count", "label"]]
    for i in range(n):
        x = f"{rng.standard_normal() * 10.0 ** rng.integers(-3, 4):.8g}"
        rows.append(
            [
                f"P{i:05d}",
                str(rng.choice(tokens)) if i % 7 == 3 else x,
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                ["plain", "with, comma", 'say "hi"', "two\nlines", "semi; colon", " padded "][
                    i % 6
                ],
                ["True", "false", "TRUE", "NA"][i % 4],
                str(int(rng.integers(-50, 50))) if i % 5 else "?",
                ["cat", "dog", "bird"][i % 3],
            ]
        )
    return rows


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_mixed_columns_match_the_written_values(
    tmp_path: Path, rng: np.random.Generator, delimiter: str
) -> None:
    rows = mixed_rows(rng, 60)
    path = write_rows(tmp_path / "mixed.csv", rows, delimiter)
    table = read_both(path)  # delimiter sniffed
    assert table.delimiter == delimiter and table.has_header
    assert table.names == rows[0]
    data = list(zip(*rows[1:]))
    for j, name in enumerate(rows[0]):
        cells = list(data[j])
        if name in ("x", "count"):
            assert table.is_numeric(name)
            np.testing.assert_array_equal(table.columns[name], expected_numbers(cells))
        else:
            assert not table.is_numeric(name)
            assert table.columns[name].tolist() == expected_text(cells)
    # rows after a cell with a newline start one line later
    expected_lines, line = [], 2
    for row in rows[1:]:
        expected_lines.append(line)
        line += 1 + sum(cell.count("\n") for cell in row)
    assert [table.line(i) for i in range(table.n_rows)] == expected_lines
    # the same as pandas.read_csv's own numbers, and as the csv module's text
    reference = pd.read_csv(
        path, sep=delimiter, keep_default_na=False, na_values=list(MISSING_TOKENS + (" NA ",))
    )
    np.testing.assert_array_equal(table.columns["x"], reference["x"].to_numpy(np.float64))
    with path.open(newline="") as stream:
        notes = [row[3] for row in csv.reader(stream, delimiter=delimiter)][1:]
    assert table.columns["note"].tolist() == [note.strip() for note in notes]


@pytest.mark.parametrize("engine", ENGINES)
def test_given_delimiter_wins_and_one_column_suggests_delimiter(
    tmp_path: Path, engine: str
) -> None:
    path = write_rows(tmp_path / "semi.csv", [["a", "b", "c"], ["1", "2", "3"]], ";")
    message = error_of(path, engine, delimiter=",")
    assert "single column 'a;b;c'" in message
    assert "--delimiter ';'" in message
    tabs = write_rows(tmp_path / "tabs.csv", [["a", "b"], ["1", "2"]], "\t")
    assert "--delimiter '\\t'" in error_of(tabs, engine, delimiter="|")
    one = tmp_path / "one.csv"
    one.write_text("value\n1\n2\n")
    assert "--delimiter" in error_of(one, engine)


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffname,score\r\nAnn,1.5\r\nBob,NA\r\n".encode())
    table = read_both(path)
    assert table.names == ["name", "score"] and table.lines is None
    np.testing.assert_array_equal(table.columns["score"], [1.5, np.nan])


@pytest.mark.parametrize("engine", ENGINES)
def test_latin1_file(tmp_path: Path, engine: str) -> None:
    rows = [["città", "peso"], ["Genève", "1.5"], ["Zürich", "2"], ["Besançon", "NA"]]
    path = write_rows(tmp_path / "latin.csv", rows, encoding="latin-1")
    table = read_both(path, encoding="latin-1")
    assert table.names == ["città", "peso"]
    assert table.columns["città"].tolist() == ["Genève", "Zürich", "Besançon"]
    message = error_of(path, engine)
    offset = path.read_bytes().index("à".encode("latin-1"))
    assert f"at byte {offset}" in message and "--encoding" in message


@pytest.mark.parametrize("engine", ENGINES)
def test_decoding_error_far_into_the_file_names_its_byte(tmp_path: Path, engine: str) -> None:
    body = "".join(f"{i},{i * 0.5}\n" for i in range(20000))
    path = tmp_path / "late.csv"
    path.write_bytes(("a,b\n" + body).encode() + "z,é\n".encode("latin-1"))
    offset = len(("a,b\n" + body).encode()) + 2
    assert f"at byte {offset}" in error_of(path, engine)


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\na,b\n1,x\n\n   \n2,y\n3,z\n\n\n")
    table = read_both(path)
    assert table.lines is not None
    assert [table.line(i) for i in range(3)] == [4, 7, 8]
    assert table.columns["b"].tolist() == ["x", "y", "z"]
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("a,b\n1,x\n2,y\n\n  \n")
    assert read_both(trailing).lines is None


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a,b,c\n1,2,3\n4,5\n6,7,8\n", 3),  # short: pandas would pad it
        ("a,b,c\n1,2,3\n4,5,6,7\n", 3),  # long
        ("a,b\n1,2,3\n4,5\n", 2),  # long first row: pandas would make an index of it
        ("a,b,c\n1,2,3\n\n4,5,\n6,7\n", 5),  # after a blank line, and a short last row
        ("1,2,3\n4,5\n", 2),  # no header
    ],
)
def test_ragged_rows_name_their_line(tmp_path: Path, engine: str, text: str, line: int) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(text)
    assert re.search(rf": row {line} has \d cells, but row 1 has \d", error_of(path, engine))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("cell", "what"),
    [
        ("inf", "infinite"),
        ("-Infinity", "infinite"),
        ("1e39", "float32"),
        ("-3.5e38", "float32"),
        ("1e500", "infinite"),
    ],
)
@pytest.mark.parametrize("other", ["6", "NA"])  # with NaN in the column, or without
def test_non_finite_and_float32_overflow_name_row_column_value(
    tmp_path: Path, engine: str, cell: str, what: str, other: str
) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f"a,b\n1,2\n\n3,{cell}\n5,{other}\n")
    message = error_of(path, engine)
    assert f"row 4, column 'b': value {cell!r} is" in message and what in message


def test_float32_limit_itself_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "limit.csv"
    path.write_text(f"a,b\n1,{float(np.finfo(np.float32).max)!r}\n")
    assert read_both(path).columns["b"][0] == np.finfo(np.float32).max


@pytest.mark.parametrize("engine", ENGINES)
def test_header_names(tmp_path: Path, engine: str) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("a,b,a,c,c\n1,2,3,4,5\n")
    assert "'a', 'c'" in error_of(dup, engine)
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text(",x,\n0,1.5,a\n1,2.5,b\n")  # as DataFrame.to_csv writes an index
    table = read_both(unnamed)
    assert table.names == ["col0", "x", "col2"]
    assert len(table.notices) == 2 and "column 0 has no name" in table.notices[0]


def test_no_header_and_forced_header(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("1,2,a\n3,NA,b\n")
    table = read_both(path)
    assert not table.has_header and table.names == ["col0", "col1", "col2"]
    np.testing.assert_array_equal(table.columns["col1"], [2.0, np.nan])
    forced = read_both(path, header=True)
    assert forced.names == ["1", "2", "a"] and forced.n_rows == 1 and forced.line(0) == 2
    text = tmp_path / "text.csv"
    text.write_text("name,city\nAnn,Rome\n")
    assert not read_both(text).has_header  # the rule: a header needs a numeric column
    assert read_both(text, header=False).columns["col0"].tolist() == ["name", "Ann"]


def test_header_detected_despite_missing_cells(tmp_path: Path) -> None:
    path = tmp_path / "penguins.csv"
    path.write_text("species,bill,year\nAdelie,39.1,2007\nAdelie,NA,NA\nGentoo,46.1,2008\n")
    table = read_both(path)
    assert table.has_header and table.names == ["species", "bill", "year"]


@pytest.mark.parametrize("engine", ENGINES)
def test_files_without_rows(tmp_path: Path, engine: str) -> None:
    cases = {"empty.csv": "", "spaces.csv": "\n  \n\n", "header.csv": "a,b\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert "empty" in error_of(tmp_path / "empty.csv", engine)
    assert "empty" in error_of(tmp_path / "spaces.csv", engine)
    assert "no data rows" in error_of(tmp_path / "header.csv", engine, header=True)
    assert "not found" in error_of(tmp_path / "missing.csv", engine)


@pytest.mark.parametrize(
    "cell",
    ["1_000", "NAN", "-nan", "0x10", "1e", ".", "+", "١٢", "1 000", "1.5f", "True", "12:30"],
)
def test_what_is_a_number_is_what_pandas_parses(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "cell.csv"
    path.write_text(f'a,b\n"{cell}",1\n2.5,2\n')
    reference = pd.read_csv(path, keep_default_na=False)["a"]
    table = read_both(path)
    assert table.is_numeric("a") == (reference.dtype.kind == "f")
    if not table.is_numeric("a"):
        assert table.columns["a"].tolist() == [cell, "2.5"]


@pytest.mark.parametrize(
    "cell", [".5", "5.", "+1e5", "-0.0", "1E-05", " 7 ", "007", "18446744073709551616"]
)
def test_numbers_are_pandas_numbers(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "cell.csv"
    path.write_text(f'a,b\n"{cell}",1\n2,2\n')
    reference = pd.read_csv(path, keep_default_na=False)["a"].to_numpy(np.float64)
    np.testing.assert_array_equal(read_both(path).columns["a"], reference)


def test_long_file_text_after_the_sample_and_quoted_newline(tmp_path: Path) -> None:
    n = 3 * CHUNK_ROWS  # beyond the 64 KB sample and over several chunks of the NumPy engine
    rows: list[list[str]] = [["code", "flag", "value"]]
    rows += [[str(i), "NA", f"{i * 0.25}"] for i in range(n)]
    rows[n - 5][0] = "X-17"  # a text cell long after the sample: the column is text
    rows[n - 4][1] = "True"  # a boolean word in a column missing until then
    rows[n - 3][2] = "multi\nline"
    path = write_rows(tmp_path / "long.csv", rows)
    table = read_both(path)
    assert table.columns["code"].tolist() == [row[0] for row in rows[1:]]
    assert table.columns["flag"].tolist() == expected_text([row[1] for row in rows[1:]])
    assert table.columns["value"][0] == "0.0" and table.columns["value"][n - 4] == "multi\nline"
    assert table.lines is not None and table.line(n - 1) == n + 2


def test_numeric_file_in_float64_exactly(tmp_path: Path, rng: np.random.Generator) -> None:
    values = rng.standard_normal((3000, 4)) * 10.0 ** rng.integers(-30, 30, (3000, 4))
    path = tmp_path / "floats.csv"
    np.savetxt(path, values, delimiter=",", fmt="%.17g", header="a,b,c,d", comments="")
    table = read_both(path)
    np.testing.assert_array_equal(np.column_stack(list(table.columns.values())), values)
    assert table.lines is None


def test_auto_engine_without_pandas_reads_with_numpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_rows(tmp_path / "t.csv", [["a", "b"], ["1", "x"]])
    monkeypatch.setattr(table_module, "_pandas_installed", lambda: False)
    assert read_table(path).columns["b"].tolist() == ["x"]
    with pytest.raises(DataError, match="needs pandas"):
        read_table(path, engine="pandas")


def test_numpy_engine_does_not_import_pandas(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "t.csv", [["a", "b"], ["1", "x"], ["NA", "y"]])
    code = (
        "import sys; from nabla.data.table import read_table; "
        f"t = read_table({str(path)!r}, engine='numpy'); "
        "assert 'pandas' not in sys.modules, 'pandas imported'; print(t.columns['a'].tolist())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    )
    assert result.stdout.strip() == "[1.0, nan]"


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"engine": "arrow"}, "engine must be"),
        ({"header": "yes"}, "header must be"),
        ({"delimiter": ";;"}, "one character"),
        ({"encoding": "no-such-codec"}, "unknown encoding"),
    ],
)
def test_bad_arguments(tmp_path: Path, options: dict[str, Any], pattern: str) -> None:
    path = write_rows(tmp_path / "t.csv", [["a", "b"], ["1", "2"]])
    with pytest.raises(DataError, match=pattern):
        read_table(path, **options)


@pytest.mark.parametrize("engine", ENGINES)
def test_unclosed_quote_names_its_row(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('a,b\n1,2\n\n3,"open\n4,5\n')
    assert "row 4 has a quoted cell that is not closed" in error_of(path, engine)
    closed = tmp_path / "closed.csv"
    closed.write_text('a,b\n1,"x ""y"" z"\n3,"a""b"')  # no newline at the end
    assert read_both(closed).columns["b"].tolist() == ['x "y" z', 'a"b']


def test_written_by_pandas_reads_back(tmp_path: Path, rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {
            "f": rng.standard_normal(50),
            "g": np.where(rng.random(50) < 0.2, np.nan, rng.integers(0, 9, 50)),
            "s": rng.choice(["a b", 'q"uote', "x,y", ""], 50),
        }
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    path = tmp_path / "frame.csv"
    path.write_text(buffer.getvalue())
    table = read_both(path)
    np.testing.assert_array_equal(table.columns["f"], frame["f"].to_numpy())
    np.testing.assert_array_equal(table.columns["g"], frame["g"].to_numpy())
    assert table.columns["s"].tolist() == [s or None for s in frame["s"]]


def test_column_text_only_after_pandas_first_chunk(tmp_path: Path) -> None:
    n = 300_000  # pandas' low-memory parser returns columns mixed across its chunks
    rows = [["code", "flag"]] + [[str(i), "1"] for i in range(n)]
    rows[n - 5][0] = "X-5"
    rows[n - 6][1] = "True"
    table = read_both(write_rows(tmp_path / "mixed.csv", rows))
    assert table.columns["code"].tolist() == [row[0] for row in rows[1:]]
    assert table.columns["flag"].tolist() == [row[1] for row in rows[1:]]


def test_spaces_after_the_sample_and_quotes_after_spaces(tmp_path: Path) -> None:
    head = "".join(f"{i},x{i % 7},{i / 4}\n" for i in range(8000))  # past the 64 KB sample
    path = tmp_path / "spaces.csv"
    path.write_text("n,s,v\n" + head + '8000, NA , 2\n8001,  "y, z" , NA\n8002,\t"w",  3.5\n')
    table = read_both(path)
    # spaces before a quote are skipped, a tab is not: that quote is text (as in the csv module)
    assert table.columns["s"][-3:].tolist() == [None, "y, z", '"w"']
    np.testing.assert_array_equal(table.columns["v"][-3:], [2.0, np.nan, 3.5])
    assert table.lines is None


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_last_cells_and_a_short_row_in_a_long_file(tmp_path: Path, engine: str) -> None:
    rows = "".join(f"{i},{'NA' if i % 3 else i}\n" for i in range(20000))
    path = tmp_path / "last.csv"
    path.write_text("a,b\n" + rows)
    table = read_both(path)
    assert np.isnan(table.columns["b"]).sum() == sum(1 for i in range(20000) if i % 3)
    short = tmp_path / "short.csv"
    short.write_text("a,b,c\n" + "1,2,\n" * 10000 + "3,4\n" + "5,6,7\n")
    assert ": row 10002 has 2 cells, but row 1 has 3" in error_of(short, engine)


def test_other_encodings_and_line_ends(tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("name,v\nÅsa,1\n\nBo,NA\n", encoding="utf-16")
    table = read_both(utf16, encoding="utf-16")
    assert table.columns["name"].tolist() == ["Åsa", "Bo"] and table.line(1) == 4
    cr = tmp_path / "cr.csv"
    cr.write_bytes(b"a,b\r1,x\r\r2,y\r")
    table = read_both(cr)
    assert table.columns["b"].tolist() == ["x", "y"] and [table.line(i) for i in (0, 1)] == [2, 4]


def test_a_header_wider_than_the_sample(tmp_path: Path) -> None:
    names = [f"feature_with_a_long_name_{j:05d}" for j in range(3000)]  # about 100 KB
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1.5" for _ in names) + "\n")
    table = read_both(path)
    assert table.names == names and table.has_header and table.columns[names[-1]][0] == 1.5


CELLS = [
    *("1", "-2.5", ".5", "1e3", "007", " 3", "4 ", "+.5e-3", "-inf", "1e39", "0x1F", "1_000"),
    *("NA", " NA ", "", "?", "null", "None", "nan", "NaN", "NAN", "  ", " \t ", "\x0b"),
    *("abc", "x y", "a,b", 'q"uote', "multi\nline", "True", "false", "12:30", "2024-01-02"),
    *("é", "٣", "\tz", "1.5\xa0"),
]
EXTRA_LINES = ["", "  ", "\t", " \t ", "\xa0", "\x0c", ",", "\t\t"]


def outcome(path: Path, engine: str, delimiter: str | None) -> Table | str:
    try:
        return read_table(path, engine=engine, delimiter=delimiter)
    except DataError as error:
        return str(error)


@pytest.mark.parametrize("seed", range(6))
def test_engines_agree_on_random_files(tmp_path: Path, seed: int) -> None:
    """Random cells, delimiters (given or sniffed), quoting, line ends and stray lines: the
    same table or the same one-line error from both engines."""
    rng = np.random.default_rng(seed)
    for trial in range(40):
        n_columns = int(rng.integers(1, 6))
        pools = [list(rng.choice(CELLS, int(rng.integers(1, 7)))) for _ in range(n_columns)]
        rows = [[f"c{j}" for j in range(n_columns)]] if rng.random() < 0.7 else []
        rows += [[str(rng.choice(pool)) for pool in pools] for _ in range(rng.integers(1, 30))]
        buffer = io.StringIO()
        delimiter = str(rng.choice([",", ";", "\t", "|", " ", ":"]))
        csv.writer(
            buffer,
            delimiter=delimiter,
            lineterminator=str(rng.choice(["\n", "\r\n"])),
            quoting=int(rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        ).writerows(rows)
        lines = buffer.getvalue().split("\n")
        if rng.random() < 0.3:
            lines.insert(int(rng.integers(0, len(lines) + 1)), str(rng.choice(EXTRA_LINES)))
        path = tmp_path / f"random{trial}.csv"
        path.write_text("\n".join(lines))
        given = delimiter if rng.random() < 0.5 else None  # else sniffed
        results = [outcome(path, engine, given) for engine in ENGINES]
        if isinstance(results[0], str) or isinstance(results[1], str):
            assert results[0] == results[1], path.read_text()
            assert "\n" not in str(results[0])
        else:
            assert_same(*results)


def test_byte_order_mark_is_not_data_with_plain_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff1.5,x\n2,y\n".encode())
    table = read_both(path, encoding="utf-8")
    assert table.columns["col0"].tolist() == [1.5, 2.0]


def test_lone_carriage_returns_read_alike(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"  # a "\r" ending no "\r\n", before a delimiter: pandas differs
    path.write_bytes(b"a,b,c\n\r,1,x\n2,3,y\r4,5,z\r\n")
    table = read_both(path)
    assert table.columns["c"].tolist() == ["x", "y", "z"]
    np.testing.assert_array_equal(table.columns["a"], [np.nan, 2, 4])
    assert [table.line(i) for i in range(3)] == [3, 4, 5]


@pytest.mark.parametrize("engine", ENGINES)
def test_space_delimited_file(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "spaced.csv"  # columns aligned with runs of spaces
    path.write_text("Weight Waist  Pulse\n191   36    50\n189 37 NA\n")
    message = error_of(path, engine)
    assert "single column 'Weight Waist  Pulse'" in message and "--delimiter ' '" in message
    table = read_both(path, delimiter=" ")
    assert table.names == ["Weight", "Waist", "Pulse"]
    np.testing.assert_array_equal(table.columns["Pulse"], [50.0, np.nan])
