"""nb.save / nb.load with PyTorch's calling conventions: the form follows the object."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("safetensors")

import nabla as nb
from nabla.device import DeviceError
from nabla.errors import ModelFileError


def _model() -> nb.nn.Module:
    return nb.nn.Sequential(nb.nn.Conv2d(1, 2, 3), nb.nn.Flatten(), nb.nn.Linear(8, 2))


def test_a_module_comes_back_as_a_module(tmp_path: Path) -> None:
    model = _model()
    nb.save(model, tmp_path / "m.pt")
    loaded = nb.load(tmp_path / "m.pt")
    assert isinstance(loaded, nb.nn.Module) and not loaded.training
    x = nb.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(loaded(x).data, model.eval()(x).data)


def test_a_state_dict_comes_back_as_tensors_in_order(tmp_path: Path) -> None:
    model = _model()
    nb.save(model.state_dict(), tmp_path / "w.pt")
    state = nb.load(tmp_path / "w.pt", map_location="cpu", weights_only=True)
    assert list(state) == list(model.state_dict())
    assert all(isinstance(v, nb.Tensor) for v in state.values())
    other = _model()
    other.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)


def test_a_nested_structure_comes_back_as_a_checkpoint(tmp_path: Path) -> None:
    model = _model()
    optimizer = nb.optim.Adam(model.parameters())
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}
    nb.save(state, tmp_path / "c.pt")
    back = nb.load(tmp_path / "c.pt")
    assert back["epoch"] == 3 and set(back) == {"model", "optimizer", "epoch"}
    np.testing.assert_array_equal(back["model"]["0.weight"], model.state_dict()["0.weight"])


def test_a_plain_safetensors_file_reads_as_weights(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"b": np.ones(2, np.float32), "a": np.zeros((2, 2), np.float32)}, tmp_path / "p")
    state = nb.load(tmp_path / "p")
    assert list(state) == ["a", "b"] and state["b"].shape == (2,)


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    nb.save(_model().state_dict(), tmp_path / "w.pt", pickle_protocol=4)  # accepted, unused
    with pytest.raises(DeviceError, match="not available"):
        nb.load(tmp_path / "w.pt", map_location="cuda:0")
    with pytest.raises(TypeError, match="unexpected keyword argument 'compress'"):
        nb.save(_model(), tmp_path / "x.pt", compress=True)
    with pytest.raises(TypeError, match="metadata= is stored with a Module"):
        nb.save({"epoch": 1}, tmp_path / "x.pt", metadata={"a": 1})
    with pytest.raises(ModelFileError, match="no such file"):
        nb.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 3)
    with pytest.raises(ModelFileError, match="truncated or corrupted"):
        nb.load(tmp_path / "junk.pt")
