"""The notes' network, by hand: one tanh hidden layer + softmax + cross-entropy on digits.

Run:  python examples/notes_mlp.py
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

import nabla as nb
import nabla.nn.functional as F


def main() -> None:
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:1400], order[1400:]
    n_in, n_hidden, n_out = X.shape[1], 64, 10
    Wh = nb.tensor(
        rng.normal(0, 1 / np.sqrt(n_in), (n_hidden, n_in)).astype(np.float32), requires_grad=True
    )
    bh = nb.zeros(n_hidden, requires_grad=True)
    Wy = nb.tensor(
        rng.normal(0, 1 / np.sqrt(n_hidden), (n_out, n_hidden)).astype(np.float32),
        requires_grad=True,
    )
    by = nb.zeros(n_out, requires_grad=True)
    params = [Wh, bh, Wy, by]
    lr, batch = 0.1, 32
    for epoch in range(30):
        perm = rng.permutation(train)
        for start in range(0, len(perm), batch):
            idx = perm[start : start + batch]
            H = nb.tanh(X[idx] @ Wh.T + bh)  # H̃ = X W_hᵀ + b_h, H = tanh(H̃)
            loss = F.cross_entropy(H @ Wy.T + by, y[idx])  # Ỹ = H W_yᵀ + b_y, softmax + CE
            loss.backward()
            for p in params:
                p.data -= lr * p.grad
                p.grad = None
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}")
    with nb.no_grad():
        logits = nb.tanh(X[test] @ Wh.T + bh) @ Wy.T + by
    accuracy = float((logits.data.argmax(axis=1) == y[test]).mean())
    print(f"held-out accuracy: {accuracy:.4f} on {len(test)} digits")


if __name__ == "__main__":
    main()
