"""The backprop notes as executable checks: hand-derived formulas vs autodiff, float64, 1e-10.

Each test writes the notes' formula with NumPy (the hand arithmetic) and compares it with the
gradients nabla's engine computes for the same forward pass.
"""

from __future__ import annotations

import numpy as np

import nabla as nb
import nabla.nn.functional as F

TOL = 1e-10


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def test_logistic_regression(rng: np.random.Generator) -> None:
    # (a) v = w x + b, y = σ(v), L = −d log y − (1 − d) log(1 − y)
    #     dv = y − d, dw = dv xᵀ, db = dv
    x_np = rng.standard_normal((4, 1))  # one example, a column
    w_np = rng.standard_normal((1, 4))
    b_np = rng.standard_normal((1, 1))
    d = 1.0
    w = nb.tensor(w_np, requires_grad=True)
    b = nb.tensor(b_np, requires_grad=True)
    v = w @ x_np + b
    y = nb.sigmoid(v)
    loss = (-d * nb.log(y) - (1 - d) * nb.log(1 - y)).sum()
    loss.backward()

    y_np = _sigmoid(w_np @ x_np + b_np)
    dv = y_np - d
    np.testing.assert_allclose(w.grad, dv @ x_np.T, rtol=0, atol=TOL)
    np.testing.assert_allclose(b.grad, dv, rtol=0, atol=TOL)
    # the fused loss gives the same gradient
    w2 = nb.tensor(w_np, requires_grad=True)
    F.binary_cross_entropy_with_logits(w2 @ x_np + b_np, np.array([[d]])).backward()
    np.testing.assert_allclose(w2.grad, dv @ x_np.T, rtol=0, atol=TOL)


def test_two_sigmoid_layers_columns_with_1_over_m(rng: np.random.Generator) -> None:
    # (b) V¹ = W¹X + b¹, Y¹ = σ(V¹), V² = W²Y¹ + b², Y² = σ(V²), L = (1/m) Σ BCE
    #     dV² = Y² − D, dW² = (1/m) dV² Y¹ᵀ, db² = (1/m) Σ dV²,
    #     dV¹ = W²ᵀ dV² ⊙ σ'(V¹), dW¹ = (1/m) dV¹ Xᵀ, db¹ = (1/m) Σ dV¹
    n0, n1, n2, m = 3, 5, 2, 7
    X = rng.standard_normal((n0, m))  # one example per column
    D = (rng.random((n2, m)) > 0.5).astype(float)
    W1_np, b1_np = rng.standard_normal((n1, n0)), rng.standard_normal((n1, 1))
    W2_np, b2_np = rng.standard_normal((n2, n1)), rng.standard_normal((n2, 1))
    W1, b1 = nb.tensor(W1_np, requires_grad=True), nb.tensor(b1_np, requires_grad=True)
    W2, b2 = nb.tensor(W2_np, requires_grad=True), nb.tensor(b2_np, requires_grad=True)
    Y1 = nb.sigmoid(W1 @ X + b1)
    Y2 = nb.sigmoid(W2 @ Y1 + b2)
    loss = (-(D * nb.log(Y2) + (1 - D) * nb.log(1 - Y2))).sum() / m
    loss.backward()

    Y1_np = _sigmoid(W1_np @ X + b1_np)
    Y2_np = _sigmoid(W2_np @ Y1_np + b2_np)
    dV2 = Y2_np - D
    dW2 = dV2 @ Y1_np.T / m
    db2 = dV2.sum(axis=1, keepdims=True) / m
    dV1 = (W2_np.T @ dV2) * Y1_np * (1 - Y1_np)
    dW1 = dV1 @ X.T / m
    db1 = dV1.sum(axis=1, keepdims=True) / m
    for tensor, expected in [(W2, dW2), (b2, db2), (W1, dW1), (b1, db1)]:
        np.testing.assert_allclose(tensor.grad, expected, rtol=0, atol=TOL)


