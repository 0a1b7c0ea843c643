"""save_checkpoint / load_checkpoint: nested training state back exactly, types and bits included."""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("safetensors")

from safetensors import safe_open

import nabla as nb
from nabla.errors import DTypeError, ModelFileError
from nabla.io import load_checkpoint, save, save_checkpoint


def assert_identical(expected: Any, actual: Any, where: str = "state") -> None:
    """Same types (keys too), same values; arrays bit for bit; floats by repr (NaN, -0.0)."""
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, (np.ndarray, np.generic)):
        assert actual.dtype == expected.dtype, where
        assert actual.shape == expected.shape, where
        assert actual.tobytes() == expected.tobytes(), where
    elif isinstance(expected, dict):
        assert [(type(k), k) for k in actual] == [(type(k), k) for k in expected], where
        for key in expected:
            assert_identical(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_identical(e, a, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert repr(actual) == repr(expected), where
    else:
        assert actual == expected, where


def _training_state() -> dict[str, Any]:
    model = nb.nn.MLP([4, 8, 3], batch_norm=True)
    rng = np.random.default_rng(7)
    rng.normal(size=10)
    mt = np.random.RandomState(3)
    return {
        "model": dict(model.state_dict()),
        "optimizer": {
            "state": {
                0: {"step": 3, "exp_avg": np.full((8, 4), 0.5, np.float32)},
                1: {"step": 3, "exp_avg": np.zeros(8, np.float32)},
                5: {"momentum_buffer": None},
            },
            "param_groups": [
                {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1, 5]},
            ],
        },
        "scheduler": {"last_epoch": 4, "base_lrs": [0.1], "_step_count": 5},
        "rng": rng.bit_generator.state,  # 128-bit ints
        "legacy_rng": mt.get_state(legacy=False),  # uint32 key array
        "nabla_rng": nb.get_rng_state(),
        "loader": {"epoch": 2, "indices": np.arange(10, dtype=np.int64), "shuffle": True},
        "epoch": 5,
        "best": math.inf,
        "history": [{"loss": 0.5, "acc": None}, {"loss": float("nan"), "acc": 0.75}],
        "note": "résumé ✓",
    }


def test_training_state_round_trip(tmp_path: Path) -> None:
    state = _training_state()
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, state)
    loaded = load_checkpoint(path)
    assert_identical(state, loaded)
    assert loaded["rng"]["state"]["state"] > 2**64  # big ints survive JSON exactly


def test_restored_rng_continues_the_stream(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    rng.normal(size=3)
    save_checkpoint(tmp_path / "c.safetensors", {"rng": rng.bit_generator.state})
    expected = rng.normal(size=5)
    restored = np.random.default_rng()
    restored.bit_generator.state = load_checkpoint(tmp_path / "c.safetensors")["rng"]
    np.testing.assert_array_equal(restored.normal(size=5), expected)


DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "uint64", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_bitwise(tmp_path: Path, dtype: str, rng: np.random.Generator) -> None:
    raw = rng.integers(0, 256, size=48, dtype=np.uint8)
    if dtype == "bool":
        array = raw.astype(bool).reshape(4, 12)
    else:
        array = raw.view(dtype).reshape(2, -1)  # arbitrary bit patterns: NaN payloads, -0.0
    state = {
        "array": array,
        "zero_d": array.reshape(-1)[:1].reshape(()).copy(),
        "scalar": array.reshape(-1)[0],  # a NumPy scalar comes back as one
        "empty": np.zeros((0, 3), dtype),
        "strided": array[:, ::2],
        "big_endian": array.astype(np.dtype(dtype).newbyteorder(">")),
    }
    save_checkpoint(tmp_path / "c.safetensors", state)
    loaded = load_checkpoint(tmp_path / "c.safetensors")
    for key in ("array", "zero_d", "scalar", "empty"):
        assert_identical(state[key], loaded[key], key)
    assert loaded["strided"].tobytes() == np.ascontiguousarray(state["strided"]).tobytes()
    np.testing.assert_array_equal(loaded["big_endian"].view(np.uint8), array.view(np.uint8))
    assert loaded["array"].flags.writeable


def test_python_leaves_and_keys(tmp_path: Path) -> None:
    state = {
        "ints": [0, -1, 2**200, -(2**70)],
        "floats": [0.0, -0.0, 1e-310, math.pi, -math.inf],
        "flags": [True, False, None],
        "nested": [[[]], {}, (), ("a", (1,))],
        "typed keys": {0: "int", "0": "str", 1.5: "float", True: "bool", None: "none"},
        "a/b": np.ones(1),
        "a": {"b": np.zeros(1)},  # the same path as "a/b": the tensor names must not collide
        "": {"": 1},
    }
    save_checkpoint(tmp_path / "c.safetensors", state)
    assert_identical(state, load_checkpoint(tmp_path / "c.safetensors"))


def test_top_level_may_be_any_supported_value(tmp_path: Path) -> None:
    for state in ([np.ones(2), 3], np.arange(3), 7, None):
        save_checkpoint(tmp_path / "c.safetensors", state)
        assert_identical(state, load_checkpoint(tmp_path / "c.safetensors"))


def test_ordered_dict_comes_back_as_dict(tmp_path: Path) -> None:
    state = nb.nn.Linear(2, 3).state_dict()
    assert isinstance(state, OrderedDict)
    save_checkpoint(tmp_path / "c.safetensors", {"model": state})
    loaded = load_checkpoint(tmp_path / "c.safetensors")["model"]
    assert type(loaded) is dict and list(loaded) == list(state)
    nb.nn.Linear(2, 3).load_state_dict(loaded)


def test_tensors_are_named_by_path(tmp_path: Path) -> None:
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"optimizer": {"state": {0: {"exp_avg": np.zeros(2)}}}})
    with safe_open(str(path), framework="numpy") as f:
        assert list(f.keys()) == ["optimizer/state/0/exp_avg"]
        assert f.metadata()["format"] == "nabla-checkpoint"


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        ({"s": {1, 2}}, TypeError, r"set at s"),
        ({"t": nb.tensor([1.0])}, TypeError, r"Tensor at t.*\.data"),
        ({"m": nb.nn.Linear(2, 2)}, TypeError, "state_dict"),
        ({(1, 2): 3}, TypeError, "key"),
        ({np.int64(1): 3}, TypeError, "key"),
        ({"o": np.array([object()])}, DTypeError, "object"),
        ({"c": np.zeros(2, complex)}, DTypeError, "complex128"),
    ],
)
def test_unsupported_state_writes_nothing(
    tmp_path: Path, state: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        save_checkpoint(tmp_path / "c.safetensors", state)
    assert os.listdir(tmp_path) == []


def test_corruption_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, _training_state())
    data = path.read_bytes()
    flipped = bytearray(data)
    flipped[-3] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_checkpoint(path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a valid nabla checkpoint"):
        load_checkpoint(path)


def test_model_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    save(nb.nn.Linear(2, 2), tmp_path / "m.safetensors")
    with pytest.raises(
        ModelFileError, match=r"nabla model file, not a nabla checkpoint.*nabla\.load"
    ):
        load_checkpoint(tmp_path / "m.safetensors")


def test_failed_save_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"epoch": 1})

    def crash(*args: object) -> None:
        raise OSError("killed mid-save")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path) == {"epoch": 1}
    assert os.listdir(tmp_path) == ["c.safetensors"]
