"""Run one program in nabla and in PyTorch, compare everything, and draw random programs.

Compared: every value (shape, dtype, numbers), the gradient of the loss Σ ⟨uᵢ, outᵢ⟩ for every
leaf, and the Hessian-vector product ∂⟨∇loss, v⟩/∂leaf; leaves must not be written to. float64
is checked against PyTorch's float64 with rtol 1e-7; float32 against PyTorch's float64, allowing
ten times PyTorch's own float32 error plus 1e-4 relative to the value and to the
largest value of the array (cancellation in float32 leaves ~1e-7 of the terms' size).
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import nabla as nb

from . import (  # noqa: F401  (they register ops)
    activation_ops,
    algebra_ops,
    image_ops,
    layout_ops,
    logic_ops,
    loss_ops,
    numeric_ops,
    pointwise_ops,
    reduce_ops,
    shape_ops,
)
from .optable import OPS
from .programs import Builder, Defect, Leaf, Node, Program

PATHS = ("backward", "root", "create_graph")

# the programs are tiny: PyTorch's intra-op threads cost more than they save (3x slower here)
torch.set_num_threads(1)


@dataclass
class Outcome:
    """What one library computed: values, first-order gradients per leaf (None: no gradient
    reached it) and Hessian-vector products per leaf."""

    values: list[Any] = field(default_factory=list)
    grads: list[Any] = field(default_factory=list)
    hvps: list[Any] | None = None
    error: str | None = None


@dataclass
class Mismatch:
    """One disagreement: its kind (error, structure, dtype, value, grad, hvp, mutated), where
    (the value or leaf, and the op), the numbers, and the program."""

    dtype: str
    kind: str
    where: str
    detail: str
    program: Program
    path: str = "backward"

    def __str__(self) -> str:
        return (
            f"[{self.dtype} {self.path}] {self.kind} at {self.where}: {self.detail}\n"
            f"{self.program.describe()}"
        )


def _np(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        if x._is_zerotensor():  # PyTorch's lazy zeros (some second derivatives) have no data
            return np.zeros(tuple(x.shape), dtype=str(x.dtype).removeprefix("torch."))
        return x.detach().resolve_conj().resolve_neg().numpy().copy()
    return np.array(x.data, copy=True)


def total(terms: list[Any]) -> Any:
    """t₀ + t₁ + … (``sum`` would start from the int 0)."""
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _loss_terms(vals: list[Any], prog: Program, dtype: Any, wrap: Any) -> list[Any]:
    terms = []
    for i, u in zip(prog.outputs, prog.weights):
        v = vals[i]
        if v is not None and v.requires_grad:
            terms.append((v * wrap(u.astype(dtype))).sum())
    return terms


def run_torch(prog: Program, dtype: Any, second_order: bool = True) -> Outcome:
    """The reference: PyTorch, contiguous leaves, gradients through ``torch.autograd.grad``."""
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    vals: list[Any] = [None] * prog.n_values
    leaves = []
    for step in prog.steps:
        if isinstance(step, Leaf):
            t = torch.tensor(step.master, dtype=tdtype, requires_grad=True)
            vals[step.out] = t
            leaves.append(t)
        else:
            res = OPS[step.op].torch([vals[i] for i in step.args], {**step.params, "dtype": dtype})
            for i, v in zip(step.outs, res if isinstance(res, (list, tuple)) else [res]):
                vals[i] = v
    out = Outcome(values=[_np(v) for v in vals], grads=[None] * len(leaves))
    terms = _loss_terms(vals, prog, dtype, torch.from_numpy)
    if not terms:
        out.hvps = [None] * len(leaves)
        return out
    grads = torch.autograd.grad(total(terms), leaves, create_graph=second_order, allow_unused=True)
    out.grads = [_np(g) for g in grads]
    if second_order:
        dots = [
            (g * torch.from_numpy(v.astype(dtype))).sum()
            for g, v in zip(grads, prog.directions)
            if g is not None
        ]
        s = total(dots) if dots else None
        if s is None or not s.requires_grad:
            out.hvps = [None] * len(leaves)
        else:
            out.hvps = [_np(h) for h in torch.autograd.grad(s, leaves, allow_unused=True)]
    return out


def make_leaves(prog: Program, dtype: Any) -> list[Any]:
    """The program's leaves as nabla tensors that require grad, in their memory layouts."""
    return [nb.Tensor(s.array(dtype), requires_grad=True) for s in prog.leaves]


