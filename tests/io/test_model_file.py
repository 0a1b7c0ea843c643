"""nb.io.save / load / load_metadata / save_state_dict / load_state_dict: round trips and damage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("safetensors")

from safetensors import safe_open
from safetensors.numpy import save_file

import nabla as nb
from nabla.errors import DTypeError, ModelFileError, NablaError
from nabla.io import load_metadata, load_state_dict, model_file, save_state_dict
from nabla.io.model_file import load, save  # the model-file forms (nb.load dispatches)


def _outputs_equal(a: nb.nn.Module, b: nb.nn.Module, x: np.ndarray) -> None:
    a.eval()
    with nb.no_grad():
        np.testing.assert_array_equal(a(nb.tensor(x)).data, b(nb.tensor(x)).data)


def _state_equal(a: nb.nn.Module, b: nb.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        np.testing.assert_array_equal(sa[key], sb[key])


def _bn_dropout_model(dtype: Any = np.float32) -> nb.nn.Module:
    model = nb.nn.Sequential(
        nb.nn.Linear(4, 6, dtype=dtype),
        nb.nn.BatchNorm1d(6, dtype=dtype),
        nb.nn.ReLU(),
        nb.nn.Dropout(0.3),
        nb.nn.Linear(6, 2, dtype=dtype),
    )
    x = np.random.default_rng(1).normal(size=(16, 4)).astype(dtype)
    for _ in range(3):  # move the running statistics away from their initial values
        model(nb.tensor(x))
    return model


MODELS = {
    "mlp": lambda: nb.nn.MLP([4, 8, 3]),
    "mlp-float64": lambda: nb.nn.MLP([4, 8, 8, 1], activation="relu", dtype=np.float64),
    "mlp-batchnorm-dropout": lambda: nb.nn.MLP([4, 5, 3], batch_norm=True, dropout=0.2),
    "logreg-binary": lambda: nb.nn.LogisticRegression(4),
    "logreg-multinomial": lambda: nb.nn.LogisticRegression(4, n_classes=5, dtype=np.float64),
    "sequential-bn-dropout": _bn_dropout_model,
    "sequential-bn-float64": lambda: _bn_dropout_model(np.float64),
    "linear-doubled-after-construction": lambda: nb.nn.Linear(4, 3).double(),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_round_trip(make: Any, tmp_path: Path, rng: np.random.Generator) -> None:
    model = make()
    path = tmp_path / "model.safetensors"
    save(model, path)
    loaded = load(path)
    assert type(loaded) is type(model)
    assert not loaded.training
    assert loaded.spec() == model.spec()
    _state_equal(model, loaded)
    _outputs_equal(model, loaded, rng.normal(size=(5, 4)).astype(model.dtype))


def test_buffers_are_saved(tmp_path: Path) -> None:
    model = _bn_dropout_model()
    save(model, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert int(loaded[1].num_batches_tracked) == 3
    assert loaded[1].num_batches_tracked.dtype == np.int64
    np.testing.assert_array_equal(loaded[1].running_var, model[1].running_var)


def test_file_is_plain_safetensors(tmp_path: Path) -> None:
    model = nb.nn.MLP([4, 8, 3])
    path = tmp_path / "m.safetensors"
    save(model, path, metadata={"classes": ["a", "b", "c"]})
    with safe_open(str(path), framework="numpy") as f:
        assert sorted(f.keys()) == sorted(model.state_dict())
        meta = f.metadata()
    assert meta["format"] == "nabla-model"
    assert meta["format_version"] == "1"
    assert meta["nabla_version"] == nb.__version__
    assert json.loads(meta["architecture"]) == model.spec()
    assert len(meta["sha256"]) == 64
    assert not path.read_bytes().startswith(b"\x80")  # not a pickle stream


def test_metadata_round_trip(tmp_path: Path) -> None:
    user = {"features": ["x1", "x2"], "classes": [0, 1, 2], "scaler": {"mean": [0.5, -1e300]}}
    path = tmp_path / "m.safetensors"
    save(nb.nn.MLP([2, 3]), path, metadata=user)
    meta = load_metadata(path)
    assert meta["user"] == user
    assert meta["architecture"] == nb.nn.MLP([2, 3]).spec()
    assert meta["format"] == "nabla-model"
    assert load_metadata(path)["nabla_version"] == nb.__version__


def test_non_contiguous_weights(tmp_path: Path) -> None:
    model = nb.nn.Linear(3, 4)
    model.weight.data = np.asfortranarray(model.weight.data)
    save(model, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "m.safetensors").weight.data, model.weight.data)


# ----- damaged and foreign files -----------------------------------------------------------------
@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    save(nb.nn.MLP([4, 8, 3]), path, metadata={"note": "hello"})
    return path


def _header_size(path: Path) -> int:
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


def test_truncated_files(saved: Path) -> None:
    data = saved.read_bytes()
    header = _header_size(saved)
    for cut in [0, 3, 8, 20, header // 2, header, header + 1, len(data) - 10, len(data) - 1]:
        saved.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated or corrupted") as info:
            load(saved)
        assert str(saved) in str(info.value), cut


@pytest.mark.parametrize("where", ["data-start", "data-middle", "data-end"])
def test_flipped_data_byte_fails_the_checksum(saved: Path, where: str) -> None:
    data = bytearray(saved.read_bytes())
    header = _header_size(saved)
    index = {"data-start": header, "data-middle": (header + len(data)) // 2}.get(where, -1)
    data[index] ^= 0x10
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum mismatch") as info:
        load(saved)
    assert str(saved) in str(info.value)


def test_edited_metadata_fails_the_checksum(saved: Path) -> None:
    data = saved.read_bytes()
    assert b"hello" in data
    saved.write_bytes(data.replace(b"hello", b"jello"))  # still valid JSON, still aligned
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_metadata(saved)


@pytest.mark.parametrize("content", [b"", b"garbage", os.urandom(256), b"\x80\x04\x95" * 40])
def test_garbage_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a valid nabla model file") as info:
        load(path)
    assert str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file") as info:
        load(tmp_path / "absent.safetensors")
    assert "absent.safetensors" in str(info.value)
    with pytest.raises(ModelFileError, match="not a file"):
        load(tmp_path)


def test_plain_safetensors_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    save_file({"weight": np.ones((3, 4), np.float32)}, str(path))
    with pytest.raises(ModelFileError, match=r"without nabla metadata.*load_state_dict"):
        load(path)
    weights = load_state_dict(path)  # interop: weights from another library are fine
    np.testing.assert_array_equal(weights["weight"], np.ones((3, 4), np.float32))


def test_other_nabla_formats_are_named(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    save_state_dict(nb.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(
        ModelFileError, match=r"state-dict file, not a nabla model.*load_state_dict"
    ):
        load(path)
    nb.io.save_checkpoint(path, {"epoch": 1})
    with pytest.raises(ModelFileError, match="checkpoint, not a nabla model"):
        load(path)


def test_weights_that_do_not_fit_the_architecture(tmp_path: Path) -> None:
    model = nb.nn.Linear(3, 3)
    model.spec = lambda: nb.nn.Linear(4, 8).spec()  # type: ignore[method-assign]
    path = tmp_path / "m.safetensors"
    save(model, path)
    with pytest.raises(ModelFileError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert "weight" in message and "(3, 3)" in message and "(8, 4)" in message


def test_dtype_mismatch_is_named(tmp_path: Path) -> None:
    model = nb.nn.Sequential(nb.nn.Linear(2, 2, dtype=np.float64), nb.nn.Linear(2, 2))
    claimed = nb.nn.Sequential(nb.nn.Linear(2, 2), nb.nn.Linear(2, 2)).spec()
    model.spec = lambda: claimed  # type: ignore[method-assign]
    save(model, tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match=r"dtype mismatch for 0\.weight.*float64.*float32"):
        load(tmp_path / "m.safetensors")


def test_unknown_module_type(tmp_path: Path) -> None:
    model = nb.nn.Linear(2, 2)
    model.spec = lambda: {"type": "NoSuchLayer", "config": {}}  # type: ignore[method-assign]
    save(model, tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="unknown module type 'NoSuchLayer'") as info:
        load(tmp_path / "m.safetensors")
    assert "m.safetensors" in str(info.value)


def test_newer_format_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_file, "FORMAT_VERSION", 2)
    save(nb.nn.Linear(2, 2), tmp_path / "m.safetensors")
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match=r"format version 2.*upgrade nabla"):
        load(tmp_path / "m.safetensors")


# ----- what save refuses, writing nothing --------------------------------------------------------
class _IoTestNoConfig(nb.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nb.nn.Parameter(np.zeros(2))


def test_unsaveable_inputs_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    with pytest.raises(ModelFileError, match="get_config"):
        save(_IoTestNoConfig(), path)
    with pytest.raises(TypeError, match="JSON"):
        save(nb.nn.Linear(2, 2), path, metadata={"bad": object()})
    with pytest.raises(TypeError, match="Module"):
        save({"w": np.zeros(2)}, path)  # type: ignore[arg-type]
    with pytest.raises(DTypeError, match="complex128"):
        save_state_dict({"z": np.zeros(2, complex)}, path)
    with pytest.raises(TypeError, match="strings"):
        save_state_dict({0: np.zeros(2)}, path)  # type: ignore[dict-item]
    assert os.listdir(tmp_path) == []


def test_existing_file_survives_a_failed_save(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved.read_bytes()

    def crash(*args: object) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save(nb.nn.MLP([4, 8, 3]), saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]
    load(saved)


def test_missing_safetensors_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(NablaError, match=r"pip install 'nabla\[io\]'"):
        save(nb.nn.Linear(2, 2), tmp_path / "m.safetensors")


# ----- state dicts -------------------------------------------------------------------------------
def test_state_dict_round_trip(tmp_path: Path) -> None:
    model = _bn_dropout_model(np.float64)
    state = model.state_dict()
    state["extra"] = nb.tensor([1.0, 2.0])  # Tensors are accepted and stored as arrays
    path = tmp_path / "w.safetensors"
    save_state_dict(state, path, metadata={"epoch": 3})
    loaded = load_state_dict(path)
    assert list(loaded) == list(state)  # the saved order, not the file's
    for key, value in state.items():
        expected = np.asarray(getattr(value, "data", value))
        assert loaded[key].dtype == expected.dtype
        np.testing.assert_array_equal(loaded[key], expected)
    assert loaded["0.weight"].flags.writeable
    assert load_metadata(path)["user"] == {"epoch": 3}
    assert load_metadata(path)["architecture"] is None


def test_load_state_dict_reads_model_files(saved: Path) -> None:
    weights = load_state_dict(saved)
    model = nb.nn.MLP([4, 8, 3])
    model.load_state_dict(weights)
    _state_equal(model, load(saved))


# ----- a real crash ------------------------------------------------------------------------------
_SAVE_LOOP = textwrap.dedent(
    """
    import sys
    import nabla as nb
    from nabla.io import save

    model = nb.nn.MLP([64, 256, 10])
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        for p in model.parameters():
            p.data[...] = i
        save(model, sys.argv[1], metadata={"i": i})
    """
)


def test_sigkill_during_saves_leaves_a_loadable_file(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save(nb.nn.MLP([64, 256, 10]), path, metadata={"i": 0})
    seen = set()
    for delay in (0.05, 0.11, 0.17, 0.23):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVE_LOOP, str(path)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
            time.sleep(delay)
        finally:
            proc.kill()  # SIGKILL on POSIX: no cleanup handlers run
            proc.communicate()
        i = load_metadata(path)["user"]["i"]
        model = load(path)
        assert all((p.data == i).all() for p in model.parameters())
        seen.add(i)
    assert max(seen) > 0  # the loops did overwrite the file


def test_missing_checksum(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_file({"weight": np.ones(2, np.float32)}, str(path), metadata={"format": "nabla-model"})
    with pytest.raises(ModelFileError, match="no sha256 checksum"):
        load(path)
    with pytest.raises(ModelFileError, match="no sha256 checksum"):
        load_state_dict(path)  # a nabla file without its checksum is not a plain file
