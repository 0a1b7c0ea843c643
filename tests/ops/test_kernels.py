"""Every registered kernel against its op's plain rule, bitwise, on every input kind.

The kernel registry (:mod:`nabla.autograd.kernels`) holds fast versions of some ops' rules: a
backward in fewer passes, one allowed to write into the upstream gradient, forward and backward
fixed to one signature (what ``nb.compile`` replays), a forward written in place. Each promises
the bitwise result of the op's own ``forward``/``backward`` (the plain rule, the one printed and
differentiated at higher order). This table holds every kernel to it on the conformance
matrix's input kinds — contiguous, broadcast (zero strides, read-only), strided, Fortran order,
negative strides, read-only, 0-d and size-0 — in float32 and float64. A kernel registered for an
op without a case here fails ``test_every_kernel_has_a_case``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from nabla.autograd.kernels import KERNELS, Spec, kernels_of
from nabla.ops.conv import Conv, geometry
from nabla.ops.elementwise import Relu, Sigmoid, Tanh
from nabla.ops.linalg import Linear
from nabla.ops.loss import CrossEntropy
from nabla.ops.namespace import ARRAY_OPS
from nabla.ops.pooling import MaxPool

KINDS = ("contiguous", "broadcast", "strided", "fortran", "negative", "readonly", "0-d", "size-0")
DTYPES = (np.float32, np.float64)


@dataclass(frozen=True)
class Case:
    """Inputs of one op: float arrays of ``shapes`` (by kind), then ``extra(rng, shapes)``."""

    shapes: tuple[tuple[int, ...], ...]
    zero_d: tuple[tuple[int, ...], ...] | None
    size_0: tuple[tuple[int, ...], ...] | None
    params: dict[str, Any] = field(default_factory=dict)
    extra: Callable[[Any, tuple[tuple[int, ...], ...]], list[Any]] | None = None
    scale: float = 3.0


def _class_indices(rng: Any, shapes: tuple[tuple[int, ...], ...]) -> list[Any]:
    n, c = shapes[0]
    return [rng.integers(0, c, n)]


_POOL = geometry("max_pool2d", (7, 6), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), True, -np.inf)
_CONV = geometry("conv2d", (7, 6), (3, 2), (1, 1), ((1, 2), (2, 1)), (2, 1))
_CE = {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}
CASES: dict[type, Case] = {
    Relu: Case(((6, 5),), ((),), ((0, 5),)),
    Tanh: Case(((6, 5),), ((),), ((0, 5),)),
    Sigmoid: Case(((6, 5),), ((),), ((0, 5),), scale=20.0),  # both tails
    Linear: Case(((6, 4), (3, 4), (3,)), None, ((0, 4), (3, 4), (3,))),
    CrossEntropy: Case(((6, 4),), None, None, params=_CE, extra=_class_indices),
    # overlapping 3×3 windows, stride 2, padding and ceil mode: pixels in up to four patches
    MaxPool: Case(((2, 3, 7, 6),), None, ((0, 3, 7, 6),), params={"geo": _POOL}),
    # stride 1 with uneven padding and dilation, two groups: ∇X on wide rows
    Conv: Case(
        ((2, 4, 7, 6), (6, 2, 3, 2), (6,)),
        None,
        ((0, 4, 7, 6), (6, 2, 3, 2), (6,)),
        params={"geo": _CONV, "groups": 2},
    ),
}
# the sizes at which the kernels switch method (a bitwise select from 1024 elements)
LARGE = {Relu: ((40, 40),), Tanh: ((40, 40),), Sigmoid: ((40, 40),)}


def _layout(a: np.ndarray, kind: str) -> np.ndarray:
    """``a``'s values in the memory layout of ``kind``."""
    if kind == "broadcast" and a.ndim:
        return np.broadcast_to(a[:1], a.shape) if a.shape[0] else a
    if kind == "strided" and a.ndim:
        wide = np.repeat(a, 2, axis=-1)
        return wide[..., ::2]
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "negative" and a.ndim:
        return np.ascontiguousarray(a[::-1])[::-1]
    if kind == "readonly":
        a = a.copy()
        a.flags.writeable = False
    return a


def _inputs(op: type, kind: str, dtype: Any, rng: Any, large: bool = False) -> list[Any] | None:
    case = CASES[op]
    shapes = {"0-d": case.zero_d, "size-0": case.size_0}.get(kind, case.shapes)
    if large and op in LARGE:
        shapes = LARGE[op]
    if shapes is None:
        return None
    arrays = []
    for shape in shapes:
        a = (rng.standard_normal(shape) * case.scale).astype(dtype)
        if a.size >= 2:
            a.reshape(-1)[:2] = [0.0, -0.0]  # the kinks
        arrays.append(_layout(a, kind))
    if case.extra is not None:
        arrays += case.extra(rng, shapes)
    return arrays


