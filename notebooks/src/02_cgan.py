# %% [markdown]
# # 02 · Conditional GAN: draw the digit you ask for
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPOSITORY_PATH/blob/main/notebooks/02_cgan.ipynb)
#
# **What you will learn**
#
# - the conditional GAN game, and why a discriminator that ignores the label gives an
#   unconditional GAN;
# - what a label does inside each network: an offset per class on the first features;
# - the matching-aware discriminator: what it speeds up, and the diversity it costs;
# - how to measure the result: class accuracy checks the label, the Fréchet distance
#   quality and diversity.
#
# **Prerequisites:** notebook 01 (DCGAN, `train_step`); Python, NumPy, Keras basics.
#
# **Time:** 42 minutes for the stored run, measured on a 2-core CPU, TensorFlow, while
# other jobs shared it (a quiet run takes several times less).
#
# It corrects the CGAN part of the blog post *生成对抗网络与生成模型的数学基础:如何理解WGAN和CGAN*
# ("Mathematical foundations of GANs: understanding WGAN and CGAN"), whose networks take the
# label and ignore it: its "CGAN" is not conditional.

# %%
# Run this cell first. On Colab it installs gen_lib, this collection's small helper
# package; elsewhere it does nothing. Keras runs on TensorFlow unless you choose another
# backend here, before Keras is first imported (restart the kernel to change it later).
import os
import sys

# os.environ["KERAS_BACKEND"] = "jax"  # or "torch"
if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "gen_lib @ git+REPOSITORY_URL"], check=True)

# %% [markdown]
# ## The idea in one picture
#
# The generator turns noise $z$ and a label $y'$ into an image. The discriminator scores
# *pairs*: a real image with its own label should score high; a fake with its label, and
# a real image with a wrong label $\hat y$, low. $L_D$ updates only $D$; $L_G$ is computed
# through $D$ but updates only $G$.

# %%
import gen_lib

boxes = {
    "z": (0, 2.6, "noise z"),
    "y": (0, 1.4, "label y'\n(the batch's labels)"),
    "data": (2.2, 0.2, "real pairs (x, y)\nwrong-label pairs (x, ŷ)", "#eeeeee"),
    "G": (2.2, 2.0, "generator G", "#cfe2f3"),
    "D": (4.6, 1.2, "discriminator D", "#fce5cd"),
    "LG": (4.6, 3.1, "L_G: (G(z, y'), y') → 1", "#d9e8fb"),
    "LD": (7.3, 1.2, "L_D: (x, y) → 1\n(G(z, y'), y') → 0\n(x, ŷ) → 0", "#f4cccc"),
}
arrows = [
    ("z", "G"), ("y", "G", "y'"), ("y", "D", "same y'"), ("G", "D", "G(z, y')"),
    ("data", "D"), ("D", "LG", "logit"), ("D", "LD", "logits"),
    ("LG", "G", "updates G (through D)", "tab:blue", "dashed"),
]
fig = gen_lib.diagram(boxes, arrows, figsize=(9, 3.8),
                      title="Conditional GAN: the label goes into both players")
ax = fig.axes[0]  # L_D -> D drawn curved, so that it does not hide the D -> L_D arrow
ax.annotate("", xy=(4.6, 0.95), xytext=(7.3, 0.75), arrowprops=dict(
    arrowstyle="-|>", color="tab:red", ls="dashed", lw=1.5,
    connectionstyle="arc3,rad=-0.3"))
ax.text(5.95, 0.37, "updates D", color="tab:red", fontsize=8.5, ha="center",
        va="center",
        bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"));

# %% [markdown]
# ## Setup
#
# The imports; `gen_lib` is this collection's helper package.

# %%
import time
from pathlib import Path

import gen_lib
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops

print(gen_lib.device_report())

# %% [markdown]
# An epoch is one pass over the training images; each step updates $D$ once and $G$
# once. `MISMATCH_WEIGHT` is the Theory's $w$; `COMPARE_IMAGES` and `COMPARE_EPOCHS` set
# the short runs of the Results' controlled comparison. `run_profile` also seeds every
# random generator.

# %% tags=["parameters"]
DATASET = "mnist"
SPLIT = "train"  # or "test": 10k images, 6x the epochs (taken when offline)
EPOCHS = 5  # passes over the 60k train split
BATCH_SIZE = 128
LATENT_DIM = 64  # size of the noise vector z
NUM_CLASSES = 10
LEARNING_RATE = 2e-4  # Adam settings of DCGAN (Radford et al. 2015)
BETA_1 = 0.5
MISMATCH_WEIGHT = 0.5  # w: share of wrong-label real pairs among D's negatives
FD_SAMPLES = 5000
COMPARE_IMAGES, COMPARE_EPOCHS = 10_000, 5  # 395 steps, on either split

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES,
                          dataset=DATASET)

# %% [markdown]
# ## Theory
#
# ### Both players see the label
#
# A conditional GAN (Mirza & Osindero 2014) gives both networks side information $y$, here
# the digit's class. The generator maps noise $z \sim p_z$ and a label to an image
# $G(z \mid y)$; the discriminator judges pairs: $D(x \mid y)$ is the probability that
# $x$ is a real image of class $y$. The game (their Eq. 2, with the label distributions
# written out) is
#
# $$\min_G \max_D \; \mathbb{E}_{(x, y) \sim p_{\text{data}}}[\log D(x \mid y)] +
#   \mathbb{E}_{z \sim p_z,\, y' \sim p(y)}[\log(1 - D(G(z \mid y') \mid y'))],$$
#
# where the fake labels $y'$ follow the data's label distribution $p(y)$ (we reuse each
# batch's labels), and the same $y'$ goes into $G$ and into $D$'s fake pair. Uniform
# labels would ask for 5s as often as 1s, though the data hold fewer 5s (counts under
# Data): $D$ could then spot fakes by their label alone, even against a perfect $G$. As
# in notebook 01, $D$ minimises the binary cross-entropy of this game and $G$ the
# non-saturating loss $L_G = -\mathbb{E}[\log D(G(z \mid y') \mid y')]$.
#
# Why $D$ must read $y$: ignoring it, $D$ compares only the pooled distributions $p_g(x)$
# and $p_{\text{data}}(x)$, so a generator that draws a 1 when asked for a 7 wins if its
# pooled digits look right. The check: two classes on a line, swapped.

# %%
grid = np.linspace(-7, 7, 1400)  # a 1-D "image" space
step = grid[1] - grid[0]


def gaussian(mean):
    return np.exp(-0.5 * (grid - mean) ** 2) / np.sqrt(2 * np.pi)


def jsd(a, b):
    """Jensen-Shannon divergence (nats) of two densities on `grid`, joint or pooled."""
    m = (a + b) / 2
    terms = [np.where(p > 0,
                      p * np.log(np.where(p > 0, p, 1) / np.where(m > 0, m, 1)), 0)
             for p in (a, b)]
    return float(0.5 * (terms[0] + terms[1]).sum() * step)


