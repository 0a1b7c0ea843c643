"""Part 1: the primitive nodes of a computational graph ("Let's backprop").

Every node receives ∂L/∂z, the gradient of the loss with respect to its output, and hands each
input ∂L/∂z · ∂z/∂input. For each node of the notes this script writes that rule by hand, asks
nabla's autodiff for the same gradient, and estimates it numerically with central differences:
the three must agree. It ends by training softmax regression (the y = xW node followed by the
softmax-with-loss node) on the iris flowers.

Notation (note 002, "Let's backprop" → nabla):

    note                 nabla                          shape here
    x, y (node inputs)   the op's inputs x, y           (3, 4)
    z (node output)      the op's output                (3, 4)
    ∂L/∂z                g, "the gradient from above"   as z
    y = xW               x @ W; W is (in × out)         x (2, 2), W (2, 3)
    repmat               nb.broadcast_to                (1, 4) → (3, 4)
    t (one-hot target)   the target of cross_entropy    (N, classes)

Layouts: the note's W is (in × out), as in ``x @ W``; ``nb.explain`` then prints ∇W = Xᵀ G, the
note's xᵀ ∂L/∂y. (``nn.Linear`` stores the transpose; see part 6.)

Correction: the note ends its y = xW derivation with ∂L/∂x = ∂L/∂xᵢ wᵀ, and writes ∂L/yⱼ
without its ∂; it means ∂L/∂x = ∂L/∂y Wᵀ, which is what this script checks.

The small example at the end of the checks goes through nabla's own tools: its gradients are
printed in full beside the hand rule, ``nb.explain`` prints the backward pass step by step (the
engine's order, each step's rule and shapes), and ``nb.viz.to_dot(..., grads=True)`` draws the
graph with each node's value and signed gradient (written to 01_graph.dot, and .svg with
Graphviz, when run as a script).

Run:  python docs/tutorials/01_primitive_nodes.py
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


def check_node(
    name: str,
    forward: Callable[..., Any],
    hand: Callable[..., list[Any]],
    arrays: list[Any],
    results: dict[str, float],
) -> None:
    """Compare the hand rule, autodiff and central differences for L = Σ u ⊙ node(inputs).

    A random upstream gradient u = ∂L/∂z (not all ones, which hides transposition mistakes).
    """
    u = rng.standard_normal(np.shape(forward(*[nb.tensor(a) for a in arrays]).data))

    def loss(*inputs: Any) -> Any:
        return (forward(*inputs) * nb.tensor(u)).sum()

    def loss_value(*values: Any) -> float:
        with nb.no_grad():
            return float(loss(*[nb.tensor(v) for v in values]).item())

    tensors = [nb.tensor(a, requires_grad=True) for a in arrays]
    autodiff = [g.data for g in nb.grad(loss(*tensors), tensors)]
    by_hand = hand(u, *arrays)
    numeric = [numerical_gradient(loss_value, arrays, k) for k in range(len(arrays))]
    results[f"{name}: autodiff vs hand"] = max(map(relative_error, autodiff, by_hand))
    results[f"{name}: numeric vs hand"] = max(map(relative_error, numeric, by_hand))
    print(
        f"  {name:<20} autodiff − hand {results[f'{name}: autodiff vs hand']:.1e}   "
        f"numeric − hand {results[f'{name}: numeric vs hand']:.1e}"
    )


def sigmoid(v: Any) -> Any:
    return 1 / (1 + np.exp(-v))


def softmax(a: Any) -> Any:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def train_softmax_regression() -> float:
    """Softmax regression on iris: the y = xW node, a bias, and softmax with loss."""
    data = load_data("iris")
    parts = split_dataset(data.X, data.y, val_split=0.0, test_split=0.3, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    X_train, X_test = scaler.transform(parts.X_train), scaler.transform(parts.X_test)
    n_classes = int(data.n_classes)
    W = nb.tensor(np.zeros((X_train.shape[1], n_classes)), requires_grad=True)
    b = nb.tensor(np.zeros(n_classes), requires_grad=True)
    for _ in range(200):  # full-batch gradient descent
        loss = nb.nn.functional.cross_entropy(nb.tensor(X_train) @ W + b, parts.y_train)
        gW, gb = nb.grad(loss, [W, b])
        W.data -= 0.5 * gW.data
        b.data -= 0.5 * gb.data
    predicted = (X_test @ W.data + b.data).argmax(axis=1)
    return float((predicted == parts.y_test).mean())


def tools_example(results: dict[str, float]) -> dict[str, Any]:
    """The y = xW node into softmax with loss, small enough to read every number."""
    example_rng = np.random.default_rng(1)  # its own draws: the checks' and training's stay put
    x_, W_ = example_rng.standard_normal((2, 2)), example_rng.standard_normal((2, 3))
    t = np.eye(3)[[0, 2]]
    x, W = nb.tensor(x_, requires_grad=True, name="x"), nb.tensor(W_, requires_grad=True, name="W")
    loss = nb.nn.functional.cross_entropy(x @ W, t)
    G = (softmax(x_ @ W_) - t) / len(x_)  # ∂L/∂y = (ŷ − t)/N
    return show_with_tools(loss, {"x": x, "W": W}, [G @ W_.T, x_.T @ G], "01_graph", results)


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
    print("Part 1: primitive nodes — hand rule vs autodiff vs central differences")
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    positive = rng.uniform(0.5, 2.0, (3, 4))

    # z = x + y:  ∂L/∂x = ∂L/∂z · 1,  ∂L/∂y = ∂L/∂z · 1
    check_node("add", lambda a, b: a + b, lambda u, a, b: [u, u], [x, y], results)
    # z = x × y:  ∂L/∂x = ∂L/∂z · y,  ∂L/∂y = ∂L/∂z · x
    check_node("mul", lambda a, b: a * b, lambda u, a, b: [u * b, u * a], [x, y], results)
    # y = 1/x:  ∂L/∂x = −∂L/∂y · 1/x²
    check_node("1/x", nb.reciprocal, lambda u, a: [-u / a**2], [positive], results)
    # y = log x:  ∂L/∂x = ∂L/∂y · 1/x
    check_node("log", nb.log, lambda u, a: [u / a], [positive], results)
    # y = exp x:  ∂L/∂x = ∂L/∂y · exp(x)
    check_node("exp", nb.exp, lambda u, a: [u * np.exp(a)], [x], results)
    # z = σ(x):  ∂L/∂x = ∂L/∂z · z(1 − z)
    check_node(
        "sigmoid", nb.sigmoid, lambda u, a: [u * sigmoid(a) * (1 - sigmoid(a))], [x], results
    )
    # branch: x feeds two nodes (here z = x ⊙ x); the gradients of the branches add up
    check_node("branch", lambda a: a * a, lambda u, a: [u * a + u * a], [x], results)
    # repeat: a row copied to 3 rows (repmat); its gradient is the sum of the copies' gradients
    row = rng.standard_normal((1, 4))
    check_node(
        "repeat",
        lambda a: nb.broadcast_to(a, (3, 4)),
        lambda u, a: [u.sum(axis=0, keepdims=True)],
        [row],
        results,
    )
    # sum over rows: the gradient of each summed element is the output's gradient, repeated
    check_node(
        "sum",
        lambda a: a.sum(axis=0),
        lambda u, a: [np.repeat(u[None, :], a.shape[0], axis=0)],
        [x],
        results,
    )
    # y = x W:  ∂L/∂x = ∂L/∂y Wᵀ,  ∂L/∂W = xᵀ ∂L/∂y
    xs, W = rng.standard_normal((2, 2)), rng.standard_normal((2, 3))
    check_node("y = xW", lambda a, w: a @ w, lambda u, a, w: [u @ w.T, a.T @ u], [xs, W], results)
    # softmax with (cross-entropy) loss, t one-hot: ∂L/∂a = (y − t) / N for the mean over N rows
    logits, t = rng.standard_normal((5, 3)), np.eye(3)[rng.integers(0, 3, 5)]
    check_node(
        "softmax with loss",
        lambda a: nb.nn.functional.cross_entropy(a, t),
        lambda u, a: [u * (softmax(a) - t) / len(a)],
        [logits],
        results,
    )

    tools = tools_example(results)
    accuracy = train_softmax_regression()
    print(f"softmax regression on iris: held-out accuracy {accuracy:.3f}")
    return {**tools, "max_diff": results, "accuracy": accuracy}


if __name__ == "__main__":
    main()
