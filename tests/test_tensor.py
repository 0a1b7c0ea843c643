"""Tensor construction, dtypes, metadata, operators with ndarrays and Python scalars."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb


def test_dtype_inference_follows_pytorch() -> None:
    assert nb.tensor(1.5).dtype == np.float32
    assert nb.tensor([1.0, 2.0]).dtype == np.float32
    assert nb.tensor([1, 2]).dtype == np.int64
    assert nb.tensor([True]).dtype == np.bool_
    assert nb.tensor(np.ones(2)).dtype == np.float64  # an ndarray keeps its dtype
    assert nb.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert nb.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_tensor_copies_but_from_numpy_shares() -> None:
    a = np.zeros(3)
    t = nb.tensor(a)
    a[0] = 1
    assert t.data[0] == 0
    s = nb.from_numpy(a)
    a[1] = 2
    assert s.data[1] == 2


def test_metadata_and_conversions() -> None:
    t = nb.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert t.shape == (1, 3) and t.ndim == 2 and t.size == 3 and t.numel() == 3
    assert t.dtype == np.float32
    assert t.grad is None and t.is_leaf
    assert isinstance(t.numpy(), np.ndarray)
    assert nb.tensor([2.5]).item() == 2.5
    d = t.detach()
    assert not d.requires_grad and d.data is t.data
    with pytest.raises(ValueError, match="one-element"):
        t.item()


def test_repr_is_useful() -> None:
    t = nb.tensor([1.0, 2.0], requires_grad=True, name="w")
    assert "requires_grad=True" in repr(t) and "name='w'" in repr(t)
    assert "grad_fn=<Mul>" in repr(t * 2.0)
    assert "dtype=float64" in repr(nb.tensor(np.ones(1)))


def test_scalars_and_ndarrays_on_either_side() -> None:
    x = nb.tensor([1.0, 2.0])
    a = np.array([10.0, 20.0], dtype=np.float32)
    for result, expected in [
        (x + 1, [2, 3]),
        (1 + x, [2, 3]),
        (x - 1, [0, 1]),
        (1 - x, [0, -1]),
        (2 * x, [2, 4]),
        (x / 2, [0.5, 1]),
        (2 / x, [2, 1]),
        (x**2, [1, 4]),
        (2**x, [2, 4]),
        (a + x, [11, 22]),
        (x + a, [11, 22]),
        (a * x, [10, 40]),
        (a - x, [9, 18]),
        (a / x, [10, 10]),
    ]:
        assert isinstance(result, nb.Tensor)
        assert result.dtype == np.float32
        np.testing.assert_allclose(result.data, expected)
    assert (a @ nb.tensor(np.ones((2, 2), dtype=np.float32))).shape == (2,)


def test_int_tensor_with_float_scalar_follows_pytorch_promotion() -> None:
    assert (nb.tensor([1, 2]) * 1.5).dtype == np.float32  # NumPy: float64
    assert (nb.tensor([1, 2]) * 2).dtype == np.int64


def test_comparisons_give_bool_tensors_without_grad() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    np.testing.assert_array_equal((x == 1.0).data, [True, False])


def test_factories() -> None:
    assert nb.zeros(2, 3).shape == (2, 3) and nb.zeros(2, 3).dtype == np.float32
    assert nb.ones((2,)).data.sum() == 2
    assert nb.full((2, 2), 7).dtype == np.int64
    assert nb.full((2, 2), 7.0).dtype == np.float32
    assert nb.arange(5).dtype == np.int64 and nb.arange(0.0, 1.0, 0.25).shape == (4,)
    assert nb.zeros_like(nb.ones(3)).data.sum() == 0
    assert nb.ones_like(np.zeros((2, 2))).dtype == np.float64
    nb.manual_seed(3)
    a = nb.randn(4, 5)
    nb.manual_seed(3)
    b = nb.randn(4, 5)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32
    r = nb.rand(100)
    assert r.data.min() >= 0 and r.data.max() < 1
    assert nb.randn(2, requires_grad=True).requires_grad


def test_rng_state_round_trip() -> None:
    nb.manual_seed(5)
    state = nb.get_rng_state()
    a = nb.randn(3)
    nb.set_rng_state(state)
    np.testing.assert_array_equal(nb.randn(3).data, a.data)


def test_setitem_on_leaf_requiring_grad_refused() -> None:
    x = nb.zeros(3, requires_grad=True)
    with pytest.raises(nb.GraphError, match="in place"):
        x[0] = 1.0
    with nb.no_grad():
        x[0] = 1.0
    assert x.data[0] == 1.0


def test_shape_methods() -> None:
    x = nb.arange(24.0).reshape(2, 3, 4)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2)
    assert x.mT.shape == (2, 4, 3)
    assert x.reshape(6, -1).shape == (6, 4)
    assert x.flatten().shape == (24,)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4)
    assert x[:, :1].squeeze(1).shape == (2, 4)
    assert [t.shape for t in x.split(2, axis=2)] == [(2, 3, 2), (2, 3, 2)]
    assert x.sum(axis=(0, 1)).shape == (4,)
    assert x.max(dim=1, keepdim=True).values.shape == (2, 1, 4)
    assert x.mean().item() == pytest.approx(11.5)
    assert x.argmax(axis=-1).dtype == np.int64


def test_var_defaults_to_unbiased_like_pytorch() -> None:
    data = np.array([1.0, 2.0, 4.0, 7.0])
    x = nb.tensor(data)
    assert x.var().item() == pytest.approx(np.var(data, ddof=1))
    assert x.var(correction=0).item() == pytest.approx(np.var(data))
    assert x.std(ddof=0).item() == pytest.approx(np.std(data))


def test_python_scalars_keep_sign_and_dtype_when_reused() -> None:
    x32 = nb.tensor(np.float32(3.0))
    x64 = nb.tensor(np.float64(3.0))
    for _ in range(2):  # the second round reuses the constants made in the first
        assert np.signbit((x32 * -0.0).data) and not np.signbit((x32 * 0.0).data)
        assert (x32 * 2.0).dtype == np.float32 and (x64 * 2.0).dtype == np.float64
        assert (x32 * 2).dtype == np.float32 and (x32 * True).data == 3.0
        assert (nb.tensor(np.int64(3)) * 2.5).dtype == np.float32  # as PyTorch
    w = nb.tensor(np.float32(2.0), requires_grad=True)
    (w * 1.5).backward()
    assert w.grad == np.float32(1.5)
    assert (x32 * 1.5).grad_fn is None  # the shared constant never requires grad


# ----- dtypes of a tensor with a Python or NumPy scalar (PyTorch 2.13's, weak scalars) ------------
_TENSOR_DTYPES = [
    np.float32,
    np.float64,
    np.float16,
    np.int64,
    np.int32,
    np.int8,
    np.uint8,
    np.bool_,
]
_SCALARS = [2, 2.5, True, np.int64(2), np.int32(2), np.uint8(2), np.float64(2.5), np.float32(2.5)]


def _pytorch_dtype(tensor_dtype: object, scalar: object, op: str) -> np.dtype:
    """PyTorch's result dtype (checked against torch 2.13 for every pair here): a scalar is
    weak, so it never widens within its category; a float scalar with an integer or bool
    tensor gives float32, its default dtype, as does true division of integers."""
    t = np.dtype(tensor_dtype)
    if t.kind == "f":
        return t
    if op == "div" or isinstance(scalar, (float, np.floating)):
        return np.dtype(np.float32)
    if t.kind == "b" and not isinstance(scalar, (bool, np.bool_)):
        return np.dtype(np.int64)
    return t


@pytest.mark.parametrize("scalar", _SCALARS, ids=lambda s: f"{type(s).__name__}")
@pytest.mark.parametrize("tensor_dtype", _TENSOR_DTYPES, ids=lambda d: np.dtype(d).name)
def test_scalar_operand_dtypes_follow_pytorch(tensor_dtype: object, scalar: object) -> None:
    x = nb.tensor(np.array([1, 2, 3], dtype=tensor_dtype))
    ops = {
        "add": [lambda: x + scalar, lambda: scalar + x],
        "mul": [lambda: x * scalar, lambda: scalar * x],
        "div": [lambda: x / scalar, lambda: scalar / x],
    }
    if np.dtype(tensor_dtype).kind != "b" and not isinstance(scalar, (bool, np.bool_)):
        ops["sub"] = [lambda: x - scalar, lambda: scalar - x]  # (PyTorch refuses bool −)
    for op, makes in ops.items():
        expected = _pytorch_dtype(tensor_dtype, scalar, op)
        for make in makes:
            assert make().dtype == expected, (op, tensor_dtype, type(scalar))


def test_numpy_scalars_are_weak_and_keep_values_and_signs() -> None:
    x32 = nb.tensor([1.0, -2.0])
    for zero in (np.float32(-0.0), np.float64(-0.0), -0.0):
        for _ in range(2):  # the second time through any cache
            assert np.signbit((x32 * zero).data).tolist() == [True, False]
    assert (x32 * np.int64(3)).dtype == np.float32  # NumPy 2 alone: float64
    np.testing.assert_array_equal((x32 * np.float64(0.1)).data, x32.data * np.float32(0.1))
    i = nb.tensor([1, 2, 3])
    np.testing.assert_array_equal((i * 2.5).data, np.array([2.5, 5.0, 7.5], dtype=np.float32))
    assert (i + np.int8(1)).dtype == np.int64
    # a NumPy bool is a bool, as Python's (PyTorch 2.13 reads it as a float: float32 here)
    assert (i + np.bool_(True)).data.tolist() == [2, 3, 4]
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    (w * np.float64(3.0)).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [3.0, 3.0]


# ----- in-place arithmetic: the same array, version counters, recorded while grad is on -------
def test_manual_sgd_with_minus_equals_under_no_grad_keeps_the_leaf() -> None:
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    array = w.data
    for _ in range(3):
        (w * w).sum().backward()
        with nb.no_grad():
            w -= 0.25 * w.grad  # w ← w − 0.25 · 2w = w / 2
        w.grad = None
    assert w.is_leaf and w.requires_grad and w.data is array
    np.testing.assert_array_equal(w.data, [0.125, 0.25])
    assert w._version == 3


def test_in_place_arithmetic_while_recording_is_an_op() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y *= x  # y = 2x²
    y += 1
    y /= 2  # y = x² + 1/2
    y.sub_(x, alpha=2)  # y = x² − 2x + 1/2
    y.sum().backward()
    np.testing.assert_allclose(y.data, x.data**2 - 2 * x.data + 0.5)
    np.testing.assert_allclose(x.grad, 2 * x.data - 2)


def test_in_place_methods_and_their_refusals() -> None:
    a = nb.ones(3)
    view = a[0:2]
    a.add_(1).mul_(3)
    np.testing.assert_array_equal(view.data, [6.0, 6.0])  # the same array
    a.fill_(0.5)
    a.copy_(nb.tensor([1.0, 2.0, 3.0]))
    assert a.data.tolist() == [1.0, 2.0, 3.0]
    i = nb.tensor([1, 2])
    with pytest.raises(nb.DTypeError, match="can't be cast"):
        i += 0.5
    b = nb.ones((2, 3))
    with pytest.raises(nb.ShapeError, match="does not fit in place"):
        b += nb.ones((4, 2, 3))
    w = nb.ones(2, requires_grad=True)
    with pytest.raises(nb.GraphError, match="leaf tensor that requires grad"):
        w += 1


def test_copy_of_a_tensor_that_requires_grad_is_recorded() -> None:
    src = nb.tensor([1.0, 2.0], requires_grad=True)
    dst = nb.zeros(2, dtype=np.float32)
    dst.copy_(src * 3)
    dst.sum().backward()
    np.testing.assert_array_equal(src.grad, [3.0, 3.0])
