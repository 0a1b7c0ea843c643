"""The graph outlives backward: saved values are freed, the topology stays; and
``backward_order`` lists ops in the order the engine really runs them."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.autograd.graph import FreedTensor, backward_order, inputs_of, is_freed, node_key
from nabla.autograd.mode import MODE
from nabla.errors import GraphError


class _Recorder:
    """A StepRecorder (nabla.autograd.hooks) that keeps the engine's visiting order."""

    in_call = 0

    def __init__(self) -> None:
        self.orders: list[list[Any]] = []

    def on_apply(self, *args: Any) -> None: ...
    def on_module_call(self, module: Any) -> None: ...
    def enter_call(self, *args: Any) -> None: ...
    def exit_call(self) -> None: ...
    def mark_unsafe(self, reason: str) -> None: ...

    def before_backward(self) -> None: ...

    def on_backward(self, roots: Any, order: list[Any], retain_graph: bool, targets: Any) -> None:
        self.orders.append(list(order))


def _engine_order(root: nb.Tensor) -> list[Any]:
    recorder = _Recorder()
    MODE.state.tracer = recorder
    try:
        root.backward(retain_graph=True)
    finally:
        MODE.state.tracer = None
    (order,) = recorder.orders
    return [t._fn for t in order if t._fn is not None]


def _graphs() -> dict[str, Any]:
    def reuse(x: nb.Tensor, w: nb.Tensor) -> nb.Tensor:
        h = nb.tanh(x * w)
        return (h * h + h).sum()

    def uneven_branches(x: nb.Tensor, w: nb.Tensor) -> nb.Tensor:
        deep = nb.exp(nb.tanh(nb.sigmoid(x * w)))
        shallow = x + w
        return (deep * shallow).sum()

    def diamond(x: nb.Tensor, w: nb.Tensor) -> nb.Tensor:
        a = x * w
        b, c = nb.tanh(a), nb.sigmoid(a)
        d = nb.relu(b - c)
        return (d * b).sum() + c.sum()

    def mlp(x: nb.Tensor, w: nb.Tensor) -> nb.Tensor:
        h = nb.tanh(x @ w.T)
        return F.cross_entropy(h, np.array([0, 1, 2, 1]))

    return {"reuse": reuse, "uneven": uneven_branches, "diamond": diamond, "mlp": mlp}


@pytest.mark.parametrize("name", list(_graphs()))
def test_backward_order_is_the_engines_order(name: str) -> None:
    rng = np.random.default_rng(0)
    x = nb.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = nb.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    loss = _graphs()[name](x, w)
    listed = [t._fn for t in backward_order(loss) if t._fn is not None]
    assert listed == _engine_order(loss)
    assert len(listed) >= 4
    # the same after a backward that freed the graph
    loss.backward()
    assert [t._fn for t in backward_order(loss) if t._fn is not None] == listed


def test_backward_frees_saved_values_and_keeps_the_topology() -> None:
    rng = np.random.default_rng(1)
    x = nb.tensor(rng.standard_normal((8, 5)).astype(np.float32), name="x")
    model = nb.nn.Sequential(nb.nn.Linear(5, 4), nb.nn.Tanh(), nb.nn.Dropout(0.5))
    logits = model(x)
    logits.name = "logits"
    loss = F.cross_entropy(logits, np.arange(8) % 4)
    before = {
        fn.name: [(node_key(i), i.shape, i.dtype) for i in inputs_of(fn)]
        for fn in (t._fn for t in backward_order(loss) if t._fn is not None)
    }
    ce, dropout = loss._fn, logits._fn
    assert ce.log_p is not None and dropout.scale is not None
    loss.backward()
    assert is_freed(ce) and ce.inputs is None
    assert ce.log_p is None and dropout.scale is None  # what forward kept is freed too
    after = {
        fn.name: [(node_key(i), i.shape, i.dtype) for i in inputs_of(fn)]
        for fn in (t._fn for t in backward_order(loss) if t._fn is not None)
    }
    assert after == before
    (freed_logits, _) = inputs_of(ce)
    assert isinstance(freed_logits, FreedTensor) and freed_logits.data is None
    assert freed_logits.name == "logits" and freed_logits.shape == (8, 4)
    assert inputs_of(ce)[0] is freed_logits  # one record per node
    (linear,) = {
        t._fn for t in backward_order(loss) if t._fn is not None and t._fn.name == "linear"
    }
    assert [i for i in inputs_of(linear) if i is model[0].weight]  # leaves stay themselves
    with pytest.raises(GraphError, match="second time"):
        loss.backward()


