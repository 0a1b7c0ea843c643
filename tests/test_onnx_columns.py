"""ONNX graphs that take raw columns agree with Preprocessing.transform + the nabla model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import nabla as nb
from nabla.data.columns import ColumnOptions, Preprocessing, choose_columns, target_values
from nabla.data.table import Table

TOL = 1e-6
TARGET = {"name": "price", "task": "regression", "mean": 152.5, "scale": 77.25}


def _table(rng: np.random.Generator, n: int, source: str = "t.csv") -> Table:
    age = rng.normal(40.0, 12.0, n)
    age[rng.random(n) < 0.25] = np.nan
    fare = rng.exponential(30.0, n)
    fare[rng.random(n) < 0.1] = np.nan
    island = np.array(rng.choice(["Biscoe", "Dream", "Torgersen, North"], n), dtype=object)
    island[rng.random(n) < 0.2] = None
    sex = np.array(rng.choice(["male", "female", "other"], n), dtype=object)
    columns = {"age": age, "island": island, "fare": fare, "sex": sex, "y": rng.normal(size=n)}
    return Table(list(columns), columns, source)


def _with_unknowns(table: Table) -> Table:
    columns = {name: column.copy() for name, column in table.columns.items()}
    columns["island"][:3] = ["Atlantis", "Biscoe", "NA"]  # unknown, known, missing token
    columns["sex"][3] = "unknown"
    return Table(table.names, columns, "new.csv")


def _feeds(session: Any, table: Table) -> dict[str, np.ndarray]:
    """The graph's inputs from a table, by the column lists in its metadata."""
    props = session.get_modelmeta().custom_metadata_map
    feeds = {}
    for spec in session.get_inputs():
        names = json.loads(props[f"{spec.name}_columns"])
        if spec.type == "tensor(string)":
            cells = [["" if v is None else v for v in table.columns[n]] for n in names]
            feeds[spec.name] = np.array(cells, dtype=object).T
        else:
            dtype = np.float64 if "double" in spec.type else np.float32
            feeds[spec.name] = np.column_stack([table.columns[n] for n in names]).astype(dtype)
    return feeds


