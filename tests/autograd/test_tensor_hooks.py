"""register_hook and retain_grad (nabla.autograd.tensor_hooks) against PyTorch: when hooks
run, what they receive, how a returned gradient replaces the original, accumulation of a
retained non-leaf gradient, nb.grad, create_graph, removal and the refusals."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.autograd.tensor_hooks import WATCHED

torch = pytest.importorskip("torch")

DATA = np.array([[0.5, -1.5, 2.0], [1.0, 3.0, -0.25]])


def _run(lib: Any, data: np.ndarray) -> dict[str, Any]:
    """One program under nabla or PyTorch: hooks on a leaf and on a non-leaf, one that only
    reads, one that replaces, a retained gradient, two backward passes."""
    seen: list[np.ndarray] = []

    def values(g: Any) -> np.ndarray:
        return np.array(g.detach().numpy() if hasattr(g, "detach") else g)

    x = lib.tensor(data, requires_grad=True)
    y = x * x
    z = y.sum(1)
    y.retain_grad()
    x.register_hook(lambda g: seen.append(values(g)))
    y.register_hook(lambda g: g * 3)
    handle = z.register_hook(lambda g: g + 1)
    loss = (z * lib.tensor(np.array([2.0, -1.0]))).sum()
    loss.backward(retain_graph=True)
    first = (values(x.grad), values(y.grad))
    handle.remove()
    loss.backward()
    return {
        "x": values(x.grad),
        "y": values(y.grad),
        "first": first,
        "seen": seen,
        "retains": (x.retains_grad, y.retains_grad, z.retains_grad),
    }


def test_hooks_and_retained_gradients_match_pytorch() -> None:
    ours, theirs = _run(nb, DATA), _run(torch, DATA)
    np.testing.assert_allclose(ours["x"], theirs["x"])
    np.testing.assert_allclose(ours["y"], theirs["y"])
    for a, b in zip(ours["first"], theirs["first"]):
        np.testing.assert_allclose(a, b)
    assert len(ours["seen"]) == len(theirs["seen"]) == 2  # once per pass: the summed gradient
    for a, b in zip(ours["seen"], theirs["seen"]):
        np.testing.assert_allclose(a, b)
    assert ours["retains"] == theirs["retains"] == (False, True, False)


def test_a_hook_sees_the_total_of_a_tensor_used_twice() -> None:
    seen: list[Any] = []
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(g))
    (x * 3 + x * x).sum().backward()
    assert len(seen) == 1 and isinstance(seen[0], nb.Tensor)
    np.testing.assert_allclose(seen[0].numpy(), [5.0, 7.0])


def test_hooks_run_in_order_and_the_retained_gradient_is_the_hooked_one() -> None:
    order: list[str] = []
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: order.append("a") or g * 10)
    y.register_hook(lambda g: order.append("b"))
    (y * y).sum().backward()
    assert order == ["a", "b"]
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tx * 2
    ty.retain_grad()
    ty.register_hook(lambda g: g * 10)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.grad, ty.grad.numpy())
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_hooks_and_retain_grad_in_nb_grad_as_pytorch() -> None:
    x, tx = nb.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    tx.register_hook(lambda g: g * 10)
    (gx,) = nb.grad((x * x).sum(), x)
    (want,) = torch.autograd.grad((tx * tx).sum(), tx)
    np.testing.assert_allclose(gx.numpy(), want.numpy())
    y, ty = x * 2, tx * 2
    y.retain_grad()
    ty.retain_grad()
    nb.grad((y * y).sum(), x)
    torch.autograd.grad((ty * ty).sum(), tx)
    np.testing.assert_allclose(y.grad, ty.grad.numpy())


def test_hooks_under_create_graph_are_recorded() -> None:
    x = nb.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for t in (x, tx):
        t.register_hook(lambda g: g * g)
    (gx,) = nb.grad((x**3).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad((tx**3).sum(), tx, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), gt.detach().numpy())
    gx.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_handles_remove_and_entries_go_with_their_tensor() -> None:
    x = nb.tensor([1.0], requires_grad=True)
    with x.register_hook(lambda g: g * 0):
        (x * 2).sum().backward()
    assert x.grad is not None and x.grad[0] == 0
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad is not None and x.grad[0] == 2
    before = len(WATCHED)
    y = nb.tensor([1.0], requires_grad=True)
    y.register_hook(lambda g: g)
    assert len(WATCHED) == before + 1
    del y
    gc.collect()
    assert len(WATCHED) == before


def test_refusals_are_pytorchs() -> None:
    plain = nb.tensor([1.0])
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't"):
        plain.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad"):
        plain.retain_grad()
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: nb.ones(3))
    with pytest.raises(ValueError, match=r"returned a gradient of shape \(3,\) for a tensor"):
        (x * x).sum().backward()


def test_a_leaf_retain_grad_changes_nothing() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    x.retain_grad()
    assert not x.retains_grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_a_hook_makes_a_compiled_step_stay_eager() -> None:
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    w.register_hook(lambda g: g * 2)

    def step() -> None:
        w.grad = None
        (w * w).sum().backward()

    compiled = nb.compile(step)
    for _ in range(3):
        compiled()
        np.testing.assert_allclose(w.grad, [4.0, 8.0])
