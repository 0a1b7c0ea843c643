"""nb.load checks a file's architecture against its tensors before building anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("safetensors")

import nabla as nb
from nabla.errors import ModelFileError
from nabla.io import load, model_file, save


def _hostile(path: Path, architecture: str, tensors: dict[str, Any] | None = None) -> Path:
    """A well-formed model file (valid checksum) whose architecture text is `architecture`."""
    tensors = {"0.weight": np.zeros((2, 2), np.float32)} if tensors is None else tensors
    metadata = {"architecture": architecture, "user": "{}"}
    model_file.write_container(path, tensors, metadata, model_file.MODEL)
    return path


def _nested(depth: int) -> str:
    return '{"type": "Sequential", "layers": [' * depth + '{"type": "ReLU"}' + "]}" * depth


@pytest.fixture
def no_building(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if nb.load starts building modules."""

    def refuse(spec: Any) -> Any:
        raise AssertionError(f"nb.load built the architecture {str(spec)[:60]} before checking it")

    monkeypatch.setattr(model_file, "from_spec", refuse)


@pytest.mark.usefixtures("no_building")
def test_huge_layer_is_refused_before_it_is_built(tmp_path: Path) -> None:
    # 144 million weights (2 GB and 16 s to initialise) named by a file of a few hundred bytes
    spec = {"type": "Linear", "config": {"in_features": 12000, "out_features": 12000}}
    path = _hostile(tmp_path / "m.safetensors", json.dumps(spec))
    assert path.stat().st_size < 1000
    with pytest.raises(ModelFileError, match=r"needs weight of shape \(12000, 12000\)") as info:
        load(path)
    assert str(path) in str(info.value)


