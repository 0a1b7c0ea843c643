"""scikit-learn estimators backed by nabla: ``MLPClassifier``, ``MLPRegressor``, ``LogisticRegression``.

They follow scikit-learn's conventions (``fit``/``predict``/``predict_proba``/``score``/
``partial_fit``, ``get_params``/``set_params``, fitted attributes ending in ``_``), so they work
in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``. ``parity=True`` reproduces
scikit-learn's own ``MLPClassifier``/``MLPRegressor`` run for run; the default adds what
scikit-learn's MLP lacks (dropout, batch normalisation, leaky ReLU, ``class_weight``, any nabla
optimizer, float32).

Needs scikit-learn 1.6 or later (``pip install 'nabla[sklearn]'``); ``import nabla`` never
imports this module.
"""

try:
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError as exc:  # pragma: no cover - depends on the installed scikit-learn
    raise ImportError(
        "nabla.sklearn needs scikit-learn >= 1.6: pip install 'nabla[sklearn]'"
    ) from exc

from nabla.sklearn._linear import LogisticRegression
from nabla.sklearn._mlp import MLPClassifier, MLPRegressor
from nabla.sklearn._optim import AdamOptimizer, SGDOptimizer

__all__ = ["AdamOptimizer", "LogisticRegression", "MLPClassifier", "MLPRegressor", "SGDOptimizer"]
