"""MLP and LogisticRegression: structure, initialisation, probabilities, losses, specs, training."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import nabla as nb
from nabla.errors import ModelFileError
from nabla.nn import (
    MLP,
    BatchNorm1d,
    Dropout,
    LeakyReLU,
    Linear,
    LogisticRegression,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    from_spec,
)
from nabla.nn import functional as F


def np_sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def np_mlp_logits(model: MLP, x: np.ndarray, act: object = np.tanh) -> np.ndarray:
    """Forward pass of a plain MLP (Linear/activation only) written with NumPy."""
    linears = [m for m in model if isinstance(m, Linear)]
    h = x
    for i, layer in enumerate(linears):
        h = h @ layer.weight.data.T + layer.bias.data
        if i < len(linears) - 1:
            h = act(h)  # type: ignore[operator]
    return h


# ----- structure and initialisation ---------------------------------------------------------------
def test_mlp_layer_structure() -> None:
    model = MLP([5, 8, 6, 3], activation="relu")
    assert [type(m) for m in model] == [Linear, ReLU, Linear, ReLU, Linear]
    assert [(m.in_features, m.out_features) for m in model if isinstance(m, Linear)] == [
        (5, 8),
        (8, 6),
        (6, 3),
    ]
    assert model.n_classes == 3


def test_mlp_with_batch_norm_and_dropout() -> None:
    model = MLP([5, 8, 6, 2], activation="sigmoid", dropout=0.25, batch_norm=True)
    kinds = [Linear, BatchNorm1d, Sigmoid, Dropout]
    assert [type(m) for m in model] == kinds + kinds + [Linear]
    assert all(m.p == 0.25 for m in model if isinstance(m, Dropout))
    assert [m.num_features for m in model if isinstance(m, BatchNorm1d)] == [8, 6]


def test_mlp_leaky_relu_uses_the_negative_slope() -> None:
    model = MLP([3, 4, 2], activation="leaky_relu", negative_slope=0.2)
    assert isinstance(model[1], LeakyReLU) and model[1].negative_slope == 0.2


def test_mlp_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        MLP([4])
    with pytest.raises(ValueError, match="positive"):
        MLP([4, 0, 2])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP([4, 2], activation="swish")


N_IN, N_HIDDEN = 50, 60
XAVIER = math.sqrt(6 / (N_IN + N_HIDDEN))
KAIMING = math.sqrt(2) * math.sqrt(3 / N_IN)  # He uniform with ReLU's gain √2


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_mlp_uses_xavier_for_saturating_activations(activation: str) -> None:
    first = MLP([N_IN, N_HIDDEN, 2], activation=activation)[0]
    w = first.weight.data
    assert np.abs(w).max() <= XAVIER
    assert np.abs(w).max() > 0.95 * XAVIER
    np.testing.assert_array_equal(first.bias.data, 0.0)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_mlp_uses_kaiming_for_relu(activation: str) -> None:
    first = MLP([N_IN, N_HIDDEN, 2], activation=activation)[0]
    w = first.weight.data
    assert np.abs(w).max() <= KAIMING
    assert np.abs(w).max() > max(0.95 * KAIMING, XAVIER)  # wider than Xavier would allow
    np.testing.assert_array_equal(first.bias.data, 0.0)


def test_mlp_explicit_init_overrides_auto() -> None:
    first = MLP([N_IN, N_HIDDEN, 2], activation="relu", init="xavier_uniform")[0]
    assert np.abs(first.weight.data).max() <= XAVIER


def test_mlp_forward_matches_numpy(rng: np.random.Generator) -> None:
    model = MLP([4, 7, 3], dtype=np.float64)
    x = rng.normal(size=(5, 4))
    np.testing.assert_allclose(model(nb.tensor(x)).data, np_mlp_logits(model, x), rtol=1e-12)


# ----- probabilities and losses ---------------------------------------------------------------
def test_multiclass_predict_proba(rng: np.random.Generator) -> None:
    model = MLP([4, 7, 3], dtype=np.float64)
    x = rng.normal(size=(6, 4))
    proba = model.predict_proba(x)
    logits = np_mlp_logits(model, x)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert proba.shape == (6, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba, expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(x), expected.argmax(axis=1))


def test_binary_predict_proba_has_two_columns(rng: np.random.Generator) -> None:
    model = MLP([4, 7, 1], dtype=np.float64)
    assert model.n_classes == 2
    x = rng.normal(size=(6, 4))
    p = np_sigmoid(np_mlp_logits(model, x)[:, 0])
    proba = model.predict_proba(x)
    np.testing.assert_allclose(proba, np.stack([1 - p, p], axis=1), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(x), (p > 0.5).astype(int))


def test_predict_proba_runs_in_eval_mode_and_restores_training() -> None:
    model = MLP([4, 16, 3], dropout=0.5, batch_norm=True)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    model(nb.tensor(x))  # one training step gives the running statistics some content
    first, second = model.predict_proba(x), model.predict_proba(x)
    np.testing.assert_array_equal(first, second)  # no dropout noise
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    model.predict_proba(x)
    assert not model.training


def test_multiclass_loss_is_cross_entropy(rng: np.random.Generator) -> None:
    model = MLP([4, 5, 3], dtype=np.float64)
    x, y = nb.tensor(rng.normal(size=(6, 4))), np.array([0, 2, 1, 1, 0, 2])
    logits = model(x)
    log_p = logits.data - np.log(np.exp(logits.data).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(6), y].mean()
    np.testing.assert_allclose(model.loss(logits, y).data, expected, rtol=1e-12)
    np.testing.assert_array_equal(model.loss(logits, y).data, F.cross_entropy(logits, y).data)


def test_binary_loss_is_bce_on_the_single_logit(rng: np.random.Generator) -> None:
    model = MLP([4, 5, 1], dtype=np.float64)
    x, y = nb.tensor(rng.normal(size=(6, 4))), np.array([0, 1, 1, 0, 1, 0])
    logits = model(x)
    v = logits.data[:, 0]
    expected = -np.mean(y * np.log(np_sigmoid(v)) + (1 - y) * np.log(1 - np_sigmoid(v)))
    np.testing.assert_allclose(model.loss(logits, y).data, expected, rtol=1e-12)
    functional = F.binary_cross_entropy_with_logits(logits, y.reshape(-1, 1).astype(float))
    np.testing.assert_array_equal(model.loss(logits, y).data, functional.data)
    none = model.loss(logits, y, reduction="none")
    assert none.shape == (6, 1)


@pytest.mark.parametrize(
    ("sizes", "y"),
    [([3, 4, 1], np.array([0, 1, 1, 0])), ([3, 4, 3], np.array([2, 0, 1, 2]))],
    ids=["binary", "multiclass"],
)
def test_model_loss_gradients(sizes: list[int], y: np.ndarray, rng: np.random.Generator) -> None:
    model = MLP(sizes, dtype=np.float64)
    x = nb.tensor(rng.normal(size=(4, 3)))
    assert nb.gradcheck(lambda *_: model.loss(model(x), y), *model.parameters())


# ----- logistic regression --------------------------------------------------------------------
def test_binary_logistic_regression(rng: np.random.Generator) -> None:
    model = LogisticRegression(3, dtype=np.float64)
    assert len(model) == 1 and model[0].weight.shape == (1, 3)
    x = rng.normal(size=(5, 3))
    p = np_sigmoid(x @ model[0].weight.data[0] + model[0].bias.data[0])
    np.testing.assert_allclose(model.predict_proba(x)[:, 1], p, rtol=1e-12)
    # the notes' gradient: dv = (y − d)/N, so ∂L/∂w = xᵀ(σ(v) − d)/N
    d = np.array([1, 0, 0, 1, 1])
    model.loss(model(nb.tensor(x)), d).backward()
    np.testing.assert_allclose(model[0].weight.grad[0], x.T @ (p - d) / 5, rtol=1e-12)
    np.testing.assert_allclose(model[0].bias.grad[0], (p - d).mean(), rtol=1e-12)


def test_multinomial_logistic_regression(rng: np.random.Generator) -> None:
    model = LogisticRegression(3, n_classes=4, dtype=np.float64)
    assert model[0].weight.shape == (4, 3)
    x = rng.normal(size=(5, 3))
    z = x @ model[0].weight.data.T + model[0].bias.data
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(x), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        LogisticRegression(3, n_classes=1)


# ----- architecture specs -------------------------------------------------------------------------
MODELS = {
    "mlp-relu-bn-dropout": lambda: MLP([4, 8, 6, 3], "relu", dropout=0.1, batch_norm=True),
    "mlp-binary-f64": lambda: MLP([4, 5, 1], "sigmoid", dtype=np.float64),
    "mlp-doubled": lambda: MLP([4, 5, 3], "tanh", batch_norm=True).double(),
    "logreg": lambda: LogisticRegression(4, n_classes=3),
    "sequential": lambda: Sequential(
        Linear(4, 6, init="kaiming_normal"), LeakyReLU(0.3), BatchNorm1d(6), Linear(6, 3)
    ),
    "sequential-f64": lambda: Sequential(
        Linear(4, 6, dtype=np.float64), Tanh(), BatchNorm1d(6, dtype=np.float64)
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_spec_round_trip_rebuilds_architecture_and_outputs(
    name: str, rng: np.random.Generator
) -> None:
    nb.manual_seed(1)
    model = MODELS[name]()
    x = rng.normal(size=(7, 4))
    model(nb.tensor(x.astype(model.dtype)))  # move BatchNorm's running statistics
    spec = json.loads(json.dumps(model.spec()))  # the spec is JSON data
    nb.manual_seed(2)
    rebuilt = from_spec(spec)
    assert type(rebuilt) is type(model)
    assert rebuilt.spec() == model.spec()
    assert [type(m) for m in rebuilt.modules()] == [type(m) for m in model.modules()]
    assert {k: v.dtype for k, v in rebuilt.state_dict().items()} == {
        k: v.dtype for k, v in model.state_dict().items()
    }
    rebuilt.load_state_dict(model.state_dict())
    model.eval()
    rebuilt.eval()
    xt = nb.tensor(x.astype(model.dtype))
    np.testing.assert_array_equal(rebuilt(xt).data, model(xt).data)


def test_from_spec_rejects_unknown_and_malformed_specs() -> None:
    with pytest.raises(ModelFileError, match="unknown module type 'Conv9d'"):
        from_spec({"type": "Conv9d", "config": {}})
    with pytest.raises(ModelFileError, match="invalid architecture"):
        from_spec(["MLP"])
    with pytest.raises(ModelFileError, match="cannot rebuild Linear"):
        from_spec({"type": "Linear", "config": {"in_features": 3}})


# ----- a real training run --------------------------------------------------------------------
def test_mlp_learns_iris_with_plain_sgd() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_iris(return_X_y=True)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32)
    nb.manual_seed(0)
    model = MLP([4, 16, 3], activation="tanh")
    xt, lr = nb.tensor(x), 0.5
    first_loss = None
    for _ in range(300):
        loss = model.loss(model(xt), y)
        first_loss = first_loss if first_loss is not None else loss.item()
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
    accuracy = (model.predict(x) == y).mean()
    assert accuracy >= 0.9, f"train accuracy {accuracy:.3f} after 300 steps"
    assert loss.item() < 0.5 * first_loss
