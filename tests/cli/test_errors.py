"""User mistakes: exit status 1, one line naming the problem, no traceback, no output files."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nabla.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")


def _fails(args: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _train(data: Path | str, out: Path, *extra: str) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--no-progress",
        "--epochs",
        "2",
        *extra,
    ]


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    _fails(_train(tmp_path / "nope.csv", out), capsys, "nope.csv", "not found")
    assert not out.exists()


def test_unknown_column(
    tmp_path: Path, blobs_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _fails(_train(blobs_csv, out, "--target", "colour"), capsys, "'colour'", "'species'")
    assert not out.exists()


def test_non_numeric_cell_names_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a text cell in training makes its column categorical; in a column the model reads as
    # numbers it is an error naming the row, the column and the value
    train = tmp_path / "train.csv"
    train.write_text("a,b,label\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(30)))
    out = tmp_path / "out"
    assert main([*_train(train, out), "--no-plots"]) == 0
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,x7\n5,6\n")
    capsys.readouterr()
    _fails(["predict", str(out / "model.safetensors"), str(path)], capsys, "row 3", "'b'", "'x7'")


def test_inf_is_refused_and_nan_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inf.csv"
    path.write_text("a,b,label\n1,2,0\n3,inf,1\n5,6,0\n")
    _fails(_train(path, tmp_path / "out"), capsys, "row 3", "'b'")
    assert not (tmp_path / "out").exists()
    path = tmp_path / "nan.csv"
    path.write_text(
        "a,b,label\n" + "".join(f"{i},{'nan' if i % 4 == 3 else i},{i % 2}\n" for i in range(20))
    )
    assert main([*_train(path, tmp_path / "nan"), "--no-plots"]) == 0
    assert "filled with the training median: b (" in capsys.readouterr().out


def test_single_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.csv"
    path.write_text("a,b,label\n1,2,7\n3,4,7\n5,6,7\n")
    _fails(_train(path, tmp_path / "out"), capsys, "class")
    assert not (tmp_path / "out").exists()


def test_bad_option_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails(_train("iris", tmp_path / "o", "--hidden", "12,x"), capsys, "--hidden")
    _fails(_train("iris", tmp_path / "o", "--val-split", "1.5"), capsys, "--val-split")
    assert not (tmp_path / "o").exists()


def test_feature_count_mismatch_in_evaluate_and_predict(
    tmp_path: Path, blobs_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(_train("iris", run, "--no-plots")) == 0
    capsys.readouterr()
    model = str(run / "model.safetensors")
    _fails(["evaluate", model, "--data", str(blobs_csv)], capsys, "missing column", "sepal length")
    wide = tmp_path / "wide.csv"
    wide.write_text("1,2,3,4,5\n6,7,8,9,10\n")
    out = tmp_path / "pred.csv"
    _fails(["predict", model, str(wide), "-o", str(out)], capsys, "5 features", "trained on 4")
    assert not out.exists()


def test_corrupted_model_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(_train("iris", run, "--no-plots")) == 0
    capsys.readouterr()
    model = run / "model.safetensors"
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    _fails(["evaluate", str(model), "--data", "iris"], capsys, str(model))


def test_real_subprocess_reports_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nabla", "train", "--data", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("nabla train: error:")
    assert "Traceback" not in result.stderr


def test_argparse_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "--epochs", "many"])
    assert info.value.code == 2


def test_evaluate_and_predict_round_trip(
    tmp_path: Path, blobs_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(_train(blobs_csv, run, "--epochs", "20", "--no-plots")) == 0
    capsys.readouterr()
    model = str(run / "model.safetensors")
    plot, report = tmp_path / "cm.png", tmp_path / "report.json"
    assert (
        main(
            [
                "evaluate",
                model,
                "--data",
                str(blobs_csv),
                "--plot",
                str(plot),
                "--json",
                str(report),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "test split" in printed and "precision" in printed and "virginica" in printed
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # predict: the CSV may carry the target column too; it is ignored
    out = tmp_path / "pred.csv"
    assert main(["predict", model, str(blobs_csv), "-o", str(out)]) == 0
    lines = out.read_text().strip().splitlines()
    assert lines[0] == "row,predicted,p_setosa,p_versicolor,p_virginica"
    assert len(lines) == 151
    labels = [line.split(",")[-1] for line in blobs_csv.read_text().strip().splitlines()[1:]]
    predicted = [line.split(",")[1] for line in lines[1:]]
    assert np.mean([a == b for a, b in zip(labels, predicted)]) > 0.95
    probabilities = np.array([[float(v) for v in line.split(",")[2:]] for line in lines[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (MemoryError("Unable to allocate 298. GiB for an array"), "out of memory (Unable"),
        (MemoryError(), "out of memory"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (OSError(28, "No space left on device"), "No space left"),
    ],
)
def test_resource_errors_are_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    fragment: str,
) -> None:
    import nabla.training.recipe

    def exhausted(*args: object) -> None:
        raise error

    # the recipe loads the data (nabla train only parses and prints)
    monkeypatch.setattr(nabla.training.recipe, "prepare_data", exhausted)
    _fails(_train("iris", tmp_path / "out"), capsys, "nabla train: error:", fragment)


def test_lying_npz_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a 500-byte archive whose X.npy header claims 10^7 x 10^7 float64 values (800 TB)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**7)}
    )
    path = tmp_path / "lie.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", header.getvalue() + bytes(16))
        archive.writestr("y.npy", header.getvalue() + bytes(16))
    _fails(_train(path, tmp_path / "out"), capsys, "lie.npz", "claims shape (10000000, 10000000)")


def _integer_target_csv(path: Path, targets: list[int]) -> Path:
    rng = np.random.default_rng(0)
    rows = [
        f"{a:.3f},{b:.3f},{t}" for (a, b), t in zip(rng.normal(size=(len(targets), 2)), targets)
    ]
    path.write_text("a,b,score\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("targets", "fragment"),
    [
        ([100 + i % 60 for i in range(200)], "has 60 distinct integer values in 200 rows"),
        ([i % 30 for i in range(40)], "has 30 distinct integer values in 40 rows"),
    ],
    ids=["many-values", "most-rows-their-own-class"],
)
def test_integer_regression_target_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], targets: list[int], fragment: str
) -> None:
    path = _integer_target_csv(tmp_path / "scores.csv", targets)
    _fails(_train(path, tmp_path / "out"), capsys, "'score'", fragment, "--task regression")
    assert not (tmp_path / "out").exists()


def test_many_class_ids_still_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _integer_target_csv(tmp_path / "ids.csv", [i % 60 for i in range(120)])  # ids 0..59
    assert main([*_train(path, tmp_path / "out", "--no-plots", "--test-split", "0")]) == 0
    assert "60 classes" in capsys.readouterr().out
