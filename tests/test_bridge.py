"""The backend bridge: one stateful-style train_step, correct on the current backend.

Run once per backend: KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_bridge.py
"""

import keras
import numpy as np
import pytest
from keras import layers, ops

from gen_lib import bridge

BACKEND = keras.backend.backend()
LATENT = 4


def to_np(value):
    return ops.convert_to_numpy(value)


def small_generator():
    z = keras.Input((LATENT,))
    h = layers.Dense(8, use_bias=False)(z)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    return keras.Model(z, layers.Dense(3)(h), name="generator")


def small_critic():
    x = keras.Input((3,))
    h = layers.Dense(8, activation="tanh")(x)
    return keras.Model(x, layers.Dense(1)(h), name="critic")


class TinyGAN(keras.Model):
    """Two networks, two optimizers, batch norm, random noise, two metric trackers."""

    def __init__(self, seed=0):
        super().__init__()
        self.generator = small_generator()
        self.critic = small_critic()
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.noise_mean_tracker = keras.metrics.Mean(name="noise_mean")
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        bridge.track_optimizers(self, (d_optimizer, self.critic), (g_optimizer, self.generator))

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.noise_mean_tracker]

    @bridge.train_step
    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch = ops.shape(real)[0]
        z = keras.random.normal((batch, LATENT), seed=self.seed_generator)

        def d_loss_fn():
            fake = self.generator(z, training=True)
            return ops.mean(self.critic(fake)) - ops.mean(self.critic(real))

        d_loss = bridge.minimize(d_loss_fn, self.critic.trainable_variables, self.d_optimizer)

        z2 = keras.random.normal((batch, LATENT), seed=self.seed_generator)
        g_loss = bridge.minimize(
            lambda: -ops.mean(self.critic(self.generator(z2, training=True))),
            self.generator.trainable_variables,
            self.g_optimizer,
        )
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.noise_mean_tracker.update_state(ops.mean(z))
        return {m.name: m.result() for m in self.metrics}


def make_model(**compile_kwargs):
    model = TinyGAN()
    model.compile(
        keras.optimizers.Adam(1e-2), keras.optimizers.SGD(1e-2), **compile_kwargs
    )
    return model


def real_data(n=64):
    return np.random.default_rng(0).normal(size=(n, 3)).astype("float32")


MODES = [
    pytest.param({}, id="default"),
    pytest.param({"jit_compile": False}, id="no-jit"),
    pytest.param({"run_eagerly": True}, id="eager"),
]
if BACKEND != "torch":  # Keras refuses steps_per_execution > 1 on torch
    MODES.append(pytest.param({"steps_per_execution": 2}, id="steps_per_execution=2"))
if BACKEND == "torch":
    MODES.append(pytest.param({"jit_compile": True}, id="torch.compile"))


@pytest.mark.parametrize("compile_kwargs", MODES)
def test_fit_updates_every_kind_of_state(compile_kwargs):
    model = make_model(**compile_kwargs)
    def kernels(network):
        return [to_np(v) for v in network.trainable_variables if "kernel" in v.path]

    gen_before, critic_before = kernels(model.generator), kernels(model.critic)
    bn = model.generator.get_layer(index=2)
    moving_mean_before = to_np(bn.moving_mean)
    seed_state_before = to_np(model.seed_generator.state)

    history = model.fit(real_data(64), batch_size=16, epochs=2, verbose=0, shuffle=False)

    steps = 2 * 64 // 16
    assert int(model.d_optimizer.iterations) == steps
    assert int(model.g_optimizer.iterations) == steps
    # both networks moved (every kernel; a Wasserstein critic's last bias has no gradient)
    moved = [(gen_before, kernels(model.generator)), (critic_before, kernels(model.critic))]
    for before, after in moved:
        assert all(not np.allclose(x, y) for x, y in zip(before, after, strict=False))
    # batch-norm statistics (updated inside the loss function) came out
    assert not np.allclose(moving_mean_before, to_np(bn.moving_mean))
    # the seed generator advanced: two draws per step
    assert not np.array_equal(seed_state_before, to_np(model.seed_generator.state))
    # trackers accumulate over the epoch: the logged mean is not just the last step
    assert set(history.history) == {"d_loss", "g_loss", "noise_mean"}
    assert all(np.isfinite(history.history["d_loss"]))


