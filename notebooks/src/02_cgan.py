# %% [markdown]
# # 02 · CGAN: a conditional DCGAN on MNIST that draws the digit you ask for
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gen-lib/generative-notebooks/blob/main/notebooks/02_cgan.ipynb)
#
# **What you will learn**
#
# - the conditional GAN objective of Mirza & Osindero (2014): *both* players receive the
#   class label $y$, and why a discriminator that does not see $y$ silently turns the
#   model back into an unconditional GAN;
# - how to feed a label to a dense generator and to a convolutional discriminator (one-hot
#   vector, broadcast to label maps), and why we chose that over an embedding;
# - how to write the conditional `train_step` once for TensorFlow, JAX and PyTorch, with
#   real pairs $(x, y)$ from the data and fake pairs $(G(z, y'), y')$ with sampled labels,
#   plus the "matching-aware" pairs of Reed et al. (2016) that teach the discriminator to
#   check the label;
# - how to measure whether the condition is obeyed: the class accuracy of the samples as
#   read by an MNIST classifier, next to that classifier's accuracy on real digits, and
#   the Fréchet distance next to its floor.
#
# **How long it takes.** The full run takes about 2,400 steps (5 epochs of the 60k train
# split, or 30 epochs of the 10k test split offline), plus a short run of the buggy
# model. The notebook prints its own minutes; the README's results table lists the
# measured minutes per backend and the command that measured them. With a GPU it is much
# faster; nothing in the code changes.
#
# This notebook builds on notebook 01 (the unconditional DCGAN); read that first if the
# GAN losses or the `train_step` pattern are new to you.

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
import math
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
EPOCHS = 5  # ~2,350 steps on the 60k train split; GEN_LIB_EPOCHS=30 on the 10k test split
BATCH_SIZE = 128
LATENT_DIM = 64
NUM_CLASSES = 10
LEARNING_RATE = 2e-4  # Adam, as in DCGAN (Radford et al. 2015)
BETA_1 = 0.5
MISMATCH_WEIGHT = 0.5  # share of real-image/wrong-label pairs among D's negatives; 0: Eq. 2 only
FD_SAMPLES = 5000
BUG_STEPS = 400  # the short run that shows the original's bug (label-blind discriminator)

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES)

# %% [markdown]
# ## Theory
#
# A conditional GAN gives both players side information $y$, here the digit's class.
# The generator draws $G(z \mid y)$ from noise $z \sim p_z$ and a label $y$; the
# discriminator judges *pairs*, $D(x \mid y)$ is the probability that $x$ is a real image
# **of class $y$**. The game (Mirza & Osindero 2014, Eq. 2) is
#
# $$\min_G \max_D \; V(D, G) = \mathbb{E}_{(x, y) \sim p_{\text{data}}}[\log D(x \mid y)] +
#   \mathbb{E}_{z \sim p_z,\, y \sim p_y}[\log(1 - D(G(z \mid y) \mid y))].$$
#
# There are still exactly two networks, $G(z, y)$ and $D(x, y)$; "the conditional
# generator" *is* the generator. As in notebook 01, $D$ minimises the binary cross-entropy
# with real pairs labelled 1 and fake pairs labelled 0, and $G$ minimises the
# non-saturating loss:
#
# $$L_D = -\mathbb{E}_{x, y}[\log D(x \mid y)] - \mathbb{E}_{z, y'}[\log(1 - D(G(z \mid y') \mid y'))],
#   \qquad L_G = -\mathbb{E}_{z, y'}[\log D(G(z \mid y') \mid y')].$$
#
# The real pairs $(x, y)$ come from the data. For the fake pairs we sample $y'$ uniformly
# over the ten classes (MNIST's classes are close to uniform), and the **same** $y'$ goes
# into $G$ and into $D$'s fake pair.
#
# **One addition: mismatched pairs.** In Eq. 2, $D$ sees two kinds of pairs: a real
# digit with its own label, and a fake with the label it was made for. It never sees a
# *realistic digit with the wrong label*, so it learns to check the label only
# indirectly, through the fakes, and that skill fades whenever the fakes are mostly of the
# right class; the class accuracy of the samples then wobbles. Reed et al. (2016, the
# "matching-aware discriminator", GAN-CLS) add a third kind of negative: a real image
# $x$ with a wrong label $\hat y \neq y$. With weight $w$ (`MISMATCH_WEIGHT`, 0.5 as in
# their paper)
#
# $$L_D = -\mathbb{E}[\log D(x \mid y)] - (1 - w)\,\mathbb{E}[\log(1 - D(G(z \mid y') \mid y'))]
#   \;-\; w\,\mathbb{E}[\log(1 - D(x \mid \hat y))].$$
#
# $G$'s loss does not change. With $w = 0$ this is exactly Eq. 2; Exercise 1 asks you to
# compare the two.
#
# **Why the label must reach both networks.** For a fixed $G$, the best discriminator is
# $D^*(x \mid y) = p_{\text{data}}(x \mid y) / (p_{\text{data}}(x \mid y) + p_g(x \mid y))$,
# and the game is won when $p_g(x \mid y) = p_{\text{data}}(x \mid y)$ for every class.
# Take $y$ away from either player and that target disappears:
#
# - a **generator that ignores $y$** draws $x$ independently of the request, so a
#   requested "7" is a 7 only one time in ten: by construction, not by bad luck;
# - a **discriminator that ignores $y$** can only compare $p_g(x)$ with
#   $p_{\text{data}}(x)$, the digits of all classes pooled. Any generator whose *pooled*
#   output looks like MNIST wins, whether or not its "7"s are sevens; nothing in the
#   gradient it receives mentions $y$. The result is an unconditional GAN with a useless
#   extra input, and training looks perfectly healthy.
#
# The tutorial this notebook corrects does both: its `generator(z, c)` and
# `discriminator(x, c)` accept `c` and never read it. We measure the second, subtler case
# below.
#
# **In code** the label enters both networks as a one-hot vector; the discriminator outputs
# a logit $\ell$ and the losses use `BinaryCrossentropy(from_logits=True)`:
# $L_D = \mathrm{BCE}(1, \ell(x, y)) + (1 - w)\,\mathrm{BCE}(0, \ell(G(z, y'), y')) +
# w\,\mathrm{BCE}(0, \ell(x, \hat y))$ and $L_G = \mathrm{BCE}(1, \ell(G(z, y'), y'))$.

