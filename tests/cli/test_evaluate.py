"""``nabla evaluate``, ``predict`` and ``graph`` read a saved model's columns by name.

The model file stores its feature names, its target column and where its training data is;
a CSV whose columns are in another order is read by name, one whose names do not match is
refused in one line, and the training data is found wherever the command runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nabla.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")

SPECIES = ["setosa", "versicolor", "virginica"]


def blobs(order: list[str], seed: int = 0, header: str | None = None, n: int = 150) -> str:
    """Three separated blobs as CSV text, columns in `order` (of f1, f2, f3 and species)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]], dtype=float)
    lines = [header or ",".join(order)]
    for i in range(n):
        x = centers[i % 3] + rng.standard_normal(3) * 0.5
        cells = {f"f{j + 1}": f"{x[j]:.4f}" for j in range(3)} | {"species": SPECIES[i % 3]}
        lines.append(",".join(cells[column] for column in order))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained from its own folder on `train.csv`, the target first, given by name."""
    folder = tmp_path_factory.mktemp("training")
    (folder / "train.csv").write_text(blobs(["species", "f1", "f2", "f3"]))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # --data is the relative path train.csv
        args = ["train", "--data", "train.csv", "--target", "species", "--out", "run"]
        assert main([*args, "--epochs", "20", "--hidden", "8", "--no-progress", "--no-plots"]) == 0
    return folder / "run" / "model.safetensors"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from an unrelated folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _accuracy(args: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> float:
    report = tmp_path / "report.json"
    assert main([*args, "--json", str(report)]) == 0, capsys.readouterr().err
    return float(json.loads(report.read_text())["accuracy"])


def _fails(args: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.mark.usefixtures("elsewhere")
@pytest.mark.parametrize(
    "order",
    [["f3", "f1", "f2", "species"], ["f3", "species", "f1", "f2"]],
    ids=["features-shuffled", "target-moved-too"],
)
def test_evaluate_reads_reordered_columns_by_name(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], order: list[str]
) -> None:
    path = tmp_path / "shuffled.csv"
    path.write_text(blobs(order, seed=1))
    assert _accuracy(["evaluate", str(run), "--data", str(path)], capsys, tmp_path) > 0.95


@pytest.mark.usefixtures("elsewhere")
def test_evaluate_and_predict_refuse_names_that_do_not_match(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "renamed.csv"
    path.write_text(blobs(["f1", "f2", "f3", "species"], seed=1, header="f1,f2,g3,species"))
    evaluate = ["evaluate", str(run), "--data", str(path)]
    _fails(evaluate, capsys, "missing column(s) 'f3'", "unknown column(s) 'g3'")
    # three feature columns, as many as the model has: these were read by position
    features = tmp_path / "features.csv"
    features.write_text(blobs(["f1", "f2", "f3"], seed=1, header="f1,f2,g3"))
    out = tmp_path / "predictions.csv"
    _fails(["predict", str(run), str(features), "-o", str(out)], capsys, "missing column(s) 'f3'")
    assert not out.exists()


@pytest.mark.usefixtures("elsewhere")
def test_predict_reads_reordered_columns_by_name(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "shuffled.csv"
    path.write_text(blobs(["f3", "f2", "species", "f1"], seed=2))
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(run), str(path), "-o", str(out)]) == 0
    predicted = [line.split(",")[1] for line in out.read_text().splitlines()[1:]]
    truth = [SPECIES[i % 3] for i in range(150)]
    assert np.mean([a == b for a, b in zip(predicted, truth)]) > 0.95


def test_evaluate_uses_the_stored_target_and_knows_its_training_file(
    run: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the training CSV, named through another relative path: still its held-out test split
    os.chdir(run.parent.parent.parent)
    data = f"{run.parent.parent.name}/train.csv"
    assert main(["evaluate", str(run), "--data", data]) == 0
    assert "(test split, 30 samples)" in capsys.readouterr().out


def test_graph_finds_the_training_data_from_any_folder(
    run: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (elsewhere / "train.csv").write_text("a,b\n1,2\n3,4\n")  # a different train.csv here
    out = elsewhere / "graph.dot"
    assert main(["graph", str(run), "--out", str(out)]) == 0, capsys.readouterr().err
    assert "8×3 float32" in out.read_text()  # 8 rows of the training data's 3 features


def test_graph_refuses_missing_training_data(
    tmp_path: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "training"
    folder.mkdir()
    (folder / "data.csv").write_text(blobs(["f1", "f2", "f3", "species"]))
    args = ["train", "--data", str(folder / "data.csv"), "--out", str(folder / "run")]
    assert main([*args, "--epochs", "1", "--no-progress", "--no-plots"]) == 0
    (folder / "data.csv").unlink()
    graph = ["graph", str(folder / "run" / "model.safetensors"), "--out", "g.dot"]
    _fails(graph, capsys, "data.csv no longer exists; pass --data")


def test_training_data_of_an_older_model_file(tmp_path: Path) -> None:
    from nabla.cli.evaluate import training_data
    from nabla.errors import DataError

    model = tmp_path / "run" / "model.safetensors"
    assert training_data(str(model), {"data": "iris"}) == "iris"
    with pytest.raises(DataError, match=r"relative to where training ran.*pass --data"):
        training_data(str(model), {"data": "data/train.csv"})
    (tmp_path / "run" / "data").mkdir(parents=True)
    (tmp_path / "run" / "data" / "train.csv").write_text("")
    assert training_data(str(model), {"data": "data/train.csv"}) == str(
        tmp_path / "run" / "data" / "train.csv"
    )
