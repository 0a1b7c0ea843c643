"""nb.profile: per-op timings for a user's step, and nothing left patched afterwards."""

from __future__ import annotations

import io

import numpy as np

import nabla as nb
import nabla.nn.functional as F
from nabla.autograd.function import Function
from nabla.ops.elementwise import Tanh


def test_profile_counts_every_op_and_restores() -> None:
    nb.manual_seed(0)
    model = nb.nn.MLP([8, 16, 3])
    opt = nb.optim.SGD(model.parameters(), lr=0.1)
    x, y = nb.randn(32, 8), np.arange(32) % 3
    apply_before, backward_before = Function.__dict__["apply"], Tanh.__dict__["backward"]
    out = io.StringIO()
    with nb.profile(file=out) as prof:
        for _ in range(5):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert prof.stats[("linear", "forward")][0] == 10
    assert prof.stats[("linear", "backward")][0] == 10
    assert prof.stats[("tanh", "backward")][0] == 5
    assert prof.stats[("cross_entropy", "forward")][0] == 5
    assert sum(v[1] for v in prof.stats.values()) <= prof.wall
    text = out.getvalue()
    assert "linear" in text and "backward" in text and "total" in text
    assert Function.__dict__["apply"] is apply_before
    assert Tanh.__dict__["backward"] is backward_before
    # results are unchanged by profiling
    x2 = nb.tensor(np.ones((2, 8), np.float32))
    with nb.profile(quiet=True):
        inside = model(x2).data.copy()
    np.testing.assert_array_equal(inside, model(x2).data)


def test_profile_reports_the_ops_inside_a_compiled_step() -> None:
    """A compiled step replays its plan: under nb.profile() the replay times each op, so the
    table lists the same ops, with the same counts, as the eager step."""
    nb.manual_seed(0)
    model = nb.nn.MLP([8, 16, 3])
    opt = nb.optim.SGD(model.parameters(), lr=0.1)
    x, y = nb.randn(32, 8), np.arange(32) % 3

    def step(x: nb.Tensor, y: np.ndarray) -> nb.Tensor:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    with nb.profile(quiet=True) as eager:
        for _ in range(3):
            step(x, y)
    compiled = nb.compile(step)
    compiled(x, y)  # traced (eagerly)
    assert compiled.plans and all(p is not None for p in compiled.plans.values())
    model_copy = [p.data.copy() for p in model.parameters()]
    with nb.profile(quiet=True) as prof:
        for _ in range(3):
            compiled(x, y)
    calls = {key: int(v[0]) for key, v in prof.stats.items()}
    assert calls == {key: int(v[0]) for key, v in eager.stats.items()}
    assert calls[("linear", "forward")] == 6 and calls[("tanh", "backward")] == 3
    assert sum(v[1] for v in prof.stats.values()) <= prof.wall
    # the timed replay computes what the plain one computes
    for p, before in zip(model.parameters(), model_copy):
        p.data[...] = before
    with nb.profile(quiet=True):
        timed_loss = compiled(x, y).data.copy()
    for p, before in zip(model.parameters(), model_copy):
        p.data[...] = before
    np.testing.assert_array_equal(timed_loss, compiled(x, y).data)
