"""PyTorch-layout safetensors files, made by hand (no torch): load them, and write them back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import StateDictError
from nabla.io import load_pytorch_weights, load_state_dict, mlp_from_pytorch, save_pytorch_weights

st = pytest.importorskip("safetensors.numpy")


def torch_layout(rng: np.random.Generator) -> dict[str, np.ndarray[Any, Any]]:
    """``torch.nn.Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(), Dropout(0.1), Linear(8, 3))``
    after some training: its ``state_dict()``, names, shapes and dtypes as PyTorch writes them."""
    f32 = np.float32
    return {
        "0.weight": rng.normal(size=(8, 4)).astype(f32),  # (out_features, in_features)
        "0.bias": rng.normal(size=8).astype(f32),
        "1.weight": rng.uniform(0.5, 1.5, size=8).astype(f32),
        "1.bias": rng.normal(size=8).astype(f32),
        "1.running_mean": rng.normal(size=8).astype(f32),
        "1.running_var": rng.uniform(0.5, 2.0, size=8).astype(f32),
        "1.num_batches_tracked": np.array(17, dtype=np.int64),  # a 0-d int64 tensor
        "4.weight": rng.normal(size=(3, 8)).astype(f32),
        "4.bias": rng.normal(size=3).astype(f32),
    }


def torch_forward(s: dict[str, np.ndarray[Any, Any]], x: np.ndarray[Any, Any]) -> Any:
    """What the PyTorch model computes in eval mode (BatchNorm eps 1e-5, Dropout off)."""
    h = x @ s["0.weight"].T + s["0.bias"]
    h = (h - s["1.running_mean"]) / np.sqrt(s["1.running_var"] + 1e-5) * s["1.weight"]
    h = np.maximum(h + s["1.bias"], 0)
    return h @ s["4.weight"].T + s["4.bias"]


@pytest.fixture
def torch_file(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, dict[str, Any]]:
    state = torch_layout(rng)
    path = tmp_path / "torch.safetensors"
    # Hugging Face tags its files {"format": "pt"}; safetensors.torch.save_file adds nothing
    st.save_file(state, str(path), metadata={"format": "pt"})
    return path, state


def test_read_a_pytorch_file(torch_file: tuple[Path, dict[str, Any]]) -> None:
    path, state = torch_file
    loaded = load_state_dict(path)  # a foreign file with metadata is still a plain file
    assert sorted(loaded) == sorted(state)
    assert loaded["1.num_batches_tracked"].shape == () and loaded["0.weight"].shape == (8, 4)


def test_into_the_equivalent_sequential_and_mlp(
    torch_file: tuple[Path, dict[str, Any]], rng: np.random.Generator
) -> None:
    path, state = torch_file
    x = rng.normal(size=(5, 4)).astype(np.float32)
    expected = torch_forward(state, x)
    seq = nb.nn.Sequential(
        nb.nn.Linear(4, 8),
        nb.nn.BatchNorm1d(8),
        nb.nn.ReLU(),
        nb.nn.Dropout(0.1),
        nb.nn.Linear(8, 3),
    )
    load_pytorch_weights(seq, path).eval()
    np.testing.assert_allclose(seq(nb.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
    mlp = mlp_from_pytorch(path, activation="relu", dropout=0.1)
    assert mlp.sizes == [4, 8, 3] and mlp.batch_norm and not mlp.training
    np.testing.assert_allclose(mlp(nb.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
    assert int(mlp[1].num_batches_tracked) == 17


def test_layout_mismatches_name_the_indices(torch_file: tuple[Path, dict[str, Any]]) -> None:
    path, _ = torch_file
    with pytest.raises(StateDictError, match=r"indices \[0, 4\].*\[0, 3\].*dropout > 0"):
        mlp_from_pytorch(path)  # the PyTorch model has Dropout layers
    with pytest.raises(StateDictError, match=r"size mismatch for 0\.weight"):
        load_pytorch_weights(nb.nn.MLP([5, 8, 3], batch_norm=True, dropout=0.1), path)


def test_float64_weights_fill_a_float32_model(rng: np.random.Generator) -> None:
    state = {
        k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in torch_layout(rng).items()
    }
    mlp = nb.nn.MLP([4, 8, 3], activation="relu", batch_norm=True, dropout=0.5)
    load_pytorch_weights(mlp, state)
    assert mlp.dtype == np.float32
    np.testing.assert_allclose(mlp[0].weight.data, state["0.weight"], rtol=1e-7)


def test_save_in_pytorch_layout(tmp_path: Path, rng: np.random.Generator) -> None:
    reference = torch_layout(rng)
    mlp = nb.nn.MLP([4, 8, 3], activation="relu", batch_norm=True, dropout=0.1)
    load_pytorch_weights(mlp, reference)
    path = tmp_path / "for_torch.safetensors"
    save_pytorch_weights(mlp, path)
    written = st.load_file(str(path))  # what safetensors.torch.load_file would return
    assert {k: (v.dtype, v.shape) for k, v in written.items()} == {
        k: (v.dtype, v.shape) for k, v in reference.items()
    }
    for key, value in reference.items():
        np.testing.assert_array_equal(written[key], value)
    header = json.loads(path.read_bytes()[8 : 8 + int.from_bytes(path.read_bytes()[:8], "little")])
    assert header["__metadata__"] == {"format": "pt"}  # no nabla metadata, no checksum
    save_pytorch_weights(mlp.double(), path, dtype="float32")
    assert st.load_file(str(path))["0.weight"].dtype == np.float32
