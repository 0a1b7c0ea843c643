"""The NumPy-only predictor of a model with preprocessing: raw CSV columns by name, text, NA.

It must agree with ``Preprocessing.transform`` + the nabla model to 1e-6, imported (a dict of
columns) and as a command (``python predictor.py rows.csv``) in a Python with NumPy alone.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.data import table as table_module
from nabla.data.columns import ColumnOptions, Preprocessing, choose_columns, target_values
from nabla.data.table import Table
from nabla.errors import DataError
from nabla.predictor import write_predictor

TOL = 1e-6
TARGET = {"name": "price", "task": "regression", "mean": 152.5, "scale": 77.25}
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
MISSING = ["", "NA", "?", "null", "NaN"]


def _records(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """Rows as Python values (None for missing): ID, date, numbers, text with commas/quotes."""
    islands = ["Biscoe", "Dream", 'Torgersen, "North"']
    records = []
    for i in range(n):
        records.append(
            {
                "PassengerId": 1000 + i,
                "ticket": f"T-{i:04d}",
                "date": f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "bill": None if rng.random() < 0.2 else round(float(rng.normal(44, 5)), 3),
                "island": None if rng.random() < 0.2 else str(rng.choice(islands)),
                "mass": round(float(rng.normal(4200, 800)), 1),
                "sex": str(rng.choice(["male", "female"])),
                "species": str(rng.choice(SPECIES)),
            }
        )
    return records


def _write_csv(path: Path, records: list[dict[str, Any]], rng: np.random.Generator) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(list(records[0]))
        for record in records:
            writer.writerow(
                [str(rng.choice(MISSING)) if v is None else v for v in record.values()]
            )
    return path


def _table(records: list[dict[str, Any]], source: str) -> Table:
    """The Table nabla's reader makes of the records (built here, independently of it)."""
    columns: dict[str, np.ndarray] = {}
    for name in records[0]:
        values = [r[name] for r in records]
        if all(v is None or isinstance(v, (int, float)) for v in values):
            columns[name] = np.array([np.nan if v is None else v for v in values], float)
        else:
            columns[name] = np.array(values, dtype=object)
    return Table(list(columns), columns, source)


@pytest.fixture
def penguins(tmp_path: Path, rng: np.random.Generator) -> dict[str, Any]:
    train = _records(rng, 80)
    new = _records(rng, 30)
    new[0]["island"], new[1]["sex"] = "Atlantis", "unknown"  # unknown categories: all zeros
    table = _table(train, "train.csv")
    options = ColumnOptions(indicators=True, id_column="PassengerId")
    choice = choose_columns(table, "species", options)
    assert choice.features == ["bill", "island", "mass", "sex"]  # ID, ticket, date left out
    prep = Preprocessing.fit(table, np.arange(60), choice, options)
    path = _write_csv(tmp_path / "new.csv", new, rng)
    return {"prep": prep, "new": new, "csv": path, "table": _table(new, "new.csv")}


DRIVER = """
import importlib.util, json, sys
import numpy as np
spec = importlib.util.spec_from_file_location("predictor", sys.argv[1])
predictor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(predictor)
rows = json.load(open("rows.json"))
out = predictor.predict_proba(rows) if predictor.PROBABILITIES else predictor.predict(rows)
np.save("out.npy", out)
"""


def _columns(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [r[name] for r in records] for name in records[0]}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predictor_matches_transform_and_model(
    tmp_path: Path, penguins: dict[str, Any], numpy_only_python: Callable[..., Any], dtype: str
) -> None:
    prep = penguins["prep"]
    nb.manual_seed(0)
    model = nb.nn.MLP([prep.n_features, 12, 3])
    model = model.double() if dtype == "float64" else model
    path = write_predictor(
        model,
        tmp_path / "predictor.py",
        preprocessing=prep.to_dict(),
        class_names=SPECIES,
        id_column="PassengerId",
    )
    expected = model.predict_proba(prep.transform(penguins["table"]).astype(dtype))
    # imported, with a dict of columns (None for missing)
    (tmp_path / "rows.json").write_text(json.dumps(_columns(penguins["new"])))
    numpy_only_python("-c", DRIVER, str(path))
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=0, atol=TOL)
    # as a command on the CSV file (missing tokens, quotes, extra columns in another order)
    result = numpy_only_python(str(path), str(penguins["csv"]))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[:3] == ["PassengerId", "row", "predicted"]  # as nabla predict
    assert [r["PassengerId"] for r in rows] == [str(r["PassengerId"]) for r in penguins["new"]]
    got = np.array([[float(r[f"p_{s}"]) for s in SPECIES] for r in rows])
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    assert [r["predicted"] for r in rows] == [SPECIES[i] for i in expected.argmax(axis=1)]


