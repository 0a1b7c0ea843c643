"""Random draws and creation/stacking helpers of PyTorch's namespace: ``nb.randn_like``,
``nb.randperm``, ``nb.normal``, ``nb.bernoulli``, ``nb.multinomial``, ``nb.empty``, the stacking
family (``nb.hstack``, ``vstack``, ``dstack``, ``column_stack``, ``meshgrid``, ``atleast_*d``,
``broadcast_tensors``, ``tensor_split``) and ``is_tensor``/``numel``.

Random draws come from nabla's global generator (``nb.manual_seed``) unless a NumPy
``generator=`` is passed; they carry no gradient. The stacking functions compose ``cat``,
``stack``, ``reshape`` and ``broadcast_to``, so gradients flow through them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla.autograd.hooks import note_unreplayable
from nabla.creation import _dtype, _shape
from nabla.creation import as_tensor as _t
from nabla.device import check_device
from nabla.errors import DTypeError, ShapeError
from nabla.functional_shape import concatenate
from nabla.generator import default_generator
from nabla.tensor import Tensor
from nabla.tensor_base import Size

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "bernoulli",
    "broadcast_shapes",
    "broadcast_tensors",
    "column_stack",
    "dstack",
    "empty",
    "empty_like",
    "hstack",
    "is_tensor",
    "meshgrid",
    "multinomial",
    "normal",
    "numel",
    "rand_like",
    "randint_like",
    "randn_like",
    "randperm",
    "tensor_split",
    "vstack",
]


def _rng(op: str, generator: np.random.Generator | None) -> np.random.Generator:
    note_unreplayable(f"nb.{op} inside a compiled step")
    return generator or default_generator()


def _float_like(op: str, x: Any, dtype: Any) -> np.dtype[Any]:
    out = np.dtype(dtype) if dtype is not None else _t(x).dtype
    if out.kind not in "fc":
        raise DTypeError(f"{op}: needs a floating dtype, got {out} (PyTorch: not implemented)")
    return out


# ----- creation ---------------------------------------------------------------------------------
def empty(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    """An uninitialised tensor of ``size`` (nabla fills it with zeros) (``torch.empty``)."""
    check_device(device)
    return Tensor(np.zeros(_shape(size), _dtype(dtype)), requires_grad=requires_grad)


def empty_like(
    x: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    """An uninitialised tensor shaped as ``x`` (zeros) (``torch.empty_like``)."""
    check_device(device)
    data = np.zeros(_t(x).shape, _t(x).dtype if dtype is None else np.dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def randn_like(
    x: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
    **_: Any,
) -> Tensor:
    """Standard normal samples shaped as ``x``, of its (floating) dtype (``torch.randn_like``)."""
    check_device(device)
    out = _float_like("randn_like", x, dtype)
    gen = _rng("randn_like", generator)
    data = gen.standard_normal(_t(x).shape).astype(out)
    return Tensor(data, requires_grad=requires_grad)


def rand_like(
    x: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
    **_: Any,
) -> Tensor:
    """Uniform samples on [0, 1) shaped as ``x``, of its (floating) dtype (``torch.rand_like``)."""
    check_device(device)
    out = _float_like("rand_like", x, dtype)
    data = _rng("rand_like", generator).random(_t(x).shape).astype(out)
    return Tensor(data, requires_grad=requires_grad)


def randint_like(
    x: Any,
    low: int,
    high: int | None = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: np.random.Generator | None = None,
    **_: Any,
) -> Tensor:
    """Integers in [low, high) shaped as ``x``, of its dtype (``randint_like(x, high)`` draws
    from [0, high)) (``torch.randint_like``)."""
    check_device(device)
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(
            f"randint_like: expects 'low' to be less than 'high', but got low={low} >= high={high}"
        )
    out = _t(x).dtype if dtype is None else np.dtype(dtype)
    draws = _rng("randint_like", generator).integers(low, high, size=_t(x).shape)
    return Tensor(draws.astype(out), requires_grad=requires_grad)


def randperm(
    n: int,
    *,
    generator: np.random.Generator | None = None,
    dtype: Any = np.int64,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    """A random permutation of 0 … n-1 (``torch.randperm``; int64 unless ``dtype``)."""
    check_device(device)
    if n < 0:
        raise ShapeError(f"randperm: n must be non-negative, got {n}")
    perm = _rng("randperm", generator).permutation(int(n))
    return Tensor(perm.astype(np.dtype(dtype)), requires_grad=requires_grad)


def normal(
    mean: Any,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: np.random.Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    """Normal samples of ``mean`` and ``std`` (tensors broadcast together, or floats with
    ``size``) (``torch.normal``; no gradient flows to ``mean`` or ``std``)."""
    check_device(device)
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with float mean and std, size is required")
        shape, out = _shape((size,)), _dtype(dtype)
    else:
        if size is not None:
            raise TypeError("normal: size is only accepted with float mean and std")
        out = np.result_type(*(t.dtype for t in tensors))
        if out.kind not in "fc":
            raise DTypeError(f"normal: needs a floating dtype, got {out}")
        shape = broadcast_shapes(*(t.shape for t in tensors))
    mean_v = mean.data if isinstance(mean, Tensor) else float(mean)
    std_v = std.data if isinstance(std, Tensor) else float(std)
    if np.any(np.asarray(std_v) < 0):
        raise ValueError("normal: expects all elements of std >= 0.0")
    draws = _rng("normal", generator).standard_normal(shape)
    return Tensor((mean_v + std_v * draws).astype(out), requires_grad=requires_grad)


def bernoulli(p: Any, *, generator: np.random.Generator | None = None, **_: Any) -> Tensor:
    """0/1 draws, 1 with probability ``p`` (a floating tensor of probabilities in [0, 1]),
    of ``p``'s dtype (``torch.bernoulli``)."""
    probs = _t(p)
    if probs.dtype.kind not in "fc":
        raise DTypeError(f"bernoulli: needs floating probabilities, got {probs.dtype}")
    if np.any(~((probs.data >= 0) & (probs.data <= 1))):
        raise ValueError("bernoulli: expects all probabilities p in [0, 1]")
    draws = _rng("bernoulli", generator).random(probs.shape) < probs.data
    return Tensor(draws.astype(probs.dtype))


