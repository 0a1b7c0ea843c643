"""Part 5: the matrix-calculus key idea, applied to a dense layer Z = O W + b on a batch.

Key idea: for any tensors, Y = g(X) and z = f(Y) give

    ∇_X z = Σ_j (∇_X Y_j) ∂z/∂Y_j        (j runs over every index of Y)

For a dense layer on a batch (one sample per row, O: m × nⁱ, W: nⁱ × nᵒ, b: 1 × nᵒ broadcast to
the m rows) and G = ∇_Z L (m × nᵒ), summing over every (i, j) of Z gives

    ∇_W L = Oᵀ G   (nⁱ × nᵒ),    ∇_b L = 1ᵀ G   (1 × nᵒ),    ∇_O L = G Wᵀ   (m × nⁱ)

and the backward of the activation O' = f(Z) comes first: G ← G ⊙ f′(Z). This script builds the
full Jacobians ∂Z_ij/∂W_hk, ∂Z_ij/∂b_k, ∂Z_ij/∂O_hk as 4-D (or 3-D) arrays, checks them against
autodiff and finite differences, contracts them with G exactly as the key idea says, and
recovers the three matrix products. Then a two-layer network on the wine data is trained with a
hand-written Dense layer built on those three formulas, beside autodiff.

Notation (note 001, "Basic Knowledge" → nabla):

    note                 nabla                            shape (m, nⁱ, nᵒ)
    O (= Oˡ⁻¹)           O, the layer's input rows        (m, nⁱ)
    W (= Wˡ), b          W (in × out), b                  (nⁱ, nᵒ), (nᵒ,)
    Z = O W + b          O @ W + b                        (m, nᵒ)
    G = ∇_Z L            g of the matmul step             (m, nᵒ)
    A) ∇_W = Oᵀ G        ∇W = Xᵀ G in ``nb.explain``      (nⁱ, nᵒ)
    B) ∇_b = 1ᵀ G        ∇b: the sum over the rows        (nᵒ,)

Layouts: this note's W is (in × out), as in ``O @ W``; ``nb.explain`` prints its ∇W = Oᵀ G (with
X for O). ``nn.Linear`` stores W as (out × in) and its trace reads ∇W = Gᵀ X: the same numbers,
transposed (part 6).

Correction: the note's ∇_b line writes Σᵢⱼ ∂L/∂zᵢⱼ · Gᵢⱼ, the factor ∂L/∂z twice (G is
∂L/∂Z); it means Σᵢⱼ ∂zᵢⱼ/∂b_k · Gᵢⱼ = Σᵢ G_ik, which is what this script checks.

The small example at the end of the checks goes through nabla's own tools: its gradients are
printed in full beside the hand rule, ``nb.explain`` prints the backward pass step by step (the
engine's order, each step's rule and shapes), and ``nb.viz.to_dot(..., grads=True)`` draws the
graph with each node's value and signed gradient (written to 05_graph.dot, and .svg with
Graphviz, when run as a script).

Run:  python docs/tutorials/05_matrix_calculus.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import nabla as nb
from nabla.data import StandardScaler, load_data, split_dataset

rng = np.random.default_rng(0)


def relative_error(a: Any, b: Any) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def numerical_jacobian(f: Any, x: Any, eps: float = 1e-6) -> Any:
    """∂f(x)/∂x as an array of shape f(x).shape + x.shape, by central differences."""
    out = f(x)
    jac = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = f(x)
        x[idx] = old - eps
        minus = f(x)
        x[idx] = old
        jac[(..., *idx)] = (plus - minus) / (2 * eps)
    return jac


def autodiff_jacobian(f: Any, x: Any) -> Any:
    """∂f(x)/∂x by one backward pass per output element (upstream gradient: a one-hot)."""
    t = nb.tensor(x, requires_grad=True)
    out = f(t)
    jac = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(out.shape):
        onehot = np.zeros(out.shape)
        onehot[idx] = 1.0
        (g,) = nb.grad(out, t, grad_outputs=onehot, retain_graph=True)
        jac[idx] = g.data
    return jac


def check(results: dict[str, float]) -> None:
    m, n_in, n_out = 4, 3, 2
    O, W, b = (
        rng.standard_normal((m, n_in)),
        rng.standard_normal((n_in, n_out)),
        rng.standard_normal((1, n_out)),
    )
    G = rng.standard_normal((m, n_out))  # ∇_Z L, whatever L is

    # ∂Z_ij/∂W_hk = O_ih if j = k else 0: "one non-zero value per sample"
    dZ_dW = np.einsum("ih,jk->ijhk", O, np.eye(n_out))
    # ∂Z_ij/∂b_k = 1 if j = k else 0 (the bias is repeated over the m rows)
    dZ_db = np.einsum("i,jk->ijk", np.ones(m), np.eye(n_out))
    # ∂Z_ij/∂O_hk = W_kj if i = h else 0
    dZ_dO = np.einsum("ih,kj->ijhk", np.eye(m), W)

    results["∂Z/∂W: autodiff vs hand"] = relative_error(
        autodiff_jacobian(lambda w: nb.tensor(O) @ w + nb.tensor(b), W), dZ_dW
    )
    results["∂Z/∂W: numeric vs hand"] = relative_error(
        numerical_jacobian(lambda w: O @ w + b, W.copy()), dZ_dW
    )
    results["∂Z/∂b: autodiff vs hand"] = relative_error(
        autodiff_jacobian(lambda c: nb.tensor(O) @ nb.tensor(W) + c, b)[..., 0, :], dZ_db
    )
    results["∂Z/∂O: autodiff vs hand"] = relative_error(
        autodiff_jacobian(lambda o: o @ nb.tensor(W) + nb.tensor(b), O), dZ_dO
    )
    results["∂Z/∂O: numeric vs hand"] = relative_error(
        numerical_jacobian(lambda o: o @ W + b, O.copy()), dZ_dO
    )

    # the key idea: ∇_X L = Σ_ij (∇_X Z_ij) G_ij ...
    grad_W = np.einsum("ijhk,ij->hk", dZ_dW, G)
    grad_b = np.einsum("ijk,ij->k", dZ_db, G)[None, :]
    grad_O = np.einsum("ijhk,ij->hk", dZ_dO, G)
    # ... is the matrix products
    results["key idea vs Oᵀ G"] = relative_error(grad_W, O.T @ G)
    results["key idea vs 1ᵀ G"] = relative_error(grad_b, np.ones((1, m)) @ G)
    results["key idea vs G Wᵀ"] = relative_error(grad_O, G @ W.T)

    # a whole layer with its activation: O' = tanh(O W + b), L = Σ U ⊙ O' (U = ∇_O' L)
    U = rng.standard_normal((m, n_out))
    Z = O @ W + b
    G_z = U * (1 - np.tanh(Z) ** 2)  # first step: undo the activation, G ⊙ f′(Z)
    hand = [O.T @ G_z, np.ones((1, m)) @ G_z, G_z @ W.T]
    tensors = [nb.tensor(W, requires_grad=True), nb.tensor(b, requires_grad=True)]
    O_t = nb.tensor(O, requires_grad=True)
    loss = (nb.tanh(O_t @ tensors[0] + tensors[1]) * nb.tensor(U)).sum()
    auto = [g.data for g in nb.grad(loss, [*tensors, O_t])]
    results["layer with tanh: autodiff vs hand"] = max(map(relative_error, auto, hand))
    for name, err in results.items():
        print(f"  {name:<36} {err:.1e}")


class Dense:
    """A layer in the notes' layout (W: nⁱ × nᵒ, one sample per row) with a hand backward."""

    def __init__(self, n_in: int, n_out: int, activation: str) -> None:
        self.W = rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
        self.b = np.zeros((1, n_out))
        self.activation = activation

    def forward(self, O: Any) -> Any:
        self.O, self.Z = O, O @ self.W + self.b
        return np.tanh(self.Z) if self.activation == "tanh" else self.Z

    def backward(self, G: Any) -> Any:
        if self.activation == "tanh":
            G = G * (1 - np.tanh(self.Z) ** 2)  # G ← G ⊙ f′(Z)
        self.dW = self.O.T @ G  # ∇W = Oᵀ G
        self.db = np.ones((1, len(G))) @ G  # ∇b = 1ᵀ G
        return G @ self.W.T  # ∇O = G Wᵀ, the G of the layer below


