# %% [markdown]
# # 01 · GAN: a DCGAN on MNIST
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPOSITORY_PATH/blob/main/notebooks/01_gan.ipynb)
#
# **What you will learn**
#
# - the GAN game: who maximises what, and the best discriminator, derived;
# - why the generator minimises $-\log D(G(z))$, read off the gradient it receives;
# - one `train_step` with two alternating updates, $D$ first, on TensorFlow, JAX and
#   PyTorch, with the gradient step written out for each;
# - how to score samples: a Fréchet distance next to its floor, and what the class mix
#   of the samples costs.
#
# **Prerequisites:** Python, NumPy, a little Keras (`layers`, `fit`), gradient descent.
#
# **Time:** 24 minutes for the stored run, measured on a 2-core CPU, TensorFlow, while
# other jobs shared it.
#
# This notebook corrects the GAN code of a Chinese blog post, *机器学习与图像生成:从GAN到VQVAE*
# ("Machine learning and image generation: from GAN to VQ-VAE"): the
# losses have the wrong signs, the sigmoid is applied twice, and much of the code does
# not run. Two "spot the bug" snippets and part of the table of mistakes come from a
# second Chinese post, a comparison of GANs and VAEs, and two more posts; each says so.

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
# The generator $G$ turns noise into images. The discriminator $D$ scores images, real or
# fake, with a logit. Two losses, two updates: $L_D$ trains $D$ to tell real from fake;
# $L_G$ trains $G$ to make $D$ say "real". The gradient of $L_G$ flows *through* $D$, but
# only $G$'s weights change in that step. $G$ never sees a real image.

# %%
import gen_lib

gen_lib.diagram(
    boxes={
        "z": (0, 0, "noise $z$"),
        "G": (2.2, 0, "generator $G$", "#c6dbef"),
        "x": (2.2, 2, "real images $x$"),
        "D": (4.6, 1, "discriminator $D$", "#fdd0a2"),
        "l": (6.8, 1, "logits $\\ell$"),
        "LD": (9.2, 2, "$L_D$: real $\\to$ 1, fake $\\to$ 0", "#fcbba1"),
        "LG": (9.2, 0, "$L_G$: fake $\\to$ 1", "#c6dbef"),
    },
    arrows=[
        ("z", "G"), ("G", "D", "fake $G(z)$"), ("x", "D", "real $x$"), ("D", "l"),
        ("l", "LD"), ("l", "LG"),
        ("LD", "D", "updates $D$", "tab:red", "dashed"),
        ("LG", "G", "updates $G$ (gradient passes through $D$)", "tab:blue", "dashed"),
    ],
    title="Two players, two losses: who updates what",
    figsize=(10, 3.2),
);

# %% [markdown]
# ## Setup
#
# The imports; `gen_lib` is this collection's helper package.

# %%
import time
import warnings
from pathlib import Path

import gen_lib
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops

print(gen_lib.device_report())

# %% [markdown]
# One epoch is one pass over the training images, in batches of `BATCH_SIZE`; the
# generator draws from `LATENT_DIM`-dimensional noise; `FD_SAMPLES` images are scored at the
# end. `run_profile` returns these settings (or lighter ones for a quick try) and seeds
# Python, NumPy and Keras, so a rerun on the same machine and backend gives the same
# numbers.

# %% tags=["parameters"]
DATASET = "mnist"  # or "fashion_mnist"
SPLIT = "train"  # or "test": 10k images, 6x the epochs (taken when offline)
EPOCHS = 7  # passes over the 60k train split
BATCH_SIZE = 128
LATENT_DIM = 64
LEARNING_RATE = 2e-4  # Adam, as in DCGAN (Radford et al. 2015)
BETA_1 = 0.5
FD_SAMPLES = 5000

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES,
                          dataset=DATASET)

# %% [markdown]
# ## Theory
#
# ### The game
#
# A generator $G$ maps noise $z \sim p_z = \mathcal{N}(0, I)$ to an image $G(z)$; its images
# follow a distribution $p_g$. A discriminator $D$ maps an image $x$ to $D(x) \in (0, 1)$,
# the probability it gives to "$x$ comes from the data distribution $p_{\text{data}}$".
# Goodfellow et al. (2014, Eq. 1) pose the game
#
# $$\min_G \max_D V(D, G) = \mathbb{E}_{x \sim p_{\text{data}}}[\log D(x)]
#   + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].$$
#
# $V$ is the log-likelihood of labelling real images 1 and fakes 0, so $D$ maximising $V$ is
# $D$ minimising the binary cross-entropy (BCE)
# $L_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))]$. $G$ minimises $V$;
# only the second term depends on $G$.
#
# In code $D$ outputs a **logit** $\ell \in \mathbb{R}$, and
# $D(x) = \sigma(\ell) = 1 / (1 + e^{-\ell})$. `BinaryCrossentropy(from_logits=True)` computes
# $\mathrm{BCE}(1, \ell) = -\log \sigma(\ell)$ and
# $\mathrm{BCE}(0, \ell) = -\log(1 - \sigma(\ell))$ directly from $\ell$. Going through
# $\sigma(\ell)$ first fails for a confident $D$: in float32, $\sigma(20)$ rounds to exactly 1,
# and $-\log(1 - 1) = \infty$. What Keras' `from_logits=False` does with a sigmoid
# layer's output depends on the backend: on JAX and PyTorch it clips $\sigma$ to
# $[10^{-7}, 1 - 10^{-7}]$ (finite, but wrong, and without gradient where it clips); on
# TensorFlow it finds the logit the sigmoid was computed from and uses that. The next cell
# defines the losses; the one after shows all three on the backend that runs it.

# %% tags=["model"]
bce = keras.losses.BinaryCrossentropy(from_logits=True)  # mean over the batch


def discriminator_loss(real_logits, fake_logits):
    """L_D: real images labelled 1, fakes labelled 0."""
    return (bce(ops.ones_like(real_logits), real_logits)
            + bce(ops.zeros_like(fake_logits), fake_logits))


def generator_loss(fake_logits):
    """Non-saturating L_G = -log D(G(z)): G wants its fakes labelled 1."""
    return bce(ops.ones_like(fake_logits), fake_logits)


def saturating_generator_loss(fake_logits):
    """log(1 - D(G(z))), the term of V that G minimises in the game."""
    return -bce(ops.zeros_like(fake_logits), fake_logits)

# %%
check = ops.convert_to_tensor([[-20.0], [0.0], [20.0]])


def keras_probability_loss(logit):  # a sigmoid layer's output, from_logits=False
    probability = keras.activations.sigmoid(logit)
    return ops.binary_crossentropy(ops.zeros_like(logit), probability, from_logits=False)


