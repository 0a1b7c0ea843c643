"""Custom ops written PyTorch's way (static forward(ctx, …)/backward(ctx, …), Cls.apply),
against the same classes run by torch 2.13."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import GraphError

torch = pytest.importorskip("torch")


def _classes(lib: Any) -> dict[str, Any]:
    """The same custom Functions, written once, over nabla or torch."""

    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x)
            return 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x**2 - 1)

    class ScaledMul(lib.autograd.Function):  # a non-tensor argument and two tensor inputs
        @staticmethod
        def forward(ctx, a, alpha, b):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(a, b)
            ctx.alpha = alpha
            ctx.seen = ctx.needs_input_grad
            return alpha * a * b

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            a, b = ctx.saved_tensors
            return g * ctx.alpha * b, None, g * ctx.alpha * a

    class ExpAndSquare(lib.autograd.Function):  # two outputs, setup_context spelling
        @staticmethod
        def forward(x):  # type: ignore[no-untyped-def]
            return x.exp(), x * x

        @staticmethod
        def setup_context(ctx, inputs, output):  # type: ignore[no-untyped-def]
            (x,) = inputs
            ctx.save_for_backward(x, output[0])

        @staticmethod
        def backward(ctx, g_exp, g_square):  # type: ignore[no-untyped-def]
            x, e = ctx.saved_tensors
            return g_exp * e + g_square * 2 * x

    class MaxWithIndex(lib.autograd.Function):  # an integer output marked non-differentiable
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            values, index = x.max(dim=1)
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(x, index)
            return values, index

        @staticmethod
        def backward(ctx, g, g_index):  # type: ignore[no-untyped-def]
            x, index = ctx.saved_tensors
            out = lib.zeros_like(x)
            for row in range(x.shape[0]):
                out[row, int(index[row])] = g[row]
            return out

    return {c.__name__: c for c in (Legendre3, ScaledMul, ExpAndSquare, MaxWithIndex)}


NB, TORCH = _classes(nb), _classes(torch)


def _pair(values: np.ndarray) -> tuple[Any, Any]:
    return (
        nb.tensor(values.copy(), requires_grad=True),
        torch.tensor(values.copy(), requires_grad=True),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_equal_torch(dtype: Any) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for name, args in (
        ("Legendre3", lambda x, y, lib: (x,)),
        ("ScaledMul", lambda x, y, lib: (x, 2.5, y)),
    ):
        (xn, xt), (yn, yt) = _pair(a), _pair(b)
        out_n = NB[name].apply(*args(xn, yn, nb))
        out_t = TORCH[name].apply(*args(xt, yt, torch))
        np.testing.assert_allclose(out_n.numpy(), out_t.detach().numpy(), rtol=tol, atol=tol)
        (out_n * out_n).sum().backward()
        (out_t * out_t).sum().backward()
        np.testing.assert_allclose(xn.grad, xt.grad.numpy(), rtol=tol, atol=tol)
        if name == "ScaledMul":
            np.testing.assert_allclose(yn.grad, yt.grad.numpy(), rtol=tol, atol=tol)


def test_two_outputs_with_setup_context() -> None:
    a = np.random.default_rng(1).standard_normal((5,))
    (xn, xt) = _pair(a)
    en, sn = NB["ExpAndSquare"].apply(xn)
    et, st = TORCH["ExpAndSquare"].apply(xt)
    (3 * en + sn * sn).sum().backward()
    (3 * et + st * st).sum().backward()
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), rtol=1e-12)
    # only one output used: the other's gradient reaches backward as zeros
    (xn, xt) = _pair(a)
    NB["ExpAndSquare"].apply(xn)[1].sum().backward()
    TORCH["ExpAndSquare"].apply(xt)[1].sum().backward()
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), rtol=1e-12)


def test_non_differentiable_integer_output() -> None:
    a = np.random.default_rng(2).standard_normal((4, 6))
    (xn, xt) = _pair(a)
    vn, in_ = NB["MaxWithIndex"].apply(xn)
    vt, it = TORCH["MaxWithIndex"].apply(xt)
    assert not in_.requires_grad and not it.requires_grad
    np.testing.assert_array_equal(in_.numpy(), it.numpy())
    (vn * vn).sum().backward()
    (vt * vt).sum().backward()
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), rtol=1e-12)


def test_needs_input_grad_and_no_graph_without_grad() -> None:
    a = np.ones((2,))
    xn = nb.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    NB["ScaledMul"].apply(xn, 1.0, nb.tensor(a))
    out = TORCH["ScaledMul"].apply(xt, 1.0, torch.tensor(a))
    assert out.grad_fn is not None
    with nb.no_grad():
        plain = NB["Legendre3"].apply(xn)
    assert not plain.requires_grad
    assert not NB["Legendre3"].apply(nb.tensor(a)).requires_grad


def test_needs_input_grad_matches_torch() -> None:
    seen: dict[str, Any] = {}
    for name, module in (("nb", nb), ("torch", torch)):

        class Probe(module.autograd.Function):  # type: ignore[misc,name-defined]
            @staticmethod
            def forward(ctx, a, alpha, b, _name=name):  # type: ignore[no-untyped-def]
                seen[_name] = tuple(ctx.needs_input_grad)
                return a * b

            @staticmethod
            def backward(ctx, g):  # type: ignore[no-untyped-def]
                return g, None, g

        x = module.tensor(np.ones(2), requires_grad=True)
        Probe.apply(x, 2.0, module.tensor(np.ones(2)))
    assert seen["nb"] == seen["torch"] == (True, False, False)


def test_second_order_through_a_differentiable_backward() -> None:
    a = np.random.default_rng(3).standard_normal((3,))
    (xn, xt) = _pair(a)
    (gn,) = nb.autograd.grad(NB["Legendre3"].apply(xn).sum(), [xn], create_graph=True)
    (gt,) = torch.autograd.grad(TORCH["Legendre3"].apply(xt).sum(), [xt], create_graph=True)
    np.testing.assert_allclose(gn.numpy(), gt.detach().numpy(), rtol=1e-12)
    gn.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), rtol=1e-12)  # 15 x


def test_a_wrong_number_of_gradients_is_one_line_error() -> None:
    class Bad(nb.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):  # type: ignore[no-untyped-def]
            return x + y

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            return g

    x = nb.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(GraphError, match=r"Bad\.backward returned 1 gradient.*took 2 input"):
        Bad.apply(x, nb.tensor(np.ones(2))).sum().backward()


def test_compile_runs_a_step_with_a_custom_function_eagerly() -> None:
    w = nb.tensor(np.full(3, 0.5), requires_grad=True)
    opt = nb.optim.SGD([w], lr=0.1)

    def step(x: Any) -> Any:
        opt.zero_grad()
        loss = NB["Legendre3"].apply(w * x).sum()
        loss.backward()
        opt.step()
        return loss

    compiled = nb.compile(step)
    x = nb.tensor(np.arange(3.0))
    losses = [float(compiled(x).item()) for _ in range(3)]
    assert any("custom autograd.Function" in r for r in compiled.eager_reasons.values())
    w2 = nb.tensor(np.full(3, 0.5), requires_grad=True)
    opt2 = nb.optim.SGD([w2], lr=0.1)
    expected = []
    for _ in range(3):
        opt2.zero_grad()
        loss = NB["Legendre3"].apply(w2 * x).sum()
        loss.backward()
        opt2.step()
        expected.append(float(loss.item()))
    assert losses == expected
