"""``nabla predict`` and the exported NumPy-only predictor read every CSV file the same way.

Table-driven: for each model (a plain ``nb.save``'d MLP, a model file in the older format with
feature names and a scaler but no preprocessing, a model trained by ``nabla train`` on a CSV
with text, missing values and an ID column) and each edge-case file, ``nabla predict MODEL
rows.csv`` and ``python predictor.py rows.csv`` (the predictor written by ``nabla export``)
exit with the same status, print the same rows (probabilities to the printed digits) and,
on an error, the same one-line message after ``": error: "``. nabla predict is the reference:
a difference is the predictor's bug. A few cases also check that reference against an
independent reading of the file (csv module + NumPy).
"""

from __future__ import annotations

import csv
import io
import runpy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.cli import main
from nabla.data import StandardScaler
from nabla.data.table import MISSING_TOKENS

pytest.importorskip("safetensors")

NUMERIC = ["a", "b", "c"]  # the legacy model's feature names


def _numeric_files() -> dict[str, str | None]:
    """Edge-case files for a model of three numeric columns a, b, c (None: no file)."""
    files: dict[str, str | None] = {
        "header": "a,b,c\n1,2,3\n4.5,-5e-1,6\n",
        "no-header": "1,2,3\n4,5,6\n",
        "placeholder-header": "col0,col1,col2\n1,2,3\n4,5,6\n",
        "xyz-header": "x,y,z\n1,2,3\n4,5,6\n",
        "extra-columns": "a,b,c,extra\n1,2,3,9\n4,5,6,9\n",
        "reordered": "c,a,b\n3,1,2\n6,4,5\n",
        "missing-column": "a,b\n1,2\n4,5\n",
        "renamed": "a,b,z\n1,2,3\n",
        "empty-cell": "a,b,c\n1,,3\n4,5,6\n",
        "headerless-empty-cell": "1,,3\n4,5,6\n",
        "text-in-numbers": "a,b,c\n1,two,3\n4,5,6\n",
        "inf": "a,b,c\n1,2,3\n4,-inf,6\n",
        "overflow-float32": "a,b,c\n1e39,2,3\n",
        "semicolons": "a;b;c\n1;2;3\n4.5;6;7\n",
        "tabs": "a\tb\tc\n1\t2\t3\n4\t5\t6\n",
        "quoted": '"a","b","c"\n"1","2","3"\n" 4 ",5,"6"\n',
        "id-column": "id,a,b,c\n17,1,2,3\n18,4,5,6\n",
        "crlf-blank-lines-bom": "\ufeffa,b,c\r\n1,2,3\r\n\r\n4,5,6\r\n",
        "spaces": "a, b, c\n 1, 2, 3\n",
        "ragged": "a,b,c\n1,2\n",
        "header-only": "a,b,c\n",
        "empty-file": "",
        "one-column": "a\n1\n2\n",
        "repeated-name": "a,b,b,c\n1,2,3,4\n",
        "absent": None,
    }
    for k, token in enumerate(MISSING_TOKENS):
        files[f"missing-token-{k}"] = f"a,b,c\n1,{token},3\n4,5,6\n"
    return files