columns = {
    "from the logit": ops.binary_crossentropy(ops.zeros_like(check), check, from_logits=True),
    "through sigmoid": -ops.log(1 - ops.sigmoid(check)),
    "from_logits=False": keras_probability_loss(check),
}
values = [ops.convert_to_numpy(v).ravel() + 0.0 for v in columns.values()]
slope = ops.convert_to_numpy(gen_lib.input_gradients(  # d loss / d logit
    lambda l: ops.sum(keras_probability_loss(l)), check)).ravel()
print(f"BCE(0, logit) on {keras.backend.backend()}; the last two columns: a sigmoid "
      "layer's output, from_logits=False, and the loss's slope in the logit")
print(f"{'logit':>6s}", *(f"{c:>18s}" for c in columns), f"{'slope':>8s}")
for row, logit in enumerate([-20, 0, 20]):
    print(f"{logit:+6d}", *(f"{v[row]:18.4g}" for v in values), f"{slope[row]:8.4g}")

# %% [markdown]
# ### The best discriminator, and what the optimum asks for
#
# Fix $G$. Write the second term of $V$ as an expectation over the fakes, $x = G(z) \sim p_g$,
# so that $V = \int \big[p_{\text{data}}(x) \log D(x) + p_g(x) \log(1 - D(x))\big]\,dx$.
# $D$ may pick each value $D(x)$ freely, so maximise the integrand point by point: with
# $a = p_{\text{data}}(x)$, $b = p_g(x)$ and $y = D(x) \in (0, 1)$,
#
# $$\frac{d}{dy}\big[a \log y + b \log(1 - y)\big] = \frac{a}{y} - \frac{b}{1 - y} = 0
#   \iff y = \frac{a}{a + b}, \qquad \frac{d^2}{dy^2} = -\frac{a}{y^2} - \frac{b}{(1-y)^2} < 0,$$
#
# so $D^*(x) = p_{\text{data}}(x) / (p_{\text{data}}(x) + p_g(x))$ (Goodfellow et al. 2014,
# Prop. 1). With $m = (p_{\text{data}} + p_g)/2$, $\log D^* = \log(p_{\text{data}}/m) - \log 2$
# and $\log(1 - D^*) = \log(p_g/m) - \log 2$, so
#
# $$V(D^*, G) = -\log 4 + \mathrm{KL}(p_{\text{data}} \,\|\, m) + \mathrm{KL}(p_g \,\|\, m)
#   = -\log 4 + 2\,\mathrm{JSD}(p_{\text{data}} \,\|\, p_g),$$
#
# with $\mathrm{KL}(p \,\|\, q) = \mathbb{E}_{x \sim p}[\log p(x)/q(x)]$ and the Jensen-Shannon
# divergence JSD, zero only for equal distributions (Thm. 1). So the only optimum is
# $p_g = p_{\text{data}}$, where $D^* = 1/2$ everywhere: the value at the optimum, not a
# target for either player. This is an equilibrium of a two-player game, not the minimum
# of one loss: alternating gradient steps need not reach it; they may oscillate,
# collapse modes, stall on vanishing gradients, or settle at a local equilibrium. The
# "local optima" of one loss, as the second post has it, are the wrong picture (Goodfellow 2016, §5.1; Prop. 2 assumes an optimal $D$ at every step).
#
# MNIST mixes ten digit classes, so $p_g = p_{\text{data}}$ includes their proportions. A
# generator that draws some modes (here: digits) never is **mode dropping**; one that maps
# many $z$ to nearly the same image is **mode collapse**. Below, a 1-D stand-in: data
# with two equal modes.

# %%
grid = np.linspace(-6, 6, 4001)
step = grid[1] - grid[0]


def normal(mean):
    return np.exp(-0.5 * ((grid - mean) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))


def kl(p, q):
    return np.sum(np.where(p > 0, p * np.log(np.maximum(p, 1e-300) / q), 0.0)) * step


p_data = 0.5 * normal(-2) + 0.5 * normal(2)
candidates = {"drops a mode": normal(2), "80/20 mix": 0.8 * normal(-2) + 0.2 * normal(2),
              "equals p_data": p_data}
for name, p_g in candidates.items():
    d_star = p_data / (p_data + p_g)  # and 1 - D* = p_g / (p_data + p_g), computed as such
    value = np.sum(p_data * np.log(d_star) + p_g * np.log(p_g / (p_data + p_g))) * step
    mixture = (p_data + p_g) / 2
    jsd = 0.5 * kl(p_data, mixture) + 0.5 * kl(p_g, mixture)
    print(f"p_g {name:14s} V(D*, G) = {value:+.4f}   -log 4 + 2 JSD = "
          f"{-np.log(4) + 2 * jsd:+.4f}   D* from {d_star.min():.2f} to {d_star.max():.2f}")

fig, ax = plt.subplots(figsize=(8.5, 2.8))
ax.plot(grid, p_data, label=r"$p_{data}$: two equal modes")
ax.plot(grid, candidates["drops a mode"], label=r"$p_g$: drops the left mode")
ax.plot(grid, p_data / (p_data + candidates["drops a mode"]), "k--", label=r"$D^*(x)$")
ax.set(xlabel="x", ylabel="density / probability", title="Mode dropping: D* flags the missing mode")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the axes
fig.tight_layout()

# %% [markdown]
# ### Which loss for the generator: read the gradient
#
# The printout checks Thm. 1: $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}$ for each $p_g$, lowest
# ($-\log 4$) only at $p_g = p_{\text{data}}$.
#
# In the game $G$ minimises $\mathbb{E}_z[\log(1 - D(G(z)))]$, the **saturating** loss.
# Early on, $D$ rejects the fakes confidently: $D(G(z)) \approx 0$. "$\log(1 - D)$ is flat there"
# is often said, but as a function of $D$ it is not: its slope at $D = 0$ is $-1$. The
# gradient reaches $G$'s weights $\theta$ through the logit $\ell$ of $D$ on $G(z)$, and the
# chain rule multiplies that slope by the sigmoid's, $\sigma'(\ell) = \sigma(\ell)(1 - \sigma(\ell))$:
#
# $$\nabla_\theta \log(1 - \sigma(\ell))
#   = \underbrace{\frac{-1}{1 - \sigma(\ell)}}_{\text{slope in } D}\,
#     \underbrace{\sigma(\ell)(1 - \sigma(\ell))}_{\text{slope of } D \text{ in } \ell}\,\nabla_\theta \ell
#   = -\sigma(\ell)\,\nabla_\theta \ell \to 0 \quad (\ell \to -\infty).$$
#
# So Goodfellow et al. (2014, §3) let $G$ minimise the **non-saturating** loss
# $-\log D(G(z))$ instead: $\nabla_\theta[-\log \sigma(\ell)] = -(1 - \sigma(\ell))\,\nabla_\theta \ell$,
# with a factor near $-1$ where $D$ rejects the fake. Both push $\ell$ up; this one pushes
# hardest where $G$ is worst. The plot checks both factors by autodiff.
#
# The fix is a heuristic with the same fixed point, not the same objective: with the
# optimal $D$, its expected gradient is that of
# $\mathrm{KL}(p_g \,\|\, p_{\text{data}}) - 2\,\mathrm{JSD}$ (Arjovsky & Bottou 2017,
# Thm. 2.5). This KL barely penalises a missed mode, and $-2\,\mathrm{JSD}$ rewards leaving
# the data: one explanation of mode dropping.

