"""The trainer's regression task against a hand-written NumPy network trained with the same
batches: ∇output of MSE is 2e/n, of MAE sign(e)/n, of Huber clip(e, −δ, δ)/n (e = output − y)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, TensorDataset
from nabla.optim import SGD
from nabla.training.evaluation import RegressionLoss, evaluate_regression, predict_values
from nabla.training.trainer import Trainer

GRADIENTS = {
    "mse": lambda e, delta: 2 * e,
    "mae": lambda e, delta: np.sign(e),
    "huber": lambda e, delta: np.clip(e, -delta, delta),
}
LOSSES = {
    "mse": lambda e, delta: e * e,
    "mae": lambda e, delta: np.abs(e),
    "huber": lambda e, delta: np.where(
        np.abs(e) < delta, 0.5 * e * e, delta * (np.abs(e) - 0.5 * delta)
    ),
}


def regression_data(n: int = 120, p: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, p))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.standard_normal(n)
    return X, (y - y.mean()) / y.std()


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_training_matches_hand_written_sgd(name: str) -> None:
    X, y = regression_data()
    X_train, y_train, X_val, y_val = X[:90], y[:90], X[90:], y[90:]
    n, hidden, batch, lr, seed, delta = 90, 6, 15, 0.05, 3, 0.7
    model = nb.nn.MLP([X.shape[1], hidden, 1], activation="tanh", dtype=np.float64)
    Wh, bh = model[0].weight.data.copy(), model[0].bias.data.copy()
    Wy, by = model[2].weight.data.copy(), model[2].bias.data.copy()
    losses: list[float] = []
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=lr),
        DataLoader(TensorDataset(X_train, y_train), batch_size=batch, shuffle=True, seed=seed),
        val_data=(X_val, y_val),
        loss_fn=RegressionLoss(name, delta=delta),
        task="regression",
        progress=False,
        on_step=lambda step, loss: losses.append(loss),
    )
    history = trainer.fit(5)

    order_rng = np.random.default_rng(seed)
    expected, epoch_losses = [], []
    for _ in range(5):
        order, total = order_rng.permutation(n), 0.0
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            H = np.tanh(X_train[idx] @ Wh.T + bh)
            e = (H @ Wy.T + by)[:, 0] - y_train[idx]
            expected.append(LOSSES[name](e, delta).mean())
            total += expected[-1] * len(idx)
            grad_out = (GRADIENTS[name](e, delta) / len(idx))[:, None]
            grad_Ht = grad_out @ Wy * (1 - H**2)
            Wy -= lr * grad_out.T @ H
            by -= lr * grad_out.sum(0)
            Wh -= lr * grad_Ht.T @ X_train[idx]
            bh -= lr * grad_Ht.sum(0)
        epoch_losses.append(total / n)
    np.testing.assert_allclose(losses, expected, rtol=1e-10)
    np.testing.assert_allclose(model[0].weight.data, Wh, rtol=1e-10)
    np.testing.assert_allclose([m.train_loss for m in history], epoch_losses, rtol=1e-10)
    val_e = (np.tanh(X_val @ Wh.T + bh) @ Wy.T + by)[:, 0] - y_val
    np.testing.assert_allclose(history[-1].val_loss, LOSSES[name](val_e, delta).mean(), rtol=1e-10)
    assert all(m.train_accuracy is None and m.val_accuracy is None for m in history)


def test_evaluate_regression_returns_the_loss_and_predictions() -> None:
    X, y = regression_data(50)
    model = nb.nn.MLP([X.shape[1], 5, 1], activation="relu", dtype=np.float64)
    W1, b1 = model[0].weight.data, model[0].bias.data
    W2, b2 = model[2].weight.data, model[2].bias.data
    expected = (np.maximum(X @ W1.T + b1, 0) @ W2.T + b2)[:, 0]
    loss, predictions = evaluate_regression(model, X, y, batch_size=7)  # uneven batches
    assert predictions.shape == (50,)
    np.testing.assert_allclose(predictions, expected, rtol=1e-12)
    np.testing.assert_allclose(loss, np.mean((expected - y) ** 2), rtol=1e-12)
    mae, _ = evaluate_regression(model, X, y, RegressionLoss("mae"), batch_size=7)
    np.testing.assert_allclose(mae, np.mean(np.abs(expected - y)), rtol=1e-12)
    np.testing.assert_allclose(predict_values(model, X, batch_size=7), expected, rtol=1e-12)
    assert model.training  # the mode is restored
    empty_loss, empty = evaluate_regression(model, X[:0], y[:0])
    assert np.isnan(empty_loss) and empty.shape == (0,)


def test_regression_loss_shapes_and_casts_the_target() -> None:
    output = nb.tensor(np.array([[0.5], [2.0], [-1.0]], dtype=np.float32), requires_grad=True)
    y = np.array([0.0, 0.0, 0.0])  # float64 targets of shape (n,): no warning, no upcast
    for name in ("mse", "mae", "huber"):
        loss = RegressionLoss(name)(output, y)
        assert loss.dtype == np.float32 and loss.shape == ()
    np.testing.assert_allclose(RegressionLoss("huber")(output, y).data, (0.125 + 1.5 + 0.5) / 3)
    with pytest.raises(nb.errors.NablaError, match=r"one of \['huber', 'mae', 'mse'\]"):
        RegressionLoss("l2")


def test_regression_defaults_to_mse_and_logs_without_accuracy() -> None:
    X, y = regression_data(40)
    X, y = X.astype(np.float32), y.astype(np.float32)
    lines: list[str] = []
    nb.manual_seed(0)
    model = nb.nn.MLP([X.shape[1], 4, 1])
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.05),
        DataLoader(TensorDataset(X[:30], y[:30]), batch_size=10, shuffle=True, seed=0),
        val_data=(X[30:], y[30:]),
        task="regression",
        progress=False,
        log=lines.append,
    )
    assert isinstance(trainer.loss_fn, RegressionLoss) and trainer.loss_fn.name == "mse"
    history = trainer.fit(2)
    m = history[-1]
    assert lines[-1] == f"epoch 2/2  loss {m.train_loss:.4f}  val loss {m.val_loss:.4f}"
    assert m.val_loss == evaluate_regression(model, X[30:], y[30:])[0]


def test_regression_with_early_stopping_keeps_the_best_validation_loss() -> None:
    X, y = regression_data(60)
    nb.manual_seed(1)
    model = nb.nn.MLP([X.shape[1], 32, 1], activation="tanh", dtype=np.float64)
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.1, momentum=0.9),
        DataLoader(TensorDataset(X[:20], y[:20]), batch_size=5, shuffle=True, seed=0),
        val_data=(X[20:], y[20:]),
        task="regression",
        patience=3,
        progress=False,
    )
    trainer.fit(60)
    best = min(m.val_loss for m in trainer.history if m.val_loss is not None)
    assert trainer.best_epoch is not None
    assert trainer.history[trainer.best_epoch - 1].val_loss == best
    assert evaluate_regression(model, X[20:], y[20:])[0] == best  # the kept weights


def test_regression_learns_like_least_squares_on_a_linear_target() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.3 * rng.standard_normal(400)).astype(
        np.float32
    )
    y = (y - y[:300].mean()) / y[:300].std()
    nb.manual_seed(0)
    model = nb.nn.MLP([5, 16, 1], activation="tanh")
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.05, momentum=0.9),
        DataLoader(TensorDataset(X[:300], y[:300]), batch_size=16, shuffle=True, seed=0),
        task="regression",
        progress=False,
    )
    trainer.fit(30)
    _, predictions = evaluate_regression(model, X[300:], y[300:])
    reference = linear_model.LinearRegression().fit(X[:300], y[:300]).predict(X[300:])

    def r2(prediction: Any) -> float:
        truth = y[300:]
        return float(1 - np.sum((truth - prediction) ** 2) / np.sum((truth - truth.mean()) ** 2))

    assert r2(predictions) > r2(reference) - 0.02
