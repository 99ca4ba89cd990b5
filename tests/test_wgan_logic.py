"""The pure logic of notebook 03 (WGAN, WGAN-GP) on the current backend, in seconds.

The gradient penalty and the weight clipping below are written the way the notebook writes
them (tests cannot import notebooks); the critics are tiny functions whose input gradient
is known in closed form. Run once per backend:
KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_wgan_logic.py
"""

import keras
import numpy as np
import pytest
from keras import layers, ops

import gen_lib

SHAPE = (4, 4, 1)  # tiny "images"
EPS = 1e-12


def to_np(value):
    return ops.convert_to_numpy(value)


def gradient_penalty(critic_fn, real, fake, seed_generator, eps=EPS):
    """As in the notebook: interpolate with U[0, 1] weights, penalise (||grad|| - 1)^2."""
    alpha = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), 0.0, 1.0, seed=seed_generator)
    interpolates = alpha * real + (1.0 - alpha) * fake
    grads = gen_lib.input_gradients(critic_fn, interpolates)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + eps)
    return ops.mean(ops.square(norms - 1.0))


def images(n, seed):
    return np.random.default_rng(seed).normal(size=(n, *SHAPE)).astype("float32")


class PenaltyModel(keras.Model):
    """One SGD step on the penalty of a linear critic f(x) = sum(w * x) per image."""

    def __init__(self, w0, eps=EPS):
        super().__init__()
        self.w = keras.Variable(np.asarray(w0, "float32"), name="w")
        self.eps = eps
        self.seed_generator = keras.random.SeedGenerator(0)
        self.built = True

    def critic(self, x):
        return ops.sum(self.w * x, axis=(1, 2, 3))

    def compile(self, optimizer):
        super().compile()
        self.opt = optimizer
        gen_lib.track_optimizers(self, (optimizer, [self.w]))

    @gen_lib.train_step
    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        fake = ops.flip(real, axis=0) * 0.5

        def loss():
            return gradient_penalty(self.critic, real, fake, self.seed_generator, self.eps)

        return {"gp": gen_lib.minimize(loss, [self.w], self.opt)}


def one_penalty_step(w0, eps=EPS):
    model = PenaltyModel(w0, eps)
    model.compile(keras.optimizers.SGD(learning_rate=1.0))
    history = model.fit(images(8, 0), batch_size=8, epochs=1, verbose=0)
    return history.history["gp"][0], to_np(model.w)


def test_penalty_of_a_linear_critic_matches_the_closed_form():
    """f(x) = sum(w x): grad_x f = w at every interpolate, so GP = (||w|| - 1)^2 and
    d GP / dw = 2 (||w|| - 1) w / ||w||, whatever the interpolation weights are."""
    w0 = np.random.default_rng(1).normal(size=SHAPE).astype("float32")
    norm = np.sqrt((w0**2).sum())
    gp, w1 = one_penalty_step(w0)
    assert gp == pytest.approx((norm - 1) ** 2, rel=1e-4)
    expected_grad = 2 * (norm - 1) * w0 / norm
    np.testing.assert_allclose(w1, w0 - expected_grad, rtol=1e-4, atol=1e-5)


def test_penalty_of_a_quadratic_critic_matches_the_closed_form():
    """f(x) = sum(x^2) / 2 has grad_x f = x: the norm depends on each interpolate."""
    real, fake = images(6, 2), images(6, 3)
    seed = keras.random.SeedGenerator(7)
    gp = gradient_penalty(lambda x: 0.5 * ops.sum(x**2, axis=(1, 2, 3)), real, fake, seed)
    # Draw the same interpolation weights again from a fresh, identically seeded generator.
    alpha = to_np(keras.random.uniform((6, 1, 1, 1), 0.0, 1.0,
                                       seed=keras.random.SeedGenerator(7)))
    x_hat = alpha * real + (1 - alpha) * fake
    norms = np.sqrt((x_hat**2).sum(axis=(1, 2, 3)) + EPS)
    assert float(to_np(gp)) == pytest.approx(((norms - 1) ** 2).mean(), rel=1e-5)


def test_interpolation_weights_are_uniform_in_0_1():
    alpha = to_np(keras.random.uniform((4000, 1, 1, 1), 0.0, 1.0,
                                       seed=keras.random.SeedGenerator(0)))
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert alpha.mean() == pytest.approx(0.5, abs=0.02)


def test_penalty_is_finite_at_zero_gradient_norm():
    """A critic with zero input gradient: GP = 1 and its gradient is finite (zero),
    thanks to the epsilon inside the square root."""
    gp, w1 = one_penalty_step(np.zeros(SHAPE, "float32"))
    assert gp == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(w1).all()
    np.testing.assert_allclose(w1, 0.0, atol=1e-6)


def test_without_epsilon_zero_norm_gives_nan():
    """The reason for the epsilon: d sqrt(s) / ds is infinite at s = 0, and inf * 0 = NaN."""
    _, w1 = one_penalty_step(np.zeros(SHAPE, "float32"), eps=0.0)
    assert not np.isfinite(w1).all()


class ClipModel(keras.Model):
    """n_critic critic steps per call, each followed by clipping, as in the notebook."""

    def __init__(self, clip_value, n_critic=3):
        super().__init__()
        x = keras.Input(SHAPE)
        h = layers.Dense(8, activation="tanh")(layers.Flatten()(x))
        self.critic = keras.Model(x, layers.Dense(1)(h))
        self.clip_value, self.n_critic = clip_value, n_critic
        self.seed_generator = keras.random.SeedGenerator(0)
        self.built = True

    def compile(self, optimizer):
        super().compile()
        self.opt = optimizer
        gen_lib.track_optimizers(self, (optimizer, self.critic))

    @gen_lib.train_step
    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        for batch in ops.split(real, self.n_critic, axis=0):
            fake = keras.random.normal(ops.shape(batch), seed=self.seed_generator)

            def loss(batch=batch, fake=fake):
                return ops.mean(self.critic(fake)) - ops.mean(self.critic(batch))

            c_loss = gen_lib.minimize(loss, self.critic.trainable_variables, self.opt)
            for v in self.critic.trainable_variables:
                v.assign(ops.clip(v, -self.clip_value, self.clip_value))
        return {"c_loss": c_loss}


def test_clipping_inside_train_step_bounds_every_critic_weight():
    c = 0.05
    model = ClipModel(c, n_critic=3)
    model.compile(keras.optimizers.RMSprop(1e-2))
    variables = model.critic.trainable_variables
    before = [to_np(v) for v in variables]
    model.fit(images(24, 4), batch_size=12, epochs=1, verbose=0, shuffle=False)
    after = [to_np(v) for v in variables]
    assert int(model.opt.iterations) == 2 * 3  # 2 steps of 3 critic updates
    for v, b, a in zip(variables, before, after, strict=True):
        assert np.abs(a).max() <= c + 1e-7, v.path
        if "kernel" in v.path:  # (the last bias cancels out of a Wasserstein loss)
            assert not np.allclose(a, b), v.path
    weights = np.concatenate([a.ravel() for a in after])
    # most Glorot-initialised kernel entries exceed c: the last clip left some at the walls
    assert np.isclose(np.abs(weights), c, rtol=0, atol=1e-7).any()
