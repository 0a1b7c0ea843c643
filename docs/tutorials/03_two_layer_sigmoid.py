"""Part 3: a two-layer sigmoid network in column form, a batch of m examples, 1/m averaging.

Examples are the columns of X (n⁰ × m); D (n² × m) holds the 0/1 targets.

    V¹ = W¹ X + b¹,   Y¹ = σ(V¹),   V² = W² Y¹ + b²,   Y² = σ(V²)
    L = (1/m) Σᵢ −D⁽ⁱ⁾ log Y²⁽ⁱ⁾ − (1 − D⁽ⁱ⁾) log(1 − Y²⁽ⁱ⁾)

Backward (the notes' "matrix form"):

    dV² = Y² − D
    dW² = (1/m) dV² Y¹ᵀ,        db² = (1/m) Σᵢ dV²⁽ⁱ⁾
    dY¹ = W²ᵀ dV²
    dV¹ = dY¹ ⊙ σ′(V¹) = dY¹ ⊙ Y¹ (1 − Y¹)
    dW¹ = (1/m) dV¹ Xᵀ,          db¹ = (1/m) Σᵢ dV¹⁽ⁱ⁾

with the dimension checks W¹: n¹ × n⁰, b¹: n¹ × 1, W²: n² × n¹, b²: n² × 1 — every gradient has
the shape of its parameter. Checked against autodiff and central differences, then trained on
the breast-cancer data with the hand-derived gradients and with autodiff, side by side.

Notation (note 003 → nabla):

    note            nabla                                  shape (n⁰, n¹, n², m = 4, 5, 1, 7)
    X, D            X, D (columns are examples)            (n⁰, m), (n², m)
    W¹, b¹          W1, b1 (out × in, like nn.Linear)      (n¹, n⁰), (n¹, 1)
    W², b²          W2, b2                                 (n², n¹), (n², 1)
    V¹, Y¹ = σ(V¹)  W1 @ X + b1, nb.sigmoid(V1)            (n¹, m)
    dV², dY¹, …     the gradients of the mean loss × m     as V², Y¹, …

Correction: the note writes dV¹ = W²ᵀ dY² · σ′(Y¹); the rest of its derivation gives
dY¹ = W²ᵀ dV² and dV¹ = dY¹ ⊙ σ′(V¹) = dY¹ ⊙ Y¹ (1 − Y¹), which is what this script checks.

Layouts: column form W¹ (out × in) is ``nn.Linear``'s layout; ``nb.explain``'s matmul rule for
the first operand of ``W1 @ X``, G Bᵀ for A @ B, is the note's dV¹ Xᵀ (the 1/m arrives with g,
from the mean's step).

The small example at the end of the checks goes through nabla's own tools: its gradients are
printed in full beside the hand rule, ``nb.explain`` prints the backward pass step by step (the
engine's order, each step's rule and shapes), and ``nb.viz.to_dot(..., grads=True)`` draws the
graph with each node's value and signed gradient (written to 03_graph.dot, and .svg with
Graphviz, when run as a script).

Run:  python docs/tutorials/03_two_layer_sigmoid.py
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


def sigmoid(v: Any) -> Any:
    return 1 / (1 + np.exp(-v))


def loss_graph(W1: Any, b1: Any, W2: Any, b2: Any, X: Any, D: Any) -> Any:
    Y1 = nb.sigmoid(W1 @ X + b1)
    Y2 = nb.sigmoid(W2 @ Y1 + b2)
    return (-(D * nb.log(Y2)) - (1 - D) * nb.log(1 - Y2)).mean(axis=1).sum()


def hand_gradients(W1: Any, b1: Any, W2: Any, b2: Any, X: Any, D: Any) -> list[Any]:
    m = X.shape[1]
    Y1 = sigmoid(W1 @ X + b1)
    Y2 = sigmoid(W2 @ Y1 + b2)
    dV2 = Y2 - D
    dW2 = dV2 @ Y1.T / m
    db2 = dV2.sum(axis=1, keepdims=True) / m
    dY1 = W2.T @ dV2
    dV1 = dY1 * Y1 * (1 - Y1)
    dW1 = dV1 @ X.T / m
    db1 = dV1.sum(axis=1, keepdims=True) / m
    return [dW1, db1, dW2, db2]


def init(n0: int, n1: int, n2: int, scale: float = 1.0) -> list[Any]:
    return [
        rng.standard_normal((n1, n0)) * scale / np.sqrt(n0),
        np.zeros((n1, 1)),
        rng.standard_normal((n2, n1)) * scale / np.sqrt(n1),
        np.zeros((n2, 1)),
    ]


def check(results: dict[str, float]) -> bool:
    """Fill ``results`` with the disagreements; returns whether every shape checks out."""
    n0, n1, n2, m = 4, 5, 1, 7
    params = init(n0, n1, n2)
    params[1] = rng.standard_normal((n1, 1))  # non-zero biases make a sharper test
    params[3] = rng.standard_normal((n2, 1))
    X, D = rng.standard_normal((n0, m)), rng.integers(0, 2, (n2, m)).astype(float)
    hand = hand_gradients(*params, X, D)
    expected = [(n1, n0), (n1, 1), (n2, n1), (n2, 1)]
    shapes_ok = all(g.shape == s == p.shape for g, s, p in zip(hand, expected, params))
    print(
        f"  dimension check: dW1 {hand[0].shape}, db1 {hand[1].shape}, dW2 {hand[2].shape}, "
        f"db2 {hand[3].shape}: {'ok' if shapes_ok else 'WRONG'}"
    )
    tensors = [nb.tensor(p, requires_grad=True) for p in params]
    auto = [g.data for g in nb.grad(loss_graph(*tensors, X, D), tensors)]

    def value(*arrays: Any) -> float:
        with nb.no_grad():
            return float(loss_graph(*[nb.tensor(a) for a in arrays], X, D).item())

    numeric = [numerical_gradient(value, params, k) for k in range(4)]
    for k, name in enumerate(["dW1", "db1", "dW2", "db2"]):
        results[f"{name}: autodiff vs hand"] = relative_error(auto[k], hand[k])
        results[f"{name}: numeric vs hand"] = relative_error(numeric[k], hand[k])
    for name, err in results.items():
        print(f"  {name:<24} {err:.1e}")
    return shapes_ok


def train() -> tuple[float, float]:
    data = load_data("breast_cancer")
    parts = split_dataset(data.X, data.y, val_split=0.0, test_split=0.25, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    X = scaler.transform(parts.X_train).astype(np.float64).T
    D = parts.y_train.astype(np.float64)[None, :]
    hand = init(X.shape[0], 16, 1)
    tensors = [nb.tensor(p.copy(), requires_grad=True) for p in hand]
    lr = 1.0
    for _ in range(300):
        grads = hand_gradients(*hand, X, D)
        hand = [p - lr * g for p, g in zip(hand, grads)]
        for t, g in zip(tensors, nb.grad(loss_graph(*tensors, X, D), tensors)):
            t.data -= lr * g.data
    weights_diff = max(relative_error(t.data, p) for t, p in zip(tensors, hand))
    W1, b1, W2, b2 = (t.data for t in tensors)
    X_test = scaler.transform(parts.X_test).astype(np.float64).T
    Y2 = sigmoid(W2 @ sigmoid(W1 @ X_test + b1) + b2)
    return float(((Y2 > 0.5).ravel() == parts.y_test).mean()), weights_diff


def tools_example(results: dict[str, float]) -> dict[str, Any]:
    """The two-layer network on 3 examples (columns), small enough to read every number."""
    example_rng = np.random.default_rng(1)  # its own draws: the checks' and training's stay put
    shapes = {"W1": (3, 2), "b1": (3, 1), "W2": (1, 3), "b2": (1, 1)}
    arrays = [example_rng.standard_normal(shape) for shape in shapes.values()]
    X, D = example_rng.standard_normal((2, 3)), np.array([[1.0, 0.0, 1.0]])
    leaves = {n: nb.tensor(a, requires_grad=True, name=n) for n, a in zip(shapes, arrays)}
    loss = loss_graph(*leaves.values(), X, D)
    hand = hand_gradients(*arrays, X, D)
    return show_with_tools(loss, leaves, hand, "03_graph", results)


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
    print("Part 3: two-layer sigmoid network, column form — hand vs autodiff vs numeric")
    shapes_ok = check(results)
    tools = tools_example(results)
    accuracy, weights_diff = train()
    results["trained weights: autodiff vs hand"] = weights_diff
    print(f"trained weights, autodiff vs hand-derived gradients: {weights_diff:.1e}")
    print(f"two-layer sigmoid network on breast cancer: held-out accuracy {accuracy:.3f}")
    return {**tools, "max_diff": results, "accuracy": accuracy, "shapes_ok": shapes_ok}


if __name__ == "__main__":
    main()