def _plain(op: type, arrays: list[Any], needs: tuple[bool, ...], g: Any) -> tuple[Any, Any]:
    """The op's own forward and backward on arrays."""
    fn = op.__new__(op)
    fn.needs_grad = needs
    out = np.asarray(fn.forward(*arrays, **CASES[op].params))
    args = [*arrays, out] if op.needs_output else arrays
    return out, fn.backward(g, ARRAY_OPS, *args)


def _bits(a: Any) -> Any:
    a = np.asarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.kind == "f" else a


def _assert_same(got: Any, expected: Any, what: str) -> None:
    assert got is not None and expected is not None, what
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype, what
    np.testing.assert_array_equal(_bits(got), _bits(expected), what)


def _needs(arrays: list[Any]) -> tuple[bool, ...]:
    return tuple(a.dtype.kind == "f" for a in arrays)


def test_every_kernel_has_a_case() -> None:
    assert set(KERNELS) <= set(CASES), set(KERNELS) - set(CASES)


PARAMS = [
    pytest.param(op, kind, dtype, large, id=f"{op.__name__}-{kind}-{np.dtype(dtype)}-{large}")
    for op in CASES
    for kind in KINDS
    for dtype in DTYPES
    for large in ((False, True) if op in LARGE else (False,))
]


@pytest.mark.parametrize(("op", "kind", "dtype", "large"), PARAMS)
def test_backward_kernels_equal_the_plain_rule(op, kind, dtype, large, rng) -> None:  # type: ignore[no-untyped-def]
    kernels = kernels_of(op)
    arrays = _inputs(op, kind, dtype, rng, large)
    if arrays is None or (kernels.backward is None and kernels.backward_into is None):
        pytest.skip("no such form or no backward kernel")
    needs = _needs(arrays)
    out = _plain_forward(op, arrays)
    g = _layout(rng.standard_normal(out.shape).astype(out.dtype), kind)
    _, expected = _plain(op, arrays, needs, g)
    fn = op.__new__(op)
    fn.needs_grad = needs
    fn.forward(*arrays, **CASES[op].params)  # what the op keeps for backward (pooling's winners)
    args = [*arrays, out] if op.needs_output else arrays
    g_before = np.array(g)
    if kernels.backward is not None:
        got_all = kernels.backward(fn, g, *args)
        if op is Conv:
            _assert_conv_grads(fn, got_all, expected, g, arrays, kind)
        else:
            for got, want in zip(got_all, expected):
                _assert_same(got, want, f"{op.__name__}.backward kernel, {kind}")
        np.testing.assert_array_equal(g, g_before)  # not written
    if kernels.backward_into is not None:
        for order in "CF":  # the engine hands it only gradients it owns: fresh and writeable
            owned = np.array(g, order=order)
            for got, want in zip(kernels.backward_into(fn, owned, *args), expected):
                _assert_same(got, want, f"{op.__name__}.backward_into kernel, {kind}, {order}")


def _plain_forward(op: type, arrays: list[Any]) -> Any:
    fn = op.__new__(op)
    fn.needs_grad = _needs(arrays)
    return np.asarray(fn.forward(*arrays, **CASES[op].params))


@pytest.mark.parametrize(("op", "kind", "dtype", "large"), PARAMS)
def test_specialized_kernels_equal_the_plain_rule(op, kind, dtype, large, rng) -> None:  # type: ignore[no-untyped-def]
    specialize = kernels_of(op).specialize
    arrays = _inputs(op, kind, dtype, rng, large)
    if arrays is None or specialize is None:
        pytest.skip("no such form or no specialize kernel")
    for needs in {_needs(arrays), (False, *_needs(arrays)[1:])}:
        if not any(needs):
            continue
        spec = Spec(
            CASES[op].params,
            tuple(a.shape for a in arrays),
            tuple(a.dtype for a in arrays),
            needs,
        )
        special = specialize(spec)
        if special is None:  # declined: the compiler uses the plain rule, nothing to check
            continue
        out, saved = special.forward(*arrays)
        g = rng.standard_normal(np.shape(out)).astype(np.asarray(out).dtype)
        expected_out, expected = _plain(op, arrays, needs, g)
        _assert_same(out, expected_out, f"{op.__name__} specialized forward, {kind}")
        g_before = g.copy()
        grads = special.backward(g, saved)
        np.testing.assert_array_equal(g, g_before)  # not written
        for got, want, need, a in zip(grads, expected, needs, arrays):
            if need:
                _assert_same(got, want, f"{op.__name__} specialized backward, {kind}")
                assert got is not g and got.base is None and got.flags.writeable  # fresh
                assert got.shape == a.shape and got.dtype == a.dtype
        if special.backward_in_place is not None:
            owned = g.copy()
            for got, want, need in zip(special.backward_in_place(owned, saved), expected, needs):
                if need:
                    _assert_same(got, want, f"{op.__name__} in-place backward, {kind}")


