"""Part 4: one tanh hidden layer + softmax + cross-entropy, in three equivalent forms.

The notes' network (the cheatsheet's notation; weights in the (out, in) layout):

    h̃ = W_h x + b_h,   h = tanh(h̃),   ỹ = W_y h + b_y,   ŷ = softmax(ỹ)
    ℓ = −Σᵢ yᵢ log ŷᵢ   (y one-hot)

First the key step: ∂ℓ/∂ỹᵢ = Σ_k ∂ℓ/∂ŷ_k ∂ŷ_k/∂ỹᵢ = ŷᵢ − yᵢ (the softmax Jacobian, contracted).
Then the backward pass written three ways, which must agree:

    element-wise   δ_y,i = ŷᵢ − yᵢ,  ∂ℓ/∂W_y,ij = δ_y,i h_j,  δ_h,i = (1 − hᵢ²) Σ_j δ_y,j W_y,ji,
                   ∂ℓ/∂W_h,ij = δ_h,i x_j  (and ∂ℓ/∂b = δ)
    vector         ∇ỹ = ŷ − y,  ∇W_y = ∇ỹ hᵀ,  ∇h̃ = W_yᵀ ∇ỹ ⊙ (1 − h²),  ∇W_h = ∇h̃ xᵀ
    batch (rows)   ∇Ỹ = (Ŷ − Y)/N,  ∇W_y = ∇Ỹᵀ H,  ∇b_y = sum_col(∇Ỹ),
                   ∇H̃ = ∇Ỹ W_y ⊙ (1 − H²),  ∇W_h = ∇H̃ᵀ X,  ∇b_h = sum_col(∇H̃)

(the batch loss is the mean over the N rows, hence the 1/N). The batch form is checked against
nabla's autodiff and central differences, then the network is trained on the digits with the
hand-written batch backward and with autodiff, side by side.

Notation (cheatsheet note 000 and note 004 → nabla):

    cheatsheet      note 004      nabla                            shape here
    x, y (one-hot)  x, y          X (rows), labels                 (N, in), (N,)
    W_h, b_h        W₁, b₁        W_h (out × in), b_h              (hidden, in), (hidden,)
    W_y, b_y        W₂, b₂        W_y, b_y                         (out, hidden), (out,)
    h̃, h            z₁, a₁        X @ W_h.T + b_h, nb.tanh(·)      (N, hidden)
    ỹ, ŷ            z₂, ŷ         logits, softmax(logits)          (N, out)
    δ_y, δ_h        δ₁, δ₂        ∇Ỹ, ∇H̃ (G at each layer)         (N, out), (N, hidden)

Corrections: the cheatsheet's batch column gives ∇Ỹ = Ŷ − Y, but its loss is the mean over the
N rows, so ∇Ỹ = (Ŷ − Y)/N (what autodiff and central differences agree with here). Note 004
numbers its δ backwards (δ₁ belongs to the output layer 2, δ₂ to layer 1); this script names
them by layer, δ_y and δ_h.

Layouts: both notes store W as (out × in), ``nn.Linear``'s layout; in ``X @ W_h.T``
``nb.explain`` shows the matmul's Xᵀ G for W_hᵀ and then the transpose step: together Gᵀ X, the
cheatsheet's ∇H̃ᵀ X.

The small example at the end of the checks goes through nabla's own tools: its gradients are
printed in full beside the hand rule, ``nb.explain`` prints the backward pass step by step (the
engine's order, each step's rule and shapes), and ``nb.viz.to_dot(..., grads=True)`` draws the
graph with each node's value and signed gradient (written to 04_graph.dot, and .svg with
Graphviz, when run as a script).

Run:  python docs/tutorials/04_tanh_softmax_mlp.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import nabla as nb
from nabla.data import StandardScaler, load_data, split_dataset

rng = np.random.default_rng(0)


def numerical_gradient(
    f: Callable[..., float], arrays: list[Any], k: int, eps: float = 1e-6
) -> Any:
    """∂f/∂arrays[k] by central differences: (f(a + ε eᵢ) − f(a − ε eᵢ)) / 2ε per element."""
    x = arrays[k]
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(*arrays)
        x[i] = old - eps
        minus = f(*arrays)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: Any, b: Any) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def softmax(a: Any, axis: int = -1) -> Any:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def elementwise_backward(Wh: Any, bh: Any, Wy: Any, by: Any, x: Any, y: Any) -> list[Any]:
    """One example, index by index, exactly as the cheatsheet's first column."""
    n_hidden, n_in = Wh.shape
    n_out = Wy.shape[0]
    h = [np.tanh(sum(Wh[i, j] * x[j] for j in range(n_in)) + bh[i]) for i in range(n_hidden)]
    y_tilde = [sum(Wy[i, j] * h[j] for j in range(n_hidden)) + by[i] for i in range(n_out)]
    y_hat = softmax(np.array(y_tilde))
    delta_y = [y_hat[i] - y[i] for i in range(n_out)]
    dWy = np.array([[delta_y[i] * h[j] for j in range(n_hidden)] for i in range(n_out)])
    delta_h = [
        (1 - h[i] ** 2) * sum(delta_y[j] * Wy[j, i] for j in range(n_out)) for i in range(n_hidden)
    ]
    dWh = np.array([[delta_h[i] * x[j] for j in range(n_in)] for i in range(n_hidden)])
    return [dWh, np.array(delta_h), dWy, np.array(delta_y)]


