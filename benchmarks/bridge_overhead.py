"""What gen_lib's bridge costs: steps per second of a gen_lib `train_step` against a
hand-written backend-native `train_step` of the same model.

Why: the notebooks write one `train_step` for three backends through `gen_lib.train_step`,
`gen_lib.minimize` and `gen_lib.input_gradients`. That is only worth it if it is about as
fast as what an expert would write for one backend: `tf.GradientTape` on TensorFlow;
`backward()` and `optimizer.apply` on torch; a stateless `train_step(state, data)` with
`stateless_call` and `stateless_apply` on JAX. Target: gen_lib at least 0.95 of native.

Two models:
- GAN: notebook 01's own `GAN` class, against a subclass that overrides only `train_step`
  with the native version of the same math (same losses, noise draws, metric updates and
  order of updates: discriminator step, then generator step).
- WGAN-GP: written here (notebook 03 is not used), with notebook 01's networks as generator
  and critic (its discriminator has no batch norm and outputs an unbounded score). The
  gradient penalty uses `gen_lib.input_gradients` in the gen_lib version and the native
  nested mechanism in the native one (nested `GradientTape`; `torch.autograd.grad(...,
  create_graph=True)`; `jax.grad` inside the loss). One critic step per generator step
  (n_critic = 1), which is enough to time a step.

Before timing, both versions train a few steps from the same weights and the same seed,
and the script stops if their losses or weights (batch-norm statistics and optimizer state
included) differ: a benchmark of different math is worthless. The torch versions call
`backward(inputs=...)` so that, like `gen_lib.minimize`, they compute gradients only for
the network being trained.

Then R interleaved rounds (which model goes first alternates) time N steps of each with
`fit` on the same in-memory batches of real MNIST; the ratio gen_lib / native is taken
within each round, so a noisy machine still gives a fair comparison. One backend per
process, on a quiet machine:

    export GEN_LIB_DATA_DIR=../shared/data/mnist   # the MNIST idx files (test split)
    for b in tensorflow jax torch; do KERAS_BACKEND=$b python benchmarks/bridge_overhead.py; done

`--tiny` runs 2 rounds of 3 steps at batch 16, to check that the script works (CI does
that), on random images if the MNIST files are absent.
"""

import argparse
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gen_lib  # noqa: E402  (first: it silences TensorFlow's log noise)
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from gen_lib.notebook_code import notebook_namespace  # noqa: E402

BACKEND = keras.backend.backend()
if BACKEND == "tensorflow":
    import tensorflow as tf
elif BACKEND == "torch":
    import torch
elif BACKEND == "jax":
    import jax
    import jax.numpy as jnp

DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data" / "mnist"
GP_WEIGHT = 10.0
BCE = keras.losses.BinaryCrossentropy(from_logits=True)  # notebook 01's losses use this
TOLERANCE = 1e-4  # largest accepted difference of a loss or weight between the two versions


def gradient_penalty(grads):
    """(||grad_x D(x)|| - 1)^2 averaged over the batch; the same formula in both versions."""
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


# --- JAX: the model's variables are values in `state`; find each one by identity -----------


class JaxState:
    """The `(trainable, non_trainable, optimizer, metrics)` values of a JAX train step.

    `get(variables)` / `set(variables, values)` read and write them by variable. The GAN's
    two optimizers are not `model.optimizer`: their variables are in the non-trainable group
    (gen_lib.track_optimizers puts them in `model.tracked_optimizer_variables`), like the
    SeedGenerator state and the batch-norm statistics.
    """

    def __init__(self, model, state):
        groups = (model.trainable_variables, model.non_trainable_variables,
                  model.optimizer.variables, model.metrics_variables)
        self.values = [list(values) for values in state]
        self.where = {id(v): (g, i) for g, variables in enumerate(groups)
                      for i, v in enumerate(variables)}

    def get(self, variables):
        return [self.values[g][i] for g, i in (self.where[id(v)] for v in variables)]

    def set(self, variables, values):
        for v, value in zip(variables, values, strict=True):
            g, i = self.where[id(v)]
            self.values[g][i] = value

    def draw(self, sample, shape, seed_generator):
        """`sample(shape, seed=seed_generator)` with the generator's state taken from here."""
        (seed,) = self.get([seed_generator.state])
        with keras.StatelessScope(state_mapping=[(seed_generator.state, seed)]) as scope:
            x = sample(shape, seed=seed_generator)
        self.set([seed_generator.state], [scope.get_current_value(seed_generator.state)])
        return x

    def update_metrics(self, metrics, values):
        logs = {}
        for metric, value in zip(metrics, values, strict=True):
            new = metric.stateless_update_state(self.get(metric.variables), value)
            self.set(metric.variables, new)
            logs[metric.name] = metric.stateless_result(new)
        return logs


