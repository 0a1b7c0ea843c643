"""Small classic data sets bundled with scikit-learn (no network): digits, iris, wine, cancer."""

from __future__ import annotations

import importlib

import numpy as np

from nabla.data.images import image_names, images_nchw
from nabla.data.tabular import TabularData
from nabla.errors import DataError

BUILTIN_DATASETS = ("digits", "iris", "wine", "breast_cancer")


def builtin_key(name: str) -> str | None:
    """The canonical name of a built-in data set (case and ``-``/``_`` ignored), else None."""
    key = name.strip().lower().replace("-", "_")
    return key if key in BUILTIN_DATASETS else None


#: the largest pixel value of each built-in image data set
IMAGE_SCALE = {"digits": 16.0}


def load_builtin(name: str, *, images: bool = False) -> TabularData:
    """Load one of scikit-learn's bundled classification data sets.

    Parameters
    ----------
    name : {"digits", "iris", "wine", "breast_cancer"}
        Case-insensitive; ``breast-cancer`` works too.
    images : bool, default False
        The digits as images for a CNN: `X` float32 (n_samples, 1, 8, 8), pixels 0..16
        divided by 16. The other sets are tables and are refused.

    Returns
    -------
    TabularData
        `X` float32 (n_samples, n_features), `y` int64 class ids, scikit-learn's feature and
        class names, ``source="sklearn:<name>"``.

    Raises
    ------
    DataError
        For an unknown name (the message lists the valid ones), or when scikit-learn is not
        installed.
    """
    key = builtin_key(name) if isinstance(name, str) else None
    if key is None:
        raise DataError(
            f"unknown built-in data set {name!r}; choose one of: {', '.join(BUILTIN_DATASETS)}"
        )
    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError as error:
        raise DataError(
            f"load_builtin({name!r}) needs scikit-learn, which is not installed; "
            f"run: pip install nabla[sklearn]"
        ) from error
    if images and key not in IMAGE_SCALE:
        raise DataError(
            f"built-in data set {key!r} is a table, not images; of the built-in sets only "
            f"{', '.join(IMAGE_SCALE)} can train a CNN"
        )
    bunch = getattr(datasets, f"load_{key}")()
    y = np.asarray(bunch.target, dtype=np.int64)
    class_names = [str(label) for label in bunch.target_names]
    if images:
        X = images_nchw(np.asarray(bunch.images), source=key, scale=IMAGE_SCALE[key])
        names = image_names(X.shape[1:])
        return TabularData(X, y, names, "target", class_names, f"sklearn:{key}")
    X = np.asarray(bunch.data, dtype=np.float32)
    feature_names = [str(feature) for feature in getattr(bunch, "feature_names", [])]
    if len(feature_names) != X.shape[1]:
        feature_names = [f"x{j}" for j in range(X.shape[1])]
    return TabularData(X, y, feature_names, "target", class_names, f"sklearn:{key}")
