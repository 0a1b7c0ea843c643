"""IDX files, the format of MNIST and Fashion-MNIST, raw or gzip-compressed.

An IDX file is a 4-byte magic number ``0x0000TTNN`` (``TT`` the element type, ``0x08`` for
unsigned bytes; ``NN`` the number of dimensions), ``NN`` big-endian uint32 sizes, then the
elements in C order. Images are ``0x00000803`` (n, rows, cols), labels ``0x00000801`` (n,).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabla._typing import Array
from nabla.data.tabular import TabularData, check_classification_target, encode_target
from nabla.errors import DataError

UBYTE = 0x08
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
GZIP_MAGIC = b"\x1f\x8b"
#: deflate's largest expansion: a gzip file cannot hold more than this many times its size
MAX_DEFLATE_RATIO = 1032
CHUNK = 1 << 20  # bytes read from a stream at a time

PathLike = str | os.PathLike[str]


def _read_upto(stream: io.BufferedIOBase, n: int) -> bytearray:
    """At most `n` bytes of `stream`, read in chunks: memory grows only with the data found."""
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(min(CHUNK, n - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def read_idx(path: PathLike, *, ndim: int | None = None) -> Array:
    """Read an IDX file of unsigned bytes, raw or gzip-compressed.

    The header is read and checked first; the elements are then read only up to the size it
    gives, so a small file that inflates to gigabytes, or whose header claims more bytes than the
    file can hold (raw: its size; gzip: 1032 times its size, deflate's largest ratio), is refused
    without reading it all.

    Parameters
    ----------
    path : str or PathLike
        The file; gzip is recognised by its content, whatever the name.
    ndim : int, optional
        Expected number of dimensions: 3 for images (magic ``0x00000803``), 1 for labels
        (``0x00000801``).

    Returns
    -------
    ndarray of uint8 with the shape the header gives

    Raises
    ------
    DataError
        When the magic number is wrong (including the element type: only ``0x08`` unsigned
        bytes), or the size does not match the header (a truncated file names the expected and
        the actual size).
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{file}: file not found")
    size = file.stat().st_size
    with file.open("rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _parse(raw, file, ndim, capacity=size, note="")
        try:
            with gzip.GzipFile(fileobj=raw) as stream:
                return _parse(stream, file, ndim, size * MAX_DEFLATE_RATIO, " after decompression")
        except (EOFError, OSError, zlib.error) as error:
            raise DataError(f"{file}: corrupt or truncated gzip data ({error})") from error


def _parse(
    stream: io.BufferedIOBase, file: Path, ndim: int | None, capacity: int, note: str
) -> Array:
    """The array in `stream`, whose content can hold at most `capacity` bytes."""
    head = _read_upto(stream, 4)
    if len(head) < 4:
        raise DataError(f"{file}: {len(head)} bytes{note}, too short for an IDX header")
    magic = int.from_bytes(head, "big")
    if head[0] != 0 or head[1] != 0:
        raise DataError(
            f"{file}: not an IDX file: magic number 0x{magic:08X} must start with two zero bytes"
        )
    if head[2] != UBYTE:
        raise DataError(
            f"{file}: IDX element type 0x{head[2]:02X} (magic 0x{magic:08X}) is not "
            f"supported; only unsigned bytes (0x08) are"
        )
    if ndim is not None and head[3] != ndim:
        kind = {3: "images", 1: "labels"}.get(ndim, f"{ndim}-d data")
        raise DataError(
            f"{file}: magic number 0x{magic:08X}, expected 0x{0x800 + ndim:08X} "
            f"for {kind} ({ndim} dimensions)"
        )
    header_size = 4 + 4 * head[3]
    dims = _read_upto(stream, header_size - 4)
    if len(dims) < header_size - 4:
        raise DataError(
            f"{file}: truncated header: {head[3]} dimensions need {header_size} "
            f"bytes, the file has {4 + len(dims)}{note}"
        )
    shape = struct.unpack(f">{head[3]}I", dims)
    n = math.prod(shape)
    expected = header_size + n
    if expected > capacity:  # refused before reading: the data cannot be there
        found = (
            f"found {capacity}"
            if not note
            else f"more than its gzip data can hold (at most {MAX_DEFLATE_RATIO}x its size)"
        )
        raise DataError(f"{file}: truncated: header shape {shape} needs {expected} bytes, {found}")
    body = _read_upto(stream, n + 1)  # one byte more: trailing data is an error too
    if len(body) != n:
        problem = "truncated" if len(body) < n else "has trailing bytes"
        found = f"{header_size + len(body)}" if len(body) < n else f"more than {expected}"
        raise DataError(
            f"{file}: {problem}: header shape {shape} needs {expected} bytes, found {found}{note}"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)  # writable: a bytearray


def _read_pair(images_path: Path, labels_path: Path) -> tuple[Array, Array, tuple[int, int]]:
    """Images as float32 (n, rows * cols) in [0, 1], their uint8 labels, and (rows, cols)."""
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels"
        )
    pixels = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255)
    return pixels, labels, (images.shape[1], images.shape[2])


