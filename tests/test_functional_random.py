"""nabla.functional_random and nabla.tensor_random against PyTorch: shapes, dtypes and errors of
the random draws, their moments on large samples, reproducibility under nb.manual_seed, the
stacking helpers' values and gradients, and the in-place rules of the random fills."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla import functional_random as F

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
N = 200_000


def _torch_dtype(dtype: Any) -> Any:
    return torch.from_numpy(np.zeros(0, dtype)).dtype


def _same_meta(got: nb.Tensor, want: Any) -> None:
    assert got.shape == tuple(want.shape)
    assert _torch_dtype(got.dtype) == want.dtype


def _both_raise(ours: Callable[[], Any], theirs: Callable[[], Any], match: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - PyTorch's class differs
        theirs()
    with pytest.raises((ValueError, TypeError, IndexError), match=match):
        ours()


# ----- shapes and dtypes -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (2, 3)])
def test_like_functions_keep_shape_and_dtype(dtype: Any, shape: tuple[int, ...]) -> None:
    data = np.zeros(shape, dtype)
    x, tx = nb.tensor(data), torch.tensor(data)
    _same_meta(F.randn_like(x), torch.randn_like(tx))
    _same_meta(F.rand_like(x), torch.rand_like(tx))
    _same_meta(F.randint_like(x, 5), torch.randint_like(tx, 5))
    _same_meta(F.randint_like(x, 2, 5), torch.randint_like(tx, 2, 5))
    _same_meta(F.empty_like(x), torch.empty_like(tx))
    _same_meta(F.randn_like(x, dtype=np.float64), torch.randn_like(tx, dtype=torch.float64))
    assert F.randn_like(x, requires_grad=True).requires_grad


def test_creation_shapes_dtypes_devices() -> None:
    _same_meta(F.empty(2, 3), torch.empty(2, 3))
    _same_meta(F.empty((2, 3), dtype=np.int32), torch.empty((2, 3), dtype=torch.int32))
    _same_meta(F.randperm(5), torch.randperm(5))
    _same_meta(F.randperm(5, dtype=np.float32), torch.randperm(5, dtype=torch.float32))
    _same_meta(F.randperm(0), torch.randperm(0))
    assert F.empty(2, device="cpu").shape == (2,)
    with pytest.raises(Exception):  # noqa: B017 - nabla's DeviceError
        F.empty(2, device="cuda")
    with pytest.raises(Exception):  # noqa: B017
        F.randn_like(nb.zeros(2), device="cuda")


def test_randperm_is_a_permutation() -> None:
    assert sorted(F.randperm(50).tolist()) == list(range(50))


@pytest.mark.parametrize(
    ("mean", "std", "size"),
    [
        (np.zeros((2, 1)), np.ones(3, np.float32), None),
        (np.zeros((2, 1), np.float32), 1.0, None),
        (0.0, np.ones(3), None),
        (0.0, 1.0, (2, 4)),
        (np.zeros(0), 2.0, None),
    ],
)
def test_normal_shapes_and_dtypes(mean: Any, std: Any, size: Any) -> None:
    def wrap(v: Any, make: Callable[[Any], Any]) -> Any:
        return make(v) if isinstance(v, np.ndarray) else v

    args = () if size is None else (size,)
    got = F.normal(wrap(mean, nb.tensor), wrap(std, nb.tensor), *args)
    _same_meta(got, torch.normal(wrap(mean, torch.tensor), wrap(std, torch.tensor), *args))
    assert not got.requires_grad


def test_normal_carries_no_gradient() -> None:
    mean = nb.zeros(3, requires_grad=True)
    assert not F.normal(mean, 1.0).requires_grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_bernoulli_and_multinomial_meta(dtype: Any) -> None:
    p = np.array([0.0, 1.0, 0.5], dtype)
    _same_meta(F.bernoulli(nb.tensor(p)), torch.bernoulli(torch.tensor(p)))
    np.testing.assert_array_equal(F.bernoulli(nb.tensor(p)).numpy()[:2], [0.0, 1.0])
    w = np.ones((4, 6), dtype)
    _same_meta(F.multinomial(nb.tensor(w), 3), torch.multinomial(torch.tensor(w), 3))
    _same_meta(
        F.multinomial(nb.tensor(w[0]), 9, True), torch.multinomial(torch.tensor(w[0]), 9, True)
    )


# ----- distributions -------------------------------------------------------------------------------
def _check_moments(sample: np.ndarray, mean: float, std: float) -> None:
    sample = sample.astype(np.float64).ravel()
    n = sample.size
    assert abs(sample.mean() - mean) < 6 * std / np.sqrt(n)
    # the sample variance's standard error is about std² √(2/n) for light tails
    assert abs(sample.std() - std) < 6 * std * np.sqrt(2.0 / n) + 1e-12


def test_random_moments() -> None:
    nb.manual_seed(0)
    _check_moments(F.randn_like(nb.zeros(N)).numpy(), 0.0, 1.0)
    _check_moments(F.rand_like(nb.zeros(N, dtype=np.float64)).numpy(), 0.5, np.sqrt(1 / 12))
    ints = F.randint_like(nb.zeros(N, dtype=np.int64), 3, 9).numpy()
    assert ints.min() == 3 and ints.max() == 8
    _check_moments(ints, 5.5, np.sqrt((6**2 - 1) / 12))
    _check_moments(F.normal(nb.full((N,), 2.0), 3.0).numpy(), 2.0, 3.0)
    _check_moments(F.normal(-1.0, 0.5, (N,)).numpy(), -1.0, 0.5)
    _check_moments(F.bernoulli(nb.full((N,), 0.3)).numpy(), 0.3, np.sqrt(0.3 * 0.7))


def test_in_place_fill_moments() -> None:
    nb.manual_seed(1)
    x = nb.zeros(N, dtype=np.float64)
    _check_moments(x.normal_(2.0, 0.5).numpy(), 2.0, 0.5)
    _check_moments(x.uniform_(-1.0, 3.0).numpy(), 1.0, 4 / np.sqrt(12))
    _check_moments(x.bernoulli_(0.25).numpy(), 0.25, np.sqrt(0.25 * 0.75))
    _check_moments(x.exponential_(4.0).numpy(), 0.25, 0.25)
    drawn = x.random_(2, 7).numpy()
    assert set(np.unique(drawn)) == {2, 3, 4, 5, 6}
    _check_moments(drawn, 4.0, np.sqrt((5**2 - 1) / 12))
    assert set(np.unique(x.random_(3).numpy())) == {0, 1, 2}


@pytest.mark.parametrize(("dtype", "top"), [(np.uint8, 255), (np.bool_, 1), (np.float32, 2**24)])
def test_random_default_range(dtype: Any, top: int) -> None:
    x = nb.zeros(20_000, dtype=dtype).random_()
    assert x.dtype == np.dtype(dtype)
    assert x.numpy().astype(np.float64).min() >= 0
    assert x.numpy().astype(np.float64).max() <= top
    assert x.numpy().astype(np.float64).max() > top / 2


def test_multinomial_with_replacement_frequencies() -> None:
    nb.manual_seed(2)
    w = np.array([1.0, 0.0, 3.0, 4.0])
    draws = F.multinomial(nb.tensor(w), N, replacement=True).numpy()
    freq = np.bincount(draws, minlength=4) / N
    p = w / w.sum()
    assert np.all(np.abs(freq - p) < 6 * np.sqrt(p * (1 - p) / N) + 1e-12)
    assert freq[1] == 0


def test_multinomial_without_replacement() -> None:
    nb.manual_seed(3)
    w = nb.tensor(np.array([[0.0, 1.0, 2.0, 0.0, 5.0], [1.0, 1.0, 1.0, 1.0, 1.0]]))
    for _ in range(200):
        rows = F.multinomial(w, 3).numpy()
        assert sorted(rows[0]) == [1, 2, 4]  # zero weights never drawn while others remain
        assert len(set(rows[1])) == 3
    # the first draw is proportional to the weights
    firsts = np.array([F.multinomial(w[0], 1).item() for _ in range(4000)])
    freq = np.bincount(firsts, minlength=5) / firsts.size
    np.testing.assert_allclose(freq, [0, 1 / 8, 2 / 8, 0, 5 / 8], atol=0.04)


def test_manual_seed_reproduces() -> None:
    def draw() -> list[np.ndarray]:
        nb.manual_seed(123)
        return [
            F.randn_like(nb.zeros(4)).numpy(),
            F.randperm(6).numpy(),
            F.normal(0.0, 1.0, (3,)).numpy(),
            F.multinomial(nb.ones(5), 3).numpy(),
            nb.zeros(3).uniform_().numpy(),
        ]

    for a, b in zip(draw(), draw()):
        np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(5)
    assert F.randperm(4, generator=gen).shape == (4,)


# ----- errors ---------------------------------------------------------------------------------
def test_random_errors_match_torch() -> None:
    ints, tints = nb.zeros(2, dtype=np.int64), torch.zeros(2, dtype=torch.int64)
    _both_raise(lambda: F.randn_like(ints), lambda: torch.randn_like(tints), "randn_like")
    _both_raise(lambda: F.rand_like(ints), lambda: torch.rand_like(tints), "rand_like")
    _both_raise(
        lambda: F.randint_like(nb.zeros(2), 5, 3),
        lambda: torch.randint_like(torch.zeros(2), 5, 3),
        "randint_like",
    )
    _both_raise(lambda: F.randperm(-1), lambda: torch.randperm(-1), "randperm")
    _both_raise(lambda: F.normal(0.0, 1.0), lambda: torch.normal(0.0, 1.0), "normal")
    _both_raise(
        lambda: F.normal(nb.zeros(2), -1.0), lambda: torch.normal(torch.zeros(2), -1.0), "normal"
    )
    _both_raise(
        lambda: F.normal(nb.zeros(2), nb.zeros(3)),
        lambda: torch.normal(torch.zeros(2), torch.zeros(3)),
        "broadcast",
    )
    _both_raise(
        lambda: F.bernoulli(nb.tensor([0.5, 2.0])),
        lambda: torch.bernoulli(torch.tensor([0.5, 2.0])),
        "bernoulli",
    )
    _both_raise(
        lambda: F.bernoulli(nb.tensor([0, 1])),
        lambda: torch.bernoulli(torch.tensor([0, 1])),
        "bernoulli",
    )


@pytest.mark.parametrize(
    ("weights", "n", "replacement"),
    [
        ([1.0, 0.0, 1.0], 4, False),
        ([1.0, -1.0, 1.0], 1, False),
        ([1.0, float("nan")], 1, True),
        ([1.0, float("inf")], 1, True),
        ([0.0, 0.0], 1, True),
        ([1.0, 2.0], 0, True),
        ([[[1.0]]], 1, True),
        (1.0, 1, True),
        ([1, 2], 1, True),
    ],
)
def test_multinomial_errors_match_torch(weights: Any, n: int, replacement: bool) -> None:
    _both_raise(
        lambda: F.multinomial(nb.tensor(weights), n, replacement),
        lambda: torch.multinomial(torch.tensor(weights), n, replacement),
        "multinomial",
    )


def test_in_place_fill_errors_match_torch() -> None:
    ints, tints = nb.zeros(3, dtype=np.int64), torch.zeros(3, dtype=torch.int64)
    _both_raise(lambda: ints.normal_(), lambda: tints.normal_(), "normal_")
    _both_raise(lambda: ints.uniform_(), lambda: tints.uniform_(), "uniform_")
    _both_raise(lambda: ints.exponential_(), lambda: tints.exponential_(), "exponential_")
    x, tx = nb.zeros(3), torch.zeros(3)
    _both_raise(lambda: x.uniform_(2, 1), lambda: tx.uniform_(2, 1), "uniform_")
    _both_raise(lambda: x.normal_(0, -1), lambda: tx.normal_(0, -1), "normal_")
    _both_raise(lambda: x.bernoulli_(2.0), lambda: tx.bernoulli_(2.0), "bernoulli_")
    _both_raise(lambda: x.random_(5, 2), lambda: tx.random_(5, 2), "random_")
    _both_raise(lambda: x.exponential_(0.0), lambda: tx.exponential_(0.0), "exponential_")


# ----- in-place rules --------------------------------------------------------------------------
FILLS: list[tuple[str, tuple[Any, ...]]] = [
    ("normal_", ()),
    ("uniform_", ()),
    ("bernoulli_", ()),
    ("random_", (4,)),
    ("exponential_", ()),
]


@pytest.mark.parametrize(("name", "args"), FILLS)
def test_fills_follow_in_place_rules(name: str, args: tuple[Any, ...]) -> None:
    leaf, tleaf = nb.ones(4, requires_grad=True), torch.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        getattr(tleaf, name)(*args)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        getattr(leaf, name)(*args)
    before = leaf._version
    with nb.no_grad():
        assert getattr(leaf, name)(*args) is leaf
    assert leaf._version == before + 1
    assert leaf.requires_grad
    plain = nb.zeros(2, 3, dtype=np.float64)
    view = plain[0]
    out = getattr(view, name)(*args)
    assert out is view and out.dtype == np.float64 and out.shape == (3,)
    assert plain._version == 1  # the counter is shared with the view
    detached = leaf.detach()
    getattr(detached, name)(*args)
    np.testing.assert_array_equal(leaf.numpy(), detached.numpy())  # same memory


def test_fill_invalidates_saved_values() -> None:
    x = nb.ones(3, requires_grad=True)
    y = x * 1.0
    z = (y * y).sum()
    y.normal_()
    with pytest.raises(Exception, match=r"modified|in place|in-place|version"):
        z.backward()


# ----- stacking: values and gradients -----------------------------------------------------------
def _layouts(data: np.ndarray) -> list[np.ndarray]:
    """Contiguous, Fortran-order, non-contiguous, negative-stride and read-only versions."""
    fortran = np.asfortranarray(data)
    strided = np.repeat(data, 2, axis=-1)[..., ::2] if data.ndim else data
    flipped = data[..., ::-1][..., ::-1] if data.ndim else data
    readonly = data.copy()
    readonly.flags.writeable = False
    return [data, fortran, strided, flipped, readonly]


STACKERS: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
    ("hstack", lambda ts: F.hstack(ts), lambda ts: torch.hstack(ts)),
    ("vstack", lambda ts: F.vstack(ts), lambda ts: torch.vstack(ts)),
    ("dstack", lambda ts: F.dstack(ts), lambda ts: torch.dstack(ts)),
    ("column_stack", lambda ts: F.column_stack(ts), lambda ts: torch.column_stack(ts)),
    ("meshgrid_ij", lambda ts: F.meshgrid(*ts)[0] * 1 + F.meshgrid(*ts)[1] * 2, None),
    ("broadcast", lambda ts: F.broadcast_tensors(*ts)[0] + F.broadcast_tensors(*ts)[1] * 3, None),
]

SHAPE_CASES = [[(), ()], [(3,), (3,)], [(2, 3), (2, 3)], [(0,), (0,)], [(2, 0), (2, 0)]]


def _torch_version(name: str) -> Callable[[list[Any]], Any]:
    if name == "meshgrid_ij":
        return lambda ts: (
            torch.meshgrid(*ts, indexing="ij")[0] + torch.meshgrid(*ts, indexing="ij")[1] * 2
        )
    if name == "broadcast":
        return lambda ts: torch.broadcast_tensors(*ts)[0] + torch.broadcast_tensors(*ts)[1] * 3
    return {n: t for n, _, t in STACKERS}[name]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", SHAPE_CASES)
@pytest.mark.parametrize(("name", "ours", "_t"), STACKERS)
def test_stackers_match_torch(
    dtype: Any, shapes: list[tuple[int, ...]], name: str, ours: Any, _t: Any
) -> None:
    if name == "meshgrid_ij" and len(shapes[0]) > 1:
        shapes = [(3,), (2,)]
    theirs = _torch_version(name)
    rng = np.random.default_rng(0)
    base = [rng.standard_normal(s).astype(dtype) for s in shapes]
    for layout_index in range(5):
        arrays = [_layouts(a)[layout_index] for a in base]
        xs = [nb.from_numpy(a).requires_grad_() for a in arrays]
        txs = [torch.tensor(np.array(a), requires_grad=True) for a in arrays]
        got, want = ours(xs), theirs(txs)
        _same_meta(got, want)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-6)
        w = rng.standard_normal(got.shape).astype(dtype)
        (got * nb.tensor(w)).sum().backward()
        (want * torch.tensor(w)).sum().backward()
        for x, tx in zip(xs, txs):
            np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "name", ["hstack", "vstack", "dstack", "column_stack", "meshgrid_ij", "broadcast"]
)
def test_stackers_gradcheck(name: str) -> None:
    ours = {n: o for n, o, _ in STACKERS}[name]
    shapes = [(3,), (2,)] if name == "meshgrid_ij" else [(2, 3), (2, 3)]
    if name == "broadcast":
        shapes = [(2, 1), (3,)]
    rng = np.random.default_rng(1)
    xs = [nb.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert nb.gradcheck(lambda *ts: ours(list(ts)), *xs)
    assert nb.gradgradcheck(lambda *ts: ours(list(ts)) ** 2, *xs)


def test_mixed_stacking_shapes_match_torch() -> None:
    cases: list[tuple[str, list[tuple[int, ...]]]] = [
        ("column_stack", [(2,), (2, 2), ()]),
        ("hstack", [(), (2,)]),
        ("vstack", [(3,), (2, 3)]),
        ("dstack", [(2, 3), (2, 3, 2)]),
    ]
    for name, shapes in cases:
        if name == "column_stack":
            shapes = [(1,), (1, 2), ()]
        ours = getattr(F, name)
        theirs = getattr(torch, name)
        arrays = [np.random.default_rng(2).standard_normal(s) for s in shapes]
        got = ours([nb.tensor(a) for a in arrays])
        want = theirs([torch.tensor(a) for a in arrays])
        np.testing.assert_allclose(got.numpy(), want.numpy())


def test_meshgrid_indexing_and_errors() -> None:
    a, b = nb.arange(2.0), nb.arange(3.0)
    ta, tb = torch.arange(2.0), torch.arange(3.0)
    for indexing in ("ij", "xy"):
        got = F.meshgrid(a, b, nb.tensor(1.0), indexing=indexing)
        want = torch.meshgrid(ta, tb, torch.tensor(1.0), indexing=indexing)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    got_list = F.meshgrid([a, b])
    assert [g.shape for g in got_list] == [(2, 3), (2, 3)]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.meshgrid(a, b)  # the default ("ij") warns nothing
    _both_raise(
        lambda: F.meshgrid(nb.ones(2, 2)), lambda: torch.meshgrid(torch.ones(2, 2)), "meshgrid"
    )
    _both_raise(
        lambda: F.meshgrid(a, indexing="x"), lambda: torch.meshgrid(ta, indexing="x"), "meshgrid"
    )
    _both_raise(lambda: F.meshgrid(), lambda: torch.meshgrid(), "meshgrid")
    _both_raise(lambda: F.hstack([]), lambda: torch.hstack([]), "hstack")


def test_atleast_and_broadcast_helpers() -> None:
    for shape in [(), (2,), (2, 3), (2, 3, 4), (2, 3, 4, 1)]:
        data = np.zeros(shape)
        for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
            got = getattr(F, name)(nb.tensor(data))
            assert got.shape == tuple(getattr(torch, name)(torch.tensor(data)).shape)
    pair = F.atleast_2d(nb.tensor(1.0), nb.ones(3))
    assert isinstance(pair, tuple) and [p.shape for p in pair] == [(1, 1), (1, 3)]
    assert F.broadcast_shapes((2, 1), (3,)) == tuple(torch.broadcast_shapes((2, 1), (3,)))
    assert F.broadcast_shapes(2, (3, 1)) == tuple(torch.broadcast_shapes(2, (3, 1)))
    assert F.broadcast_shapes() == tuple(torch.broadcast_shapes())
    _both_raise(
        lambda: F.broadcast_shapes((2,), (3,)),
        lambda: torch.broadcast_shapes((2,), (3,)),
        "broadcast",
    )
    _both_raise(
        lambda: F.broadcast_tensors(nb.ones(2), nb.ones(3)),
        lambda: torch.broadcast_tensors(torch.ones(2), torch.ones(3)),
        "broadcast",
    )
    assert F.is_tensor(nb.ones(1)) and not F.is_tensor(np.ones(1))
    assert F.numel(nb.ones(2, 3)) == torch.numel(torch.ones(2, 3))


@pytest.mark.parametrize("spec", [3, 1, 7, 9, [1, 5, 9], [5, 2], (-2,), [], "t0", "t1"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_tensor_split_matches_torch(spec: Any, dim: int) -> None:
    data = np.random.default_rng(4).standard_normal((7, 5))
    x, tx = nb.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours_spec, theirs_spec = spec, spec
    if spec == "t0":
        ours_spec, theirs_spec = nb.tensor(3), torch.tensor(3)
    elif spec == "t1":
        ours_spec, theirs_spec = nb.tensor([1, 4]), torch.tensor([1, 4])
    got = F.tensor_split(x, ours_spec, dim)
    want = torch.tensor_split(tx, theirs_spec, dim)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.detach().numpy())
    weights = [np.random.default_rng(i).standard_normal(g.shape) for i, g in enumerate(got)]
    sum(((g * nb.tensor(wt)).sum() for g, wt in zip(got, weights)), nb.tensor(0.0)).backward()
    sum((w * torch.tensor(wt)).sum() for w, wt in zip(want, weights)).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_tensor_split_errors_match_torch() -> None:
    _both_raise(
        lambda: F.tensor_split(nb.arange(7), 0),
        lambda: torch.tensor_split(torch.arange(7), 0),
        "tensor_split",
    )
    _both_raise(
        lambda: F.tensor_split(nb.tensor(1), 1),
        lambda: torch.tensor_split(torch.tensor(1), 1),
        "tensor_split",
    )
    _both_raise(
        lambda: F.tensor_split(nb.arange(7), 2, 1),
        lambda: torch.tensor_split(torch.arange(7), 2, 1),
        "tensor_split",
    )
