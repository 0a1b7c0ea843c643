"""The trainer against a hand-written NumPy implementation of the notes' formulas."""

from __future__ import annotations

import numpy as np

import nabla as nb
from nabla.data import DataLoader, TensorDataset
from nabla.optim import SGD
from nabla.training import Trainer, classification_report, confusion_matrix


def test_trainer_reproduces_hand_written_notes_network(rng: np.random.Generator) -> None:
    # the notes' network: H̃ = X W_hᵀ + b_h, H = tanh(H̃), Ỹ = H W_yᵀ + b_y, softmax + mean CE,
    # trained with plain SGD on the same initial weights and the same batch order
    n, p, hidden, classes, batch, lr, seed = 120, 5, 7, 3, 12, 0.3, 4
    X = rng.standard_normal((n, p))
    y = rng.integers(0, classes, n)
    model = nb.nn.MLP([p, hidden, classes], activation="tanh", dtype=np.float64)
    Wh, bh = model[0].weight.data.copy(), model[0].bias.data.copy()
    Wy, by = model[2].weight.data.copy(), model[2].bias.data.copy()
    losses: list[float] = []
    loader = DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=True, seed=seed)
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=lr),
        loader,
        progress=False,
        on_step=lambda step, loss: losses.append(loss),
    )
    trainer.fit(10)  # 10 epochs × 10 batches = 100 steps
    assert len(losses) == 100

    order_rng = np.random.default_rng(seed)  # the loader draws one permutation per epoch
    expected = []
    for _ in range(10):
        order = order_rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            Xb, Y = X[idx], np.eye(classes)[y[idx]]
            H = np.tanh(Xb @ Wh.T + bh)
            logits = H @ Wy.T + by
            Y_hat = np.exp(logits - logits.max(1, keepdims=True))
            Y_hat /= Y_hat.sum(1, keepdims=True)
            expected.append(-np.mean(np.sum(Y * np.log(Y_hat), axis=1)))
            grad_Yt = (Y_hat - Y) / len(idx)  # ∇Ỹ = (Ŷ − Y)/N
            grad_Ht = grad_Yt @ Wy * (1 - H**2)  # ∇H̃ = ∇Ỹ W_y ⊙ (1 − H²)
            Wy -= lr * grad_Yt.T @ H  # ∇W_y = ∇Ỹᵀ H
            by -= lr * grad_Yt.sum(0)
            Wh -= lr * grad_Ht.T @ Xb  # ∇W_h = ∇H̃ᵀ X
            bh -= lr * grad_Ht.sum(0)
    np.testing.assert_allclose(losses, expected, rtol=1e-6, atol=0)
    np.testing.assert_allclose(model[0].weight.data, Wh, rtol=1e-6)
    assert losses[-1] < losses[0]


def test_classification_report_against_definitions() -> None:
    y_true = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2, 2, 1, 2])
    report = classification_report(y_true, y_pred, ["a", "b", "c"])
    # class b: predicted 4 times, 2 right → precision 1/2; 3 actual b, 2 found → recall 2/3
    np.testing.assert_allclose(report.precision, [1 / 2, 2 / 4, 3 / 3])
    np.testing.assert_allclose(report.recall, [1 / 2, 2 / 3, 3 / 4])
    f1_b = 2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3)
    assert abs(report.f1[1] - f1_b) < 1e-12
    assert report.accuracy == 6 / 9
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 3).sum(axis=1), [2, 3, 4])
    text = report.to_text()
    assert "precision" in text and "confusion matrix" in text


def test_classification_report_matches_sklearn() -> None:
    metrics = __import__("pytest").importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    report = classification_report(y_true, y_pred, list("abcd"))
    p, r, f, s = metrics.precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    np.testing.assert_allclose(report.precision, p)
    np.testing.assert_allclose(report.recall, r)
    np.testing.assert_allclose(report.f1, f)
    np.testing.assert_array_equal(report.support, s)
    np.testing.assert_array_equal(report.confusion, metrics.confusion_matrix(y_true, y_pred))
