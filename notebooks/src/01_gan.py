# %% [markdown]
# # 01 · GAN: a DCGAN on MNIST, one `train_step` for TensorFlow, JAX and PyTorch
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gen-lib/generative-notebooks/blob/main/notebooks/01_gan.ipynb)
#
# **What you will learn**
#
# - the GAN objective, which player maximises what, and why the generator minimises
#   $-\log D(G(z))$ rather than $\log(1 - D(G(z)))$;
# - how to write the two alternating updates of a GAN as one `keras.Model.train_step`
#   that runs unchanged on TensorFlow, JAX and PyTorch;
# - the mistakes of a popular but wrong tutorial, and how to spot each one;
# - how to put a number on sample quality: a Fréchet distance, next to the floor that
#   real images themselves reach.
#
# **How long it takes.** The full run takes about 3,200 steps (7 epochs of the 60k train
# split, or 40 epochs of the 10k test split offline). The README's results
# table lists the measured minutes per backend and the command that measured them.
# With a GPU it is much faster; nothing in the code changes.

# %% [markdown]
# ## Setup
#
# On Colab, the next cell installs `gen_lib`, the small helper package of this collection.
# Locally, install the repository once with `pip install -e .` (see the README).

# %%
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "gen_lib @ git+https://github.com/gen-lib/generative-notebooks"], check=True)

# %% [markdown]
# Pick the backend *before* importing Keras, for example
# `os.environ["KERAS_BACKEND"] = "jax"`; by default Keras uses TensorFlow.
# Import `gen_lib` first: it silences TensorFlow's C++ log noise, which must happen before
# TensorFlow loads.

# %%
import time
from pathlib import Path

import gen_lib
import keras
import numpy as np
from keras import layers, ops

print(gen_lib.device_report())

# %% [markdown]
# ## Parameters
#
# The cell is tagged `parameters` (for papermill). `gen_lib.run_profile` returns these
# settings for the full run, or the settings of the fast smoke run that CI uses
# (`GEN_LIB_PROFILE=smoke`: a small real subset and one short epoch, same code); single
# settings can also come from the environment (`GEN_LIB_SPLIT`, `GEN_LIB_EPOCHS`,
# `GEN_LIB_SUBSET`, ...). It also seeds Python, NumPy and Keras once.

# %% tags=["parameters"]
DATASET = "mnist"  # or "fashion_mnist"
SPLIT = "train"  # "test" when only the 10k test files are on disk
EPOCHS = 7  # ~3,300 steps on the 60k train split; GEN_LIB_EPOCHS=40 on the 10k test split
BATCH_SIZE = 128
LATENT_DIM = 64
LEARNING_RATE = 2e-4  # Adam, as in DCGAN (Radford et al. 2015)
BETA_1 = 0.5
FD_SAMPLES = 5000

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES)