@pytest.mark.parametrize(("op", "kind", "dtype", "large"), PARAMS)
def test_in_place_forward_kernels_equal_the_plain_forward(op, kind, dtype, large, rng) -> None:  # type: ignore[no-untyped-def]
    in_place = kernels_of(op).forward_in_place
    arrays = _inputs(op, kind, dtype, rng, large)
    if arrays is None or in_place is None:
        pytest.skip("no such form or no in-place kernel")
    expected = _plain_forward(op, arrays)
    z = np.array(arrays[0])  # what the compiler hands it: a fresh array nothing else reads
    in_place(z)
    _assert_same(z, expected, f"{op.__name__} in-place forward, {kind}")


def test_fresh_output_kernels_make_fresh_arrays(rng) -> None:  # type: ignore[no-untyped-def]
    for op, kernels in KERNELS.items():
        if not kernels.fresh_output:
            continue
        for kind in KINDS:
            arrays = _inputs(op, kind, np.float32, rng)
            if arrays is None:
                continue
            out = _plain_forward(op, arrays)
            assert out.base is None and out.flags.writeable, (op.__name__, kind)
            assert not any(np.may_share_memory(out, a) for a in arrays), (op.__name__, kind)


def test_cross_entropy_specialized_takes_the_plain_path_for_ignored_targets(rng) -> None:  # type: ignore[no-untyped-def]
    x = rng.standard_normal((6, 4)).astype(np.float32)
    for y, params in (
        (np.array([0, 3, 1, 2, 1, 0]), dict(_CE, ignore_index=1)),  # rows 2 and 4 ignored
        (np.array([0, 3, 1, 2, 1, -100]), _CE),  # the default ignore_index, below the range
    ):
        spec = Spec(params, (x.shape, y.shape), (x.dtype, y.dtype), (True, False))
        special = kernels_of(CrossEntropy).specialize(spec)
        out, saved = special.forward(x, y)
        fn = CrossEntropy.__new__(CrossEntropy)
        fn.needs_grad = (True, False)
        expected_out = fn.forward(x, y, **params)
        g = np.asarray(1.0, dtype=np.float32)
        _assert_same(out, expected_out, "forward")
        _assert_same(special.backward(g, saved)[0], fn.backward(g, ARRAY_OPS, x, y)[0], "grad")


def test_cross_entropy_specialized_reports_out_of_range_targets(rng) -> None:  # type: ignore[no-untyped-def]
    spec = Spec(_CE, ((4, 3), (4,)), (np.dtype(np.float32), np.dtype(np.int64)), (True, False))
    special = kernels_of(CrossEntropy).specialize(spec)
    assert special is not None
    x = rng.standard_normal((4, 3)).astype(np.float32)
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        special.forward(x, np.array([0, 1, 2, 3]))


def test_linear_specialize_declines_what_it_does_not_cover() -> None:
    f32 = np.dtype(np.float32)
    specialize = kernels_of(Linear).specialize
    assert specialize is not None
    assert specialize(Spec({}, ((2, 3, 4), (5, 4), (5,)), (f32,) * 3, (True,) * 3)) is None
    assert specialize(Spec({}, ((3, 4), (5, 4)), (f32, np.dtype(np.float64)), (True,) * 2)) is None
    assert specialize(Spec({}, ((3, 4), (5, 4)), (np.dtype(np.int64),) * 2, (False,) * 2)) is None