# %% [markdown]
# ### Common mistakes (from the tutorial this notebook corrects)
#
# The original post (see `shared/ERRATA.md`, section 3) contains each of these. The first
# two are the dangerous ones: nothing crashes, the losses look normal, and the model is
# not conditional.
#
# | mistake | what happens | fix |
# |---|---|---|
# | `generator(z, c)` never uses `c` (CGAN-C02) | samples ignore the requested class: class accuracy ~10%, by construction | feed `concat([z, one_hot(y)])` to $G$ |
# | `discriminator(x, c)` never uses `c`; in the theory, $D$ judges "$D(x)$ or $D(G(z, c))$" (CGAN-C03, T02) | $D$ cannot reject a realistic digit of the wrong class, so $G$ has no reason to obey $y$: an unconditional GAN, measured below | $D$ judges pairs: concatenate the label to the image (here as 10 constant channels) |
# | raw integer labels concatenated as they are (CGAN-C06) | the class becomes a magnitude: "9" is nine times "1", and nearby digits look alike to the network | `ops.one_hot(y, 10)` or `layers.Embedding(10, d)` |
# | one `c` fed for the real images and the fakes (CGAN-C04) | the fake labels are tied to the real batch by accident, or undefined | real pairs $(x, y)$ from the data; fake pairs $(G(z, y'), y')$ with the **same** sampled $y'$ in $G$ and $D$ |
# | "a generator, a discriminator, a conditional generator and a conditional discriminator" (CGAN-T01) | four networks where there are two | two networks, each receiving $y$ |
# | $G$'s loss "an MSE or cross-entropy distance"; "$G$ minimises $D$'s loss, $D$ maximises $G$'s" (CGAN-T03) | the same sign errors as notebook 01 (GAN-T06, T07) | $L_G = -\mathbb{E}[\log D(G(z \mid y) \mid y)]$, $L_D$ = the BCE above |
# | no objective and no citation of the CGAN paper (CGAN-T04) | the reader cannot check anything | Eq. 2 above; Mirza & Osindero 2014 |
# | TF1 skeleton: `tf.layers`, `tf.Session`, `feed_dict`, calls with `None`, arguments swapped (CGAN-C01, C05) | does not run on any current TensorFlow; `(x, c, z)` passed where `(z, c, x)` is expected | Keras 3: functional networks, a custom `train_step`, `fit` |
#
# The first row needs no experiment: if the output does not depend on $y$, it cannot
# follow $y$. The second needs one, and it is in the Results section.