def _find(folder: Path, prefix: str, kind: str) -> Path | None:
    """The first of MNIST's usual spellings of a file that exists in `folder`."""
    stem = f"{prefix}-{kind}"
    suffix = "idx3-ubyte" if kind == "images" else "idx1-ubyte"
    for name in (f"{stem}-{suffix}", f"{stem}.{suffix}"):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _find_pair(folder: Path, prefix: str, required: bool) -> tuple[Path, Path] | None:
    images, labels = _find(folder, prefix, "images"), _find(folder, prefix, "labels")
    if images is not None and labels is not None:
        return images, labels
    if images is None and labels is None and not required:
        return None
    missing = [
        f"{prefix}-{kind}-{suffix}[.gz]"
        for kind, suffix, found in (
            ("images", "idx3-ubyte", images),
            ("labels", "idx1-ubyte", labels),
        )
        if found is None
    ]
    raise DataError(f"{folder}: missing {' and '.join(missing)} (MNIST IDX files)")


def load_idx(source: PathLike | Sequence[PathLike], *, images: bool = False) -> TabularData:
    """Load MNIST-format images and labels from IDX files.

    Parameters
    ----------
    source : folder, or sequence of 2 or 4 files
        A folder holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (each
        optionally ``.gz``, or spelled ``train-images.idx3-ubyte``), and optionally the
        ``t10k-*`` test pair; or the files themselves: ``(train_images, train_labels)`` or
        ``(train_images, train_labels, test_images, test_labels)``.
    images : bool, default False
        Keep the images whole for a CNN: `X` (and `X_test`) float32 (n, 1, rows, cols).

    Returns
    -------
    TabularData
        `X` float32 (n, rows * cols) scaled to [0, 1]; `y` int64 class ids with
        `class_names` the digit labels; `X_test`/`y_test` set when the test pair exists.

    Raises
    ------
    DataError
        For a missing file, a bad magic number, a size that does not match the header, image
        and label counts that differ, or training labels with a single class.
    """
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.is_dir():
            raise DataError(f"{folder}: not a folder of IDX files")
        train = _find_pair(folder, "train", required=True)
        assert train is not None
        test = _find_pair(folder, "t10k", required=False)
        name = str(folder)
    else:
        files = [Path(file) for file in source]
        if len(files) not in (2, 4):
            raise DataError(
                f"load_idx: pass a folder or 2 or 4 files (images, labels[, test "
                f"images, test labels]), got {len(files)} files"
            )
        train = (files[0], files[1])
        test = (files[2], files[3]) if len(files) == 4 else None
        name = str(files[0])
    X, labels, (rows, cols) = _read_pair(*train)
    check_classification_target(labels, source=str(train[1]))
    X_test, labels_test = None, None
    if test is not None:
        X_test, labels_test, test_size = _read_pair(*test)
        if test_size != (rows, cols):
            raise DataError(
                f"{test[0]}: test images are {test_size[0]}x{test_size[1]}, "
                f"training images {rows}x{cols}"
            )
    all_labels = labels if labels_test is None else np.concatenate([labels, labels_test])
    ids, class_names = encode_target(all_labels, "classification", source=name, column="label")
    feature_names = [f"pixel_{r}_{c}" for r in range(rows) for c in range(cols)]
    y, y_test = ids[: len(labels)], (ids[len(labels) :] if labels_test is not None else None)
    if images:  # the pixels are in C order: a reshape restores each image
        X = X.reshape(-1, 1, rows, cols)
        X_test = None if X_test is None else X_test.reshape(-1, 1, rows, cols)
    return TabularData(X, y, feature_names, "label", class_names, name, X_test, y_test)