separated = 0.5 * np.stack([gaussian(-2), gaussian(2)])  # p(x, y): row y, class 0 left
swapped = separated[::-1]  # draws class 1's images when asked for 0, and vice versa
print(f"pooled over labels (what a label-blind D sees): JSD = "
      f"{jsd(separated.sum(0), swapped.sum(0)):.3f} nats")
print(f"as (x, y) pairs (what a label-reading D sees):  JSD = "
      f"{jsd(separated, swapped):.3f} nats (the maximum is log 2 = {np.log(2):.3f})")

# %% [markdown]
# ### A third kind of negative: real images with the wrong label
#
# In Eq. 2, $D$ never sees a realistic digit under a wrong label; it learns to read $y$
# only through the fakes. The matching-aware discriminator (Reed et al. 2016, Sec. 4.2)
# adds such pairs as negatives: $p_{\text{mis}}(x, y)$ is the distribution of a real image
# paired with a wrong label, drawn uniformly from the other nine classes. With weight $w$
# (`MISMATCH_WEIGHT`, 0.5 as in that paper)
#
# $$L_D = -\mathbb{E}_{p_{\text{data}}}[\log D(x \mid y)]
#   - (1 - w)\,\mathbb{E}_{p(y),\,p_g}[\log(1 - D(x \mid y))]
#   - w\,\mathbb{E}_{p_{\text{mis}}}[\log(1 - D(x \mid y))].$$
#
# $G$'s loss does not change; $w = 0$ is Eq. 2. At each pair, with $a$ the density of real
# pairs and $b$ that of negatives, $a \log D + b \log(1-D)$ peaks at $D = a / (a + b)$:
#
# $$D^*(x, y) = \frac{p_{\text{data}}(x, y)}{p_{\text{data}}(x, y)
#   + (1 - w)\,p(y)\,p_g(x \mid y) + w\,p_{\text{mis}}(x, y)}.$$
#
# If fake pairs are distributed like real ones, $w = 0$ gives $D^* = 1/2$ everywhere; with
# $w > 0$, $D^*$ rises above $1/2$ on typical images of class $y$ and falls below it where
# a mismatched pair is likelier ($p_{\text{mis}} > p_{\text{data}}$). Below, a brute-force
# check on overlapping toy classes.

# %%
data_pairs = 0.5 * np.stack([gaussian(-1), gaussian(1)])  # two overlapping classes
mismatched = data_pairs[::-1]  # with two classes, the wrong label is the other one
w, p_y = MISMATCH_WEIGHT, 0.5  # p(y) = 1/2 for both toy classes


def negatives(generated_given_y, w):
    """Density of D's negatives: (1 - w) p(y) p_g(x|y) + w p_mis(x, y)."""
    return (1 - w) * p_y * generated_given_y + w * mismatched


a, b = data_pairs, negatives(data_pairs / p_y, w)  # a perfect G: p_g(x|y) = p(x|y)
candidates = np.linspace(0.0005, 0.9995, 1000)
objective = a[..., None] * np.log(candidates) + b[..., None] * np.log(1 - candidates)
brute_force = candidates[objective.argmax(-1)]
print(f"largest gap between brute force and the formula for D*: "
      f"{np.abs(brute_force - a / (a + b)).max():.4f} (candidate spacing 0.001)")

# %% [markdown]
# ### The generator's best answer avoids ambiguous digits
#
# Put $D^*$ back into the game. As in Goodfellow et al. (2014, Thm. 1), $G$ is then left
# minimising $2\,\mathrm{JSD}(p_{\text{data}} \,\|\, n) - \log 4$, where
# $n = (1-w)\,p(y)\,p_g(x \mid y) + w\,p_{\text{mis}}(x, y)$ is the mixture of negatives
# (the denominator of $D^*$ less $p_{\text{data}}$); $G$ controls only the first part.
# At $w = 0$ the best $G$ copies the data. At $w > 0$ a copy is not the best answer: on
# a 4 that looks more like a 9, real 9s labelled 4 outnumber real 4s
# ($p_{\text{mis}} > p_{\text{data}}$), so $D^* < 1/2$ there even for a perfect copy,
# while on a typical 4 $D^* > 1/2$.
# $G$ gains by moving its 4s from the first kind of image to the second. The prediction:
# samples easier to read than real digits and less varied; label checking costs
# diversity. The cell below finds the best $G$ of the toy by brute force (gradient
# descent on the JSD over $G$'s density, kept positive and normalised by a softmax) and
# reads its samples with the best classifier of the data. This assumes an optimal $D$
# and an unrestricted $G$; trained networks are neither.
#
# <details><summary>The optimum in closed form</summary>
#
# $(1 - w)\,p(y)\,p_g^*(x \mid y) = \max\big(0,\; k_y\,p_{\text{data}}(x, y) -
# w\,p_{\text{mis}}(x, y)\big)$, with $k_y$ chosen so that $p_g^*(\cdot \mid y)$
# integrates to 1. It follows from the optimality (KKT) conditions of this convex problem
# (Boyd & Vandenberghe 2004, Sec. 5.5.3). Where the classes do not overlap
# ($p_{\text{mis}} = 0$) it copies the data; where $p_{\text{mis}} / p_{\text{data}}$
# exceeds $k_y / w$ it draws nothing.
#
# </details>

# %%
def optimal_generator(w, iterations=1000):
    """The toy's best p_g(x|y) against D*, by gradient descent on the JSD."""
    logits = np.log(data_pairs / p_y)  # start from a perfect copy of the data
    for _ in range(iterations):
        density = np.exp(logits - logits.max(1, keepdims=True))
        density /= density.sum(1, keepdims=True) * step  # each row integrates to 1
        n = negatives(density, w)
        slope = 0.5 * np.log(2 * n / (data_pairs + n))  # d JSD / d n, at each x
        logits -= 4 * (slope - (slope * density).sum(1, keepdims=True) * step)
    return density


best = optimal_generator(w)
readable = (grid < 0, grid > 0)  # the best (Bayes) classifier of the data: x < 0?
for name, model in [("real data  p(x|y) ", data_pairs / p_y),
                    (f"optimum at w = {w}", best)]:
    accuracy = np.mean([(model[y] * readable[y]).sum() * step for y in range(2)])
    print(f"{name}: JSD to D's negatives {jsd(data_pairs, negatives(model, w)):.4f}, "
          f"best classifier's accuracy {accuracy:.3f}")
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(grid, data_pairs[0] / p_y, label="data, class 0: $p(x \\mid 0)$")
ax.plot(grid, best[0], label=f"optimal generator, class 0, w = {w}")
ax.plot(grid, data_pairs[1] / p_y, ":", color="gray", label="data, class 1")
ax.set(xlabel="x (a 1-D image)", ylabel="density", xlim=(-5, 5),
       title="Wrong-label negatives push the optimum away from the overlap")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ### What the label channels do inside $D$
