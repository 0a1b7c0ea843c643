"""One SGD training step (forward, backward, update) per framework, on the same data and weights.

Every builder takes the config, the initial weights ``[(W, b), ...]`` with W of shape
(out, in), the batch (X float32, y int64) and the learning rate, and returns ``step()``.
A builder raises ``ImportError`` when its framework is not installed; the harness skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.configs import Config

Weights = list[tuple[np.ndarray, np.ndarray]]
Step = Callable[[], Any]


def numpy_step(cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float) -> Step:
    """The notes' formulas written by hand with NumPy, updating in place."""
    Ws = [w.copy() for w, _ in weights]
    bs = [b.copy() for _, b in weights]
    rows = np.arange(len(y))
    act = cfg.activation

    def step() -> None:
        hs = [X]
        h = X
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = h @ W.T
            z += b
            if i < len(Ws) - 1:
                if act == "relu":
                    np.maximum(z, 0, out=z)
                elif act == "tanh":
                    np.tanh(z, out=z)
                else:
                    np.negative(z, out=z)
                    np.exp(z, out=z)
                    z += 1
                    np.reciprocal(z, out=z)
            hs.append(z)
            h = z
        g = hs[-1]  # softmax with loss: ∇Ỹ = (Ŷ − Y)/N
        g -= g.max(axis=1, keepdims=True)
        np.exp(g, out=g)
        g /= g.sum(axis=1, keepdims=True)
        g[rows, y] -= 1
        g /= len(y)
        for i in range(len(Ws) - 1, -1, -1):
            W, h = Ws[i], hs[i]
            grad_W = g.T @ h  # ∇W = Gᵀ H
            grad_b = g.sum(axis=0)
            if i > 0:
                g_next = g @ W  # ∇H = G W, then ⊙ f'(Z)
                if act == "relu":
                    g_next *= h > 0
                elif act == "tanh":
                    g_next *= 1 - h * h
                else:
                    g_next *= h * (1 - h)
            grad_W *= lr
            W -= grad_W
            grad_b *= lr
            bs[i] -= grad_b
            if i > 0:
                g = g_next

    return step


def _nabla_model(cfg: Config, weights: Weights) -> Any:
    import nabla as nb

    layers: list[Any] = []
    acts = {"relu": nb.nn.ReLU, "tanh": nb.nn.Tanh, "sigmoid": nb.nn.Sigmoid}
    for i, (W, b) in enumerate(weights):
        linear = nb.nn.Linear(W.shape[1], W.shape[0])
        linear.weight.data[...] = W
        linear.bias.data[...] = b
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(acts[cfg.activation]())
    return nb.nn.Sequential(*layers)


def nabla_step(cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float) -> Step:
    """nabla's eager API, as a user writes it."""
    import nabla as nb
    import nabla.nn.functional as F

    model = _nabla_model(cfg, weights)
    optimizer = nb.optim.SGD(model.parameters(), lr=lr)
    x = nb.tensor(X)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def nabla_compiled_step(
    cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float
) -> Step:
    """The same step through ``nb.compile`` (traced once, replayed as a flat plan)."""
    import nabla as nb
    import nabla.nn.functional as F

    if not hasattr(nb, "compile"):
        raise ImportError("this nabla has no nb.compile")
    model = _nabla_model(cfg, weights)
    optimizer = nb.optim.SGD(model.parameters(), lr=lr)

    @nb.compile
    def train_step(x: Any, target: Any) -> Any:
        loss = F.cross_entropy(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    x = nb.tensor(X)
    return lambda: train_step(x, y)


def torch_step(cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float) -> Step:
    import torch

    layers: list[Any] = []
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    for i, (W, b) in enumerate(weights):
        linear = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(acts[cfg.activation]())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x, target = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.functional.cross_entropy

    def step() -> None:
        loss = loss_fn(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def jax_step(cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float) -> Step:
    import jax
    import jax.numpy as jnp

    act = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[cfg.activation]
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights]
    x, target = jnp.asarray(X), jnp.asarray(y)

    def loss_fn(p: Any) -> Any:
        h = x
        for i, (W, b) in enumerate(p):
            h = h @ W.T + b
            if i < len(p) - 1:
                h = act(h)
        log_p = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(log_p, target[:, None], axis=1))

    @jax.jit
    def update(p: Any) -> Any:
        grads = jax.grad(loss_fn)(p)
        return [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(p, grads)]

    state = {"p": params}

    def step() -> None:
        state["p"] = update(state["p"])
        jax.block_until_ready(state["p"])

    return step


def sklearn_step(cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float) -> Step:
    import warnings

    from sklearn.neural_network import MLPClassifier

    act = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}[cfg.activation]
    clf = MLPClassifier(
        hidden_layer_sizes=cfg.sizes[1:-1],
        activation=act,
        solver="sgd",
        alpha=0.0,
        batch_size=len(X),
        learning_rate_init=lr,
        momentum=0.0,
        shuffle=False,
    )
    classes = np.arange(cfg.sizes[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X, y, classes=classes)
    clf.coefs_ = [W.T.copy() for W, _ in weights]
    clf.intercepts_ = [b.copy() for _, b in weights]

    def step() -> None:
        clf.partial_fit(X, y)  # one pass over one batch: one SGD step

    return step


def mygrad_step(cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float) -> Step:
    import mygrad as mg
    from mygrad.nnet.activations import relu, sigmoid, tanh
    from mygrad.nnet.losses import softmax_crossentropy

    act = {"relu": relu, "tanh": tanh, "sigmoid": sigmoid}[cfg.activation]
    params = [(mg.tensor(W.copy()), mg.tensor(b.copy())) for W, b in weights]

    def step() -> None:
        h: Any = X
        for i, (W, b) in enumerate(params):
            h = mg.matmul(h, W.T) + b
            if i < len(params) - 1:
                h = act(h)
        loss = softmax_crossentropy(h, y)
        loss.backward()
        for W, b in params:
            W.data -= lr * W.grad
            b.data -= lr * b.grad

    return step


def autograd_step(cfg: Config, weights: Weights, X: np.ndarray, y: np.ndarray, lr: float) -> Step:
    import autograd.numpy as anp

    from autograd import grad

    acts = {
        "relu": lambda z: anp.maximum(z, 0),
        "tanh": anp.tanh,
        "sigmoid": lambda z: 1 / (1 + anp.exp(-z)),
    }
    act = acts[cfg.activation]
    params = [[W.copy(), b.copy()] for W, b in weights]
    rows = np.arange(len(y))

    def loss_fn(p: Any) -> Any:
        h = X
        for i, (W, b) in enumerate(p):
            h = anp.dot(h, W.T) + b
            if i < len(p) - 1:
                h = act(h)
        h = h - anp.max(h, axis=1, keepdims=True)
        log_p = h - anp.log(anp.sum(anp.exp(h), axis=1, keepdims=True))
        return -anp.mean(log_p[rows, y])

    gradient = grad(loss_fn)

    def step() -> None:
        grads = gradient(params)
        for (W, b), (gW, gb) in zip(params, grads):
            W -= lr * gW
            b -= lr * gb

    return step


PEERS: dict[str, Callable[..., Step]] = {
    "numpy (hand-written)": numpy_step,
    "nabla eager": nabla_step,
    "nabla compiled": nabla_compiled_step,
    "PyTorch eager": torch_step,
    "JAX jit": jax_step,
    "scikit-learn MLP": sklearn_step,
    "MyGrad": mygrad_step,
    "HIPS autograd": autograd_step,
}
