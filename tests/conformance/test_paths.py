"""The matrix: every op on every backward path, for every input kind, in float64 and float32,
against PyTorch.

Paths: ``root`` (the op's output is the root: ``out.backward(u)``, a gradient the engine does
not own), ``owned`` (``(out * u).sum().backward()``: the op receives a fresh gradient that the
engine owns, so the in-place ``backward_into`` kernels run), ``create_graph`` (``nb.grad`` with
``create_graph=True``, then the Hessian-vector product), ``compile`` (``nb.compile`` of the
forward+backward step, bitwise equal to eager on every call, and equal to PyTorch). Input
kinds: contiguous, broadcast (``np.broadcast_to`` views), strided, Fortran order, negative
strides, read-only, 0-d and size-0.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterator
from functools import cache
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is the conformance oracle (a test-only dependency)")

from nabla.autograd.kernels import KERNELS
from nabla.ops import elementwise as el

from .checker import Mismatch, Outcome, _close, compare, run_nabla, run_torch
from .matrix import CASES, KINDS, Case, run_compiled
from .programs import Program

PATHS = ("root", "owned", "create_graph", "compile")
DTYPES = ("float64", "float32")
ENGINE_PATH = {"root": "root", "owned": "backward", "create_graph": "create_graph"}

#: still-failing cells, "case/kind/path/dtype" patterns (fnmatch) → the defect; remove an entry
#: when its fix lands (the strict xfail then fails the run)
XFAILS: dict[str, str] = {}


def _cells() -> Iterator[Any]:
    for case in CASES:
        for kind in KINDS:
            if case.shapes_for(kind) is None:
                continue
            for path in PATHS:
                for dtype in DTYPES:
                    cell = f"{case.name}/{kind}/{path}/{dtype}"
                    reasons = [r for pat, r in XFAILS.items() if fnmatch.fnmatchcase(cell, pat)]
                    marks = [pytest.mark.xfail(strict=True, reason=reasons[0])] if reasons else []
                    yield pytest.param(case, kind, path, dtype, id=cell, marks=marks)


@cache
def _reference(name: str, kind: str) -> tuple[Program, Outcome, Outcome]:
    case = next(c for c in CASES if c.name == name)
    prog = case.program(kind)
    return prog, run_torch(prog, np.float64), run_torch(prog, np.float32)


def compiled_mismatches(prog: Program, dtype: Any) -> list[Mismatch]:
    """nb.compile against eager (bitwise, every call) and against PyTorch (last call)."""
    name = np.dtype(dtype).name
    found = []
    try:
        eager, compiled, last_weights, eager_reason = run_compiled(prog, dtype)
    except Exception as exc:  # noqa: BLE001 - any exception of nabla is a finding
        return [
            Mismatch(name, "error", "compile", f"{type(exc).__name__}: {exc}", prog, "compile")
        ]
    # only indexing with arrays keeps a step eager; everything else must have been replayed
    if eager_reason is not None and "array argument 'index'" not in eager_reason:
        found.append(Mismatch(name, "eager", "compile", eager_reason, prog, "compile"))
    for k, ((e_loss, e_grads), (c_loss, c_grads)) in enumerate(zip(eager, compiled)):
        pairs = [("loss", e_loss, c_loss)] + [
            (f"grad of leaf {i}", e, c) for i, (e, c) in enumerate(zip(e_grads, c_grads))
        ]
        for what, e, c in pairs:
            same = (e is None) == (c is None) and (
                e is None or (e.dtype == c.dtype and np.array_equal(e, c, equal_nan=True))
            )
            if not same:
                detail = f"call {k}: eager {e!r} vs compiled {c!r}"
                found.append(Mismatch(name, "bitwise", what, detail, prog, "compile"))
    prog.weights = [w.astype(np.float64) for w in last_weights]
    ref = run_torch(prog, dtype, second_order=False)
    ref64 = run_torch(prog, np.float64, second_order=False) if dtype == np.float32 else None
    for i, g in enumerate(compiled[-1][1]):
        ok, why = _close(g, ref.grads[i], ref64.grads[i] if ref64 else None)
        if not ok:
            found.append(Mismatch(name, "grad", f"leaf {i}", why, prog, "compile"))
    return found


@pytest.mark.parametrize(("case", "kind", "path", "dtype"), list(_cells()))
def test_op_on_path(case: Case, kind: str, path: str, dtype: str) -> None:
    """One op, one input kind, one backward path, one dtype: values, gradients (and the
    Hessian-vector product on ``create_graph``) agree with PyTorch; compile equals eager."""
    prog, ref64, ref32 = _reference(case.name, kind)
    np_dtype = np.dtype(dtype).type
    if path == "compile":
        mismatches = compiled_mismatches(Program(**vars(prog)), np_dtype)
    else:
        nab = run_nabla(prog, np_dtype, ENGINE_PATH[path])
        ref = ref64 if dtype == "float64" else ref32
        mismatches = compare(prog, np_dtype, path, nab, ref, ref64 if dtype == "float32" else None)
    assert not mismatches, "\n".join(map(str, mismatches))


def _kernel_classes() -> set[type]:
    return {op for op, kernels in KERNELS.items() if kernels.backward_into is not None}


IN_PLACE = {el.Tanh: "tanh", el.Sigmoid: "sigmoid", el.Relu: "relu"}


def test_every_in_place_kernel_is_in_the_matrix() -> None:
    """Every op with a ``backward_into`` kernel has a matrix case (so the owned path covers it)."""
    assert _kernel_classes() <= set(IN_PLACE), _kernel_classes() - set(IN_PLACE)


@pytest.mark.parametrize(("cls", "case_name"), IN_PLACE.items(), ids=IN_PLACE.values())
def test_owned_path_runs_the_in_place_kernel(
    cls: Any, case_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``owned`` path of the matrix really runs ``backward_into`` and ``root`` does not."""
    calls: list[str] = []
    original = KERNELS[cls].backward_into
    assert original is not None

    def spy(fn: Any, g: Any, *args: Any) -> Any:
        calls.append("into")
        return original(fn, g, *args)

    monkeypatch.setitem(KERNELS, cls, dataclasses.replace(KERNELS[cls], backward_into=spy))
    prog = next(c for c in CASES if c.name == case_name).program("contiguous")
    run_nabla(prog, np.float64, "root")
    assert calls == []
    run_nabla(prog, np.float64, "backward")
    assert calls == ["into"]