# %%
logits = np.linspace(-10, 10, 41).astype("float32")[:, None]
sigma = 1 / (1 + np.exp(-logits.ravel()))
autodiff = {}
for loss_fn in (saturating_generator_loss, generator_loss):
    # The losses average over the batch: multiply by its size for per-image gradients.
    grad = gen_lib.input_gradients(loss_fn, ops.convert_to_tensor(logits))
    autodiff[loss_fn.__name__] = len(logits) * ops.convert_to_numpy(grad).ravel()
np.testing.assert_allclose(autodiff["saturating_generator_loss"], -sigma, rtol=1e-3, atol=1e-6)
np.testing.assert_allclose(autodiff["generator_loss"], -(1 - sigma), rtol=1e-3, atol=1e-6)
print("autodiff gradients match -sigma(l) and -(1 - sigma(l)) at 41 logits")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
d = np.linspace(0.001, 0.999, 200)
left.plot(d, np.log(1 - d), label=r"saturating $\log(1-D)$")
left.plot(d, -np.log(d), label=r"non-saturating $-\log D$")
left.plot(d[:70], -d[:70], "k:", label="slope $-1$ at $D = 0$")
left.set(xlabel="D(G(z))", ylabel="generator loss", title="As a function of D: not flat at 0")
right.semilogy(logits, sigma, label=r"saturating: $\sigma(\ell)$")
right.semilogy(logits, 1 - sigma, label=r"non-saturating: $1-\sigma(\ell)$")
for name, marker in [("saturating_generator_loss", "o"), ("generator_loss", "x")]:
    right.semilogy(logits[::4], np.abs(autodiff[name][::4]), marker, color="k", ms=4)
right.axvspan(-10, -4.6, color="grey", alpha=0.2, label="D(G(z)) < 0.01")
right.set(ylim=(1e-7, 3), xlabel=r"D's logit $\ell$ on a fake",
          ylabel=r"$|\partial L_G / \partial \ell|$",
          title="As a function of the logit (markers: autodiff)")
left.legend(fontsize=8)
right.legend(fontsize=8, loc="lower center")
fig.tight_layout()

# %% [markdown]
# ## Data
#
# `gen_lib.load_dataset` reads MNIST through `keras.datasets`. The generator ends in
# `tanh`, so we scale the pixels to $[-1, 1]$ (Radford et al. 2015, §4). The digit proportions printed below are what the optimum
# $p_g = p_{\text{data}}$ asks of the generator.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_train = gen_lib.to_tanh_range(images)
data_share = np.bincount(labels, minlength=10) / len(labels)
print(run.describe(len(x_train)))
print(f"x_train: {x_train.shape} {x_train.dtype}, range [{x_train.min()}, {x_train.max()}]")
print("share of each digit 0-9:", " ".join(f"{s:.3f}" for s in data_share))
gen_lib.image_grid(gen_lib.tanh_to_unit(x_train[:32]), ncols=8, title="real images");

# %% [markdown]
# ## Networks
#
# A DCGAN (Radford et al. 2015) sized for a CPU. $G$ projects the noise to a 7×7×64 map and
# doubles the resolution twice with stride-2 transposed convolutions (4×4 kernels), with
# batch norm and ReLU between them and `tanh` at the end. $D$ mirrors it: two stride-2
# convolutions with 32 and 64 filters, LeakyReLU(0.2), and a `Dense(1)` that outputs a
# **logit**, no sigmoid. Unlike DCGAN's, our $D$ has no batch norm.

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
# Check the shapes and the starting point before training: $G$ must produce exactly the
# data's shape and range, and an untrained $D$ should be undecided, with logits near 0.

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
# ## The train_step
#
# One call of `train_step` is one iteration of Algorithm 1 of Goodfellow et al. (2014)
# with $k = 1$ discriminator step per generator step, with the non-saturating loss and
# Adam for SGD. In order:
#
# 1. `unpack_x_y_sample_weight` takes the real images out of the batch `fit` passes.
# 2. **Discriminator step.** Noise from `keras.random.normal` and the model's
#    `SeedGenerator`; `d_loss_fn` makes fakes and scores both kinds; `gen_lib.minimize`
#    differentiates it with respect to **$D$'s variables only** and steps `d_optimizer`.
# 3. **Generator step.** Fresh noise, fakes labelled "real". The gradient flows through
#    $D$, but only **$G$'s variables** change: no `trainable` flag is toggled.
# 4. `update_trackers` keeps running means of the losses, $D(x)$ and $D(G(z))$.
#
# **Why $D$ first.** $G$'s gradient is only as good as $D$'s estimate of $D^*$ for the
# current $G$ (the theory above assumes the best $D$): Algorithm 1 refits $D$ to the
# current fakes, then moves $G$ against that $D$. With $k = 1$ the loop is
# $D, G, D, G, \dots$; putting $G$ first gives $G, D, G, D, \dots$, the same alternation
# shifted by half an iteration. Only the very first $G$ step differs, taken against an
# untrained $D$, and the pairing of noise to steps (exercise 2 compares both). With
# $k > 1$ (notebook 03) the order matters more: $G$ first would move against a $D$ not
# yet refitted. Either order differs from the original post's update, which computes both
# gradients before either network moves.
#
# `@gen_lib.train_step` lets this function run on JAX too; `@gen_lib.model_plumbing`
# writes `compile`, the saving configuration and the metric list (see Under the hood).

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gan_notebook")
@gen_lib.model_plumbing(
    networks=["generator", "discriminator"],
    optimizers={"d_optimizer": "discriminator", "g_optimizer": "generator"},
    config=["latent_dim", "seed"],
    metrics=["d_loss", "g_loss", "D(x)", "D(G(z))"],
)
class GAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.seed = latent_dim, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @gen_lib.train_step
    def train_step(self, data):
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = ops.shape(real_images)[0]

        # 2. Discriminator step: real -> 1, fake -> 0. Only D's variables change.
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

        def d_loss_fn():
            fake_images = self.generator(noise, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            return discriminator_loss(real_logits, fake_logits), (real_logits, fake_logits)

        d_loss, (real_logits, fake_logits) = gen_lib.minimize(
            d_loss_fn, self.discriminator.trainable_variables, self.d_optimizer)

        # 3. Generator step: fresh noise, -log D(G(z)). Gradients flow through D,
        #    but only G's variables change.
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

        def g_loss_fn():
            fake_logits = self.discriminator(self.generator(noise, training=True), training=True)
            return generator_loss(fake_logits)

        g_loss = gen_lib.minimize(g_loss_fn, self.generator.trainable_variables, self.g_optimizer)

        # 4. Running means for the progress display and the history.
        return self.update_trackers({
            "d_loss": d_loss, "g_loss": g_loss,
            "D(x)": ops.mean(ops.sigmoid(real_logits)),
            "D(G(z))": ops.mean(ops.sigmoid(fake_logits)),
        })

# %% [markdown] tags=["minimize-by-backend"]
# **The gradient step, written out.** In the discriminator step, `loss_fn` is `d_loss_fn`,
# `variables` are `self.discriminator.trainable_variables` and `optimizer` is
# `self.d_optimizer`; in the generator step, `g_loss_fn`, `self.generator.trainable_variables`
# and `self.g_optimizer`. Each `gen_lib.minimize` call stands for these lines:

# %% [markdown]
# ## Training
#
# First, where we start. A small classifier of the dataset's images, trained once and
# shipped with gen_lib (the same weights on every backend), gives the features in which
# the **Fréchet distance** (FD) compares image sets (see Results). The FD's **floor** is
# the FD between two disjoint sets of real images of the same size.

# %%
scorer = gen_lib.QualityScorer(gen_lib.tanh_to_unit(x_train), labels,
                               fd_samples=run.fd_samples, dataset=DATASET)
eval_noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM)).astype("float32")


