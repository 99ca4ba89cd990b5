"""Steps per second of notebook 01's DCGAN at its width and at twice its width.

Why: on a CPU the choice of widths decides whether a notebook trains in minutes, and the
backends differ a lot (JAX's CPU backend is slow on the backward pass of wide transposed
convolutions). Runs are interleaved and the ratio is taken within each round, so a noisy,
shared machine still gives a fair comparison. One backend per process:

    for b in tensorflow jax torch; do KERAS_BACKEND=$b python benchmarks/gan_widths.py; done

`--tiny` runs a few steps only, to check that the script works (CI does that).
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


def make_generator(width=1):
    noise = keras.Input((LATENT_DIM,))
    h = layers.Dense(7 * 7 * 64 * width, use_bias=False)(noise)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Reshape((7, 7, 64 * width))(h)
    h = layers.Conv2DTranspose(32 * width, 4, strides=2, padding="same", use_bias=False)(h)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(h)
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

    def __init__(self, width=1, d_width=None, dropout=0.0, d_lr=2e-4, g_lr=2e-4):
        super().__init__()
        self.generator = make_generator(width)
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

    models = {width: GAN(width) for width in (1, 2)}
    for model in models.values():
        model.compile()
        model.fit(data[: 2 * batch], batch_size=batch, epochs=1, verbose=0)  # compile/warm up
    speeds = {width: [] for width in models}
    for _ in range(rounds):
        for width, model in models.items():
            speeds[width].append(steps_per_second(model, data, batch))
    ratio = statistics.median(a / b for a, b in zip(speeds[1], speeds[2], strict=True))
    backend = keras.backend.backend()
    print("| backend | width | generator params | steps/s (median) | speed-up of width 1 |")
    print("|---|---|---|---|---|")
    for width, model in models.items():
        print(f"| {backend} | {width}x | {model.generator.count_params():,} "
              f"| {statistics.median(speeds[width]):.2f} | {ratio:.2f}x |" if width == 1 else
              f"| {backend} | {width}x | {model.generator.count_params():,} "
              f"| {statistics.median(speeds[width]):.2f} | |")
    print(f"# {gen_lib.device_report()}; batch {batch}, {rounds} interleaved rounds of "
          f"{steps} steps")


if __name__ == "__main__":
    main()