def test_adam_moments_advance_for_both_optimizers():
    model = make_model()
    model.fit(real_data(32), batch_size=16, epochs=1, verbose=0)
    # Adam's first moment for the critic's first kernel is no longer zero
    d_moments = [v for v in model.d_optimizer.variables if "momentum" in v.path]
    assert d_moments and any(np.abs(to_np(v)).sum() > 0 for v in d_moments)


def test_noise_differs_between_steps():
    model = make_model()
    draws = []
    for _ in range(2):
        draws.append(to_np(keras.random.normal((2, LATENT), seed=model.seed_generator)))
    assert not np.allclose(draws[0], draws[1])
    # and inside fit: the per-step noise means of one epoch are not all equal
    model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.SGD(1e-2))
    means = []
    cb = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: means.append(float(logs["noise_mean"]))
    )
    model.fit(real_data(48), batch_size=16, epochs=1, verbose=0, callbacks=[cb])
    # running means of different draws: successive values differ
    assert len(set(np.round(means, 6))) == len(means)


def test_metric_tracker_averages_over_steps():
    model = make_model()
    per_step = []
    cb = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: per_step.append(float(logs["noise_mean"]))
    )
    history = model.fit(real_data(64), batch_size=16, epochs=1, verbose=0, callbacks=[cb])
    assert len(per_step) == 4
    # the epoch log equals the running mean after the last batch, which is the mean of all
    # four batches' noise means: it is not the last batch's value alone
    assert history.history["noise_mean"][0] == pytest.approx(per_step[-1], abs=1e-6)


def test_second_order_gradient_matches_closed_form():
    """For f(x) = sum(w * x**3): d/dw of sum((df/dx)**2) = sum(2 * df/dx * 3 x**2)."""
    w = keras.Variable(np.array([0.5, -1.0, 2.0], dtype="float32"), name="w")
    x = ops.convert_to_tensor(np.array([1.0, 2.0, -0.5], dtype="float32"))

    class Holder(keras.Model):
        def __init__(self):
            super().__init__()
            self.w = w
            self.built = True

        def compile(self, optimizer):
            super().compile()
            self.opt = optimizer
            bridge.track_optimizers(self, (optimizer, [self.w]))

        @bridge.train_step
        def train_step(self, data):
            def penalty():
                grad = bridge.input_gradients(lambda inputs: self.w * inputs**3, x)
                return ops.sum(grad**2)

            loss = bridge.minimize(penalty, [self.w], self.opt)
            return {"loss": loss}

    model = Holder()
    model.compile(keras.optimizers.SGD(learning_rate=1.0))
    w0, x0 = to_np(w), to_np(x)
    # df/dx = 3 w x^2, penalty = sum(9 w^2 x^4), d penalty / dw = 18 w x^4
    expected_grad = 18 * w0 * x0**4
    model.fit(np.zeros((1, 1), "float32"), batch_size=1, epochs=1, verbose=0)
    np.testing.assert_allclose(to_np(w), w0 - expected_grad, rtol=1e-5)
    assert int(model.opt.iterations) == 1


def penalty_of(critic, x):
    grads = bridge.input_gradients(critic, x)
    return ops.mean(ops.square(ops.sqrt(ops.sum(ops.square(grads), axis=1)) - 1.0))


class PenaltyStep(keras.Model):
    """One SGD step on a gradient penalty; `weights` are the variables it trains."""

    def __init__(self, critic, weights):
        super().__init__()
        self.critic, self.weight_list, self.built = critic, weights, True

    def compile(self, optimizer):
        super().compile()
        self.opt = optimizer
        bridge.track_optimizers(self, (optimizer, self.weight_list))

    @bridge.train_step
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return {"penalty": bridge.minimize(lambda: penalty_of(self.critic, x),
                                           self.weight_list, self.opt)}