#
# $D$ receives the image plus ten constant 28×28 channels, channel $k$ all ones when
# $y = k$. A convolution is linear: its output is the image's part plus the label's part.
# For filter $f$, the label's part is the same number at every interior position (the sum
# of the filter's weights on channel $k$): **a per-class bias on each feature map**, as a
# one-hot input gives a `Dense` layer. At the border, where zero padding hides part of the
# kernel, it changes: a one-pixel class-dependent frame, as strong as the offset itself.
#
# So in the first layer the label is not a per-pixel template, only an offset per feature
# map (plus that frame); any class-specific comparison of strokes must be built by the
# LeakyReLU and later layers. Below: what the label adds to the output of a fresh
# convolution shaped like $D$'s first layer (not the trained one).

# %%
first_conv = layers.Conv2D(32, 4, strides=2, padding="same",  # like D's first layer
                           kernel_initializer=keras.initializers.GlorotUniform(seed=0))


def label_part(k):
    """What the label channels of class k add to the 14x14x32 first feature maps."""
    with_label = np.zeros((1, 28, 28, 1 + NUM_CLASSES), "float32")
    with_label[..., 1 + k] = 1.0  # channel 0 is the image: its part cancels below
    no_label = np.zeros_like(with_label)
    return ops.convert_to_numpy(first_conv(with_label) - first_conv(no_label))[0]


parts = {k: label_part(k) for k in (3, 7)}
kernel = ops.convert_to_numpy(first_conv.kernel)  # (4, 4, 11, 32)
for k, part in parts.items():
    assert np.allclose(part[1:-1, 1:-1], kernel[:, :, 1 + k].sum((0, 1)), atol=1e-5)
print("interior of every feature map = sum of the filter's weights on the label "
      "channel: checked for classes 3 and 7, all 32 filters")
fig = plt.figure(figsize=(9, 5), layout="constrained")
rows = fig.add_gridspec(2, 3, height_ratios=[1, 2.4])
top = fig.add_subplot(rows[0, :])
channels = np.concatenate([np.full((28, 28), float(k == 3))
                           for k in range(NUM_CLASSES)], 1)
top.imshow(channels, cmap="gray", vmin=0, vmax=1)
for edge in 28 * np.arange(1, 10):
    top.axvline(edge - 0.5, color="tab:gray", lw=1)
top.set(title="D's ten label channels for y = 3 (the image, channel 0, is not shown)",
        xticks=14 + 28 * np.arange(10), xticklabels=range(10), yticks=[],
        xlabel="label channel (class)")
shown = [(3, 0), (7, 0), (3, 1)]  # (class, feature map)
limit = max(np.abs(parts[k][..., f]).max() for k, f in shown)
for column, (k, f) in enumerate(shown):
    ax = fig.add_subplot(rows[1, column])
    image = ax.imshow(parts[k][..., f], cmap="coolwarm", vmin=-limit, vmax=limit)
    ax.set(title=f"y = {k}, feature map {f}", xlabel="column", ylabel="row")
fig.colorbar(image, ax=ax, label="added to the first layer's output")
fig.suptitle("A per-class constant on each 14×14 feature map, changed only at the "
             "border");

# %% [markdown]
# ## Data
#
# This time we keep the labels: `fit(x_train, y_train)` passes `(images, labels)` batches
# to `train_step`. Pixels go to $[-1, 1]$ for the generator's `tanh`.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_train = gen_lib.to_tanh_range(images)
y_train = labels.astype("int32")  # class ids 0-9; the model one-hot encodes them
print(run.describe(len(x_train)))
print(f"x_train: {x_train.shape} {x_train.dtype}, "
      f"range [{x_train.min()}, {x_train.max()}]")
print(f"y_train: {y_train.shape} {y_train.dtype}, "
      f"images per class: {np.bincount(y_train, minlength=NUM_CLASSES)}")
gen_lib.image_grid(gen_lib.tanh_to_unit(x_train[:32]), ncols=16,
                   title="real training images");

# %% [markdown]
# ## Networks
#
# The DCGAN of notebook 01, plus a one-hot label `condition` (length 10).
#
# - **Generator.** `concat([z, one_hot(y)])` feeds the first `Dense`, which adds a learned
#   7×7×64 offset per class to the projection of $z$.
# - **Discriminator.** The one-hot vector becomes ten constant 28×28 channels
#   (`Reshape` to 1×1×10, `UpSampling2D(28)`) next to the image, as in the keras.io
#   *Conditional GAN* example (Paul 2021).
#
# `read_condition=False` builds the original post's discriminator: it takes the label and
# ignores it.

# %% tags=["model"]
def make_generator(latent_dim, num_classes):
    noise = keras.Input((latent_dim,), name="noise")
    condition = keras.Input((num_classes,), name="condition")  # one-hot (or a mix)
    h = layers.Concatenate()([noise, condition])
    h = layers.Dense(7 * 7 * 64, use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((7, 7, 64))(h)
    h = layers.Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same",  # 28x28
                                   activation="tanh")(h)
    return keras.Model([noise, condition], image, name="generator")


def make_discriminator(num_classes, read_condition=True):
    image = keras.Input((28, 28, 1), name="image")
    condition = keras.Input((num_classes,), name="condition")
    label_maps = layers.UpSampling2D(28)(layers.Reshape((1, 1, num_classes))(condition))
    h = layers.Concatenate()([image, label_maps]) if read_condition else image
    h = layers.Conv2D(32, 4, strides=2, padding="same")(h)  # 14x14
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Conv2D(64, 4, strides=2, padding="same")(h)  # 7x7
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    logit = layers.Dense(1)(layers.Flatten()(h))  # no sigmoid: a logit
    name = "discriminator" if read_condition else "label_blind_discriminator"
    return keras.Model([image, condition], logit, name=name)

# %% [markdown]
# Check the shapes, and that **the label reaches the output**: changing only the label must
# change the output, which the original post's networks fail.

# %%
def one_hot(class_ids):
    return np.eye(NUM_CLASSES, dtype="float32")[np.asarray(class_ids)]


def condition_effect(network, first_input):
    """Largest change of the output when only the label changes (class 0 -> class 1)."""
    n = len(first_input)
    as_zero = ops.convert_to_numpy(network([first_input, one_hot(np.zeros(n, int))]))
    as_one = ops.convert_to_numpy(network([first_input, one_hot(np.ones(n, int))]))
    return float(np.abs(as_zero - as_one).max())


generator = make_generator(LATENT_DIM, NUM_CLASSES)
discriminator = make_discriminator(NUM_CLASSES)
print(f"parameters: generator {generator.count_params():,}, "
      f"discriminator {discriminator.count_params():,}")
probe_noise = np.random.default_rng(0).normal(size=(16, LATENT_DIM)).astype("float32")
probe_images = ops.convert_to_numpy(
    generator([probe_noise, one_hot(np.arange(16) % 10)]))
probe_logits = ops.convert_to_numpy(
    discriminator([x_train[:16], one_hot(y_train[:16])]))