# %% [markdown]
# ## Data
#
# `gen_lib.load_dataset` reads MNIST through `keras.datasets`, or offline from a folder of
# the canonical idx files named by `GEN_LIB_DATA_DIR`. This time we keep the labels: `fit`
# will pass `(images, labels)` batches to `train_step`. Pixels go to $[-1, 1]$ for the
# generator's `tanh`.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_train = gen_lib.to_tanh_range(images)
y_train = labels.astype("int32")  # class ids 0-9; one-hot encoding happens in the model
print(run.describe(len(x_train)))
print(f"x_train: {x_train.shape} {x_train.dtype}, range [{x_train.min()}, {x_train.max()}]")
print(f"y_train: {y_train.shape} {y_train.dtype}, images per class: {np.bincount(y_train, minlength=NUM_CLASSES)}")
gen_lib.image_grid(gen_lib.tanh_to_unit(x_train[:32]), ncols=16, title="real images");

# %% [markdown]
# ## Networks
#
# The DCGAN of notebook 01, with the label added to both networks as a one-hot vector
# `condition` of length 10.
#
# - **Generator.** `concat([z, one_hot(y)])` goes into the first `Dense`. Because `Dense`
#   is linear, this is the same as adding a learned 7×7×64 vector per class to the
#   projection of $z$, i.e. a class embedding; writing it as a one-hot input keeps the
#   code short, and since the condition is a vector of class weights we can later feed
#   *mixtures* of two classes, which is how the class interpolation below works.
# - **Discriminator.** The one-hot vector is broadcast to ten constant 28×28 channels and
#   concatenated to the image, as in the keras.io conditional GAN example. Then $D$ sees
#   the class at every pixel from its first layer on, and can check each stroke against
#   it; the cost is 10 extra input channels on the first convolution only (5,632 weights
#   instead of 512). The broadcast is a `Reshape` to 1×1×10 followed by
#   `UpSampling2D(28)`, which repeats the pixel 28 times along each axis: plain layers, no
#   `Lambda`. The projection discriminator (Miyato & Koyama 2018), which multiplies a class
#   embedding with $D$'s features at the end, is the modern alternative; Exercise 3 tries
#   it.
#
# `read_condition=False` builds the discriminator of the original tutorial: it accepts the
# condition and ignores it. We use it only to measure that bug.

# %% tags=["model"]
def make_generator(latent_dim, num_classes):
    noise = keras.Input((latent_dim,), name="noise")
    condition = keras.Input((num_classes,), name="condition")  # one-hot class (or a mix)
    h = layers.Concatenate()([noise, condition])
    h = layers.Dense(7 * 7 * 64, use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((7, 7, 64))(h)
    h = layers.Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False)(h)  # 14x14
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(h)
    return keras.Model([noise, condition], image, name="generator")


def make_discriminator(num_classes, read_condition=True):
    image = keras.Input((28, 28, 1), name="image")
    condition = keras.Input((num_classes,), name="condition")
    label_maps = layers.UpSampling2D(28)(layers.Reshape((1, 1, num_classes))(condition))
    h = layers.Concatenate()([image, label_maps]) if read_condition else image  # 28x28x11
    h = layers.Conv2D(32, 4, strides=2, padding="same")(h)  # 14x14
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Conv2D(64, 4, strides=2, padding="same")(h)  # 7x7
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    logit = layers.Dense(1)(layers.Flatten()(h))  # no sigmoid: a logit
    name = "discriminator" if read_condition else "label_blind_discriminator"
    return keras.Model([image, condition], logit, name=name)

# %%
generator = make_generator(LATENT_DIM, NUM_CLASSES)
discriminator = make_discriminator(NUM_CLASSES)
generator.summary()
discriminator.summary()

# %% [markdown]
# Check the shapes, and check that **the condition reaches the output**: change only the
# label, keep everything else fixed, and the output must change. This is the test the
# original's networks fail, and it costs two forward passes. The label-blind
# discriminator fails it exactly.

# %%
def one_hot(class_ids):
    return np.eye(NUM_CLASSES, dtype="float32")[np.asarray(class_ids)]


def condition_effect(network, first_input):
    """Largest change of the output when only the condition changes (class 0 -> class 1)."""
    n = len(first_input)
    as_zero = ops.convert_to_numpy(network([first_input, one_hot(np.zeros(n, int))]))
    as_one = ops.convert_to_numpy(network([first_input, one_hot(np.ones(n, int))]))
    return float(np.abs(as_zero - as_one).max())


probe_noise = np.random.default_rng(0).normal(size=(16, LATENT_DIM)).astype("float32")
probe_images = ops.convert_to_numpy(generator([probe_noise, one_hot(np.arange(16) % 10)]))
probe_logits = ops.convert_to_numpy(discriminator([x_train[:16], one_hot(y_train[:16])]))
assert probe_images.shape == (16, 28, 28, 1), probe_images.shape
assert probe_images.min() >= -1 and probe_images.max() <= 1
assert probe_logits.shape == (16, 1), probe_logits.shape
print(f"G(z, y): {probe_images.shape}, range [{probe_images.min():.2f}, {probe_images.max():.2f}]")
print(f"D(x, y) logits at init: mean {probe_logits.mean():+.3f}, max |logit| {abs(probe_logits).max():.3f}")
for name, network, first_input in [
    ("generator", generator, probe_noise),
    ("discriminator", discriminator, x_train[:16]),
    ("label-blind discriminator (the bug)", make_discriminator(NUM_CLASSES, read_condition=False),
     x_train[:16]),
]:
    print(f"{name:>36}: output change when only y changes = {condition_effect(network, first_input):.2e}")