def test_tanh_softmax_cross_entropy_rows(rng: np.random.Generator) -> None:
    # (c) H̃ = X W_hᵀ + b_h, H = tanh(H̃), Ỹ = H W_yᵀ + b_y, Ŷ = softmax_row(Ỹ), L = mean CE
    #     ∇Ỹ = Ŷ − Y, ∇W_y = ∇Ỹᵀ H, ∇b_y = Σ_rows ∇Ỹ, ∇H̃ = ∇Ỹ W_y ⊙ (1 − H²), ∇W_h = ∇H̃ᵀ X
    N, p, n_hidden, C = 6, 4, 5, 3
    X = rng.standard_normal((N, p))
    labels = rng.integers(0, C, N)
    Y = np.eye(C)[labels]
    Wh_np, bh_np = rng.standard_normal((n_hidden, p)), rng.standard_normal(n_hidden)
    Wy_np, by_np = rng.standard_normal((C, n_hidden)), rng.standard_normal(C)
    Wh, bh = nb.tensor(Wh_np, requires_grad=True), nb.tensor(bh_np, requires_grad=True)
    Wy, by = nb.tensor(Wy_np, requires_grad=True), nb.tensor(by_np, requires_grad=True)
    H = nb.tanh(X @ Wh.T + bh)
    loss = F.cross_entropy(H @ Wy.T + by, labels)
    loss.backward()

    H_np = np.tanh(X @ Wh_np.T + bh_np)
    logits = H_np @ Wy_np.T + by_np
    Y_hat = np.exp(logits - logits.max(1, keepdims=True))
    Y_hat /= Y_hat.sum(1, keepdims=True)
    # the loss is the mean over rows, so each gradient carries 1/N
    grad_Yt = (Y_hat - Y) / N
    grad_Ht = grad_Yt @ Wy_np * (1 - H_np**2)
    expected = {
        "Wy": grad_Yt.T @ H_np,
        "by": grad_Yt.sum(axis=0),
        "Wh": grad_Ht.T @ X,
        "bh": grad_Ht.sum(axis=0),
    }
    got = {"Wy": Wy.grad, "by": by.grad, "Wh": Wh.grad, "bh": bh.grad}
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=0, atol=TOL, err_msg=key)
    loss_np = -np.mean(np.sum(Y * np.log(Y_hat), axis=1))
    np.testing.assert_allclose(loss.item(), loss_np, rtol=TOL)


def test_tanh_softmax_elementwise_and_vector_forms_agree(rng: np.random.Generator) -> None:
    # the cheatsheet's element-wise form δ_y,i = ŷ_i − y_i, ∂ℓ/∂W_y,ij = δ_y,i h_j,
    # δ_h,i = (1 − h_i²) Σ_j δ_y,j W_y,ji on one example (a column vector)
    p, n_hidden, C = 3, 4, 3
    x = rng.standard_normal(p)
    label = 1
    Wh_np, Wy_np = rng.standard_normal((n_hidden, p)), rng.standard_normal((C, n_hidden))
    Wh, Wy = nb.tensor(Wh_np, requires_grad=True), nb.tensor(Wy_np, requires_grad=True)
    h = nb.tanh(Wh @ x)
    F.cross_entropy(Wy @ h, np.array(label)).backward()

    h_np = np.tanh(Wh_np @ x)
    z = Wy_np @ h_np
    y_hat = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    delta_y = y_hat - np.eye(C)[label]
    dWy = np.array([[delta_y[i] * h_np[j] for j in range(n_hidden)] for i in range(C)])
    delta_h = np.array(
        [
            (1 - h_np[i] ** 2) * sum(delta_y[j] * Wy_np[j, i] for j in range(C))
            for i in range(n_hidden)
        ]
    )
    dWh = np.array([[delta_h[i] * x[j] for j in range(p)] for i in range(n_hidden)])
    np.testing.assert_allclose(Wy.grad, dWy, rtol=0, atol=TOL)
    np.testing.assert_allclose(Wh.grad, dWh, rtol=0, atol=TOL)


def test_dense_layer_rows_with_l2(rng: np.random.Generator) -> None:
    # (d) Z = O W + b (rows are examples), G = ∇_Z L:
    #     ∇W = Oᵀ G + λ W (from Ω = ½‖W‖²), ∇b = 1ᵀ G, ∇O = G Wᵀ
    m, n_in, n_out, lam = 5, 4, 3, 0.1
    O_np = rng.standard_normal((m, n_in))
    W_np, b_np = rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)
    G = rng.standard_normal((m, n_out))  # an arbitrary upstream gradient ∇_Z L
    O = nb.tensor(O_np, requires_grad=True)
    W, b = nb.tensor(W_np, requires_grad=True), nb.tensor(b_np, requires_grad=True)
    Z = O @ W + b
    J = (Z * G).sum() + lam * 0.5 * (W * W).sum()
    J.backward()
    np.testing.assert_allclose(W.grad, O_np.T @ G + lam * W_np, rtol=0, atol=TOL)
    np.testing.assert_allclose(b.grad, np.ones(m) @ G, rtol=0, atol=TOL)
    np.testing.assert_allclose(O.grad, G @ W_np.T, rtol=0, atol=TOL)


def test_softmax_with_loss_node_is_y_hat_minus_y(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((4, 5))
    target = np.eye(5)[[0, 3, 3, 1]]
    x = nb.tensor(logits, requires_grad=True)
    F.cross_entropy(x, target, reduction="sum").backward()
    y_hat = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad, y_hat - target, rtol=0, atol=TOL)
