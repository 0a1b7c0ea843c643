"""``nabla export``: ONNX and NumPy-only predictors that take raw rows, as ``nabla predict`` does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.cli import main
from nabla.cli.evaluate import load_model_and_metadata
from nabla.cli.model_data import model_preprocessing
from nabla.data.table import Table

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")


def _encoded(X: np.ndarray, metadata: dict) -> np.ndarray:
    """Rows encoded as the model file says (its columns by name, its standardisation)."""
    table = Table.from_matrix(X, metadata["preprocessing"]["feature_names"], "wine")
    return model_preprocessing(metadata).transform(table)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch-norm + dropout MLP trained on wine (features on very different scales)."""
    out = tmp_path_factory.mktemp("run")
    args = ["train", "--data", "wine", "--epochs", "5", "--hidden", "16", "--batch-norm"]
    assert main([*args, "--dropout", "0.2", "--out", str(out), "--no-progress", "--no-plots"]) == 0
    return out / "model.safetensors"


def _reference(model_path: Path) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Raw wine rows and what `nabla predict` computes for them."""
    from sklearn.datasets import load_wine

    X = load_wine().data
    model, metadata = load_model_and_metadata(str(model_path))
    features = _encoded(X, metadata)
    return X, model.predict_proba(nb.tensor(features.astype(model.dtype)))


def test_onnx_takes_raw_rows_and_gives_probabilities(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "wine.onnx"
    assert main(["export", str(trained), "--onnx", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    props = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert props["class_names"] == ["class_0", "class_1", "class_2"]
    assert len(props["feature_names"]) == 13 and props["standardized_inside"] is True
    X, expected = _reference(trained)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (got,) = session.run(["probabilities"], {"input": X.astype(np.float32)})
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_python_predictor_runs_with_only_numpy(
    trained: Path, tmp_path: Path, numpy_only_python: Callable[..., Any]
) -> None:
    out = tmp_path / "predictor.py"
    assert main(["export", str(trained), "--python", str(out)]) == 0
    X, expected = _reference(trained)
    np.save(tmp_path / "X.npy", X)
    code = (
        "import numpy as np, predictor\n"
        "np.save('proba.npy', predictor.predict_proba(np.load('X.npy')))\n"
    )
    numpy_only_python("-c", code)  # runs in tmp_path, so `import predictor` finds the file
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), expected, rtol=0, atol=1e-6)


def test_logits_npz_and_no_standardize(trained: Path, tmp_path: Path) -> None:
    import runpy

    out = tmp_path / "logits.py"
    args = ["export", str(trained), "--python", str(out), "--logits", "--npz", "--no-standardize"]
    assert main(args) == 0
    assert (tmp_path / "logits.npz").exists() and "_WEIGHTS_B64 = " not in out.read_text()
    predictor = runpy.run_path(str(out))
    model, metadata = load_model_and_metadata(str(trained))
    X, _ = _reference(trained)
    features = _encoded(X, metadata).astype(np.float32)
    np.testing.assert_allclose(
        predictor["forward"](features), model(nb.tensor(features)).data, atol=1e-6
    )
    with pytest.raises(ValueError, match="raw values"):
        predictor["predict_proba"](features)


def test_mistakes_exit_with_one_line(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(trained)]) == 1
    assert "pass --onnx" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "absent.safetensors"), "--python", "p.py"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nabla export: error:") and "no such file" in err
    assert not (tmp_path / "p.py").exists()
