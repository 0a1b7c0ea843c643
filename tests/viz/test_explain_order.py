"""``nb.explain`` lists the backward steps in the order the engine runs them.

The truth is the engine itself, observed through the step-recorder hook it reports to
(``MODE.state.tracer.on_backward`` receives the tensors in the order the backward loop visited them).
Each graph below branches, so a different topological order (a Kahn order taking ready tensors
last-in first-out, as ``explain`` used before) would list the same ops in another sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.autograd.mode import MODE


class OrderRecorder:
    """A :class:`nabla.autograd.hooks.StepRecorder` that keeps what each backward visited."""

    in_call = 0

    def __init__(self) -> None:
        self.orders: list[list[Any]] = []

    def on_apply(
        self, cls: type, inputs: tuple[Any, ...], params: dict[str, Any], out: Any
    ) -> None:
        pass

    def before_backward(self) -> None: ...

    def on_backward(self, roots: Any, order: list[Any], retain_graph: bool, targets: Any) -> None:
        self.orders.append(list(order))

    def on_module_call(self, module: Any) -> None:
        pass

    def enter_call(
        self, obj: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        pass

    def exit_call(self) -> None:
        pass

    def mark_unsafe(self, reason: str) -> None:
        pass


def engine_steps(loss: nb.Tensor, retain_graph: bool = False) -> list[tuple[str, tuple[int, ...]]]:
    """(op name, output shape) of every op, in the order ``loss.backward()`` runs them."""
    recorder = OrderRecorder()
    MODE.state.tracer = recorder
    try:
        loss.backward(retain_graph=retain_graph)
    finally:
        MODE.state.tracer = None
    (order,) = recorder.orders
    return [(t._fn.name, tuple(t.shape)) for t in order if t._fn is not None]


def explained_steps(loss: nb.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    return [(s.op, tuple(s.output_shape)) for s in nb.explain(loss, show=False).steps]


def used_twice() -> nb.Tensor:
    x = nb.tensor(np.linspace(0.1, 1.0, 3), requires_grad=True, name="x")
    a = nb.exp(x)
    b = a * a  # a feeds mul twice
    c = nb.sigmoid(a) + b  # and sigmoid once more
    return nb.tanh(c).sum()


def branches_of_different_depth() -> nb.Tensor:
    x = nb.tensor(np.linspace(0.1, 1.0, 4), requires_grad=True, name="x")
    short = nb.sqrt(x)  # one op, made first
    long = nb.tanh(nb.sigmoid(nb.exp(x)))  # three ops, made after it
    return (long * short).sum()


def diamond() -> nb.Tensor:
    x = nb.tensor(np.linspace(0.1, 1.0, 5), requires_grad=True, name="x")
    a = nb.exp(x)
    left = nb.log(a)
    right = nb.tanh(nb.sqrt(a))
    return (left * right).sum()


def two_parameters_and_a_constant_branch() -> nb.Tensor:
    rng = np.random.default_rng(0)
    w = nb.tensor(rng.standard_normal((3, 4)), requires_grad=True, name="w")
    v = nb.tensor(rng.standard_normal((4, 2)), requires_grad=True, name="v")
    c = nb.tensor(rng.standard_normal((3, 4)), name="c")  # no gradient flows into c
    h = nb.tanh(w * c)
    skip = nb.exp(w).sum(axis=1, keepdims=True)
    return ((h @ v) * skip + nb.sigmoid(h).sum()).mean()


def notes_mlp() -> nb.Tensor:
    model = nb.nn.MLP([64, 128, 10], activation="tanh", dtype=np.float64)
    X = nb.tensor(np.random.default_rng(0).standard_normal((16, 64)), name="X")
    return model.loss(model(X), np.arange(16) % 10)


GRAPHS: list[Callable[[], nb.Tensor]] = [
    used_twice,
    branches_of_different_depth,
    diamond,
    two_parameters_and_a_constant_branch,
    notes_mlp,
]


@pytest.mark.parametrize("make", GRAPHS, ids=lambda f: f.__name__)
def test_explain_lists_the_ops_in_the_order_the_engine_runs_them(
    make: Callable[[], nb.Tensor],
) -> None:
    loss = make()
    explained = explained_steps(loss)
    ran = engine_steps(loss)
    assert explained == ran
    assert [s.index for s in nb.explain(loss, show=False).steps] == list(range(1, len(ran) + 1))


@pytest.mark.parametrize("make", GRAPHS, ids=lambda f: f.__name__)
def test_explain_after_backward_still_lists_the_engines_order(
    make: Callable[[], nb.Tensor],
) -> None:
    loss = make()
    ran = engine_steps(loss)  # frees the graph's values
    assert explained_steps(loss) == ran


def test_the_order_is_not_the_lifo_kahn_order() -> None:
    # explain used to take ready tensors last-in first-out: after mul it took sqrt (its last
    # input) before the deeper branch; the engine pops the newest op first (tanh)
    loss = branches_of_different_depth()
    assert [op for op, _ in explained_steps(loss)] == [
        "sum",
        "mul",
        "tanh",
        "sigmoid",
        "exp",
        "sqrt",
    ]
    assert [op for op, _ in engine_steps(loss)] == ["sum", "mul", "tanh", "sigmoid", "exp", "sqrt"]


def test_a_retained_graph_runs_the_same_order_twice() -> None:
    loss = diamond()
    first = engine_steps(loss, retain_graph=True)
    assert explained_steps(loss) == first == engine_steps(loss)
