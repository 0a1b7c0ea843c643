"""load_npz and load_data on image archives (n, h, w) and (n, h, w, c), and custom keys."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nabla.data import load_data, load_npz
from nabla.errors import DataError


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3), (5, 7), (2, 3, 4)])
def test_images_flatten_row_by_row_with_pixel_names(
    tmp_path: Path, rng: np.random.Generator, shape: tuple[int, ...]
) -> None:
    n = 12
    images = rng.integers(0, 256, (n, *shape)).astype(np.uint8)
    labels = np.arange(n) % 3
    data = load_npz(write_npz(tmp_path / "img.npz", X=images, y=labels))
    size = int(np.prod(shape))
    assert data.X.shape == (n, size) and data.X.dtype == np.float32
    # pixel (i, r, c[, k]) is feature j with j its C-order index, named after it
    for _ in range(20):
        index = tuple(int(rng.integers(0, s)) for s in (n, *shape))
        j = int(np.ravel_multi_index(index[1:], shape))
        assert data.X[index[0], j] == images[index]
        assert data.feature_names[j] == "px_" + "_".join(map(str, index[1:]))
    assert len(set(data.feature_names)) == size
    assert data.y.tolist() == labels.tolist()


def test_image_names_match_the_documented_pattern(tmp_path: Path) -> None:
    gray = load_npz(write_npz(tmp_path / "g.npz", X=np.zeros((2, 8, 8)), y=np.array([0, 1])))
    assert gray.feature_names[8 * 3 + 4] == "px_3_4"
    color = load_npz(write_npz(tmp_path / "c.npz", X=np.zeros((2, 8, 8, 3)), y=np.array([0, 1])))
    assert color.feature_names[(3 * 8 + 4) * 3] == "px_3_4_0"
    assert color.feature_names[-1] == "px_7_7_2"


def test_custom_keys_and_feature_names_of_images(tmp_path: Path) -> None:
    images = np.arange(4 * 2 * 2, dtype=np.float64).reshape(4, 2, 2)
    names = np.array(["a", "b", "c", "d"])
    path = write_npz(
        tmp_path / "keys.npz", images=images, digits=np.array([1, 2, 1, 2]), feature_names=names
    )
    data = load_npz(path, x_key="images", y_key="digits")
    np.testing.assert_array_equal(data.X, images.reshape(4, 4).astype(np.float32))
    assert data.feature_names == ["a", "b", "c", "d"] and data.target_name == "digits"
    via_load_data = load_data(path, x_key="images", y_key="digits")
    np.testing.assert_array_equal(via_load_data.X, data.X)
    assert load_data(path, "digits", x_key="images").y.tolist() == data.y.tolist()


def test_missing_key_lists_the_arrays_present(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "k.npz", images=np.zeros((2, 3, 3)), labels=np.array([0, 1]))
    with pytest.raises(DataError, match=re.escape("no features array named 'X'")) as caught:
        load_data(path)
    assert "arrays present: 'images', 'labels'" in str(caught.value)
    with pytest.raises(DataError, match="no target array named 'y'; arrays present: 'images'"):
        load_data(path, x_key="images")
    with pytest.raises(DataError, match="no features array named 'pixels'"):
        load_npz(path, x_key="pixels", y_key="labels")


def test_image_errors(tmp_path: Path) -> None:
    images = np.ones((3, 2, 2, 2))
    images[1, 0, 1, 1] = np.nan
    path = write_npz(tmp_path / "nan.npz", X=images, y=np.array([0, 1, 0]))
    with pytest.raises(DataError, match=re.escape("X[1, 0, 1, 1] = nan is not finite")):
        load_npz(path)
    five = write_npz(tmp_path / "5d.npz", X=np.ones((2, 1, 1, 1, 1)), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"got shape \(2, 1, 1, 1, 1\).*\(n, h, w, channels\)"):
        load_npz(five)
    short = write_npz(tmp_path / "short.npz", X=np.ones((3, 4, 4)), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"'X' has shape \(3, 4, 4\) and 'y' has shape \(2,\)"):
        load_npz(short)


def test_keys_only_for_npz_and_must_agree(tmp_path: Path) -> None:
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("a,b\n1,0\n2,1\n")
    with pytest.raises(DataError, match=r"apply only to \.npz archives"):
        load_data(csv_path, x_key="X")
    with pytest.raises(DataError, match=r"apply only to \.npz archives"):
        load_data("digits", y_key="y")
    path = write_npz(tmp_path / "k.npz", X=np.zeros((2, 2)), y=np.array([0, 1]), z=np.ones(2))
    with pytest.raises(DataError, match="name different arrays"):
        load_data(path, "y", y_key="z")