def softmax(a: Any) -> Any:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def train() -> tuple[float, float]:
    data = load_data("wine")
    parts = split_dataset(data.X, data.y, val_split=0.0, test_split=0.3, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    X, labels = scaler.transform(parts.X_train).astype(np.float64), parts.y_train
    Y = np.eye(int(data.n_classes))[labels]
    layers = [Dense(X.shape[1], 16, "tanh"), Dense(16, int(data.n_classes), "none")]
    params = [nb.tensor(a.copy(), requires_grad=True) for la in layers for a in (la.W, la.b)]
    lr = 0.5
    for _ in range(150):  # full-batch gradient descent
        out = X
        for layer in layers:
            out = layer.forward(out)
        G = (softmax(out) - Y) / len(X)  # softmax with cross-entropy, mean over the batch
        for layer in reversed(layers):
            G = layer.backward(G)
        for layer in layers:
            layer.W -= lr * layer.dW
            layer.b -= lr * layer.db
        W1, b1, W2, b2 = params
        loss = nb.nn.functional.cross_entropy(nb.tanh(nb.tensor(X) @ W1 + b1) @ W2 + b2, labels)
        for p, g in zip(params, nb.grad(loss, params)):
            p.data -= lr * g.data
    hand = [a for la in layers for a in (la.W, la.b)]
    weights_diff = max(relative_error(p.data, a) for p, a in zip(params, hand))
    out = scaler.transform(parts.X_test).astype(np.float64)
    for layer in layers:
        out = layer.forward(out)
    return float((out.argmax(axis=1) == parts.y_test).mean()), weights_diff


def tools_example(results: dict[str, float]) -> dict[str, Any]:
    """A dense layer and tanh on 3 rows, L = Σ U ⊙ tanh(O W + b): the three products by name."""
    example_rng = np.random.default_rng(1)  # its own draws: the checks' and training's stay put
    O_, W_ = example_rng.standard_normal((3, 2)), example_rng.standard_normal((2, 4))
    b_, U = example_rng.standard_normal(4), example_rng.standard_normal((3, 4))
    O, W = nb.tensor(O_, requires_grad=True, name="O"), nb.tensor(W_, requires_grad=True, name="W")
    b = nb.tensor(b_, requires_grad=True, name="b")
    loss = (nb.tanh(O @ W + b) * U).sum()
    G = U * (1 - np.tanh(O_ @ W_ + b_) ** 2)  # G ← G ⊙ f′(Z), f = tanh
    hand = [O_.T @ G, np.ones(3) @ G, G @ W_.T]  # Oᵀ G, 1ᵀ G, G Wᵀ
    return show_with_tools(loss, {"W": W, "b": b, "O": O}, hand, "05_graph", results)


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
    print("Part 5: the key idea ∇_X z = Σ_j (∇_X Y_j) ∂z/∂Y_j on Z = O W + b")
    check(results)
    tools = tools_example(results)
    accuracy, weights_diff = train()
    results["trained weights: autodiff vs hand"] = weights_diff
    print(f"trained weights, autodiff vs hand-written Dense layers: {weights_diff:.1e}")
    print(f"two-layer network (13-16-3) on wine: held-out accuracy {accuracy:.3f}")
    return {**tools, "max_diff": results, "accuracy": accuracy}


if __name__ == "__main__":
    main()
