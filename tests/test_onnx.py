"""``nb.onnx.export`` round trips through onnxruntime: same outputs, any batch size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import nabla as nb
from nabla.data import StandardScaler
from nabla.deploy import ExportError

TOL = 1e-5  # the bound; float32 models agree to a few 1e-7


def _trained_batchnorm(model: nb.nn.Module, n_in: int, rng: np.random.Generator) -> None:
    """Give BatchNorm non-trivial running statistics, as training would."""
    model.train()
    with nb.no_grad():
        for _ in range(5):
            x = rng.normal(2.0, 3.0, size=(32, n_in)).astype(model.dtype)
            model(nb.tensor(x))
    model.eval()


def _models(rng: np.random.Generator) -> dict[str, tuple[nb.nn.Module, tuple[int, ...]]]:
    nb.manual_seed(0)
    bn_dropout = nb.nn.MLP([6, 16, 8, 3], activation="relu", dropout=0.3, batch_norm=True)
    _trained_batchnorm(bn_dropout, 6, rng)
    unfoldable = nb.nn.Sequential(
        nb.nn.Linear(6, 5), nb.nn.Tanh(), nb.nn.BatchNorm1d(5), nb.nn.Linear(5, 2)
    ).double()
    _trained_batchnorm(unfoldable, 6, rng)
    layers = nb.nn.Sequential(
        nb.nn.Flatten(),
        nb.nn.Linear(12, 7),
        nb.nn.LeakyReLU(0.2),
        nb.nn.Identity(),
        nb.nn.Linear(7, 7),
        nb.nn.Sigmoid(),
        nb.nn.Sequential(nb.nn.Linear(7, 4), nb.nn.LogSoftmax(dim=1)),
    )
    return {
        "mlp-tanh": (nb.nn.MLP([6, 32, 10]), (6,)),
        "mlp-batchnorm-dropout": (bn_dropout, (6,)),
        "logistic-binary": (nb.nn.LogisticRegression(6, 2), (6,)),
        "logistic-multinomial": (nb.nn.LogisticRegression(6, 4), (6,)),
        "flatten-leaky-logsoftmax": (layers, (3, 4)),
        "batchnorm-after-tanh-float64": (unfoldable, (6,)),
        "softmax-head": (nb.nn.Sequential(nb.nn.Linear(6, 3), nb.nn.Softmax(dim=-1)), (6,)),
    }


def _run(path: Path, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    return np.asarray(out)


MODEL_NAMES = list(_models(np.random.default_rng(0)))


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "BatchNormalization"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_onnxruntime_matches_nabla(
    tmp_path: Path, rng: np.random.Generator, name: str, fold: bool
) -> None:
    model, shape = _models(rng)[name]
    path = tmp_path / "model.onnx"
    nb.onnx.export(model, path, rng.normal(size=(2, *shape)), fold_batchnorm=fold)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    model.eval()
    for batch in (1, 7, 64):  # the batch axis is dynamic
        x = rng.normal(size=(batch, *shape)).astype(model.dtype)
        expected = model(nb.tensor(x)).data
        got = _run(path, x)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("n_classes", [2, 5])
def test_probabilities_head_and_scaler(
    tmp_path: Path, rng: np.random.Generator, n_classes: int
) -> None:
    model = nb.nn.MLP([4, 8, 1 if n_classes == 2 else n_classes], activation="sigmoid")
    scaler = StandardScaler().fit(rng.normal(5.0, 2.0, size=(100, 4)))
    proto = nb.onnx.export(
        model, tmp_path / "m.onnx", probabilities=True, scaler=scaler, metadata={"classes": [1]}
    )
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    assert {p.key: p.value for p in proto.metadata_props} == {"classes": "[1]"}
    gemms = [n for n in proto.graph.node if n.op_type == "Gemm"]
    assert len(gemms) == 2 and all(
        a.name == "transB" and a.i == 1 for g in gemms for a in g.attribute
    )
    raw = rng.normal(5.0, 2.0, size=(9, 4)).astype(np.float32)
    expected = model.predict_proba(scaler.transform(raw))
    got = _run(tmp_path / "m.onnx", raw)
    assert got.shape == (9, n_classes)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


class Doubler(nb.nn.Module):
    def forward(self, x: Any) -> Any:
        return x * 2


def test_unsupported_layers_are_named(tmp_path: Path) -> None:
    model = nb.nn.Sequential(nb.nn.Linear(3, 3), nb.nn.Sequential(nb.nn.Tanh(), Doubler()))
    with pytest.raises(ExportError, match=r"layer '1\.1' \(Doubler\).*supported layers"):
        nb.onnx.export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    batch_stats = nb.nn.Sequential(
        nb.nn.Linear(3, 3), nb.nn.BatchNorm1d(3, track_running_stats=False)
    )
    with pytest.raises(ExportError, match=r"'1' \(BatchNorm1d\).*batch statistics"):
        nb.onnx.export(batch_stats, tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="nabla Module"):
        nb.onnx.export(object(), tmp_path / "m.onnx")


def test_sklearn_estimators_export_what_they_predict(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", minversion="1.6")
    import warnings

    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning

    from nabla.sklearn import MLPClassifier, MLPRegressor

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few epochs are enough here
        estimators = [
            MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y),
            MLPClassifier((8,), "leaky_relu", max_iter=5, random_state=0).fit(X, y == 1),
            MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, X[:, 0]),
        ]
    for est in estimators:
        nb.onnx.export(est, tmp_path / "est.onnx")
        got = _run(tmp_path / "est.onnx", X.astype(np.float32))
        expected = est.predict_proba(X) if hasattr(est, "classes_") else est.predict(X)
        np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=0, atol=TOL)


def test_import_nabla_imports_neither_onnx_nor_sklearn() -> None:
    code = (
        "import sys, nabla\n"
        "assert not {'onnx', 'nabla.onnx', 'nabla.sklearn', 'sklearn'} & set(sys.modules)\n"
        "assert nabla.onnx.export is sys.modules['nabla.onnx'].export\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("last", "n_out", "to_proba"),
    [
        (nb.nn.Softmax(-1), 3, lambda out: out),
        (nb.nn.LogSoftmax(dim=1), 3, np.exp),
        (nb.nn.Sigmoid(), 1, lambda p: np.concatenate([1 - p, p], axis=1)),
    ],
    ids=["softmax", "log-softmax", "sigmoid"],
)
def test_probabilities_of_a_model_that_ends_in_them(
    tmp_path: Path, rng: np.random.Generator, last: nb.nn.Module, n_out: int, to_proba: Any
) -> None:
    # the same steps as the NumPy predictor: the head replaces the model's own last layer
    model = nb.nn.Sequential(nb.nn.Linear(4, 6), nb.nn.Tanh(), nb.nn.Linear(6, n_out), last)
    proto = nb.onnx.export(model, tmp_path / "m.onnx", probabilities=True)
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    x = rng.normal(size=(5, 4)).astype(np.float32)
    expected = to_proba(model(nb.tensor(x)).data)
    np.testing.assert_allclose(_run(tmp_path / "m.onnx", x), expected, rtol=0, atol=TOL)


def test_softmax_over_the_batch_axis_is_not_read_as_classes(tmp_path: Path) -> None:
    from nabla.onnx import export

    model = nb.nn.Sequential(nb.nn.Linear(3, 2), nb.nn.Softmax(0))
    with pytest.raises(ExportError, match=r"softmax over axis 0, not the class axis 1"):
        export(model, tmp_path / "m.onnx", probabilities=True)
    assert not (tmp_path / "m.onnx").exists()
    export(model, tmp_path / "raw.onnx", probabilities=False)  # the forward pass, as it is
    assert (tmp_path / "raw.onnx").exists()