assert condition_effect(generator, probe_noise) > 0
assert condition_effect(discriminator, x_train[:16]) > 0

# %% [markdown]
# ## The `train_step`
#
# The model holds both networks and both optimizers, as in notebook 01. What is new is
# the label, in every pair $D$ judges. Read `train_step` top to bottom:
#
# 1. `unpack_x_y_sample_weight` takes the real images **and their labels** out of the
#    batch that `fit(x_train, y_train)` gives us; `ops.one_hot` turns the labels into the
#    condition vectors.
# 2. **Discriminator step.** Draw fresh noise with `keras.random.normal` and fake labels
#    $y'$ with `keras.random.randint`, both from the model's `SeedGenerator` (never NumPy
#    inside a step: it would run once, at trace time). The wrong labels $\hat y$ are the
#    real ones shifted by a random 1-9 (mod 10), so they are never right and every wrong
#    class is equally likely. The loss scores real pairs $(x, y)$ as 1, fake pairs
#    $(G(z, y'), y')$ (the same $y'$ in both places) and mismatched pairs $(x, \hat y)$
#    as 0; `gen_lib.minimize` updates only the discriminator's variables.
# 3. **Generator step.** Fresh noise and fresh labels again, the non-saturating loss
#    $\mathrm{BCE}(1, D(G(z, y'), y'))$; the gradient flows through $D$, only $G$'s
#    variables change.
# 4. Update the metric trackers and return their running means, which `fit` prints.
#    Besides the losses we track the mean of $D(x \mid y)$, $D(G(z \mid y) \mid y)$ and
#    $D(x \mid \hat y)$: the last one says whether $D$ reads the label at all.
#
# Why sampled fake labels rather than the batch's own labels: both are correct (ERRATA
# CGAN-C04). Sampling makes $p_y$ uniform whatever the batch holds and keeps the fake
# labels independent of the real images; reusing `real_labels` would make the fake class
# mix follow the data's, which is what you want when the classes are unbalanced.
#
# `@gen_lib.train_step`, `gen_lib.minimize` and `gen_lib.track_optimizers` make the same
# code run on TensorFlow, JAX and PyTorch; notebook 01 explains how. The constructor
# refuses networks that do not take a condition input, the original's bug at the level
# of the signature, and a mismatch weight outside $[0, 1)$.

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
class CGAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, num_classes, mismatch_weight=0.5,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        _check_inputs(generator, [(latent_dim,), (num_classes,)], "generator",
                      "(noise, condition)")
        _check_inputs(discriminator, [None, (num_classes,)], "discriminator",
                      "(image, condition)")
        if not 0 <= mismatch_weight < 1:
            raise ValueError(
                f"mismatch_weight must be in [0, 1), got {mismatch_weight}: it is the share "
                "of mismatched real pairs among D's negatives (0.5 in Reed et al. 2016; 0 "
                "for the plain CGAN loss). At 1, D would never see a fake.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.mismatch_weight = mismatch_weight
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="D(x|y)")
        self.d_fake_tracker = keras.metrics.Mean(name="D(G(z|y)|y)")
        self.d_wrong_tracker = keras.metrics.Mean(name="D(x|wrong y)")
        self.built = True  # both networks are built; the CGAN has no call() of its own

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        gen_lib.track_optimizers(self, (d_optimizer, self.discriminator),
                                 (g_optimizer, self.generator))

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker, self.d_wrong_tracker]

    def sample_conditions(self, batch_size):
        """One-hot vectors of classes drawn uniformly, for the fake pairs."""
        classes = keras.random.randint((batch_size,), 0, self.num_classes,
                                       seed=self.seed_generator)
        return ops.one_hot(classes, self.num_classes)

    def wrong_conditions(self, labels):
        """One-hot vectors of a class that is not `labels`, uniformly among the others."""
        shift = keras.random.randint(ops.shape(labels), 1, self.num_classes,
                                     seed=self.seed_generator)
        return ops.one_hot((labels + shift) % self.num_classes, self.num_classes)

    @gen_lib.train_step
    def train_step(self, data):
        real_images, real_labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = ops.shape(real_images)[0]
        real_labels = ops.cast(real_labels, "int32")
        real_conditions = ops.one_hot(real_labels, self.num_classes)
        w = self.mismatch_weight

        # 1. Discriminator step: (x, y) -> 1; (G(z, y'), y') -> 0; (x, wrong y) -> 0.
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake_conditions = self.sample_conditions(batch_size)
        wrong_conditions = self.wrong_conditions(real_labels)

        def discriminator_loss():
            fake_images = self.generator([noise, fake_conditions], training=True)
            real_logits = self.discriminator([real_images, real_conditions], training=True)
            fake_logits = self.discriminator([fake_images, fake_conditions], training=True)
            wrong_logits = self.discriminator([real_images, wrong_conditions], training=True)
            loss = (self.bce(ops.ones_like(real_logits), real_logits)
                    + (1 - w) * self.bce(ops.zeros_like(fake_logits), fake_logits)
                    + w * self.bce(ops.zeros_like(wrong_logits), wrong_logits))
            return loss, (real_logits, fake_logits, wrong_logits)

        d_loss, (real_logits, fake_logits, wrong_logits) = gen_lib.minimize(
            discriminator_loss, self.discriminator.trainable_variables, self.d_optimizer)

        # 2. Generator step: fresh (z, y'), non-saturating loss -log D(G(z|y')|y').
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake_conditions = self.sample_conditions(batch_size)

        def generator_loss():
            fake_images = self.generator([noise, fake_conditions], training=True)
            fake_logits = self.discriminator([fake_images, fake_conditions], training=True)
            return self.bce(ops.ones_like(fake_logits), fake_logits)

        g_loss = gen_lib.minimize(
            generator_loss, self.generator.trainable_variables, self.g_optimizer)

        # 3. Running means for the progress bar and the history.
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(ops.mean(ops.sigmoid(fake_logits)))
        self.d_wrong_tracker.update_state(ops.mean(ops.sigmoid(wrong_logits)))
        return {m.name: m.result() for m in self.metrics}

    # Saving: how to rebuild this model (its networks) and re-compile it (its optimizers).
    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "num_classes": self.num_classes, "mismatch_weight": self.mismatch_weight,
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