def test_the_kept_topology_holds_no_activation_memory() -> None:
    """After backward, a root whose graph made large intermediate arrays holds none of them."""
    x = nb.tensor(np.ones((1000, 1000)), requires_grad=True)
    tracemalloc.start()
    try:
        h = nb.tanh(x * 2.0)
        loss = nb.exp(h * h).sum()
        del h
        gc.collect()
        holding, _ = tracemalloc.get_traced_memory()
        loss.backward()
        x.grad = None
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert holding > 3 * 8e6  # three 1000 × 1000 float64 intermediates
    assert after < 1e6, after
    assert [t._fn.name for t in backward_order(loss) if t._fn is not None][:2] == ["sum", "exp"]


def test_nb_grad_of_an_intermediate_that_feeds_an_in_place_kernel_is_kept_intact() -> None:
    """The gradient nb.grad returns for an intermediate target is not overwritten by the
    in-place backward kernel of the op that reads it (tanh's backward_into)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    xt = nb.tensor(x, requires_grad=True)
    h = xt * 2.0
    loss = (nb.tanh(h) * 3.0).sum()
    gh, gx = nb.grad(loss, [h, xt])
    xr = torch.tensor(x, requires_grad=True)
    hr = xr * 2.0
    ghr, gxr = torch.autograd.grad((torch.tanh(hr) * 3.0).sum(), [hr, xr])
    np.testing.assert_allclose(gh.data, ghr.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.data, gxr.numpy(), rtol=1e-12)


def test_keep_gradients_keeps_every_nodes_gradient_for_drawings_after_backward() -> None:
    """Under nb.viz.keep_gradients(), backward keeps d(root)/d(node) for every op output, and
    to_dot(grads=True) after the backward shows it on every node (micrograd's view); the values
    equal those of nb.grad on the live graph."""
    from nabla.autograd.graph import kept_gradient

    rng = np.random.default_rng(3)
    x = nb.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    h = nb.tanh(x * 2.0)
    loss = (h * h).sum()
    expected_h, expected_x = nb.grad(loss, [h, x], retain_graph=True)
    with nb.viz.keep_gradients():
        loss.backward()
    np.testing.assert_allclose(kept_gradient(h), expected_h.data, rtol=1e-12)
    np.testing.assert_allclose(x.grad, expected_x.data, rtol=1e-12)
    assert kept_gradient(loss) == 1.0
    dot = nb.viz.to_dot(loss, grads=True)
    assert "freed by backward" not in dot  # every node has its gradient
    norm = f"{np.linalg.norm(expected_h.data):.3g}"
    assert norm in dot
    # without it, op nodes say their gradient was freed
    y = nb.tanh(x * 2.0).sum()
    y.backward()
    assert kept_gradient(y) is None and "freed by backward" in nb.viz.to_dot(y, grads=True)


def test_keep_gradients_also_keeps_values_for_drawings() -> None:
    """Under keep_gradients(), a freed op output still has its value (FreedTensor.data), so a
    drawing after backward shows data and grad on every node."""
    from nabla.autograd.graph import inputs_of

    x = nb.tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = nb.tanh(x * 3.0)
    loss = (h * h).sum()
    expected = np.tanh(x.data * 3.0)
    with nb.viz.keep_gradients():
        loss.backward()
    (freed_h, _) = inputs_of(loss._fn.links[0])  # mul's inputs: h twice
    assert freed_h.data is not None
    np.testing.assert_allclose(freed_h.data, expected, rtol=1e-15)
    y = nb.tanh(x * 3.0)
    z = (y * y).sum()
    z.backward()
    assert inputs_of(z._fn.links[0])[0].data is None  # without it, values are freed