def sample_images(noise):
    """Generator outputs mapped to [0, 1] for plots and metrics."""
    return gen_lib.tanh_to_unit(generator.predict(noise, batch_size=500, verbose=0))


fd_untrained = scorer.fd(sample_images(eval_noise))
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"FD of the untrained generator: {fd_untrained:.2f} (floor {scorer.floor:.2f})")

# %% [markdown]
# Train with `fit`. The grid shows samples from the same 32 noise vectors, updated in place
# and titled with the epoch and logs. `gen_lib.StopOnNaN` stops at the first NaN or
# infinite loss and puts back the last good weights.

# %% tags=["gallery"]
gan = GAN(generator, discriminator, LATENT_DIM, seed=run.seed)
gan.compile(
    d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
    g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
)
grid_noise = np.random.default_rng(2).normal(size=(32, LATENT_DIM)).astype("float32")
sample_grid = gen_lib.SampleGrid(sample_images, grid_noise, every=max(1, run.epochs // 8),
                                 ncols=8, log_keys=("d_loss", "g_loss", "D(x)", "D(G(z))"))

start = time.perf_counter()
history = gan.fit(x_train, batch_size=BATCH_SIZE, epochs=run.epochs, shuffle=True,
                  callbacks=[sample_grid, gen_lib.StopOnNaN()], verbose=0)
train_minutes = (time.perf_counter() - start) / 60
train_steps = int(ops.convert_to_numpy(gan.g_optimizer.iterations))
print(f"trained on {len(x_train)} images for {len(history.epoch)} epoch(s): {train_steps} steps "
      f"of {BATCH_SIZE} images each for D and for G, in {train_minutes:.1f} min")

# %% [markdown]
# The same eight noise vectors across training, one row per recorded epoch:

# %%
sample_grid.plot_progress(num_images=8);

# %% [markdown]
# ## Results
#
# A healthy GAN's losses do not go to zero: they settle while the players hold each other
# in check. The dotted lines mark the values of a $D$ that says 1/2 to everything, the
# optimum's $D^*$: $L_D = 2 \log 2 = \log 4 \approx 1.39$ (two terms of $\log 2$) and
# $L_G = \log 2 \approx 0.69$. $L_D$ below $\log 4$ and $D(x)$ above $D(G(z))$ mean that $D$
# keeps an edge; an $L_D$ collapsing to 0 would mean $D$ has won. The printout gives the
# last epoch's values.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
epochs_axis = np.arange(1, len(history.epoch) + 1)
marker = "o" if len(epochs_axis) < 15 else None
for key in ("d_loss", "g_loss"):
    left.plot(epochs_axis, history.history[key], marker=marker, label=key)
for key in ("D(x)", "D(G(z))"):
    right.plot(epochs_axis, history.history[key], marker=marker, label=key)
left.axhline(np.log(4), color="tab:blue", ls=":", label=r"$\log 4$: $L_D$ at $D = 1/2$")
left.axhline(np.log(2), color="tab:orange", ls=":", label=r"$\log 2$: $L_G$ at $D = 1/2$")
right.axhline(0.5, color="grey", ls=":", label="1/2: $D^*$ at the optimum")
left.set(xlabel="epoch", ylabel="BCE (nats)", title="losses, mean over each epoch")
right.set(xlabel="epoch", ylabel="mean probability", ylim=(0, 1),
          title="discriminator outputs")
left.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
for ax in (left, right):
    ax.grid(alpha=0.3)
fig.tight_layout()
print("last epoch:", ", ".join(f"{key} {values[-1]:.3f}"
                               for key, values in history.history.items()))

# %% [markdown]
# ### The quality number
#
# The FD fits a Gaussian to the classifier's features of each image set (means $\mu_1, \mu_2$,
# covariances $\Sigma_1, \Sigma_2$) and computes the Fréchet distance between them,
# $\|\mu_1 - \mu_2\|^2 + \mathrm{Tr}(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2})$
# (FID, Heusel et al. 2017, with an MNIST classifier in place of Inception, so the values
# are not comparable with published FIDs). Lower is better.

# %%
generated = sample_images(eval_noise)
fd = scorer.fd(generated)
print(f"FD, generated vs real : {fd:8.2f}")
print(f"FD, real vs real floor: {scorer.floor:8.2f}")
print(f"ratio to the floor    : {fd / scorer.floor:8.1f}x (untrained generator: "
      f"{fd_untrained / scorer.floor:.0f}x)")
print(f"Result: FD {fd:.2f}, {fd / scorer.floor:.1f} times its floor")

# %% [markdown]
# ### Which digits does the generator draw?
#
# The histogram is the classifier's reading of the samples: it names a digit even for a
# blob, and it misreads some real digits too (its accuracy is printed above). At the
# optimum the two bars of each digit would match. How much of the FD does the mix
# explain? A check: draw a larger pool of samples, and score 5,000 of them twice, once
# as drawn and once with each digit kept at the data's share: same generator, same
# number of images, the class mix changed (and with it which samples are scored).

# %%
sample_counts = np.bincount(scorer.predict_labels(generated), minlength=10)
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.bar(np.arange(10) - 0.2, sample_counts / sample_counts.sum(), 0.4, label="samples")
ax.bar(np.arange(10) + 0.2, data_share, 0.4, label="real data")
ax.set(xticks=range(10), xlabel="digit (as read by the classifier)",
       ylabel="share of images", title=f"Class mix of {len(generated)} samples")
ax.legend()
fig.tight_layout()
print("samples per digit 0-9:", sample_counts.tolist())
print(f"rarest digit {sample_counts.argmin()}: {sample_counts.min() / sample_counts.sum():.3f} "
      f"of samples, {data_share[sample_counts.argmin()]:.3f} of data; commonest "
      f"{sample_counts.argmax()}: {sample_counts.max() / sample_counts.sum():.3f}")

pool = sample_images(np.random.default_rng(4).normal(
    size=(4 * scorer.fd_samples, LATENT_DIM)).astype("float32"))
pool_digits = scorer.predict_labels(pool)
wanted = np.round(data_share * scorer.fd_samples).astype(int)
wanted[np.argmax(wanted)] += scorer.fd_samples - wanted.sum()
short = [c for c in range(10) if (pool_digits == c).sum() < wanted[c]]
if short:
    print(f"too few samples of digits {short} in the pool to rebalance: draw a larger one")
else:
    keep = np.concatenate([np.flatnonzero(pool_digits == c)[:n] for c, n in enumerate(wanted)])
    fd_as_drawn, fd_rebalanced = scorer.fd(pool[:scorer.fd_samples]), scorer.fd(pool[keep])
    print(f"FD of {scorer.fd_samples} pool samples as drawn {fd_as_drawn:.2f}, rebalanced to "
          f"the data's class mix {fd_rebalanced:.2f} (floor {scorer.floor:.2f})")

# %% [markdown]
# **What to look at.** In the strip, strokes sharpen; some noise vectors change digit.
# The FD is far below the untrained generator's but many times the floor. In the stored run
# (42 epochs on the 10k test images) the samples' mix is uneven, but no digit is
# missing: a share of 0.053 (4s) to 0.177 (9s) per digit, against 0.089 to 0.114 in the
# data. And the mix accounts for a small part of the gap to the floor: rebalancing moves
# the FD from 30.49 to 29.42, about as much as two draws of 5,000 samples differ (29.74
# on the noise above, 30.49 on the pool's first 5,000). Most of the gap is in the images
# themselves. A conditional GAN
# (notebook 02) is told which digit to draw.

# %% [markdown]
# ## Common mistakes: spot the bug
#
# Each snippet is the original post's unless marked, shortened and in Keras 3 terms. Find
# the bug first.
#
# **1.** The discriminator and the loss (both posts: the original post feeds the sigmoid
# output to `tf.nn.sigmoid_cross_entropy_with_logits`, the second post to the loss below):
#
# ```python
# outputs = layers.Dense(1, activation="sigmoid")(hidden)
# ...
# loss = keras.losses.BinaryCrossentropy(from_logits=True)
# ```
#
# What is the lowest loss $D$ can reach on a real image, however sure it is?
#
# <details><summary>Answer</summary>
#
# The sigmoid is applied twice: the loss reads the probability $p = \sigma(\ell) \in (0, 1)$
# as if it were a logit. So
# $\mathrm{BCE}(1, p) = \mathrm{softplus}(-p) \ge \mathrm{softplus}(-1) = 0.313$ on real
# images and $\mathrm{BCE}(0, p) \ge \log 2 = 0.693$ on
# fakes, and the gradient is squeezed by two sigmoids. Keras on TensorFlow notices when the
# tensor it receives was *directly* produced by a sigmoid, warns, and uses the logit
# before it, so there the model trains; JAX and PyTorch do not, and nor does TensorFlow
# once anything (a `Reshape`, a `tf.nn` loss as in the original post) sits in between. Fix:
# `Dense(1)` with `from_logits=True`. The cell below shows both effects on your backend.
# </details>

# %%
ones = np.ones_like(logits)
probabilities = 1 / (1 + np.exp(-logits))  # what a sigmoid output layer hands the loss
losses = {"logit (right)": ops.binary_crossentropy(ones, logits, from_logits=True),
          "probability (double sigmoid)": ops.binary_crossentropy(ones, probabilities,
                                                                   from_logits=True)}
fig, ax = plt.subplots(figsize=(6.5, 3))
for name, loss in losses.items():
    loss = ops.convert_to_numpy(loss).ravel()
    ax.semilogy(logits.ravel(), loss, label=f"loss fed the {name}: min {loss.min():.3f}")
ax.axhline(np.log1p(np.exp(-1)), color="grey", ls=":", label="softplus(-1) = 0.313")
ax.set(xlabel=r"D's logit $\ell$ on a real image", ylabel="BCE(1, output)",
       title="The double sigmoid: a floor under the loss")
ax.legend(fontsize=8)
fig.tight_layout()

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sigmoid_output = keras.activations.sigmoid(ops.convert_to_tensor([[10.0]]))
    seen = float(ops.convert_to_numpy(bce(ops.ones((1, 1)), sigmoid_output)))
print(f"on {keras.backend.backend()}: a sigmoid layer's output for logit 10, with "
      f"from_logits=True, gives BCE {seen:.4f} (logit: 0.0000, double sigmoid: 0.3133)")
print("Keras warned:", caught[0].message if caught else "nothing")

# %% [markdown]
# **2.** The losses, both minimised:
#
# ```python
# g_loss = ops.mean(ops.log(d_fake))                                   # E[log D(G(z))]
# d_loss = ops.mean(ops.log(d_real)) + ops.mean(ops.log(1 - d_fake))  # V(D, G)
# ```
#
# Minimising each, which way does it push $D(G(z))$?
#
# <details><summary>Answer</summary>
#
# Both signs are wrong: $G$'s loss pushes $D(G(z))$ to 0 and $D$'s to 1, each doing the
# other's job. $\log D(G(z))$ is largest at $D(G(z)) = 1$, so minimising it drives
# $D(G(z)) \to 0$: $G$ learns to make images that $D$ calls fake. And $L_D$ as written is
# $V$, which $D$ must *maximise*; minimising it trains the inverted classifier, real $\to$ 0,
# fake $\to$ 1. Use the BCE losses, `discriminator_loss` and `generator_loss` above.
# </details>
#
# **3.** The discriminator's loss and its call:
#
# ```python
# def discriminator_loss(dis_output, real_output):
#     real_loss = bce(ops.ones_like(real_output), real_output)
#     fake_loss = bce(ops.zeros_like(real_output), real_output)
#     return real_loss + fake_loss
#
# dis_loss = discriminator_loss(real_output, data)
# ```
#
# Which images does $D$ learn to call fake?
#
# <details><summary>Answer</summary>
#
# None. The fake term is computed on the *real* scores and `dis_output` is never used, so
# the loss does not depend on the fakes at all: $D$ is told that each real image is both
# real and fake (its best answer is $\ell = 0$ on real images) and never sees a fake, and
# $G$ trains against a $D$ that has learned nothing about fakes. The call makes it worse:
# its arguments are shifted, the raw pixels `data` land in `real_output`, and the loss
# depends on no weight of $D$. The optimizer then stops with "No gradients provided for
# any variable", and `gen_lib.minimize` with its own message. Fix: the fake term on
# `fake_logits`, called as `discriminator_loss(real_logits, fake_logits)`.
# </details>
#
# **4.** Noise inside a compiled step:
#
# ```python
# @tf.function
# def train_step(data):
#     noise = np.random.normal(size=(batch_size, noise_dim))
# ```
#
# How many different noise batches does $G$ see during training?
#
# <details><summary>Answer</summary>
#
# One per trace of the function, usually one. Python and NumPy code in a compiled function
# runs only while the function is traced; the array becomes a constant of the
# graph. Every step reuses the same noise, and $G$ learns to map those vectors only. (The
# post also adds a spurious axis with `np.expand_dims`.) Draw noise with `keras.random.normal(..., seed=self.seed_generator)`.
# </details>
#
# **5.** The training, in full (the second post):
#
# ```python
# inputs = layers.Input(shape=(28, 28, 1))
# gan = keras.Model(inputs, discriminator(generator(inputs)))
# gan.compile(optimizer=keras.optimizers.Adam(0.0002, 0.5),
#             loss=keras.losses.BinaryCrossentropy(from_logits=True))
# gan.fit(x_train, epochs=50, batch_size=128, validation_data=(x_train, x_train))
# ```
#
# When is $D$ shown a real image labelled "real"?
#
# <details><summary>Answer</summary>
#
# Never. A GAN is two optimisation problems with opposite goals; one `fit` of the combined
# model $D \circ G$ would update both networks together towards one target, and no target
# is given at all. The combined model also feeds images where $G$ expects noise, and the
# "validation" reuses the training images, with image-shaped targets for a one-number
# output. Use a `train_step` with one update per network, as above.
# </details>

# %% [markdown]
# Other mistakes that still matter in Keras 3, from the original post, the second post and
# two more Chinese posts that teach GANs with Keras or TensorFlow (third, fourth):
#
# | post | mistake | what happens | fix |
# |---|---|---|---|
# | second | `x_train / 255.0`, `tanh` generator | real pixels in [0, 1], fakes in [−1, 1]: $D$ tells them apart by sign | scale to [−1, 1] |
# | second | $G$ outputs 32×32×3 for 28×28×1 data | shape error | 7×7 start, 1 channel; assert shapes |
# | third | $G$ outputs 6×6×3, $D$ takes 64×64×3 | shape error | match them |
# | original | `Dense(input_shape[1])` with `input_shape=(100,)`; $D$ built for noise | `IndexError`; $D$ cannot take images | both on 28×28×1 |
# | third | `trainable` flags swapped, output `valid` overwritten | the "combined" model is $D$ on real images; $G$ never trains | a `train_step` |
# | second, fourth | $G$'s loss a distance to real images; $D$'s loss its accuracy | no pairs exist; accuracy has no gradient | BCE through $D$ |
# | original | "both players aim for $D(G(z)) = 0.5$" | $G$ wants 1, $D$ wants 0 | see Theory |
# | second | `LeakyReLU()` (slope 0.3), bias before batch norm | runs; not DCGAN | slope 0.2, no bias |
# | original, second | `layers.Model`; `gan = gan(...)`; wrong argument counts | `AttributeError`; shadowed builder; `TypeError` | `keras.Model`; distinct names |
# | third | one variable `x` for $G$ and $D$ | graph disconnected | one builder per network |

# %% [markdown]
# ## Exercises
#
# 1. **The saturating loss stalls.** **Goal:** train $G$ with each loss against a $D$ that
#    already rejects its fakes, with plain SGD and with Adam, and watch $D(G(z))$.
#    **Hint:** an optimizer with learning rate 0 freezes a player; `train_step` reads
#    `generator_loss` when `fit` traces it. **What to expect** (a run with this code on the
#    10k test images, 100 steps each): with SGD, $D(G(z))$ stays below $10^{-4}$ for all
#    100 steps under the saturating loss, and reaches about 0.9 within the first 10 under
#    the non-saturating one; with Adam both climb (to about 0.9998 and 0.89).
#
#    <details><summary>Solution</summary>
#
#    ```python
#    t0 = time.perf_counter()
#    keras.utils.set_random_seed(0)
#    G0, D0 = make_generator(LATENT_DIM), make_discriminator()
#    fakes = G0(np.random.default_rng(3).normal(size=(128, LATENT_DIM)).astype("float32"))
#    D0.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
#               loss=keras.losses.BinaryCrossentropy(from_logits=True))
#    both = np.concatenate([x_train[:128], ops.convert_to_numpy(fakes)])
#    target = np.concatenate([np.ones((128, 1)), np.zeros((128, 1))]).astype("float32")
#    D0.fit(both, target, batch_size=256, epochs=run.size(100, smoke=2), verbose=0)
#    notebook_loss, steps = generator_loss, run.size(100, smoke=2)
#    try:
#        for name in ("SGD(0.05)", "Adam"):
#            for loss_fn in (saturating_generator_loss, notebook_loss):
#                generator_loss = loss_fn  # read when fit traces train_step
#                G = keras.models.clone_model(G0)  # G alone learns, from the same start
#                G.set_weights(G0.get_weights())
#                optimizer = (keras.optimizers.SGD(0.05) if name == "SGD(0.05)" else
#                             keras.optimizers.Adam(2e-4, beta_1=0.5))
#                model = GAN(G, D0, LATENT_DIM, seed=0)  # D0 frozen: learning rate 0
#                model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=optimizer)
#                seen = model.fit(x_train[:BATCH_SIZE * 10], batch_size=BATCH_SIZE,
#                                 epochs=max(1, steps // 10), verbose=0).history["D(G(z))"]
#                print(f"{loss_fn.__name__:26s} {name:9s}: D(G(z)) {seen[0]:.1e} in the "
#                      f"first 10 steps, {seen[-1]:.1e} in the last 10 of {steps}")
#    finally:
#        generator_loss = notebook_loss  # the notebook's loss again
#    print(f"in {time.perf_counter() - t0:.0f} s")
#    ```
#
#    Why: by the chain rule in Theory, the saturating loss's gradient carries the factor
#    $\sigma(\ell) = D(G(z))$, tiny here, and an SGD step is proportional to the
#    gradient: $G$ barely moves. Adam divides each step by the running size of the
#    gradient, so a small factor shared by the whole batch largely cancels: against a
#    fixed $D$, Adam hides the stall. The non-saturating loss does not need that rescue.
#    </details>
#
# 2. **$G$ first.** **Goal:** swap the two updates of `train_step` and compare with the
#    notebook's order, 300 steps from the same start, and with the notebook's order from
#    another seed. **Hint:** subclass `GAN` and write a `train_step` with the generator
#    step first. **What to expect** (a run on the 10k test images): about the same
#    $D(x)$ and $D(G(z))$ (0.65 and 0.37 both ways), and FDs of 120.8 ($D$ first) and
#    110.1 ($G$ first), against 112.4 for $D$ first from the next seed.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    t0 = time.perf_counter()
#
#    class GFirstGAN(GAN):
#        @gen_lib.train_step
#        def train_step(self, data):
#            real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
#            shape = (ops.shape(real_images)[0], self.latent_dim)
#            noise = keras.random.normal(shape, seed=self.seed_generator)
#            g_loss = gen_lib.minimize(  # the generator step first
#                lambda: generator_loss(self.discriminator(
#                    self.generator(noise, training=True), training=True)),
#                self.generator.trainable_variables, self.g_optimizer)
#            noise = keras.random.normal(shape, seed=self.seed_generator)
#
#            def d_loss_fn():
#                real_logits = self.discriminator(real_images, training=True)
#                fake_logits = self.discriminator(self.generator(noise, training=True),
#                                                 training=True)
#                return discriminator_loss(real_logits, fake_logits), (real_logits,
#                                                                       fake_logits)
#
#            d_loss, (real_logits, fake_logits) = gen_lib.minimize(
#                d_loss_fn, self.discriminator.trainable_variables, self.d_optimizer)
#            return self.update_trackers({
#                "d_loss": d_loss, "g_loss": g_loss,
#                "D(x)": ops.mean(ops.sigmoid(real_logits)),
#                "D(G(z))": ops.mean(ops.sigmoid(fake_logits))})
#
#    steps = run.size(300, smoke=4)
#    for model_class, seed in [(GAN, run.seed), (GFirstGAN, run.seed), (GAN, run.seed + 1)]:
#        keras.utils.set_random_seed(seed)
#        model = model_class(make_generator(LATENT_DIM), make_discriminator(), LATENT_DIM,
#                            seed=seed)
#        model.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
#                      g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))
#        logs = model.fit(x_train[:BATCH_SIZE * 50], batch_size=BATCH_SIZE,
#                         epochs=max(1, steps // 50), verbose=0).history
#        images = model.generator.predict(eval_noise, batch_size=500, verbose=0)
#        print(f"{model_class.__name__:9s} seed {seed}: D(x) {logs['D(x)'][-1]:.2f}, "
#              f"D(G(z)) {logs['D(G(z))'][-1]:.2f}, "
#              f"FD {scorer.fd(gen_lib.tanh_to_unit(images)):.1f}")
#    print(f"in {time.perf_counter() - t0:.0f} s")
#    ```
#
#    Why: with one step each, both orders run the same alternation, shifted by half an
#    iteration; only the first generator step differs, against an untrained $D$. What
#    is left is the effect of a different start, which is what a different seed
#    changes too. One seed per order cannot rank the orders.
#    </details>
#
# 3. **What a class mix costs.** **Goal:** score real digits in four mixes: the data's,
#    the samples', one digit missing, two digits only. **Hint:** `scorer.class_mix_fd`.
#    **What to expect** (a run of this solution on the stored run's counts): the data's
#    mix near the floor (1.2x), the samples' mix 8.75 (6.4x), one missing digit 9.4x,
#    two digits about 250 times the floor.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    t0 = time.perf_counter()
#    data_counts = np.bincount(labels, minlength=10)
#    mixes = {"data": data_counts, "samples": sample_counts,
#             "no 4": data_counts * (np.arange(10) != 4),
#             "only 1 and 7": np.isin(np.arange(10), [1, 7]).astype(int)}
#    for name, counts in mixes.items():
#        value = scorer.class_mix_fd(counts)
#        print(f"{name:13s} FD {value:7.2f} ({value / scorer.floor:5.1f}x the floor)")
#    print(f"in {time.perf_counter() - t0:.0f} s")
#    ```
#
#    Why: these are perfect images, real digits, so all their FD comes from the mix. A
#    missing digit removes a whole cluster of features and shifts their mean; the
#    samples' mix, uneven but complete, costs a little less. The data's own mix is not
#    at the floor because `class_mix_fd` draws real digits at random, with repeats, and
#    repeats shrink the effective sample. The FD is not additive: 8.75 is what this mix
#    costs perfect images, while on the generator's samples, already far from real,
#    rebalancing it saved only about 1 (Results).
#    </details>
#
# 4. **One-sided label smoothing** (Salimans et al. 2016, §3.4). **Goal:** label real
#    images 0.9 instead of 1 in $D$'s loss and compare with the plain loss, 400 steps each
#    from the same start. **Hint:** `train_step` reads `discriminator_loss` when `fit`
#    traces it: redefine it, then train a new `GAN`. **What to expect** (a full-size run of
#    this solution): a
#    lower $D(x)$ (0.53 against 0.59) and about the same FD (102 against 105, one
#    seed). Why only the real side?
#
#    <details><summary>Solution</summary>
#
#    ```python
#    t0 = time.perf_counter()
#
#    def train_fresh(steps):
#        keras.utils.set_random_seed(run.seed)
#        model = GAN(make_generator(LATENT_DIM), make_discriminator(), LATENT_DIM,
#                    seed=run.seed)
#        model.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
#                      g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))
#        logs = model.fit(x_train[:BATCH_SIZE * 50], batch_size=BATCH_SIZE,
#                         epochs=max(1, steps // 50), verbose=0).history
#        images = model.generator.predict(eval_noise, batch_size=500, verbose=0)
#        return logs["D(x)"][-1], scorer.fd(gen_lib.tanh_to_unit(images))
#
#    steps = run.size(400, smoke=4)
#    plain, notebook_loss = train_fresh(steps), discriminator_loss
#
#    def discriminator_loss(real_logits, fake_logits):  # real images labelled 0.9
#        return (bce(0.9 * ops.ones_like(real_logits), real_logits)
#                + bce(ops.zeros_like(fake_logits), fake_logits))
#
#    try:
#        smoothed = train_fresh(steps)
#    finally:
#        discriminator_loss = notebook_loss  # the notebook's loss again
#    print(f"plain:    D(x) {plain[0]:.2f}, FD {plain[1]:.2f}")
#    print(f"smoothed: D(x) {smoothed[0]:.2f}, FD {smoothed[1]:.2f}")
#    print(f"in {time.perf_counter() - t0:.0f} s")
#    ```
#
#    Why the lower $D(x)$: the best $D$ for a target of 0.9 says 0.9, not 1, to images it
#    is sure are real. Why one side: with labels $\alpha$ for real and $\beta > 0$ for fake
#    images, the optimal $D$ is $(\alpha p_{\text{data}} + \beta p_g) / (p_{\text{data}} + p_g)$,
#    which stays near $\beta$ where $p_{\text{data}} \approx 0$ and $p_g$ is large: fakes there
#    get no push towards the data (Salimans et al. 2016, §3.4).
#    </details>

# %% [markdown]
# ## Under the hood
#
# **What JAX needs beyond the lines shown with the `train_step`.** On JAX, `fit` calls
# `train_step(state, data)` and expects `(logs, new_state)`: every value goes in and out
# explicitly. `@gen_lib.train_step` maps each of the model's variables to its value in
# `state` and reads the new values back at the end. Inside `minimize`, what the loss
# function assigns (the generator's batch-norm statistics, the noise generator's position)
# comes out of the differentiated function and is written back. Both optimizers' state
# (Adam's moments and step counts) must be part of `state` too, or every step would
# restart Adam from scratch: `compile` keeps their variables in a tracked attribute.

# %% [markdown]
# **What `@gen_lib.model_plumbing` writes.** For this `GAN` it amounts to the code below.
# Saving needs it: `get_config` says how to rebuild the model, `get_compile_config` how to
# re-compile it.
#
# ```python
# class GAN(keras.Model):
#     def __init__(self, generator, discriminator, latent_dim, seed=0, **kwargs):
#         ...                                   # as above, plus:
#         self.trackers = {name: keras.metrics.Mean(name=name)
#                          for name in ["d_loss", "g_loss", "D(x)", "D(G(z))"]}
#         self.built = True                     # the networks are built; no call() needed
#
#     @property
#     def metrics(self):                        # what fit resets every epoch
#         return list(self.trackers.values())
#
#     def update_trackers(self, values):
#         for name, value in values.items():
#             self.trackers[name].update_state(value)
#         return {name: tracker.result() for name, tracker in self.trackers.items()}
#
#     def compile(self, d_optimizer, g_optimizer):
#         super().compile()
#         self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
#         d_optimizer.build(self.discriminator.trainable_variables)
#         g_optimizer.build(self.generator.trainable_variables)
#         # Attributes holding variables become the model's: JAX threads and save() keeps them.
#         self.tracked_optimizer_variables = d_optimizer.variables + g_optimizer.variables
#
#     def get_config(self):
#         return {**super().get_config(), "latent_dim": self.latent_dim, "seed": self.seed,
#                 "generator": keras.saving.serialize_keras_object(self.generator),
#                 "discriminator": keras.saving.serialize_keras_object(self.discriminator)}
#
#     @classmethod
#     def from_config(cls, config):
#         for name in ("generator", "discriminator"):
#             config[name] = keras.saving.deserialize_keras_object(config[name])
#         return cls(**config)
#
#     def get_compile_config(self):
#         return {name: keras.saving.serialize_keras_object(getattr(self, name))
#                 for name in ("d_optimizer", "g_optimizer")}
#
#     def compile_from_config(self, config):
#         self.compile(**{name: keras.saving.deserialize_keras_object(optimizer)
#                         for name, optimizer in config.items()})
# ```

# %% [markdown]
# **Saving and resuming.** The generator alone is a plain functional model: it saves to a
# `.keras` file and loads with `safe_mode=True` (it refuses arbitrary
# code such as lambdas). Same noise in, same images out.

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
# To resume training, save the whole `GAN`: both optimizers' moments and step counts, and
# the position of the noise stream, which Keras itself does not save
# ([keras-team/keras#19796](https://github.com/keras-team/keras/issues/19796));
# `model_plumbing` saves it. What a file cannot hold is the order in which `fit(...,
# shuffle=True)` draws the batches: it comes from the session's global random state. The
# cell trains a small GAN two epochs straight, and one epoch, saved, reloaded, plus one:
# in the same session, and after re-seeding as a new session would. The model's state
# is restored exactly, so the losses match when the batches come in the same order.
# After re-seeding, on TensorFlow the order of epoch 2 came back too (the printout, from
# the backend that ran); on JAX and PyTorch, NumPy restarts at epoch 1's order and the
# loss differs.

# %%
def fresh_gan():
    keras.utils.set_random_seed(run.seed)
    model = GAN(make_generator(LATENT_DIM), make_discriminator(), LATENT_DIM, seed=run.seed)
    model.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
                  g_optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))
    return model