# --- GAN: native train_steps, the same math as notebook 01's -----------------------------


def gan_step_tensorflow(self, data):
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    batch = ops.shape(real)[0]
    G, D = self.generator, self.discriminator

    noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
    with tf.GradientTape() as tape:
        fake = G(noise, training=True)
        real_logits = D(real, training=True)
        fake_logits = D(fake, training=True)
        d_loss = (BCE(ops.ones_like(real_logits), real_logits)
                  + BCE(ops.zeros_like(fake_logits), fake_logits))
    grads = tape.gradient(d_loss, D.trainable_variables)
    self.d_optimizer.apply(grads, D.trainable_variables)

    noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
    with tf.GradientTape() as tape:
        logits = D(G(noise, training=True), training=True)
        g_loss = BCE(ops.ones_like(logits), logits)
    grads = tape.gradient(g_loss, G.trainable_variables)
    self.g_optimizer.apply(grads, G.trainable_variables)

    return gan_metrics(self, d_loss, g_loss, real_logits, fake_logits)


def gan_step_torch(self, data):
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    batch = ops.shape(real)[0]
    G, D = self.generator, self.discriminator

    noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
    self.zero_grad()
    fake = G(noise, training=True)
    real_logits = D(real, training=True)
    fake_logits = D(fake, training=True)
    d_loss = (BCE(ops.ones_like(real_logits), real_logits)
              + BCE(ops.zeros_like(fake_logits), fake_logits))
    # inputs=: accumulate (and compute) gradients for D's weights only, not G's.
    d_loss.backward(inputs=[v.value for v in D.trainable_variables])
    grads = [v.value.grad for v in D.trainable_variables]
    with torch.no_grad():
        self.d_optimizer.apply(grads, D.trainable_variables)

    noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
    self.zero_grad()
    logits = D(G(noise, training=True), training=True)
    g_loss = BCE(ops.ones_like(logits), logits)
    g_loss.backward(inputs=[v.value for v in G.trainable_variables])
    grads = [v.value.grad for v in G.trainable_variables]
    with torch.no_grad():
        self.g_optimizer.apply(grads, G.trainable_variables)

    return gan_metrics(self, d_loss, g_loss, real_logits, fake_logits)


def gan_metrics(self, d_loss, g_loss, real_logits, fake_logits):
    values = (d_loss, g_loss, ops.mean(ops.sigmoid(real_logits)),
              ops.mean(ops.sigmoid(fake_logits)))
    for tracker, value in zip(self.metrics, values, strict=True):  # the notebook's order
        tracker.update_state(value)
    return {m.name: m.result() for m in self.metrics}