def _export(tmp_path: Path, model: Any, prep: Preprocessing, **kwargs: Any) -> Any:
    path = tmp_path / "model.onnx"
    nb.onnx.export(model, path, preprocessing=prep.to_dict(), **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _fit(table: Table, **options: Any) -> Preprocessing:
    opts = ColumnOptions(**options)
    return Preprocessing.fit(table, np.arange(60), choose_columns(table, "y", opts), opts)


OPTIONS = {
    "median+indicators": {"indicators": True},
    "mean": {"impute": "mean"},
    "unstandardized": {"standardize": False, "indicators": True},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", list(OPTIONS))
def test_classifier_on_raw_columns_matches_transform_and_model(
    tmp_path: Path, rng: np.random.Generator, dtype: str, options: str
) -> None:
    table = _table(rng, 90)
    prep = _fit(table, **OPTIONS[options])
    nb.manual_seed(0)
    model = nb.nn.MLP([prep.n_features, 16, 3], activation="relu")
    model = model.double() if dtype == "float64" else model
    session = _export(tmp_path, model, prep, probabilities=True)
    new = _with_unknowns(table)
    (got,) = session.run(["probabilities"], _feeds(session, new))
    expected = model.predict_proba(prep.transform(new).astype(dtype))
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_the_graph_computes_the_features_themselves(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """An identity network: the graph's output is transform's output, bitwise."""
    table = _table(rng, 90)
    prep = _fit(table, indicators=True)
    identity = nb.nn.Linear(prep.n_features, prep.n_features, bias=False)
    identity.weight.data[...] = np.eye(prep.n_features, dtype=np.float32)
    session = _export(tmp_path, identity, prep)
    new = _with_unknowns(table)
    (got,) = session.run(None, _feeds(session, new))
    np.testing.assert_array_equal(got, prep.transform(new))
    props = {
        p.key: json.loads(p.value) for p in onnx.load(str(tmp_path / "model.onnx")).metadata_props
    }
    assert props["input_columns"] == ["age", "fare"]
    assert props["text_columns"] == ["island", "sex"]
    assert Preprocessing.from_dict(props["preprocessing"]).to_dict() == prep.to_dict()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regression_outputs_are_in_the_target_units(
    tmp_path: Path, rng: np.random.Generator, dtype: str
) -> None:
    table = _table(rng, 90)
    prep = _fit(table, indicators=True)
    nb.manual_seed(1)
    model = nb.nn.MLP([prep.n_features, 8, 1])
    model = model.double() if dtype == "float64" else model
    session = _export(tmp_path, model, prep, probabilities=False, target=TARGET)
    assert session.get_outputs()[0].name == "predicted"
    new = _with_unknowns(table)
    (got,) = session.run(None, _feeds(session, new))
    with nb.no_grad():
        out = model(nb.tensor(prep.transform(new).astype(dtype))).data
    expected = target_values(out, TARGET)
    assert got.dtype == np.float64
    # float32 networks differ in the last bits of their sums; in the target's units that is
    # relative, so compare relatively (and the network output before scaling absolutely)
    np.testing.assert_allclose(got, expected, rtol=TOL, atol=0)
    np.testing.assert_allclose((got - 152.5) / 77.25, out, rtol=0, atol=TOL)


def test_text_only_and_numeric_only_tables(tmp_path: Path, rng: np.random.Generator) -> None:
    table = _table(rng, 90)
    for keep in (("island", "sex"), ("age", "fare")):
        prep = _fit(table, features=keep, indicators=True)
        model = nb.nn.MLP([prep.n_features, 4, 2])
        session = _export(tmp_path, model, prep, probabilities=True)
        assert len(session.get_inputs()) == 1
        (got,) = session.run(None, _feeds(session, table))
        expected = model.predict_proba(prep.transform(table))
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_mismatched_preprocessing_is_refused(rng: np.random.Generator, tmp_path: Path) -> None:
    prep = _fit(_table(rng, 90))
    with pytest.raises(nb.deploy.ExportError, match=r"makes 8 features, but the model takes"):
        nb.onnx.export(nb.nn.MLP([5, 2]), tmp_path / "m.onnx", preprocessing=prep)
    scaler = {"mean": [0.0] * 8, "scale": [1.0] * 8}
    with pytest.raises(nb.deploy.ExportError, match="not both"):
        nb.onnx.export(nb.nn.MLP([8, 2]), tmp_path / "m.onnx", preprocessing=prep, scaler=scaler)


def test_a_coerced_column_takes_nan_for_its_stray_cells(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """A text column of mostly numbers: the caller parses it (NaN for a cell that is not a
    number, here pandas.to_numeric(errors="coerce")); the graph agrees with transform."""
    pd = pytest.importorskip("pandas")
    table = _table(rng, 90)
    mass = np.array([f"{v:.1f}" for v in rng.normal(4200, 800, 90)], dtype=object)
    mass[[4, 50]] = ["3,750", "unknown"]
    columns = {**table.columns, "mass": mass}
    table = Table(list(columns), columns, "t.csv")
    prep = _fit(table, indicators=True)
    assert [c["name"] for c in prep.to_dict()["columns"] if c.get("coerced")] == ["mass"]
    identity = nb.nn.Linear(prep.n_features, prep.n_features, bias=False)
    identity.weight.data[...] = np.eye(prep.n_features, dtype=np.float32)
    session = _export(tmp_path, identity, prep)
    props = session.get_modelmeta().custom_metadata_map
    assert json.loads(props["input_coerced"]) == ["mass"]
    assert "strip" in json.loads(props["text_cells"])
    new = _with_unknowns(table)
    new.columns["mass"][:3] = ["4000", "heavy", None]
    numbers = pd.to_numeric(pd.Series(new.columns["mass"]), errors="coerce").to_numpy()
    parsed = Table(new.names, {**new.columns, "mass": numbers}, "parsed.csv")
    (got,) = session.run(None, _feeds(session, parsed))
    np.testing.assert_array_equal(got, prep.transform(new))
    assert got[1, prep.feature_names.index("mass_missing")] == 1


def test_missing_text_is_all_zeros_under_impute_drop(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    table = _table(rng, 90)
    prep = _fit(table, impute="drop", features=("island", "sex"))
    model = nb.nn.MLP([prep.n_features, 4, 2])
    session = _export(tmp_path, model, prep, probabilities=True)
    new = _with_unknowns(table)
    assert new.missing("island").any()
    (got,) = session.run(None, _feeds(session, new))
    np.testing.assert_allclose(got, model.predict_proba(prep.transform(new)), rtol=0, atol=TOL)
