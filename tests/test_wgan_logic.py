"""The logic of notebook 03 (WGAN, WGAN-GP): the notebook's own WGAN class, in seconds.

`gen_lib/notebook_code.py` runs the notebook's setup and `model` cells, so the penalty and
the clipping tested here are the notebook's. Where a closed form is needed, the critic is
a tiny function whose input gradient is known. Run once per backend:
KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_wgan_logic.py
"""

import functools

import keras
import numpy as np
import pytest
from keras import layers, ops

import gen_lib
from gen_lib.notebook_code import notebook_namespace

SHAPE, LATENT = (4, 4, 1), 3  # tiny "images" for the closed forms
notebook = functools.cache(lambda: notebook_namespace("03_wgan"))


def to_np(value):
    return ops.convert_to_numpy(value)


def images(n, seed, shape=SHAPE):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype("float32")


def zero_generator():
    """G(z) = 0 for every z: fake images that drop out of the closed forms."""
    return keras.Sequential([keras.Input((LATENT,)),
                             layers.Dense(16, use_bias=False, kernel_initializer="zeros"),
                             layers.Reshape(SHAPE)])


def linear_critic(w):
    """f(x) = sum(w * x), whose input gradient is w at every x."""
    critic = keras.Sequential([keras.Input(SHAPE), layers.Flatten(),
                               layers.Dense(1, use_bias=False)])
    critic.layers[-1].kernel.assign(np.asarray(w, "float32").reshape(-1, 1))
    return critic


class HalfSquaredNorm(keras.Model):
    """f(x) = sum(x^2) / 2, whose input gradient is x itself."""

    def call(self, x, training=False):
        return 0.5 * ops.sum(x**2, axis=(1, 2, 3))


def one_critic_step(w0, gp_weight=10.0):
    """One WGAN-GP critic update with SGD(1), n_critic = 1: returns the history, new w."""
    model = notebook()["WGAN"](zero_generator(), linear_critic(w0), LATENT, n_critic=1,
                               gp_weight=gp_weight)
    model.compile(critic_optimizer=keras.optimizers.SGD(1.0),
                  g_optimizer=keras.optimizers.SGD(0.0))
    history = model.fit(images(8, 0), batch_size=8, epochs=1, verbose=0, shuffle=False)
    return history.history, to_np(model.critic.layers[-1].kernel).reshape(SHAPE)


def test_critic_step_with_penalty_matches_the_closed_form():
    """Fakes are 0, so the critic's loss is -w.mean(x) + gp_weight (||w|| - 1)^2 and its
    gradient -mean(x) + 2 gp_weight (||w|| - 1) w / ||w||, whatever the interpolation
    weights are. This also checks that the penalty is inside the differentiated loss."""
    w0 = np.random.default_rng(1).normal(size=SHAPE).astype("float32")
    norm, mean_real = np.sqrt((w0**2).sum()), images(8, 0).mean(axis=0)
    history, w1 = one_critic_step(w0)
    assert history["gp"][0] == pytest.approx((norm - 1) ** 2, rel=1e-4)
    assert history["w_estimate"][0] == pytest.approx(float((w0 * mean_real).sum()), rel=1e-4)
    gradient = -mean_real + 2 * 10.0 * (norm - 1) * w0 / norm
    np.testing.assert_allclose(w1, w0 - gradient, rtol=1e-4, atol=1e-4)


def test_penalty_of_a_quadratic_critic_matches_the_closed_form():
    """With f(x) = sum(x^2) / 2 the gradient norm depends on each interpolate, so this
    checks the interpolation itself: x_hat = eps x + (1 - eps) x~, eps ~ U[0, 1] per image."""
    real, fake = images(6, 2), images(6, 3)
    penalty = float(to_np(notebook()["gradient_penalty"](
        HalfSquaredNorm(), real, fake, keras.random.SeedGenerator(7))))
    # The same weights again, from a fresh generator with the same seed.
    eps = to_np(keras.random.uniform((6, 1, 1, 1), 0.0, 1.0,
                                     seed=keras.random.SeedGenerator(7)))
    x_hat = eps * real + (1 - eps) * fake
    norms = np.sqrt((x_hat**2).sum(axis=(1, 2, 3)))
    assert penalty == pytest.approx(((norms - 1) ** 2).mean(), rel=1e-5)


