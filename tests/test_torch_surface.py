"""PyTorch's everyday tensor surface: dtype aliases, ``size()``, ``to``/``type``/casts, devices
and ``inference_mode``, each compared with PyTorch itself."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.device import DeviceError

torch = pytest.importorskip("torch")

ALIASES = [
    *("long", "int", "float", "double", "half", "bool", "short"),
    *("int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64"),
]


def _np_dtype(torch_dtype: Any) -> np.dtype[Any]:
    return np.dtype(str(torch_dtype).removeprefix("torch."))


@pytest.mark.parametrize("name", ALIASES)
def test_dtype_aliases_are_pytorchs(name: str) -> None:
    assert np.dtype(getattr(nb, name)) == _np_dtype(getattr(torch, name))
    x = nb.zeros(2, dtype=getattr(nb, name))
    assert x.dtype == getattr(nb, name)
    assert x.dtype == _np_dtype(torch.zeros(2, dtype=getattr(torch, name)).dtype)


def test_the_aliases_are_exported_and_no_bfloat16() -> None:
    for name in ALIASES:
        assert name in nb.__all__
    assert not hasattr(nb, "bfloat16")  # NumPy has no bfloat16


# ----- size ---------------------------------------------------------------------------------
SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 2, 3, 4)]


@pytest.mark.parametrize("shape", SHAPES)
def test_size_is_pytorchs(shape: tuple[int, ...]) -> None:
    data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x, t = nb.tensor(data), torch.tensor(data)
    assert x.size() == tuple(t.size())
    assert isinstance(x.size(), tuple)
    assert repr(x.size()) == repr(t.size()).replace("torch", "nabla")
    assert x.size().numel() == t.size().numel()
    assert x.dim() == x.ndimension() == t.ndimension()
    assert x.numel() == x.nelement() == t.nelement()
    assert x.size == data.size  # still NumPy's element count when not called
    for dim in range(-len(shape) - 2, len(shape) + 2):
        if -len(shape) <= dim < len(shape):
            assert x.size(dim) == x.size(np.int64(dim)) == t.size(dim)
            continue
        with pytest.raises(IndexError) as expected:
            t.size(dim)
        with pytest.raises(IndexError) as info:
            x.size(dim)
        assert str(info.value) == str(expected.value)


@pytest.mark.parametrize("dim", ["a", 1.0, None])
def test_size_refuses_a_non_int_dim_as_pytorch(dim: Any) -> None:
    if dim is None:
        assert nb.zeros(2, 3).size(dim) == (2, 3)
        return
    with pytest.raises(TypeError) as exc:
        torch.zeros(2, 3).size(dim)
    with pytest.raises(TypeError) as info:
        nb.zeros(2, 3).size(dim)
    assert str(info.value) == str(exc.value)


def test_size_count_pickles_as_an_int() -> None:
    n = pickle.loads(pickle.dumps(nb.zeros(2, 3).size))
    assert n == 6 and type(n) is int


# ----- casts --------------------------------------------------------------------------------
CASTS = ["float", "double", "half", "long", "int", "short", "char", "byte", "bool"]


@pytest.mark.parametrize("method", CASTS)
@pytest.mark.parametrize("source", ["float32", "float64", "int64", "bool"])
def test_cast_methods_match_pytorch(method: str, source: str) -> None:
    data = np.array([[0.0, 1.5, -2.25], [3.0, 0.0, 7.5]]).astype(source)
    x, t = nb.tensor(data), torch.tensor(data)
    got, want = getattr(x, method)(), getattr(t, method)()
    assert got.dtype == _np_dtype(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert (got is x) == (want is t)
    assert got.type() == want.type().replace("torch.", "nabla.")


@pytest.mark.parametrize("method", CASTS)
@pytest.mark.parametrize("source", ["float32", "float64"])
def test_casts_carry_gradients_as_pytorch(method: str, source: str) -> None:
    data = np.array([[0.5, 1.5, -2.25], [3.0, 0.25, 7.5]]).astype(source)
    # a non-contiguous input, and a weight so the gradient is not all ones
    x = nb.tensor(data.T, requires_grad=True)
    t = torch.tensor(data.T, requires_grad=True)
    got, want = getattr(x, method)(), getattr(t, method)()
    assert got.requires_grad == want.requires_grad
    if not want.requires_grad:
        return
    w = np.arange(6.0).reshape(3, 2)
    (got * nb.tensor(w.astype(got.dtype))).sum().backward()
    (want * torch.tensor(w, dtype=want.dtype)).sum().backward()
    assert x.grad is not None and t.grad is not None
    assert x.grad.dtype == _np_dtype(t.grad.dtype)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-3)


def test_backward_through_double_matches_pytorch_and_central_differences() -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 4)).astype(np.float32)
    x = nb.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    (x.double() ** 3).sum().backward()
    (t.double() ** 3).sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-5)
    xd = nb.tensor(data.astype(np.float64), requires_grad=True)
    # through float32 and back: a step far above float32's rounding, on quadratics (exact)
    assert nb.gradcheck(lambda a: (a.float().double() * a).sum(), xd, eps=1e-2, atol=1e-3)
    assert nb.gradcheck(lambda a: a.to(nb.float32).to(nb.float64) ** 2, xd, eps=1e-2, atol=1e-3)
    assert nb.gradcheck(lambda a: a.float().double().to("cpu") ** 2, xd, eps=1e-2, atol=1e-3)


# ----- to -----------------------------------------------------------------------------------
def _to_calls() -> list[tuple[str, Any]]:
    """(label, function of (module, tensor, other tensor)) for each form of ``to``."""
    return [
        ("dtype", lambda m, x, o: x.to(m.float64)),
        ("same dtype", lambda m, x, o: x.to(m.float32)),
        ("dtype kw", lambda m, x, o: x.to(dtype=m.int64)),
        ("device", lambda m, x, o: x.to("cpu")),
        ("device:0", lambda m, x, o: x.to("cpu:0")),
        ("device object", lambda m, x, o: x.to(m.device("cpu"))),
        ("device dtype", lambda m, x, o: x.to("cpu", m.float64)),
        ("device dtype kw", lambda m, x, o: x.to(device="cpu", dtype=m.float16)),
        ("other", lambda m, x, o: x.to(o)),
        ("copy", lambda m, x, o: x.to(m.float32, copy=True)),
        ("copy positional", lambda m, x, o: x.to(m.float32, False, True)),
        ("no copy", lambda m, x, o: x.to(m.float32, copy=False)),
        ("device copy", lambda m, x, o: x.to("cpu", m.float32, False, True)),
        ("nothing", lambda m, x, o: x.to()),
        ("python float", lambda m, x, o: x.to(float)),
        ("python int", lambda m, x, o: x.to(int)),
        ("non_blocking", lambda m, x, o: x.to("cpu", non_blocking=True)),
    ]


@pytest.mark.parametrize(("label", "call"), _to_calls(), ids=[c[0] for c in _to_calls()])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_to_matches_pytorch(label: str, call: Any, requires_grad: bool) -> None:
    data = np.array([[1.5, -2.0], [0.25, 4.0]], dtype=np.float32)
    x = nb.tensor(data, requires_grad=requires_grad)
    t = torch.tensor(data, requires_grad=requires_grad)
    got = call(nb, x, nb.zeros(1, dtype=nb.float64))
    want = call(torch, t, torch.zeros(1, dtype=torch.float64))
    assert got.dtype == _np_dtype(want.dtype)
    assert (got is x) == (want is t), label
    assert got.requires_grad == want.requires_grad
    assert (got.grad_fn is None) == (want.grad_fn is None)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    if want.requires_grad and want.grad_fn is not None:
        w = np.array([[1.0, 2.0], [3.0, 4.0]])
        (got * nb.tensor(w.astype(got.dtype))).sum().backward()
        (want * torch.tensor(w, dtype=want.dtype)).sum().backward()
        assert x.grad is not None
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad, t.grad.numpy())


def test_a_copy_by_to_does_not_share_memory() -> None:
    x = nb.tensor([1.0, 2.0])
    y = x.to(nb.float32, copy=True)
    y.data[0] = 5.0
    assert x.data[0] == 1.0


@pytest.mark.parametrize(
    "args",
    [(1, 2, 3, 4, 5), ("float32",), (object(),)],
    ids=["too many", "a dtype name as a string", "an object"],
)
def test_to_refuses_what_pytorch_refuses(args: tuple[Any, ...]) -> None:
    with pytest.raises((TypeError, RuntimeError)):
        torch.zeros(2).to(*args)
    with pytest.raises((TypeError, DeviceError)):
        nb.zeros(2).to(*args)


def test_to_refuses_an_unknown_keyword_and_a_repeated_flag() -> None:
    with pytest.raises(TypeError, match="'devcie'"):
        nb.zeros(2).to(devcie="cpu")
    with pytest.raises(TypeError, match="'copy'"):
        nb.zeros(2).to(nb.float32, False, True, copy=True)


def test_cpu_is_self_and_cuda_is_refused() -> None:
    x = nb.ones(3, requires_grad=True)
    assert x.cpu() is x and torch.ones(3).cpu() is not None
    assert x.is_cuda is torch.ones(3).is_cuda
    with pytest.raises(DeviceError, match=r"^nabla runs on the CPU only: device 'cuda' is not"):
        x.cuda()


@pytest.mark.parametrize("dtype_name", ["float32", "float64", "int64", "int32", "bool"])
def test_type_matches_pytorch(dtype_name: str) -> None:
    x, t = nb.ones(2), torch.ones(2)
    got, want = x.type(getattr(nb, dtype_name)), t.type(getattr(torch, dtype_name))
    assert got.dtype == _np_dtype(want.dtype)
    assert (got is x) == (want is t)
    name = want.type()
    assert x.type(name).dtype == got.dtype  # "torch.LongTensor" is read too
    assert x.type(name.replace("torch.", "nabla.")).dtype == got.dtype
    assert got.type() == name.replace("torch.", "nabla.")


def test_type_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"'nabla\.FooTensor'"):
        nb.ones(2).type("nabla.FooTensor")


# ----- devices ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [("cpu",), ("cpu:0",), ("cpu", 0), ("cpu:3",)])
def test_device_matches_pytorch(spec: tuple[Any, ...]) -> None:
    d, td = nb.device(*spec), torch.device(*spec)
    assert (d.type, d.index) == (td.type, td.index)
    assert repr(d) == repr(td) and str(d) == str(td)
    assert nb.device(d) == d and hash(nb.device(d)) == hash(d)
    assert pickle.loads(pickle.dumps(d)) == d
    assert (d == nb.device("cpu")) == (td == torch.device("cpu"))


def test_a_tensor_is_on_the_cpu() -> None:
    x, t = nb.zeros(2), torch.zeros(2)
    assert repr(x.device) == repr(t.device) and str(x.device) == str(t.device)
    assert x.device == nb.device("cpu")
    assert not nb.cuda.is_available() and nb.cuda.device_count() == 0


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps", "meta", "xpu", 0])
def test_other_devices_are_refused_in_one_line(name: Any) -> None:
    shown = name if isinstance(name, str) else f"cuda:{name}"
    message = f"nabla runs on the CPU only: device {shown!r} is not available"
    with pytest.raises(DeviceError) as info:
        nb.device(name)
    assert str(info.value) == message
    assert isinstance(info.value, nb.NablaError) and isinstance(info.value, RuntimeError)
    with pytest.raises(DeviceError, match=r"^nabla runs on the CPU only"):
        nb.zeros(2).to(name)
    with pytest.raises(DeviceError, match=r"^nabla runs on the CPU only"):
        nb.zeros(2).to(name, nb.float64)


@pytest.mark.parametrize("spec", ["cpu:x", "cpu:-1"])
def test_a_malformed_cpu_device_is_refused(spec: str) -> None:
    with pytest.raises(RuntimeError):
        torch.device(spec)
    with pytest.raises(ValueError, match="device"):
        nb.device(spec)


FACTORIES = [
    ("tensor", lambda m, d: m.tensor([1.0, 2.0], device=d)),
    ("as_tensor", lambda m, d: m.as_tensor([1.0, 2.0], device=d)),
    ("zeros", lambda m, d: m.zeros(2, 3, device=d)),
    ("ones", lambda m, d: m.ones(2, 3, device=d)),
    ("full", lambda m, d: m.full((2,), 1.5, device=d)),
    ("zeros_like", lambda m, d: m.zeros_like(m.ones(2), device=d)),
    ("ones_like", lambda m, d: m.ones_like(m.ones(2), device=d)),
    ("full_like", lambda m, d: m.full_like(m.ones(2), 3.0, device=d)),
    ("randn", lambda m, d: m.randn(2, 3, device=d)),
    ("rand", lambda m, d: m.rand(2, 3, device=d)),
    ("randint", lambda m, d: m.randint(0, 5, (4,), device=d)),
    ("arange", lambda m, d: m.arange(5, device=d)),
    ("linspace", lambda m, d: m.linspace(0, 1, 5, device=d)),
    ("eye", lambda m, d: m.eye(3, device=d)),
]


@pytest.mark.parametrize(("name", "make"), FACTORIES, ids=[f[0] for f in FACTORIES])
def test_factories_accept_the_cpu_and_refuse_other_devices(name: str, make: Any) -> None:
    for dev in ("cpu", "cpu:0", None):
        got, want = make(nb, dev), make(torch, dev)
        assert got.shape == tuple(want.shape) and got.dtype == _np_dtype(want.dtype), name
    got = make(nb, nb.device("cpu"))
    assert got.device == nb.device("cpu")
    with pytest.raises(DeviceError, match=r"^nabla runs on the CPU only: device 'cuda' is not"):
        make(nb, "cuda")


# ----- inference_mode -----------------------------------------------------------------------
def _modes(m: Any) -> tuple[bool, bool]:
    return m.is_grad_enabled(), m.is_inference_mode_enabled()


@pytest.mark.parametrize("mode", [True, False])
def test_inference_mode_as_a_context_matches_pytorch(mode: bool) -> None:
    w, tw = nb.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    for outer in (True, False):
        with nb.set_grad_enabled(outer), torch.set_grad_enabled(outer):
            with nb.inference_mode(mode), torch.inference_mode(mode):
                assert _modes(nb) == _modes(torch)
                assert (w * 2).requires_grad == (tw * 2).requires_grad
                assert nb.zeros(2).requires_grad == torch.zeros(2).requires_grad
            assert _modes(nb) == _modes(torch) == (outer, False)


def test_inference_mode_nests_and_restores_after_an_error() -> None:
    with nb.inference_mode(), torch.inference_mode():
        with nb.inference_mode(False), torch.inference_mode(False):
            assert _modes(nb) == _modes(torch)
        assert _modes(nb) == _modes(torch)
    with pytest.raises(ZeroDivisionError), nb.inference_mode():
        _ = 1 / 0
    assert _modes(nb) == (True, False)


def test_inference_mode_decorates_with_and_without_parentheses() -> None:
    def probe() -> tuple[bool, bool]:
        return _modes(nb)

    def tprobe() -> tuple[bool, bool]:
        return _modes(torch)

    assert nb.inference_mode(probe)() == torch.inference_mode(tprobe)()
    assert nb.inference_mode()(probe)() == torch.inference_mode()(tprobe)()
    assert nb.inference_mode(False)(probe)() == torch.inference_mode(False)(tprobe)()
    assert _modes(nb) == (True, False)

    @nb.inference_mode()
    def gen() -> Any:
        yield _modes(nb)
        yield _modes(nb)

    items = []
    for item in gen():
        items.append(item)
        assert _modes(nb) == (True, False)  # the caller's mode between items
    assert items == [(False, True), (False, True)]


def test_inference_mode_refuses_a_non_bool() -> None:
    with pytest.raises(TypeError, match="mode"):
        nb.inference_mode(3)
