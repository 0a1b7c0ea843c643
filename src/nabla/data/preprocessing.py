"""Feature scaling fitted on the training split only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nabla._typing import Array
from nabla.errors import DataError

if TYPE_CHECKING:
    from typing_extensions import Self


def _as_2d(X: Any, caller: str) -> Array:
    features = np.asarray(getattr(X, "data", X))
    if features.ndim != 2:
        raise DataError(
            f"StandardScaler.{caller}: X must be 2-D (n_samples, n_features), "
            f"got shape {features.shape}"
        )
    if features.dtype.kind not in "biuf":
        raise DataError(f"StandardScaler.{caller}: X must be numeric, got dtype {features.dtype}")
    return features


class StandardScaler:
    """Standardise features: ``(X - mean_) / scale_`` with statistics from the training split.

    Fit on the training split only, then transform the validation and test splits with the same
    statistics, so nothing about them leaks into training.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,), float32
        Per-feature mean of the data passed to :meth:`fit`.
    scale_ : ndarray of shape (n_features,), float32
        Per-feature standard deviation (population, ``ddof=0``); 1 where a feature is constant,
        so constant features map to 0 instead of dividing by zero.
    n_features_in_ : int
        Number of features seen by :meth:`fit`.
    n_samples_seen_ : int
        Number of samples seen by :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> scaler = StandardScaler().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> scaler.mean_.tolist(), scaler.scale_.tolist()
    ([2.0, 5.0], [1.0, 1.0])
    >>> scaler.transform(np.array([[4.0, 6.0]])).tolist()
    [[2.0, 1.0]]
    """

    mean_: Array
    scale_: Array
    n_features_in_: int
    n_samples_seen_: int

    def fit(self, X: Any) -> Self:
        """Compute the per-feature mean and standard deviation of `X`; return ``self``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The training features.

        Raises
        ------
        DataError
            When `X` is not 2-D and numeric, has no rows, or holds NaN/inf.
        """
        features = _as_2d(X, "fit").astype(np.float64)  # accumulate in float64 for accuracy
        if features.shape[0] == 0:
            raise DataError("StandardScaler.fit: X has no rows")
        if not np.isfinite(features).all():
            row, column = np.argwhere(~np.isfinite(features))[0]
            raise DataError(
                f"StandardScaler.fit: X[{row}, {column}] = {features[row, column]} is not finite"
            )
        mean = features.mean(axis=0)
        std = features.std(axis=0)
        # NOTE: a constant column's float64 mean can be off by an ulp, leaving std ~1e-17
        # instead of 0; treat that rounding noise as constant too.
        constant = std <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        self.mean_ = mean.astype(np.float32)
        self.scale_ = np.where(constant, 1.0, std).astype(np.float32)
        self.n_features_in_ = int(features.shape[1])
        self.n_samples_seen_ = int(features.shape[0])
        return self

    def _check_fitted(self, X: Any, caller: str) -> Array:
        if not hasattr(self, "mean_"):
            raise DataError(f"StandardScaler.{caller}: not fitted; call fit(X_train) first")
        features = _as_2d(X, caller)
        if features.shape[1] != self.n_features_in_:
            raise DataError(
                f"StandardScaler.{caller}: X has shape {features.shape}, but the "
                f"scaler was fitted on {self.n_features_in_} features"
            )
        return features

    def transform(self, X: Any) -> Array:
        """Return ``(X - mean_) / scale_`` as float32, shape (n_samples, n_features)."""
        features = self._check_fitted(X, "transform").astype(np.float32, copy=False)
        return (features - self.mean_) / self.scale_

    def fit_transform(self, X: Any) -> Array:
        """Fit on `X`, then transform it."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> Array:
        """Undo :meth:`transform`: ``X * scale_ + mean_`` as float32."""
        features = self._check_fitted(X, "inverse_transform").astype(np.float32, copy=False)
        return features * self.scale_ + self.mean_

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted state as JSON-serialisable data (for saving with a model).

        Returns
        -------
        state : dict
            ``{"mean": list of float, "scale": list of float, "n_samples_seen": int}``.
        """
        if not hasattr(self, "mean_"):
            raise DataError("StandardScaler.to_dict: not fitted; call fit(X_train) first")
        return {
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "n_samples_seen": self.n_samples_seen_,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> StandardScaler:
        """Rebuild a fitted scaler from :meth:`to_dict` output.

        Raises
        ------
        DataError
            When a key is missing, the lengths differ, or a scale is not positive and finite.
        """
        missing = [key for key in ("mean", "scale") if key not in state]
        if missing:
            raise DataError(
                f"StandardScaler.from_dict: missing keys {missing}; found {sorted(state)}"
            )
        mean = np.asarray(state["mean"], dtype=np.float32)
        scale = np.asarray(state["scale"], dtype=np.float32)
        if mean.ndim != 1 or mean.shape != scale.shape:
            raise DataError(
                f"StandardScaler.from_dict: mean has shape {mean.shape} and scale "
                f"has shape {scale.shape}; both must be (n_features,)"
            )
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise DataError(
                "StandardScaler.from_dict: mean must be finite and scale finite and positive"
            )
        scaler = cls()
        scaler.mean_, scaler.scale_ = mean, scale
        scaler.n_features_in_ = int(mean.shape[0])
        scaler.n_samples_seen_ = int(state.get("n_samples_seen", 0))
        return scaler

    def __repr__(self) -> str:
        fitted = f"n_features_in_={self.n_features_in_}" if hasattr(self, "mean_") else "unfitted"
        return f"StandardScaler({fitted})"
