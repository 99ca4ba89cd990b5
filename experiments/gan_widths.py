"""Steps per second of notebook 01's DCGAN: its width, twice its width, and upsampling.

Why: on a CPU the choice of widths decides whether a notebook trains in minutes, and the
backends differ a lot (JAX's CPU backend is slow on the backward pass of wide transposed
convolutions). The third variant replaces each stride-2 transposed convolution by
nearest-neighbour upsampling and a 3x3 convolution, the usual way around that. Runs are
interleaved and each ratio is taken within a round, so a noisy, shared machine still gives
a fair comparison. One backend per process:

    for b in tensorflow jax torch; do KERAS_BACKEND=$b python experiments/gan_widths.py; done

`--tiny` runs a few steps only, to check that the script works .
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gen_lib  # noqa: E402  (first: it silences TensorFlow's log noise)
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402

LATENT_DIM = 64


def make_generator(width=1, upsample=False):
    def double_size(h, filters, **kwargs):
        if upsample:
            return layers.Conv2D(filters, 3, padding="same", **kwargs)(layers.UpSampling2D()(h))
        return layers.Conv2DTranspose(filters, 4, strides=2, padding="same", **kwargs)(h)

    noise = keras.Input((LATENT_DIM,))
    h = layers.Dense(7 * 7 * 64 * width, use_bias=False)(noise)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Reshape((7, 7, 64 * width))(h)
    h = double_size(h, 32 * width, use_bias=False)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    image = double_size(h, 1, activation="tanh")
    return keras.Model(noise, image)


def make_discriminator(width=1, dropout=0.0):
    image = keras.Input((28, 28, 1))
    h = layers.Conv2D(32 * width, 4, strides=2, padding="same")(image)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Dropout(dropout)(h) if dropout else h
    h = layers.Conv2D(64 * width, 4, strides=2, padding="same")(h)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Dropout(dropout)(h) if dropout else h
    return keras.Model(image, layers.Dense(1)(layers.Flatten()(h)))


class GAN(keras.Model):
    """Notebook 01's GAN, without its extra metric trackers, with a few knobs."""

    def __init__(self, width=1, d_width=None, dropout=0.0, d_lr=2e-4, g_lr=2e-4,
                 upsample=False):
        super().__init__()
        self.generator = make_generator(width, upsample)
        self.discriminator = make_discriminator(d_width or width, dropout)
        self.learning_rates = (d_lr, g_lr)
        self.seed_generator = keras.random.SeedGenerator(0)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.built = True

    def compile(self):
        super().compile()
        self.d_optimizer = keras.optimizers.Adam(self.learning_rates[0], beta_1=0.5)
        self.g_optimizer = keras.optimizers.Adam(self.learning_rates[1], beta_1=0.5)
        gen_lib.track_optimizers(self, (self.d_optimizer, self.discriminator),
                                 (self.g_optimizer, self.generator))

    @property
    def metrics(self):
        return [self.d_loss_tracker]

    @gen_lib.train_step
    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch = ops.shape(real)[0]
        noise = keras.random.normal((batch, LATENT_DIM), seed=self.seed_generator)

        def d_loss():
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(self.generator(noise, training=True), training=True)
            return (self.bce(ops.ones_like(real_logits), real_logits)
                    + self.bce(ops.zeros_like(fake_logits), fake_logits))

        loss = gen_lib.minimize(d_loss, self.discriminator.trainable_variables, self.d_optimizer)
        noise = keras.random.normal((batch, LATENT_DIM), seed=self.seed_generator)

        def g_loss():
            fake_logits = self.discriminator(self.generator(noise, training=True), training=True)
            return self.bce(ops.ones_like(fake_logits), fake_logits)

        gen_lib.minimize(g_loss, self.generator.trainable_variables, self.g_optimizer)
        self.d_loss_tracker.update_state(loss)
        return {"d_loss": self.d_loss_tracker.result()}


def steps_per_second(model, data, batch_size):
    start = time.perf_counter()
    model.fit(data, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    return (len(data) // batch_size) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few steps, to check it runs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed fit")
    args = parser.parse_args()
    rounds, steps, batch = (1, 2, 16) if args.tiny else (args.rounds, args.steps, 128)
    data = np.random.default_rng(0).uniform(-1, 1, (steps * batch, 28, 28, 1)).astype("float32")

    variants = {"1x": {}, "2x": {"width": 2}, "1x, upsampling + 3x3 conv": {"upsample": True}}
    models = {name: GAN(**kwargs) for name, kwargs in variants.items()}
    for model in models.values():
        model.compile()
        model.fit(data[: 2 * batch], batch_size=batch, epochs=1, verbose=0)  # compile/warm up
    speeds = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            speeds[name].append(steps_per_second(model, data, batch))
    backend = keras.backend.backend()
    print("| backend | generator | generator params | steps/s (median) | relative to 1x |")
    print("|---|---|---|---|---|")
    for name, model in models.items():
        ratio = statistics.median(a / b for a, b in zip(speeds[name], speeds["1x"], strict=True))
        print(f"| {backend} | {name} | {model.generator.count_params():,} "
              f"| {statistics.median(speeds[name]):.2f} | {ratio:.2f} |")
    print(f"# {gen_lib.device_report()}; batch {batch}, {rounds} interleaved rounds of "
          f"{steps} steps")


if __name__ == "__main__":
    main()
