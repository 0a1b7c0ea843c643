"""Numerical gradient checks: central differences in float64 against the engine's gradients.

The checker contracts every output with a random upstream gradient u (an all-ones u hides some
transposition bugs) and compares ∂⟨u, f(x)⟩/∂x from ``nb.grad`` with central differences
(f(x + ε) − f(x − ε)) / 2ε, element by element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nabla.autograd.engine import grad as autograd_grad
from nabla.errors import NablaError
from nabla.tensor import Tensor


class GradcheckError(NablaError, AssertionError):
    """Analytic and numerical gradients disagree; the message names the input and element."""


def _outputs(result: Any) -> list[Tensor]:
    items = result if isinstance(result, (tuple, list)) else [result]
    return [t for t in items if isinstance(t, Tensor) and t.dtype.kind == "f"]


def _unpacked(inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    """PyTorch's spelling ``gradcheck(fn, (x, y))``: one tuple or list of inputs."""
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        return tuple(inputs[0])
    return inputs


def _differentiable(inputs: Sequence[Any]) -> list[int]:
    indices = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != np.float64:
                raise ValueError(
                    f"gradcheck: input {i} has dtype {x.dtype}; central differences need float64 "
                    "inputs (nb.tensor(np.float64 array) or x.double())"
                )
            indices.append(i)
    if not indices:
        raise ValueError("gradcheck: no input requires grad")
    return indices


def _contracted(fn: Callable[..., Any], inputs: Sequence[Any], us: list[np.ndarray]) -> float:
    outs = _outputs(fn(*inputs))
    return float(sum(np.sum(u * o.data) for u, o in zip(us, outs)))


def _analytic(
    fn: Callable[..., Any], inputs: Sequence[Any], wrt: list[int], rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    outs = _outputs(fn(*inputs))
    # a scalar output is weighted by 1, so a report shows the gradient itself (the Jacobian
    # entry), not the gradient times a random weight
    us = [np.ones(o.shape) if o.size == 1 else rng.standard_normal(o.shape) for o in outs]
    live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
    grads: list[Any] = [None] * len(wrt)
    if live:
        grads = list(
            autograd_grad(
                [o for o, _ in live],
                [inputs[i] for i in wrt],
                grad_outputs=[u.astype(o.dtype) for o, u in live],
                allow_unused=True,
            )
        )
    analytic = [
        np.zeros(inputs[i].shape) if g is None else np.asarray(g.data, dtype=np.float64)
        for i, g in zip(wrt, grads)
    ]
    return analytic, us


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradients against central differences.

    Parameters
    ----------
    fn : callable
        Takes ``inputs`` and returns a Tensor or a sequence of Tensors.
    *inputs : Tensor or other
        float64 Tensors with ``requires_grad=True`` are checked; other arguments pass through.
    eps, atol, rtol : float
        Step of the central differences, and the tolerance ``|a − n| ≤ atol + rtol·|n|``.
    raise_exception : bool
        Raise :class:`GradcheckError` on disagreement (else return False).
    fast_mode : bool
        Check one random direction per input (2 evaluations) instead of every element.

    Returns
    -------
    bool
        True when every checked gradient agrees.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = nb.tensor(np.array([0.5, 1.5]), requires_grad=True)
    >>> nb.gradcheck(lambda t: (t * t).sum(), x)
    True
    """
    inputs = _unpacked(inputs)
    rng = np.random.default_rng(seed)
    wrt = _differentiable(inputs)
    analytic, us = _analytic(fn, inputs, wrt, rng)
    for a, i in zip(analytic, wrt):
        x = inputs[i]
        data = x.data
        if fast_mode:
            direction = rng.standard_normal(data.shape)
            original = data.copy()
            data[...] = original + eps * direction
            f_plus = _contracted(fn, inputs, us)
            data[...] = original - eps * direction
            f_minus = _contracted(fn, inputs, us)
            data[...] = original
            numeric_d = (f_plus - f_minus) / (2 * eps)
            analytic_d = float(np.sum(a * direction))
            if abs(analytic_d - numeric_d) > atol + rtol * abs(numeric_d):
                if raise_exception:
                    raise GradcheckError(
                        f"gradcheck: input {i} ({_label(x)}, shape {data.shape}): directional "
                        f"derivative analytic {analytic_d:.10g} vs numeric {numeric_d:.10g}"
                    )
                return False
            continue
        numeric = np.zeros(data.shape)
        flat, nflat = data.reshape(-1), numeric.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            f_plus = _contracted(fn, inputs, us)
            flat[j] = old - eps
            f_minus = _contracted(fn, inputs, us)
            flat[j] = old
            nflat[j] = (f_plus - f_minus) / (2 * eps)
        error = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and (error > 0).any():
            if raise_exception:
                worst = np.unravel_index(int(np.argmax(error)), error.shape)
                weighted = "" if all(u.size == 1 for u in us) else " of ⟨u, f(x)⟩, random u"
                raise GradcheckError(
                    f"gradcheck: input {i} ({_label(x)}, shape {data.shape}) disagrees at element "
                    f"{tuple(int(k) for k in worst)}: analytic gradient{weighted} "
                    f"{a[worst]:.10g} vs numeric {numeric[worst]:.10g} (max abs difference "
                    f"{np.max(np.abs(a - numeric)):.3g})"
                )
            return False
    return True


def _label(x: Tensor) -> str:
    return repr(x.name) if x.name else "unnamed"


def gradgradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of x ↦ ∂⟨u, fn(x)⟩/∂x built with ``create_graph``.

    Parameters are those of :func:`gradcheck`; ``u`` is a fixed random upstream gradient.
    """
    inputs = _unpacked(inputs)
    rng = np.random.default_rng(seed + 1)
    wrt = _differentiable(inputs)
    outs = _outputs(fn(*inputs))
    us = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]

    def first_gradient(*args: Any) -> list[Tensor]:
        results = _outputs(fn(*args))
        live = [(o, u) for o, u in zip(results, us) if o.requires_grad]
        if not live:
            return [Tensor(np.zeros(args[i].shape)) for i in wrt]
        grads = autograd_grad(
            [o for o, _ in live],
            [args[i] for i in wrt],
            grad_outputs=[Tensor(u) for _, u in live],
            create_graph=True,
            allow_unused=True,
        )
        return [Tensor(np.zeros(args[i].shape)) if g is None else g for i, g in zip(wrt, grads)]

    return gradcheck(
        first_gradient,
        *inputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        seed=seed,
    )
