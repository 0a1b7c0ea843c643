"""Part 7: vanishing gradients, seen: the same deep net with sigmoid, tanh and ReLU.

The notes' dense layer on a batch of rows, applied layer after layer (O⁰ = X):

    Zˡ = Oˡ⁻¹ Wˡ + bˡ,   Oˡ = f(Zˡ)          (forward)
    G ← G ⊙ f′(Zˡ),   ∇Wˡ = Oˡ⁻¹ᵀ G,   ∇bˡ = 1ᵀ G,   G ← G Wˡᵀ      (backward, last layer first)

Each layer multiplies the gradient on its way down by f′(Z) once. For the sigmoid
f′ = σ(1 − σ) ≤ ¼, so after L sigmoid layers the first layer's gradient carries a factor of at
most 4⁻ᴸ (times the weights' own gains): it *vanishes*, and the first layers learn slowly. For
tanh f′ = 1 − tanh² ≤ 1 and for ReLU f′ ∈ {0, 1}: the layers' gradients stay comparable, until
units saturate (|Z| large, f′ ≈ 0) or die (ReLU with Z ≤ 0 for every example).

Layouts: this tutorial writes the notes' W (in × out, Z = O W). nabla's ``nn.Linear``
stores PyTorch's (out × in) and computes Z = O Wᵀ, so its ∇W is the transpose, Gᵀ O; the
tutorial compares ‖∇W‖, which the layout does not change.

1. The rule is checked on a 4-hidden-layer net for each activation: hand backprop against
   autodiff and central differences.
2. Per-layer gradient norms at initialisation, for 5 hidden layers of 32 units on digits.
3. Training each net for a few epochs, recording per-layer gradient norms and the fraction of
   saturated (or dead) units per layer — the cause next to the effect; drawn side by side on
   shared axes when run as a script (``vanishing_gradients.png``).

Notation (note 001 → nabla):

    note        nabla                                        shape (first layer, checks)
    O⁰ = X      X, the data rows                             (m, n⁰) = (6, 3)
    Wˡ, bˡ      params[2l − 2] (in × out), params[2l − 1]    (3, 4), (4,)
    Zˡ, Oˡ      O @ W + b, the activation of Zˡ              (m, nˡ)
    G           g of each step in ``nb.explain``             as Zˡ
    f′(Zˡ)      the activation's rule: g ⊙ z(1 − z) for σ    as Zˡ

Correction: the lines of note 001 used here are right as written (its ∇_b line's typo is
corrected in part 5); the batch G of the mean loss carries the 1/N the cheatsheet drops (part 4).

The small example after the checks (three sigmoid layers) goes through nabla's own tools: its
gradients printed in full beside the hand rule, ``nb.explain``'s trace (one σ step per layer,
each multiplying g by z(1 − z) ≤ ¼) and ``nb.viz.to_dot(..., grads=True)``'s drawing with each
node's value and signed gradient (07_graph.dot, and .svg with Graphviz, only as a script).

Run:  python docs/tutorials/07_vanishing_gradients.py
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import nabla as nb
from nabla.data import StandardScaler, load_data, split_dataset

rng = np.random.default_rng(0)
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def f(name: str, z: Any) -> Any:
    """The activation on arrays."""
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0)


def f_prime(name: str, z: Any) -> Any:
    """f′(Z): σ(1 − σ), 1 − tanh², [Z > 0]."""
    if name == "sigmoid":
        s = f(name, z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    return (z > 0).astype(z.dtype)


def f_graph(name: str, z: Any) -> Any:
    """The activation on tensors (recorded)."""
    return {"sigmoid": nb.sigmoid, "tanh": nb.tanh, "relu": nb.relu}[name](z)


def init(sizes: list[int], gain: float) -> list[Any]:
    """[W¹, b¹, W², b², ...] with Wˡ (in × out) of scale gain/√in (Xavier/He-like)."""
    params: list[Any] = []
    for n_in, n_out in itertools.pairwise(sizes):
        params += [rng.standard_normal((n_in, n_out)) * gain / np.sqrt(n_in), np.zeros(n_out)]
    return params


GAIN = {"sigmoid": 1.0, "tanh": 5 / 3, "relu": np.sqrt(2)}  # nn.init.calculate_gain's values


def loss_graph(name: str, params: list[Any], X: Any, y: Any) -> Any:
    """Mean softmax cross-entropy of the net's last layer (no activation on it)."""
    O = nb.tensor(X)
    n_layers = len(params) // 2
    for layer in range(n_layers):
        Z = O @ params[2 * layer] + params[2 * layer + 1]
        O = f_graph(name, Z) if layer < n_layers - 1 else Z
    return nb.nn.functional.cross_entropy(O, y)


