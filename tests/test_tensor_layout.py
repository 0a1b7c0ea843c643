"""The layout and construction methods (nabla.tensor_layout, nabla.functional_layout): values,
dtypes and gradients against PyTorch on every memory layout of the input, first and second
derivatives against central differences (nb.gradcheck / gradgradcheck), and the errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla import functional_layout as L
from nabla.device import DeviceError
from nabla.errors import DTypeError, GraphError, ShapeError

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _layouts(data: np.ndarray) -> dict[str, np.ndarray]:
    """The same values in each memory layout nabla accepts."""
    wide = np.zeros((*data.shape[:-1], 2 * data.shape[-1]), data.dtype) if data.ndim else None
    out = {"c": data.copy(), "fortran": np.asfortranarray(data)}
    if wide is not None:
        wide[..., ::2] = data
        out["strided"] = wide[..., ::2]
    out["negative"] = np.flip(np.flip(data).copy())
    read_only = data.copy()
    read_only.flags.writeable = False
    out["read-only"] = read_only
    if data.ndim and data.shape[0]:
        out["broadcast"] = np.broadcast_to(data[:1], data.shape)
    return out


def _compare(data: np.ndarray, ours: Callable[[Any], Any], theirs: Callable[[Any], Any]) -> None:
    """Values, dtypes and the gradient of ⟨w, f(x)⟩ (w random) against PyTorch; tuple results
    are compared piece by piece."""
    x = nb.Tensor(data, requires_grad=True)  # wrapped as it is: the layout is kept
    tx = torch.tensor(np.array(data, order="C"), requires_grad=True)
    got, want = ours(x), theirs(tx)
    gots = got if isinstance(got, tuple) else (got,)
    wants = want if isinstance(want, tuple) else (want,)
    assert len(gots) == len(wants)
    rng = np.random.default_rng(1)
    loss, tloss = 0, 0
    for g, w in zip(gots, wants):
        assert g.shape == tuple(w.shape)
        assert g.dtype == np.dtype(str(w.dtype).removeprefix("torch."))
        np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=1e-6, atol=1e-6)
        u = rng.standard_normal(g.shape).astype(data.dtype)
        loss = loss + (g * nb.tensor(u)).sum()
        tloss = tloss + (w * torch.tensor(u)).sum()
    if not gots:  # nothing to differentiate (unbind of a size-0 dim)
        return
    loss.backward()
    tloss.backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def _both_orders(fn: Callable[[Any], Any], data: np.ndarray) -> None:
    def squared(x: Any) -> Any:
        out = fn(x)
        parts = out if isinstance(out, tuple) else (out,)
        return nb.stack([(p**2).sum() for p in parts]) if parts else x.sum() * 0

    x = nb.tensor(data.astype(np.float64), requires_grad=True)
    assert nb.gradcheck(fn if not isinstance(fn(x), tuple) else squared, x)
    assert nb.gradgradcheck(squared, x)


# name, nabla, torch, input shape: the differentiable ops, each in every layout
CASES: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any], tuple[int, ...]]] = [
    ("flip", lambda x: x.flip(0, -1), lambda t: t.flip(0, -1), (3, 4)),
    ("flip-fn", lambda x: L.flip(x, (1,)), lambda t: torch.flip(t, (1,)), (2, 3, 4)),
    ("flip-none", lambda x: x.flip(()), lambda t: t.flip(()), (2, 3)),
    ("fliplr", lambda x: L.fliplr(x), lambda t: torch.fliplr(t), (3, 4)),
    ("flipud", lambda x: x.flipud(), lambda t: t.flipud(), (3,)),
    ("roll-flat", lambda x: x.roll(5), lambda t: t.roll(5), (3, 4)),
    ("roll-dims", lambda x: L.roll(x, (1, -5), (0, 1)), lambda t: torch.roll(t, (1, -5), (0, 1)), (3, 4)),
    ("roll-repeat", lambda x: x.roll((1, 2), (-1, -1)), lambda t: t.roll((1, 2), (-1, -1)), (2, 3)),
    ("unbind", lambda x: x.unbind(1), lambda t: t.unbind(1), (3, 4)),
    ("unbind-fn", lambda x: L.unbind(x, -1), lambda t: torch.unbind(t, -1), (2, 3)),
    ("narrow", lambda x: x.narrow(1, -3, 2), lambda t: t.narrow(1, -3, 2), (3, 4)),
    ("narrow-fn", lambda x: L.narrow(x, 0, 1, 0), lambda t: torch.narrow(t, 0, 1, 0), (3, 4)),
    ("movedim", lambda x: x.movedim((0, 1), (2, 0)), lambda t: t.movedim((0, 1), (2, 0)), (2, 3, 4)),
    ("moveaxis", lambda x: L.moveaxis(x, -1, 0), lambda t: torch.moveaxis(t, -1, 0), (2, 3, 4)),
    ("swapdims", lambda x: x.swapdims(0, 2), lambda t: t.swapdims(0, 2), (2, 3, 4)),
    ("swapaxes-fn", lambda x: L.swapaxes(x, 0, 1), lambda t: torch.swapaxes(t, 0, 1), (2, 3)),
    ("tile", lambda x: x.tile(2), lambda t: t.tile((2,)), (2, 3)),
    ("tile-fn", lambda x: L.tile(x, (2, 1, 3)), lambda t: torch.tile(t, (2, 1, 3)), (2, 3)),
    ("tile-ones", lambda x: x.tile(()), lambda t: t.tile(()), (2, 3)),
    ("tril", lambda x: x.tril(), lambda t: t.tril(), (3, 4)),
    ("tril-k", lambda x: L.tril(x, -1), lambda t: torch.tril(t, -1), (2, 3, 4)),
    ("triu-k", lambda x: x.triu(2), lambda t: t.triu(2), (4, 3)),
    ("triu-far", lambda x: L.triu(x, -9), lambda t: torch.triu(t, -9), (2, 3)),
    ("diag-vector", lambda x: x.diag(), lambda t: t.diag(), (4,)),
    ("diag-vector-k", lambda x: L.diag(x, -2), lambda t: torch.diag(t, -2), (3,)),
    ("diag-matrix", lambda x: x.diag(1), lambda t: t.diag(1), (3, 4)),
    ("diag-matrix-far", lambda x: L.diag(x, 7), lambda t: torch.diag(t, 7), (3, 4)),
    ("diagonal", lambda x: x.diagonal(), lambda t: t.diagonal(), (3, 4)),
    ("diagonal-dims", lambda x: x.diagonal(1, 0, 2), lambda t: t.diagonal(1, 0, 2), (3, 2, 4)),
    ("diagonal-rev", lambda x: L.diagonal(x, -1, 2, 1), lambda t: torch.diagonal(t, -1, 2, 1), (2, 3, 4)),
    ("diagonal-last", lambda x: x.diagonal(0, -1, -2), lambda t: t.diagonal(0, -1, -2), (2, 3, 3)),
    ("trace", lambda x: x.trace(), lambda t: t.trace(), (3, 4)),
    ("trace-fn", lambda x: L.trace(x), lambda t: torch.trace(t), (4, 2)),
    ("sum_to_size", lambda x: x.sum_to_size(3, 1), lambda t: t.sum_to_size(3, 1), (2, 3, 4)),
    ("sum_to_size-tuple", lambda x: x.sum_to_size((4,)), lambda t: t.sum_to_size((4,)), (2, 3, 4)),
    ("view_as", lambda x: x.view_as(nb.zeros(6, 2)), lambda t: t.view_as(torch.zeros(6, 2)), (3, 4)),
    ("reshape_as", lambda x: x.reshape_as(nb.zeros(12)), lambda t: t.reshape_as(torch.zeros(12)), (3, 4)),
    ("expand_as", lambda x: x.expand_as(nb.zeros(2, 3, 4)), lambda t: t.expand_as(torch.zeros(2, 3, 4)), (3, 1)),
    ("type_as", lambda x: x.type_as(nb.zeros(1, dtype=np.float64)), lambda t: t.type_as(torch.zeros(1, dtype=torch.float64)), (2, 3)),
]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "layout", ["c", "fortran", "strided", "negative", "read-only", "broadcast"]
)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_pytorch_on_every_layout(case: Any, layout: str, dtype: Any) -> None:
    _, ours, theirs, shape = case
    data = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    layouts = _layouts(data)
    if layout not in layouts:
        pytest.skip("no such layout for this shape")
    _compare(layouts[layout], ours, theirs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_first_and_second_derivatives(case: Any) -> None:
    _, ours, _, shape = case
    _both_orders(ours, np.random.default_rng(2).standard_normal(shape))


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (lambda x: x.flip(0), lambda t: t.flip(0), ()),
        (lambda x: x.flip(-1), lambda t: t.flip(-1), (0, 3)),
        (lambda x: x.roll(2), lambda t: t.roll(2), ()),
        (lambda x: x.roll(1, 0), lambda t: t.roll(1, 0), (0, 2)),
        (lambda x: x.unbind(0), lambda t: t.unbind(0), (0, 2)),
        (lambda x: x.unbind(1), lambda t: t.unbind(1), (0, 2)),
        (lambda x: x.movedim(0, -1), lambda t: t.movedim(0, -1), ()),
        (lambda x: x.tile(3), lambda t: t.tile((3,)), ()),
        (lambda x: x.tile(2, 2), lambda t: t.tile((2, 2)), (0,)),
        (lambda x: x.tril(), lambda t: t.tril(), (0, 3)),
        (lambda x: x.triu(1), lambda t: t.triu(1), (2, 0, 3)),
        (lambda x: x.diag(1), lambda t: t.diag(1), (0,)),
        (lambda x: x.diag(), lambda t: t.diag(), (0, 3)),
        (lambda x: x.diagonal(), lambda t: t.diagonal(), (2, 0)),
        (lambda x: x.trace(), lambda t: t.trace(), (0, 2)),
        (lambda x: x.sum_to_size(()), lambda t: t.sum_to_size(()), (2, 3)),
        (lambda x: x.sum_to_size(1, 3), lambda t: t.sum_to_size(1, 3), (0, 3)),
        (lambda x: x.narrow(0, 0, 0), lambda t: t.narrow(0, 0, 0), (0, 2)),
        (lambda x: x.swapdims(0, -1), lambda t: t.swapdims(0, -1), ()),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_d_and_size_zero(ours: Any, theirs: Any, shape: Any, dtype: Any) -> None:
    _compare(np.random.default_rng(3).standard_normal(shape).astype(dtype), ours, theirs)


def test_integer_and_bool_inputs_match_and_carry_no_gradient() -> None:
    ints = np.arange(12, dtype=np.int32).reshape(3, 4)
    x, t = nb.tensor(ints), torch.tensor(ints)
    for ours, theirs in [
        (x.trace(), t.trace()),
        (x.tril(1), t.tril(1)),
        (x.diag(), t.diag()),
        (x[0].diag(1), t[0].diag(1)),
        (x.flip(1), t.flip(1)),
        (x.roll(1, 1), t.roll(1, 1)),
        (x.sum_to_size(1, 4), t.sum_to_size(1, 4)),
        (nb.tensor(ints > 4).triu(), torch.tensor(ints > 4).triu()),
        (nb.tensor(ints > 4)[0].diag(), torch.tensor(ints > 4)[0].diag()),
    ]:
        assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert not ours.requires_grad
    y = nb.tensor(np.ones(3, np.float32), requires_grad=True).type_as(x)
    assert y.dtype == np.int32 and not y.requires_grad


def test_tril_gradient_is_a_select() -> None:
    x2 = nb.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    # a non-finite g above the diagonal would leak nan through a multiply by a 0/1 mask
    x2.tril().backward(nb.tensor([[1.0, np.inf], [1.0, 1.0]]))
    assert x2.grad is not None
    np.testing.assert_array_equal(x2.grad, [[1.0, 0.0], [1.0, 1.0]])


# ----- views and copies as in PyTorch ---------------------------------------------------------
def test_views_write_through_and_copies_do_not() -> None:
    data = np.arange(12.0).reshape(3, 4)
    for view in (
        lambda x: x.diagonal(),
        lambda x: x.narrow(1, 1, 2),
        lambda x: x.unbind(0)[1],
        lambda x: x.movedim(0, 1),
        lambda x: x.view_as(x.flatten()),
    ):
        x, t = nb.tensor(data.copy()), torch.tensor(data.copy())
        with nb.no_grad():
            view(x).fill_(-1.0)
        view(t).fill_(-1.0)
        np.testing.assert_array_equal(x.numpy(), t.numpy())
        assert x._version == 1
    for copy in (
        lambda x: x.flip(0),
        lambda x: x.roll(1),
        lambda x: x.tile(()),
        lambda x: x.diag(),
        lambda x: x.tril(),
        lambda x: x.new_tensor(x),
    ):
        x = nb.tensor(data.copy())
        copy(x).fill_(-1.0)
        np.testing.assert_array_equal(x.numpy(), data)


def test_diagonal_of_a_read_only_tensor_is_read_only() -> None:
    data = np.eye(3)
    data.flags.writeable = False
    d = nb.as_tensor(data).diagonal()
    with pytest.raises(ValueError, match="read-only"):
        d.fill_(2.0)


# ----- new_* ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
def test_new_tensors_take_this_dtype(dtype: Any) -> None:
    x, t = nb.tensor(np.ones((2, 2), dtype)), torch.tensor(np.ones((2, 2), dtype))
    for ours, theirs in [
        (x.new_zeros(2, 3), t.new_zeros(2, 3)),
        (x.new_zeros((2, 3)), t.new_zeros((2, 3))),
        (x.new_ones([3]), t.new_ones([3])),
        (x.new_ones(()), t.new_ones(())),
        (x.new_full((2,), 2.7), t.new_full((2,), 2.7)),
        (x.new_full([], True), t.new_full([], True)),
        (x.new_tensor([1.5, 0.0]), t.new_tensor([1.5, 0.0])),
        (x.new_tensor(np.arange(3)), t.new_tensor(np.arange(3))),
        (x.new_zeros(2, dtype=np.int64), t.new_zeros(2, dtype=torch.int64)),
        (x.new_empty(0, 4), t.new_empty(0, 4)),
        (x.new_empty((2, 1), device="cpu"), t.new_empty((2, 1), device="cpu")),
    ]:
        assert ours.shape == tuple(theirs.shape)
        assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
        assert not ours.requires_grad and ours.is_leaf
    np.testing.assert_array_equal(x.new_full((2,), 2.7).numpy(), t.new_full((2,), 2.7).numpy())
    np.testing.assert_array_equal(x.new_tensor([1.5, 0.0]).numpy(), t.new_tensor([1.5, 0.0]))


def test_new_tensors_flags_and_errors() -> None:
    x = nb.tensor(np.ones(3, np.float64), requires_grad=True)
    y = x.new_zeros(2, requires_grad=True)
    assert y.requires_grad and y.is_leaf and y.dtype == np.float64
    copy = x.new_tensor(x)
    assert not copy.requires_grad and not np.may_share_memory(copy.data, x.data)
    with pytest.raises(DTypeError, match="floating point"):
        x.new_zeros(2, dtype=np.int64, requires_grad=True)
    with pytest.raises(ValueError, match=r"new_zeros: .*negative dimension -1: \[-1\]"):
        x.new_zeros(-1)
    with pytest.raises(TypeError, match=r"new_full.*must be a tuple of ints"):
        x.new_full(2, 1.0)
    with pytest.raises(TypeError, match=r"new_ones.*tuple of ints"):
        x.new_ones(2.5)
    with pytest.raises(DeviceError, match="CPU only"):
        x.new_ones(2, device="cuda")


# ----- memory layout ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.bool_])
def test_stride_element_size_nbytes_match_pytorch(dtype: Any) -> None:
    data = np.zeros((2, 3, 4), dtype)
    x, t = nb.tensor(data), torch.tensor(data)
    for ours, theirs in [
        (x, t),
        (x.permute(2, 0, 1), t.permute(2, 0, 1)),
        (x[:, 1:, ::2], t[:, 1:, ::2]),
        (x[0, :1].expand(5, 1, 4), t[0, :1].expand(5, 1, 4)),
        (x.diagonal(0, 1, 2), t.diagonal(0, 1, 2)),
        (x[0, 0, 0], t[0, 0, 0]),
        (x.new_zeros(0, 3), t.new_zeros(0, 3)),
    ]:
        for d in range(-ours.ndim, ours.ndim):  # (a step along a dim of length 1 is not taken)
            assert ours.shape[d] == 1 or ours.stride(d) == theirs.stride(d) == ours.stride()[d]
        assert ours.element_size() == ours.itemsize == theirs.element_size() == theirs.itemsize
        assert ours.nbytes == theirs.nbytes
    # NumPy layouts PyTorch cannot hold: described as they are
    assert nb.tensor(np.asfortranarray(data)).stride() == (1, 2, 6)
    assert nb.as_tensor(data[::-1]).stride() == (-12, 4, 1)
    with pytest.raises(IndexError, match="stride: dimension out of range"):
        x.stride(3)
    with pytest.raises(IndexError, match="0-d"):
        x[0, 0, 0].stride(0)


# ----- in-place shape changes --------------------------------------------------------------------
def test_in_place_shape_changes_match_pytorch() -> None:
    data = np.arange(6.0).reshape(2, 1, 3)
    x, t = nb.tensor(data.copy()), torch.tensor(data.copy())
    for ours, theirs in [
        (lambda a: a.squeeze_(1), lambda a: a.squeeze_(1)),
        (lambda a: a.unsqueeze_(-1), lambda a: a.unsqueeze_(-1)),
        (lambda a: a.squeeze_(), lambda a: a.squeeze_()),
        (lambda a: a.t_(), lambda a: a.t_()),
        (lambda a: a.unsqueeze_(0), lambda a: a.unsqueeze_(0)),
    ]:
        assert ours(x) is x
        theirs(t)
        assert x.shape == tuple(t.shape) and x._version == t._version
        np.testing.assert_array_equal(x.numpy(), t.numpy())
    assert np.shares_memory(x.data, x.data)
    with pytest.raises(ShapeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        nb.zeros(1, 2, 3).t_()


def test_in_place_shape_change_is_recorded() -> None:
    data = np.random.default_rng(4).standard_normal((3, 1))
    x, tx = nb.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    w = np.random.default_rng(5).standard_normal((3, 2))
    y, ty = x * 2, tx * 2
    y.squeeze_(1).unsqueeze_(0)
    ty.squeeze_(1).unsqueeze_(0)
    assert y.shape == tuple(ty.shape) == (1, 3)
    (y.t_() * nb.tensor(w)).sum().backward()
    (ty.t_() * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())
    # a leaf that requires grad is refused while recording, as PyTorch
    with pytest.raises(GraphError, match="unsqueeze_: a leaf tensor that requires grad"):
        nb.tensor(data, requires_grad=True).unsqueeze_(0)
    # an op that saved the tensor refuses to backward after the change, as PyTorch
    a = nb.tensor(data, requires_grad=True).exp()
    a.unsqueeze_(0)
    with pytest.raises(GraphError, match="modified by an inplace operation"):
        a.sum().backward()
    ta = torch.tensor(data, requires_grad=True).exp()
    ta.unsqueeze_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ta.sum().backward()


# ----- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: x.flip(0, 0), ValueError, "flip: dim 0 appears multiple times"),
        (lambda x: x.flip(2), IndexError, "flip: dimension out of range"),
        (lambda x: L.flip(x, 0), TypeError, "flip.*tuple of ints"),
        (lambda x: x[0].fliplr(), ShapeError, r"fliplr: input must be >= 2-d, got x of shape \(3,\)"),
        (lambda x: x[0, 0].flipud(), ShapeError, "flipud: input must be >= 1-d"),
        (lambda x: x.roll((1, 2), 0), ValueError, "roll: shifts and dimensions must align"),
        (lambda x: x.roll((1, 2)), ValueError, "shifts: 2, dims: 0"),
        (lambda x: x.roll([]), ValueError, "roll: `shifts` required"),
        (lambda x: x[0, 0].roll(1, 0), IndexError, "roll: dimension specified as 0 but x is 0-d"),
        (lambda x: x.unbind(2), IndexError, "unbind: dimension out of range"),
        (lambda x: x[0, 0].unbind(), IndexError, "unbind.*0-d"),
        (lambda x: x.narrow(1, 2, 2), ShapeError, r"narrow: start \(2\) \+ length \(2\) exceeds dimension size \(3\)"),
        (lambda x: x.narrow(1, -4, 1), IndexError, r"narrow: start out of range \(expected to be in range of \[-3, 3\], but got -4\)"),
        (lambda x: x.narrow(1, 0, -1), ValueError, "length must be non-negative"),
        (lambda x: x[0, 0].narrow(0, 0, 1), ShapeError, "narrow.*0-dim"),
        (lambda x: x.movedim((0, 1), (1,)), ShapeError, "movedim: Invalid source or destination"),
        (lambda x: x.movedim((0, 0), (0, 1)), ValueError, r"movedim: repeated dim in `source` \(\[0, 0\]\)"),
        (lambda x: x.movedim((0, 1), (1, 1)), ValueError, "repeated dim in `destination`"),
        (lambda x: x.movedim(2, 0), IndexError, "movedim: dimension out of range"),
        (lambda x: x.tile(-1), ValueError, "tile: negative repetition"),
        (lambda x: L.tile(x, 2), TypeError, "tile.*tuple of ints"),
        (lambda x: x[0].tril(), ShapeError, r"tril: input tensor must have at least 2 dimensions, got x of shape \(3,\)"),
        (lambda x: x[0, 0].triu(), ShapeError, "triu: input tensor must have at least 2"),
        (lambda x: x[None].diag(), ShapeError, r"diag\(\): Supports 1D or 2D tensors. Got 3D"),
        (lambda x: x[0, 0].diag(), ShapeError, "Got 0D"),
        (lambda x: x.diagonal(0, 1, -1), ValueError, "diagonal: diagonal dimensions cannot be identical 1, -1"),
        (lambda x: x[0].diagonal(), IndexError, "diagonal: dimension out of range"),
        (lambda x: x[0].trace(), ShapeError, "trace: expected a matrix, but got tensor with dim 1"),
        (lambda x: (x > 0).trace(), DTypeError, "trace: not implemented for dtype bool"),
        (lambda x: x.sum_to_size(3, 5), ShapeError, r"sum_to_size: size \[3, 5\] is not expandable to the shape \[2, 3\]"),
        (lambda x: x.sum_to_size(2, 1, 3), ShapeError, "not expandable"),
        (lambda x: x.expand_as(nb.zeros(3)), ShapeError, r"expand_as: cannot expand x of shape \(2, 3\) to the shape \(3,\)"),
        (lambda x: x.view_as(nb.zeros(5)), ShapeError, r"view_as: cannot reshape x of shape \(2, 3\) \(6 elements\) to the shape \(5,\)"),
    ],
)  # fmt: skip
def test_errors_name_the_op_and_shapes(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as caught:
        call(nb.tensor(np.ones((2, 3))))
    assert "\n" not in str(caught.value)


def test_namespace_functions_are_listed() -> None:
    for name in L.__all__:
        assert callable(getattr(L, name))
        assert hasattr(torch, name), name
