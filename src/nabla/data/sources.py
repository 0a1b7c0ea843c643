"""NumPy ``.npz`` archives, and :func:`load_data`, which picks the loader for a spec."""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from nabla._typing import Array
from nabla.data.builtin import BUILTIN_DATASETS, builtin_key, load_builtin
from nabla.data.csv_loader import load_csv
from nabla.data.idx import load_idx
from nabla.data.images import image_names, images_nchw
from nabla.data.tabular import TASKS, TabularData, Task, encode_target
from nabla.errors import DataError

CHUNK = 1 << 20  # bytes read from an archive member at a time


def _read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: Path) -> Array:
    """One ``.npy`` member, its header checked against the member's size before reading data.

    ``np.load`` allocates the shape its header claims before reading a byte of data, so a
    530-byte archive can ask for terabytes; here the claim must fit in the member, and the data
    is read in chunks, so memory grows only with the bytes actually there.
    """
    fmt = np.lib.format
    name = info.filename.removesuffix(".npy")
    with archive.open(info) as stream:
        version = fmt.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise DataError(f"{file}: array {name!r} has unsupported .npy version {version}")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        try:
            shape, fortran_order, dtype = read_header(stream)
        except ValueError as error:  # NumPy's message can run to several sentences and lines
            first = " ".join(str(error).split()).split(". ")[0].rstrip(".")
            raise DataError(
                f"{file}: array {name!r} has an unreadable .npy header ({first})"
            ) from None
        if any(n < 0 for n in shape):
            raise DataError(
                f"{file}: array {name!r} has shape {shape} in its .npy header; "
                "dimensions cannot be negative"
            )
        if dtype.hasobject:
            raise DataError(f"{file}: array {name!r} holds Python objects, which are not read")
        nbytes = math.prod(shape) * dtype.itemsize
        room = info.file_size - stream.tell()
        if nbytes > room:
            raise DataError(
                f"{file}: array {name!r} claims shape {shape} of {dtype} ({nbytes} bytes), "
                f"but its archive member holds {max(room, 0)} bytes of data"
            )
        data = bytearray()
        while len(data) < nbytes:
            chunk = stream.read(min(CHUNK, nbytes - len(data)))
            if not chunk:
                raise DataError(
                    f"{file}: array {name!r} is truncated: {len(data)} of {nbytes} bytes"
                )
            data += chunk
    array: Array = np.empty(shape, dtype) if nbytes == 0 else np.frombuffer(data, dtype=dtype)
    # a bytearray's buffer: the array is writable without a copy
    return array.reshape(shape, order="F" if fortran_order else "C")