def _table_files() -> dict[str, str]:
    """Edge-case files for the model trained on penguins.csv (rowid, island, bill, mass)."""
    files = {
        "new-rows": "rowid,island,bill,mass,species\n"
        'P1,Dream,40.1,4000,Adelie\nP2,"Torgersen, North",NA,3900,Gentoo\n'
        "P3,?,45,null,Adelie\nP4,Biscoe,,4100,\n",
        "no-target-no-id": "bill,mass,island\n40,4000,Dream\n41,4100,Biscoe\n",
        "unknown-category": "rowid,island,bill,mass\nP1,Atlantis,40,4000\nP2,Dream,41,4100\n",
        "semicolons-quotes": 'island;bill;mass\n"Dream; east";40;4000\nBiscoe;"41";4100\n',
        "numeric-id": "rowid,island,bill,mass\n1.50,Dream,40,4000\n2,Biscoe,41,4100\nNA,Dream,1,2\n",
        "text-in-numbers": "island,bill,mass\nDream,forty,4000\n",
        "inf": "island,bill,mass\nDream,40,inf\n",
        "overflow-float32": "island,bill,mass\nDream,40,-1e39\n",
        "missing-column": "island,bill\nDream,40\n",
        "tabs": "mass\tbill\tisland\n4000\t40\tDream\n",
        "all-missing": "island,bill,mass\nNA,NA,NA\n,,\n",
    }
    return files


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each model file, its exported predictor (loaded) and the folder of its files."""
    folder = tmp_path_factory.mktemp("agree")
    nb.manual_seed(0)
    rng = np.random.default_rng(0)
    paths: dict[str, Path] = {}
    # a plain MLP saved alone: columns col0, col1, col2
    paths["bare"] = folder / "bare.safetensors"
    nb.save(nb.nn.MLP([3, 5, 2]), paths["bare"])
    # a model file of the older format: feature names and a scaler, no preprocessing
    paths["legacy"] = folder / "legacy.safetensors"
    scaler = StandardScaler().fit(rng.normal(3.0, 2.0, size=(50, 3)))
    metadata = {"feature_names": NUMERIC, "scaler": scaler.to_dict(), "class_names": ["n", "y"]}
    nb.save(nb.nn.MLP([3, 4, 2]), paths["legacy"], metadata=metadata)
    # nabla train on a CSV with text, missing values and an ID column
    lines = ["rowid,island,bill,mass,species"]
    for i in range(90):
        k = i % 3
        island = ["Biscoe", "Dream", "Torgersen, North"][(k + i // 3) % 3]
        bill = "NA" if i % 7 == 3 else f"{38 + 6 * k + rng.normal():.1f}"
        island = "?" if i % 11 == 5 else island
        lines.append(f'P{i},"{island}",{bill},{3500 + 700 * k + rng.normal(0, 99):.0f},s{k}')
    data = folder / "penguins.csv"
    data.write_text("\n".join(lines) + "\n")
    run = folder / "run"
    args = ["train", "--data", str(data), "--target", "species", "--id", "rowid"]
    args += ["--out", str(run), "--epochs", "3", "--hidden", "8", "--no-progress", "--no-plots"]
    assert main(args) == 0
    paths["trained"] = run / "model.safetensors"
    loaded = {}
    for name, path in paths.items():
        out = folder / f"{name}_predictor.py"
        assert main(["export", str(path), "--python", str(out)]) == 0
        loaded[name] = {"path": path, "predictor": runpy.run_path(str(out)), "folder": folder}
    return loaded


def _run_both(
    model: dict[str, Any], name: str, text: str | None, capsys: pytest.CaptureFixture[str]
) -> tuple[Any, Any, int]:
    """(nabla predict's (out, err), the predictor's (out, err), status) on one file."""
    rows = model["folder"] / f"{name}.csv"
    rows.unlink(missing_ok=True)
    if text is not None:
        rows.write_bytes(text.encode("utf-8"))
    capsys.readouterr()
    status = main(["predict", str(model["path"]), str(rows)])
    cli = capsys.readouterr()
    theirs = model["predictor"]["main"]([str(rows)])
    exported = capsys.readouterr()
    assert (status, name) == (theirs, name)
    return cli, exported, status


def _same(cli: Any, exported: Any, status: int, name: str) -> None:
    assert cli.out == exported.out, name
    if status:
        assert len(cli.err.splitlines()) == len(exported.err.splitlines()) == 1, name
        assert cli.err.split(": error: ", 1)[1] == exported.err.split(": error: ", 1)[1], name


@pytest.mark.parametrize("model_name", ["bare", "legacy"])
@pytest.mark.parametrize("name", list(_numeric_files()))
def test_numeric_models_agree(
    models: dict[str, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    model_name: str,
    name: str,
) -> None:
    text = _numeric_files()[name]
    cli, exported, status = _run_both(models[model_name], name, text, capsys)
    _same(cli, exported, status, name)


@pytest.mark.parametrize("name", list(_table_files()))
def test_trained_model_agrees(
    models: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    cli, exported, status = _run_both(models["trained"], name, _table_files()[name], capsys)
    _same(cli, exported, status, name)


def test_strict_agrees(
    models: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    model = models["trained"]
    rows = model["folder"] / "strict.csv"
    rows.write_text(_table_files()["unknown-category"])
    capsys.readouterr()
    status = main(["predict", str(model["path"]), str(rows), "--strict"])
    cli = capsys.readouterr()
    assert status == model["predictor"]["main"]([str(rows), "--strict"]) == 1
    _same(cli, capsys.readouterr(), status, "strict")
    assert "unknown category 'Atlantis'" in cli.err


def _independent_proba(model: Any, X: np.ndarray, scaler: dict[str, Any] | None) -> np.ndarray:
    x = X.astype(np.float32)
    if scaler is not None:
        x = (x - np.float32(scaler["mean"])) / np.float32(scaler["scale"])
    with nb.no_grad():
        z: np.ndarray = model(nb.tensor(x.astype(np.float32))).data.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    proba: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return proba


@pytest.mark.parametrize("name", ["header", "reordered", "semicolons", "quoted", "id-column"])
def test_the_reference_reads_the_right_numbers(
    models: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """nabla predict itself, checked against the csv module + NumPy on well-formed files."""
    model = models["legacy"]
    text = _numeric_files()[name]
    assert text is not None
    cli, exported, status = _run_both(model, name, text, capsys)
    assert status == 0
    delimiter = ";" if name == "semicolons" else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    X = np.array([[float(r[n]) for n in NUMERIC] for r in reader])
    metadata = nb.io.load_metadata(model["path"])["user"]
    expected = _independent_proba(nb.load(model["path"]), X, metadata["scaler"])
    _same(cli, exported, status, name)
    printed = list(csv.DictReader(io.StringIO(cli.out)))
    got = np.array([[float(r["p_n"]), float(r["p_y"])] for r in printed])
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)  # printed with 6 digits
    assert [r["row"] for r in printed] == [str(i + 1) for i in range(len(X))]


@pytest.mark.parametrize(
    ("name", "data", "options"),
    [
        ("delimiter-given", "a;b;c\n1;2;3\n", ["--delimiter", ";"]),
        ("delimiter-wrong", "a;b;c\n1;2;3\n", ["--delimiter", ","]),
        ("delimiter-tab", "a\tb\tc\n1\t2\t3\n", ["--delimiter", "tab"]),
        ("encoding-latin-1", "a,b,c,note\n1,2,3,Malm\xf6\n", ["--encoding", "latin-1"]),
        ("encoding-not-utf-8", "a,b,c,note\n1,2,3,Malm\xf6\n", []),
        ("id-given", "a,b,c,note\n1,2,3,x7\n4,5,6,\n", ["--id", "note"]),
        ("id-absent", "a,b,c,note\n1,2,3,x7\n", ["--id", "name"]),
    ],
)
def test_options_agree(
    models: dict[str, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    name: str,
    data: str,
    options: list[str],
) -> None:
    """--delimiter, --encoding and --id, which both commands take."""
    model = models["legacy"]
    rows = model["folder"] / f"{name}.csv"
    rows.write_bytes(data.encode("latin-1"))
    capsys.readouterr()
    status = main(["predict", str(model["path"]), str(rows), *options])
    cli = capsys.readouterr()
    assert status == model["predictor"]["main"]([str(rows), *options]), name
    _same(cli, capsys.readouterr(), status, name)
