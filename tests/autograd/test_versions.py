"""In-place changes: ``x[i] = v`` is recorded as an op, and a backward through values changed
after the forward pass saved them raises (PyTorch's version counters) instead of returning a
gradient computed from the new values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb

MODIFIED = "modified by an inplace operation"


# ----- x[index] = v on tensors in the graph ------------------------------------------------------
def test_setitem_on_a_non_leaf_passes_no_gradient_through_the_overwritten_element() -> None:
    x = nb.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = 2 * x
    y[0] = 5.0
    (y * y).sum().backward()
    # L = 5² + (2·x₁)²: dL/dx₀ = 0, dL/dx₁ = 8·x₁ = 16
    np.testing.assert_array_equal(x.grad, [0.0, 16.0])
    np.testing.assert_array_equal(y.data, [5.0, 4.0])


def test_setitem_of_a_tensor_that_requires_grad_routes_its_gradient() -> None:
    x = nb.tensor(np.array([3.0, 4.0]), requires_grad=True)
    out = nb.zeros(3, dtype=np.float64)
    for i in range(3):
        out[i] = x[0] * i  # out is a plain leaf: it starts requiring grad here
    assert out.requires_grad
    w = nb.tensor(np.array([1.0, 10.0, 100.0]))
    (out * w).sum().backward()
    np.testing.assert_array_equal(x.grad, [0 * 1 + 1 * 10 + 2 * 100, 0.0])


def test_setitem_of_a_broadcast_value_sums_its_gradient_back() -> None:
    x = nb.tensor(np.zeros((2, 3)), requires_grad=True)
    v = nb.tensor(np.array([7.0]), requires_grad=True)
    y = x * 1.0
    y[:, 1:] = v
    g = np.arange(6.0).reshape(2, 3)
    (y * nb.tensor(g)).sum().backward()
    np.testing.assert_array_equal(v.grad, [g[:, 1:].sum()])
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])


def test_setitem_with_repeated_and_masked_indices() -> None:
    x = nb.tensor(np.arange(4.0), requires_grad=True)
    y = x * 1.0
    y[np.array([True, False, True, False])] = 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, 1.0])


def test_an_infinite_gradient_at_an_overwritten_element_does_not_leak() -> None:
    x = nb.tensor(np.array([0.0, 4.0]), requires_grad=True)
    y = x * 1.0
    y[0] = 1.0
    y.backward(np.array([np.inf, 2.0]))  # select, not multiply by a mask: inf·0 is nan
    np.testing.assert_array_equal(x.grad, [0.0, 2.0])


def test_setitem_second_order() -> None:
    x = nb.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * x
    y[1] = x[0] ** 3
    (g,) = nb.grad(y.sum(), x, create_graph=True)
    # y = [x₀², x₀³, x₂²]: g = [2x₀ + 3x₀², 0, 2x₂]
    np.testing.assert_allclose(g.data, [5.0, 0.0, 6.0])
    (h,) = nb.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, [2.0 + 6.0, 0.0, 2.0])


def test_setitem_on_a_leaf_that_requires_grad_is_refused_while_recording() -> None:
    w = nb.zeros(3, requires_grad=True)
    with pytest.raises(nb.GraphError, match="setitem: a leaf tensor that requires grad"):
        w[0] = 1.0
    with nb.no_grad():
        w[0] = 1.0
    assert w.data[0] == 1.0 and w._version == 1


# ----- version counters ------------------------------------------------------------------------
def test_an_optimizer_step_between_forward_and_backward_is_refused() -> None:
    w = nb.tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    opt = nb.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()
    opt.step()
    with pytest.raises(nb.GraphError, match=rf"{MODIFIED}: input 0 of mul, a tensor 'w'"):
        loss.backward()


def test_a_change_under_no_grad_after_the_forward_pass_is_refused() -> None:
    w = nb.tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    with nb.no_grad():
        w[0] = 10.0
    with pytest.raises(nb.GraphError, match=rf"{MODIFIED}.*now at version 1"):
        loss.backward()


def test_a_saved_output_changed_in_place_is_refused() -> None:
    x = nb.tensor(np.array([0.5, 1.0]), requires_grad=True)
    h = nb.tanh(x)  # tanh's backward reads its output: 1 − h²
    h[0] = 1.0
    with pytest.raises(nb.GraphError, match=rf"{MODIFIED}: the output of tanh"):
        h.sum().backward()


def test_a_change_through_a_view_is_seen_by_the_base_and_back() -> None:
    x = nb.tensor(np.arange(4.0), requires_grad=True)
    y = x * 1.0
    view = y[1:3]  # basic indexing: a view of y's memory
    z = (view * view).sum()
    y[1] = 7.0
    with pytest.raises(nb.GraphError, match=MODIFIED):
        z.backward()
    y2 = x * 1.0
    z2 = (y2 * y2).sum()
    with nb.no_grad():  # (while recording, a write into a view is refused: see below)
        y2.reshape(2, 2)[0, 0] = 1.0
    with pytest.raises(nb.GraphError, match=MODIFIED):
        z2.backward()


def test_detach_shares_the_version_counter() -> None:
    x = nb.tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    x.detach()[0] = 5.0
    with pytest.raises(nb.GraphError, match=MODIFIED):
        loss.backward()


def test_zero_counts_as_a_change() -> None:
    x = nb.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    loss = (y * y).sum()
    with nb.no_grad():
        y.zero_()
    with pytest.raises(nb.GraphError, match=MODIFIED):
        loss.backward()


def test_changes_before_the_forward_pass_or_after_backward_are_fine() -> None:
    w = nb.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = nb.optim.SGD([w], lr=0.5)
    for _ in range(3):  # the usual loop: forward, backward, step
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, [0.0, 0.0])  # w ← w − 0.5·2w = 0 after one step
    assert w._version == 3


def test_load_state_dict_and_init_count_as_changes() -> None:
    layer = nb.nn.Linear(3, 2)
    x = nb.tensor(np.ones((4, 3), dtype=np.float32))
    loss = (layer(x) ** 2).sum()
    layer.load_state_dict(layer.state_dict())
    with pytest.raises(nb.GraphError, match=MODIFIED):
        loss.backward()
    loss = (layer(x) ** 2).sum()
    nb.nn.init.normal_(layer.weight)
    with pytest.raises(nb.GraphError, match=MODIFIED):
        loss.backward()


@pytest.mark.parametrize(
    "write",
    [
        lambda y: y[:, 0].mul_(3.0),
        lambda y: y[0].fill_(1.0),
        lambda y: y.reshape(-1).__setitem__(0, 100.0),
        lambda y: y.T.__setitem__(0, 5.0),
    ],
)
def test_a_recorded_write_into_a_view_of_a_graph_tensor_is_refused(write: Any) -> None:
    # the write would change the base's values behind its history (silently wrong gradients)
    x = nb.tensor(np.ones((3, 3)), requires_grad=True)
    y = x * 1
    with pytest.raises(nb.GraphError, match="in-place change of a view"):
        write(y)


def test_a_view_may_still_be_changed_under_no_grad_and_the_base_notices() -> None:
    x = nb.tensor(np.ones((3, 3)), requires_grad=True)
    y = x * 1
    loss = (y * y).sum()
    with nb.no_grad():
        y[:, 0].mul_(3.0)
    with pytest.raises(nb.GraphError, match=MODIFIED):
        loss.backward()