def vector_backward(Wh: Any, bh: Any, Wy: Any, by: Any, x: Any, y: Any) -> list[Any]:
    """One example as column vectors (x: p × 1), the cheatsheet's second column."""
    h = np.tanh(Wh @ x + bh)
    y_hat = softmax(Wy @ h + by, axis=0)
    g_y = y_hat - y
    g_h = (Wy.T @ g_y) * (1 - h**2)
    return [g_h @ x.T, g_h, g_y @ h.T, g_y]


def batch_backward(Wh: Any, bh: Any, Wy: Any, by: Any, X: Any, Y: Any) -> list[Any]:
    """N examples as rows, the cheatsheet's third column (mean loss: 1/N)."""
    H = np.tanh(X @ Wh.T + bh)
    Y_hat = softmax(H @ Wy.T + by)
    G_y = (Y_hat - Y) / len(X)
    G_h = (G_y @ Wy) * (1 - H**2)
    return [G_h.T @ X, G_h.sum(axis=0), G_y.T @ H, G_y.sum(axis=0)]


def loss_graph(Wh: Any, bh: Any, Wy: Any, by: Any, X: Any, Y: Any) -> Any:
    H = nb.tanh(X @ Wh.T + bh)
    return nb.nn.functional.cross_entropy(H @ Wy.T + by, Y)


def init(n_in: int, n_hidden: int, n_out: int) -> list[Any]:
    return [
        rng.standard_normal((n_hidden, n_in)) / np.sqrt(n_in),
        rng.standard_normal(n_hidden) * 0.1,
        rng.standard_normal((n_out, n_hidden)) / np.sqrt(n_hidden),
        rng.standard_normal(n_out) * 0.1,
    ]


def check(results: dict[str, float]) -> None:
    n_in, n_hidden, n_out, n = 4, 5, 3, 6
    params = init(n_in, n_hidden, n_out)
    X, labels = rng.standard_normal((n, n_in)), rng.integers(0, n_out, n)
    Y = np.eye(n_out)[labels]

    # ∂ℓ/∂ỹ through the softmax Jacobian ∂ŷ_k/∂ỹᵢ = ŷ_k (δ_ki − ŷᵢ), with ∂ℓ/∂ŷ_k = −y_k/ŷ_k
    y_hat = softmax(rng.standard_normal(n_out))
    jacobian = np.diag(y_hat) - np.outer(y_hat, y_hat)
    chained = (-Y[0] / y_hat) @ jacobian
    results["softmax Jacobian chain vs ŷ − y"] = relative_error(chained, y_hat - Y[0])

    # the three forms: per example, element-wise = vector; batch = the mean of the examples
    per_example = [
        elementwise_backward(*params, X[i], Y[i]) for i in range(n)
    ]  # each: [dWh, dbh, dWy, dby]
    vectors = [
        vector_backward(
            params[0],
            params[1][:, None],
            params[2],
            params[3][:, None],
            X[i][:, None],
            Y[i][:, None],
        )
        for i in range(n)
    ]
    results["element-wise vs vector form"] = max(
        relative_error(e, v.reshape(e.shape))
        for es, vs in zip(per_example, vectors)
        for e, v in zip(es, vs)
    )
    batch = batch_backward(*params, X, Y)
    mean_of_examples = [np.mean([e[k] for e in per_example], axis=0) for k in range(4)]
    results["batch vs mean of examples"] = max(map(relative_error, batch, mean_of_examples))

    tensors = [nb.tensor(p, requires_grad=True) for p in params]
    auto = [g.data for g in nb.grad(loss_graph(*tensors, X, labels), tensors)]

    def value(*arrays: Any) -> float:
        with nb.no_grad():
            return float(loss_graph(*[nb.tensor(a) for a in arrays], X, labels).item())

    numeric = [numerical_gradient(value, params, k) for k in range(4)]
    results["batch form: autodiff vs hand"] = max(map(relative_error, auto, batch))
    results["batch form: numeric vs hand"] = max(map(relative_error, numeric, batch))
    for name, err in results.items():
        print(f"  {name:<34} {err:.1e}")


