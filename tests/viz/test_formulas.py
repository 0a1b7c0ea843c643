"""Every printed rule is right for the exact call: evaluated on the call's arrays, it gives the
gradient that ``backward`` computed (reduction, axes, weights, ties, broadcasting, batched and
1-D matrix products, permutations)."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.viz.explain import rule_of
from nabla.viz.rules import BUILDERS, GENERIC

from .formula_cases import CALLS, Call, op_classes, run_call


@pytest.mark.parametrize("explain_after", [False, True], ids=["before", "after-backward"])
@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_printed_rule_evaluates_to_the_computed_gradient(
    call: Call, explain_after: bool, rng: np.random.Generator
) -> None:
    terms, env, tensors = run_call(call, rng, explain_after)
    assert terms, call.name
    needs = [k for k, t in enumerate(tensors) if t.requires_grad]
    assert [t.input_index for t in terms] == needs
    for term in terms:
        assert term.expr is not None
        assert term.rule == f"∇{term.symbol} = {term.expr.text}"
        grad = tensors[term.input_index].grad
        assert grad is not None
        if (
            call.freed or call.name == "nll-weighted"
        ) and explain_after:  # backward freed the rows' weights
            with pytest.raises(ValueError, match="explain before"):
                term.expr.value(env)
            continue
        value = np.asarray(term.expr.value(env))
        if value.shape != grad.shape:  # a scalar factor: 0-d where the gradient is too
            value = np.broadcast_to(value, grad.shape)
        np.testing.assert_allclose(
            value, grad.data, rtol=call.rtol, atol=call.rtol * 1e-2, err_msg=term.rule
        )
    printed = " | ".join(f"{t.rule} {t.note}" for t in terms)
    for text in call.text:
        assert text in printed, (call.name, printed)
    for text in call.absent:
        assert text not in printed, (call.name, printed)


def test_every_differentiable_op_has_a_call_rule_or_an_exact_generic_one() -> None:
    """A new op must join the table (and CALLS) or say why its docstring rule is exact."""
    covered = set(BUILDERS) | GENERIC
    called = set()
    for call in CALLS:
        arrays = call.inputs(np.random.default_rng(0))
        out = call.fn(*[nb.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays])
        called.add(type(out._fn).__name__)
    for cls in op_classes():
        if rule_of(cls).terms:
            assert cls.__name__ in covered, cls
            assert cls.__name__ in called or cls.__name__ in GENERIC, f"{cls.__name__}: no case"


def test_loss_reduction_decides_the_division_by_n(rng: np.random.Generator) -> None:
    x = nb.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = np.array([0, 2, 1, 1])
    for reduction, has_n in (("mean", True), ("sum", False), ("none", False)):
        (step, *_) = nb.explain(F.cross_entropy(x, y, reduction=reduction), show=False).steps
        assert ("/ N" in step.terms[0].rule) is has_n, reduction
        assert ("/ N" in step.terms[0].latex) is has_n, reduction