def multinomial(
    x: Any,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """``num_samples`` indices per row of the non-negative weights ``x`` (1-D or 2-D), drawn
    with probability proportional to the weights; without ``replacement`` the indices of a
    row are distinct (``torch.multinomial``; int64)."""
    weights = _t(x)
    if weights.dtype.kind not in "fc":
        raise DTypeError(f"multinomial: only supports floating-point weights, got {weights.dtype}")
    if weights.ndim not in (1, 2):
        raise ShapeError(f"multinomial: weights must be 1 or 2 dim, got shape {weights.shape}")
    if num_samples <= 0:
        raise ValueError(f"multinomial: cannot sample num_samples={num_samples} <= 0 samples")
    n_categories = weights.shape[-1]
    if not replacement and num_samples > n_categories:
        raise ValueError(
            f"multinomial: cannot sample {num_samples} > {n_categories} categories "
            "without replacement"
        )
    rows = np.atleast_2d(weights.data).astype(np.float64)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError("multinomial: weights contain either `inf`, `nan` or element < 0")
    totals = rows.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("multinomial: invalid distribution (sum of weights <= 0)")
    gen = _rng("multinomial", generator)
    if replacement:
        cdf = np.cumsum(rows / totals, axis=1)
        u = gen.random((rows.shape[0], num_samples))
        picks = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        picks = np.minimum(picks, n_categories - 1)
    else:
        # Gumbel-top-k (exponential race): the first k finishers of Exp(w_i) races are a draw
        # without replacement proportional to the weights; zero weights finish last (inf)
        with np.errstate(divide="ignore"):
            times = gen.exponential(size=rows.shape) / rows
        picks = np.argsort(times, axis=1, kind="stable")[:, :num_samples]
    picks = picks.astype(np.int64)
    return Tensor(picks if weights.ndim == 2 else picks[0])


# ----- stacking ---------------------------------------------------------------------------------
def _tensor_args(op: str, tensors: tuple[Any, ...]) -> list[Tensor]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return [_t(t) for t in tensors]


def _atleast(op: str, ndim: int, tensors: tuple[Any, ...]) -> Any:
    out = []
    for t in _tensor_args(op, tensors):
        if t.ndim < ndim:
            if ndim == 3 and t.ndim >= 1:  # (n,) → (1, n, 1), (m, n) → (m, n, 1)
                t = t.reshape(((1,) if t.ndim == 1 else ()) + t.shape + (1,))
            else:
                t = t.reshape((1,) * (ndim - t.ndim) + t.shape)
        out.append(t)
    single = len(tensors) == 1 and not isinstance(tensors[0], (list, tuple))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least one dimension (0-d → shape (1,)) (``torch.atleast_1d``)."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least two dimensions (new leading ones) (``torch.atleast_2d``)."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least three dimensions: (n,) → (1, n, 1), (m, n) → (m, n, 1)
    (``torch.atleast_3d``)."""
    return _atleast("atleast_3d", 3, tensors)


def _nonempty(op: str, tensors: Sequence[Any]) -> list[Tensor]:
    if len(tensors) == 0:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    return [_t(t) for t in tensors]


def hstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate column-wise: along dim 0 for 1-D tensors, else dim 1 (``torch.hstack``)."""
    ts = [atleast_1d(t) for t in _nonempty("hstack", tensors)]
    return concatenate(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate row-wise after ``atleast_2d`` (``torch.vstack``)."""
    return concatenate([atleast_2d(t) for t in _nonempty("vstack", tensors)], 0)


def dstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate depth-wise (dim 2) after ``atleast_3d`` (``torch.dstack``)."""
    return concatenate([atleast_3d(t) for t in _nonempty("dstack", tensors)], 2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate along dim 1, 0-d and 1-d tensors becoming columns (``torch.column_stack``)."""
    ts = _nonempty("column_stack", tensors)
    return concatenate([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in ts], 1)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of 0-d/1-d tensors: output ``i`` varies along dim ``i`` ("ij", the
    default) or with the first two dims swapped ("xy") (``torch.meshgrid``)."""
    ts = _tensor_args("meshgrid", tensors)
    if not ts:
        raise ValueError("meshgrid: expects a non-empty sequence of tensors")
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f'meshgrid: indexing must be one of "xy" or "ij", got {indexing!r}')
    for t in ts:
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape}")
    if len({t.dtype for t in ts}) != 1:
        dtypes = ", ".join(str(t.dtype) for t in ts)
        raise DTypeError(f"meshgrid: expects all tensors to have the same dtype, got {dtypes}")
    swap = indexing == "xy" and len(ts) >= 2
    order = [1, 0, *range(2, len(ts))] if swap else list(range(len(ts)))
    sizes = [ts[i].numel() for i in order]
    grids = []
    for i, t in enumerate(ts):
        axis = order.index(i)
        view = [1] * len(ts)
        view[axis] = sizes[axis]
        grids.append(t.reshape(view).broadcast_to(sizes))
    return tuple(grids)


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape that tensors of ``shapes`` broadcast to (``torch.broadcast_shapes``)."""
    as_tuples = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*as_tuples))
    except ValueError:
        listed = ", ".join(str(s) for s in as_tuples)
        raise ShapeError(f"broadcast_shapes: shapes {listed} do not broadcast") from None


def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    """The tensors broadcast to one shape (``torch.broadcast_tensors``)."""
    ts = _tensor_args("broadcast_tensors", tensors)
    try:
        shape = np.broadcast_shapes(*(t.shape for t in ts))
    except ValueError:
        listed = ", ".join(str(t.shape) for t in ts)
        raise ShapeError(f"broadcast_tensors: shapes {listed} do not broadcast") from None
    return tuple(t.broadcast_to(shape) for t in ts)


def tensor_split(x: Any, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split ``x`` along ``dim`` into ``n`` near-equal parts (an int: the first ``size % n``
    one longer) or at the given indices (a sequence) (``torch.tensor_split``)."""
    x = _t(x)
    if x.ndim == 0:
        raise ShapeError("tensor_split: expected at least a 1-dimensional tensor, got 0 dims")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"tensor_split: dim {dim} out of range for shape {x.shape}")
    dim %= x.ndim
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype.kind not in "iu" or spec.ndim > 1:
            raise DTypeError("tensor_split: a tensor spec must be a 0-d or 1-d integer tensor")
        spec = int(spec.item()) if spec.ndim == 0 else [int(i) for i in spec.data]
    size = x.shape[dim]
    if isinstance(spec, (int, np.integer)):
        if spec <= 0:
            raise ValueError(f"tensor_split: number of sections must be larger than 0, got {spec}")
        part, extra = divmod(size, int(spec))
        bounds = [i * part + min(i, extra) for i in range(int(spec) + 1)]
    else:
        cuts = [int(i) + size if int(i) < 0 else int(i) for i in spec]
        bounds = [0, *cuts, size]
    lead = (slice(None),) * dim
    clamped = [min(max(b, 0), size) for b in bounds]
    return tuple(x[(*lead, slice(a, max(a, b)))] for a, b in itertools.pairwise(clamped))


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a nabla Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(x: Any) -> int:
    """The number of elements of ``x`` (``torch.numel``)."""
    return int(_t(x).numel())
