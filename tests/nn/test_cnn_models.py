"""SmallCNN: its layers follow the image size, it classifies, and nb.save/nb.load rebuild it."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla import nn
from nabla.nn.cnn_models import SmallCNN


@pytest.mark.parametrize(
    ("size", "flat"), [(8, 48 * 2 * 2), (28, 48 * 7 * 7), ((5, 9), 48 * 1 * 2), (1, 48)]
)
def test_pooling_follows_the_image_size(size: int | tuple[int, int], flat: int) -> None:
    model = SmallCNN(1, 10, size)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears[0].in_features == flat
    h, w = (size, size) if isinstance(size, int) else size
    out = model(nb.tensor(np.zeros((3, 1, h, w), np.float32)))
    assert out.shape == (3, 10)


def test_predict_proba_and_gradients() -> None:
    nb.manual_seed(0)
    model = SmallCNN(3, 4, 6, channels=(4, 8), hidden=16)
    x = np.random.default_rng(0).random((5, 3, 6, 6)).astype(np.float32)
    p = model.predict_proba(x)
    assert p.shape == (5, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert model.training  # predict_proba restores the mode
    loss = model.loss(model(nb.tensor(x)), np.array([0, 1, 2, 3, 0]))
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad).all() for p in model.parameters())


def test_save_and_load_rebuild_it(tmp_path: Path) -> None:
    nb.manual_seed(1)
    model = SmallCNN(1, 3, (8, 6), channels=(4,), hidden=8, dropout=0.25)
    x = np.random.default_rng(2).random((4, 1, 8, 6)).astype(np.float32)
    model.train()
    model(nb.tensor(x))  # BatchNorm's running statistics move away from their start
    model.eval()
    path = tmp_path / "cnn.safetensors"
    nb.save(model, path)
    loaded = nb.load(path)
    assert type(loaded) is SmallCNN
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_size": 0}, "image_size"),
        ({"image_size": (4, 4, 4)}, "image_size"),
        ({"channels": ()}, "channels"),
        ({"in_channels": 10**9}, "in_channels"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"SmallCNN: {message}"):
        SmallCNN(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"image_size": (28, 28)},
        {"in_channels": 3, "image_size": (1, 7), "channels": (4, 5, 6), "dropout": 0.5},
    ],
)
def test_the_file_check_knows_its_layout(kwargs: dict[str, Any]) -> None:
    from nabla.io.architecture import expected_shapes

    model = SmallCNN(**{"image_size": 8, **kwargs})
    shapes, unchecked = expected_shapes(model.spec())
    assert unchecked == []
    assert shapes == {key: tuple(value.shape) for key, value in model.state_dict().items()}


def test_a_lying_file_is_refused_before_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nabla.errors import ModelFileError
    from nabla.io import model_file

    path = tmp_path / "small.safetensors"
    nb.save(SmallCNN(1, 2, 4, channels=(2,), hidden=4), path)
    lie = {"type": "SmallCNN", "config": {"image_size": [4096, 4096], "channels": [4096]}}
    tensors = dict(nb.load(path).state_dict())
    metadata = {"architecture": json.dumps(lie), "user": "{}"}
    model_file.write_container(path, tensors, metadata, model_file.MODEL)

    def refuse(spec: Any) -> Any:
        raise AssertionError("nb.load built the architecture before checking it")

    monkeypatch.setattr(model_file, "from_spec", refuse)
    with pytest.raises(
        ModelFileError,
        match=r"0\.weight has shape \(2, 1, 3, 3\) in the file, the architecture needs \(4096, 1, 3, 3\)",
    ):
        nb.load(path)
