"""The VAE's two loss terms, as notebooks 04 and 06 define them, against first principles.

The functions under test are the notebooks' own (`gen_lib/notebook_code.py` runs their
`model` cells); the tests of the loss terms run for both notebooks, those of dynamic
binarization and the importance-weighted bound for 04; all of them once per backend.
"""

import keras
import numpy as np
import pytest
from keras import ops

from gen_lib.notebook_code import notebook_namespace


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


# Notebook 04 only: dynamic binarization and the importance-weighted bound.


@pytest.fixture(scope="module")
def nb04():
    return notebook_namespace("04_vae")


def networks(ns, latent_dim, seed=0):
    keras.utils.set_random_seed(seed)
    return ns["make_encoder"](latent_dim, seed=seed), ns["make_decoder"](latent_dim)


def binary_digits(n, seed=0):
    """Binary images with some structure: a bright square on a dark background, plus noise."""
    rng = np.random.default_rng(seed)
    grey = np.full((n, 28, 28, 1), 0.05, "float32")
    grey[:, 8:20, 8:20] = 0.9
    return (rng.uniform(size=grey.shape) < grey).astype("float32")


def test_binarize_draws_each_pixel_with_its_grey_level(nb04):
    grey = np.full((64, 28, 28, 1), 0.3, "float32")
    grey[:, :, :14] = 0.0
    seed = keras.random.SeedGenerator(0)
    first, second = (to_np(nb04["binarize"](grey, seed)) for _ in range(2))
    assert set(np.unique(first)) <= {0.0, 1.0}
    assert first[:, :, :14].max() == 0.0  # a black pixel stays black
    assert first[:, :, 14:].mean() == pytest.approx(0.3, abs=0.01)
    assert (first != second).any()  # a fresh draw each time the seed generator is used


def test_log_mean_exp_is_stable_and_exact(nb04):
    log_mean_exp = nb04["log_mean_exp"]
    values = np.random.default_rng(0).normal(size=(3, 50))
    np.testing.assert_allclose(log_mean_exp(values), np.log(np.exp(values).mean(-1)), rtol=1e-12)
    assert log_mean_exp(np.array([[1000.0, 1000.0]]))[0] == pytest.approx(1000.0)
    assert log_mean_exp(np.array([[-1000.0, -1000.0 + np.log(3.0)]]))[0] == pytest.approx(
        -1000.0 + np.log(2.0))


def test_one_importance_sample_is_an_elbo_estimate(nb04):
    """k = 1: log w = log p(x|z) - (log q(z|x) - log p(z)), whose mean is the ELBO."""
    encoder, decoder = networks(nb04, 2)
    images, k = binary_digits(3), 4000
    log_w = nb04["log_importance_weights"](encoder, decoder, images, k,
                                           np.random.default_rng(0))
    assert log_w.shape == (3, k)
    # Both sides in float64: a float32 mean of 4,000 values near -543 is off by round-off.
    np.testing.assert_allclose(nb04["importance_weighted_bound"](log_w, 1),
                               log_w.mean(1, dtype="float64"))
    # The same draws again: the reconstruction term of each, and the closed-form KL.
    z_mean, z_log_var = (to_np(t) for t in encoder(images)[:2])
    eps = np.random.default_rng(0).standard_normal((3, k, 2)).astype("float32")
    z = z_mean[:, None] + np.exp(0.5 * z_log_var)[:, None] * eps
    nll = to_np(nb04["bernoulli_nll"](np.repeat(images, k, axis=0),
                                      decoder(z.reshape(3 * k, 2)))).reshape(3, k)
    kl = to_np(nb04["gaussian_kl"](z_mean, z_log_var))
    log_prior_ratio = log_w + nll  # log p(z) - log q(z|x), per draw
    tolerance = 5 * log_prior_ratio.std(1) / np.sqrt(k)
    assert (np.abs(log_prior_ratio.mean(1) + kl) < tolerance).all()
    elbo = -(nll.mean(1) + kl)
    assert (np.abs(log_w.mean(1) - elbo) < tolerance).all()


def test_importance_weighted_bound_tightens_towards_log_likelihood(nb04):
    """L_1 < L_10 < L_100 < L_1000 <= log p(x), with log p(x) by quadrature over a 1-D code.

    The proposal is a deliberately poor q(z|x) = N(0.5, 0.1), and the decoder's first layer
    is scaled up so that p(x|z) depends strongly on z: the gap L_1 - log p(x) is then large
    enough (about a nat) for the tightening to show through the Monte Carlo noise.
    """
    _, decoder = networks(nb04, 1, seed=3)
    dense = decoder.layers[1]
    dense.kernel.assign(dense.kernel * 10.0)
    images = binary_digits(2, seed=1)

    def poor_q(x):
        return (np.full((len(x), 1), 0.5, "float32"), np.full((len(x), 1), np.log(0.1), "float32"))

    grid = np.linspace(-8, 8, 8001, dtype="float32")[:, None]
    grid_logits = to_np(decoder(grid))
    log_prior = -0.5 * (grid[:, 0].astype("float64") ** 2 + np.log(2 * np.pi))
    log_w = nb04["log_importance_weights"](poor_q, decoder, images, 10_000,
                                           np.random.default_rng(1))
    bounds = [nb04["importance_weighted_bound"](log_w, k) for k in (1, 10, 100, 1000)]
    for i, image in enumerate(images):
        nll = to_np(nb04["bernoulli_nll"](np.repeat(image[None], len(grid), axis=0),
                                          grid_logits)).astype("float64")
        joint = -nll + log_prior
        top = joint.max()
        log_px = top + np.log(np.exp(joint - top).sum() * (grid[1, 0] - grid[0, 0]))
        estimates = [float(b[i]) for b in bounds]
        assert estimates == sorted(estimates), (estimates, log_px)
        assert estimates[-1] <= log_px + 0.02, (estimates, log_px)
        assert log_px - estimates[0] > 0.3, (estimates, log_px)  # the test has teeth