def build_nabla(
    prog: Program, dtype: Any, leaves: list[Any] | None = None
) -> tuple[list[Any], list[Any], list[tuple[Any, Any]]]:
    """Run the program's forward in nabla: (values, leaf tensors, (leaf array, its copy))."""
    leaves = make_leaves(prog, dtype) if leaves is None else leaves
    vals: list[Any] = [None] * prog.n_values
    arrays = [(t.data, t.data.copy()) for t in leaves]
    k = 0
    for step in prog.steps:
        if isinstance(step, Leaf):
            vals[step.out] = leaves[k]
            k += 1
            continue
        spec = OPS[step.op]
        params = {**step.params, "dtype": dtype}
        res = spec.nabla[step.params["style"]]([vals[i] for i in step.args], params)
        outs = list(res) if isinstance(res, (list, tuple)) else [res]
        if len(outs) != len(step.outs):
            raise StructureError(
                f"{step.op} returned {len(outs)} output(s), PyTorch {len(step.outs)}"
            )
        for i, v in zip(step.outs, outs):
            vals[i] = v
    return vals, leaves, arrays


class StructureError(AssertionError):
    """nabla returned a different number of outputs than PyTorch."""


def run_nabla(prog: Program, dtype: Any, path: str = "backward") -> Outcome:
    """nabla through one backward path: ``backward`` (loss.backward()), ``root`` (each output's
    own backward(u), accumulated in .grad), ``create_graph`` (nb.grad twice: first order and
    the Hessian-vector product)."""
    out = Outcome()
    try:
        vals, leaves, arrays = build_nabla(prog, dtype)
        out.values = [_np(v) for v in vals]
        terms = _loss_terms(vals, prog, dtype, nb.Tensor)
        if path == "root":
            for i, u in zip(prog.outputs, prog.weights):
                if vals[i].requires_grad:
                    vals[i].backward(u.astype(dtype), retain_graph=True)
            out.grads = [_np(t.grad) for t in leaves]
        elif path == "backward":
            if terms:
                total(terms).backward()
            out.grads = [_np(t.grad) for t in leaves]
        else:
            out.grads, out.hvps = [None] * len(leaves), [None] * len(leaves)
            if terms:
                loss = total(terms)
                grads = nb.grad(loss, leaves, create_graph=True, allow_unused=True)
                out.grads = [_np(g) for g in grads]
                # the harness's own contraction ⟨g, v⟩ is a forward computation: an infinite
                # gradient (√x at 0) makes inf · v and inf − inf there, which NumPy warns about
                with np.errstate(invalid="ignore", over="ignore"):
                    dots = [
                        (g * nb.Tensor(v.astype(dtype))).sum()
                        for g, v in zip(grads, prog.directions)
                        if g is not None
                    ]
                    s = total(dots) if dots else None
                if s is not None and s.requires_grad:
                    out.hvps = [_np(h) for h in nb.grad(s, leaves, allow_unused=True)]
        for k, (a, copy) in enumerate(arrays):
            if not np.array_equal(a, copy, equal_nan=True):
                out.error = f"mutated: leaf {k} was written to"
    except Exception as exc:  # noqa: BLE001 - any exception of nabla is a finding
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        out.error = f"{type(exc).__name__}: {exc} (at {frame.filename}:{frame.lineno})"
    return out


