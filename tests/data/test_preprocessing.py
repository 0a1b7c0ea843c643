"""StandardScaler: statistics from the training split only, float32, saved as a dict."""

import json

import numpy as np
import pytest

from nabla.data import StandardScaler, split_dataset
from nabla.errors import DataError


def test_statistics_come_from_the_training_split_only() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 2.0, size=(200, 3)).astype(np.float32)
    y = np.arange(200) % 2
    parts = split_dataset(X, y, seed=0)
    scaler = StandardScaler().fit(parts.X_train)
    np.testing.assert_allclose(scaler.mean_, parts.X_train.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scaler.scale_, parts.X_train.std(axis=0), rtol=1e-5)
    assert not np.allclose(scaler.mean_, X.mean(axis=0), rtol=1e-6)
    expected_test = (parts.X_test - parts.X_train.mean(axis=0)) / parts.X_train.std(axis=0)
    np.testing.assert_allclose(scaler.transform(parts.X_test), expected_test, atol=1e-5)
    train_scaled = scaler.transform(parts.X_train)
    np.testing.assert_allclose(train_scaled.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train_scaled.std(axis=0), 1.0, atol=1e-5)


def test_output_is_float32_even_for_float64_or_int_input() -> None:
    scaler = StandardScaler()
    assert scaler.fit_transform(np.array([[1.0], [3.0]])).dtype == np.float32
    assert scaler.fit_transform(np.array([[1], [3]])).dtype == np.float32
    assert scaler.mean_.dtype == np.float32


def test_constant_features_get_scale_one() -> None:
    X = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]], dtype=np.float32)
    scaler = StandardScaler().fit(X)
    assert scaler.scale_[0] == 1.0
    np.testing.assert_allclose(scaler.transform(X)[:, 0], 0.0, atol=1e-7)


def test_inverse_transform_undoes_transform() -> None:
    X = np.array([[1.0, -2.0], [3.0, 4.0], [5.0, 0.5]], dtype=np.float32)
    scaler = StandardScaler().fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-6)


def test_to_dict_and_from_dict_round_trip_through_json() -> None:
    X = np.array([[1.0, 10.0], [2.0, 30.0], [6.0, 20.0]], dtype=np.float32)
    scaler = StandardScaler().fit(X)
    state = json.loads(json.dumps(scaler.to_dict()))
    assert set(state) == {"mean", "scale", "n_samples_seen"}
    restored = StandardScaler.from_dict(state)
    np.testing.assert_array_equal(restored.transform(X), scaler.transform(X))
    assert restored.n_features_in_ == 2
    assert restored.n_samples_seen_ == 3


def test_errors_name_the_problem() -> None:
    with pytest.raises(DataError, match="not fitted"):
        StandardScaler().transform(np.zeros((2, 2)))
    with pytest.raises(DataError, match="not fitted"):
        StandardScaler().to_dict()
    scaler = StandardScaler().fit(np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"shape \(4, 3\), but the scaler was fitted on 2"):
        scaler.transform(np.zeros((4, 3)))
    with pytest.raises(DataError, match=r"must be 2-D .* got shape \(3,\)"):
        StandardScaler().fit(np.zeros(3))
    with pytest.raises(DataError, match="no rows"):
        StandardScaler().fit(np.zeros((0, 2)))
    with pytest.raises(DataError, match=r"X\[1, 0\] = nan is not finite"):
        StandardScaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(DataError, match=r"must be numeric, got dtype <U1"):
        StandardScaler().fit(np.array([["a"]]))


def test_from_dict_validates_the_state() -> None:
    with pytest.raises(DataError, match=r"missing keys \['scale'\]; found \['mean'\]"):
        StandardScaler.from_dict({"mean": [0.0]})
    with pytest.raises(DataError, match=r"mean has shape \(2,\) and scale has shape \(1,\)"):
        StandardScaler.from_dict({"mean": [0.0, 1.0], "scale": [1.0]})
    with pytest.raises(DataError, match="scale finite and positive"):
        StandardScaler.from_dict({"mean": [0.0], "scale": [0.0]})
