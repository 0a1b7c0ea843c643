"""Part 6: L2 regularisation, J(θ) = L(θ) + λ Ω(θ) with Ω = ½ Σ_W ‖W‖².

Ω's gradient with respect to a weight matrix is W itself, so the regularised gradient is the
layer's gradient plus λ W (the notes' "A)" line):

    ∇_W J = Gᵀ O + λ W        (nabla's layout, W: out × in; the notes' Oᵀ G + λ W transposed)
    ∇_b J = 1ᵀ G              (biases are not penalised)

and a gradient-descent step on J is W ← W − η (∇_W L + λ W) = (1 − ηλ) W − η ∇_W L: the weights
"decay" towards zero, which is why plain SGD's ``weight_decay=λ`` is the same thing. This script
checks the formula against autodiff of ``loss + λ · nn.l2_penalty(model)`` and against central
differences, checks that SGD with weight decay on the weights takes exactly the same steps, and
trains on the digits with and without the penalty: the penalised weights come out smaller.

Notation (note 001, "Adding regularization" → nabla):

    note               nabla                                    shape here
    J = L + λΩ         objective(model, X, y, λ)                scalar
    Ω = ½ Σ_W ‖W‖²     nn.l2_penalty(model)                     scalar
    Wˡ, bˡ             model's l.weight (out × in), l.bias      (out, in), (out,)
    Oˡ⁻¹, G            the layer's input rows, ∇ of its output  (m, in), (m, out)
    A) ∇_W J           ∇W = Gᵀ X + λ W                          (out, in)

Layouts, reconciled: the note writes ∇_W J = Oᵀ G + λW with W (in × out); ``nn.Linear`` (as
PyTorch) stores W (out × in), so ``nb.explain`` prints ∇W = Gᵀ X: the transpose, the same
numbers. The trace also shows the two paths into each weight (the loss and the penalty) adding.

Correction: the note's line A) is right; its earlier ∇_b line's ∂L/∂z for ∂z/∂b is corrected in
part 5.

The small example at the end of the checks goes through nabla's own tools: its gradients are
printed in full beside the hand rule, ``nb.explain`` prints the backward pass step by step (the
engine's order, each step's rule and shapes), and ``nb.viz.to_dot(..., grads=True)`` draws the
graph with each node's value and signed gradient (written to 06_graph.dot, and .svg with
Graphviz, when run as a script).

Run:  python docs/tutorials/06_l2_regularisation.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import nabla as nb
from nabla import nn, optim
from nabla.data import StandardScaler, load_data, split_dataset

rng = np.random.default_rng(0)
LAMBDA = 0.01


def numerical_gradient(f: Callable[[], float], x: Any, eps: float = 1e-6) -> Any:
    """∂f/∂x by central differences, changing x in place (f reads it)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: Any, b: Any) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def objective(model: nn.Module, X: Any, y: Any, lam: float) -> Any:
    """J = mean cross-entropy + λ Ω(θ)."""
    return nn.functional.cross_entropy(model(nb.tensor(X)), y) + lam * nn.l2_penalty(model)


def softmax(a: Any) -> Any:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def hand_gradients(model: nn.MLP, X: Any, y: Any, lam: float) -> list[Any]:
    """Batch backward of Linear → tanh → Linear → softmax-CE, plus λW on the two weights."""
    W1, b1, W2, b2 = (p.data for p in model.parameters())
    H = np.tanh(X @ W1.T + b1)
    G2 = (softmax(H @ W2.T + b2) - np.eye(W2.shape[0])[y]) / len(X)
    G1 = (G2 @ W2) * (1 - H**2)
    return [G1.T @ X + lam * W1, G1.sum(axis=0), G2.T @ H + lam * W2, G2.sum(axis=0)]