def _close(a: Any, ref: Any, ref64: Any, mixed: bool = False) -> tuple[bool, str]:
    a = np.zeros_like(ref) if a is None and ref is not None else a
    ref = np.zeros_like(a) if ref is None and a is not None else ref
    if a is None:
        return True, ""
    if a.shape != ref.shape:
        return False, f"shape {a.shape} vs PyTorch {ref.shape}"
    if ref.dtype.kind not in "fc":
        return bool(np.array_equal(a, ref)), f"nabla {a.tolist()} vs PyTorch {ref.tolist()}"
    if a.size == 0:
        return True, ""
    # float32 values, or float64 ones computed from float32 values (``mixed``)
    low = ref.dtype == np.float32 or mixed
    a, ref = a.astype(np.float64), ref.astype(np.float64)
    truth = ref if ref64 is None or ref64.shape != ref.shape else ref64.astype(np.float64)
    scale = max(1.0, float(np.abs(truth[np.isfinite(truth)]).max(initial=0.0)))
    # inf − inf (sqrt'(0) in both libraries) is nan: infinities are compared as equal values;
    # where PyTorch says nan (e.g. std's second derivative at zero spread) nothing is defined
    with np.errstate(invalid="ignore", over="ignore"):
        if low and truth is not ref:
            tol = 10 * np.abs(ref - truth) + 1e-4 * (scale + np.abs(truth))
        elif low:
            tol = 1e-5 * (scale + np.abs(truth))
        else:
            tol = 1e-9 * scale + 1e-7 * np.abs(truth)
        bad = ~((np.abs(a - truth) <= tol) | (a == truth) | np.isnan(truth))
    if not bad.any():
        return True, ""
    k = np.unravel_index(int(np.argmax(bad)), bad.shape)
    return False, (
        f"{int(bad.sum())}/{bad.size} elements differ; first at {tuple(int(i) for i in k)}: "
        f"nabla {a[k]!r} vs PyTorch {truth[k]!r}"
    )


def producer(prog: Program, value: int) -> str:
    for s in prog.steps:
        if isinstance(s, Node) and value in s.outs:
            return s.op
    return "leaf"


def compare(
    prog: Program, dtype: Any, path: str, nab: Outcome, ref: Outcome, ref64: Outcome | None
) -> list[Mismatch]:
    """The mismatches of ``nab`` against ``ref`` (``ref64``: PyTorch's float64, for float32)."""
    name = np.dtype(dtype).name
    found: list[Mismatch] = []

    def add(kind: str, where: str, detail: str) -> None:
        found.append(Mismatch(name, kind, where, detail, prog, path))

    if nab.error is not None:
        add("mutated" if nab.error.startswith("mutated") else "error", "run", nab.error)
        return found
    mixed = any(r is not None and r.dtype == np.float32 for r in ref.values)
    for i, (a, r) in enumerate(zip(nab.values, ref.values)):
        where = f"v{i} ({producer(prog, i)})"
        if a is not None and r is not None and a.dtype != r.dtype:
            add("dtype", where, f"nabla {a.dtype} vs PyTorch {r.dtype}")
            return found
        ok, why = _close(a, r, ref64.values[i] if ref64 else None, mixed)
        if not ok:
            add("value", where, why)
            return found
    for kind, mine, theirs, theirs64 in (
        ("grad", nab.grads, ref.grads, ref64.grads if ref64 else None),
        ("hvp", nab.hvps, ref.hvps, ref64.hvps if ref64 else None),
    ):
        if mine is None:
            continue
        for k, (a, r) in enumerate(zip(mine, theirs or [])):
            ok, why = _close(a, r, theirs64[k] if theirs64 else None, mixed)
            if not ok:
                add(kind, f"leaf {k}", why)
                return found
    return found