def hand_gradients(name: str, params: list[Any], X: Any, y: Any) -> list[Any]:
    """The dense-layer rule of the notes, last layer first."""
    n_layers, n = len(params) // 2, X.shape[0]
    outputs, pre = [X], []
    for layer in range(n_layers):
        Z = outputs[-1] @ params[2 * layer] + params[2 * layer + 1]
        pre.append(Z)
        outputs.append(f(name, Z) if layer < n_layers - 1 else Z)
    logits = outputs[-1]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    G = p.copy()
    G[np.arange(n), y] -= 1
    G /= n  # ∇Z of the mean cross-entropy: (Ŷ − Y)/N
    grads: list[Any] = [None] * len(params)
    for layer in reversed(range(n_layers)):
        if layer < n_layers - 1:
            G = G * f_prime(name, pre[layer])  # G ← G ⊙ f′(Z)
        grads[2 * layer] = outputs[layer].T @ G  # ∇W = Oᵀ G
        grads[2 * layer + 1] = G.sum(axis=0)  # ∇b = 1ᵀ G
        G = G @ params[2 * layer].T  # ∇O = G Wᵀ
    return grads


def numerical_gradient(fun: Callable[[], float], x: Any, eps: float = 1e-6) -> Any:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = fun()
        x[i] = old - eps
        minus = fun()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: Any, b: Any) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def check(results: dict[str, float]) -> None:
    """Hand backprop vs autodiff vs central differences, 4 hidden layers, each activation."""
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    for name in ACTIVATIONS:
        params = init([3, 4, 4, 4, 4, 2], GAIN[name])
        for k in range(1, len(params), 2):
            params[k] = rng.standard_normal(params[k].shape) * 0.5  # non-zero biases
        hand = hand_gradients(name, params, X, y)
        tensors = [nb.tensor(p, requires_grad=True) for p in params]
        auto = [g.data for g in nb.grad(loss_graph(name, tensors, X, y), tensors)]

        def value(params: list[Any] = params, name: str = name) -> float:
            with nb.no_grad():
                return float(loss_graph(name, [nb.tensor(p) for p in params], X, y).item())

        numeric = [numerical_gradient(value, params[0]), numerical_gradient(value, params[-2])]
        results[f"{name}: autodiff vs hand"] = max(map(relative_error, auto, hand))
        results[f"{name}: numeric vs hand (W¹, Wᴸ)"] = max(
            relative_error(numeric[0], hand[0]), relative_error(numeric[1], hand[-2])
        )
    for check_name, err in results.items():
        print(f"  {check_name:<34} {err:.1e}")


def layer_norms(name: str, params: list[Any], X: Any, y: Any) -> list[float]:
    """‖∇Wˡ‖ for every layer, by autodiff."""
    tensors = [nb.tensor(p, requires_grad=True) for p in params]
    grads = nb.grad(loss_graph(name, tensors, X, y), tensors)
    return [float(np.linalg.norm(g.data)) for g in grads[::2]]


