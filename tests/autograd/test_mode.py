"""detect_anomaly: the first op producing NaN/inf is named, with the user's line."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb


def test_anomaly_in_forward_names_op_and_line() -> None:
    x = nb.tensor(np.array([-1.0, 1.0]), requires_grad=True)
    # the NaN is the point of this test: silence NumPy's own warning about it
    with (
        nb.detect_anomaly(),
        pytest.raises(nb.AnomalyError) as info,
        np.errstate(invalid="ignore"),
    ):
        nb.sqrt(x)
    message = str(info.value)
    assert "sqrt" in message and "test_mode.py" in message and "nb.sqrt(x)" in message


def test_anomaly_in_backward_names_op() -> None:
    x = nb.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with nb.detect_anomaly():
        y = nb.sqrt(x)  # finite forward, infinite derivative at 0
        with np.errstate(divide="ignore"), pytest.raises(nb.AnomalyError, match=r"sqrt.*backward"):
            y.sum().backward()


def test_without_anomaly_mode_nan_passes_silently() -> None:
    x = nb.tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = nb.sqrt(x)
    assert np.isnan(y.data).all()
