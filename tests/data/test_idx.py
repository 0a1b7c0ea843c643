"""IDX (MNIST format) parsing on tiny synthetic files, raw and gzip, and their errors."""

import gzip
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.data import load_data, load_idx, read_idx
from nabla.errors import DataError


def idx_bytes(array: np.ndarray, dtype_code: int = 0x08) -> bytes:
    header = bytes([0, 0, dtype_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def make_images(n_images: int, rows: int = 4, cols: int = 3, offset: int = 0) -> np.ndarray:
    return ((np.arange(n_images * rows * cols) + offset) % 256).reshape(n_images, rows, cols)


def write_mnist_folder(folder: Path, compress: bool, with_test: bool) -> None:
    suffix = ".gz" if compress else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", make_images(6), compress)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", np.array([0, 1, 2, 0, 1, 2]), compress)
    if with_test:
        write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", make_images(2, offset=7), compress)
        write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", np.array([2, 0]), compress)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips(tmp_path: Path, compress: bool) -> None:
    images = make_images(5)
    path = write_idx(tmp_path / "images.idx", images, compress)
    loaded = read_idx(path, ndim=3)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, images)
    loaded[0, 0, 0] = 1  # a writable copy, not a view of the file's bytes


@pytest.mark.parametrize(("compress", "with_test"), [(False, False), (True, True)])
def test_load_folder_flattens_and_scales(tmp_path: Path, compress: bool, with_test: bool) -> None:
    write_mnist_folder(tmp_path, compress, with_test)
    data = load_idx(tmp_path)
    assert data.X.shape == (6, 12)
    assert data.X.dtype == np.float32
    assert data.X.min() >= 0.0
    assert data.X.max() <= 1.0
    np.testing.assert_allclose(data.X[0] * 255, make_images(1)[0].ravel(), atol=1e-4)
    assert data.y.tolist() == [0, 1, 2, 0, 1, 2]
    assert data.class_names == ["0", "1", "2"]
    assert data.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
    assert data.feature_names[-1] == "pixel_3_2"
    assert data.source == str(tmp_path)
    if with_test:
        assert data.X_test is not None
        assert data.y_test is not None
        assert data.X_test.shape == (2, 12)
        assert data.y_test.tolist() == [2, 0]
    else:
        assert data.X_test is None
        assert data.y_test is None


def test_dotted_file_names_are_found(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images.idx3-ubyte", make_images(2))
    write_idx(tmp_path / "train-labels.idx1-ubyte", np.array([3, 5]))
    data = load_idx(tmp_path)
    assert data.class_names == ["3", "5"]
    assert data.y.tolist() == [0, 1]


def test_load_explicit_files(tmp_path: Path) -> None:
    images = write_idx(tmp_path / "a", make_images(3))
    labels = write_idx(tmp_path / "b", np.array([1, 0, 1]))
    data = load_idx([images, labels])
    assert data.X.shape == (3, 12)
    data = load_idx([images, labels, images, labels])
    assert data.X_test is not None
    assert data.X_test.shape == (3, 12)
    with pytest.raises(DataError, match="2 or 4 files"):
        load_idx([images])


def test_truncated_file_names_expected_and_actual_size(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(make_images(2))[:-5])
    message = f"{path}: truncated: header shape (2, 4, 3) needs 40 bytes, found 35"
    with pytest.raises(DataError, match=re.escape(message)):
        read_idx(path)


def test_truncated_gzip_content_says_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(4))[:-1]))
    with pytest.raises(DataError, match=r"needs 12 bytes, found 11 after decompression"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(100)))[:-20])
    with pytest.raises(DataError, match=re.escape(f"{path}: corrupt or truncated gzip data")):
        read_idx(path)