def last_d_loss(model, epochs):  # 4 batches per epoch, shuffled
    return model.fit(x_train[:4 * BATCH_SIZE], batch_size=BATCH_SIZE, epochs=epochs,
                     shuffle=True, verbose=0).history["d_loss"][-1]


path = artifacts / "01_gan_resume.keras"
straight = last_d_loss(fresh_gan(), epochs=2)
half = fresh_gan()
last_d_loss(half, epochs=1)
half.save(path)
same_session = last_d_loss(keras.saving.load_model(path, safe_mode=True), epochs=1)
keras.utils.set_random_seed(run.seed)  # a new session that seeds as this notebook does
new_session = last_d_loss(keras.saving.load_model(path, safe_mode=True), epochs=1)
print(f"d_loss of epoch 2, straight: {straight:.6f}")
print(f"resumed in the same session: {same_session:.6f} (difference "
      f"{abs(same_session - straight):.1e})")
print(f"resumed after re-seeding   : {new_session:.6f} (difference "
      f"{abs(new_session - straight):.1e})")
gan.save(artifacts / "01_gan.keras")  # the trained GAN, to train on later

# %% [markdown]
# ## References
#
# The original post cites no sources; these are the primary ones.
#
# - Goodfellow, I. et al. (2014). *Generative Adversarial Nets.* NeurIPS. arXiv:1406.2661.
# - Goodfellow, I. (2016). *NIPS 2016 Tutorial: Generative Adversarial Networks.*
#   arXiv:1701.00160.
# - Radford, A., Metz, L., Chintala, S. (2015). *Unsupervised Representation Learning with
#   Deep Convolutional Generative Adversarial Networks.* arXiv:1511.06434.
# - Arjovsky, M., Bottou, L. (2017). *Towards Principled Methods for Training Generative
#   Adversarial Networks.* ICLR. arXiv:1701.04862.
# - Heusel, M. et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a
#   Local Nash Equilibrium* (FID). arXiv:1706.08500.
# - Salimans, T. et al. (2016). *Improved Techniques for Training GANs.* arXiv:1606.03498.
# - TensorFlow tutorial *Deep Convolutional Generative Adversarial Network*,
#   tensorflow.org/tutorials/generative/dcgan.