assert probe_images.shape == (16, 28, 28, 1) and abs(probe_images).max() <= 1
assert probe_logits.shape == (16, 1)
print(f"G(z, y): {probe_images.shape} in [-1, 1]; D(x, y): {probe_logits.shape} logits")
blind = make_discriminator(NUM_CLASSES, read_condition=False)
for name, network, first_input in [("generator", generator, probe_noise),
                                   ("discriminator", discriminator, x_train[:16]),
                                   ("label-blind discriminator", blind, x_train[:16])]:
    print(f"{name:>26}: output change when only y changes = "
          f"{condition_effect(network, first_input):.2e}")
assert condition_effect(generator, probe_noise) > 0
assert condition_effect(discriminator, x_train[:16]) > 0
assert condition_effect(blind, x_train[:16]) == 0

# %% [markdown]
# ## The train_step
#
# First `check_arguments`: the constructor refuses networks without a label input. Then
# the model; `@gen_lib.model_plumbing` writes its compile, saving and metric code (see
# *Under the hood*). `unpack_x_y_sample_weight` takes each batch's images and labels;
# `ops.one_hot` turns labels into conditions.
#
# 1. **Discriminator step.** `fake_inputs` draws fresh noise from the model's
#    `SeedGenerator` (never NumPy in a step: it would run once, at tracing) and takes the
#    batch's labels as $y'$. Wrong labels $\hat y$: the true ones shifted by a random 1 to
#    9, modulo 10, so never right and uniform over the others. The loss scores $(x, y)$ as 1, and
#    $(G(z, y'), y')$ and $(x, \hat y)$ as 0, with weights $1 - w$ and $w$;
#    `gen_lib.minimize` updates only $D$.
# 2. **Generator step.** Fresh $(z, y')$; the fake pair should score 1. The gradient flows
#    through $D$, but only $G$ changes. $D$ goes first, as in Goodfellow et al. (2014,
#    Alg. 1), so that $G$'s step answers the $D$ just updated.
# 3. `update_trackers` keeps running means of the losses and of $D$'s output on each kind
#    of pair (in `D(G(z|y)|y)`, $y$ stands for $y'$).

# %% tags=["model"]
def check_arguments(model):
    """Refuse networks without a condition input, or a mismatch weight out of [0, 1)."""
    classes = (model.num_classes,)
    check_inputs(model.generator, [(model.latent_dim,), classes], "generator")
    check_inputs(model.discriminator, [None, classes], "discriminator")
    if not 0 <= model.mismatch_weight < 1:
        raise ValueError(
            f"mismatch_weight must be in [0, 1), got {model.mismatch_weight}: it is "
            "the share of wrong-label real pairs among D's negatives (0.5 in Reed et "
            "al. 2016; 0 for the plain CGAN loss). At 1, D would never see a fake.")


def check_inputs(network, shapes, role):
    """Raise a ValueError unless `network` takes inputs of these shapes (None: any)."""
    got = [tuple(x.shape[1:]) for x in getattr(network, "inputs", None) or []]
    if len(got) != len(shapes) or any(want is not None and have != want
                                      for have, want in zip(got, shapes, strict=False)):
        expected = ", ".join("any" if s is None else str(s) for s in shapes)
        raise ValueError(
            f"The {role} must be a functional model with inputs of shapes [{expected}] "
            f"(batch axis left out): (input, condition). Got {got}. A {role} without a "
            "condition input cannot be conditional; check latent_dim and num_classes.")


# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
@gen_lib.model_plumbing(
    networks=["generator", "discriminator"],
    optimizers={"d_optimizer": "discriminator", "g_optimizer": "generator"},
    config=["latent_dim", "num_classes", "mismatch_weight", "seed"],
    metrics=["d_loss", "g_loss", "D(x|y)", "D(G(z|y)|y)", "D(x|wrong y)"])
class CGAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, num_classes,
                 mismatch_weight=0.5, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.num_classes, self.seed = latent_dim, num_classes, seed
        self.mismatch_weight = mismatch_weight
        check_arguments(self)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    def fake_inputs(self, labels):  # fresh noise z; y' = the batch's labels: y' ~ p(y)
        noise = keras.random.normal((ops.shape(labels)[0], self.latent_dim),
                                    seed=self.seed_generator)
        return noise, ops.one_hot(labels, self.num_classes)

    def wrong_conditions(self, labels):  # one-hot labels of another class, uniform
        shift = keras.random.randint(ops.shape(labels), 1, self.num_classes,
                                     seed=self.seed_generator)
        wrong = (ops.cast(labels, "int32") + shift) % self.num_classes
        return ops.one_hot(wrong, self.num_classes)

    @gen_lib.train_step
    def train_step(self, data):
        real_images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        real_conditions, w = ops.one_hot(labels, self.num_classes), self.mismatch_weight
        # 1. Discriminator: (x, y) -> 1; (G(z, y'), y') -> 0; (x, wrong y) -> 0.
        noise, fake_conditions = self.fake_inputs(labels)
        wrong_conditions = self.wrong_conditions(labels)
        def discriminator_loss():
            fake_images = self.generator([noise, fake_conditions], training=True)
            real = self.discriminator([real_images, real_conditions], training=True)
            fake = self.discriminator([fake_images, fake_conditions], training=True)
            wrong = self.discriminator([real_images, wrong_conditions], training=True)
            loss = (self.bce(ops.ones_like(real), real)
                    + (1 - w) * self.bce(ops.zeros_like(fake), fake)
                    + w * self.bce(ops.zeros_like(wrong), wrong))
            return loss, (real, fake, wrong)
        d_loss, (real, fake, wrong) = gen_lib.minimize(
            discriminator_loss, self.discriminator.trainable_variables,
            self.d_optimizer)

        # 2. Generator: fresh (z, y'); non-saturating loss -log D(G(z|y') | y').
        noise, fake_conditions = self.fake_inputs(labels)
        def generator_loss():
            fake_images = self.generator([noise, fake_conditions], training=True)
            logits = self.discriminator([fake_images, fake_conditions], training=True)
            return self.bce(ops.ones_like(logits), logits)
        g_loss = gen_lib.minimize(generator_loss, self.generator.trainable_variables,
                                  self.g_optimizer)
        return self.update_trackers({  # 3. running means, for the history and the grid
            "d_loss": d_loss, "g_loss": g_loss, "D(x|y)": ops.mean(ops.sigmoid(real)),
            "D(G(z|y)|y)": ops.mean(ops.sigmoid(fake)),
            "D(x|wrong y)": ops.mean(ops.sigmoid(wrong))})


# %% [markdown] tags=["minimize-by-backend"]
# **The gradient step, written out.** In the discriminator step, `loss_fn` is
# `discriminator_loss` (it also returns the three logits, to log), `variables` are
# `self.discriminator.trainable_variables` and `optimizer` is `self.d_optimizer`; in the
# generator step, `generator_loss`, `self.generator.trainable_variables` and
# `self.g_optimizer`. So $G$'s loss is computed through $D$, but only $G$'s weights move.