def _check_inputs(network, shapes, role, meaning):
    """Raise a ValueError unless `network` takes len(shapes) inputs of these shapes."""
    got = [tuple(x.shape[1:]) for x in getattr(network, "inputs", None) or []]
    wrong = len(got) != len(shapes) or any(
        want is not None and have != want for have, want in zip(got, shapes, strict=False))
    if wrong:
        expected = ", ".join("any" if s is None else str(s) for s in shapes)
        raise ValueError(
            f"The {role} must be a functional model with inputs {meaning} of shapes "
            f"[{expected}] (batch axis left out), got {got}. A {role} without a condition "
            "input cannot be conditional (ERRATA CGAN-C02/C03); check latent_dim and "
            "num_classes.")

# %% [markdown]
# ## Training
#
# Before training, measure where we start. The quality scorer trains a small MNIST
# classifier on the real images (once; it is cached on disk), reports its accuracy on real
# images it did not train on, and the **floor** of the Fréchet distance (two disjoint sets
# of real images). We evaluate on `fd_samples` generated images whose requested labels
# cycle through 0-9, so every class is asked for equally often.

# %%
scorer = gen_lib.QualityScorer(gen_lib.tanh_to_unit(x_train), labels,
                               fd_samples=run.fd_samples)
eval_noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM)).astype("float32")
eval_labels = np.arange(scorer.fd_samples) % NUM_CLASSES


def sample_images(generator, noise, conditions):
    """Images in [0, 1] from noise and conditions: class ids, or (n, 10) class weights."""
    conditions = np.asarray(conditions)
    if conditions.ndim == 1:
        conditions = one_hot(conditions)
    conditions = conditions.astype("float32")
    images = [ops.convert_to_numpy(generator([noise[i:i + 500], conditions[i:i + 500]]))
              for i in range(0, len(noise), 500)]  # plain calls: inference mode, no retracing
    return gen_lib.tanh_to_unit(np.concatenate(images))


untrained = sample_images(generator, eval_noise, eval_labels)
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"untrained generator: class accuracy {scorer.accuracy(untrained, eval_labels):.3f}, "
      f"FD {scorer.fd(untrained):.2f} (floor {scorer.floor:.2f})")

# %% [markdown]
# A small callback records the class accuracy of 1,000 samples after every epoch, so we can
# watch the condition being learned (and compare with the buggy model later).

