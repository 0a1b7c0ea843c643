"""Images for a CNN: layout (NCHW), scaling and the loaders' ``images=True``."""

from pathlib import Path

import numpy as np
import pytest

from nabla.data import load_data, load_npz
from nabla.data.images import image_names, images_nchw
from nabla.errors import DataError


def test_gray_images_gain_one_channel_and_uint8_is_scaled() -> None:
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(np.uint8)
    x = images_nchw(images, source="s")
    assert x.shape == (2, 1, 3, 4)
    assert x.dtype == np.float32
    assert x.flags.c_contiguous
    np.testing.assert_array_equal(x[:, 0] * np.float32(255), images.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_channels_last_is_transposed_and_other_types_keep_their_values(dtype: type) -> None:
    rng = np.random.default_rng(0)
    images = (rng.random((3, 5, 6, 3)) * 100).astype(dtype)
    x = images_nchw(images, source="s")
    assert x.shape == (3, 3, 5, 6)
    for k in range(3):
        np.testing.assert_array_equal(x[:, k], images[..., k].astype(np.float32))


def test_nchw_input_is_kept_and_an_explicit_scale_divides() -> None:
    images = np.ones((2, 3, 8, 9))
    assert images_nchw(images, source="s").shape == (2, 3, 8, 9)
    np.testing.assert_allclose(images_nchw(np.full((1, 2, 2), 16.0), source="s", scale=16), 1)


def test_size_zero_and_bad_shapes() -> None:
    assert images_nchw(np.zeros((0, 4, 4), np.uint8), source="s").shape == (0, 1, 4, 4)
    with pytest.raises(DataError, match=r"^s: a CNN takes images .* shape \(4, 5\)"):
        images_nchw(np.zeros((4, 5)), source="s")
    with pytest.raises(DataError, match="dtype <U1"):
        images_nchw(np.array([[["a"]]]), source="s")


def test_names_follow_the_flattened_order() -> None:
    assert image_names((1, 2, 2)) == ["px_0_0", "px_0_1", "px_1_0", "px_1_1"]
    assert image_names((2, 1, 2)) == ["px_0_0_0", "px_0_1_0", "px_0_0_1", "px_0_1_1"]


def test_digits_as_images() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    data = load_data("digits", images=True)
    bunch = load_digits()
    assert data.X.shape == (1797, 1, 8, 8)
    assert data.X.max() == 1.0
    np.testing.assert_allclose(data.X[:, 0] * 16, bunch.images, atol=1e-6)
    np.testing.assert_array_equal(data.y, bunch.target)
    with pytest.raises(DataError, match="'iris' is a table, not images"):
        load_data("iris", images=True)


@pytest.mark.parametrize("shape", [(5, 4, 3), (5, 4, 3, 2)])
def test_npz_images(tmp_path: Path, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, shape).astype(np.uint8)
    path = tmp_path / "img.npz"
    np.savez(path, X=images, y=np.arange(5) % 2)
    data = load_npz(path, images=True)
    expected = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(data.X * 255, expected.astype(np.float32), rtol=1e-6)
    assert data.image_shape == expected.shape[1:]
    assert len(data.feature_names) == data.n_features == int(np.prod(shape[1:]))
    flat = load_npz(path)
    assert flat.X.shape == (5, int(np.prod(shape[1:])))


def test_npz_images_refuse_a_matrix_and_csv_refuses_images(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    np.savez(path, X=np.zeros((4, 3)), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"m.npz: 'X': a CNN takes images .* \(4, 3\)"):
        load_data(path, images=True)
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,0\n2,1\n")
    with pytest.raises(DataError, match=r"t\.csv: a CSV file is a table, not images"):
        load_data(table, images=True)
