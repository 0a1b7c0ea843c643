"""Module and Sequential: registration, traversal, modes, state dicts, buffers, repr, dtype."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import StateDictError
from nabla.nn import Linear, Module, Parameter, Sequential, Tanh


class Affine(Module):
    """y = x ⊙ scale + shift, with a child Linear and a buffer (a module written by hand)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(n))
        self.inner = Linear(n, n, dtype=np.float64)
        self.shift = Parameter(np.zeros(n))
        self.register_buffer("count", np.zeros(n))
        self.note = "plain attribute"

    def forward(self, x: Any) -> nb.Tensor:
        return self.inner(x * self.scale + self.shift)


def three_layer(seed: int) -> Sequential:
    nb.manual_seed(seed)
    return Sequential(Linear(4, 8), Tanh(), Linear(8, 3))


# ----- registration and traversal ------------------------------------------------------------
def test_parameters_children_and_plain_attributes_are_registered_apart() -> None:
    m = Affine(3)
    assert list(m._parameters) == ["scale", "shift"]
    assert list(m._modules) == ["inner"]
    assert list(m._buffers) == ["count"]
    assert m.note == "plain attribute"
    assert "note" not in m._parameters and "note" not in m._modules
    names = [name for name, _ in m.named_parameters()]
    assert names == ["scale", "shift", "inner.weight", "inner.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "inner"]
    assert list(m.children()) == [m.inner]


def test_sequential_names_follow_pytorch_layout() -> None:
    model = three_layer(0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.shape for p in model.parameters()] == [(8, 4), (8,), (3, 8), (3,)]
    assert all(isinstance(p, Parameter) and p.requires_grad for p in model.parameters())
    assert model.num_parameters() == 8 * 4 + 8 + 3 * 8 + 3
    assert len(model) == 3 and isinstance(model[1], Tanh)


def test_parameters_yields_a_shared_parameter_once() -> None:
    layer = Linear(3, 3)
    model = Sequential(layer, Tanh(), layer)
    params = list(model.parameters())
    assert len(params) == 2
    assert params[0] is layer.weight and params[1] is layer.bias
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert model.num_parameters() == 3 * 3 + 3


def test_reassigning_an_attribute_moves_it_between_stores() -> None:
    m = Affine(2)
    m.scale = Linear(2, 2)  # a parameter name now holds a module
    assert "scale" not in m._parameters and "scale" in m._modules
    m.scale = 3.0
    assert "scale" not in m._modules and m.scale == 3.0
    del m.shift
    assert "shift" not in m._parameters


def test_sequential_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match="argument 1"):
        Sequential(Linear(2, 2), lambda x: x)  # type: ignore[arg-type]


def test_assigning_before_super_init_names_the_fix() -> None:
    class Broken(Module):
        def __init__(self) -> None:
            self.weight = Parameter(np.zeros(2))
            super().__init__()

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


