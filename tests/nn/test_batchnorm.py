"""BatchNorm1d against a NumPy transcription of PyTorch's documented semantics.

Training: y = (x − mean) / √(var_biased + eps) · γ + β over the batch (and length) axes;
running_mean ← (1 − m)·running_mean + m·mean, running_var ← (1 − m)·running_var + m·var_unbiased.
Eval: the same normalisation with the running statistics.
"""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla.nn import BatchNorm1d

EPS = 1e-5


def np_batchnorm(
    x: np.ndarray, mean: np.ndarray, var: np.ndarray, gamma: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    r = [a.reshape(shape) for a in (mean, var, gamma, beta)]
    return (x - r[0]) / np.sqrt(r[1] + EPS) * r[2] + r[3]


def random_affine(bn: BatchNorm1d, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    bn.weight.data[...] = rng.uniform(0.5, 2.0, size=bn.num_features)
    bn.bias.data[...] = rng.normal(size=bn.num_features)
    return bn.weight.data.copy(), bn.bias.data.copy()


def test_parameters_and_buffers() -> None:
    bn = BatchNorm1d(3)
    assert list(bn.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(bn.weight.data, 1.0)
    np.testing.assert_array_equal(bn.bias.data, 0.0)
    np.testing.assert_array_equal(bn.running_mean, 0.0)
    np.testing.assert_array_equal(bn.running_var, 1.0)
    assert bn.num_batches_tracked == 0


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)], ids=["NC", "NCL"])
def test_training_forward_uses_batch_mean_and_biased_variance(
    shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    bn = BatchNorm1d(3, dtype=np.float64)
    gamma, beta = random_affine(bn, rng)
    x = rng.normal(loc=3.0, scale=2.0, size=shape)
    axes = (0,) if len(shape) == 2 else (0, 2)
    expected = np_batchnorm(x, x.mean(axis=axes), x.var(axis=axes), gamma, beta)
    out = bn(nb.tensor(x))
    assert out.shape == shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)], ids=["NC", "NCL"])
def test_running_statistics_over_three_batches(
    shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    momentum = 0.1
    bn = BatchNorm1d(3, dtype=np.float64)
    axes = (0,) if len(shape) == 2 else (0, 2)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(loc=-1.0, scale=3.0, size=shape)
        bn(nb.tensor(x))
        running_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=axes)
        running_var = (1 - momentum) * running_var + momentum * x.var(axis=axes, ddof=1)
    np.testing.assert_allclose(bn.running_mean, running_mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, running_var, rtol=1e-12)
    assert bn.num_batches_tracked == 3


def test_custom_momentum(rng: np.random.Generator) -> None:
    bn = BatchNorm1d(2, momentum=0.5, dtype=np.float64)
    x = rng.normal(size=(6, 2))
    bn(nb.tensor(x))
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.var(axis=0, ddof=1), rtol=1e-12)


def test_eval_uses_running_statistics_and_leaves_them_alone(rng: np.random.Generator) -> None:
    bn = BatchNorm1d(4, dtype=np.float64)
    gamma, beta = random_affine(bn, rng)
    for _ in range(3):
        bn(nb.tensor(rng.normal(loc=2.0, size=(10, 4))))
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval()
    x = rng.normal(size=(5, 4))
    np.testing.assert_allclose(
        bn(nb.tensor(x)).data, np_batchnorm(x, mean, var, gamma, beta), rtol=1e-12
    )
    one = rng.normal(size=(1, 4))  # a batch of one is fine in eval
    np.testing.assert_allclose(
        bn(nb.tensor(one)).data, np_batchnorm(one, mean, var, gamma, beta), rtol=1e-12
    )
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)
    assert bn.num_batches_tracked == 3


@pytest.mark.parametrize("shape", [(6, 3), (3, 3, 4)], ids=["NC", "NCL"])
def test_training_gradients(shape: tuple[int, ...], rng: np.random.Generator) -> None:
    bn = BatchNorm1d(3, dtype=np.float64)
    random_affine(bn, rng)
    x = nb.tensor(rng.normal(size=shape), requires_grad=True)
    assert nb.gradcheck(lambda x, w, b: bn(x), x, bn.weight, bn.bias)


def test_eval_gradients(rng: np.random.Generator) -> None:
    bn = BatchNorm1d(3, dtype=np.float64)
    random_affine(bn, rng)
    bn(nb.tensor(rng.normal(size=(8, 3))))
    bn.eval()
    x = nb.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    assert nb.gradcheck(lambda x, w, b: bn(x), x, bn.weight, bn.bias)
    # in eval the layer is affine in x: ∂y/∂x = γ / √(running_var + eps)
    x.grad = None
    bn(x).sum().backward()
    scale = bn.weight.data / np.sqrt(bn.running_var + EPS)
    np.testing.assert_allclose(x.grad, np.broadcast_to(scale, (4, 3)), rtol=1e-12)


def test_wrong_feature_count_is_reported() -> None:
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*\(4, 5\)"):
        bn(nb.ones(4, 5))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        bn(nb.ones(3))


def test_a_batch_of_one_cannot_be_normalised_in_training() -> None:
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(nb.ones(1, 3))
    assert bn.num_batches_tracked == 0
    # one sample with a length axis has several values per channel: allowed
    assert bn(nb.tensor(np.arange(6.0).reshape(1, 3, 2))).shape == (1, 3, 2)


def test_without_affine_or_running_stats(rng: np.random.Generator) -> None:
    bn = BatchNorm1d(3, affine=False, track_running_stats=False, dtype=np.float64)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = rng.normal(size=(7, 3))
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + EPS)
    np.testing.assert_allclose(bn(nb.tensor(x)).data, expected, rtol=1e-10)
    bn.eval()  # with no running statistics, eval normalises with the batch as well
    np.testing.assert_allclose(bn(nb.tensor(x)).data, expected, rtol=1e-10)


def test_float32_input_stays_float32(rng: np.random.Generator) -> None:
    bn = BatchNorm1d(3)
    out = bn(nb.tensor(rng.normal(size=(5, 3)).astype(np.float32)))
    assert out.dtype == np.float32 and bn.running_var.dtype == np.float32
