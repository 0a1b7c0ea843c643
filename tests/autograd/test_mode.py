"""detect_anomaly: the first op producing NaN/inf is named, with the user's line."""

from __future__ import annotations

from typing import Any

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


# ----- grad modes: per thread, re-entrant, decorators active only inside calls ----------------
def test_set_grad_enabled_as_a_decorator_applies_only_inside_calls() -> None:
    @nb.set_grad_enabled(False)
    def frozen(w: nb.Tensor) -> nb.Tensor:
        assert not nb.is_grad_enabled()
        return w * 2

    assert nb.is_grad_enabled()  # applying the decorator changed nothing
    w = nb.ones(2, requires_grad=True)
    assert not frozen(w).requires_grad
    assert nb.is_grad_enabled() and (w * 2).requires_grad


def test_set_grad_enabled_as_a_call_and_as_a_context() -> None:
    nb.set_grad_enabled(False)
    try:
        assert not nb.is_grad_enabled()
        with nb.set_grad_enabled(True):
            assert nb.is_grad_enabled()
        assert not nb.is_grad_enabled()
    finally:
        nb.set_grad_enabled(True)
    with nb.set_grad_enabled(False):
        assert not nb.is_grad_enabled()
    assert nb.is_grad_enabled()


def test_a_recursive_no_grad_function_restores_recording() -> None:
    @nb.no_grad()
    def depth(n: int) -> int:
        assert not nb.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert nb.is_grad_enabled()


def test_one_instance_entered_twice_restores_each_level() -> None:
    mode = nb.no_grad()
    with mode:
        with nb.enable_grad(), mode:
            assert not nb.is_grad_enabled()
        assert not nb.is_grad_enabled()
    assert nb.is_grad_enabled()


def test_no_grad_in_one_thread_leaves_the_others_recording() -> None:
    import threading

    inside, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def worker() -> None:
        with nb.no_grad():
            inside.set()
            release.wait(5)
            seen.append(nb.is_grad_enabled())

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(5)
    try:
        w = nb.ones(2, requires_grad=True)
        assert nb.is_grad_enabled() and (w * 2).requires_grad
    finally:
        release.set()
        thread.join()
    assert seen == [False]


def test_a_new_thread_starts_recording_even_inside_no_grad() -> None:
    import threading

    seen: list[bool] = []
    with nb.no_grad():
        thread = threading.Thread(target=lambda: seen.append(nb.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


def test_no_grad_and_enable_grad_decorate_without_parentheses() -> None:
    w = nb.ones(2, requires_grad=True)

    @nb.no_grad
    def frozen() -> nb.Tensor:
        return w * 2

    @nb.enable_grad
    def recorded() -> nb.Tensor:
        return w * 2

    assert not frozen().requires_grad and nb.is_grad_enabled()
    with nb.no_grad():
        assert recorded().requires_grad
    with pytest.raises(TypeError, match="no_grad"):
        nb.no_grad(3)


def test_a_decorated_generator_runs_in_the_mode_and_yields_back_the_callers() -> None:
    w = nb.ones(2, requires_grad=True)

    @nb.no_grad()
    def batches() -> Any:
        for k in range(3):
            seen.append(nb.is_grad_enabled())
            received = yield w * k
            if received is not None:
                seen.append(received)

    seen: list[Any] = []
    outputs = []
    for t in batches():
        assert nb.is_grad_enabled()  # the caller's mode between items
        outputs.append(t.requires_grad)
    assert outputs == [False, False, False] and seen == [False, False, False]
    seen.clear()
    gen = batches()
    next(gen)
    gen.send("hello")
    assert seen == [False, "hello", False]
    gen.close()