# ----- modes and gradients ----------------------------------------------------------------------
def test_train_and_eval_reach_every_nested_module() -> None:
    model = Sequential(Affine(2), Sequential(Linear(2, 2), nb.nn.Dropout(0.5)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())


def test_zero_grad_clears_or_zeroes_every_gradient() -> None:
    model = three_layer(1)
    model(nb.ones(5, 4)).sum().backward()
    assert all(p.grad is not None and np.any(p.grad != 0) for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not np.any(p.grad) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ----- state dict -----------------------------------------------------------------------------
def test_state_dict_round_trip_reproduces_outputs_and_copies_values() -> None:
    source, target = three_layer(1), three_layer(2)
    x = nb.tensor(np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32))
    assert not np.allclose(source(x).data, target(x).data)
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert target.load_state_dict(state) == ([], [])
    np.testing.assert_array_equal(target(x).data, source(x).data)
    before = target.state_dict()["0.weight"].copy()
    source[0].weight.data += 1.0  # the target holds its own copy
    np.testing.assert_array_equal(target[0].weight.data, before)


def test_load_state_dict_accepts_tensors() -> None:
    source, target = three_layer(1), three_layer(2)
    target.load_state_dict({k: nb.tensor(v) for k, v in source.state_dict().items()})
    for a, b in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def snapshot(model: Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_unchanged(model: Module, before: dict[str, np.ndarray]) -> None:
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


def test_strict_load_reports_missing_keys_and_changes_nothing() -> None:
    model = three_layer(1)
    before = snapshot(model)
    state = {k: v + 1 for k, v in three_layer(2).state_dict().items() if k != "2.bias"}
    with pytest.raises(StateDictError, match=r"missing key\(s\): 2\.bias"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_strict_load_reports_unexpected_keys_and_changes_nothing() -> None:
    model = three_layer(1)
    before = snapshot(model)
    state = dict(three_layer(2).state_dict())
    state["5.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(StateDictError, match=r"unexpected key\(s\): 5\.weight"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_shape_mismatch_names_key_and_both_shapes_and_changes_nothing() -> None:
    model = three_layer(1)
    before = snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}  # 0.* would load cleanly
    state["2.weight"] = np.zeros((3, 7), np.float32)
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "2.weight" in message and "(3, 7)" in message and "(3, 8)" in message
    assert_unchanged(model, before)
    with pytest.raises(StateDictError, match=r"2\.weight"):  # shapes are checked even when lax
        model.load_state_dict(state, strict=False)
    assert_unchanged(model, before)


def test_non_strict_load_copies_what_matches_and_reports_the_rest() -> None:
    model, source = three_layer(1), three_layer(2)
    before = snapshot(model)
    state = {"0.weight": source.state_dict()["0.weight"], "9.bias": np.zeros(3)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["0.bias", "2.weight", "2.bias"]
    assert unexpected == ["9.bias"]
    np.testing.assert_array_equal(model[0].weight.data, source[0].weight.data)
    for key in missing:
        np.testing.assert_array_equal(model.state_dict()[key], before[key])


# ----- buffers ------------------------------------------------------------------------------------
def test_buffers_are_saved_and_loaded_but_not_trained() -> None:
    m = Affine(3)
    assert "count" in m.state_dict()
    assert all(p is not m.count for p in m.parameters())
    assert [n for n, _ in m.named_buffers()] == ["count"]
    m.count = [1.0, 2.0, 3.0]  # assignment keeps it a buffer (stored as an array)
    assert isinstance(m.count, np.ndarray) and "count" in m._buffers
    np.testing.assert_array_equal(m.state_dict()["count"], [1.0, 2.0, 3.0])
    other = Affine(3)
    other.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(other.count, [1.0, 2.0, 3.0])
    m.count = None  # a None buffer is skipped by the state dict
    assert "count" not in m.state_dict()


# ----- repr and dtype ---------------------------------------------------------------------------
def test_repr_lists_layers_and_parameter_counts() -> None:
    text = repr(three_layer(0))
    assert "(0): Linear(in_features=4, out_features=8, bias=True)" in text
    assert "(1): Tanh()" in text
    assert "(2): Linear(in_features=8, out_features=3, bias=True)" in text
    assert f"# {8 * 4 + 8} params" in text and f"# {3 * 8 + 3} params" in text
    assert f"# {8 * 4 + 8 + 3 * 8 + 3} parameters" in text


@pytest.mark.parametrize("convert", ["to", "double"])
def test_to_float64_converts_parameters_and_buffers_in_place(convert: str) -> None:
    model = Sequential(Linear(3, 4), nb.nn.BatchNorm1d(4))
    params = list(model.parameters())
    values = [p.data.copy() for p in params]
    model(nb.ones(2, 3)).sum().backward()
    out = model.to(np.float64) if convert == "to" else model.double()
    assert out is model
    assert all(a is b for a, b in zip(model.parameters(), params))  # optimizers keep working
    for p, v in zip(model.parameters(), values):
        assert p.dtype == np.float64 and p.grad is None
        np.testing.assert_array_equal(p.data, v.astype(np.float64))
    bn = model[1]
    assert bn.running_mean.dtype == np.float64 and bn.running_var.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64  # integer buffers are left alone
    assert model.dtype == np.float64
    assert model(nb.tensor(np.ones((2, 3)))).dtype == np.float64
    model.float()
    assert model.dtype == np.float32 and bn.running_var.dtype == np.float32