# %% [markdown]
# ## Training
#
# Our judge is a small digit classifier trained once and shipped with gen_lib, so it is
# the same on every backend and machine. It reports its accuracy on real digits it never
# saw in training. The **Fréchet distance** (FD; Heusel et al. 2017) fits a Gaussian to
# each of two feature sets, here the classifier's last hidden layer (128 numbers per
# image), with means $\mu_i$ and covariances $\Sigma_i$:
#
# $$\mathrm{FD} = \lVert \mu_1 - \mu_2 \rVert^2 +
#   \mathrm{Tr}\big(\Sigma_1 + \Sigma_2 - 2\,(\Sigma_1 \Sigma_2)^{1/2}\big).$$
#
# Samples are compared with `FD_SAMPLES` real images; the **floor** is the FD between two
# disjoint sets of that many real images.

# %%
scorer = gen_lib.QualityScorer(gen_lib.tanh_to_unit(x_train), labels,
                               fd_samples=run.fd_samples, dataset=DATASET)
eval_noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM))
eval_noise = eval_noise.astype("float32")
eval_labels = np.arange(scorer.fd_samples) % NUM_CLASSES


def sample_images(generator, noise, conditions):
    """Images in [0, 1] from noise and conditions: class ids, or (n, 10) weights."""
    conditions = np.asarray(conditions)
    if conditions.ndim == 1:
        conditions = one_hot(conditions)
    conditions = conditions.astype("float32")
    images = [ops.convert_to_numpy(generator([noise[i:i + 500], conditions[i:i + 500]]))
              for i in range(0, len(noise), 500)]  # plain calls: inference mode
    return gen_lib.tanh_to_unit(np.concatenate(images))


untrained = sample_images(generator, eval_noise, eval_labels)
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"untrained generator: class accuracy "
      f"{scorer.accuracy(untrained, eval_labels):.3f}, FD {scorer.fd(untrained):.2f} "
      f"(floor {scorer.floor:.2f})")

# %% [markdown]
# A callback adds the class accuracy of 1,000 samples to each epoch's logs. The live
# **class-by-noise grid**: row $k$ asks for class $k$; each column keeps one noise vector.

# %% tags=["gallery"]
class ClassAccuracy(keras.callbacks.Callback):
    """After every epoch: the share of samples read as the requested class."""

    def __init__(self, noise, class_ids):
        super().__init__()
        self.noise, self.class_ids, self.accuracies = noise, class_ids, []

    def on_epoch_end(self, epoch, logs=None):
        images = sample_images(self.model.generator, self.noise, self.class_ids)
        self.accuracies.append(scorer.accuracy(images, self.class_ids))
        logs["class accuracy"] = self.accuracies[-1]  # into the history, the grid title


cgan = CGAN(generator, discriminator, LATENT_DIM, NUM_CLASSES,
            mismatch_weight=MISMATCH_WEIGHT, seed=run.seed)
cgan.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
             g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))
grid_noise = np.random.default_rng(2).normal(size=(10, LATENT_DIM)).astype("float32")
grid_inputs = (np.tile(grid_noise, (NUM_CLASSES, 1)),  # column j: noise j
               np.repeat(np.arange(NUM_CLASSES), 10))  # row k: class k
sample_grid = gen_lib.SampleGrid(lambda inputs: sample_images(generator, *inputs),
                                 grid_inputs, ncols=10,
                                 log_keys=("d_loss", "g_loss", "class accuracy"))
class_accuracy = ClassAccuracy(eval_noise[:1000], eval_labels[:1000])

start = time.perf_counter()
history = cgan.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=run.epochs,
                   shuffle=True, verbose=0,
                   callbacks=[class_accuracy, sample_grid, gen_lib.StopOnNaN()])
train_minutes = (time.perf_counter() - start) / 60
steps_per_epoch = int(cgan.g_optimizer.iterations) // run.epochs
print(f"trained {int(cgan.g_optimizer.iterations)} steps ({run.epochs} epochs of "
      f"{len(x_train)} images, batch {BATCH_SIZE}) on {keras.backend.backend()} "
      f"in {train_minutes:.1f} min")

# %% [markdown]
# In the grid the label should decide *which* digit, and the noise *how* it is written
# (thickness, slant, width): look down a column for one style, along a row for variety.
# Below, the same inputs across training: column $k$ asks for class $k$ with a fixed
# noise vector.

# %%
diagonal = np.arange(NUM_CLASSES) * 10 + np.arange(NUM_CLASSES)  # class k with noise k
rows = np.unique(np.linspace(0, len(sample_grid.images) - 1, 8).round().astype(int))
gen_lib.image_grid(np.concatenate([sample_grid.images[r][diagonal] for r in rows]),
                   ncols=NUM_CLASSES, scale=1.1,
                   row_labels=[f"epoch {sample_grid.epochs[r]}" for r in rows],
                   title="samples across training (column k asks for class k)");

# %% [markdown]
# ## Results
#
# ### Curves
#
# If $D$ said 1/2 to every pair, `d_loss` would be $2 \log 2 \approx 1.386$ and `g_loss`
# $\log 2 \approx 0.693$; `g_loss` below 0.693 means $D$ rates fakes above 1/2 on
# average. $D(x \mid \text{wrong } y)$ below $D(x \mid y)$ means that $D$ reads the
# label. At $D^*$ the Theory expects the fakes, `D(G(z|y)|y)`, rated above the real pairs
# ($G$ draws typical digits; real pairs include ambiguous ones). The cell prints where the
# curves end; a trained $D$ is not $D^*$, so agreement is a hint, not a test.

# %%
curves = gen_lib.plot_history(history, keys=["d_loss", "g_loss"],
                              title="losses (mean per epoch)")
curves.axes[0].set_ylabel("binary cross-entropy (nats)")
curves = gen_lib.plot_history(history, keys=["D(x|y)", "D(G(z|y)|y)", "D(x|wrong y)"],
                              title="D's mean output on the three kinds of pairs")
curves.axes[0].set_ylabel("mean probability 'real'")
print(f"last epoch ({len(history.epoch)}): " + ", ".join(
    f"{key} {values[-1]:.3f}" for key, values in history.history.items()))
fig, ax = plt.subplots(figsize=(6, 3.5))
epochs = np.arange(1, len(class_accuracy.accuracies) + 1)
ax.plot(epochs, class_accuracy.accuracies, marker="o", label="samples (1,000)")
ax.axhline(scorer.real_accuracy, color="tab:green", ls="--",
           label="real held-out digits")
ax.axhline(1 / NUM_CLASSES, color="gray", ls=":", label="chance")
ax.set(xlabel="epoch", ylabel="share read as the requested class", ylim=(0, 1.02),
       title="class accuracy over training")
