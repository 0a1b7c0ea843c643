"""Loss modules against NumPy transcriptions of PyTorch's documented definitions.

CrossEntropyLoss: ℓᵢ = −Σ_c w_c qᵢ_c log softmax(xᵢ)_c with q = (1 − ε)·onehot(yᵢ) + ε/C;
the weighted mean divides by Σ w[yᵢ] over non-ignored rows (by N for probability targets).
BCEWithLogitsLoss: ℓ = −w·[p·d·log σ(v) + (1 − d)·log(1 − σ(v))], mean over every element.
NLLLoss: ℓᵢ = −w[yᵢ]·inputᵢ,yᵢ, mean ÷ Σ w[yᵢ]. MSELoss (x − y)², L1Loss |x − y|.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import ShapeError
from nabla.nn import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from nabla.nn import functional as F

N, C = 6, 4
REDUCTIONS = ["mean", "sum", "none"]


def leaf(a: np.ndarray) -> nb.Tensor:
    return nb.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def np_log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def reduce(losses: np.ndarray, reduction: str, denominator: float) -> Any:
    if reduction == "none":
        return losses
    return losses.sum() / denominator if reduction == "mean" else losses.sum()


def np_cross_entropy(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    smoothing: float = 0.0,
) -> Any:
    """Class-index targets, written row by row from the definition."""
    n, c = x.shape
    log_p = np_log_softmax(x)
    w = np.ones(c) if weight is None else weight
    losses, denominator = np.zeros(n), 0.0
    for i in range(n):
        if y[i] == ignore_index:
            continue
        nll = -w[y[i]] * log_p[i, y[i]]
        uniform = -(w * log_p[i]).sum()
        losses[i] = (1 - smoothing) * nll + smoothing / c * uniform
        denominator += w[y[i]]
    return reduce(losses, reduction, denominator)


def np_cross_entropy_probs(
    x: np.ndarray,
    q: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: str = "mean",
    smoothing: float = 0.0,
) -> Any:
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    q = (1 - smoothing) * q + smoothing / c
    losses = -(w * q * np_log_softmax(x)).sum(axis=1)
    return reduce(losses, reduction, x.shape[0])


@pytest.fixture
def logits(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(scale=2.0, size=(N, C))


@pytest.fixture
def labels() -> np.ndarray:
    return np.array([0, 3, 1, 1, 2, 3])


WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
CE_OPTIONS = [
    {},
    {"weight": WEIGHT},
    {"ignore_index": 1},
    {"weight": WEIGHT, "ignore_index": 3},
    {"label_smoothing": 0.2},
    {"weight": WEIGHT, "ignore_index": 1, "label_smoothing": 0.1},
]


def ce_reference(x: np.ndarray, y: np.ndarray, options: dict[str, Any], reduction: str) -> Any:
    return np_cross_entropy(
        x,
        y,
        options.get("weight"),
        options.get("ignore_index", -100),
        reduction,
        options.get("label_smoothing", 0.0),
    )


# ----- cross-entropy -----------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
def test_cross_entropy_values(
    options: dict[str, Any], reduction: str, logits: np.ndarray, labels: np.ndarray
) -> None:
    loss = CrossEntropyLoss(reduction=reduction, **options)(nb.tensor(logits), labels)
    expected = ce_reference(logits, labels, options, reduction)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12, atol=1e-14)
    functional = F.cross_entropy(nb.tensor(logits), labels, reduction=reduction, **options)
    np.testing.assert_array_equal(functional.data, loss.data)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
def test_cross_entropy_gradients(
    options: dict[str, Any], reduction: str, logits: np.ndarray, labels: np.ndarray
) -> None:
    criterion = CrossEntropyLoss(reduction=reduction, **options)
    assert nb.gradcheck(lambda x: criterion(x, labels), leaf(logits))


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n(
    logits: np.ndarray, labels: np.ndarray
) -> None:
    x = leaf(logits)
    CrossEntropyLoss()(x, labels).backward()
    p = np.exp(np_log_softmax(logits))
    np.testing.assert_allclose(x.grad, (p - np.eye(C)[labels]) / N, rtol=1e-12)


def test_ignored_rows_get_neither_loss_nor_gradient(
    logits: np.ndarray, labels: np.ndarray
) -> None:
    x = leaf(logits)
    CrossEntropyLoss(ignore_index=1, reduction="sum")(x, labels).backward()
    np.testing.assert_array_equal(x.grad[labels == 1], 0.0)
    assert np.all(np.abs(x.grad[labels != 1]).sum(axis=1) > 0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "options", [{}, {"weight": WEIGHT}, {"label_smoothing": 0.3}], ids=["plain", "w", "ls"]
)
def test_cross_entropy_with_probability_targets(
    options: dict[str, Any], reduction: str, logits: np.ndarray, rng: np.random.Generator
) -> None:
    q = rng.dirichlet(np.ones(C), size=N)
    criterion = CrossEntropyLoss(reduction=reduction, **options)
    expected = np_cross_entropy_probs(
        logits, q, options.get("weight"), reduction, options.get("label_smoothing", 0.0)
    )
    np.testing.assert_allclose(criterion(nb.tensor(logits), q).data, expected, rtol=1e-12)
    assert nb.gradcheck(lambda x: criterion(x, q), leaf(logits))


def test_cross_entropy_gradient_with_respect_to_probability_targets(
    logits: np.ndarray, rng: np.random.Generator
) -> None:
    q = leaf(rng.dirichlet(np.ones(C), size=N))
    assert nb.gradcheck(lambda x, t: F.cross_entropy(x, t), leaf(logits), q)


def test_cross_entropy_of_one_sample(logits: np.ndarray) -> None:
    loss = CrossEntropyLoss()(nb.tensor(logits[0]), np.array(2))
    np.testing.assert_allclose(loss.data, -np_log_softmax(logits[:1])[0, 2], rtol=1e-12)


def test_cross_entropy_is_finite_for_huge_logits() -> None:
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    loss = CrossEntropyLoss(reduction="none")(nb.tensor(x), np.array([1, 1]))
    np.testing.assert_allclose(loss.data, [2000.0, 0.0], atol=1e-12)


def test_cross_entropy_errors(logits: np.ndarray, labels: np.ndarray) -> None:
    x = nb.tensor(logits)
    with pytest.raises(IndexError, match="out of bounds"):
        CrossEntropyLoss()(x, np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ShapeError, match=r"\(6,\)"):
        CrossEntropyLoss()(x, labels[:5])
    with pytest.raises(ShapeError, match="weight"):
        CrossEntropyLoss(weight=np.ones(3))(x, labels)
    with pytest.raises(ValueError, match="reduction"):
        CrossEntropyLoss(reduction="average")(x, labels)


# ----- NLL ------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "options",
    [{}, {"weight": WEIGHT}, {"weight": WEIGHT, "ignore_index": 3}],
    ids=["plain", "w", "w-ignore"],
)
def test_nll_loss(
    options: dict[str, Any], reduction: str, logits: np.ndarray, labels: np.ndarray
) -> None:
    log_p = np_log_softmax(logits)
    w = options.get("weight", np.ones(C))
    valid = labels != options.get("ignore_index", -100)
    rows = np.arange(N)[valid]
    losses = np.zeros(N)
    losses[rows] = -w[labels[rows]] * log_p[rows, labels[rows]]
    expected = reduce(losses, reduction, w[labels[rows]].sum())
    criterion = NLLLoss(reduction=reduction, **options)
    np.testing.assert_allclose(criterion(nb.tensor(log_p), labels).data, expected, rtol=1e-12)
    assert nb.gradcheck(lambda lp: criterion(lp, labels), leaf(log_p))
    # NLL of log-softmax is cross-entropy
    fused = CrossEntropyLoss(reduction=reduction, **options)(nb.tensor(logits), labels)
    np.testing.assert_allclose(fused.data, expected, rtol=1e-12)


# ----- binary cross-entropy on logits ---------------------------------------------------------
def np_bce_with_logits(
    v: np.ndarray,
    d: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: str = "mean",
) -> Any:
    log_sig = -np.logaddexp(0.0, -v)  # log σ(v)
    log_one_minus_sig = -np.logaddexp(0.0, v)  # log(1 − σ(v))
    p = 1.0 if pos_weight is None else pos_weight
    losses = -(p * d * log_sig + (1 - d) * log_one_minus_sig)
    if weight is not None:
        losses = losses * weight
    return reduce(losses, reduction, losses.size)


BCE_OPTIONS = [
    {},
    {"weight": np.array([0.5, 1.0, 2.0])},
    {"pos_weight": np.array([3.0, 0.5, 1.0])},
    {"weight": np.array([[2.0], [1.0], [0.5], [1.0]]), "pos_weight": np.array([2.0, 1.0, 4.0])},
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", BCE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
def test_bce_with_logits(
    options: dict[str, Any], reduction: str, rng: np.random.Generator
) -> None:
    v = rng.normal(scale=3.0, size=(4, 3))
    d = rng.uniform(size=(4, 3))
    d[0] = [0.0, 1.0, 1.0]  # hard labels as well as soft ones
    criterion = BCEWithLogitsLoss(reduction=reduction, **options)
    expected = np_bce_with_logits(v, d, reduction=reduction, **options)
    np.testing.assert_allclose(criterion(nb.tensor(v), d).data, expected, rtol=1e-12)
    assert nb.gradcheck(lambda x: criterion(x, d), leaf(v))


def test_bce_gradient_is_sigmoid_minus_target_over_n(rng: np.random.Generator) -> None:
    v, d = leaf(rng.normal(size=(5, 2))), rng.integers(0, 2, size=(5, 2)).astype(float)
    BCEWithLogitsLoss()(v, d).backward()
    np.testing.assert_allclose(v.grad, (1 / (1 + np.exp(-v.data)) - d) / v.size, rtol=1e-12)


def test_bce_is_finite_for_huge_logits() -> None:
    v = np.array([500.0, -500.0, 500.0, -500.0])
    d = np.array([1.0, 0.0, 0.0, 1.0])
    loss = BCEWithLogitsLoss(reduction="none")(nb.tensor(v), d)
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 500.0, 500.0], atol=1e-12)


def test_bce_shape_mismatch() -> None:
    with pytest.raises(ShapeError, match=r"\(3, 1\).*\(3,\)"):
        BCEWithLogitsLoss()(nb.zeros(3), np.zeros((3, 1)))


# ----- regression losses ----------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("criterion", "formula"),
    [(MSELoss, lambda e: e * e), (L1Loss, np.abs)],
    ids=["mse", "l1"],
)
def test_regression_losses(
    criterion: type[MSELoss], formula: Any, reduction: str, rng: np.random.Generator
) -> None:
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    losses = formula(x - y)
    expected = reduce(losses, reduction, losses.size)
    loss_fn = criterion(reduction=reduction)
    np.testing.assert_allclose(loss_fn(nb.tensor(x), y).data, expected, rtol=1e-12)
    assert nb.gradcheck(lambda a, b: loss_fn(a, b), leaf(x), leaf(y))


def test_mse_gradient_is_two_residuals_over_n(rng: np.random.Generator) -> None:
    x, y = leaf(rng.normal(size=(4, 2))), rng.normal(size=(4, 2))
    MSELoss()(x, y).backward()
    np.testing.assert_allclose(x.grad, 2 * (x.data - y) / x.size, rtol=1e-12)


def test_loss_modules_are_not_saved_as_architecture() -> None:
    for loss in (CrossEntropyLoss(), NLLLoss(), BCEWithLogitsLoss(), MSELoss(), L1Loss()):
        assert not loss.serializable
        assert list(loss.parameters()) == []
