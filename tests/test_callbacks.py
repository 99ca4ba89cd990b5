"""gen_lib.StopOnNaN: a NaN loss stops training loudly and the last good weights survive."""

import keras
import numpy as np
import pytest
from keras import layers, ops

import gen_lib


class BlowsUpAt(keras.Model):
    """Fits y = 2x; from step `bad_step` on, its loss is multiplied by NaN."""

    def __init__(self, bad_step):
        super().__init__()
        self.dense = layers.Dense(1)
        self.bad_step = bad_step
        self.tracker = keras.metrics.Mean(name="my_loss")
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="steps")

    def call(self, x):
        return self.dense(x)

    @gen_lib.train_step
    def train_step(self, data):
        x, y = data
        self.steps.assign(self.steps + 1.0)
        poison = ops.where(self.steps >= self.bad_step, float("nan"), 1.0)
        loss = gen_lib.minimize(lambda: poison * ops.mean((self.dense(x) - y) ** 2),
                                self.dense.trainable_variables, self.optimizer)
        self.tracker.update_state(loss)
        return {"my_loss": self.tracker.result()}

    @property
    def metrics(self):
        return [self.tracker]


def fit(model, callback, steps=12):
    x = np.linspace(-1, 1, 4 * steps, dtype="float32")[:, None]
    model.fit(x, 2 * x, batch_size=4, epochs=1, shuffle=False, verbose=0,
              callbacks=[callback])


def test_nan_stops_training_names_the_step_and_restores_good_weights():
    model = BlowsUpAt(bad_step=7)
    model(np.zeros((1, 1), "float32"))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    callback = gen_lib.StopOnNaN(every=5)
    with pytest.raises(FloatingPointError, match=r"step 7: \{'my_loss': nan\}.*after step 5"):
        fit(model, callback)
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    for restored, kept in zip(weights, callback.good_weights, strict=True):
        np.testing.assert_array_equal(restored, kept)
    assert float(ops.convert_to_numpy(model.steps)) == 5.0  # the step count is restored too


def test_finite_training_runs_to_the_end():
    model = BlowsUpAt(bad_step=1000)
    model(np.zeros((1, 1), "float32"))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    callback = gen_lib.StopOnNaN(every=5)
    fit(model, callback)
    assert callback.step == 12 and callback.good_step == 10


def test_every_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        gen_lib.StopOnNaN(every=0)
