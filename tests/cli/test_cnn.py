"""``nabla train --model cnn`` on images: the digits, MNIST IDX folders and ``.npz`` archives,
and ``nabla evaluate``/``predict`` reading a CNN model's images the same way."""

from __future__ import annotations

import csv
import gzip
import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")

QUIET = ["--no-progress", "--no-plots"]


def metadata(run: Path) -> dict[str, Any]:
    from nabla.io import load_metadata

    user: dict[str, Any] = load_metadata(run / "model.safetensors")["user"]
    return user


def final(run: Path) -> dict[str, Any]:
    results: dict[str, Any] = json.loads((run / "metrics.json").read_text())["final"]
    return results


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def bars(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images of a vertical (class 0) or horizontal (class 1) bright bar, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 60, (n, size, size))
    where = rng.integers(1, size - 1, n)
    for i, (label, k) in enumerate(zip(labels, where)):
        if label == 0:
            images[i, :, k] = 255
        else:
            images[i, k, :] = 255
    return images.astype(np.uint8), labels


def write_mnist(folder: Path, compress: bool, size: int = 10) -> Path:
    folder.mkdir()
    train_images, train_labels = bars(80, size, seed=0)
    test_images, test_labels = bars(30, size, seed=1)
    parts = {
        "train-images-idx3-ubyte": train_images,
        "train-labels-idx1-ubyte": train_labels,
        "t10k-images-idx3-ubyte": test_images,
        "t10k-labels-idx1-ubyte": test_labels,
    }
    for name, array in parts.items():
        data = idx_bytes(array)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default CNN on the bundled digits, with every default setting."""
    out = tmp_path_factory.mktemp("cnn") / "run"
    assert main(["train", "--model", "cnn", "--out", str(out), *QUIET]) == 0
    return out


@pytest.mark.slow
def test_default_cnn_reaches_98_5_percent_on_digits(digits_run: Path) -> None:
    results = final(digits_run)
    assert results["test"]["accuracy"] >= 0.985, results
    assert results["test"]["samples"] == 359  # 20 % of the 1797 digits, held out
    stored = metadata(digits_run)
    assert stored["image_shape"] == [1, 8, 8]


@pytest.mark.slow
def test_evaluate_and_predict_read_the_digits_as_images(
    digits_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(digits_run / "model.safetensors")
    report = tmp_path / "report.json"
    assert main(["evaluate", model, "--data", "digits", "--json", str(report)]) == 0
    scored = json.loads(report.read_text())
    assert scored["split"] == "test"
    assert scored["samples"] == 359
    assert scored["accuracy"] == pytest.approx(final(digits_run)["test"]["accuracy"])
    capsys.readouterr()
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", model, "digits", "-o", str(predictions)]) == 0
    rows = list(csv.DictReader(io.StringIO(predictions.read_text())))
    assert len(rows) == 1797
    from sklearn.datasets import load_digits

    truth = load_digits().target
    predicted = np.array([int(row["predicted"]) for row in rows])
    assert (predicted == truth).mean() > 0.98
    p = np.array([[float(row[f"p_{k}"]) for k in range(10)] for row in rows])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_trains_and_tests_on_its_t10k_files(
    tmp_path: Path, compress: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_mnist(tmp_path / "mnist", compress)
    out = tmp_path / "run"
    args = ["train", "--model", "cnn", "--data", str(folder), "--out", str(out), "--epochs", "8"]
    assert main([*args, "--lr", "0.05", *QUIET]) == 0
    assert "images: 1×10×10" in capsys.readouterr().out
    results = final(out)
    assert results["test"]["samples"] == 30  # the t10k files, not a split of the training ones
    assert results["train"]["samples"] + results["val"]["samples"] == 80
    assert results["test"]["accuracy"] >= 0.9, results
    assert metadata(out)["image_shape"] == [1, 10, 10]
    report = tmp_path / "scores.json"
    model = str(out / "model.safetensors")
    assert main(["evaluate", model, "--data", str(folder), "--json", str(report)]) == 0
    scored = json.loads(report.read_text())
    assert scored["samples"] == 30
    assert scored["accuracy"] == pytest.approx(results["test"]["accuracy"])


@pytest.mark.parametrize("channels", [None, 3])
def test_npz_images_train_a_cnn(tmp_path: Path, channels: int | None) -> None:
    images, labels = bars(60, 8, seed=2)
    if channels is not None:  # channels-last colour images: the bar in the red channel only
        colour = np.zeros((*images.shape, channels), np.uint8)
        colour[..., 0] = images
        images = colour
    path = tmp_path / "images.npz"
    np.savez(path, X=images, y=labels)
    out = tmp_path / "run"
    args = ["train", "--model", "cnn", "--data", str(path), "--out", str(out), "--epochs", "2"]
    assert main([*args, *QUIET]) == 0
    assert metadata(out)["image_shape"] == [channels or 1, 8, 8]
    model = str(out / "model.safetensors")
    assert main(["evaluate", model, "--data", str(path), "--split", "all"]) == 0


def test_flattened_npz_still_trains_an_mlp(tmp_path: Path) -> None:
    images, labels = bars(60, 6, seed=3)
    path = tmp_path / "images.npz"
    np.savez(path, X=images, y=labels)
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--out", str(out), "--epochs", "2", *QUIET]) == 0
    stored = metadata(out)
    assert stored["image_shape"] is None
    assert len(stored["feature_names"]) == 36


def _fails(args: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize("damage", ["truncated", "magic", "gzip"])
def test_corrupted_idx_files_are_one_line_errors(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_mnist(tmp_path / "mnist", compress=damage == "gzip")
    name = "train-images-idx3-ubyte" + (".gz" if damage == "gzip" else "")
    path = folder / name
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:-7])
    elif damage == "magic":
        path.write_bytes(b"\x00\x00\x08\x01" + data[4:])
    else:
        path.write_bytes(data[: len(data) // 2])
    out = tmp_path / "run"
    _fails(
        ["train", "--model", "cnn", "--data", str(folder), "--out", str(out), *QUIET],
        capsys,
        name,
    )


def test_cnn_refuses_tables(
    tmp_path: Path, blobs_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    _fails(
        ["train", "--model", "cnn", "--data", str(blobs_csv), "--out", str(out)],
        capsys,
        "blobs.csv",
        "--model cnn",
    )
    _fails(["train", "--model", "cnn", "--data", "iris", "--out", str(out)], capsys, "'iris'")
    matrix = tmp_path / "matrix.npz"
    np.savez(matrix, X=np.zeros((6, 4)), y=np.arange(6) % 2)
    _fails(
        ["train", "--model", "cnn", "--data", str(matrix), "--out", str(out)],
        capsys,
        "matrix.npz",
        "(6, 4)",
    )


def test_evaluate_refuses_images_of_another_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, labels = bars(40, 6, seed=4)
    small = tmp_path / "small.npz"
    np.savez(small, X=images, y=labels)
    out = tmp_path / "run"
    args = ["train", "--model", "cnn", "--data", str(small), "--out", str(out), "--epochs", "1"]
    assert main([*args, *QUIET]) == 0
    capsys.readouterr()
    other = tmp_path / "other.npz"
    np.savez(other, X=bars(10, 12, seed=5)[0], y=np.arange(10) % 2)
    model = str(out / "model.safetensors")
    _fails(["evaluate", model, "--data", str(other)], capsys, "other.npz", "1x12x12", "1x6x6")
    _fails(["predict", model, "digits"], capsys, "digits", "1x8x8", "1x6x6")