def train() -> tuple[float, float]:
    """Mini-batch SGD on the digits: the batch backward by hand, and autodiff, same batches."""
    data = load_data("digits")
    parts = split_dataset(data.X, data.y, val_split=0.0, test_split=0.25, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    X, labels = scaler.transform(parts.X_train).astype(np.float64), parts.y_train
    Y = np.eye(int(data.n_classes))[labels]
    hand = init(X.shape[1], 32, int(data.n_classes))
    tensors = [nb.tensor(p.copy(), requires_grad=True) for p in hand]
    order = np.random.default_rng(1)
    lr, batch = 0.2, 32
    for _ in range(15):
        perm = order.permutation(len(X))
        for start in range(0, len(X), batch):
            idx = perm[start : start + batch]
            grads = batch_backward(*hand, X[idx], Y[idx])
            hand = [p - lr * g for p, g in zip(hand, grads)]
            for t, g in zip(tensors, nb.grad(loss_graph(*tensors, X[idx], labels[idx]), tensors)):
                t.data -= lr * g.data
    weights_diff = max(relative_error(t.data, p) for t, p in zip(tensors, hand))
    Wh, bh, Wy, by = (t.data for t in tensors)
    X_test = scaler.transform(parts.X_test).astype(np.float64)
    predicted = (np.tanh(X_test @ Wh.T + bh) @ Wy.T + by).argmax(axis=1)
    return float((predicted == parts.y_test).mean()), weights_diff


def tools_example(results: dict[str, float]) -> dict[str, Any]:
    """The batch (rows) form on 4 examples, small enough to read every number."""
    example_rng = np.random.default_rng(1)  # its own draws: the checks' and training's stay put
    shapes = {"W_h": (4, 3), "b_h": (4,), "W_y": (3, 4), "b_y": (3,)}
    arrays = [example_rng.standard_normal(shape) * 0.5 for shape in shapes.values()]
    X, labels = example_rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    leaves = {n: nb.tensor(a, requires_grad=True, name=n) for n, a in zip(shapes, arrays)}
    loss = loss_graph(*leaves.values(), X, labels)
    hand = batch_backward(*arrays, X, np.eye(3)[labels])
    return show_with_tools(loss, leaves, hand, "04_graph", results)


def show_with_tools(
    loss: Any, leaves: dict[str, Any], hand: list[Any], stem: str, results: dict[str, float]
) -> dict[str, Any]:
    """The small example through nabla's tools, beside the hand rule.

    Prints each leaf's gradient in full (and how far it is from the hand-derived one), then
    ``nb.explain``'s trace (the engine's steps, each with its forward line and rule) and builds
    the drawing with values and signed gradients (``nb.viz.to_dot(..., grads=True)``), written
    to STEM.dot (and STEM.svg where Graphviz is installed) only when run as a script.
    """
    grads = nb.grad(loss, list(leaves.values()), retain_graph=True)
    for (name, g), by_hand in zip(zip(leaves, grads), hand):
        err = relative_error(g.data, by_hand)
        results[f"example ∇{name}: autodiff vs hand"] = err
        print(f"  ∇{name}  (autodiff − hand {err:.1e}) =")
        print(np.array2string(g.data, precision=4, suppress_small=True))
    explanation = nb.explain(loss, show=True)
    dot = nb.viz.to_dot(loss, grads=True)
    if __name__ == "__main__":
        Path(f"{stem}.dot").write_text(dot)
        nb.viz.dot.write_graph(dot, f"{stem}.svg")  # rendered by Graphviz, else left as .dot
        print(f"  wrote {stem}.dot (and {stem}.svg with Graphviz): data and signed grad per node")
    return {
        "explain": str(explanation),
        "explain_steps": len(explanation.steps),
        "example": loss,
        "grads": {name: g.data for name, g in zip(leaves, grads)},
        "dot": dot,
    }


def main() -> dict[str, Any]:
    results: dict[str, float] = {}
    print("Part 4: tanh + softmax MLP — element-wise, vector and batch forms, autodiff, numeric")
    check(results)
    tools = tools_example(results)
    accuracy, weights_diff = train()
    results["trained weights: autodiff vs hand"] = weights_diff
    print(f"trained weights, autodiff vs hand-written batch backward: {weights_diff:.1e}")
    print(f"tanh + softmax MLP (64-32-10) on digits: held-out accuracy {accuracy:.3f}")
    return {**tools, "max_diff": results, "accuracy": accuracy}


if __name__ == "__main__":
    main()
