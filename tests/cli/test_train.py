"""``nabla train`` through ``main([...])``: real data, real files, real accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nabla as nb
from nabla.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")


def test_default_train_on_digits_reaches_97_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "held-out test accuracy" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["test"]["accuracy"] >= 0.97
    assert metrics["final"]["test"]["samples"] == 359
    for name in ("model.safetensors", "metrics.csv", "metrics.json", "curves.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the model file rebuilds without user code and reproduces the reported accuracy
    model = nb.load(out / "model.safetensors")
    assert isinstance(model, nb.nn.MLP)
    assert model.sizes == [64, 128, 10] and model.activation == "tanh"
    rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch,train_loss,train_accuracy,val_loss,val_accuracy")
    assert len(rows) == 1 + 60


def test_iris_mlp(tmp_path: Path) -> None:
    assert (
        main(["train", "--data", "iris", "--out", str(tmp_path), "--no-progress", "--no-plots"])
        == 0
    )
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert final["test"]["accuracy"] >= 0.95


def test_breast_cancer_logistic(tmp_path: Path) -> None:
    args = ["train", "--data", "breast_cancer", "--model", "logistic", "--out", str(tmp_path)]
    assert main([*args, "--no-progress", "--no-plots"]) == 0
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert final["test"]["accuracy"] >= 0.96
    model = nb.load(tmp_path / "model.safetensors")
    assert isinstance(model, nb.nn.LogisticRegression)
    assert model[0].out_features == 1  # binary: one logit, σ(v), dv = y − d


def test_csv_with_string_labels_and_options(tmp_path: Path, blobs_csv: Path) -> None:
    out = tmp_path / "run"
    args = [
        "train",
        "--data",
        str(blobs_csv),
        "--target",
        "species",
        "--hidden",
        "16,8",
        "--activation",
        "relu",
        "--optimizer",
        "adam",
        "--epochs",
        "30",
        "--batch-size",
        "16",
        "--dropout",
        "0.1",
        "--batch-norm",
        "--scheduler",
        "plateau",
        "--out",
        str(out),
        "--no-progress",
        "--no-plots",
    ]
    assert main(args) == 0
    model = nb.load(out / "model.safetensors")
    assert model.sizes == [3, 16, 8, 3]
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert final["test"]["accuracy"] >= 0.95
    assert not (out / "curves.png").exists()


def test_same_seed_same_weights(tmp_path: Path) -> None:
    common = ["train", "--data", "iris", "--epochs", "5", "--no-progress", "--no-plots"]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--out", str(tmp_path / "b")]) == 0
    a = nb.load(tmp_path / "a" / "model.safetensors").state_dict()
    b = nb.load(tmp_path / "b" / "model.safetensors").state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def _write_idx(folder: Path, split: str, n: int, rng: np.random.Generator) -> None:
    import gzip
    import struct

    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 30, (n, 28, 28))
    for i, label in enumerate(labels):
        images[i, 2 * label : 2 * label + 5, 5:20] += 200  # a stripe whose row says the class
    with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images.astype(np.uint8).tobytes())
    with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels.astype(np.uint8).tobytes())


def test_mnist_idx_folder_uses_its_own_test_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    _write_idx(data, "train", 300, rng)
    _write_idx(data, "t10k", 100, rng)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--epochs", "3", "--out", str(out), "--no-progress"]
    assert main([*args, "--no-plots"]) == 0
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert final["test"]["samples"] == 100  # the t10k files, not a split of the training set
    assert final["train"]["samples"] + final["val"]["samples"] == 300
    assert final["test"]["accuracy"] > 0.9
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.safetensors"), "--data", str(data)]) == 0
    assert "(test split, 100 samples)" in capsys.readouterr().out