ax.legend(loc="lower right")
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ### Between two classes
#
# We can feed mixtures $c_t = (1 - t)\,e_a + t\,e_b$, $e_k$ the one-hot vector of class
# $k$: unseen in training, but between two training conditions (interpolation, not
# extrapolation). The first `Dense` layer is linear in $c$, so its output moves along a
# straight line (checked below). The later layers are not: the classifier's reading
# switches abruptly from $a$ to $b$, and a row may pass through a third class (a 3 between
# 2 and 5, say).

# %%
pairs, ts = [(1, 7), (3, 8), (4, 9), (0, 6), (2, 5)], np.linspace(0, 1, 10)
mix_noise = np.repeat(np.random.default_rng(4).normal(size=(5, LATENT_DIM)), 10, 0)
mixes = np.concatenate([(1 - ts)[:, None] * one_hot([a]) + ts[:, None] * one_hot([b])
                        for a, b in pairs]).astype("float32")
mixed = sample_images(generator, mix_noise.astype("float32"), mixes)
gen_lib.image_grid(mixed, ncols=10, row_labels=[f"{a}→{b}" for a, b in pairs],
                   title="t = 0 ... 1 from class a to class b, same noise per row");
readings = scorer.predict_labels(mixed).reshape(len(pairs), len(ts))
for (a, b), row in zip(pairs, readings, strict=True):
    print(f"{a}→{b}: classifier reads {' '.join(map(str, row))}")
dense = next(layer for layer in generator.layers if isinstance(layer, layers.Dense))
first = ops.convert_to_numpy(keras.Model(generator.inputs, dense.output)(
    [mix_noise[:10].astype("float32"), mixes[:10]]))
straight = (1 - ts)[:, None] * first[0] + ts[:, None] * first[-1]
print(f"first Dense output vs the straight line between its ends: largest gap "
      f"{np.abs(first - straight).max():.1e}")

# %% [markdown]
# ### The quality numbers
#
# **Class accuracy**: the share of samples read as the requested class. **FD** (defined
# under Training) next to its floor; the ratio: how many times farther the samples are
# than a second set of real digits. These FDs use the digit classifier's features, not
# Inception's: not comparable with published FIDs.

# %%
samples = sample_images(generator, eval_noise, eval_labels)
predicted = scorer.predict_labels(samples)
print("class  accuracy  most often misread as")
for k in range(NUM_CLASSES):
    asked = eval_labels == k
    wrong = predicted[asked & (predicted != k)]
    misread = np.bincount(wrong, minlength=NUM_CLASSES).argmax() if len(wrong) else "-"
    print(f"{k:>5}  {(predicted[asked] == k).mean():8.3f}  {misread}")
accuracy, fd = float((predicted == eval_labels).mean()), scorer.fd(samples)
print(f"class accuracy of {len(samples)} samples: {accuracy:.3f}; classifier on real "
      f"held-out digits: {scorer.real_accuracy:.3f}")
print(f"FD: {fd:.2f}; floor (real vs real): {scorer.floor:.2f}; "
      f"ratio {fd / scorer.floor:.1f}x")
print("The samples are read", "more" if accuracy > scorer.real_accuracy else "less",
      "easily than real digits.")
print(f"Result: class accuracy {accuracy:.3f}; FD {fd:.2f}, "
      f"{fd / scorer.floor:.1f} times its floor")

# %% [markdown]
# **What to look at.** A class accuracy near the classifier's accuracy on real digits
# means that the label is obeyed. A higher one means samples easier to read than real
# digits: what the Theory predicts for $w > 0$, but this run alone does not show the
# cause (plain GANs also lose diversity, notebook 01); the control, a $w = 0$ run as long
# as this one, would double the training time. The FD mixes quality and diversity.

# %% [markdown]
# ### One change at a time
#
# Our model differs from the original post's in two ways: $D$ reads the label, and it
# sees wrong-label pairs. To see what each buys, the cell below trains three fresh models
# for `COMPARE_EPOCHS` epochs over the same `COMPARE_IMAGES` images (395 steps), from the
# same seed, on the same batches in the same order; each differs from the one before in
# one thing. First the post's label-blind $D$ (with $w = 0$: for a $D$ that cannot see
# the label, a wrong-label pair is just a real pair); then a label-reading $D$ at
# $w = 0$, Eq. 2; then $w = 0.5$, our model. At $w = 0$ the wrong-label pairs are scored,
# for the printout, but not trained on.

# %%
def short_run(make_d, w, epochs=run.size(COMPARE_EPOCHS, smoke=1)):
    """A fresh CGAN: the same seed, initial generator and batches for every call."""
    keras.utils.set_random_seed(run.seed)
    model = CGAN(make_generator(LATENT_DIM, NUM_CLASSES), make_d(), LATENT_DIM,
                 NUM_CLASSES, mismatch_weight=w, seed=run.seed)
    model.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
                  g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))
    accuracy = ClassAccuracy(eval_noise[:1000], eval_labels[:1000])
    logs = model.fit(x_compare, y_compare, batch_size=BATCH_SIZE, epochs=epochs,
                     shuffle=False, callbacks=[accuracy], verbose=0).history
    return model, accuracy.accuracies, logs


order = np.random.default_rng(run.seed).permutation(len(x_train))
x_compare = x_train[order[:run.size(COMPARE_IMAGES, smoke=256)]]  # shuffled once
y_compare = y_train[order[:len(x_compare)]]
def label_reading():
    return make_discriminator(NUM_CLASSES)


def label_blind():
    return make_discriminator(NUM_CLASSES, read_condition=False)


arms = {"label-blind D": (label_blind, 0.0),
        "label-reading D, w = 0": (label_reading, 0.0),
        f"label-reading D, w = {MISMATCH_WEIGHT}": (label_reading, MISMATCH_WEIGHT)}
start = time.perf_counter()
compared = {name: short_run(make_d, w) for name, (make_d, w) in arms.items()}
compare_steps = int(compared["label-blind D"][0].g_optimizer.iterations)
print(f"each arm: {compare_steps} steps on {len(x_compare)} images, seed {run.seed}; "
      f"all three in {(time.perf_counter() - start) / 60:.1f} min")
print(f"{'':>26}class accuracy after each epoch | last epoch: D(x|y), D(x|wrong y)")
for name, (model, accuracies, logs) in compared.items():
    print(f"{name:>24}: " + " ".join(f"{a:.3f}" for a in accuracies)
          + f" | {logs['D(x|y)'][-1]:.2f}, {logs['D(x|wrong y)'][-1]:.2f}")
diagonal_inputs = (grid_inputs[0][diagonal], grid_inputs[1][diagonal])
gen_lib.image_grid(np.concatenate([sample_images(model.generator, *diagonal_inputs)
                                   for model, _, _ in compared.values()]),
                   ncols=NUM_CLASSES, scale=1.1,
                   row_labels=["blind", "w = 0", f"w = {MISMATCH_WEIGHT}"],
                   title=f"after {compare_steps} steps: column k asks for class k");

