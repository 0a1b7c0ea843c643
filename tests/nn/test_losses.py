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


# ----- issue 12: PyTorch's behaviour at the edges -----------------------------------------------
def np_bce(p: np.ndarray, d: np.ndarray, reduction: str = "mean") -> Any:
    """PyTorch's definition: both logs clamped at −100."""
    with np.errstate(divide="ignore"):
        losses = -(d * np.maximum(np.log(p), -100) + (1 - d) * np.maximum(np.log1p(-p), -100))
    return reduce(losses, reduction, losses.size)


def test_bce_on_saturated_probabilities_has_finite_gradients() -> None:
    # a float32 σ(v) is exactly 1 for v ≥ 17 (and 0 for v ≤ −104); PyTorch divides by
    # max(p(1 − p), 1e-12), so the chain through the sigmoid stays finite. Values: PyTorch 2.13
    v = nb.tensor(np.float32([0.0, 10.0, 17.0, 20.0, -20.0, -110.0]), requires_grad=True)
    d = np.float32([1.0, 0.0, 0.0, 1.0, 1.0, 0.5])
    loss = F.binary_cross_entropy(nb.sigmoid(v), d)
    np.testing.assert_allclose(loss.item(), 30.1154556274, rtol=1e-6)
    loss.backward()
    expected = [-0.0833333358, 0.1666591018, 0.0, 0.0, -0.1666666716, 0.0]
    np.testing.assert_allclose(v.grad, expected, rtol=1e-6, atol=1e-12)
    p = leaf(np.array([1.0, 0.0]))  # the gradient at p itself: large, finite
    F.binary_cross_entropy(p, [0.25, 0.75], reduction="none").sum().backward()
    np.testing.assert_allclose(p.grad, [750000002996.852, -750000002996.852], rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_on_probabilities(reduction: str, rng: np.random.Generator) -> None:
    p, d = rng.uniform(0.05, 0.95, size=(4, 3)), rng.uniform(size=(4, 3))
    np.testing.assert_allclose(
        F.binary_cross_entropy(nb.tensor(p), d, reduction=reduction).data,
        np_bce(p, d, reduction),
        rtol=1e-12,
    )
    w = rng.uniform(0.5, 2.0, size=3)
    assert nb.gradcheck(lambda t: F.binary_cross_entropy(t, d, w, reduction), leaf(p))
    assert nb.gradgradcheck(lambda t: F.binary_cross_entropy(t, d, w, reduction), leaf(p))
    edges = np.array([0.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(
        F.binary_cross_entropy(nb.tensor(edges), [0.0, 0.0, 1.0, 0.5], reduction="none").data,
        [0.0, 100.0, 100.0, 50.0],
    )


def test_bce_refuses_values_outside_0_1() -> None:
    # PyTorch raises "all elements of input should be between 0 and 1" (nan included)
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"^binary_cross_entropy: all elements of input"):
            F.binary_cross_entropy(nb.tensor([0.5, bad]), [1.0, 1.0])
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of target.*1\.5"):
        F.binary_cross_entropy(nb.tensor([0.5]), [1.5])
    with pytest.raises(ShapeError, match=r"\(3,\).*\(3, 1\)"):
        F.binary_cross_entropy(nb.full((3, 1), 0.5), np.ones(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_of_a_scalar_logit(reduction: str) -> None:
    v = nb.tensor(0.3, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(v, nb.tensor(1.0), reduction=reduction)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), np.logaddexp(0.0, -0.3), rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(v.grad, 1 / (1 + np.exp(-0.3)) - 1, rtol=1e-6)
    assert nb.gradgradcheck(
        lambda t: F.binary_cross_entropy_with_logits(t, 1.0, pos_weight=2.0), leaf(0.3)
    )


@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["plain", "w"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_label_smoothing_gradient_with_respect_to_probability_targets(
    weight: np.ndarray | None, reduction: str, logits: np.ndarray, rng: np.random.Generator
) -> None:
    # the target enters as (1 − ε) q + ε/C, so dL/dq = −(1 − ε) w log softmax(x) (/ N for mean)
    eps, q = 0.2, leaf(rng.dirichlet(np.ones(C), size=N))
    x = leaf(logits)
    loss = F.cross_entropy(x, q, weight, reduction=reduction, label_smoothing=eps)
    loss.sum().backward()
    w = np.ones(C) if weight is None else weight
    expected = -(1 - eps) * w * np_log_softmax(logits) / (N if reduction == "mean" else 1)
    np.testing.assert_allclose(q.grad, expected, rtol=1e-12)
    assert nb.gradcheck(
        lambda a, b: F.cross_entropy(a, b, weight, reduction=reduction, label_smoothing=eps),
        leaf(logits),
        leaf(q.data),
    )


def test_label_smoothing_second_order_with_a_differentiable_target(
    logits: np.ndarray, rng: np.random.Generator
) -> None:
    """Under create_graph the rule must use the smoothed target: the first gradient equals the
    plain backward's, and its Hessian-vector product the central differences of that gradient."""
    eps, q = 0.3, rng.dirichlet(np.ones(C), size=N)
    u, v = rng.normal(size=(N, C)), rng.normal(size=(N, C))

    def first(x_data: np.ndarray, q_data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, t = leaf(x_data), leaf(q_data)
        F.cross_entropy(x, t, WEIGHT, label_smoothing=eps).backward()
        return x.grad, t.grad

    x, t = leaf(logits), leaf(q)
    gx, gq = nb.grad(F.cross_entropy(x, t, WEIGHT, label_smoothing=eps), [x, t], create_graph=True)
    for got, want in zip((gx.data, gq.data), first(logits, q)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    hx, hq = nb.grad((gx * nb.tensor(u)).sum() + (gq * nb.tensor(v)).sum(), [x, t])
    # d/dε ⟨(u, v), ∇L(x + ε dx, q + ε dq)⟩ along each coordinate, by central differences
    h = 1e-6
    for analytic, wrt in ((hx.data, 0), (hq.data, 1)):
        numeric = np.zeros((N, C))
        for i in np.ndindex(N, C):
            step = np.zeros((N, C))
            step[i] = h
            args_plus = [logits + step, q] if wrt == 0 else [logits, q + step]
            args_minus = [logits - step, q] if wrt == 0 else [logits, q - step]
            plus, minus = first(*args_plus), first(*args_minus)
            numeric[i] = ((plus[0] - minus[0]) * u + (plus[1] - minus[1]) * v).sum() / (2 * h)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "options",
    [{}, {"weight": WEIGHT}, {"label_smoothing": 0.1}],
    ids=["plain", "w", "ls"],
)
def test_an_all_ignored_batch_has_a_zero_gradient(
    options: dict[str, Any], reduction: str, logits: np.ndarray
) -> None:
    # PyTorch: the mean is 0/0 = nan, but the gradient is zeros (sum and none: 0 and zeros)
    padding = np.full(N, -100)
    for loss_fn in (
        lambda x: F.cross_entropy(x, padding, reduction=reduction, **options),
        lambda x: F.nll_loss(
            nb.log_softmax(x, axis=1), padding, options.get("weight"), reduction=reduction
        ),
    ):
        x = leaf(logits)
        loss = loss_fn(x)
        if reduction == "mean":
            assert np.isnan(loss.item())
        else:
            np.testing.assert_array_equal(loss.data, 0.0)
        loss.sum().backward()
        np.testing.assert_array_equal(x.grad, 0.0)
        x = leaf(logits)
        (g,) = nb.grad(loss_fn(x).sum(), x, create_graph=True)
        np.testing.assert_array_equal(g.data, 0.0)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_an_all_padding_batch_does_not_poison_the_weights(
    compiled: bool, rng: np.random.Generator
) -> None:
    model = nb.nn.Linear(3, 4)
    opt = nb.optim.SGD(model.parameters(), lr=0.1)

    def step(x: Any, y: Any) -> nb.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = nb.compile(step) if compiled else step
    x = rng.normal(size=(5, 3)).astype(np.float32)
    for target in ([0, 1, 2, 3, 0], [-100] * 5, [0, 1, 2, 3, -100], [-100] * 5):
        loss = run(x, np.array(target))
        assert np.isnan(loss.item()) == (target == [-100] * 5)
        for p in model.parameters():
            assert np.isfinite(p.data).all()


def test_zero_total_weight_gives_nan_gradients_as_pytorch(logits: np.ndarray) -> None:
    # rows that count but weigh 0 in total: PyTorch's −w·g/Σw = −0·g/0 = nan; ignored rows 0
    weight = np.array([0.0, 1.0, 1.0, 1.0])
    target = np.array([0, 0, -100, 0, 0, 0])
    counted = [0, 1, 3, 4, 5]
    x = leaf(logits)
    F.cross_entropy(x, target, weight).backward()
    assert np.isnan(x.grad[counted]).all()
    np.testing.assert_array_equal(x.grad[2], 0.0)
    x = leaf(logits)
    F.nll_loss(x, target, weight).backward()  # nan at the targets' entries only
    assert np.isnan(x.grad[counted, 0]).all()
    np.testing.assert_array_equal(x.grad[:, 1:], 0.0)
    np.testing.assert_array_equal(x.grad[2], 0.0)


def test_nll_loss_refuses_out_of_range_targets(logits: np.ndarray) -> None:
    log_p = nb.tensor(np_log_softmax(logits))
    with pytest.raises(IndexError, match=r"^nll_loss: target -1 is out of bounds for 4 classes$"):
        F.nll_loss(log_p, np.array([0, 1, -1, 2, 3, 0]))
    with pytest.raises(IndexError, match=r"^nll_loss: target 4 is out of bounds for 4 classes$"):
        NLLLoss()(log_p, np.array([0, 1, 4, 2, 3, 0]))
    with pytest.raises(IndexError, match=r"cross_entropy: target -1 is out of bounds"):
        F.cross_entropy(nb.tensor(logits), np.array([0, 1, -1, 2, 3, 0]))
    # −1 as the ignore_index is fine (PyTorch)
    loss = F.nll_loss(log_p, np.array([0, 1, -1, 2, 3, 0]), ignore_index=-1)
    assert np.isfinite(loss.item())


def test_nll_loss_of_one_sample_and_bad_targets(logits: np.ndarray) -> None:
    log_p = np_log_softmax(logits)
    loss = F.nll_loss(nb.tensor(log_p[0]), np.array(2))
    np.testing.assert_allclose(loss.item(), -log_p[0, 2], rtol=1e-12)
    with pytest.raises(nb.DTypeError, match="nll_loss: targets must be class indices"):
        F.nll_loss(nb.tensor(log_p), np.zeros(N))
    with pytest.raises(ShapeError, match=r"nll_loss: .*\(6,\)"):
        F.nll_loss(nb.tensor(log_p), np.zeros((N, 1), np.int64))


@pytest.mark.parametrize(
    "loss_fn", [F.mse_loss, F.l1_loss, MSELoss(), L1Loss()], ids=["mse", "l1", "MSE", "L1"]
)
def test_regression_losses_warn_when_the_target_broadcasts(loss_fn: Any) -> None:
    # PyTorch warns: (N, 1) against (N,) silently gives N × N terms
    x = nb.zeros((3, 1), requires_grad=True)
    with pytest.warns(UserWarning, match=r"target size \(3,\) .* input size \(3, 1\)") as record:
        loss_fn(x, np.ones(3))
    assert record[0].filename == __file__  # attributed to the caller's line
    loss_fn(x, np.ones((3, 1)))  # same shapes: no warning (warnings are errors here)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_gives_the_target_a_gradient(reduction: str) -> None:
    rng = np.random.default_rng(0)
    p = nb.tensor(rng.uniform(0.05, 0.95, (3, 4)), requires_grad=True)
    d = nb.tensor(rng.uniform(0.0, 1.0, (3, 4)), requires_grad=True)
    w = nb.tensor(rng.uniform(0.5, 2.0, (4,)))

    def loss(p: nb.Tensor, d: nb.Tensor) -> nb.Tensor:
        return F.binary_cross_entropy(p, d, weight=w, reduction=reduction)

    assert nb.gradcheck(loss, p, d)
    assert nb.gradgradcheck(loss, p, d)
    loss(p, d).sum().backward()
    n = 12 if reduction == "mean" else 1
    # ∂ℓ/∂d = w (log(1 − p) − log p), PyTorch's rule
    expected = w.data * (np.log1p(-p.data) - np.log(p.data)) / n
    np.testing.assert_allclose(d.grad, expected, rtol=1e-12)


def test_cross_entropy_with_a_wider_probability_target_computes_in_its_dtype() -> None:
    # PyTorch promotes float32 logits and a float64 target to float64; the logits' gradient
    # keeps the logits' dtype
    rng = np.random.default_rng(0)
    logits = nb.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    target = nb.tensor(rng.dirichlet(np.ones(4), 3), requires_grad=True)
    loss = F.cross_entropy(logits, target)
    assert loss.dtype == np.float64
    loss.backward()
    assert logits.grad.dtype == np.float32 and target.grad.dtype == np.float64
    z = logits.data.astype(np.float64)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -(target.data * log_p).sum(1).mean(), rtol=1e-12)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "cross_entropy-smoothed"])
@pytest.mark.parametrize("weighted", [False, True])
def test_ignored_rows_get_zero_even_from_an_infinite_upstream_gradient(
    loss: str, weighted: bool
) -> None:
    # L = √(loss) at loss = 0 sends g = inf; the ignored row must select 0, not inf · 0 = nan
    x = nb.tensor(np.zeros((3, 4)), requires_grad=True)
    target = np.array([3, 0, 1])
    weight = np.array([1.0, 2.0, 0.5, 1.0]) if weighted else None
    name, _, smoothed = loss.partition("-")
    kwargs = {"label_smoothing": 0.1} if smoothed else {}
    value = getattr(F, name)(x, target, weight=weight, ignore_index=0, reduction="sum", **kwargs)
    value.backward(np.array(np.inf))
    np.testing.assert_array_equal(x.grad[1], [0.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("pos_weight", [None, np.array([0.5, 2.0, 3.0])])
def test_bce_with_logits_gives_the_target_a_gradient(pos_weight: Any) -> None:
    rng = np.random.default_rng(0)
    v = nb.tensor(rng.standard_normal((4, 3)) * 3, requires_grad=True)
    d = nb.tensor(rng.uniform(0.0, 1.0, (4, 3)), requires_grad=True)
    w = np.array([1.0, 0.5, 2.0])

    def loss(v: nb.Tensor, d: nb.Tensor) -> nb.Tensor:
        return F.binary_cross_entropy_with_logits(v, d, weight=w, pos_weight=pos_weight)

    assert nb.gradcheck(loss, v, d)
    assert nb.gradgradcheck(loss, v, d)
    loss(v, d).backward()
    # ∂ℓ/∂d = (p − 1) log(1 + e^(−v)) − v, PyTorch's rule (−v without pos_weight)
    p = 1.0 if pos_weight is None else pos_weight
    expected = w * ((p - 1) * np.log1p(np.exp(-v.data)) - v.data) / 12
    np.testing.assert_allclose(d.grad, expected, rtol=1e-12)