# %% [markdown]
# ## Theory
#
# A generator $G$ maps noise $z \sim p_z$ to images; a discriminator $D$ outputs the
# probability that its input is real. They play the minimax game of Goodfellow et al. (2014,
# Eq. 1):
#
# $$\min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_{\text{data}}}[\log D(x)]
#   + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].$$
#
# - **$D$ maximises $V$.** Equivalently it *minimises* the binary cross-entropy with label
#   1 for real and 0 for fake images:
#   $L_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))]$.
# - **$G$ minimises $V$.** Only the second term depends on $G$. Early in training $D$
#   rejects the fakes with confidence, $D(G(z)) \approx 0$, where $\log(1 - D(G(z)))$ is
#   flat and gives $G$ almost no gradient. So in practice $G$ minimises the
#   **non-saturating** loss $L_G = -\mathbb{E}_z[\log D(G(z))]$, which has the same fixed
#   point and strong gradients exactly when $G$ is bad (Goodfellow et al. 2014, §3).
# - For a fixed $G$ the best discriminator is $D^*(x) = p_{\text{data}}(x) /
#   (p_{\text{data}}(x) + p_g(x))$. Plugging it in gives $V = -\log 4 + 2\,
#   \mathrm{JSD}(p_{\text{data}} \,\|\, p_g)$, minimised when $p_g = p_{\text{data}}$, where
#   $D^* \equiv 1/2$. One half is the value at equilibrium, not a training target for
#   either player.
#
# **The algorithm** (Algorithm 1 of the paper, with $k = 1$): for every batch, (1) update $D$
# on real images and fakes made from fresh noise, with $G$ fixed; (2) update $G$ through
# $D$ on fresh noise, with $D$ fixed. $G$ never sees a real image: it learns only from the
# gradients that flow back through $D$.
#
# **In code** the discriminator outputs a *logit* $\ell$ (no sigmoid), $D(x) = \sigma(\ell)$,
# and the losses use `BinaryCrossentropy(from_logits=True)`, which computes
# $\log \sigma(\ell)$ stably. Then $L_D = \mathrm{BCE}(1, \ell_{\text{real}}) +
# \mathrm{BCE}(0, \ell_{\text{fake}})$ and $L_G = \mathrm{BCE}(1, \ell_{\text{fake}})$.

# %% [markdown]
# ### Common mistakes (from the tutorial this notebook corrects)
#
# The original posts (see `shared/ERRATA.md`, section 2) contain each of these. Every one
# of them either crashes or, worse, trains something that is not a GAN.
#
# | mistake | what happens | fix |
# |---|---|---|
# | `Dense(1, activation="sigmoid")` with `BinaryCrossentropy(from_logits=True)` (GAN-C05, C25) | the sigmoid is applied twice; the loss can never go below 0.31 on real images, gradients are tiny | output logits (`Dense(1)`), keep `from_logits=True` |
# | $L_G = \mathbb{E}[\log D(G(z))]$ minimised (GAN-T01) | $G$ learns to make samples $D$ calls fake | minimise $-\log D(G(z))$ |
# | $L_D = \mathbb{E}[\log D(x)] + \mathbb{E}[\log(1-D(G(z)))]$ minimised (GAN-T02) | an inverted classifier | minimise the BCE: real → 1, fake → 0 |
# | the fake term of $L_D$ computed on the real logits (GAN-C26, C27) | $D$ never sees a fake; its optimum is 1/2 everywhere | `BCE(0, D(G(z)))` on the fake logits |
# | `np.random.normal` inside a compiled step (GAN-C28) | runs once at trace time: every step reuses one noise batch | `keras.random.normal(..., seed=self.seed_generator)` |
# | one `fit` on a combined `G∘D` model, or `train_on_batch` of $D$ on $G$'s output (GAN-C08, AEG-C12) | $D$ never sees real data, or $G$ is never updated | a custom `train_step` with one update per network |
# | generator output 32×32×3 or 6×6×3 for 28×28×1 data (GAN-C02, C11) | a shape error, or silently wrong data | assert every output shape |
# | tanh output, data scaled to [0, 1] (GAN-C03) | $D$ separates real from fake by the sign of the pixels | scale data to [-1, 1] |
# | `LeakyReLU()` with its default slope 0.3, biases before batch norm (GAN-C09) | not fatal, not DCGAN | `LeakyReLU(negative_slope=0.2)`, `use_bias=False` before BN |
# | "both players aim for $D(G(z)) = 0.5$" (GAN-T04) | a wrong mental model | $G$ wants $D(G(z)) \to 1$, $D$ wants it $\to 0$ |
#
# The first one is easy to see for yourself. Give the loss a confident, correct
# prediction twice: once as a logit, once as the probability a sigmoid layer would output,
# wrongly treated as a logit.

