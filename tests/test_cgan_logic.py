"""The conditioning logic of notebook 02 (CGAN), on small networks, in seconds.

Run once per backend: KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_cgan_logic.py
Tests cannot import notebooks: the few lines they check are repeated here, at a small size.
"""

import math

import keras
import numpy as np
from keras import layers, ops

import gen_lib

LATENT, CLASSES, SIZE = 4, 10, 8  # 8x8 images keep the networks tiny


def one_hot(class_ids):
    return np.eye(CLASSES, dtype="float32")[np.asarray(class_ids)]


def label_maps(condition, size=SIZE):
    """The notebook's broadcast: (n, classes) -> (n, size, size, classes), no Lambda."""
    return layers.UpSampling2D(size)(layers.Reshape((1, 1, CLASSES))(condition))


def small_generator():
    noise, condition = keras.Input((LATENT,)), keras.Input((CLASSES,))
    h = layers.Dense(4 * 4 * 4, use_bias=False)(layers.Concatenate()([noise, condition]))
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Reshape((4, 4, 4))(h)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(h)
    return keras.Model([noise, condition], image)


def small_discriminator(read_condition=True):
    image, condition = keras.Input((SIZE, SIZE, 1)), keras.Input((CLASSES,))
    h = layers.Concatenate()([image, label_maps(condition)]) if read_condition else image
    h = layers.LeakyReLU(negative_slope=0.2)(layers.Conv2D(4, 4, strides=2, padding="same")(h))
    return keras.Model([image, condition], layers.Dense(1)(layers.Flatten()(h)))


class SmallCGAN(keras.Model):
    """The notebook's train_step, unchanged apart from names."""

    def __init__(self, generator, discriminator, seed=0):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        gen_lib.track_optimizers(self, (d_optimizer, self.discriminator),
                                 (g_optimizer, self.generator))

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def sample_conditions(self, batch_size):
        classes = keras.random.randint((batch_size,), 0, CLASSES, seed=self.seed_generator)
        return ops.one_hot(classes, CLASSES)

    @gen_lib.train_step
    def train_step(self, data):
        real_images, real_labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = ops.shape(real_images)[0]
        real_conditions = ops.one_hot(ops.cast(real_labels, "int32"), CLASSES)
        noise = keras.random.normal((batch_size, LATENT), seed=self.seed_generator)
        fake_conditions = self.sample_conditions(batch_size)

        def discriminator_loss():
            fake_images = self.generator([noise, fake_conditions], training=True)
            real_logits = self.discriminator([real_images, real_conditions], training=True)
            fake_logits = self.discriminator([fake_images, fake_conditions], training=True)
            return (self.bce(ops.ones_like(real_logits), real_logits)
                    + self.bce(ops.zeros_like(fake_logits), fake_logits))

        d_loss = gen_lib.minimize(discriminator_loss, self.discriminator.trainable_variables,
                                  self.d_optimizer)
        noise = keras.random.normal((batch_size, LATENT), seed=self.seed_generator)
        fake_conditions = self.sample_conditions(batch_size)

        def generator_loss():
            fake_images = self.generator([noise, fake_conditions], training=True)
            fake_logits = self.discriminator([fake_images, fake_conditions], training=True)
            return self.bce(ops.ones_like(fake_logits), fake_logits)

        g_loss = gen_lib.minimize(generator_loss, self.generator.trainable_variables,
                                  self.g_optimizer)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


def output_change(network, first_input):
    n = len(first_input)
    as_zero = ops.convert_to_numpy(network([first_input, one_hot(np.zeros(n, int))]))
    as_one = ops.convert_to_numpy(network([first_input, one_hot(np.ones(n, int))]))
    return float(np.abs(as_zero - as_one).max())


def test_label_maps_repeat_the_one_hot_vector_at_every_pixel():
    condition = keras.Input((CLASSES,))
    model = keras.Model(condition, label_maps(condition, size=28))
    classes = np.array([0, 3, 9])
    maps = ops.convert_to_numpy(model(one_hot(classes)))
    assert maps.shape == (3, 28, 28, CLASSES)
    expected = np.broadcast_to(one_hot(classes)[:, None, None, :], maps.shape)
    np.testing.assert_array_equal(maps, expected)


def test_condition_reaches_the_output_unless_it_is_ignored():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(5, LATENT)).astype("float32")
    images = rng.uniform(-1, 1, size=(5, SIZE, SIZE, 1)).astype("float32")
    assert output_change(small_generator(), noise) > 0
    assert output_change(small_discriminator(), images) > 0
    # The original's bug: the condition is an input and changes nothing.
    assert output_change(small_discriminator(read_condition=False), images) == 0


def test_sampled_fake_labels_are_one_hot_and_uniform():
    model = SmallCGAN(small_generator(), small_discriminator(), seed=3)
    conditions = ops.convert_to_numpy(model.sample_conditions(20_000))
    assert conditions.shape == (20_000, CLASSES)
    np.testing.assert_array_equal(conditions.sum(axis=1), 1.0)
    counts = conditions.sum(axis=0)
    # Binomial(20k, 0.1): standard deviation ~42; 6 sigma is far from any real failure mode.
    assert np.all(np.abs(counts - 2000) < 6 * math.sqrt(20_000 * 0.1 * 0.9)), counts


def test_train_step_uses_labels_and_advances_both_optimizers():
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, size=(32, SIZE, SIZE, 1)).astype("float32")
    labels = (np.arange(32) % CLASSES).astype("int32")
    model = SmallCGAN(small_generator(), small_discriminator(), seed=0)
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    before = [ops.convert_to_numpy(v).copy() for v in model.discriminator.trainable_variables]
    history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert int(model.d_optimizer.iterations) == 4
    assert int(model.g_optimizer.iterations) == 4
    assert all(math.isfinite(history.history[k][-1]) for k in ("d_loss", "g_loss"))
    after = [ops.convert_to_numpy(v) for v in model.discriminator.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
