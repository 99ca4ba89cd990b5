"""The VAE's two loss terms, as notebooks 04 and 06 define them, against first principles.

The functions under test are the notebooks' own (`tests/notebook_code.py` runs their
`model` cells); each test runs for both notebooks, once per backend.
"""

import numpy as np
import pytest
from keras import ops

from tests.notebook_code import notebook_namespace


@pytest.fixture(params=["04_vae", "06_vae_gan"], scope="module")
def notebook(request):
    return notebook_namespace(request.param)


def to_np(x):
    return ops.convert_to_numpy(x)


def test_kl_is_zero_at_the_prior_and_positive_elsewhere(notebook):
    zeros = ops.zeros((1, 3))
    assert abs(float(to_np(notebook["gaussian_kl"](zeros, zeros))[0])) < 1e-7
    rng = np.random.default_rng(0)
    mean = ops.convert_to_tensor(rng.normal(size=(100, 3)).astype("float32"))
    log_var = ops.convert_to_tensor(rng.normal(size=(100, 3)).astype("float32"))
    assert (to_np(notebook["gaussian_kl"](mean, log_var)) > 0).all()


def test_kl_matches_a_monte_carlo_estimate(notebook):
    # KL(q || p) = E_q[log q(z) - log p(z)], estimated with many samples of q.
    mean, log_var = np.array([1.5, -0.5], "float32"), np.array([-1.0, 0.7], "float32")
    std = np.exp(0.5 * log_var)
    z = mean + std * np.random.default_rng(0).normal(size=(400_000, 2))
    log_q = -0.5 * (((z - mean) / std) ** 2 + np.log(2 * np.pi) + log_var)
    log_p = -0.5 * (z ** 2 + np.log(2 * np.pi))
    monte_carlo = (log_q - log_p).sum(1).mean()
    closed_form = float(to_np(notebook["gaussian_kl"](ops.convert_to_tensor(mean[None]),
                                          ops.convert_to_tensor(log_var[None])))[0])
    assert closed_form == pytest.approx(monte_carlo, abs=0.01)


def test_bernoulli_nll_is_the_cross_entropy_summed_over_pixels(notebook):
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(4, 28, 28, 1)).astype("float32")
    logits = rng.normal(scale=3, size=(4, 28, 28, 1)).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    expected = -(images * np.log(p) + (1 - images) * np.log(1 - p)).sum(axis=(1, 2, 3))
    got = to_np(notebook["bernoulli_nll"](images, logits))
    assert got.shape == (4,)
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_bernoulli_nll_is_stable_for_confident_logits(notebook):
    images = np.ones((1, 28, 28, 1), "float32")
    logits = np.full((1, 28, 28, 1), -100.0, "float32")  # sigmoid underflows to 0
    nll = float(to_np(notebook["bernoulli_nll"](images, logits))[0])
    assert np.isfinite(nll) and nll == pytest.approx(784 * 100, rel=1e-3)


def test_a_coin_flip_decoder_costs_log_2_per_binary_pixel(notebook):
    images = (np.random.default_rng(2).uniform(size=(3, 28, 28, 1)) > 0.5).astype("float32")
    nll = to_np(notebook["bernoulli_nll"](images, np.zeros_like(images)))
    np.testing.assert_allclose(nll, 784 * np.log(2), rtol=1e-5)