def test_nabla_reads_the_same_csv_into_the_same_features(penguins: dict[str, Any]) -> None:
    read_table = getattr(table_module, "read_table", None)
    if read_table is None:
        pytest.skip("nabla.data.table.read_table is not there yet")
    read = read_table(penguins["csv"])
    prep = penguins["prep"]
    np.testing.assert_array_equal(prep.transform(read), prep.transform(penguins["table"]))


def test_regression_predictor_prints_values_in_target_units(
    tmp_path: Path, penguins: dict[str, Any], numpy_only_python: Callable[..., Any]
) -> None:
    prep = penguins["prep"]
    nb.manual_seed(1)
    model = nb.nn.MLP([prep.n_features, 8, 1])
    path = write_predictor(
        model, tmp_path / "predictor.py", preprocessing=prep, target=TARGET, probabilities=False
    )
    with nb.no_grad():
        out = model(nb.tensor(prep.transform(penguins["table"]))).data
    expected = target_values(out, TARGET)[:, 0]
    (tmp_path / "rows.json").write_text(json.dumps(_columns(penguins["new"])))
    numpy_only_python("-c", DRIVER, str(path))
    got = np.load(tmp_path / "out.npy")
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # the same float32 network, the same scaling
    lines = numpy_only_python(str(path), str(penguins["csv"])).stdout.splitlines()
    assert lines[0] == "row,predicted"
    printed = np.array([float(line.split(",")[1]) for line in lines[1:]])
    np.testing.assert_allclose(printed, expected, rtol=TOL)


