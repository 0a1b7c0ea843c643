"""nb.compile: replayed steps equal eager ones bitwise; untraceable steps stay eager."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F


def _model(kind: str) -> tuple[nb.nn.Module, Any]:
    nb.manual_seed(0)
    if kind == "relu-sgd":
        model = nb.nn.MLP([6, 16, 8, 3], activation="relu")
        return model, nb.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    if kind == "tanh-adam-dropout":
        model = nb.nn.MLP([6, 16, 3], activation="tanh", dropout=0.3)
        return model, nb.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    if kind == "relu-plain-sgd":
        model = nb.nn.MLP([6, 16, 8, 3], activation="relu")
        return model, nb.optim.SGD(model.parameters(), lr=0.1)
    if kind == "sigmoid-batchnorm-adamw":
        model = nb.nn.MLP([6, 12, 3], activation="sigmoid", batch_norm=True)
        return model, nb.optim.AdamW(model.parameters(), lr=0.01)
    model = nb.nn.MLP([6, 10, 3], activation="leaky_relu")
    return model, nb.optim.RMSprop(model.parameters(), lr=0.01, momentum=0.5)


def _train_step(model: nb.nn.Module, opt: Any) -> Callable[..., Any]:
    """The usual SGD step on (x, y), to be compiled."""

    def step(x: Any, y: Any) -> Any:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _batches(n: int, batch: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((batch, 6)).astype(np.float32), rng.integers(0, 3, batch))
        for _ in range(n)
    ]


def _run(kind: str, compiled: bool, batches: list[Any]) -> tuple[list[float], Any]:
    model, opt = _model(kind)
    scheduler = nb.optim.StepLR(opt, step_size=3, gamma=0.5)

    def step(x: Any, y: Any) -> Any:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        scheduler.step()
        return loss

    fn: Callable[..., Any] = nb.compile(step) if compiled else step
    nb.manual_seed(123)  # dropout draws from the global generator
    losses = [float(fn(nb.tensor(x), y).data) for x, y in batches]
    if compiled:  # the equality below must come from replayed plans, not from eager fallback
        assert fn.plans and all(p is not None for p in fn.plans.values()), fn.eager_reasons
    return losses, model


@pytest.mark.parametrize(
    "kind",
    [
        "relu-sgd",
        "relu-plain-sgd",
        "tanh-adam-dropout",
        "sigmoid-batchnorm-adamw",
        "leaky-rmsprop",
    ],
)
def test_compiled_training_equals_eager_bitwise(kind: str) -> None:
    batches = _batches(12, 8)
    eager_losses, eager_model = _run(kind, False, batches)
    compiled_losses, compiled_model = _run(kind, True, batches)
    assert compiled_losses == eager_losses
    for (name, a), b in zip(
        eager_model.state_dict().items(), compiled_model.state_dict().values()
    ):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_replay_is_actually_used() -> None:
    model, opt = _model("relu-sgd")

    step = nb.compile(_train_step(model, opt))

    calls = []
    original = nb.nn.Linear.forward

    def counting(self: Any, x: Any) -> Any:
        calls.append(1)
        return original(self, x)

    nb.nn.Linear.forward = counting  # type: ignore[method-assign]
    try:
        for x, y in _batches(3, 8):
            step(x, y)
    finally:
        nb.nn.Linear.forward = original  # type: ignore[method-assign]
    assert len(calls) == 3  # the module's Python ran once (the trace); later calls replayed
    assert len(step.plans) == 1 and all(p is not None for p in step.plans.values())


def test_new_shape_traces_again_and_stays_exact() -> None:
    batches = _batches(4, 8) + _batches(2, 5, seed=1) + _batches(3, 8, seed=2)
    eager, _ = _run("relu-sgd", False, batches)
    compiled, _ = _run("relu-sgd", True, batches)
    assert compiled == eager


def test_probability_targets_and_bce() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 4)).astype(np.float32)
    P = rng.dirichlet(np.ones(3), 10).astype(np.float32)
    D = (rng.random((10, 1)) > 0.5).astype(np.float32)

    def make() -> tuple[Any, Any, Any]:
        nb.manual_seed(1)
        a, b = nb.nn.Linear(4, 3), nb.nn.Linear(4, 1)
        return a, b, nb.optim.SGD([*a.parameters(), *b.parameters()], lr=0.5)

    def step_for(a: Any, b: Any, opt: Any) -> Callable[..., Any]:
        def step(x: Any, p: Any, d: Any) -> Any:
            loss = F.cross_entropy(a(x), p) + F.binary_cross_entropy_with_logits(b(x), d)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step

    eager = step_for(*make())
    compiled = nb.compile(step_for(*make()))
    for _ in range(5):
        assert float(eager(nb.tensor(X), nb.tensor(P), nb.tensor(D)).data) == float(
            compiled(X, P, D).data
        )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("item", "read inside the step"),
        ("randn", "nb.randn"),
        ("grad", "nb.grad"),
    ],
)
def test_untraceable_steps_run_eagerly(body: str, reason: str) -> None:
    w = nb.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    seen = []

    @nb.compile
    def step(x: Any) -> Any:
        y = (w * x).sum()
        if body == "item":
            seen.append(y.item())
        elif body == "randn":
            y = y + nb.randn(1).sum()
        else:
            (g,) = nb.grad(y, w)
            y = y + g.sum()
        return y

    for i in range(3):
        step(np.full(3, float(i), dtype=np.float32))
    assert list(step.plans.values()) == [None]
    assert reason in next(iter(step.eager_reasons.values()))
    if body == "item":
        assert seen == [0.0, 3.0, 6.0]  # the eager body ran every time


def test_outputs_structures_and_inference() -> None:
    nb.manual_seed(0)
    model = nb.nn.MLP([4, 8, 3])

    @nb.compile
    def predict(x: Any) -> Any:
        with nb.no_grad():
            logits = model(x)
            return {"logits": logits, "probs": nb.softmax(logits, axis=1)}

    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    first, second = predict(x), predict(x)
    with nb.no_grad():
        expected = model(nb.tensor(x))
    for out in (first, second):
        np.testing.assert_array_equal(out["logits"].data, expected.data)
        np.testing.assert_allclose(out["probs"].data.sum(axis=1), 1, rtol=1e-6)


def test_gradient_with_respect_to_an_argument() -> None:
    w = nb.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)

    @nb.compile
    def step(x: Any) -> Any:
        loss = (nb.tanh(x * w) ** 2).sum()
        loss.backward()
        return loss

    for i in range(3):
        x = nb.tensor(np.array([0.1, 0.2, 0.3]) * (i + 1), requires_grad=True)
        step(x)
        x_eager = nb.tensor(x.data, requires_grad=True)
        (nb.tanh(x_eager * w.detach()) ** 2).sum().backward()
        np.testing.assert_array_equal(x.grad, x_eager.grad)


def test_freezing_a_parameter_retraces() -> None:
    model, opt = _model("relu-sgd")

    step = nb.compile(_train_step(model, opt))

    batches = _batches(4, 8)
    step(*batches[0])
    step(*batches[1])
    first = model[0].weight.data.copy()
    model[0].weight.requires_grad_(False)
    step(*batches[2])
    np.testing.assert_array_equal(model[0].weight.data, first)  # frozen: not updated
    assert model[0].weight.grad is None


def test_compiled_eval_step_sees_updated_batchnorm_statistics() -> None:
    nb.manual_seed(0)
    model = nb.nn.MLP([6, 8, 3], batch_norm=True)
    opt = nb.optim.SGD(model.parameters(), lr=0.1)

    train_step = nb.compile(_train_step(model, opt))

    @nb.compile
    def predict(x: Any) -> Any:
        with nb.no_grad():
            return model(x)

    x_eval = _batches(1, 5, seed=9)[0][0]
    for x, y in _batches(6, 8):
        model.train()
        train_step(x, y)
        model.eval()
        replayed = predict(x_eval).data
        with nb.no_grad():
            eager = model(nb.tensor(x_eval)).data
        np.testing.assert_array_equal(replayed, eager)
    assert all(p is not None for p in predict.plans.values())


def test_switching_train_and_eval_retraces() -> None:
    nb.manual_seed(0)
    model = nb.nn.MLP([6, 8, 3], dropout=0.5)

    @nb.compile
    def forward(x: Any) -> Any:
        with nb.no_grad():
            return model(x)

    x = _batches(1, 4)[0][0]
    model.eval()
    first = forward(x).data
    model.train()
    nb.manual_seed(3)
    with_dropout = forward(x).data
    nb.manual_seed(3)
    with nb.no_grad():
        eager = model(nb.tensor(x)).data
    np.testing.assert_array_equal(with_dropout, eager)
    assert not np.array_equal(first, with_dropout)
    model.eval()
    np.testing.assert_array_equal(forward(x).data, first)


def _tied_branch_step(w: nb.Tensor, v: nb.Tensor) -> Callable[..., Any]:
    def step(x: Any) -> Any:
        h = (x @ w).tanh()
        h = h + h * h  # a branch: h's gradient is the sum of three contributions
        out = h @ w.T + (x * v).sigmoid()  # w used twice: its .grad receives two gradients
        return (out * out).mean() + v.exp().sum()

    return step


def test_branches_and_tied_weights_equal_eager_bitwise(rng: np.random.Generator) -> None:
    w0 = rng.standard_normal((4, 4)).astype(np.float32)
    v0 = rng.standard_normal(4).astype(np.float32)
    xs = [rng.standard_normal((6, 4)).astype(np.float32) for _ in range(4)]
    results = []
    for compiled in (False, True):
        w = nb.tensor(w0.copy(), requires_grad=True)
        v = nb.tensor(v0.copy(), requires_grad=True)
        opt = nb.optim.SGD([w, v], lr=0.1, momentum=0.9)
        inner = _tied_branch_step(w, v)

        def step(x: Any, inner: Any = inner, opt: Any = opt) -> Any:
            loss = inner(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        fn: Callable[..., Any] = nb.compile(step) if compiled else step
        losses = [fn(nb.tensor(x)).data for x in xs]
        results.append((losses, w.data.copy(), v.data.copy(), w.grad.copy(), v.grad.copy()))
        if compiled:
            assert all(p is not None for p in fn.plans.values()), fn.eager_reasons
    for a, b in zip(*results):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_plan_is_straight_line_python_source() -> None:
    model, opt = _model("relu-sgd")

    step = nb.compile(_train_step(model, opt))

    ((x, y),) = _batches(1, 8)
    step(x, y)
    (plan,) = step.plans.values()
    source = plan.source
    assert source.startswith("def replay(arrays, args):")
    assert "for " not in source and "while " not in source  # one line per op, no interpreter
    # three dense layers and the loss, each through its forward specialized to the traced shapes
    assert len(re.findall(r"\bSF\d+\(", source)) == 3 + 1
    assert ".forward(" not in source
    assert len(re.findall(r"\bFIP\d+\(", source)) == 2  # ReLU fused into the two hidden layers
    # saved values are released after their last use, as the eager engine frees them
    first_backward = re.search(r"\bSB\d+\(", source).start()  # type: ignore[union-attr]
    assert "    del " in source[first_backward:]
    # each value is freed once, after its last mention (never before a later read)
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("    del "):
            for name in line[len("    del ") :].split(", "):
                later = "\n".join(lines[i + 1 :])
                assert re.search(rf"\b{name}\b", later) is None, (name, i)


def test_changing_a_parameter_dtype_retraces(rng: np.random.Generator) -> None:
    model = nb.nn.Linear(3, 2)
    x = rng.standard_normal((4, 3)).astype(np.float32)

    @nb.compile
    def step(x: Any) -> Any:
        model.zero_grad()
        loss = model(x).sum()
        loss.backward()
        return loss

    step(x)
    step(x)
    model.double()
    loss = step(x)
    assert loss.dtype == np.float64  # as eager: float32 input, float64 weights
    assert model.weight.grad.dtype == np.float64
    expected = np.tile(x.astype(np.float64).sum(axis=0), (2, 1))  # ∇W = 1ᵀ X per output
    np.testing.assert_allclose(model.weight.grad, expected, rtol=1e-12)
    assert len(step.plans) == 1  # same argument signature: the guard replaced the plan


def test_batches_with_ignored_targets_replay_the_general_loss() -> None:
    # same shapes as the traced batch, but some targets equal ignore_index (inside the class
    # range): the specialized loss hands these batches to the general one, which skips them
    batches = _batches(6, 8)
    for _x, y in batches[2::2]:
        y[:3] = 1

    def run(compiled: bool) -> tuple[list[float], nb.nn.Module]:
        model, opt = _model("relu-sgd")

        def step(x: Any, y: Any) -> Any:
            loss = F.cross_entropy(model(x), y, ignore_index=1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        fn = nb.compile(step) if compiled else step
        return [float(fn(nb.tensor(x), y).data) for x, y in batches], model

    eager_losses, eager_model = run(False)
    compiled_losses, compiled_model = run(True)
    assert compiled_losses == eager_losses
    for a, b in zip(eager_model.parameters(), compiled_model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_compiled_step_reports_an_out_of_range_target_and_keeps_the_weights() -> None:
    model, opt = _model("relu-sgd")
    step = nb.compile(_train_step(model, opt))
    ((x, y),) = _batches(1, 8)
    step(nb.tensor(x), y)
    assert step.plans
    before = [p.data.copy() for p in model.parameters()]
    bad = y.copy()
    bad[5] = 7
    with pytest.raises(IndexError, match="target 7 is out of bounds for 3 classes"):
        step(nb.tensor(x), bad)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


def test_compiled_sgd_keeps_every_parameter_array() -> None:
    # a compiled step must not rebind p.data (an earlier replay laid the parameters out in one
    # buffer): arrays from p.data, p.numpy() and state_dict() keep tracking the parameters
    model, opt = _model("relu-plain-sgd")
    arrays = [p.data for p in model.parameters()]
    exported = model.state_dict()
    step = nb.compile(_train_step(model, opt))
    for x, y in _batches(4, 8):
        step(nb.tensor(x), y)
    assert step.plans and all(p is not None for p in step.plans.values())
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(exported[name], value, err_msg=name)


class _Tied(nb.nn.Module):
    """Two layers whose weights share one array (tied as NumPy code ties them)."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nb.nn.Linear(6, 6)
        self.second = nb.nn.Linear(6, 6)
        self.second.weight.data = self.first.weight.data

    def forward(self, x: Any) -> Any:
        return self.second(nb.tanh(self.first(x)))


