"""gen_lib.Sampling: the reparameterization trick as a serializable layer."""

import keras
import numpy as np
import pytest
from keras import layers, ops

import gen_lib


def encoder_with_sampling(seed=1):
    x = keras.Input((3,))
    mean = layers.Dense(2, name="mean")(x)
    log_var = layers.Dense(2, name="log_var")(x)
    return keras.Model(x, gen_lib.Sampling(seed=seed)([mean, log_var]))


def test_samples_have_the_requested_mean_and_variance():
    n = 20000
    mean = np.full((n, 2), [1.0, -2.0], "float32")
    log_var = np.full((n, 2), np.log([4.0, 0.25]), "float32")
    z = ops.convert_to_numpy(gen_lib.Sampling(seed=0)([mean, log_var]))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [2.0, 0.5], rtol=0.03)


def test_each_call_draws_new_noise_and_a_seed_reproduces_it():
    mean, log_var = np.zeros((4, 3), "float32"), np.zeros((4, 3), "float32")
    first = gen_lib.Sampling(seed=3)
    a, b = (ops.convert_to_numpy(first([mean, log_var])) for _ in range(2))
    assert not np.allclose(a, b)
    again = ops.convert_to_numpy(gen_lib.Sampling(seed=3)([mean, log_var]))
    np.testing.assert_array_equal(a, again)


def test_gradient_reaches_mean_and_log_var():
    # d z / d mean = 1 and d z / d log_var = eps * exp(log_var / 2) / 2, so a loss of
    # sum(z) has gradient 1 w.r.t. mean: the encoder learns through the noise.
    model = encoder_with_sampling()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [ops.convert_to_numpy(v).copy() for v in model.trainable_variables]
    model.fit(np.ones((8, 3), "float32"), np.full((8, 2), 5.0, "float32"), epochs=1,
              batch_size=8, verbose=0)
    after = [ops.convert_to_numpy(v) for v in model.trainable_variables]
    assert all(not np.allclose(b, a) for b, a in zip(before, after, strict=True))


def test_saved_model_reloads_with_safe_mode(tmp_path):
    model = encoder_with_sampling(seed=5)
    path = tmp_path / "encoder.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    layer = next(lay for lay in reloaded.layers if isinstance(lay, gen_lib.Sampling))
    assert layer.seed == 5
    x = np.ones((2, 3), "float32")
    mean_model = keras.Model(reloaded.input, reloaded.get_layer("mean").output)
    np.testing.assert_allclose(ops.convert_to_numpy(mean_model(x)),
                               ops.convert_to_numpy(model.get_layer("mean")(x)), rtol=1e-6)


def test_mismatched_shapes_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="same size"):
        gen_lib.Sampling()([keras.Input((2,)), keras.Input((3,))])
    with pytest.raises(ValueError, match=r"\[mean, log_var\]"):
        gen_lib.Sampling().build((None, 2))