def test_semicolons_and_a_numeric_only_model_take_arrays(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    X = rng.normal(size=(30, 3))
    X[rng.random(X.shape) < 0.2] = np.nan
    table = Table.from_matrix(np.column_stack([X, rng.normal(size=30)]), ["a", "b", "c", "y"])
    options = ColumnOptions(indicators=True)
    prep = Preprocessing.fit(table, np.arange(20), choose_columns(table, "y", options), options)
    model = nb.nn.MLP([prep.n_features, 4, 2])
    predictor = runpy.run_path(str(write_predictor(model, tmp_path / "p.py", preprocessing=prep)))
    expected = model.predict_proba(prep.transform(table))
    np.testing.assert_allclose(predictor["predict_proba"](X), expected, rtol=0, atol=TOL)
    text = "c;a;b\n" + "\n".join(
        ";".join("NA" if np.isnan(v) else repr(float(v)) for v in row) for row in X[:, [2, 0, 1]]
    )
    (tmp_path / "rows.csv").write_text(text + "\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert predictor["main"]([str(tmp_path / "rows.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    got = np.array([[float(r["p_0"]), float(r["p_1"])] for r in rows])
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


CHECK = """
import contextlib, importlib.util, io, json, sys
spec = importlib.util.spec_from_file_location("predictor", sys.argv[1])
predictor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(predictor)
results = []
for path in sys.argv[2:]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = predictor.main([path])
    results.append([status, err.getvalue()])
print(json.dumps(results))
"""


def test_errors_are_nablas_one_line_messages(
    tmp_path: Path, penguins: dict[str, Any], numpy_only_python: Callable[..., Any]
) -> None:
    document = penguins["prep"].to_dict()
    document["strict"] = True
    prep = Preprocessing.from_dict(document)
    model = nb.nn.MLP([prep.n_features, 2])
    path = write_predictor(model, tmp_path / "p.py", preprocessing=prep)
    header = "bill,island,mass,sex"
    cases = {
        "text-in-numbers": (f"{header}\n40,Dream,4000,male\n41,Dream,heavy,male\n", 3, "mass"),
        "unknown": (f"{header}\n40,Dream,4000,male\n41,Atlantis,4100,male\n", 3, "island"),
    }
    for name, (text, _, _) in cases.items():
        (tmp_path / f"{name}.csv").write_text(text)
    (tmp_path / "absent.csv").write_text("bill,mass\n1,2\n")
    files = [f"{name}.csv" for name in cases] + ["absent.csv"]
    results = json.loads(numpy_only_python("-c", CHECK, str(path), *files).stdout)
    for (name, (text, row, column)), (status, err) in zip(cases.items(), results):
        assert status == 1 and len(err.splitlines()) == 1, err
        records = list(csv.DictReader(io.StringIO(text)))
        cells = {k: np.array([r[k] for r in records], dtype=object) for k in records[0]}
        for numeric in ("bill", "mass"):
            with contextlib.suppress(ValueError):  # as the reader: numbers when all are
                cells[numeric] = cells[numeric].astype(float)
        with pytest.raises(DataError) as info:  # nabla's own message for the same cell
            prep.transform(Table(list(cells), cells, f"{name}.csv"))
        assert err.strip().split(": error: ", 1)[1] == str(info.value)
        assert f"row {row}, column {column!r}" in err
    status, err = results[-1]
    assert status == 1 and "missing column(s) 'island', 'sex'" in err


def test_strict_at_predict_time_and_data_frames(
    tmp_path: Path, penguins: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pd = pytest.importorskip("pandas")
    prep = penguins["prep"]  # fitted without strict: unknown categories are all zeros
    model = nb.nn.MLP([prep.n_features, 3])
    predictor = runpy.run_path(str(write_predictor(model, tmp_path / "p.py", preprocessing=prep)))
    csv_path = str(penguins["csv"])
    assert predictor["main"]([csv_path]) == 0
    capsys.readouterr()
    assert predictor["main"]([csv_path, "--strict"]) == 1
    err = capsys.readouterr().err
    with pytest.raises(DataError) as info:
        prep.transform(penguins["table"], strict=True)
    assert err.strip().split(": error: ", 1)[1] == str(info.value).replace("new.csv", csv_path)
    assert "unknown category 'Atlantis'" in err and len(err.splitlines()) == 1
    frame = pd.DataFrame(_columns(penguins["new"]))
    expected = model.predict_proba(prep.transform(penguins["table"]))
    np.testing.assert_allclose(predictor["predict_proba"](frame), expected, rtol=0, atol=TOL)


def test_the_command_reads_the_training_files_encoding(tmp_path: Path) -> None:
    city = np.array(["Göteborg", "Malmö", "Umeå"] * 4, dtype=object)
    table = Table(["city", "y"], {"city": city, "y": np.zeros(12)}, "t.csv")
    options = ColumnOptions()
    prep = Preprocessing.fit(table, np.arange(12), choose_columns(table, "y", options), options)
    model = nb.nn.MLP([prep.n_features, 2])
    path = write_predictor(model, tmp_path / "p.py", preprocessing=prep, encoding="latin-1")
    # as nabla predict: read_table refuses a file of one column (it suggests --delimiter) and
    # takes a first row for a header only above a numeric column
    (tmp_path / "rows.csv").write_bytes("city,n\nMalmö,1\nUmeå,2\n".encode("latin-1"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert runpy.run_path(str(path))["main"]([str(tmp_path / "rows.csv")]) == 0
    got = np.array(
        [[float(v) for v in line.split(",")[2:]] for line in out.getvalue().split()[1:]]
    )
    new = Table(["city"], {"city": np.array(["Malmö", "Umeå"], dtype=object)}, "rows.csv")
    np.testing.assert_allclose(got, model.predict_proba(prep.transform(new)), rtol=0, atol=TOL)


def test_onnx_on_the_same_csv_agrees(tmp_path: Path, penguins: dict[str, Any]) -> None:
    """The CSV's cells as the graph's metadata asks (stripped, "" or NaN for missing)."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    prep = penguins["prep"]
    model = nb.nn.MLP([prep.n_features, 6, 3])
    nb.onnx.export(model, tmp_path / "m.onnx", preprocessing=prep, probabilities=True)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    tokens = set(json.loads(props["missing_tokens"]))
    with penguins["csv"].open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    numeric = json.loads(props["input_columns"])
    text = json.loads(props["text_columns"])
    feeds = {
        "input": np.array(
            [[np.nan if r[n].strip() in tokens else float(r[n]) for n in numeric] for r in rows],
            dtype=np.float32,
        ),
        "text": np.array([[r[n].strip() for n in text] for r in rows], dtype=object),
    }
    (got,) = session.run(None, feeds)
    expected = model.predict_proba(prep.transform(penguins["table"]))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
