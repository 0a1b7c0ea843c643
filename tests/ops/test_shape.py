"""Shape ops: PyTorch's meaning of transpose/permute/squeeze/unsqueeze/flatten on every ndim,
negative axes in backward, out-of-range dims refused, indices frozen at the forward pass."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb


@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-2, -1), (0, -1), (-1, 0)])
def test_transpose_of_two_dims_swaps_them_on_a_matrix(dims: tuple[int, int]) -> None:
    x = nb.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.transpose(*dims)
    np.testing.assert_array_equal(y.data, x.data.T)
    w = np.arange(6.0).reshape(3, 2) + 1
    (y * nb.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, w.T)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("dims", [(0, -1), (-1, 0), (0, 0), (-1, -1)])
def test_transpose_swaps_exactly_two_dims_for_every_ndim(ndim: int, dims: tuple[int, int]) -> None:
    data = np.arange(float(np.prod(range(2, 2 + ndim)))).reshape(tuple(range(2, 2 + ndim)))
    x = nb.tensor(data, requires_grad=True)
    assert x.transpose(*dims).shape == np.swapaxes(data, *dims).shape
    np.testing.assert_array_equal(nb.transpose(x, *dims).data, np.swapaxes(data, *dims))
    np.testing.assert_array_equal(x.swapaxes(*dims).data, np.swapaxes(data, *dims))


def test_transpose_without_arguments_or_with_a_permutation_follows_numpy() -> None:
    data = np.arange(24.0).reshape(2, 3, 4)
    x = nb.tensor(data)
    np.testing.assert_array_equal(x.transpose().data, data.transpose())
    np.testing.assert_array_equal(x.transpose((1, 2, 0)).data, data.transpose(1, 2, 0))
    np.testing.assert_array_equal(x.transpose(2, 0, 1).data, data.transpose(2, 0, 1))


@pytest.mark.parametrize("axes", [(0, -1, -2), (-1, -2, -3), (-3, 2, 1), (2, -3, -2), (-2, -1, 0)])
def test_permute_with_negative_axes_has_the_inverse_gradient(axes: tuple[int, ...]) -> None:
    # equal sizes: a wrong inverse permutation keeps the shape and moves the values
    data = np.random.default_rng(0).standard_normal((3, 3, 3))
    w = np.random.default_rng(1).standard_normal((3, 3, 3))
    x = nb.tensor(data, requires_grad=True)
    y = x.permute(*axes)
    positive = tuple(a % 3 for a in axes)
    np.testing.assert_array_equal(y.data, data.transpose(positive))
    (y * nb.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, w.transpose(np.argsort(positive)))


def test_permute_with_negative_axes_second_order() -> None:
    data = np.random.default_rng(0).standard_normal((2, 2, 2))
    x = nb.tensor(data, requires_grad=True)
    w = nb.tensor(np.random.default_rng(1).standard_normal((2, 2, 2)))
    (g,) = nb.grad((x.permute(-1, 0, -2) ** 2 * w).sum(), x, create_graph=True)
    (h,) = nb.grad(g.sum(), x)
    # d/dx Σ 2·x·w⁻ = 2·w⁻, with w⁻ = w moved back by the inverse permutation
    np.testing.assert_allclose(h.data, 2 * w.data.transpose(np.argsort((2, 0, 1))))


@pytest.mark.parametrize("axes", [(0, 0, 1), (0, 1), (0, 1, 2, 3), (0, 1, 3), (-4, 0, 1)])
def test_permute_refuses_what_is_not_a_permutation(axes: tuple[int, ...]) -> None:
    with pytest.raises((ValueError, IndexError), match="permute"):
        nb.ones((2, 3, 4)).permute(*axes)


@pytest.mark.parametrize(
    ("call", "op"),
    [
        (lambda x: x.unsqueeze(5), "unsqueeze"),
        (lambda x: x.unsqueeze(-4), "unsqueeze"),
        (lambda x: x.squeeze(7), "squeeze"),
        (lambda x: x.squeeze(-3), "squeeze"),
        (lambda x: x.squeeze((0, 2)), "squeeze"),
        (lambda x: nb.flatten(x, 0, 9), "flatten"),
        (lambda x: x.flatten(-3), "flatten"),
        (lambda x: x.transpose(0, 2), "transpose"),
        (lambda x: nb.transpose(x, -3, 0), "transpose"),
    ],
)
def test_out_of_range_dims_are_refused_naming_the_op(call, op: str) -> None:  # type: ignore[no-untyped-def]
    x = nb.ones((2, 1))
    with pytest.raises(IndexError, match=rf"{op}: dimension out of range .* 2-D tensor"):
        call(x)


def test_in_range_dims_at_the_edges() -> None:
    x = nb.ones((2, 1))
    assert x.unsqueeze(2).shape == (2, 1, 1)
    assert x.unsqueeze(-3).shape == (1, 2, 1)
    assert x.squeeze(-1).shape == (2,)
    assert x.squeeze(0).shape == (2, 1)  # an axis that is not of length 1 stays
    assert x.squeeze((0, 1)).shape == (2,)
    assert nb.flatten(nb.ones((2, 3, 4)), 1).shape == (2, 12)
    assert nb.flatten(nb.ones((2, 0, 4)), 0, 1).shape == (0, 4)
    with pytest.raises(ValueError, match="start_dim"):
        nb.flatten(nb.ones((2, 3, 4)), 2, 1)


def test_zero_d_tensors_accept_dims_zero_and_minus_one() -> None:
    x = nb.tensor(3.0, requires_grad=True)
    for dim in (0, -1):
        assert x.squeeze(dim).shape == ()
        assert x.flatten(dim).shape == (1,)
        assert x.transpose(dim, 0).shape == ()
    assert x.squeeze().shape == ()
    assert x.unsqueeze(0).shape == (1,) and x.unsqueeze(-1).shape == (1,)
    for bad in (1, -2):
        with pytest.raises(IndexError, match="0-D tensor"):
            x.squeeze(bad)
    with pytest.raises(IndexError, match="unsqueeze"):
        x.unsqueeze(2)
    (x.squeeze(0) * 2).backward()
    assert x.grad == 2


@pytest.mark.parametrize("as_tensor", [False, True])
def test_an_index_changed_after_the_forward_pass_does_not_move_the_gradient(
    as_tensor: bool,
) -> None:
    x = nb.tensor(np.arange(4.0), requires_grad=True)
    index = nb.from_numpy(np.array([0, 1])) if as_tensor else np.array([0, 1])
    y = x[index]
    index[:] = 3  # the caller's index array (or index tensor) changes
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 0.0, 0.0])


def test_a_mask_changed_after_the_forward_pass_does_not_move_the_gradient() -> None:
    x = nb.tensor(np.arange(4.0), requires_grad=True)
    mask = np.array([True, False, True, False])
    y = x[mask]
    mask[:] = True
    (y * nb.tensor([1.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0, 0.0])


def test_an_empty_list_is_an_empty_integer_index() -> None:
    x = nb.tensor(np.arange(3.0), requires_grad=True)
    y = x[[]]
    assert y.shape == (0,)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


def test_split_refuses_out_of_range_dims() -> None:
    x = nb.ones((2, 3))
    for dim in (2, 5, -3):
        with pytest.raises(IndexError, match="split: dimension out of range"):
            nb.split(x, 1, dim)
    assert [p.shape for p in nb.split(x, 1, -1)] == [(2, 1)] * 3


def test_concatenate_and_stack_errors_name_the_op_once() -> None:
    a, b = nb.ones((2, 3)), nb.ones((2, 4))
    with pytest.raises(nb.ShapeError, match=r"^concatenate: sizes must match except along dim 0"):
        nb.cat([a, b], 0)
    with pytest.raises(IndexError, match=r"^concatenate: dimension out of range"):
        nb.cat([a, b], 2)
    assert nb.cat([a, b], -1).shape == (2, 7)
    with pytest.raises(IndexError, match=r"^stack: dimension out of range"):
        nb.stack([a, a], 3)
    assert nb.stack([a, a], -1).shape == (2, 3, 2)