# %%
bce = keras.losses.BinaryCrossentropy(from_logits=True)
real_label = ops.ones((1, 1))
logit = ops.convert_to_tensor([[10.0]])
probability = ops.convert_to_tensor([[1 / (1 + np.exp(-10.0))]])  # sigmoid(10) = 0.99995
print(f"BCE(1, logit 10)                  = {float(bce(real_label, logit)):.4f}")
print(f"BCE(1, probability 0.99995 as logit) = {float(bce(real_label, probability)):.4f}"
      "  <- can never go lower: the double-sigmoid bug")

# %% [markdown]
# (On TensorFlow, Keras sometimes recognises a tensor that a sigmoid layer produced and
# undoes the sigmoid with a warning. Do not rely on it: the other backends do not, and it
# does not see through every model.)

# %% [markdown]
# ## Data
#
# `gen_lib.load_dataset` reads MNIST through `keras.datasets`, or offline from a folder of
# the canonical idx files named by `GEN_LIB_DATA_DIR`. The generator ends in `tanh`, so we
# scale the pixels to $[-1, 1]$ (Radford et al. 2015, §4).

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_train = gen_lib.to_tanh_range(images)
print(run.describe(len(x_train)))
print(f"x_train: {x_train.shape} {x_train.dtype}, range [{x_train.min()}, {x_train.max()}]")
gen_lib.image_grid(gen_lib.tanh_to_unit(x_train[:32]), ncols=16, title="real images");

# %% [markdown]
# ## Networks
#
# A DCGAN (Radford et al. 2015), sized for a CPU. The generator projects the noise to a
# 7×7×64 map and doubles the resolution twice with stride-2 transposed convolutions, with
# batch norm and ReLU in between and `tanh` at the end. The discriminator mirrors it with
# stride-2 convolutions and LeakyReLU(0.2), no batch norm, and a final `Dense(1)` that
# outputs a **logit**. (The TensorFlow DCGAN tutorial adds dropout to $D$; with these small
# networks it gave a worse FD in our exploratory runs. `benchmarks/gan_quality_sweep.py`
# compares the two, and other recipes, if you want to check.)
#
# The widths (64 and 32 channels in $G$, 32 and 64 in $D$) are half those of the
# TensorFlow tutorial. On a CPU that matters more than it seems: JAX's CPU backend is slow
# on the backward pass of wide transposed convolutions, and doubling the widths made a
# training step 3.8x slower on TensorFlow, 3.9x on JAX and 2.4x on PyTorch (2 cores;
# `python benchmarks/gan_widths.py`, table in BENCHMARKS.md), while in our exploratory
# runs it improved the FD only modestly for the same number of steps (compare the
# `notebook` and `wide` recipes of `benchmarks/gan_quality_sweep.py`).

# %% tags=["model"]
def make_generator(latent_dim):
    noise = keras.Input((latent_dim,))
    h = layers.Dense(7 * 7 * 64, use_bias=False)(noise)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((7, 7, 64))(h)
    h = layers.Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False)(h)  # 14x14
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(h)
    return keras.Model(noise, image, name="generator")


def make_discriminator():
    image = keras.Input((28, 28, 1))
    h = layers.Conv2D(32, 4, strides=2, padding="same")(image)  # 14x14
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Conv2D(64, 4, strides=2, padding="same")(h)  # 7x7
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    logit = layers.Dense(1)(layers.Flatten()(h))  # no sigmoid: a logit
    return keras.Model(image, logit, name="discriminator")

# %%
generator = make_generator(LATENT_DIM)
discriminator = make_discriminator()
generator.summary()
discriminator.summary()

# %% [markdown]
# Check the shapes and the starting point before training anything: the generator must
# produce exactly the data's shape and range, and an untrained discriminator should be
# undecided, with logits near 0.

# %%
probe_noise = np.random.default_rng(0).normal(size=(16, LATENT_DIM)).astype("float32")
probe_images = ops.convert_to_numpy(generator(probe_noise))
probe_logits = ops.convert_to_numpy(discriminator(x_train[:16]))
assert probe_images.shape == (16, 28, 28, 1), probe_images.shape
assert probe_images.min() >= -1 and probe_images.max() <= 1
assert probe_logits.shape == (16, 1), probe_logits.shape
print(f"G(z): {probe_images.shape}, range [{probe_images.min():.2f}, {probe_images.max():.2f}]")
print(f"D(x) logits at init: mean {probe_logits.mean():+.3f}, max |logit| {abs(probe_logits).max():.3f}")