def test_penalty_is_finite_at_zero_gradient_norm():
    """A critic with zero input gradient: the penalty is 1 and adds no gradient (the
    epsilon inside the square root), so SGD moves w by mean(x) alone."""
    history, w1 = one_critic_step(np.zeros(SHAPE, "float32"))
    assert history["gp"][0] == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(w1, images(8, 0).mean(axis=0), atol=1e-5)


def test_norm_without_epsilon_has_a_nan_gradient_at_zero():
    """The claim behind the notebook's epsilon (its theory section): d sqrt(s)/ds is
    infinite at s = 0, and inf * 0 = NaN: the gradient is NaN, not the value."""
    zeros = ops.convert_to_tensor(np.zeros((2, *SHAPE), "float32"))
    plain = to_np(gen_lib.input_gradients(
        lambda g: ops.sqrt(ops.sum(g**2, axis=(1, 2, 3))), zeros))
    guarded = to_np(gen_lib.input_gradients(
        lambda g: ops.sqrt(ops.sum(g**2, axis=(1, 2, 3)) + 1e-12), zeros))
    value = to_np(ops.sqrt(ops.sum(zeros**2, axis=(1, 2, 3))))
    np.testing.assert_array_equal(value, 0.0)  # the value, and so the penalty, is finite
    assert np.isnan(plain).all()
    np.testing.assert_array_equal(guarded, 0.0)


def test_clipped_model_logs_a_zero_penalty_and_the_estimate():
    """Both models log the same metrics; under clipping `gp` stays 0."""
    ns = notebook()
    model = ns["WGAN"](zero_generator(), linear_critic(np.full(SHAPE, 0.01)), LATENT,
                       n_critic=2, clip_value=0.01)
    model.compile(critic_optimizer=keras.optimizers.SGD(0.0),
                  g_optimizer=keras.optimizers.SGD(0.0))
    logs = model.fit(images(8, 0), batch_size=8, epochs=1, verbose=0, shuffle=False).history
    assert set(logs) == {"c_loss", "g_loss", "w_estimate", "gp"}
    assert logs["gp"][0] == 0.0
    mean_real = images(8, 0).mean()  # f(x) = 0.01 sum(x), fakes are 0
    assert logs["w_estimate"][0] == pytest.approx(0.01 * 16 * mean_real, rel=1e-4)
    assert logs["c_loss"][0] == pytest.approx(-logs["w_estimate"][0], rel=1e-4)


def test_clipping_bounds_every_critic_weight_after_every_critic_step():
    """The notebook's networks, n_critic = 3: 2 batches give 6 critic updates."""
    ns, c = notebook(), 0.05
    model = ns["WGAN"](ns["make_generator"](8), ns["make_critic"](), 8, n_critic=3,
                       clip_value=c)
    model.compile(critic_optimizer=keras.optimizers.RMSprop(1e-2),
                  g_optimizer=keras.optimizers.RMSprop(1e-2))
    variables = model.critic.trainable_variables
    before = [to_np(v) for v in variables]
    model.fit(images(24, 4, shape=(28, 28, 1)), batch_size=12, epochs=1, verbose=0,
              shuffle=False)
    after = [to_np(v) for v in variables]
    assert int(model.critic_optimizer.iterations) == 2 * 3
    assert int(model.g_optimizer.iterations) == 2
    for v, b, a in zip(variables, before, after, strict=True):
        assert np.abs(a).max() <= c + 1e-7, v.path
        if "kernel" in v.path:
            assert not np.allclose(a, b), v.path
    weights = np.concatenate([a.ravel() for a in after])
    # Most Glorot-initialised kernel entries exceed c: the last clip left many at the walls.
    assert np.isclose(np.abs(weights), c, rtol=0, atol=1e-7).any()

