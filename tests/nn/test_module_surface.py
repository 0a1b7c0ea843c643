"""PyTorch's Module surface: apply, modules/named_modules, forward hooks and pre-hooks,
register_buffer(persistent=), ModuleList, ModuleDict and ParameterList, compared with PyTorch
2.13 on the same structures, and kept through nb.save / nb.load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.nn import Linear, Module, ReLU, Sequential, Tanh
from nabla.nn.container import ModuleDict, ModuleList, ParameterList, from_spec

torch = pytest.importorskip("torch")


def pair() -> tuple[Any, Any]:
    """The same nested structure in nabla and PyTorch, with one module shared twice."""
    shared_n, shared_t = Linear(2, 2), torch.nn.Linear(2, 2)
    ours = Sequential(Linear(3, 2), Sequential(Tanh(), shared_n), shared_n, ReLU())
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 2), torch.nn.Sequential(torch.nn.Tanh(), shared_t), shared_t,
        torch.nn.ReLU(),
    )  # fmt: skip
    return ours, theirs


# ----- traversal ----------------------------------------------------------------------------------
def test_apply_visits_children_first_and_returns_self() -> None:
    ours, theirs = pair()
    seen_n: list[str] = []
    seen_t: list[str] = []
    assert ours.apply(lambda m: seen_n.append(type(m).__name__)) is ours
    theirs.apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_n == seen_t  # the shared Linear twice, as PyTorch


def test_apply_initialises_weights_as_in_pytorch_scripts() -> None:
    ours, _ = pair()

    def init(m: Module) -> None:
        if isinstance(m, Linear):
            nb.nn.init.constant_(m.weight, 0.5)

    ours.apply(init)
    assert all(np.all(m.weight.data == 0.5) for m in ours.modules() if isinstance(m, Linear))


@pytest.mark.parametrize("remove_duplicate", [True, False])
def test_named_modules_matches_pytorch(remove_duplicate: bool) -> None:
    ours, theirs = pair()
    names_n = [
        (n, type(m).__name__) for n, m in ours.named_modules(remove_duplicate=remove_duplicate)
    ]
    names_t = [
        (n, type(m).__name__) for n, m in theirs.named_modules(remove_duplicate=remove_duplicate)
    ]
    assert names_n == names_t
    assert [n for n, _ in ours.named_modules(prefix="net")] == [
        n for n, _ in theirs.named_modules(prefix="net")
    ]
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters(remove_duplicate=False)] == [
        n for n, _ in theirs.named_parameters(remove_duplicate=False)
    ]
    assert ours.get_submodule("1.1") is ours[2]


# ----- hooks --------------------------------------------------------------------------------------
def test_hooks_replace_input_and_output_and_run_in_pytorchs_order() -> None:
    def run(lib: Any, layer: Any, x: Any) -> tuple[list[str], Any]:
        calls: list[str] = []
        layer.register_forward_pre_hook(lambda m, args: (calls.append("pre"), None)[1])
        layer.register_forward_pre_hook(lambda m, args: args[0] * 2)  # a bare value: wrapped
        layer.register_forward_pre_hook(
            lambda m, args: (calls.append("pre_first"), None)[1], prepend=True
        )
        layer.register_forward_hook(lambda m, args, out: (calls.append("post"), None)[1])
        layer.register_forward_hook(lambda m, args, out: out + 1)
        layer.register_forward_hook(
            lambda m, args, kwargs, out: (calls.append(f"kw{sorted(kwargs)}"), None)[1],
            with_kwargs=True,
        )
        return calls, layer(x)

    x = np.array([[1.0, -2.0, 3.0]])
    calls_n, out_n = run(nb, Tanh(), nb.tensor(x))
    calls_t, out_t = run(torch, torch.nn.Tanh(), torch.tensor(x))
    assert calls_n == calls_t == ["pre_first", "pre", "post", "kw[]"]
    np.testing.assert_allclose(out_n.data, out_t.numpy(), rtol=1e-15)
    np.testing.assert_allclose(out_n.data, np.tanh(2 * x) + 1, rtol=1e-15)


def test_hook_handles_remove_and_kwargs_hooks_rewrite_arguments() -> None:
    class Scale(Module):
        def forward(self, x: Any, factor: float = 1.0) -> Any:
            return x * factor

    layer, seen = Scale(), []
    handle = layer.register_forward_pre_hook(
        lambda m, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True
    )
    assert float(layer(nb.tensor(2.0), factor=5.0).data) == 6.0
    handle.remove()
    handle.remove()  # twice is harmless
    assert float(layer(nb.tensor(2.0), factor=5.0).data) == 10.0
    with layer.register_forward_hook(lambda m, args, out: seen.append(out)):
        layer(nb.tensor(1.0))
    layer(nb.tensor(1.0))
    assert len(seen) == 1
    layer.register_forward_pre_hook(lambda m, a, k: 1, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        layer(nb.tensor(1.0))


def test_always_call_hooks_run_when_forward_raises() -> None:
    class Boom(Module):
        def forward(self, x: Any) -> Any:
            raise ValueError("boom")

    layer, calls = Boom(), []
    layer.register_forward_hook(lambda m, a, o: calls.append("normal"))
    layer.register_forward_hook(lambda m, a, o: calls.append(o), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        layer(nb.tensor(1.0))
    assert calls == [None]


def test_gradients_flow_through_a_hooked_module() -> None:
    layer = Linear(3, 2, dtype=np.float64)
    layer.register_forward_hook(lambda m, args, out: out * 2)
    x = nb.tensor(np.ones((1, 3)), requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * layer.weight.data.sum(axis=0, keepdims=True))


# ----- buffers ------------------------------------------------------------------------------------
class WithBuffers(Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = Linear(2, 2)
        self.register_buffer("kept", np.arange(3.0))
        self.register_buffer("scratch", nb.zeros(4), persistent=False)

    def forward(self, x: Any) -> Any:
        return self.lin(x) + float(self.kept.sum())

    def get_config(self) -> dict[str, Any]:
        return {}


def test_non_persistent_buffers_stay_out_of_the_state_dict_as_in_pytorch(tmp_path: Path) -> None:
    class TorchTwin(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)
            self.register_buffer("kept", torch.arange(3.0))
            self.register_buffer("scratch", torch.zeros(4), persistent=False)

    ours, theirs = WithBuffers(), TorchTwin()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # strict
    np.testing.assert_array_equal(ours.lin.weight.data, theirs.lin.weight.detach().numpy())
    nb.save(ours, tmp_path / "b.safetensors")
    loaded = nb.load(tmp_path / "b.safetensors")
    assert "scratch" not in loaded.state_dict() and loaded.scratch.shape == (4,)
    np.testing.assert_array_equal(loaded.kept, ours.kept)


def test_register_buffer_refuses_what_pytorch_refuses() -> None:
    m = WithBuffers()
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(KeyError, match="be empty string"):
        m.register_buffer("", np.zeros(1))
    with pytest.raises(KeyError, match="attribute 'lin' already exists"):
        m.register_buffer("lin", np.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'str' object to buffer 'x'"):
        m.register_buffer("x", "zeros")
    m.register_buffer("scratch", np.ones(2))  # persistent again
    assert "scratch" in m.state_dict()


# ----- containers ---------------------------------------------------------------------------------
def keys(module: Any) -> list[str]:
    return list(module.state_dict())


def test_module_list_matches_pytorch_layouts() -> None:
    def build(lib: Any) -> Any:
        nn = lib.nn
        layers = nn.ModuleList([nn.Linear(2, 3), nn.Tanh()])
        layers.append(nn.Linear(3, 4))
        layers.extend([nn.ReLU(), nn.Linear(4, 1)])
        layers.insert(1, nn.Linear(3, 3))
        layers += [nn.Linear(1, 1)]
        del layers[2]
        layers[0] = nn.Linear(2, 3, bias=False)
        return layers

    ours, theirs = build(nb), build(torch)
    assert keys(ours) == keys(theirs)
    assert len(ours) == len(theirs) == 6
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert keys(ours[1:4]) == keys(theirs[1:4])
    assert type(ours[-1]) is Linear and ours[-1] is list(ours)[-1]
    assert keys(ours + ModuleList([Linear(1, 1)])) == keys(
        theirs + torch.nn.ModuleList([torch.nn.Linear(1, 1)])
    )
    popped = ours.pop(0)
    assert isinstance(popped, Linear) and len(ours) == 5 and keys(ours)[0] == "0.weight"
    with pytest.raises(IndexError, match="index 9 is out of range"):
        ours[9]
    with pytest.raises(TypeError, match=r"ModuleList\.extend should be called with an iterable"):
        ours.extend(Linear(1, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        ours.append(3)  # type: ignore[arg-type]


def test_module_list_inside_a_model_trains() -> None:
    class Net(Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = ModuleList([Linear(4, 4, dtype=np.float64) for _ in range(3)])

        def forward(self, x: Any) -> Any:
            for block in self.blocks:
                x = nb.tanh(block(x))
            return x

    net = Net()
    assert keys(net)[:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert len(list(net.parameters())) == 6
    x = nb.tensor(np.random.default_rng(0).normal(size=(5, 4)))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_module_dict_matches_pytorch() -> None:
    def build(lib: Any) -> Any:
        nn = lib.nn
        d = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.Tanh()})
        d.update([("c", nn.Linear(2, 1)), ("a", nn.Linear(1, 1))])
        d["e"] = nn.Linear(3, 3)
        del d["b"]
        return d

    ours, theirs = build(nb), build(torch)
    assert keys(ours) == keys(theirs)
    assert list(ours) == list(theirs) == list(ours.keys())
    assert "c" in ours and "b" not in ours and len(ours) == 3
    assert [type(v).__name__ for v in ours.values()] == [type(v).__name__ for v in theirs.values()]
    assert isinstance(ours.pop("e"), Linear) and list(ours) == ["a", "c"]
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        ours.update([("x", Linear(1, 1), 3)])


def test_parameter_list_matches_pytorch_and_reaches_the_optimizer() -> None:
    values = [np.ones((2, 3), np.float32), np.zeros(4, np.float32)]
    ours = ParameterList([nb.tensor(v) for v in values])
    theirs = torch.nn.ParameterList([torch.tensor(v) for v in values])
    ours.append(nb.tensor(np.full(2, 5.0, np.float32)))
    theirs.append(torch.tensor(np.full(2, 5.0, np.float32)))
    assert keys(ours) == keys(theirs) == ["0", "1", "2"]
    assert all(isinstance(p, nb.nn.Parameter) and p.requires_grad for p in ours)
    optimizer = nb.optim.SGD(ours.parameters(), lr=1.0)
    (ours[0].sum() + ours[2].sum()).backward()
    optimizer.step()
    np.testing.assert_array_equal(ours[0].data, 0.0)
    np.testing.assert_array_equal(ours[1].data, 0.0)


def test_containers_rebuild_from_their_spec_and_files(tmp_path: Path) -> None:
    layers = ModuleList([Linear(2, 3), Tanh(), Linear(3, 1)])
    table = ModuleDict({"enc": Linear(2, 2), "act": ReLU()})
    params = ParameterList([nb.tensor(np.arange(6.0).reshape(2, 3))])
    for module in (layers, table, params):
        rebuilt = from_spec(module.spec())
        assert type(rebuilt) is type(module) and keys(rebuilt) == keys(module)
        path = tmp_path / f"{type(module).__name__}.safetensors"
        nb.save(module, path)
        loaded = nb.load(path)
        for key, value in module.state_dict().items():
            np.testing.assert_array_equal(loaded.state_dict()[key], value)


# ----- devices and dtypes -------------------------------------------------------------------------
def test_module_to_takes_pytorchs_forms() -> None:
    from nabla.device import DeviceError

    ours = WithBuffers()
    theirs = torch.nn.Linear(2, 2)
    assert ours.to("cpu") is ours and ours.cpu() is ours and theirs.to("cpu") is theirs
    assert ours.to(np.float64).lin.weight.dtype == np.float64 and ours.kept.dtype == np.float64
    assert ours.to("cpu", np.float32).lin.weight.dtype == np.float32
    assert ours.to(nb.zeros(1, dtype=np.float64)).lin.weight.dtype == np.float64
    assert ours.to(device="cpu", dtype=np.float32).lin.weight.dtype == np.float32
    with pytest.raises(DeviceError, match="device 'cuda' is not available"):
        ours.to("cuda")
    with pytest.raises(DeviceError, match="device 'cuda' is not available"):
        ours.cuda()
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        ours.to(np.int64)
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        theirs.to(torch.int64)