# %% [markdown]
# ## The `train_step`
#
# The model holds both networks and both optimizers. Read `train_step` top to bottom:
#
# 1. `unpack_x_y_sample_weight` takes the real images out of the batch `fit` gives us.
# 2. **Discriminator step.** Draw fresh noise with `keras.random.normal` and the model's
#    `SeedGenerator` (never NumPy inside a step: it would run once, at trace time). The
#    loss function makes fakes and scores real and fake images; `gen_lib.minimize`
#    differentiates it with respect to the **discriminator's** variables only and takes one
#    `d_optimizer` step. The generator is used but not changed.
# 3. **Generator step.** Fresh noise again. The loss is the non-saturating
#    $\mathrm{BCE}(1, D(G(z)))$: labels say "real" because $G$ wants $D$ to be fooled. The
#    gradient flows *through* $D$ into $G$, but only the **generator's** variables are
#    updated, so no `trainable` flags are toggled.
# 4. Update the metric trackers and return their running means, which `fit` prints.
#
# `@gen_lib.train_step` and `gen_lib.minimize` are what make this run on every backend:
# on TensorFlow `minimize` is a `GradientTape`, on PyTorch `torch.autograd.grad`, on JAX
# `jax.value_and_grad` over the variables' values (JAX's `fit` passes the model state in
# and out explicitly; the decorator does that bookkeeping). `gen_lib.track_optimizers`
# makes the model own both optimizers' state, which JAX would otherwise freeze.
#
# Besides the two losses we track the mean of $D(x)$ and $D(G(z))$: the losses of a GAN do
# not decrease like a classifier's, and these two say who is winning.

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
class GAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="D(x)")
        self.d_fake_tracker = keras.metrics.Mean(name="D(G(z))")
        self.built = True  # both networks are built; the GAN has no call() of its own

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        gen_lib.track_optimizers(self, (d_optimizer, self.discriminator),
                                 (g_optimizer, self.generator))

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker]

    @gen_lib.train_step
    def train_step(self, data):
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = ops.shape(real_images)[0]

        # 1. Discriminator step: real -> 1, fake -> 0. Only D's variables change.
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

        def discriminator_loss():
            fake_images = self.generator(noise, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            loss = (self.bce(ops.ones_like(real_logits), real_logits)
                    + self.bce(ops.zeros_like(fake_logits), fake_logits))
            return loss, (real_logits, fake_logits)

        d_loss, (real_logits, fake_logits) = gen_lib.minimize(
            discriminator_loss, self.discriminator.trainable_variables, self.d_optimizer)

        # 2. Generator step: fresh noise, non-saturating loss -log D(G(z)).
        #    Gradients flow through D, but only G's variables change.
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

        def generator_loss():
            fake_logits = self.discriminator(self.generator(noise, training=True), training=True)
            return self.bce(ops.ones_like(fake_logits), fake_logits)

        g_loss = gen_lib.minimize(
            generator_loss, self.generator.trainable_variables, self.g_optimizer)

        # 3. Running means for the progress bar and the history.
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(ops.mean(ops.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics}

    # Saving: how to rebuild this model (its networks) and re-compile it (its optimizers).
    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator)}

    @classmethod
    def from_config(cls, config):
        for name in ("generator", "discriminator"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def get_compile_config(self):
        return {"d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(optimizer)
                        for name, optimizer in config.items()})

# %% [markdown]
# ## Training
#
# Before training, measure where we start: the quality scorer trains a small MNIST
# classifier on the real images (once; it is cached on disk) and reports the **floor**,
# the Fréchet distance between two disjoint sets of real images of the same size.

