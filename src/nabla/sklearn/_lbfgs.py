"""Full-batch L-BFGS (scipy's L-BFGS-B), as scikit-learn's MLP runs it, on nabla's gradients."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from nabla.sklearn._loss import objective
from nabla.sklearn._settings import Settings


def fit_lbfgs(est: Any, X: Any, Y: Any, sw: Any, s: Settings) -> None:
    """Minimise the loss over all of the network's parameters; set ``n_iter_`` and ``loss_``."""
    import scipy.optimize

    linears = est._linears()
    # scikit-learn's packing: every coef as (fan_in, fan_out), then every intercept
    views: list[Any] = [m.weight.data.T for m in linears] + [m.bias.data for m in linears]
    params: list[Any] = [m.weight for m in linears] + [m.bias for m in linears]
    ids = {id(p) for p in params}
    for p in est.model_.parameters():  # BatchNorm's scale and shift, if any
        if id(p) not in ids:
            views.append(p.data)
            params.append(p)
    grads: list[Any] = [lambda p: p.grad.T] * len(linears)
    grads += [lambda p: p.grad] * (len(params) - len(linears))
    sizes = np.cumsum([0] + [v.size for v in views])

    def unpack(x: np.ndarray[Any, Any]) -> None:
        for view, a, b in zip(views, sizes[:-1], sizes[1:]):
            view[...] = x[a:b].reshape(view.shape)

    def loss_and_grad(x: np.ndarray[Any, Any]) -> tuple[float, np.ndarray[Any, Any]]:
        unpack(x)
        loss = objective(est.model_, est.out_activation_, X, Y, sw, s.alpha)
        est.model_.zero_grad()
        loss.backward()
        grad = np.concatenate(
            [np.ravel(get(p)) for get, p in zip(grads, params)], dtype=np.float64
        )
        return float(loss.data), grad

    x0 = np.concatenate([np.ravel(v) for v in views], dtype=np.float64)
    result = scipy.optimize.minimize(
        loss_and_grad,
        x0,
        method="L-BFGS-B",
        jac=True,
        options={
            "maxfun": s.max_fun,
            "maxiter": s.max_iter,
            "gtol": s.tol,
            **({} if s.lbfgs_ftol is None else {"ftol": s.lbfgs_ftol}),
        },
    )
    est.n_iter_ = min(int(result.nit), s.max_iter)
    if result.status != 0:  # scikit-learn's message (sklearn.utils.optimize)
        message = (
            f"lbfgs failed to converge after {est.n_iter_} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if est.n_iter_ == s.max_iter:
            message += (
                "\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={s.max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=4)
    est.loss_ = float(result.fun)
    unpack(result.x)
