"""What the classifiers share: labels, probabilities, class weights and ``partial_fit``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from nabla.sklearn._base import BaseNetwork

if TYPE_CHECKING:
    from typing_extensions import Self


def _is_stochastic(estimator: Any) -> bool:
    if estimator.solver == "lbfgs":
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {estimator.solver} is "
            "not stochastic."
        )
    return True


class _Classifier(ClassifierMixin, BaseNetwork):  # type: ignore[misc]
    """Labels, probabilities and ``partial_fit`` for the classifiers."""

    _is_classifier = True

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Self:
        """Fit the network to X (n_samples, n_features) and labels y; returns self.

        ``y`` holds class labels (strings or integers), or a (n_samples, n_labels) indicator
        matrix for multi-label classification. ``sample_weight`` (n_samples,) weights each
        sample's loss (the mean becomes a weighted mean).
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_is_stochastic)  # type: ignore[untyped-decorator]  # sklearn has no types
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> Self:
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
        if not hasattr(self, "classes_"):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            elif classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the first call to partial_fit, "
                f"which was {self.classes_!r}"
            )
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool, dtype: np.dtype[Any]
    ) -> tuple[Any, Any, Any]:
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=dtype, reset=reset, **self._input_options()
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y).astype(bool)
        return X, Y, y

    def _extra_weights(self, y: Any, incremental: bool) -> Any:
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return None
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is not supported for multi-label targets")
        if incremental and class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: the class "
                "frequencies of one batch are not those of the data; pass a dict instead"
            )
        return compute_sample_weight(class_weight, y)

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _decode(self, Y: Any) -> Any:
        return self._label_binarizer.inverse_transform(Y)

    def _probabilities(self, X: Any) -> np.ndarray[Any, Any]:
        z = self._forward(X).astype(np.float64)  # float64 probabilities sum to 1 exactly
        if self.out_activation_ == "softmax":
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return np.asarray(z / z.sum(axis=1, keepdims=True))
        return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))  # σ(z), without overflow

    def _predict(self, X: Any) -> Any:
        p = self._probabilities(X)
        return self._label_binarizer.inverse_transform(p.ravel() if p.shape[1] == 1 else p)

    def _check_X(self, X: Any) -> Any:
        check_is_fitted(self, "model_")
        return validate_data(
            self, X, reset=False, dtype=self.model_.dtype, **self._input_options()
        )

    def predict(self, X: Any) -> Any:
        """Class labels (n_samples,), or the (n_samples, n_labels) indicator for multi-label."""
        return self._predict(self._check_X(X))

    def predict_proba(self, X: Any) -> np.ndarray[Any, Any]:
        """Probability of each class, (n_samples, n_classes), columns ordered as ``classes_``.

        For binary problems the network has one sigmoid output p and this returns [1 − p, p];
        for multi-label problems, one independent probability per label.
        """
        p = self._probabilities(self._check_X(X))
        return np.hstack([1 - p, p]) if p.shape[1] == 1 else p

    def predict_log_proba(self, X: Any) -> np.ndarray[Any, Any]:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):  # a probability of exactly 0 has log −inf
            return np.asarray(np.log(self.predict_proba(X)))

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return float(accuracy_score(y, self._predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