@pytest.mark.parametrize(
    ("n", "n_in", "n_out"),
    [(16, 4, 3), (1, 784, 10), (32, 784, 256), (8, 1, 5), (128, 64, 64), (3, 7, 1)],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_specialized_on_the_shapes_where_it_changes_method(
    n, n_in, n_out, dtype, rng
) -> None:  # type: ignore[no-untyped-def]
    arrays = [
        rng.standard_normal((n, n_in)).astype(dtype),
        rng.standard_normal((n_out, n_in)).astype(dtype),
        rng.standard_normal(n_out).astype(dtype),
    ]
    spec = Spec({}, tuple(a.shape for a in arrays), tuple(a.dtype for a in arrays), (True,) * 3)
    special = kernels_of(Linear).specialize(spec)
    out, saved = special.forward(*arrays)
    g = rng.standard_normal(out.shape).astype(dtype)
    expected_out, expected = _plain(Linear, arrays, (True,) * 3, g)
    _assert_same(out, expected_out, "forward")
    for got, want in zip(special.backward(g, saved), expected):
        _assert_same(got, want, "backward")


_TILES = geometry("max_pool2d", (7, 6), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1), False, -np.inf)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "0-d"])
def test_max_pool_kernel_on_tiling_patches_equals_the_plain_rule(kind, dtype, rng) -> None:  # type: ignore[no-untyped-def]
    """The second form of MaxPool's kernel: 2×2 windows, stride 2 (a scatter; the odd last
    row is in no window and gets 0), ties and -0.0 included."""
    shape = (0, 3, 7, 6) if kind == "size-0" else (2, 3, 7, 6)
    a = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # many ties
    x = _layout(a, kind)
    fn = MaxPool.__new__(MaxPool)
    fn.needs_grad = (True,)
    out = fn.forward(x, geo=_TILES)
    g = rng.standard_normal(out.shape).astype(dtype)
    if g.size:
        g.reshape(-1)[:2] = [0.0, -0.0]
    g = _layout(g, kind)
    (expected,) = fn.backward(g, ARRAY_OPS, x)
    (got,) = kernels_of(MaxPool).backward(fn, g, x)  # type: ignore[misc]
    _assert_same(got, expected, f"MaxPool tiling kernel, {kind}")


# stride-1 convolutions where the tall layout's product and runs are long (BLAS blocks them):
# LeNet-5's second layer, padding with dilation, groups, one spatial axis
_CONV_SHAPES = [
    ((16, 6, 14, 14), (16, 6, 5, 5), ((0, 0), (0, 0)), (1, 1), 1),
    ((8, 4, 12, 9), (8, 2, 3, 3), ((2, 1), (1, 3)), (2, 1), 2),
    ((5, 3, 40), (7, 3, 4), ((3, 2),), (3,), 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("0-d", "size-0")])
@pytest.mark.parametrize("case", range(len(_CONV_SHAPES)))
def test_conv_kernel_on_large_calls_equals_the_plain_rule(case, kind, dtype, rng) -> None:  # type: ignore[no-untyped-def]
    x_shape, w_shape, padding, dilation, groups = _CONV_SHAPES[case]
    spatial = len(x_shape) - 2
    geo = geometry("conv", x_shape[2:], w_shape[2:], (1,) * spatial, padding, dilation)
    x, w, b = (
        _layout(rng.standard_normal(s).astype(dtype), kind)
        for s in (x_shape, w_shape, (w_shape[0],))
    )
    for needs in ((True, True, True), (True, False, False), (True, True, False)):
        fn = Conv.__new__(Conv)
        fn.needs_grad = needs
        out = fn.forward(x, w, b, geo=geo, groups=groups)
        g = _layout(rng.standard_normal(out.shape).astype(dtype), kind)
        expected = fn.backward(g, ARRAY_OPS, x, w, b)
        got = kernels_of(Conv).backward(fn, g, x, w, b)  # type: ignore[misc]
        for a, e, need in zip(got, expected, needs, strict=True):
            assert (a is None) == (e is None) == (not need)
        _assert_conv_grads(fn, got, expected, g, [x, w, b], f"case {case}, {kind}, {needs}")


def _assert_conv_grads(  # type: ignore[no-untyped-def]
    fn, got, expected, g, arrays, what
) -> None:
    """Conv's kernel against its plain rule. ∇W and ∇b are the same code: bitwise. ∇X sums the
    same products in the same order, except that BLAS may add a dot product's O terms
    (∇P = G W) in another order on the tall layout than on per-sample matrices (its tail
    columns use other microkernels), and the K adds of col2im then round those slightly
    different entries: a pixel of ∇X may differ by (O + K)·ε·Σ|w g|, the magnitudes summed by
    the plain rule itself on |G| and |W|."""
    for a, e in zip(got[1:], expected[1:]):
        if e is not None:
            _assert_same(a, e, f"Conv kernel ∇W/∇b, {what}")
    if expected[0] is None:
        return
    x, w = arrays[0], arrays[1]
    assert got[0].shape == expected[0].shape and got[0].dtype == expected[0].dtype, what
    needs = fn.needs_grad
    fn.needs_grad = (True, False, False)
    try:
        (magnitude, *_) = fn.backward(np.abs(g), ARRAY_OPS, x, np.abs(w))
    finally:
        fn.needs_grad = needs
    terms = w.shape[0] // fn.groups + math.prod(fn.geo.kernel)  # a dot product's, then adds
    bound = terms * np.finfo(got[0].dtype).eps * magnitude
    assert np.all(np.abs(got[0] - expected[0]) <= bound), what
