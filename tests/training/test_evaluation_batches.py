"""Scoring in batches: images go 256 at a time, and the results equal scoring every row alone."""

from __future__ import annotations

import numpy as np

import nabla as nb
from nabla.training.evaluation import (
    IMAGE_ROWS,
    evaluate_loss_accuracy,
    evaluate_regression,
    predict_classes,
    predict_values,
    rows_per_batch,
)


def test_images_are_scored_in_small_batches_with_the_same_results() -> None:
    nb.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((IMAGE_ROWS * 2 + 37, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, len(x))
    model = nb.nn.Sequential(nb.nn.Conv2d(1, 2, 3), nb.nn.Flatten(), nb.nn.Linear(32, 3))
    assert rows_per_batch(x, 4096) == IMAGE_ROWS and rows_per_batch(x[:, 0, 0], 4096) == 4096
    loss, accuracy = evaluate_loss_accuracy(model, x, y)
    model.eval()
    with nb.no_grad():
        logits = model(nb.tensor(x))
        expected_loss = float(nb.nn.functional.cross_entropy(logits, y).item())
    predicted = logits.data.argmax(axis=1)
    assert accuracy == (predicted == y).mean()
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    np.testing.assert_array_equal(predict_classes(model, x), predicted)
    np.testing.assert_allclose(predict_values(model, x), logits.data, rtol=1e-5, atol=1e-6)
    regression = nb.nn.Sequential(nb.nn.Conv2d(1, 1, 3), nb.nn.Flatten(), nb.nn.Linear(16, 1))
    target = rng.standard_normal(len(x)).astype(np.float32)
    mse, values = evaluate_regression(regression, x, target)
    assert values.shape == (len(x),)
    np.testing.assert_allclose(mse, np.mean((values - target) ** 2), rtol=1e-5)
