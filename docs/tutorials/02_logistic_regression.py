"""Part 2: logistic regression, forward and backward (column vectors, as in the notes).

    v = w x + b,   y = σ(v),   L(y, d) = −d log y − (1 − d) log(1 − y)

Backward, by the chain rule:

    dy = (y − d) / (y (1 − y))
    dv = dy · σ′(v) = dy · y (1 − y) = y − d
    dw = dv xᵀ,   db = dv

and for a batch of m examples stored as the columns of X (n × m), with the mean loss,

    dV = Y − D,   dw = (1/m) dV Xᵀ,   db = (1/m) Σᵢ dV⁽ⁱ⁾.

Each formula is checked against nabla's autodiff (the graph built from σ and log, not the fused
loss) and central differences. Then the model is trained twice on the breast-cancer data, once
with the hand-derived gradients and once with autodiff: the weights end up the same.

Notation (note 003 → nabla):

    note           nabla                           shape here
    x, X           x (one column), X (n × m)       (4, 1), (4, 6)
    w, b           w (1 × n), b (1 × 1)            (1, 4), (1, 1)
    v, y = σ(v)    w @ x + b, nb.sigmoid(v)        (1, m)
    d, D           the 0/1 targets                 (1, m)
    dy, dv, dw     the gradients ∂L/∂y, ∂L/∂v, …   as y, v, w

Layouts: the note's column form ``w @ x``, with w (out × in), is the layout ``nn.Linear`` uses;
``nb.explain``'s matmul rule for the first operand, G Bᵀ for A @ B, is the note's dw = dv xᵀ.

Correction: the one-layer lines of note 003 used here are right as written; the note's dV¹
line (a typo) is corrected in part 3.

The small example at the end of the checks goes through nabla's own tools: its gradients are
printed in full beside the hand rule, ``nb.explain`` prints the backward pass step by step (the
engine's order, each step's rule and shapes), and ``nb.viz.to_dot(..., grads=True)`` draws the
graph with each node's value and signed gradient (written to 02_graph.dot, and .svg with
Graphviz, when run as a script).

Run:  python docs/tutorials/02_logistic_regression.py
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


def loss_graph(w: Any, b: Any, X: Any, D: Any) -> Any:
    """The notes' graph in nabla: v = w X + b, y = σ(v), mean of −d log y − (1 − d) log(1 − y)."""
    Y = nb.sigmoid(w @ X + b)
    return (-(D * nb.log(Y)) - (1 - D) * nb.log(1 - Y)).mean()


def hand_gradients(w: Any, b: Any, X: Any, D: Any) -> tuple[Any, Any]:
    """dw = (1/m) (Y − D) Xᵀ and db = (1/m) Σ (Y − D): the notes' vectorised backward."""
    m = X.shape[1]
    Y = sigmoid(w @ X + b)
    dV = Y - D
    return dV @ X.T / m, dV.sum(axis=1, keepdims=True) / m