# %%
class ClassAccuracy(keras.callbacks.Callback):
    """After every epoch: the share of samples the classifier reads as the requested class."""

    def __init__(self, noise, class_ids):
        super().__init__()
        self.noise, self.class_ids = noise, class_ids
        self.steps, self.accuracies = [], []

    def on_epoch_end(self, epoch, logs=None):
        images = sample_images(self.model.generator, self.noise, self.class_ids)
        self.steps.append((epoch + 1) * self.params["steps"])
        self.accuracies.append(scorer.accuracy(images, self.class_ids))


# %% [markdown]
# Train with `fit(x_train, y_train)`. The grid shows one row per class, each cell from its
# own fixed noise vector, after every epoch.

# %%
cgan = CGAN(generator, discriminator, LATENT_DIM, NUM_CLASSES,
            mismatch_weight=MISMATCH_WEIGHT, seed=run.seed)
cgan.compile(
    d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
    g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
)
grid_classes = np.repeat(np.arange(NUM_CLASSES), 10)  # row k: ten samples of class k
grid_noise = np.random.default_rng(2).normal(size=(len(grid_classes), LATENT_DIM)).astype("float32")
sample_grid = gen_lib.SampleGrid(lambda inputs: sample_images(generator, *inputs),
                                 (grid_noise, grid_classes), ncols=10)
class_accuracy = ClassAccuracy(eval_noise[:1000], eval_labels[:1000])

start = time.perf_counter()
history = cgan.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=run.epochs, shuffle=True,
                   callbacks=[sample_grid, class_accuracy, gen_lib.StopOnNaN()], verbose=2)
train_minutes = (time.perf_counter() - start) / 60
print(f"trained {int(cgan.g_optimizer.iterations)} steps in {train_minutes:.1f} min")

# %% [markdown]
# ## Results
#
# The losses settle rather than go to zero, as in notebook 01; $D(x \mid y)$ and
# $D(G(z \mid y) \mid y)$ say who is winning. $D(x \mid \text{wrong } y)$ well below
# $D(x \mid y)$ means the discriminator reads the label: the same real digit is judged
# differently under the wrong label. The class accuracy of the samples rises as the
# generator learns to obey the label.

# %%
gen_lib.plot_history(history, keys=["d_loss", "g_loss"], title="losses");
gen_lib.plot_history(history, keys=["D(x|y)", "D(G(z|y)|y)", "D(x|wrong y)"],
                     title="discriminator outputs");
gen_lib.plot_history({"class accuracy of samples": class_accuracy.accuracies},
                     title="class accuracy (1,000 samples) after each epoch");
print("class accuracy after each epoch:",
      " ".join(f"{a:.2f}" for a in class_accuracy.accuracies))

# %% [markdown]
# ### One row per class
#
# Each row asks for one class; every cell has its own fixed noise vector (the grid you
# watched during training).

# %%
gen_lib.image_grid(sample_images(generator, grid_noise, grid_classes), ncols=10,
                   row_labels=range(NUM_CLASSES), title="one row per requested class");

# %% [markdown]
# ### Same noise, different class: style kept, class changed
#
# Now each **row** keeps one noise vector and the columns ask for the classes 0-9. The
# label decides *which* digit; the noise decides *how* it is written (thickness, slant,
# width), and that style carries across the row. This separation is what conditioning
# buys: $z$ no longer has to encode the class.

# %%
style_noise = np.random.default_rng(3).normal(size=(8, LATENT_DIM)).astype("float32")
style_grid = sample_images(generator, np.repeat(style_noise, NUM_CLASSES, axis=0),
                           np.tile(np.arange(NUM_CLASSES), len(style_noise)))
gen_lib.image_grid(style_grid, ncols=NUM_CLASSES, title="row: one noise vector; column: class 0-9");

# %% [markdown]
# ### Interpolation between two classes
#
# The condition is a vector of class weights, so we can move it from one class to another,
# $c_t = (1 - t)\,\text{one\_hot}(a) + t\,\text{one\_hot}(b)$, with the noise fixed. The
# mixtures were never seen in training (every training condition is one-hot); what the
# generator does between the two corners is an extrapolation, and it is instructive to see
# where the classifier's reading flips.

# %%
pairs = [(1, 7), (3, 8), (4, 9), (0, 6), (2, 5)]
steps = np.linspace(0, 1, 10)
mix_noise = np.random.default_rng(4).normal(size=(len(pairs), LATENT_DIM)).astype("float32")
mix_conditions = np.concatenate(
    [(1 - steps)[:, None] * one_hot([a]) + steps[:, None] * one_hot([b]) for a, b in pairs])
mixes = sample_images(generator, np.repeat(mix_noise, len(steps), axis=0), mix_conditions)
gen_lib.image_grid(mixes, ncols=len(steps), row_labels=[f"{a}→{b}" for a, b in pairs],
                   title="t = 0 ... 1 from class a to class b, same noise per row");