def slopes(name: str, params: list[Any], X: Any) -> list[tuple[float, float]]:
    """Per hidden layer: the mean f′(Z) over units and examples (the factor the layer applies
    to the gradient passing through it) and the fraction of units saturated, f′(Z) < 0.01 on
    average over the batch (sigmoid, tanh), or dead, Z ≤ 0 for every example (ReLU)."""
    O, found = X, []
    for layer in range(len(params) // 2 - 1):
        Z = O @ params[2 * layer] + params[2 * layer + 1]
        slope = f_prime(name, Z)
        if name == "relu":
            stuck = float(np.mean((Z <= 0).all(axis=0)))
        else:
            stuck = float(np.mean(slope.mean(axis=0) < 0.01))
        found.append((float(slope.mean()), stuck))
        O = f(name, Z)
    return found


def train(
    name: str, data: tuple[Any, ...], epochs: int = 8
) -> tuple[list[list[float]], list[list[tuple[float, float]]], float]:
    """SGD on the deep net; per epoch the layers' ‖∇W‖ on a fixed batch, and their slopes."""
    X_train, y_train, X_test, y_test = data
    params = init([X_train.shape[1], 32, 32, 32, 32, 32, 10], GAIN[name])
    probe = (X_train[:256], y_train[:256])
    norms, fractions = [], []
    for _ in range(epochs):
        norms.append(layer_norms(name, params, *probe))
        fractions.append(slopes(name, params, probe[0]))
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            tensors = [nb.tensor(p, requires_grad=True) for p in params]
            grads = nb.grad(loss_graph(name, tensors, X_train[batch], y_train[batch]), tensors)
            params = [p - 0.1 * g.data for p, g in zip(params, grads)]
    O = X_test
    for layer in range(len(params) // 2):
        Z = O @ params[2 * layer] + params[2 * layer + 1]
        O = f(name, Z) if layer < len(params) // 2 - 1 else Z
    return norms, fractions, float((O.argmax(axis=1) == y_test).mean())


def plot(history: dict[str, Any], path: Path) -> None:
    """Per-layer gradient norms over epochs, one panel per activation, shared axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, len(history), sharey=True)
    for ax, (name, (norms, _, _)) in zip(axes, history.items()):
        norms = np.asarray(norms)
        for layer in range(norms.shape[1]):
            ax.plot(
                np.arange(1, len(norms) + 1), norms[:, layer], marker=".", label=f"W{layer + 1}"
            )
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("‖∇W‖ on a fixed batch")
    axes[-1].legend(fontsize=7)
    fig.savefig(path, dpi=150)


def tools_example(results: dict[str, float]) -> dict[str, Any]:
    """Three sigmoid layers on 4 rows: the trace shows g ⊙ z(1 − z) once per layer."""
    example_rng = np.random.default_rng(1)  # its own draws: the checks' and training's stay put
    sizes = [2, 3, 3, 3, 2]
    arrays = [
        example_rng.standard_normal((n_in, n_out)) if k % 2 == 0 else np.zeros(n_out)
        for n_in, n_out in itertools.pairwise(sizes)
        for k in range(2)
    ]
    names = [f"{kind}{layer}" for layer in range(1, len(sizes)) for kind in ("W", "b")]
    X, y = example_rng.standard_normal((4, 2)), np.array([0, 1, 1, 0])
    leaves = {n: nb.tensor(a, requires_grad=True, name=n) for n, a in zip(names, arrays)}
    loss = loss_graph("sigmoid", list(leaves.values()), X, y)
    hand = hand_gradients("sigmoid", arrays, X, y)
    return show_with_tools(loss, leaves, hand, "07_graph", results)


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
    print("1. The dense-layer rule through 4 hidden layers: hand vs autodiff vs numeric")
    results: dict[str, float] = {}
    check(results)
    tools = tools_example(results)

    data = load_data("digits")
    parts = split_dataset(data.X, data.y, val_split=0.0, test_split=0.25, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    prepared = (
        scaler.transform(parts.X_train).astype(np.float64),
        parts.y_train,
        scaler.transform(parts.X_test).astype(np.float64),
        parts.y_test,
    )
    print("\n2.-3. Five hidden layers of 32 units on digits, SGD, 8 epochs")
    history = {name: train(name, prepared) for name in ACTIVATIONS}
    first_over_last = {}
    for name, (norms, fractions, accuracy) in history.items():
        at_init = norms[0]
        first_over_last[name] = at_init[0] / at_init[-1]
        print(
            f"  {name:<8} ‖∇W‖ per layer at initialisation: "
            + ", ".join(f"{v:.1e}" for v in at_init)
        )
        print(f"  {'':<8} first / last layer: {first_over_last[name]:.1e}")
        print(
            f"  {'':<8} mean f′(Z) per hidden layer at initialisation: "
            + ", ".join(f"{m:.2f}" for m, _ in fractions[0])
            + ";  saturated (or dead) units after training: "
            + ", ".join(f"{stuck:.0%}" for _, stuck in fractions[-1])
        )
        print(f"  {'':<8} held-out accuracy after 8 epochs: {accuracy:.3f}")
    print(
        "  With sigmoid the first layer's gradient starts orders of magnitude below the last "
        "layer's (each layer multiplies it by σ′ ≤ ¼); with tanh and ReLU it does not."
    )
    if __name__ == "__main__":
        plot(history, Path("vanishing_gradients.png"))
        print("  wrote vanishing_gradients.png (shared axes: one panel per activation)")
    best = max(accuracy for _, _, accuracy in history.values())
    print(f"\nheld-out accuracy of the best net: {best:.3f}")
    return {
        **tools,
        "max_diff": results,
        "accuracy": best,
        "first_over_last": first_over_last,
        "mean_slope": {name: [m for m, _ in h[1][0]] for name, h in history.items()},
        "accuracies": {name: h[2] for name, h in history.items()},
    }


if __name__ == "__main__":
    main()