def localize(prog: Program, dtype: Any) -> str:
    """Where a gradient mismatch starts: the last value (in program order) whose gradient
    differs; every op reading it gets correct gradients for its outputs, so one of their
    backward rules (or the accumulation of their contributions) is wrong."""
    try:
        vals, _, _ = build_nabla(prog, dtype)
        terms = _loss_terms(vals, prog, dtype, nb.Tensor)
        live = [i for i, v in enumerate(vals) if v is not None and v.requires_grad]
        mine = nb.grad(total(terms), [vals[i] for i in live], allow_unused=True)
    except Exception as exc:  # noqa: BLE001
        return f"(localization failed: {type(exc).__name__}: {exc})"
    tvals: list[Any] = [None] * prog.n_values
    for step in prog.steps:
        if isinstance(step, Leaf):
            tvals[step.out] = torch.tensor(step.master.astype(dtype), requires_grad=True)
        else:
            res = OPS[step.op].torch(
                [tvals[i] for i in step.args], {**step.params, "dtype": dtype}
            )
            for i, v in zip(step.outs, res if isinstance(res, (list, tuple)) else [res]):
                tvals[i] = v
    tterms = _loss_terms(tvals, prog, dtype, torch.from_numpy)
    theirs = torch.autograd.grad(total(tterms), [tvals[i] for i in live], allow_unused=True)
    for i, a, r in reversed(list(zip(live, mine, theirs))):
        ok, why = _close(_np(a), _np(r), None)
        if not ok:
            readers = [
                f"{s.op}(v{', v'.join(map(str, s.args))})" for s in prog.nodes if i in s.args
            ]
            readers_text = ", ".join(readers) or "the loss"
            return f"d loss/d v{i} differs ({why}); v{i} is read by {readers_text}"
    return "every value's gradient agrees (the mismatch is in accumulation into .grad)"


def check(
    prog: Program, dtypes: Sequence[Any] = (np.float64, np.float32), paths: Sequence[str] = PATHS
) -> list[Mismatch]:
    """Every mismatch of nabla against PyTorch on ``prog``, per dtype and backward path.

    Programs are drawn in float64; one that PyTorch itself rejects in float32 (a float64 value
    from a mixed-dtype op meeting a float32 one where PyTorch wants equal dtypes, as in
    binary_cross_entropy) is checked in float64 only."""
    found = []
    second = "create_graph" in paths
    try:
        ref64 = run_torch(prog, np.float64, second_order=second)
    except RuntimeError:
        # PyTorch's own double backward can fail where nabla's need not (kl_div after a
        # view of a 0-d target: "ZeroTensors are immutable"); values and gradients are then
        # still compared, Hessian-vector products are not
        if not second:
            raise
        second = False
        ref64 = run_torch(prog, np.float64, second_order=False)
    for dtype in dtypes:
        try:
            ref = ref64 if dtype == np.float64 else run_torch(prog, dtype, second)
        except RuntimeError:
            continue
        for path in paths:
            if path == "root" and len(prog.outputs) != 1:
                continue
            nab = run_nabla(prog, dtype, path)
            new = compare(prog, dtype, path, nab, ref, ref64 if dtype != np.float64 else None)
            for m in new:
                if m.kind == "grad":
                    m.detail += "; " + localize(prog, dtype)
            found += new
    return found


def generate(
    seed: int,
    n_ops: int | None = None,
    shapes: Sequence[tuple[int, ...]] = (),
    avoid: Sequence[Defect] = (),
    focus: str | None = None,
    ops: Sequence[str] | None = None,
    watch: Sequence[Defect] = (),
    zero_sides: float = 0.05,
) -> Program:
    """A random program: leaves of ``shapes`` (or random ones), then ``n_ops`` ops (1–6) drawn
    by weight (``focus``: the first op is this one), none matching a defect in ``avoid``; the
    program's ``hits`` name the defects of ``watch`` that it matches."""
    rng = np.random.default_rng(seed)
    b = Builder(rng, OPS, avoid)
    b.watch = watch
    b.zero_sides = zero_sides
    names = list(ops or OPS)
    p = np.array([OPS[n].weight for n in names])
    p /= p.sum()
    for shape in shapes or [b.shape() for _ in range(int(rng.integers(1, 3)))]:
        b.leaf(tuple(shape))
    target = int(rng.integers(1, 7)) if n_ops is None else n_ops
    pushed = 0
    if focus is not None:
        for _ in range(30):
            if OPS[focus].propose(b):
                pushed += 1
                break
    for _ in range(8 * target):
        if pushed >= target:
            break
        pushed += bool(OPS[names[int(rng.choice(len(names), p=p))]].propose(b))
    return b.finish(seed)