# %% [markdown]
# COMPARISON-DISCUSSION

# %% [markdown]
# ## Common mistakes: spot the bug
#
# The original post's code is TensorFlow 1; the first two mistakes are quoted from it.
#
# **1.** The discriminator:
#
# ```python
# def discriminator(x, c, reuse=None):
#     hidden1 = tf.layers.dense(x, 128, activation=tf.nn.leaky_reLU, reuse=reuse)
# ```
#
# Does the generator learn to draw the digit it is asked for?
#
# <details><summary>Answer</summary>
#
# No. `c` is an argument but never read, so $D$ compares only the pooled distributions
# (the first Theory check). Any generator whose digits look right *on the whole* wins,
# whatever the label asked for: $D$'s verdict does not depend on $y$, so $G$ is never
# rewarded for obeying it. Fix: $D$ judges pairs, here by concatenating ten label channels
# to the image. The Results' comparison trained exactly this discriminator (its first
# row).
#
# </details>

# %% [markdown]
# **2.** The generator:
#
# ```python
# def generator(z, c, reuse=None):
#     hidden1 = tf.layers.dense(z, 128, activation=tf.nn.leaky_reLU)
# ```
#
# With a label-reading discriminator, what class accuracy will the samples have?
#
# <details><summary>Answer</summary>
#
# About 1/10, by construction: the output does not depend on `c`, so a requested 7 is a 7
# only as often as the generator draws 7s at all. A label-reading $D$ can reject a fake
# whose digit does not match its label, but $G$ cannot respond. Fix: `concat([z, one_hot(y)])` as $G$'s input, and the
# `condition_effect` check of the Networks section.
#
# </details>
#
# **3.** The post feeds raw class ids as `c`. A generator that used them would read:
#
# ```python
# hidden1 = tf.layers.dense(tf.concat([z, c], axis=1), 128)  # c: class ids 0-9
# ```
#
# What does the first layer add for class 9, compared with class 1?
#
# <details><summary>Answer</summary>
#
# Nine times as much, along the same direction: a `Dense` layer multiplies its input by a
# weight, so an integer label becomes a magnitude. That imposes an order and a scale: 4 is
# forced halfway between 3 and 5, and class 0 adds nothing. With one-hot vectors (or
# `layers.Embedding`) each class gets its own learned offset.
#
# </details>
#
# **4.** Both updates run one `train_op` with no variable list. In Keras 3:
#
# ```python
# g_loss = gen_lib.minimize(generator_loss, self.trainable_variables, self.g_optimizer)
# ```
#
# What happens to $D$ during the generator step?
#
# <details><summary>Answer</summary>
#
# Here Keras 3 stops you: `compile` built `g_optimizer` for $G$'s variables only, so
# `apply` raises `ValueError: Unknown variable`. The silent version is the post's TF1 one:
# `minimize(loss)` without `var_list` updates every trainable variable, so $D$ is trained
# on $G$'s loss too, to call the fakes real, and each generator step undoes part of the
# discriminator step. A Keras 3 optimizer not built beforehand does the same: it builds
# itself on the variables it first receives. Fix: `self.generator.trainable_variables`.
#
# </details>
#
# The post's other mistakes:
#
# | mistake | effect | fix |
# |---|---|---|
# | one `c` for real and fake pairs | fakes may carry labels $G$ was not given | the same $y'$ into $G$ and $D$'s fake pair |
# | `tf.layers.dense` created at each call | $D$(real), $D$(fake): two networks | build each network once |
# | tuple `(output, logits)` passed as `logits` | shape error | `_, logits = D(...)` |
# | an extra "conditional" generator and discriminator | four networks, not two | $G$ and $D$, each given $y$ |
# | $G$'s loss "MSE or cross-entropy", "minimises $D$'s loss" | wrong loss, wrong sign | $L_G$, $L_D$ above |
# | no objective, no citation | nothing to check | Eq. 2 of Mirza & Osindero (2014) |
# | `tf.nn.leaky_reLU` | `AttributeError` | `layers.LeakyReLU(negative_slope=0.2)` |
# | `train_op` never defined | `NameError` | one optimizer per network |
# | `train(..., x, c, z)` for `(z, c, x)`; two values unpacked into three | `ValueError` | a Keras `train_step` |