def test_compiled_sgd_keeps_tied_weights_tied() -> None:
    def run(compiled: bool) -> tuple[list[float], np.ndarray]:
        nb.manual_seed(0)
        model = _Tied()
        opt = nb.optim.SGD(model.parameters(), lr=0.1)

        def step(x: Any) -> Any:
            loss = ((model(x) - x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        fn: Callable[..., Any] = nb.compile(step) if compiled else step
        losses = [float(fn(nb.tensor(x)).data) for x, _ in _batches(6, 8)]
        assert model.second.weight.data is model.first.weight.data
        return losses, model.first.weight.data.copy()

    eager_losses, eager_w = run(False)
    compiled_losses, compiled_w = run(True)
    assert compiled_losses == eager_losses
    np.testing.assert_array_equal(compiled_w, eager_w)


@pytest.mark.parametrize(
    "mask",
    [
        lambda x: x > 0,
        lambda x: ~(x <= 0),
        lambda x: (x >= 0) & (x != 0),
        lambda x: (x > 0) | (x == 100.0),
    ],
)
def test_a_mask_computed_inside_the_step_is_recomputed_on_every_call(mask: Any) -> None:
    def run(compiled: bool) -> tuple[list[float], np.ndarray]:
        w = nb.tensor(np.ones(3, np.float32), requires_grad=True)
        opt = nb.optim.SGD([w], lr=0.1)

        def step(x: Any) -> Any:
            loss = nb.where(mask(x), x * w, 0.0).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        fn: Callable[..., Any] = nb.compile(step) if compiled else step
        signs = [1.0, -1.0, 1.0, -1.0]
        losses = [float(fn(nb.tensor(s * np.ones(3, np.float32))).data) for s in signs]
        if compiled:
            assert fn.plans and all(p is not None for p in fn.plans.values())
        return losses, w.data.copy()

    eager_losses, eager_w = run(False)
    assert eager_losses[1] == 0.0
    compiled_losses, compiled_w = run(True)
    assert compiled_losses == eager_losses
    np.testing.assert_array_equal(compiled_w, eager_w)


def test_values_read_as_an_array_inside_the_step_keep_it_eager() -> None:
    w = nb.tensor(np.ones(3, np.float32), requires_grad=True)

    def step(x: Any) -> Any:
        keep = nb.tensor(np.asarray(x) > 0)  # NumPy on the values: not an op
        return nb.where(keep, x * w, 0.0).sum()

    compiled = nb.compile(step)
    assert float(compiled(nb.tensor(np.ones(3, np.float32))).data) == 3.0
    assert float(compiled(nb.tensor(-np.ones(3, np.float32))).data) == 0.0
    assert any("read as an array" in r for r in compiled.eager_reasons.values())


def test_a_weight_used_twice_with_cross_entropy_compiles_and_equals_eager() -> None:
    # the generated code once put a `del` between an if and its else (SyntaxError)
    def run(compiled: bool) -> tuple[list[float], np.ndarray]:
        nb.manual_seed(0)
        lin = nb.nn.Linear(6, 6, bias=False)
        opt = nb.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)

        def step(x: Any, y: Any) -> Any:
            loss = F.cross_entropy(lin(nb.tanh(lin(x))), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        fn: Callable[..., Any] = nb.compile(step) if compiled else step
        losses = [float(fn(nb.tensor(x), y).data) for x, y in _batches(4, 8)]
        if compiled:
            assert fn.plans and all(p is not None for p in fn.plans.values()), fn.eager_reasons
        return losses, lin.weight.data.copy()

    eager_losses, eager_w = run(False)
    compiled_losses, compiled_w = run(True)
    assert compiled_losses == eager_losses
    np.testing.assert_array_equal(compiled_w, eager_w)


def _changes_outside_ops(kind: str, model: Any, opt: Any) -> None:
    params = list(model.parameters())
    if kind == "clip-norm":
        nb.nn.utils.clip_grad_norm_(params, 0.1)
    elif kind == "clip-value":
        nb.nn.utils.clip_grad_value_(params, 0.01)
    elif kind == "scale-grad":
        for p in params:
            p.grad *= 0.5
    elif kind == "data-minus":
        for p in params:
            p.data -= 0.01 * p.grad
    elif kind == "no-grad-minus":
        with nb.no_grad():
            for p in params:
                p -= 0.01 * nb.tensor(p.grad)
    elif kind == "halve-lr":
        opt.param_groups[0]["lr"] *= 0.5


@pytest.mark.parametrize(
    "kind",
    ["clip-norm", "clip-value", "scale-grad", "data-minus", "no-grad-minus", "halve-lr"],
)
def test_changes_outside_recorded_ops_keep_the_step_eager(kind: str) -> None:
    # a replay runs recorded ops, backward passes and optimizer calls only: anything else
    # that changes gradients or values inside the step would be lost, so the step stays eager
    def run(compiled: bool) -> tuple[list[float], dict[str, np.ndarray], Any]:
        model, opt = _model("relu-sgd")

        def step(x: Any, y: Any) -> Any:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            _changes_outside_ops(kind, model, opt)
            opt.step()
            return loss

        fn: Any = nb.compile(step) if compiled else step
        losses = [float(fn(nb.tensor(x), y).data) for x, y in _batches(4, 8)]
        return losses, model.state_dict(), fn

    eager_losses, eager_state, _ = run(False)
    compiled_losses, compiled_state, fn = run(True)
    assert compiled_losses == eager_losses
    for name, value in eager_state.items():
        np.testing.assert_array_equal(compiled_state[name], value, err_msg=name)
    assert fn.eager_reasons and all(p is None for p in fn.plans.values())


def test_a_detached_output_keeps_the_step_eager() -> None:
    model, opt = _model("relu-sgd")

    def step(x: Any, y: Any) -> Any:
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss, out.detach()

    fn = nb.compile(step)
    firsts = [fn(nb.tensor(x), y)[1].data[0, 0] for x, y in _batches(3, 8)]
    assert len(set(firsts)) == 3  # new values on every call, not the first call's
    assert any("made outside recorded ops" in r for r in fn.eager_reasons.values())


def test_gradients_reset_by_hand_keep_the_step_eager() -> None:
    def run(compiled: bool) -> tuple[list[float], Any]:
        model, opt = _model("relu-sgd")

        def step(x: Any, y: Any) -> Any:
            for p in model.parameters():
                p.grad = None  # instead of opt.zero_grad(): a replay would not repeat it
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn: Any = nb.compile(step) if compiled else step
        return [float(fn(nb.tensor(x), y).data) for x, y in _batches(4, 8)], fn

    eager, _ = run(False)
    compiled, fn = run(True)
    assert compiled == eager
    assert any("set by hand" in r for r in fn.eager_reasons.values())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_cnn_training_equals_eager_bitwise(dtype: Any) -> None:
    """A LeNet-5-sized CNN: compiled steps run the same backward kernels as the engine
    (convolution's ∇X on the tall layout, max pooling's scatter), so they equal eager steps
    bitwise even where a kernel rounds differently from its op's plain rule."""
    rng = np.random.default_rng(5)
    batches = [
        (rng.standard_normal((16, 1, 28, 28)).astype(dtype), rng.integers(0, 10, 16))
        for _ in range(4)
    ]

    def run(compiled: bool) -> tuple[list[float], Any]:
        nb.manual_seed(0)
        nn = nb.nn
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),  # a dense gradient into ∇X
            nn.Flatten(), nn.Linear(400, 84), nn.Tanh(), nn.Linear(84, 10),
        )  # fmt: skip
        model.to(dtype=nb.float64 if dtype == np.float64 else nb.float32)
        opt = nb.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        step = _train_step(model, opt)
        fn: Callable[..., Any] = nb.compile(step) if compiled else step
        losses = [float(fn(nb.tensor(x), y).data) for x, y in batches]
        if compiled:
            assert fn.plans and all(p is not None for p in fn.plans.values()), fn.eager_reasons
        return losses, model

    eager_losses, eager = run(False)
    compiled_losses, compiled = run(True)
    assert compiled_losses == eager_losses
    for (name, a), b in zip(eager.state_dict().items(), compiled.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