def _read_npz(file: Path, keys: tuple[str, ...]) -> tuple[dict[str, Array], list[str]]:
    """The arrays named `keys` that the archive holds (others are not read), and all its names."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = {
                info.filename.removesuffix(".npy"): info
                for info in archive.infolist()
                if not info.is_dir()
            }
            arrays = {
                key: _read_npy(archive, members[key], file) for key in keys if key in members
            }
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise DataError(f"{file}: not a readable .npz archive ({error})") from error
    return arrays, list(members)


def _image_names(shape: tuple[int, ...]) -> list[str]:
    """Names of the flattened pixels of images of `shape` (h, w) or (h, w, c), in C order."""
    return ["px_" + "_".join(map(str, index)) for index in np.ndindex(*shape)]


def load_npz(
    path: str | os.PathLike[str],
    x_key: str | None = None,
    y_key: str = "y",
    *,
    task: Task = "auto",
    images: bool = False,
) -> TabularData:
    """Load features and target from a NumPy ``.npz`` archive (``np.savez``).

    Parameters
    ----------
    path : str or PathLike
        The archive. Only the arrays named here are read; object arrays are refused (no
        pickle), and each array's header must fit in its archive member before any data is
        read, so a small file cannot claim a huge array.
    x_key : str, optional
        Name of the feature array; default ``"X"``, else ``"x"``. Its shape is
        (n_samples, n_features), or images (n_samples, h, w) or (n_samples, h, w, channels),
        which are flattened row by row to (n_samples, h * w [* channels]) for an MLP.
    y_key : str, default "y"
        Name of the target array, shape (n_samples,).
    task : "auto", "classification" or "regression", default "auto"
        How to read the target; see :func:`~nabla.data.load_csv`.
    images : bool, default False
        Keep images whole for a CNN: `X` is float32 (n_samples, channels, h, w), see
        :func:`nabla.data.images.images_nchw` (uint8 pixels divided by 255); a 2-D array is
        refused.

    Returns
    -------
    TabularData
        `X` float32 of shape (n_samples, n_features) (with ``images=True``, (n, c, h, w)). An optional string array
        ``feature_names`` in the archive, one per (flattened) feature, names the features;
        else they are ``x0``, ``x1``, ... for a matrix and ``px_<row>_<col>`` (or
        ``px_<row>_<col>_<channel>``) for images.

    Raises
    ------
    DataError
        For a missing or unreadable file, a missing key (the message lists the keys present),
        an array header that claims more data than the archive holds, shapes that do not
        match, or non-finite features (the element's index in the original array).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "images.npz"
    >>> np.savez(path, images=np.zeros((4, 2, 3)), labels=np.array([0, 1, 0, 1]))
    >>> data = load_npz(path, x_key="images", y_key="labels")
    >>> data.X.shape, data.feature_names[:4]
    ((4, 6), ['px_0_0', 'px_0_1', 'px_0_2', 'px_1_0'])
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{file}: file not found")
    if task not in TASKS:
        raise DataError(f"load_npz: task must be one of {', '.join(TASKS)}, got {task!r}")
    wanted = ("X", "x") if x_key is None else (x_key,)
    arrays, keys = _read_npz(file, (*wanted, y_key, "feature_names"))
    present = ", ".join(repr(key) for key in keys) or "none"
    if x_key is None:
        x_key = next((key for key in ("X", "x") if key in arrays), "X")
    for role, key in (("features", x_key), ("target", y_key)):
        if key not in arrays:
            raise DataError(f"{file}: no {role} array named {key!r}; arrays present: {present}")
    features, target = arrays[x_key], arrays[y_key]
    if features.ndim not in (2, 3, 4) or features.dtype.kind not in "biuf":
        raise DataError(
            f"{file}: {x_key!r} must be a 2-D numeric array, got shape {features.shape} and "
            f"dtype {features.dtype} (images of shape (n, h, w) or (n, h, w, channels) are "
            "read too)"
        )
    if target.ndim != 1 or target.shape[0] != features.shape[0]:
        raise DataError(
            f"{file}: {x_key!r} has shape {features.shape} and {y_key!r} has shape "
            f"{target.shape}; the target must be 1-D with one entry per row"
        )
    with np.errstate(over="ignore"):  # values beyond float32's range become inf, caught below
        X = features.reshape(features.shape[0], -1).astype(np.float32)
    if not np.isfinite(X).all():
        row, column = np.argwhere(~np.isfinite(X))[0]
        index = (int(row), *(int(i) for i in np.unravel_index(column, features.shape[1:])))
        raise DataError(
            f"{file}: {x_key}[{', '.join(map(str, index))}] = {features[index]} is not "
            f"finite in float32 (NaN and inf are not supported)"
        )
    y, class_names = encode_target(target, task, source=str(file), column=y_key)
    if images:
        X = images_nchw(features, source=f"{file}: {x_key!r}")
        return TabularData(X, y, image_names(X.shape[1:]), y_key, class_names, str(file))
    names = arrays.get("feature_names")
    if names is not None and names.shape == (X.shape[1],):
        feature_names = [str(name) for name in names]
    elif features.ndim > 2:
        feature_names = _image_names(features.shape[1:])
    else:
        feature_names = [f"x{j}" for j in range(X.shape[1])]
    return TabularData(X, y, feature_names, y_key, class_names, str(file))


def load_data(
    spec: str | os.PathLike[str],
    target: str | int | None = None,
    *,
    x_key: str | None = None,
    y_key: str | None = None,
    task: Task = "auto",
    images: bool = False,
) -> TabularData:
    """Load a data set from a built-in name, a ``.csv`` or ``.npz`` file, or an IDX folder.

    Parameters
    ----------
    spec : str or PathLike
        ``"digits"``, ``"iris"``, ``"wine"``, ``"breast_cancer"`` (an existing path of that
        name wins); a path ending ``.csv`` or ``.npz``; or a folder of MNIST IDX files.
    target : str or int, optional
        The target column of a CSV file (see :func:`~nabla.data.load_csv`) or the target key of
        an ``.npz`` archive; not allowed for built-in data sets and IDX folders.
    x_key, y_key : str, optional
        The feature and target arrays of an ``.npz`` archive (see :func:`load_npz`; the CLI's
        ``--x-key``/``--y-key``). `y_key` is another name for `target` there; giving both with
        different values is an error. Only for ``.npz`` archives.
    task : "auto", "classification" or "regression", default "auto"
        How to read the target of a ``.csv`` or ``.npz`` file (see :func:`load_npz`); the
        built-in sets and IDX folders are classification data sets.
    images : bool, default False
        Images for a CNN: `X` is float32 (n_samples, channels, h, w) in [0, 1] (uint8 pixels
        divided by 255, the digits' 0..16 by 16). Only ``digits``, IDX folders and ``.npz``
        archives of (n, h, w[, c]) images hold images.

    Returns
    -------
    TabularData

    Raises
    ------
    DataError
        When `spec` is none of the above, the path does not exist, or `target`, `x_key` or
        `y_key` does not apply.
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise DataError(
            f"load_data: expected a data-set name or a path, got {type(spec).__name__}"
        )
    path = Path(spec)
    key = builtin_key(spec) if isinstance(spec, str) else None
    is_npz = path.suffix.lower() == ".npz" and not path.is_dir()
    if (x_key is not None or y_key is not None) and not is_npz:
        raise DataError(f"{spec!s}: x_key/y_key (--x-key/--y-key) apply only to .npz archives")
    if key is not None and not path.exists():
        _reject_target(target, f"built-in data set {key!r}")
        return load_builtin(key, images=images)
    if path.is_dir():
        _reject_target(target, f"IDX folder {path}")
        return load_idx(path, images=images)
    suffix = path.suffix.lower()
    if suffix == ".csv" and images:
        raise DataError(
            f"{path}: a CSV file is a table, not images; a CNN reads digits, an IDX folder or "
            "an .npz archive of (n, h, w[, c]) images"
        )
    if suffix == ".csv":
        return load_csv(path, target, task=task)
    if suffix == ".npz":
        if target is not None and not isinstance(target, str):
            raise DataError(f"{path}: target of an .npz archive is an array name, got {target!r}")
        if target is not None and y_key is not None and target != y_key:
            raise DataError(
                f"{path}: target {target!r} and y_key {y_key!r} name different arrays; "
                "give one of them"
            )
        return load_npz(path, x_key=x_key, y_key=y_key or target or "y", task=task, images=images)
    if not path.exists():
        raise DataError(
            f"{spec!s}: no such file or folder, and not a built-in data set "
            f"({', '.join(BUILTIN_DATASETS)})"
        )
    raise DataError(
        f"{path}: unsupported file type {suffix or '(no extension)'!r}; expected a "
        f".csv or .npz file or a folder of IDX files"
    )


def _reject_target(target: str | int | None, what: str) -> None:
    if target is not None:
        raise DataError(
            f"load_data: target={target!r} does not apply to {what}; its target is fixed"
        )