@pytest.mark.usefixtures("no_building")
@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"in_channels": 100000, "out_channels": 100000, "kernel_size": [9, 9]},
            r"needs weight of shape \(100000, 100000, 9, 9\)",
        ),
        ({"in_channels": 4, "out_channels": 6, "kernel_size": [3]}, "list of 2 integers"),
        (
            {"in_channels": 4, "out_channels": 6, "kernel_size": [3, 3], "groups": 4},
            "groups=4 must divide",
        ),
        ({"in_channels": 4, "out_channels": 6, "kernel_size": [3, -1]}, "kernel_size must be"),
    ],
)
def test_a_lying_conv_is_refused_before_it_is_built(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    path = _hostile(tmp_path / "m.safetensors", json.dumps({"type": "Conv2d", "config": config}))
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_loading_a_lying_file_allocates_almost_nothing(tmp_path: Path, peak_memory: Any) -> None:
    spec = {"type": "MLP", "config": {"sizes": [2000, 2000, 3]}}  # 16 MB of float32 weights
    path = _hostile(tmp_path / "m.safetensors", json.dumps(spec))
    with (
        peak_memory() as peak,
        pytest.raises(ModelFileError, match=r"0\.weight has shape \(2, 2\) in the file"),
    ):
        load(path)
    assert peak.bytes < 1_000_000


@pytest.mark.parametrize("depth", [100, 3000])  # past MAX_DEPTH (64); past the stack
def test_deep_nesting_is_one_clear_error(tmp_path: Path, depth: int) -> None:
    path = _hostile(tmp_path / "m.safetensors", _nested(depth))
    with pytest.raises(ModelFileError, match=r"(nested too deeply|more than 64 deep)$"):
        load(path)


def test_too_many_modules(tmp_path: Path) -> None:
    layers = ", ".join(['{"type": "ReLU"}'] * 10_001)  # MAX_MODULES is 10_000
    path = _hostile(tmp_path / "m.safetensors", f'{{"type": "Sequential", "layers": [{layers}]}}')
    with pytest.raises(ModelFileError, match="more than 10000 modules"):
        load(path)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"in_features": "12", "out_features": 2}, "in_features must be a positive integer"),
        ({"in_features": 2, "out_features": -5}, "out_features must be a positive integer"),
    ],
)
def test_invalid_widths(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    path = _hostile(tmp_path / "m.safetensors", json.dumps({"type": "Linear", "config": config}))
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_extra_tensor_is_named(tmp_path: Path) -> None:
    tensors = {"weight": np.zeros((2, 3), np.float32), "scale": np.zeros(2, np.float32)}
    spec = {"type": "Linear", "config": {"in_features": 3, "out_features": 2, "bias": False}}
    with pytest.raises(ModelFileError, match="has no scale"):
        load(_hostile(tmp_path / "m.safetensors", json.dumps(spec), tensors))


@pytest.mark.parametrize(
    "model",
    [
        nb.nn.MLP([4, 8, 8, 3], batch_norm=True, dropout=0.2),
        nb.nn.MLP([4, 1], activation="relu"),
        nb.nn.LogisticRegression(4),
        nb.nn.LogisticRegression(4, 5),
        nb.nn.Sequential(
            nb.nn.Flatten(),
            nb.nn.Linear(6, 4, bias=False),
            nb.nn.BatchNorm1d(4, affine=False),
            nb.nn.Sequential(nb.nn.LeakyReLU(), nb.nn.MLP([4, 2])),
            nb.nn.LogSoftmax(),
        ),
        nb.nn.BatchNorm1d(3, track_running_stats=False),
        nb.nn.Sequential(
            nb.nn.Conv2d(3, 8, (3, 2), groups=1, padding="same"),
            nb.nn.BatchNorm2d(8),
            nb.nn.MaxPool2d(2),
            nb.nn.Conv2d(8, 4, 3, groups=2, bias=False),
            nb.nn.Dropout2d(0.2),
            nb.nn.AvgPool2d(2, ceil_mode=True),
            nb.nn.AdaptiveAvgPool2d((1, 1)),
            nb.nn.Flatten(),
            nb.nn.Linear(4, 2),
        ),
        nb.nn.Sequential(nb.nn.Conv1d(2, 4, 3), nb.nn.MaxPool1d(2), nb.nn.AdaptiveAvgPool1d(1)),
    ],
    ids=[
        "mlp-bn-dropout",
        "mlp-binary",
        "logistic",
        "logistic-5",
        "nested",
        "bn-no-stats",
        "cnn",
        "conv1d",
    ],
)
def test_rules_match_the_built_layers(model: nb.nn.Module, tmp_path: Path) -> None:
    from nabla.io.architecture import expected_shapes

    shapes, unchecked = expected_shapes(model.spec())
    assert unchecked == []
    assert shapes == {key: value.shape for key, value in model.state_dict().items()}
    save(model, tmp_path / "m.safetensors")
    assert list(load(tmp_path / "m.safetensors").state_dict()) == list(model.state_dict())


@pytest.mark.usefixtures("no_building")
def test_an_unknown_activation_is_refused_before_building(tmp_path: Path) -> None:
    spec = {"type": "MLP", "config": {"sizes": [2, 2], "activation": "swish"}}
    path = _hostile(tmp_path / "m.safetensors", json.dumps(spec))
    known = ", ".join(sorted(nb.nn.ACTIVATIONS))
    with pytest.raises(ModelFileError, match=f"MLP: unknown activation 'swish'; known.*{known}"):
        load(path)


@pytest.mark.usefixtures("no_building")
@pytest.mark.parametrize("slope", ["0.1", None, 1e309])
def test_an_activation_parameter_must_be_a_number(tmp_path: Path, slope: Any) -> None:
    # the registry names LeakyReLU's parameter; 1e309 is JSON's way to write inf
    spec = {"type": "LeakyReLU", "config": {"negative_slope": slope}}
    path = _hostile(tmp_path / "m.safetensors", json.dumps(spec), {})
    with pytest.raises(ModelFileError, match="LeakyReLU: negative_slope must be a number"):
        load(path)


@pytest.mark.parametrize("activation", sorted(nb.nn.ACTIVATIONS))
def test_every_registered_activation_round_trips(activation: str, tmp_path: Path) -> None:
    model = nb.nn.MLP([3, 4, 2], activation=activation, negative_slope=0.3)
    save(model, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert [type(m) for m in loaded] == [type(m) for m in model]
    assert loaded.get_config() == model.get_config()
