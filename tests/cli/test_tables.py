"""``nabla train``/``evaluate``/``predict``/``export`` on real-looking tables.

Generated CSV files have what public data sets have: text columns, missing values written
several ways, a date column, an ID column, semicolons and quoted cells. Training reads them
(IDs and dates left out with a notice), the model file carries the encoding, and ``nabla
predict``, the ONNX export (under onnxruntime) and the NumPy-only predictor agree on new rows.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.cli import main

pytest.importorskip("safetensors")

ISLANDS = ["Biscoe", "Dream", "Torgersen"]
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
MISSING = ["", "NA", "NaN", "null", "?"]


def penguin_rows(n: int, seed: int, islands: list[str] = ISLANDS) -> list[dict[str, str]]:
    """Rows whose species follows from a numeric column and the island (text)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = int(rng.integers(3))
        island = islands[(k + int(rng.integers(2))) % len(islands)]
        bill = 38.0 + 6.0 * k + rng.normal(0, 1.0)
        flipper = 190.0 + 12.0 * k + rng.normal(0, 3.0)
        mass = 3500.0 + 700.0 * k + rng.normal(0, 150.0)
        cells = {
            "rowid": f"P{i:05d}",
            "species": SPECIES[k],
            "island": island,
            "bill_length_mm": f"{bill:.1f}",
            "flipper_length_mm": f"{flipper:.0f}",
            "body_mass_g": f"{mass:.0f}",
            "sex": ["male", "female"][int(rng.integers(2))],
            "date_egg": f"2009-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "comment": f"nest {i % 7}; seen, twice" if i % 5 == 0 else "",
        }
        if i % 9 == 3:
            cells["bill_length_mm"] = MISSING[i % len(MISSING)]
        if i % 13 == 5:
            cells["sex"] = "NA"
        rows.append(cells)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def train(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    code = main(["train", *args, "--no-progress", "--no-plots"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("penguins")
    data = write_csv(folder / "penguins.csv", penguin_rows(300, 0), delimiter=";")
    out = folder / "run"
    args = ["--data", str(data), "--target", "species", "--id", "rowid", "--out", str(out)]
    args += ["--epochs", "30", "--hidden", "16", "--optimizer", "adam", "--lr", "0.01"]
    with pytest.MonkeyPatch.context():
        code = main(["train", *args, "--no-progress", "--no-plots"])
    assert code == 0
    new = write_csv(folder / "new.csv", penguin_rows(40, 1)[::-1])
    return {"folder": folder, "data": data, "model": out / "model.safetensors", "new": new}


def test_training_reads_text_missing_values_dates_and_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "p.csv", penguin_rows(200, 0), delimiter=";")
    out, err = train(
        [
            "--data",
            str(data),
            "--target",
            "species",
            "--epochs",
            "3",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    # notices name each column left out and why, before training
    assert "rowid" in err and "date_egg" in err
    # the data summary and the model print before the results
    assert out.index("classification of 'species'") < out.index("MLP(") < out.index("time ")
    assert "island" in out  # the one-hot encoded text column is listed
    metadata = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metadata["final"]["test"]["samples"] > 0


def test_the_penguins_model_learns(
    penguins: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    report = penguins["folder"] / "eval.json"
    code = main(["evaluate", str(penguins["model"]), "--data", str(penguins["data"])])
    code |= main(
        [
            "evaluate",
            str(penguins["model"]),
            "--data",
            str(penguins["data"]),
            "--json",
            str(report),
        ]
    )
    assert code == 0, capsys.readouterr().err
    # species follows from bill length and mass: a held-out accuracy well above chance (1/3)
    assert json.loads(report.read_text())["accuracy"] > 0.9


def _predict(model: Path, rows: Path, *extra: str) -> list[dict[str, str]]:
    output = rows.with_name(rows.stem + "-predictions.csv")
    assert main(["predict", str(model), str(rows), "-o", str(output), *extra]) == 0
    return list(csv.DictReader(io.StringIO(output.read_text())))


def test_predict_copies_the_id_and_reads_columns_by_name(
    penguins: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    predictions = _predict(penguins["model"], penguins["new"])
    new_rows = list(csv.DictReader(io.StringIO(penguins["new"].read_text())))
    assert [p["rowid"] for p in predictions] == [r["rowid"] for r in new_rows]
    assert list(predictions[0])[:3] == ["rowid", "row", "predicted"]
    correct = np.mean([p["predicted"] == r["species"] for p, r in zip(predictions, new_rows)])
    assert correct > 0.85
    for p in predictions:
        total = sum(float(p[f"p_{s}"]) for s in SPECIES)
        assert total == pytest.approx(1.0, abs=1e-5)


def test_unknown_categories_are_zeros_or_refused_with_strict(
    penguins: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = penguin_rows(20, 2, islands=["Biscoe", "Atlantis", "Dream"])
    path = write_csv(tmp_path / "unknown.csv", rows)
    predictions = _predict(penguins["model"], path)
    assert len(predictions) == 20
    capsys.readouterr()
    assert main(["predict", str(penguins["model"]), str(path), "--strict"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "Atlantis" in err and "island" in err


def _probabilities(rows: list[dict[str, str]]) -> np.ndarray:
    return np.array([[float(r[f"p_{s}"]) for s in SPECIES] for r in rows])


def test_onnx_and_the_numpy_predictor_agree_with_predict(
    penguins: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnxruntime")
    onnx_path, py_path = tmp_path / "model.onnx", tmp_path / "predictor.py"
    assert main(["export", str(penguins["model"]), "--onnx", str(onnx_path)]) == 0
    assert main(["export", str(penguins["model"]), "--python", str(py_path)]) == 0
    expected = _probabilities(_predict(penguins["model"], penguins["new"]))
    # the NumPy-only predictor, as a command in a fresh interpreter
    result = subprocess.run(
        [sys.executable, str(py_path), str(penguins["new"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    predicted = list(csv.DictReader(io.StringIO(result.stdout)))
    np.testing.assert_allclose(_probabilities(predicted), expected, atol=1e-6)
    # ONNX: raw numeric columns (NaN for missing) and text columns, as its metadata lists them
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feeds = onnx_feeds(session, penguins["new"])
    got = session.run(None, feeds)[0]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def onnx_feeds(session: Any, path: Path) -> dict[str, np.ndarray]:
    """The ONNX model's inputs from a CSV: the columns its metadata names, by kind."""
    props = session.get_modelmeta().custom_metadata_map
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    missing = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"}
    feeds: dict[str, np.ndarray] = {}
    for spec in session.get_inputs():
        names = json.loads(props[f"{spec.name}_columns"])
        if spec.type == "tensor(string)":
            cells = [
                [r[n].strip() if r[n].strip() not in missing else "" for n in names] for r in rows
            ]
            feeds[spec.name] = np.array(cells, dtype=object)
        else:
            values = [
                [np.nan if r[n].strip() in missing else float(r[n]) for n in names] for r in rows
            ]
            dtype = np.float64 if "double" in spec.type else np.float32
            feeds[spec.name] = np.array(values, dtype=dtype)
    return feeds


def test_semicolons_are_detected_and_a_wrong_delimiter_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "semi.csv", penguin_rows(60, 0), delimiter=";")
    train(
        [
            "--data",
            str(data),
            "--target",
            "species",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "a"),
        ],
        capsys,
    )
    code = main(
        [
            "train",
            "--data",
            str(data),
            "--delimiter",
            "|",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "b"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "--delimiter" in err


def test_tab_separated_and_latin1_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = penguin_rows(60, 0, islands=["Bíscoe", "Dréam", "Torgersen"])
    text = write_csv(tmp_path / "t.csv", rows, delimiter="\t").read_text(encoding="utf-8")
    path = tmp_path / "latin.csv"
    path.write_bytes(text.encode("latin-1"))
    code = main(["train", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 1 and "--encoding" in err
    out, _ = train(
        ["--data", str(path), "--target", "species", "--encoding", "latin-1", "--delimiter", "\\t"]
        + ["--epochs", "1", "--out", str(tmp_path / "y")],
        capsys,
    )
    assert "classification of 'species'" in out


def test_a_reused_out_is_refused_unless_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["--data", "iris", "--epochs", "2", "--out", str(out)]
    assert main(["train", *args, "--no-progress", "--report"]) == 0
    assert (out / "report.html").exists()
    capsys.readouterr()
    assert main(["train", *args, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert main(["train", *args, "--no-progress", "--no-plots", "--overwrite"]) == 0
    # the old run's report and curves are gone; nothing stale stays beside the new model
    assert not (out / "report.html").exists() and not (out / "curves.png").exists()


def test_runs_are_numbered_without_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(3):
        train(["--data", "iris", "--epochs", "1"], capsys)
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == ["train", "train-2", "train-3"]
    out, _ = train(["--data", "iris", "--epochs", "1"], capsys)
    assert "runs/train-4" in out


def test_the_wrote_line_lists_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = train(["--data", "iris", "--epochs", "1", "--out", str(tmp_path / "r")], capsys)
    wrote = next(line for line in out.splitlines() if line.startswith("wrote "))
    for path in (tmp_path / "r").iterdir():
        assert path.name in wrote


def test_images_in_npz_with_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path / "images.npz"
    np.savez(path, images=digits.images.astype(np.float32), labels=digits.target)
    out, _ = train(
        ["--data", str(path), "--x-key", "images", "--y-key", "labels", "--epochs", "5"]
        + ["--out", str(tmp_path / "r")],
        capsys,
    )
    assert "features: 64" in out
    accuracy = float(out.split("held-out test accuracy:")[1].split()[0])
    assert accuracy > 0.9


def test_predictor_module_import_reads_a_dict_of_columns(
    penguins: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    py_path = tmp_path / "predictor_module.py"
    assert main(["export", str(penguins["model"]), "--python", str(py_path)]) == 0
    spec = importlib.util.spec_from_file_location("predictor_module", py_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = list(csv.DictReader(io.StringIO(penguins["new"].read_text())))
    columns = {name: [r[name] for r in rows] for name in rows[0]}
    expected = _probabilities(_predict(penguins["model"], penguins["new"]))
    np.testing.assert_allclose(module.predict_proba(columns), expected, atol=1e-6)


def test_decimal_commas_train_and_predict_as_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def european(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [
            {k: v.replace(".", ",") if k.endswith("_mm") else v for k, v in r.items()}
            for r in rows
        ]

    data = write_csv(tmp_path / "eu.csv", european(penguin_rows(200, 0)), delimiter=";")
    out, err = train(
        [
            "--data",
            str(data),
            "--target",
            "species",
            "--epochs",
            "5",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert "decimal commas" in err
    assert "numeric: 'bill_length_mm'" in out  # read as numbers, not one-hot categories
    new = write_csv(tmp_path / "new.csv", european(penguin_rows(20, 3)), delimiter=";")
    model = tmp_path / "r" / "model.safetensors"
    comma = _probabilities(_predict(model, new))
    dot = write_csv(tmp_path / "dot.csv", penguin_rows(20, 3), delimiter=";")
    np.testing.assert_array_equal(comma, _probabilities(_predict(model, dot, "--decimal", ".")))


def test_an_id_is_copied_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = penguin_rows(120, 0)
    for i, row in enumerate(rows):
        row["rowid"] = f"{i:03d}.50"  # numbers with leading zeros and a trailing zero
    data = write_csv(tmp_path / "ids.csv", rows)
    train(
        ["--data", str(data), "--target", "species", "--id", "rowid", "--epochs", "2"]
        + ["--out", str(tmp_path / "r")],
        capsys,
    )
    predictions = _predict(tmp_path / "r" / "model.safetensors", data)
    assert [p["rowid"] for p in predictions] == [r["rowid"] for r in rows]


def test_predict_detects_either_decimal_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def european(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [
            {k: v.replace(".", ",") if k.endswith("_mm") else v for k, v in r.items()}
            for r in rows
        ]

    plain = write_csv(tmp_path / "plain.csv", penguin_rows(150, 0))
    train(
        [
            "--data",
            str(plain),
            "--target",
            "species",
            "--epochs",
            "3",
            "--out",
            str(tmp_path / "a"),
        ],
        capsys,
    )
    eu = write_csv(tmp_path / "eu.csv", european(penguin_rows(150, 0)), delimiter=";")
    train(
        ["--data", str(eu), "--target", "species", "--epochs", "3", "--out", str(tmp_path / "b")],
        capsys,
    )
    new_plain = write_csv(tmp_path / "n1.csv", penguin_rows(15, 4))
    new_eu = write_csv(tmp_path / "n2.csv", european(penguin_rows(15, 4)), delimiter=";")
    for run in ("a", "b"):  # a model from either kind of file reads new rows of either kind
        model = tmp_path / run / "model.safetensors"
        np.testing.assert_array_equal(
            _probabilities(_predict(model, new_plain)), _probabilities(_predict(model, new_eu))
        )