def gan_step_jax(self, state, data):
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    batch = real.shape[0]
    G, D = self.generator, self.discriminator
    s = JaxState(self, state)
    g_train, d_train = s.get(G.trainable_variables), s.get(D.trainable_variables)
    g_state, d_state = s.get(G.non_trainable_variables), s.get(D.non_trainable_variables)

    noise = s.draw(keras.random.normal, (batch, self.latent_dim), self.seed_generator)

    def d_loss_fn(d_train, g_state, d_state):
        fake, g_state = G.stateless_call(g_train, g_state, noise, training=True)
        real_logits, d_state = D.stateless_call(d_train, d_state, real, training=True)
        fake_logits, d_state = D.stateless_call(d_train, d_state, fake, training=True)
        loss = (BCE(jnp.ones_like(real_logits), real_logits)
                + BCE(jnp.zeros_like(fake_logits), fake_logits))
        return loss, (real_logits, fake_logits, g_state, d_state)

    (d_loss, (real_logits, fake_logits, g_state, d_state)), grads = jax.value_and_grad(
        d_loss_fn, has_aux=True)(d_train, g_state, d_state)
    d_train, d_opt = self.d_optimizer.stateless_apply(
        s.get(self.d_optimizer.variables), grads, d_train)

    noise = s.draw(keras.random.normal, (batch, self.latent_dim), self.seed_generator)

    def g_loss_fn(g_train, g_state, d_state):
        fake, g_state = G.stateless_call(g_train, g_state, noise, training=True)
        logits, d_state = D.stateless_call(d_train, d_state, fake, training=True)
        return BCE(jnp.ones_like(logits), logits), (g_state, d_state)

    (g_loss, (g_state, d_state)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(
        g_train, g_state, d_state)
    g_train, g_opt = self.g_optimizer.stateless_apply(
        s.get(self.g_optimizer.variables), grads, g_train)

    for variables, values in ((D.trainable_variables, d_train), (G.trainable_variables, g_train),
                              (D.non_trainable_variables, d_state),
                              (G.non_trainable_variables, g_state),
                              (self.d_optimizer.variables, d_opt),
                              (self.g_optimizer.variables, g_opt)):
        s.set(variables, values)
    logs = s.update_metrics(self.metrics, (d_loss, g_loss, jnp.mean(jax.nn.sigmoid(real_logits)),
                                           jnp.mean(jax.nn.sigmoid(fake_logits))))
    return logs, tuple(s.values)


# --- WGAN-GP: a gen_lib version, and native train_steps of the same math ----------------


class WGANGP(keras.Model):
    """WGAN-GP (Gulrajani et al. 2017) with one critic step per generator step."""

    def __init__(self, generator, critic, latent_dim, seed=0):
        super().__init__()
        self.generator = generator
        self.critic = critic
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.c_loss_tracker = keras.metrics.Mean(name="c_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.gp_tracker = keras.metrics.Mean(name="gp")
        self.built = True

    def compile(self, c_optimizer, g_optimizer):
        super().compile()
        self.c_optimizer = c_optimizer
        self.g_optimizer = g_optimizer
        gen_lib.track_optimizers(self, (c_optimizer, self.critic), (g_optimizer, self.generator))

    @property
    def metrics(self):
        return [self.c_loss_tracker, self.g_loss_tracker, self.gp_tracker]

    def draw_noise_and_mix(self, batch):
        noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        alpha = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator)
        return noise, alpha

    @gen_lib.train_step
    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch = ops.shape(real)[0]
        noise, alpha = self.draw_noise_and_mix(batch)

        def critic_loss():
            fake = self.generator(noise, training=True)
            real_scores = self.critic(real, training=True)
            fake_scores = self.critic(fake, training=True)
            mixed = alpha * real + (1.0 - alpha) * fake
            grads = gen_lib.input_gradients(lambda x: self.critic(x, training=True), mixed)
            gp = gradient_penalty(grads)
            return ops.mean(fake_scores) - ops.mean(real_scores) + GP_WEIGHT * gp, gp

        c_loss, gp = gen_lib.minimize(critic_loss, self.critic.trainable_variables,
                                      self.c_optimizer)

        noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

        def generator_loss():
            return -ops.mean(self.critic(self.generator(noise, training=True), training=True))

        g_loss = gen_lib.minimize(generator_loss, self.generator.trainable_variables,
                                  self.g_optimizer)
        return wgan_metrics(self, c_loss, g_loss, gp)


def wgan_metrics(self, c_loss, g_loss, gp):
    self.c_loss_tracker.update_state(c_loss)
    self.g_loss_tracker.update_state(g_loss)
    self.gp_tracker.update_state(gp)
    return {m.name: m.result() for m in self.metrics}


def wgan_step_tensorflow(self, data):
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    batch = ops.shape(real)[0]
    G, C = self.generator, self.critic
    noise, alpha = self.draw_noise_and_mix(batch)

    with tf.GradientTape() as tape:
        fake = G(noise, training=True)
        real_scores = C(real, training=True)
        fake_scores = C(fake, training=True)
        mixed = alpha * real + (1.0 - alpha) * fake
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(mixed)
            mixed_scores = C(mixed, training=True)
        gp = gradient_penalty(gp_tape.gradient(mixed_scores, mixed))
        c_loss = ops.mean(fake_scores) - ops.mean(real_scores) + GP_WEIGHT * gp
    grads = tape.gradient(c_loss, C.trainable_variables)
    self.c_optimizer.apply(grads, C.trainable_variables)

    noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
    with tf.GradientTape() as tape:
        g_loss = -ops.mean(C(G(noise, training=True), training=True))
    grads = tape.gradient(g_loss, G.trainable_variables)
    self.g_optimizer.apply(grads, G.trainable_variables)
    return wgan_metrics(self, c_loss, g_loss, gp)


def wgan_step_torch(self, data):
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    batch = ops.shape(real)[0]
    G, C = self.generator, self.critic
    noise, alpha = self.draw_noise_and_mix(batch)

    self.zero_grad()
    fake = G(noise, training=True)
    real_scores = C(real, training=True)
    fake_scores = C(fake, training=True)
    mixed = (alpha * real + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    (grads,) = torch.autograd.grad(C(mixed, training=True).sum(), mixed, create_graph=True)
    gp = gradient_penalty(grads)
    c_loss = ops.mean(fake_scores) - ops.mean(real_scores) + GP_WEIGHT * gp
    c_loss.backward(inputs=[v.value for v in C.trainable_variables])
    grads = [v.value.grad for v in C.trainable_variables]
    with torch.no_grad():
        self.c_optimizer.apply(grads, C.trainable_variables)

    noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
    self.zero_grad()
    g_loss = -ops.mean(C(G(noise, training=True), training=True))
    g_loss.backward(inputs=[v.value for v in G.trainable_variables])
    grads = [v.value.grad for v in G.trainable_variables]
    with torch.no_grad():
        self.g_optimizer.apply(grads, G.trainable_variables)
    return wgan_metrics(self, c_loss, g_loss, gp)


def wgan_step_jax(self, state, data):
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    batch = real.shape[0]
    G, C = self.generator, self.critic
    s = JaxState(self, state)
    g_train, c_train = s.get(G.trainable_variables), s.get(C.trainable_variables)
    g_state, c_state = s.get(G.non_trainable_variables), s.get(C.non_trainable_variables)

    noise = s.draw(keras.random.normal, (batch, self.latent_dim), self.seed_generator)
    alpha = s.draw(keras.random.uniform, (batch, 1, 1, 1), self.seed_generator)

    def c_loss_fn(c_train, g_state, c_state):
        fake, g_state = G.stateless_call(g_train, g_state, noise, training=True)
        real_scores, c_state = C.stateless_call(c_train, c_state, real, training=True)
        fake_scores, c_state = C.stateless_call(c_train, c_state, fake, training=True)
        mixed = alpha * real + (1.0 - alpha) * fake

        def summed_scores(x):  # the critic has no state to update (no batch norm)
            return jnp.sum(C.stateless_call(c_train, c_state, x, training=True)[0])

        gp = gradient_penalty(jax.grad(summed_scores)(mixed))
        loss = jnp.mean(fake_scores) - jnp.mean(real_scores) + GP_WEIGHT * gp
        return loss, (gp, g_state, c_state)

    (c_loss, (gp, g_state, c_state)), grads = jax.value_and_grad(c_loss_fn, has_aux=True)(
        c_train, g_state, c_state)
    c_train, c_opt = self.c_optimizer.stateless_apply(
        s.get(self.c_optimizer.variables), grads, c_train)

    noise = s.draw(keras.random.normal, (batch, self.latent_dim), self.seed_generator)

    def g_loss_fn(g_train, g_state, c_state):
        fake, g_state = G.stateless_call(g_train, g_state, noise, training=True)
        scores, c_state = C.stateless_call(c_train, c_state, fake, training=True)
        return -jnp.mean(scores), (g_state, c_state)

    (g_loss, (g_state, c_state)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(
        g_train, g_state, c_state)
    g_train, g_opt = self.g_optimizer.stateless_apply(
        s.get(self.g_optimizer.variables), grads, g_train)

    for variables, values in ((C.trainable_variables, c_train), (G.trainable_variables, g_train),
                              (C.non_trainable_variables, c_state),
                              (G.non_trainable_variables, g_state),
                              (self.c_optimizer.variables, c_opt),
                              (self.g_optimizer.variables, g_opt)):
        s.set(variables, values)
    return s.update_metrics(self.metrics, (c_loss, g_loss, gp)), tuple(s.values)


NATIVE_STEPS = {  # model -> backend -> native train_step
    "GAN": {"tensorflow": gan_step_tensorflow, "torch": gan_step_torch, "jax": gan_step_jax},
    "WGAN-GP": {"tensorflow": wgan_step_tensorflow, "torch": wgan_step_torch,
                "jax": wgan_step_jax},
}


# --- building, checking, timing ---------------------------------------------------------


def gan_pair(ns):
    """Notebook 01's GAN and its native twin, with the same weights and seed."""

    class NativeGAN(ns["GAN"]):
        train_step = NATIVE_STEPS["GAN"][BACKEND]

    def build(cls):
        model = cls(ns["make_generator"](ns["LATENT_DIM"]), ns["make_discriminator"](),
                    ns["LATENT_DIM"], seed=0)
        model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
        return model

    return same_weights(build(ns["GAN"]), build(NativeGAN))


def wgan_pair(ns):
    """The WGAN-GP above and its native twin, with the same weights and seed."""

    class NativeWGANGP(WGANGP):
        train_step = NATIVE_STEPS["WGAN-GP"][BACKEND]

    def build(cls):
        model = cls(ns["make_generator"](ns["LATENT_DIM"]), ns["make_discriminator"](),
                    ns["LATENT_DIM"], seed=0)
        model.compile(c_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
                      g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9))
        return model

    return same_weights(build(WGANGP), build(NativeWGANGP))


def same_weights(ours, native):
    native.set_weights(ours.get_weights())
    return ours, native


def max_differences(ours, native, data, batch, steps):
    """Train both `steps` steps on the same batches, from the same weights and seed.

    Returns the largest |difference| of any loss at any step, and of any weight at the end
    (weights include the batch-norm statistics and both optimizers' state, which the losses
    do not see). One `fit` per step: each epoch resets the metrics, so the logs are that
    step's losses. This also compiles (jits) the step that the timed `fit`s then use.
    """
    loss_difference = 0.0
    for i in range(steps):
        x = data[i * batch:(i + 1) * batch]
        logs, native_logs = (model.fit(x, batch_size=batch, shuffle=False, verbose=0).history
                             for model in (ours, native))
        assert logs.keys() == native_logs.keys(), (logs.keys(), native_logs.keys())
        loss_difference = max(loss_difference,
                              *(abs(logs[k][0] - native_logs[k][0]) for k in logs))
    weight_difference = max(float(np.abs(w - native_w).max()) for w, native_w
                            in zip(ours.get_weights(), native.get_weights(), strict=True))
    return loss_difference, weight_difference


def steps_per_second(model, data, batch):
    start = time.perf_counter()
    model.fit(data, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return (len(data) // batch) / (time.perf_counter() - start)


def load_images(n, tiny):
    data_dir = os.environ.get("GEN_LIB_DATA_DIR") or str(DEFAULT_DATA_DIR)
    try:
        images, _ = gen_lib.load_dataset("mnist", "test", data_dir=data_dir, subset=n)
        return gen_lib.to_tanh_range(images), "MNIST test split"
    except gen_lib.DataError:
        if not tiny:
            raise
    images = np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")
    return images, "random images"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few steps, to check it runs")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=60, help="steps per timed fit")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--check-steps", type=int, default=10,
                        help="steps of the same-losses check before timing")
    args = parser.parse_args()
    if args.tiny:
        args.rounds, args.steps, args.batch, args.check_steps = 2, 3, 16, 3
    needed = max(args.steps, args.check_steps) * args.batch
    data, source = load_images(needed, args.tiny)
    if len(data) < needed:
        sys.exit(f"{needed} images needed, {len(data)} available: fewer steps or a smaller batch.")
    ns = notebook_namespace("01_gan")

    rows = []
    for name, make_pair in (("GAN", gan_pair), ("WGAN-GP", wgan_pair)):
        ours, native = make_pair(ns)
        differences = max_differences(ours, native, data, args.batch, args.check_steps)
        if max(differences) > TOLERANCE:
            sys.exit(f"{name} on {BACKEND}: after {args.check_steps} steps the native and "
                     f"gen_lib versions differ by {differences[0]:.2e} in the losses and "
                     f"{differences[1]:.2e} in the weights: not the same math.")
        timed = data[: args.steps * args.batch]
        speeds = {"native": [], "gen_lib": []}
        for r in range(args.rounds):
            order = [("native", native), ("gen_lib", ours)]
            for key, model in order if r % 2 == 0 else order[::-1]:
                speeds[key].append(steps_per_second(model, timed, args.batch))
        ratios = [a / b for a, b in zip(speeds["gen_lib"], speeds["native"], strict=True)]
        rows.append(f"| {BACKEND} | {name} | {statistics.median(speeds['native']):.2f} "
                    f"| {statistics.median(speeds['gen_lib']):.2f} "
                    f"| {statistics.median(ratios):.3f} | {min(ratios):.3f}-{max(ratios):.3f} "
                    f"| {differences[0]:.1e} / {differences[1]:.1e} |")

    print("| backend | model | native steps/s (median) | gen_lib steps/s (median) "
          "| gen_lib / native (median) | min-max | max abs difference: losses / weights |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    data_dir = os.environ.get("GEN_LIB_DATA_DIR")
    command = [f"KERAS_BACKEND={BACKEND}", *([f"GEN_LIB_DATA_DIR={data_dir}"] if data_dir else []),
               "python", "benchmarks/bridge_overhead.py", *sys.argv[1:]]
    print(f"# {shlex.join(command)}")
    print(f"# {gen_lib.device_report()}; {source}, batch {args.batch}, {args.rounds} "
          f"interleaved rounds of {args.steps} steps; differences after {args.check_steps} "
          "steps from the same weights and seed; WGAN-GP with n_critic=1")


if __name__ == "__main__":
    main()
