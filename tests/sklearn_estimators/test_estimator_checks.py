"""scikit-learn's own estimator checks on the three nabla estimators, float32 and float64.

Checks that scikit-learn itself skips here (pandas not installed, ``SCIPY_ARRAY_API`` unset,
``decision_function`` absent) are reported as skipped by pytest with scikit-learn's reason.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.utils.estimator_checks import parametrize_with_checks

from nabla.sklearn import LogisticRegression, MLPClassifier, MLPRegressor

# small networks and few epochs keep the ~400 checks at a few seconds; the learning rate is
# raised so that the accuracy checks (check_classifiers_train: > 0.83) still pass
FAST = {"hidden_layer_sizes": (16,), "learning_rate_init": 0.01, "max_iter": 40}
ESTIMATORS = [
    est
    for dtype in ("float32", "float64")
    for est in (
        MLPClassifier(**FAST, random_state=0, dtype=dtype),
        MLPRegressor(**FAST, random_state=0, dtype=dtype),
        LogisticRegression(max_iter=50, dtype=dtype),
    )
]


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """The one check nabla fails on purpose, and why."""
    if estimator.dtype != "float32":
        return {}
    return {
        # Weighting a row by 2 and repeating it give the same loss, but float32 sums them in a
        # different order: the fits agree to ~1e-7 relative, the check demands rtol=1e-7 (it
        # can pass by luck, so it is not strict). The float64 estimators pass it.
        "check_sample_weight_equivalence_on_dense_data": "float32 rounding (passes in float64)",
    }


# max_iter is kept small on purpose, so the fits stop before converging
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=False
)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)