# %%
scorer = gen_lib.QualityScorer(gen_lib.tanh_to_unit(x_train), labels,
                               fd_samples=run.fd_samples)
eval_noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM)).astype("float32")


def sample_images(noise):
    """Generator outputs mapped to [0, 1] for plots and metrics."""
    return gen_lib.tanh_to_unit(generator.predict(noise, batch_size=500, verbose=0))


fd_untrained = scorer.fd(sample_images(eval_noise))
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"FD of the untrained generator: {fd_untrained:.2f} (floor {scorer.floor:.2f})")

# %% [markdown]
# Train with `fit`. The grid below shows samples from the same 32 fixed noise vectors
# after every epoch and updates in place. `gen_lib.StopOnNaN` stops at the first NaN or
# infinite loss with a message naming the step, and puts back the last good weights.

# %%
gan = GAN(generator, discriminator, LATENT_DIM, seed=run.seed)
gan.compile(
    d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
    g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
)
grid_noise = np.random.default_rng(2).normal(size=(32, LATENT_DIM)).astype("float32")
sample_grid = gen_lib.SampleGrid(sample_images, grid_noise, ncols=16)

start = time.perf_counter()
history = gan.fit(x_train, batch_size=BATCH_SIZE, epochs=run.epochs, shuffle=True,
                  callbacks=[sample_grid, gen_lib.StopOnNaN()], verbose=2)
train_minutes = (time.perf_counter() - start) / 60
print(f"trained {int(gan.g_optimizer.iterations)} steps in {train_minutes:.1f} min")

# %% [markdown]
# ## Results
#
# The losses of a healthy GAN do not go to zero: they settle while the two players keep
# each other in check. A discriminator loss that collapses to 0 means $D$ has won and $G$
# gets no useful gradient; $D(x)$ near 1 with $D(G(z))$ near 0 for many epochs says the
# same.

# %%
gen_lib.plot_history(history, keys=["d_loss", "g_loss"], title="losses");
gen_lib.plot_history(history, keys=["D(x)", "D(G(z))"], title="discriminator outputs");

# %%
gen_lib.image_grid(sample_images(eval_noise[:64]), ncols=16, title="samples after training");

# %% [markdown]
# ### The quality number
#
# The Fréchet distance (FD) compares the mean and covariance of the classifier's features
# on generated and on real images (FID, Heusel et al. 2017, with an MNIST classifier
# instead of Inception, so the values are not comparable with published FIDs). Lower is
# better; the floor is what two sets of real digits reach.

# %%
generated = sample_images(eval_noise)
fd = scorer.fd(generated)
print(f"FD, generated vs real : {fd:8.2f}")
print(f"FD, real vs real floor: {scorer.floor:8.2f}")
print(f"ratio to the floor    : {fd / scorer.floor:8.1f}x (untrained generator: "
      f"{fd_untrained / scorer.floor:.0f}x)")

# %% [markdown]
# ### Where the distance comes from
#
# Nothing in the GAN objective asks for the ten digits in equal numbers, and an
# unconditional GAN rarely draws them so. The classifier tells which digit each sample is.
# Real digits re-drawn in those same proportions, perfect images in the wrong mix, show how
# much of the FD the class mix alone costs (`scorer.class_mix_fd`); the rest is owed to the
# images themselves. Notebook 02's conditional GAN removes the first part by construction.

# %%
sample_counts = np.bincount(scorer.predict_labels(generated), minlength=10)
fd_class_mix = scorer.class_mix_fd(sample_counts)
print("samples per digit 0-9:", sample_counts.tolist())
print(f"FD of real digits in the samples' class mix: {fd_class_mix:.2f} "
      f"({fd_class_mix / scorer.floor:.1f}x the floor), of the samples' {fd:.2f}")