def test_gradient_penalty_through_batch_norm_is_exact():
    """A critic with batch norm in training mode, one SGD step on a gradient penalty, must
    move its weights exactly as the same critic written with plain ops (mean and variance
    of the batch, differentiated as they are). On TensorFlow, tf.nn.moments computes the
    variance around stop_gradient(mean): right for first derivatives, a term short for
    second ones (weights differing by up to 0.66 from PyTorch's), until input_gradients
    computed the moments differentiably."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    inputs = keras.Input((3,))
    h = layers.Dense(6, use_bias=False)(inputs)  # no biases: batch norm cancels the
    h = layers.BatchNormalization(center=False, scale=False)(h)  # first, and the penalty
    h = layers.Activation("tanh")(h)  # cannot see the last
    with_layer = keras.Model(inputs, layers.Dense(1, use_bias=False)(h))
    k1, k2 = (keras.Variable(to_np(v)) for v in with_layer.trainable_variables)

    def by_hand(v):
        a = ops.matmul(v, k1)
        mean = ops.mean(a, axis=0, keepdims=True)
        variance = ops.mean(ops.square(a - mean), axis=0, keepdims=True)
        return ops.matmul(ops.tanh((a - mean) / ops.sqrt(variance + 1e-3)), k2)

    steps = []
    for critic, weights in [(lambda v: with_layer(v, training=True),
                             with_layer.trainable_variables), (by_hand, [k1, k2])]:
        model = PenaltyStep(critic, weights)
        before = [to_np(w) for w in weights]
        model.compile(keras.optimizers.SGD(learning_rate=1.0))
        model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
        steps.append([b - to_np(w) for b, w in zip(before, weights, strict=True)])
    assert np.abs(steps[1][0]).max() > 1e-3  # the penalty does move the first layer
    for layer_step, hand_step in zip(*steps, strict=True):
        np.testing.assert_allclose(layer_step, hand_step, rtol=1e-4, atol=1e-6)


def test_input_gradients_first_order_eager():
    x = ops.convert_to_tensor(np.array([[1.0, 2.0]], dtype="float32"))
    grad = bridge.input_gradients(lambda inputs: 3.0 * inputs**2, x)
    np.testing.assert_allclose(to_np(grad), [[6.0, 12.0]])


def test_unconnected_loss_is_a_clear_error():
    if BACKEND == "jax":
        pytest.skip("JAX returns zero gradients for unconnected variables")
    model = TinyGAN()
    model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match="does not depend on"):
        bridge.minimize(
            lambda: ops.mean(model.critic(ops.ones((2, 3)))),
            model.generator.trainable_variables,
            model.g_optimizer,
        )


def test_track_optimizers_rejects_bad_input():
    model = TinyGAN()
    with pytest.raises(ValueError, match="pairs"):
        bridge.track_optimizers(model, keras.optimizers.Adam())
    with pytest.raises(TypeError, match="optimizer"):
        bridge.track_optimizers(model, ("adam", model.critic))


@pytest.mark.skipif(BACKEND != "torch", reason="only torch refuses it")
def test_torch_refuses_steps_per_execution():
    """Keras, not the bridge, refuses it on torch; if Keras starts allowing it, add the
    mode to MODES above."""
    model = make_model(steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.fit(real_data(32), batch_size=16, epochs=1, verbose=0)


class LookupModel(keras.Model):
    """A table read by `ops.take` with repeated rows, trained by `minimize`."""

    def __init__(self, optimizer):
        super().__init__()
        self.table = keras.Variable(np.zeros((4, 2), "float32"), name="table")
        self.built = True
        super().compile()
        self.opt = optimizer
        bridge.track_optimizers(self, (optimizer, [self.table]))

    @bridge.train_step
    def train_step(self, data):
        rows = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "int32")

        def loss():  # -sum of the looked-up entries: every lookup adds -1 to its row's gradient
            return -ops.sum(ops.take(self.table, ops.reshape(rows, (-1,)), axis=0))

        return {"loss": bridge.minimize(loss, [self.table], self.opt)}


def test_repeated_lookups_give_adams_step_on_every_backend():
    """Row 0 looked up 200 times, row 1 once, rows 2-3 never. Adam's first step moves
    every entry whose gradient is not zero by learning_rate (m / sqrt(v) = sign(g)), however
    many lookups summed into it. (Keras 3 on TensorFlow, left to itself, squares the 200
    sparse rows one by one and moves row 0 by sqrt(200) x learning_rate.)"""
    rows = np.array([[0] * 200 + [1]], "float32")
    model = LookupModel(keras.optimizers.Adam(1e-3, epsilon=1e-12))
    model.fit(rows, batch_size=1, epochs=1, verbose=0)
    np.testing.assert_allclose(to_np(model.table),
                               [[1e-3, 1e-3], [1e-3, 1e-3], [0, 0], [0, 0]], rtol=1e-5)