def test_trailing_bytes_and_short_header(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.arange(4)) + b"\x00")
    with pytest.raises(DataError, match="has trailing bytes: header shape"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(DataError, match="truncated header: 3 dimensions need 16 bytes"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="2 bytes, too short for an IDX header"):
        read_idx(path)


def test_wrong_magic_numbers(tmp_path: Path) -> None:
    labels = write_idx(tmp_path / "labels", np.arange(3))
    with pytest.raises(
        DataError,
        match=re.escape(f"{labels}: magic number 0x00000801, expected 0x00000803 for images"),
    ):
        read_idx(labels, ndim=3)
    floats = tmp_path / "floats"
    floats.write_bytes(idx_bytes(np.arange(3), dtype_code=0x0D))
    with pytest.raises(DataError, match=r"element type 0x0D .* only unsigned bytes \(0x08\)"):
        read_idx(floats)
    text = tmp_path / "text"
    text.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="not an IDX file: magic number 0x504B0304"):
        read_idx(text)


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    images = write_idx(tmp_path / "train-images-idx3-ubyte", make_images(3))
    labels = write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1]))
    with pytest.raises(
        DataError, match=re.escape(f"{images} holds 3 images but {labels} holds 2 labels")
    ):
        load_idx(tmp_path)


def test_missing_files_in_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing train-images-idx3-ubyte.* and train-labels"):
        load_idx(tmp_path)
    write_mnist_folder(tmp_path, compress=False, with_test=False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", make_images(1))
    with pytest.raises(DataError, match=r"missing t10k-labels-idx1-ubyte\[.gz\]"):
        load_idx(tmp_path)
    with pytest.raises(DataError, match="not a folder of IDX files"):
        load_idx(tmp_path / "absent")
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "absent")


def test_single_class_and_mismatched_test_images(tmp_path: Path) -> None:
    images = write_idx(tmp_path / "images", make_images(2))
    labels = write_idx(tmp_path / "labels", np.array([4, 4]))
    with pytest.raises(DataError, match=re.escape(f"{labels}: the target has a single class (4)")):
        load_idx([images, labels])
    good_labels = write_idx(tmp_path / "good", np.array([0, 1]))
    wide = write_idx(tmp_path / "wide", make_images(2, rows=2, cols=5))
    with pytest.raises(DataError, match="test images are 2x5, training images 4x3"):
        load_idx([images, good_labels, wide, good_labels])


def test_load_data_reads_an_idx_folder(tmp_path: Path) -> None:
    write_mnist_folder(tmp_path, compress=True, with_test=False)
    assert load_data(tmp_path).X.shape == (6, 12)
    with pytest.raises(DataError, match="does not apply to IDX folder"):
        load_data(tmp_path, target="label")


def _gzip_bomb(path: Path, header: bytes, zeros: int) -> Path:
    """`header` followed by `zeros` zero bytes, gzip-compressed chunk by chunk (a few KB)."""
    with gzip.open(path, "wb") as stream:
        stream.write(header)
        chunk = bytes(1 << 20)
        for _ in range(zeros // len(chunk)):
            stream.write(chunk)
    return path


def test_gzip_is_read_only_as_far_as_the_header_says(tmp_path: Path, peak_memory: Any) -> None:
    # 64 KB that inflate to 64 MB behind a header announcing 4 labels
    path = _gzip_bomb(tmp_path / "labels.gz", bytes([0, 0, 8, 1, 0, 0, 0, 4]), 64 << 20)
    assert path.stat().st_size < 200_000
    with (
        peak_memory() as peak,
        pytest.raises(DataError, match=r"has trailing bytes: .* needs 12 bytes, found more"),
    ):
        read_idx(path)
    assert peak.bytes < 8 << 20


def test_gzip_header_claiming_more_than_the_file_can_hold(tmp_path: Path) -> None:
    path = _gzip_bomb(
        tmp_path / "images.gz", bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 2000, 2000), 0
    )
    with pytest.raises(
        DataError, match="needs 240000000016 bytes, more than its gzip data can hold"
    ):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_images_keep_their_shape_for_a_cnn(tmp_path: Path, compress: bool) -> None:
    write_mnist_folder(tmp_path, compress, with_test=True)
    flat = load_idx(tmp_path)
    images = load_data(tmp_path, images=True)
    assert images.X.shape == (6, 1, 4, 3)
    assert images.X.dtype == np.float32
    assert images.image_shape == (1, 4, 3)
    assert images.n_features == 12
    np.testing.assert_array_equal(images.X[:, 0] * np.float32(255), make_images(6).astype(float))
    np.testing.assert_array_equal(images.X.reshape(6, -1), flat.X)
    assert images.X_test is not None
    assert images.X_test.shape == (2, 1, 4, 3)
    assert images.y.tolist() == flat.y.tolist()
    assert flat.image_shape is None