readings = scorer.predict_labels(mixes).reshape(len(pairs), len(steps))
for (a, b), row in zip(pairs, readings, strict=True):
    print(f"{a}→{b}: classifier reads {' '.join(map(str, row))}")

# %% [markdown]
# ### The quality numbers
#
# **Class accuracy**: the share of generated digits that the classifier reads as the
# class we asked for, per class and overall, on `fd_samples` samples. The classifier is not
# perfect, so read it next to its accuracy on real held-out digits. Samples can score
# *above* real digits if the generator favours typical, easy-to-read shapes: a high
# accuracy says the label is obeyed, not that the samples are as varied as real ones; the
# FD speaks to that. **FD**: the Fréchet distance to real images in the
# classifier's feature space, next to its floor (notebook 01 explains it).

# %%
samples = sample_images(generator, eval_noise, eval_labels)
predicted = scorer.predict_labels(samples)
print("class  accuracy  most often misread as")
for k in range(NUM_CLASSES):
    asked = eval_labels == k
    wrong = predicted[asked & (predicted != k)]
    misread = f"{np.bincount(wrong, minlength=NUM_CLASSES).argmax()}" if len(wrong) else "-"
    print(f"{k:>5}  {(predicted[asked] == k).mean():8.3f}  {misread}")
accuracy = float((predicted == eval_labels).mean())
fd = scorer.fd(samples)
print(f"overall class accuracy of samples      : {accuracy:.3f} ({len(samples)} samples)")
print(f"classifier accuracy on real held-out   : {scorer.real_accuracy:.3f}")
print(f"FD, generated vs real                  : {fd:.2f}")
print(f"FD, real vs real floor                 : {scorer.floor:.2f} (ratio {fd / scorer.floor:.1f}x)")

# %% [markdown]
# ### The original's bug, measured
#
# Now the subtle half of the original's bug: the generator receives the label, the
# discriminator accepts it and ignores it (`read_condition=False`). Same generator
# architecture, same `CGAN` class and `train_step`, same optimizers, and the original's
# loss, Eq. 2 (`mismatch_weight=0`: for a discriminator that cannot see the label, a
# mismatched pair is the real pair again, and the extra term would only tell it to call
# real digits fake). We train it for about `BUG_STEPS` steps and compare its class
# accuracy with that of our model after the same number of steps.

# %%
steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)
bug_epochs = min(run.epochs, max(1, round(BUG_STEPS / steps_per_epoch)))
blind_generator = make_generator(LATENT_DIM, NUM_CLASSES)
blind_cgan = CGAN(blind_generator, make_discriminator(NUM_CLASSES, read_condition=False),
                  LATENT_DIM, NUM_CLASSES, mismatch_weight=0.0, seed=run.seed)
blind_cgan.compile(
    d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
    g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
)
blind_accuracy = ClassAccuracy(eval_noise[:1000], eval_labels[:1000])
blind_history = blind_cgan.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=bug_epochs,
                               shuffle=True, callbacks=[blind_accuracy, gen_lib.StopOnNaN()],
                               verbose=0)
blind_logs = {key: values[-1] for key, values in blind_history.history.items()}
blind_samples = sample_images(blind_generator, eval_noise, eval_labels)
print(f"after {blind_accuracy.steps[-1]} steps:")
print(f"  class accuracy, label-blind discriminator: {blind_accuracy.accuracies[-1]:.3f}"
      f"  (chance: {1 / NUM_CLASSES:.3f})")
print(f"  class accuracy, our model                : "
      f"{class_accuracy.accuracies[bug_epochs - 1]:.3f}")
print(f"  FD of the label-blind model: {scorer.fd(blind_samples):.2f} (floor {scorer.floor:.2f})")
print(f"  its last epoch's logs: d_loss {blind_logs['d_loss']:.3f}, "
      f"g_loss {blind_logs['g_loss']:.3f}, D(x|y) {blind_logs['D(x|y)']:.3f}, "
      f"D(x|wrong y) {blind_logs['D(x|wrong y)']:.3f}")
gen_lib.image_grid(sample_images(blind_generator, grid_noise, grid_classes), ncols=10,
                   row_labels=range(NUM_CLASSES), title="label-blind D: rows ask for 0-9");

# %% [markdown]
# Nothing crashed and the losses look like a GAN's; the FD says it does learn to draw
# digits. But the rows do not follow the request, and $D(x \mid \text{wrong } y)$ equals
# $D(x \mid y)$: the label is just one more noise input. (How far from chance such a run
# ends depends on the seed: the generator can pick up an arbitrary link between some
# labels and some digits, but nothing rewards the right one.) A class-accuracy check like
# this one, or the `condition_effect` check above, catches the bug in seconds.

