"""The harness can fail: deliberately broken rules (a flipped sign, a forward off by 1e-6, a
second derivative that drops a term, a compiled kernel that differs from its rule) are reported
by the fuzzer and by the matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is the conformance oracle (a test-only dependency)")

import dataclasses

from nabla.autograd.kernels import KERNELS, Specialized
from nabla.ops import arithmetic as ar
from nabla.ops import elementwise as el
from nabla.ops import kernels as kn

from . import test_paths as paths
from .checker import check, generate
from .matrix import CASES


def _flip_tanh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tanh's gradient with the wrong sign, in its rule and its kernels (array, in-place and
    compiled paths)."""
    monkeypatch.setattr(el.Tanh, "backward", lambda self, g, F, x, h: (-(g * (1 - h * h)),))
    flipped = dataclasses.replace(
        KERNELS[el.Tanh],
        backward=lambda fn, g, x, h: (-kn.tanh_backward_array(g, h),),
        backward_into=lambda fn, g, x, h: (-kn.tanh_backward_array(g, h),),
        specialize=lambda spec: None,
    )
    monkeypatch.setitem(KERNELS, el.Tanh, flipped)


def _focused(op: str, n: int) -> list[Any]:
    return [generate(seed, focus=op, n_ops=2) for seed in range(n)]


def test_fuzzer_catches_a_flipped_tanh(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Tanh's gradient negated, nearly every program using tanh mismatches, on every
    backward path, and the localization names tanh."""
    _flip_tanh(monkeypatch)
    progs = _focused("tanh", 12)
    found = [check(p) for p in progs]
    assert sum(bool(f) for f in found) >= 10
    kinds = {m.kind for f in found for m in f}
    assert kinds <= {"grad", "hvp"} and "grad" in kinds
    assert {m.path for f in found for m in f} == {"backward", "root", "create_graph"}
    assert {m.dtype for f in found for m in f} == {"float64", "float32"}
    assert any("tanh" in m.detail for f in found for m in f if m.kind == "grad")


def test_fuzzer_catches_a_flipped_mul(monkeypatch: pytest.MonkeyPatch) -> None:
    """With d(x*y)/dx negated, programs using mul mismatch."""
    original = ar.Mul.backward

    def flipped(self: Any, g: Any, F: Any, x: Any, y: Any) -> Any:
        gx, gy = original(self, g, F, x, y)
        return (None if gx is None else -gx), gy

    monkeypatch.setattr(ar.Mul, "backward", flipped)
    found = [check(p) for p in _focused("mul", 12)]
    assert sum(bool(f) for f in found) >= 8


def test_fuzzer_catches_a_forward_off_by_one_in_a_million(monkeypatch: pytest.MonkeyPatch) -> None:
    """exp off by a relative 1e-6 is caught in float64 (rtol 1e-7), as a value mismatch."""
    monkeypatch.setattr(el.Exp, "forward", lambda self, x: np.exp(x) * (1 + 1e-6))
    found = [m for p in _focused("exp", 8) for m in check(p, dtypes=(np.float64,))]
    assert found and all(m.kind == "value" for m in found)
    assert any("exp" in m.where for m in found)


def test_fuzzer_catches_a_wrong_second_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tanh's rule under create_graph treating tanh(x) as a constant: first-order gradients stay
    right, Hessian-vector products go wrong."""

    def detached(self: Any, g: Any, F: Any, x: Any, h: Any) -> Any:
        if F.graph:
            return (g * (1 - F.data(h) ** 2),)
        return (g * (1 - h * h),)

    monkeypatch.setattr(el.Tanh, "backward", detached)
    found = [m for p in _focused("tanh", 12) for m in check(p, paths=("create_graph",))]
    assert found and {m.kind for m in found} == {"hvp"}


TANH = next(c for c in CASES if c.name == "tanh")


@pytest.mark.parametrize("path", ["root", "owned", "create_graph", "compile"])
@pytest.mark.parametrize("kind", ["contiguous", "negative", "broadcast", "0-d"])
def test_matrix_catches_a_flipped_tanh(
    kind: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every matrix cell of tanh fails with the flipped rule (size-0 cells have no gradient to
    flip and are left out)."""
    _flip_tanh(monkeypatch)
    with pytest.raises(AssertionError, match="grad"):
        paths.test_op_on_path(TANH, kind, path, "float64")


def test_matrix_catches_a_compiled_kernel_that_differs_from_its_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A specialized (compiled) tanh backward that differs from the eager rule in the last bit
    fails the bitwise compile check, though it is within any tolerance of PyTorch."""

    def specialize(spec: Any) -> Any:
        def forward(x: Any) -> Any:
            h = np.tanh(x)
            return h, h

        def backward(g: Any, h: Any) -> Any:
            return (np.nextafter(kn.tanh_backward_array(g, h), np.inf),)

        return Specialized(forward, backward)

    monkeypatch.setitem(
        KERNELS, el.Tanh, dataclasses.replace(KERNELS[el.Tanh], specialize=specialize)
    )
    with pytest.raises(AssertionError, match="bitwise"):
        paths.test_op_on_path(TANH, "contiguous", "compile", "float64")