# %% [markdown]
# ## Exercises
#
# 1. **How long does Eq. 2 take?** *Goal:* find out whether the wrong-label pairs are
#    needed or only speed things up. *Hint:* continue training the comparison's $w = 0$
#    model (`compared["label-reading D, w = 0"][0]`) for `COMPARE_EPOCHS` more epochs on
#    the same batches; with `shuffle=False` that is exactly a run twice as long. *What to
#    expect:* EX1-EXPECT
#
#    <details><summary>Solution</summary>
#
#    ```python
#    t0 = time.perf_counter()
#    model, accuracies, _ = compared["label-reading D, w = 0"]  # trained on, in place
#    more = ClassAccuracy(eval_noise[:1000], eval_labels[:1000])
#    model.fit(x_compare, y_compare, batch_size=BATCH_SIZE, shuffle=False, verbose=0,
#              epochs=run.size(COMPARE_EPOCHS, smoke=1), callbacks=[more])
#    steps = int(model.g_optimizer.iterations)
#    print(f"w = 0: class accuracy after each epoch "
#          f"{' '.join(f'{a:.3f}' for a in accuracies + more.accuracies)} ({steps} steps)")
#    reference = compared[f"label-reading D, w = {MISMATCH_WEIGHT}"][1][-1]
#    print(f"w = {MISMATCH_WEIGHT}: {reference:.3f} after {compare_steps} steps; "
#          f"in {time.perf_counter() - t0:.0f} s")
#    ```
#
#    EX1-WHY
#
#    </details>
#
# 2. **A per-class bias instead of label channels.** *Goal:* test the claim that label
#    channels act as a per-class bias on $D$'s first features. *Hint:* give the first
#    `Conv2D` only the image; add `Dense(32, use_bias=False)(condition)`, reshaped to
#    1×1×32, to its output; train it with `short_run`, so that only $D$'s label pathway
#    differs from the comparison's $w = 0.5$ arm. *What to expect:* EX2-EXPECT
#
#    <details><summary>Solution</summary>
#
#    ```python
#    def make_bias_discriminator(num_classes=NUM_CLASSES):
#        image = keras.Input((28, 28, 1), name="image")
#        condition = keras.Input((num_classes,), name="condition")
#        h = layers.Conv2D(32, 4, strides=2, padding="same")(image)
#        class_bias = layers.Dense(32, use_bias=False)(condition)  # one offset per map
#        class_bias = layers.Reshape((1, 1, 32))(class_bias)
#        h = layers.LeakyReLU(negative_slope=0.2)(layers.Add()([h, class_bias]))
#        h = layers.Conv2D(64, 4, strides=2, padding="same")(h)
#        h = layers.LeakyReLU(negative_slope=0.2)(h)
#        return keras.Model([image, condition], layers.Dense(1)(layers.Flatten()(h)))
#
#
#    t0 = time.perf_counter()
#    _, accuracies, logs = short_run(make_bias_discriminator, MISMATCH_WEIGHT)
#    channels = compared[f"label-reading D, w = {MISMATCH_WEIGHT}"][1]
#    print(f"class accuracy after each epoch: per-class bias "
#          f"{' '.join(f'{a:.3f}' for a in accuracies)}; label channels "
#          f"{' '.join(f'{a:.3f}' for a in channels)}; in {time.perf_counter() - t0:.0f} s")
#    ```
#
#    EX2-WHY
#
#    </details>
#
# 3. **The price of label checking.** *Goal:* see how the toy optimum depends on $w$.
#    *Hint:* for $w$ from 0 to 0.9, plot the best classifier's accuracy (`readable`,
#    threshold 0) on `optimal_generator(w)`, and its JSD to the data on a second axis
#    (`ax.twinx()`). *What to expect:* accuracy 0.841 (the data's) at $w = 0$, 0.993 at
#    0.5, 1.000 from 0.6 on; the JSD grows from 0 to 0.174 nats at 0.9 (seconds).
#
#    <details><summary>Solution</summary>
#
#    ```python
#    t0 = time.perf_counter()
#    weights = np.linspace(0, 0.9, 10)
#    accuracies, divergences = [], []
#    for weight in weights:
#        optimum = optimal_generator(weight)
#        accuracies.append(np.mean([(optimum[y] * readable[y]).sum() * step
#                                   for y in range(2)]))
#        divergences.append(jsd(optimum[0], data_pairs[0] / p_y))
#    print("w:       ", " ".join(f"{weight:5.1f}" for weight in weights))
#    print("accuracy:", " ".join(f"{a:5.3f}" for a in accuracies))
#    print("JSD:     ", " ".join(f"{d:5.3f}" for d in divergences),
#          f"(nats; in {time.perf_counter() - t0:.0f} s)")
#    fig, ax = plt.subplots(figsize=(6, 3.5))
#    ax.plot(weights, accuracies, marker="o", label="best classifier's accuracy")
#    ax.set(xlabel="mismatch weight w", ylabel="accuracy on the optimum's samples",
#           title="Label checking costs diversity")
#    right = ax.twinx()  # its own scale: the JSD is much smaller than the accuracy
#    right.plot(weights, divergences, marker="s", color="tab:orange",
#               label="JSD(optimum, data), class 0")
#    right.set_ylabel("JSD (nats)")
#    ax.legend(handles=ax.lines + right.lines, loc="center right")
#    fig.tight_layout()
#    ```
#
#    Why: a larger $w$ gives the wrong-label pairs more weight among the negatives, so
#    more of the overlap, where a mismatched pair is likelier than a real one, is worth
#    giving up. Once the optimum draws nothing on the wrong side of the threshold (from
#    $w = 0.6$ here), accuracy cannot rise further, yet the JSD keeps growing: the optimum
#    moves further from the data. Readability is bought with diversity.
#
#    </details>

# %% [markdown]
# ## Under the hood
#
# What one `gen_lib.minimize` call does is written out after the `train_step`; here is
# what remains: JAX's state threading, the plumbing, and saving.
#
# **`@gen_lib.train_step`**: Keras' JAX trainer calls `train_step(state, data)` and expects
# `(logs, new_state)`, a pure function of the model's state. The decorator runs our code
# in a `keras.StatelessScope` mapping each variable to its value in `state` (the weights,
# the optimizers' moments, the noise generator's position), then reads the new values
# back. On TensorFlow and PyTorch it changes nothing.
#
# **`@gen_lib.model_plumbing`** writes `compile(d_optimizer=..., g_optimizer=...)` (each
# optimizer built for its network; the model owns its state), `get_config`,
# `from_config`, `get_compile_config`, `compile_from_config`, the `metrics` property (a
# `Mean` tracker per name), `update_trackers`, and `built = True`.
#
# **Saving.** The generator, a plain functional model, saves to a `.keras` file and loads
# with `safe_mode=True`.

# %%
artifacts = Path("artifacts")
artifacts.mkdir(exist_ok=True)
path = artifacts / "02_cgan_generator.keras"
generator.save(path)
reloaded = keras.saving.load_model(path, safe_mode=True)
reload_inputs = [eval_noise[:64], one_hot(eval_labels[:64])]
difference = np.abs(ops.convert_to_numpy(reloaded(reload_inputs))
                    - ops.convert_to_numpy(generator(reload_inputs))).max()
assert difference < 1e-5, difference
print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); largest difference after "
      f"reload: {difference:.1e}")

# %% [markdown]
# **Resuming.** The whole `CGAN` file restores both networks, both optimizers' state and
# the noise generator's state; not `fit`'s shuffling order, so a resumed run draws other
# batches.

# %%
path = artifacts / "02_cgan.keras"
cgan.save(path)
resumed = keras.saving.load_model(path, safe_mode=True)
steps = [int(ops.convert_to_numpy(m.g_optimizer.iterations)) for m in (resumed, cgan)]
assert steps[0] == steps[1], steps
noise_states = [ops.convert_to_numpy(m.seed_generator.state) for m in (resumed, cgan)]
assert np.array_equal(*noise_states), noise_states
difference = np.abs(ops.convert_to_numpy(resumed.generator(reload_inputs))
                    - ops.convert_to_numpy(generator(reload_inputs))).max()
assert difference < 1e-5, difference
print(f"saved {path}: {steps[0]} generator steps restored, largest difference "
      f"{difference:.1e}")

# %% [markdown]
# ## References
#
# - Mirza, M., Osindero, S. (2014). *Conditional Generative Adversarial Nets.*
#   arXiv:1411.1784. Eq. 2.
# - Goodfellow, I. et al. (2014). *Generative Adversarial Nets.* NIPS 2014.
#   arXiv:1406.2661. Thm. 1.
# - Radford, A., Metz, L., Chintala, S. (2015). *Unsupervised Representation Learning with
#   Deep Convolutional Generative Adversarial Networks.* ICLR 2016. arXiv:1511.06434.
# - Reed, S. et al. (2016). *Generative Adversarial Text to Image Synthesis.* ICML 2016.
#   arXiv:1605.05396. Sec. 4.2.
# - Boyd, S., Vandenberghe, L. (2004). *Convex Optimization.* Cambridge University Press.
#   Sec. 5.5.3 (KKT conditions).
# - Heusel, M. et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a
#   Local Nash Equilibrium.* NeurIPS 2017. arXiv:1706.08500.
# - Paul, S. (2021). *Conditional GAN.* keras.io example.
#   https://keras.io/examples/generative/conditional_gan/
# - *生成对抗网络与生成模型的数学基础:如何理解WGAN和CGAN* ("Mathematical foundations of GANs:
#   understanding WGAN and CGAN"). Chinese blog post; no author or date shown; a
#   15-minute read.