# %% [markdown]
# ## Save and reload
#
# Two things are worth saving. **The generator**, to make digits later: a plain
# functional model, it saves to the `.keras` format and loads back with `safe_mode=True`
# (no code is deserialised). Same noise in, same images out.

# %%
artifacts = Path("artifacts")
artifacts.mkdir(exist_ok=True)
path = artifacts / "01_gan_generator.keras"
generator.save(path)
reloaded = keras.saving.load_model(path, safe_mode=True)
difference = np.abs(reloaded.predict(eval_noise[:64], verbose=0)
                    - generator.predict(eval_noise[:64], verbose=0)).max()
assert difference < 1e-5, difference
print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); max difference after reload: {difference:.1e}")

# %% [markdown]
# **The whole GAN**, to resume training later. That needs more than the weights: both
# optimizers' moments and step counts, and the position of the noise stream. `get_config`
# and `get_compile_config` above tell Keras how to rebuild the model and re-compile it;
# `gen_lib.track_optimizers` makes the optimizers' state model variables, and also saves
# the `SeedGenerator`'s state, which Keras itself does not save (keras-team/keras#19796).
# A test (`tests/test_notebook_models.py`) checks on every backend that training stopped,
# saved, reloaded and continued gives exactly the losses of training that never stopped.

# %%
path = artifacts / "01_gan.keras"
gan.save(path)
resumed = keras.saving.load_model(path, safe_mode=True)
for name in ("d_optimizer", "g_optimizer"):
    steps = [int(ops.convert_to_numpy(getattr(model, name).iterations))
             for model in (resumed, gan)]
    assert steps[0] == steps[1], steps
    print(f"{name}: {steps[0]} steps restored")
difference = np.abs(resumed.generator.predict(eval_noise[:64], verbose=0)
                    - generator.predict(eval_noise[:64], verbose=0)).max()
assert difference < 1e-5, difference
print(f"saved {path}; generator difference after reload: {difference:.1e}")

# %% [markdown]
# ## Exercises
#
# 1. **The saturating loss.** Replace the generator loss by the saturating one,
#    $\mathbb{E}[\log(1 - D(G(z)))]$, i.e. `-self.bce(ops.zeros_like(l), l)`. Plot `D(G(z))`
#    over the first epoch for both. Why does the saturating version start so slowly?
# 2. **Reproduce the double sigmoid.** Add `activation="sigmoid"` to the discriminator's
#    last layer, keep `from_logits=True`, and train. What happens to `d_loss` and to the FD?
# 3. **One-sided label smoothing** (Salimans et al. 2016): use 0.9 instead of 1 as the
#    real label in the discriminator loss only. Does the FD change? Why only one side?
# 4. **k discriminator steps.** Take two discriminator steps per generator step
#    (Algorithm 1 with k = 2). What happens to $D(G(z))$ and to the FD for the same time?
# 5. **Fashion-MNIST.** Set `DATASET = "fashion_mnist"`. Which classes come out well?
# 6. **Checkerboards.** Replace each `Conv2DTranspose` by `UpSampling2D` + `Conv2D`
#    (Odena et al. 2016). Compare samples, FD and the time per epoch on your backend.
#
# ## References
#
# - Goodfellow et al. (2014). *Generative Adversarial Nets.* NIPS. arXiv:1406.2661.
# - Goodfellow (2016). *NIPS 2016 Tutorial: Generative Adversarial Networks.* arXiv:1701.00160.
# - Radford, Metz, Chintala (2015). *Unsupervised Representation Learning with Deep
#   Convolutional GANs.* arXiv:1511.06434.
# - Salimans et al. (2016). *Improved Techniques for Training GANs.* arXiv:1606.03498.
# - Heusel et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a Local
#   Nash Equilibrium* (FID). arXiv:1706.08500.
# - Odena, Dumoulin, Olah (2016). *Deconvolution and Checkerboard Artifacts.* Distill.
# - Keras guide: *Customizing what happens in `fit()`*; keras.io example *DCGAN overriding
#   `Model.train_step`*.