def check(results: dict[str, float]) -> None:
    nb.manual_seed(0)
    model = nn.MLP([4, 5, 3], activation="tanh", dtype=np.float64)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    params = list(model.parameters())
    auto = [g.data for g in nb.grad(objective(model, X, y, LAMBDA), params)]
    hand = hand_gradients(model, X, y, LAMBDA)

    def value() -> float:
        with nb.no_grad():
            return float(objective(model, X, y, LAMBDA).item())

    numeric = [numerical_gradient(value, p.data) for p in params]
    results["∇J (= ∇L + λW): autodiff vs hand"] = max(map(relative_error, auto, hand))
    results["∇J: numeric vs hand"] = max(map(relative_error, numeric, hand))

    # SGD on J  ≡  SGD on L with weight_decay=λ on the weights (not the biases)
    nb.manual_seed(1)
    a = nn.MLP([4, 5, 3], activation="tanh", dtype=np.float64)
    b = nn.MLP([4, 5, 3], activation="tanh", dtype=np.float64)
    b.load_state_dict(a.state_dict())
    opt_a = optim.SGD(a.parameters(), lr=0.1)
    weights = [p for p in b.parameters() if p.ndim == 2]
    biases = [p for p in b.parameters() if p.ndim == 1]
    opt_b = optim.SGD([{"params": weights, "weight_decay": LAMBDA}, {"params": biases}], lr=0.1)
    for _ in range(20):
        for model_, opt, lam in ((a, opt_a, LAMBDA), (b, opt_b, 0.0)):
            opt.zero_grad()
            objective(model_, X, y, lam).backward()
            opt.step()
    results["SGD on J vs SGD with weight decay"] = max(
        relative_error(p.data, q.data) for p, q in zip(a.parameters(), b.parameters())
    )
    for name, err in results.items():
        print(f"  {name:<36} {err:.1e}")


def train(lam: float) -> tuple[float, float]:
    """Mini-batch SGD on the digits; returns the held-out accuracy and ‖W‖ of all weights."""
    data = load_data("digits")
    parts = split_dataset(data.X, data.y, val_split=0.0, test_split=0.25, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    X = scaler.transform(parts.X_train).astype(np.float64)
    nb.manual_seed(0)
    model = nn.MLP([64, 64, 10], activation="tanh", dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    order = np.random.default_rng(1)
    for _ in range(15):
        perm = order.permutation(len(X))
        for start in range(0, len(X), 32):
            idx = perm[start : start + 32]
            opt.zero_grad()
            objective(model, X[idx], parts.y_train[idx], lam).backward()
            opt.step()
    accuracy = float((model.predict(scaler.transform(parts.X_test)) == parts.y_test).mean())
    norm = float(np.sqrt(sum((p.data**2).sum() for p in model.parameters() if p.ndim == 2)))
    return accuracy, norm


def tools_example(results: dict[str, float]) -> dict[str, Any]:
    """J = L + λΩ for a 3-4-2 net on 4 rows: the trace shows the two paths into each W add up."""
    nb.manual_seed(2)
    model = nn.MLP([3, 4, 2], activation="tanh", dtype=np.float64)
    example_rng = np.random.default_rng(1)  # its own draws: the checks' and training's stay put
    X, y = example_rng.standard_normal((4, 3)), np.array([0, 1, 1, 0])
    loss = objective(model, X, y, LAMBDA)
    leaves = dict(model.named_parameters())
    hand = hand_gradients(model, X, y, LAMBDA)
    return show_with_tools(loss, leaves, hand, "06_graph", results)


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
    print("Part 6: L2 regularisation — ∇J = ∇L + λW, autodiff, numeric, weight decay")
    check(results)
    tools = tools_example(results)
    accuracy_plain, norm_plain = train(0.0)
    accuracy, norm = train(LAMBDA)
    print(f"digits, λ = 0:    held-out accuracy {accuracy_plain:.3f}, ‖W‖ = {norm_plain:.2f}")
    print(f"digits, λ = {LAMBDA}: held-out accuracy {accuracy:.3f}, ‖W‖ = {norm:.2f}")
    return {
        **tools,
        "max_diff": results,
        "accuracy": accuracy,
        "accuracy_unregularised": accuracy_plain,
        "weight_norm": norm,
        "weight_norm_unregularised": norm_plain,
    }


if __name__ == "__main__":
    main()