def check(results: dict[str, float]) -> None:
    n, m = 4, 6
    w, b = rng.standard_normal((1, n)), rng.standard_normal((1, 1))

    # one example: x is a column (n × 1), d ∈ {0, 1}
    x, d = rng.standard_normal((n, 1)), np.array([[1.0]])
    y = sigmoid(w @ x + b)
    dy = (y - d) / (y * (1 - y))
    dv = dy * y * (1 - y)  # = y − d
    y_t = nb.tensor(y, requires_grad=True)  # dy: differentiate L with respect to y itself
    (dy_auto,) = nb.grad(-(d * nb.log(y_t)) - (1 - d) * nb.log(1 - y_t), y_t)
    results["dy: autodiff vs hand"] = relative_error(dy_auto.data, dy)
    results["dv = dy·y(1 − y) vs y − d"] = relative_error(dv, y - d)
    hand = [dv @ x.T, dv]  # dw = dv xᵀ, db = dv
    tensors = [nb.tensor(w, requires_grad=True), nb.tensor(b, requires_grad=True)]
    auto = [g.data for g in nb.grad(loss_graph(*tensors, x, d), tensors)]
    results["one example dw, db: autodiff vs hand"] = max(map(relative_error, auto, hand))

    # a batch: m columns, the mean loss gives the 1/m
    X, D = rng.standard_normal((n, m)), rng.integers(0, 2, (1, m)).astype(float)
    hand = list(hand_gradients(w, b, X, D))
    tensors = [nb.tensor(w, requires_grad=True), nb.tensor(b, requires_grad=True)]
    auto = [g.data for g in nb.grad(loss_graph(*tensors, X, D), tensors)]

    def value(w_: Any, b_: Any) -> float:
        with nb.no_grad():
            return float(loss_graph(nb.tensor(w_), nb.tensor(b_), X, D).item())

    numeric = [numerical_gradient(value, [w, b], k) for k in range(2)]
    results["batch dw, db: autodiff vs hand"] = max(map(relative_error, auto, hand))
    results["batch dw, db: numeric vs hand"] = max(map(relative_error, numeric, hand))
    for name, err in results.items():
        print(f"  {name:<40} {err:.1e}")


def train() -> tuple[float, float]:
    """Full-batch gradient descent on breast cancer, by hand and by autodiff, same start."""
    data = load_data("breast_cancer")
    parts = split_dataset(data.X, data.y, val_split=0.0, test_split=0.25, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    X = scaler.transform(parts.X_train).astype(np.float64).T  # columns are examples
    D = parts.y_train.astype(np.float64)[None, :]
    n, lr = X.shape[0], 0.5
    w_hand, b_hand = np.zeros((1, n)), np.zeros((1, 1))
    w = nb.tensor(np.zeros((1, n)), requires_grad=True)
    b = nb.tensor(np.zeros((1, 1)), requires_grad=True)
    for _ in range(300):
        dw, db = hand_gradients(w_hand, b_hand, X, D)
        w_hand, b_hand = w_hand - lr * dw, b_hand - lr * db
        gw, gb = nb.grad(loss_graph(w, b, X, D), [w, b])
        w.data -= lr * gw.data
        b.data -= lr * gb.data
    weights_diff = max(relative_error(w.data, w_hand), relative_error(b.data, b_hand))
    X_test = scaler.transform(parts.X_test).astype(np.float64).T
    predicted = (sigmoid(w.data @ X_test + b.data) > 0.5).astype(int).ravel()
    return float((predicted == parts.y_test).mean()), weights_diff


def tools_example(results: dict[str, float]) -> dict[str, Any]:
    """One example through the notes' graph: dv = y − d emerges from the log → σ chain."""
    example_rng = np.random.default_rng(1)  # its own draws: the checks' and training's stay put
    w_, b_ = example_rng.standard_normal((1, 3)), example_rng.standard_normal((1, 1))
    x, d = example_rng.standard_normal((3, 1)), np.array([[1.0]])
    w, b = nb.tensor(w_, requires_grad=True, name="w"), nb.tensor(b_, requires_grad=True, name="b")
    loss = loss_graph(w, b, x, d)
    dv = sigmoid(w_ @ x + b_) - d
    return show_with_tools(loss, {"w": w, "b": b}, [dv @ x.T, dv], "02_graph", results)


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
    print("Part 2: logistic regression — hand-derived gradients vs autodiff vs numeric")
    check(results)
    tools = tools_example(results)
    accuracy, weights_diff = train()
    results["trained weights: autodiff vs hand"] = weights_diff
    print(f"trained weights, autodiff vs hand-derived gradients: {weights_diff:.1e}")
    print(f"logistic regression on breast cancer: held-out accuracy {accuracy:.3f}")
    return {**tools, "max_diff": results, "accuracy": accuracy}


if __name__ == "__main__":
    main()