# ## Save and reload
#
# The generator is a plain functional model with two inputs, so it saves to the `.keras`
# format and loads back with `safe_mode=True` (no code is deserialised). Same noise and
# labels in, same images out.

# %%
artifacts = Path("artifacts")
artifacts.mkdir(exist_ok=True)
path = artifacts / "02_cgan_generator.keras"
generator.save(path)
reloaded = keras.saving.load_model(path, safe_mode=True)
check_inputs = [eval_noise[:64], one_hot(eval_labels[:64])]
difference = np.abs(ops.convert_to_numpy(reloaded(check_inputs))
                    - ops.convert_to_numpy(generator(check_inputs))).max()
assert difference < 1e-5, difference
print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); max difference after reload: {difference:.1e}")

# %% [markdown]
# To resume training later, save the whole `CGAN`: as in notebook 01, `get_config` and
# `get_compile_config` tell Keras how to rebuild and re-compile it, and
# `gen_lib.track_optimizers` puts both optimizers' state and the noise stream's position
# into the saved variables. `tests/test_notebook_models.py` checks that training resumed
# from the file gives exactly the losses of training that never stopped.

# %%
path = artifacts / "02_cgan.keras"
cgan.save(path)
resumed = keras.saving.load_model(path, safe_mode=True)
steps = [int(ops.convert_to_numpy(m.g_optimizer.iterations)) for m in (resumed, cgan)]
assert steps[0] == steps[1], steps
difference = np.abs(ops.convert_to_numpy(resumed.generator(check_inputs))
                    - ops.convert_to_numpy(generator(check_inputs))).max()
assert difference < 1e-5, difference
print(f"saved {path}: {steps[0]} generator steps restored, difference {difference:.1e}")

# %% [markdown]
# ## Exercises
#
# 1. **Eq. 2 alone.** Set `MISMATCH_WEIGHT = 0` and train again. Plot the class-accuracy
#    curves of both runs: how fast does each rise, and how steady is it? Watch
#    `D(x|wrong y)` in the logs: does the plain CGAN's discriminator still read the label?
# 2. **Reuse the real labels.** In `train_step`, use `real_conditions` instead of
#    `sample_conditions(batch_size)` for the fakes. Does the class accuracy change? When
#    would you prefer it (think of unbalanced classes)?
# 3. **A projection discriminator** (Miyato & Koyama 2018). Drop the label channels; let
#    $D$ compute features $\phi(x)$ (the flattened 7×7×64 map), and output
#    $\psi(\phi(x)) + \langle \text{Embedding}(10, 3136)(y), \phi(x) \rangle$. Compare
#    class accuracy and FD after the same number of steps.
# 4. **Condition only the generator's later layers**, or only $D$'s last layer
#    (concatenate the one-hot vector to the flattened features). Which place gives the
#    higher class accuracy early in training, and why might that be?
# 5. **An embedding instead of one-hot.** Replace the one-hot input of $G$ by
#    `layers.Embedding(10, 16)` on integer labels. Check the claim above that for the
#    first `Dense` this changes nothing but the parameterisation. What do you lose for the
#    interpolation?
# 6. **The first half of the bug.** Make the generator ignore its condition (feed only
#    `noise` to its first `Dense`). Predict the class accuracy before you measure it.
# 7. **Fashion-MNIST.** Set `DATASET = "fashion_mnist"`. Which classes does the
#    classifier confuse, and does the generator confuse the same ones?
#
# ## References
#
# - Mirza, Osindero (2014). *Conditional Generative Adversarial Nets.* arXiv:1411.1784.
# - Goodfellow et al. (2014). *Generative Adversarial Nets.* NIPS. arXiv:1406.2661.
# - Radford, Metz, Chintala (2015). *Unsupervised Representation Learning with Deep
#   Convolutional GANs.* arXiv:1511.06434.
# - Reed et al. (2016). *Generative Adversarial Text to Image Synthesis* (the
#   matching-aware discriminator, GAN-CLS). ICML. arXiv:1605.05396.
# - Miyato, Koyama (2018). *cGANs with Projection Discriminator.* ICLR. arXiv:1802.05637.
# - Odena, Olah, Shlens (2017). *Conditional Image Synthesis with Auxiliary Classifier
#   GANs* (AC-GAN). ICML. arXiv:1610.09585.
# - Heusel et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a Local
#   Nash Equilibrium* (FID). arXiv:1706.08500.
# - keras.io example *Conditional GAN* (Sayak Paul), which broadcasts the one-hot label to
#   image channels in the same way.
