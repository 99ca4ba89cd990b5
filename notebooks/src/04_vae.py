# %% [markdown]
# # 04 · VAE: a variational autoencoder on binarized MNIST, and a real bound on −log p(x)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPOSITORY_PATH/blob/main/notebooks/04_vae.ipynb)
#
# **What you will learn**
#
# - the evidence lower bound (ELBO), derived, and which likelihoods make it a bound;
# - the closed-form Gaussian KL and the reparameterization trick, in one `train_step`;
# - a VAE measured in nats: the negative ELBO and a tighter importance-weighted bound;
# - active units, blur against holes, a 2-D code space and its decoded grid.
#
# **Prerequisites:** Keras `layers` and `fit`; Gaussians and the KL divergence.
# **Time:** 24 minutes for the stored run, measured on a 2-core CPU, TensorFlow (shared
# with other jobs at the time).
#
# The original post: the VAE parts of two undated Chinese blog posts comparing GANs and
# VAEs (*机器学习应用：变分自编码器与GAN*, and an untitled one). Its code does not run;
# repaired, it would train with a flipped-sign KL and a squared log-variance.

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

# %%
import gen_lib

gen_lib.diagram(
    boxes={"x": (0, 1, "binarized\ndigit x"),
           "enc": (1.7, 1, "encoder\n$q_\\phi(z|x)$"),
           "par": (3.4, 1, "$\\mu$, $\\log\\sigma^2$"),
           "eps": (5.1, 2.2, "$\\varepsilon\\sim N(0, I)$"),
           "z": (5.1, 1, "$z=\\mu+\\sigma\\varepsilon$"),
           "dec": (6.8, 1, "decoder\n$p_\\theta(x|z)$"),
           "rec": (8.6, 1, "reconstruction\n$-\\log p_\\theta(x|z)$", "#fde2c8"),
           "kl": (3.4, -0.3, "KL$(q_\\phi(z|x)\\,\\|\\,N(0, I))$", "#fde2c8"),
           "adam": (6.8, -0.3, "one Adam step on\nreconstruction + KL", "#f6d5d5")},
    arrows=[("x", "enc"), ("enc", "par"), ("par", "z"), ("eps", "z"), ("z", "dec"),
            ("dec", "rec", "logits"), ("par", "kl"), ("rec", "adam", "", "tab:red"),
            ("kl", "adam", "", "tab:red"),
            ("adam", "enc", "updates", "tab:red", "dashed"),
            ("adam", "dec", "updates", "tab:red", "dashed")],
    title="a VAE: both networks minimise one loss, the negative ELBO",
    figsize=(10, 3.6));

# %% [markdown]
# The encoder gives a Gaussian over codes $z$; a code drawn from it is decoded into one
# Bernoulli probability per pixel. The loss adds the reconstruction term and the KL of the
# encoder's Gaussian from the prior $N(0, I)$; one optimizer updates both networks on that
# sum: nothing is adversarial.
#
# ## Setup

# %%
import itertools
import time
from pathlib import Path

import gen_lib
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops

notebook_start = time.perf_counter()
print(gen_lib.device_report())

# %% [markdown]
# The settings; each is explained where it is used.

# %% tags=["parameters"]
DATASET = "mnist"  # or "fashion_mnist"
SPLIT = "train"  # or "test": 10k images, 6x the epochs (taken when offline)
EPOCHS = 8  # ~3,400 steps on 54k train images
BATCH_SIZE = 128
LATENT_DIM = 16  # the main model; a second one, with a 2-D code, is trained for plots
BETA = 1.0  # weight of the KL term: 1 is the VAE; reported numbers are always beta = 1
LEARNING_RATE = 1e-3  # Adam's default, the usual VAE setting
HELD_OUT = 0.1  # fraction of the split kept out of training, to measure the bound on
IWAE_K = 1000  # importance samples per image (Burda et al. use 5000)
IWAE_IMAGES = 500  # held-out images for the importance-weighted estimate
FD_SAMPLES = 5000

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES,
                          dataset=DATASET)

# %% [markdown]
# ## Theory
#
# ### The ELBO
#
# A VAE is a latent-variable model: a code $z \sim p(z) = N(0, I)$, then an image $x \sim
# p_\theta(x \mid z)$ computed from $z$ by the *decoder* (weights $\theta$). Neither
# $p_\theta(x) = \int p_\theta(x \mid z)\,p(z)\,dz$ nor the posterior $p_\theta(z \mid x)$ has a
# closed form, so the *encoder* (weights $\phi$) approximates the posterior by
# $q_\phi(z \mid x) = N(\mu, \operatorname{diag}\sigma^2)$, outputting $\mu$ and
# $\log\sigma^2$. For any $q$, as $\log p_\theta(x)$ does not depend on $z$ and
# $p_\theta(x) = p_\theta(x, z) / p_\theta(z \mid x)$,
#
# $$\log p_\theta(x) = \mathbb{E}_q\Big[\log \frac{p_\theta(x, z)}{p_\theta(z \mid x)}\Big]
#   = \underbrace{\mathbb{E}_q\Big[\log \frac{p_\theta(x \mid z)\,p(z)}{q_\phi(z \mid x)}\Big]}_{\mathcal{L}\text{, the ELBO}}
#   + \underbrace{\mathbb{E}_q\Big[\log \frac{q_\phi(z \mid x)}{p_\theta(z \mid x)}\Big]}_{\mathrm{KL}(q_\phi(z \mid x)\,\|\,p_\theta(z \mid x))},$$
#
# (multiply and divide by $q$ inside the log); splitting the log in $\mathcal{L}$,
#
# $$\mathcal{L} = \mathbb{E}_{q}[\log p_\theta(x \mid z)] - \mathrm{KL}(q_\phi(z \mid x)\,\|\,p(z)).$$
#
# The KL to the posterior is never negative, so $\mathcal{L} \le \log p_\theta(x)$, with
# equality when $q$ is the true posterior (Kingma & Welling 2013, Eqs. 1-3). Training **maximises**
# $\mathcal{L}$ over $\theta$ and $\phi$ together: it **minimises** the reconstruction loss
# $-\mathbb{E}_q[\log p_\theta(x \mid z)]$ plus the KL term. A weight $\beta \ne 1$ on the
# KL gives the β-VAE (Higgins et al. 2017), whose loss is no longer $-\mathcal{L}$.
#
# A check where everything is known: $p(z) = N(0, 1)$, $p(x \mid z) = N(z, 1)$,
# so $p(x) = N(0, 2)$ and $p(z \mid x) = N(x/2, 1/2)$.

# %%
def log_normal(v, mean, var):
    return -0.5 * ((v - mean) ** 2 / var + np.log(2 * np.pi * var))


x_toy, rng = 1.5, np.random.default_rng(0)
log_px_toy = log_normal(x_toy, 0.0, 2.0)
print(f"log p(x) = {log_px_toy:.4f}")
for name, m, v in [("q = the prior N(0, 1)", 0.0, 1.0), ("q = N(1, 0.2)", 1.0, 0.2),
                   ("q = the posterior N(x/2, 1/2)", x_toy / 2, 0.5)]:
    z_toy = m + np.sqrt(v) * rng.standard_normal(200_000)
    elbo_toy = np.mean(log_normal(x_toy, z_toy, 1.0) + log_normal(z_toy, 0.0, 1.0)
                       - log_normal(z_toy, m, v))
    print(f"{name:<31} ELBO {elbo_toy:8.4f}   "
          f"log p(x) - ELBO {log_px_toy - elbo_toy:.4f}")

# %% [markdown]
# ### The KL term and the reparameterization trick
#
# Against $N(0, I)$ the KL of a diagonal Gaussian has a closed form (Kingma & Welling 2013,
# App. B), summed over the $J$ latent dimensions:
#
# $$\mathrm{KL} = -\tfrac12 \sum_{j=1}^{J} \big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big).$$
#
# The log-variance enters once as it is and once through $\sigma^2 = \exp(\log\sigma^2)$,
# never squared; each term is $\ge 0$, and $0$ only at $\mu_j = 0, \sigma_j = 1$. The
# reconstruction term is estimated with one sample of $q$ per image; for its gradient to
# reach the encoder, the sample is written as
# $z = \mu + \sigma \odot \varepsilon$ with $\varepsilon \sim N(0, I)$: the randomness becomes
# an input, and $\partial z / \partial \mu = 1$, $\partial z / \partial \log\sigma^2 =
# \tfrac12 \sigma\varepsilon$ (Kingma & Welling 2013, §2.4); `gen_lib.Sampling` is that
# layer. The loss terms, one number per image:

# %% tags=["model"]
def gaussian_kl(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per image, summed over latent dimensions."""
    z_mean, z_log_var = ops.convert_to_tensor(z_mean), ops.convert_to_tensor(z_log_var)
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var),
                          axis=-1)


def bernoulli_nll(images, logits):
    """-log p(x | z) per image: binary cross-entropy from logits, summed over pixels."""
    bce = ops.binary_crossentropy(images, logits, from_logits=True)
    return ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=-1)


def binarize(images, seed):
    """Each pixel becomes 1 with probability its grey level, a fresh draw per call."""
    uniform = keras.random.uniform(ops.shape(images), seed=seed)
    return ops.cast(ops.less(uniform, images), "float32")

# %% [markdown]
# The closed form against a Monte Carlo estimate, $\mathrm{KL} = \mathbb{E}_q[\log q(z) -
# \log p(z)]$:

# %%
mean, log_var = np.array([[1.5, -0.5]], "float32"), np.array([[-1.0, 0.7]], "float32")
z_mc = mean + np.exp(0.5 * log_var) * rng.standard_normal((400_000, 2))
monte_carlo = np.mean((log_normal(z_mc, mean, np.exp(log_var))
                       - log_normal(z_mc, 0.0, 1.0)).sum(axis=1))
print(f"closed form {float(gaussian_kl(mean, log_var)[0]):.4f} nats, "
      f"Monte Carlo {monte_carlo:.4f} nats")

# %% [markdown]
# **Why the trick matters.** The gradient of $\mathbb{E}_q[f(z)]$ with respect to $\mu$ has
# two unbiased one-sample estimates: the *pathwise* one the trick gives, $\partial f /
# \partial z$ at $z = \mu + \sigma\varepsilon$, and the *score-function* one (REINFORCE,
# Williams 1992), $f(z)\,\partial \log q(z) / \partial\mu = f(z)\,(z - \mu)/\sigma^2$, which
# needs no gradient of $f$ but has a high variance (Kingma & Welling 2013, §2.2). A check with
# a toy decoder $f(z) = \sum_{j=1}^{J} \log N(x_j;\, z_j, 1)$, $x_j = 1.5$, $q = N(0,
# 0.5^2 I)$: the gradient with respect to $\mu_1$ is exactly $x_1 - \mu_1 = 1.5$.

# %%
print(f"{'J':>3}   pathwise: mean, std   score function: mean, std"
      "   draws for equal error")
for dim in (1, LATENT_DIM):
    z_toy = 0.5 * np.random.default_rng(0).standard_normal((100_000, dim))  # mu = 0
    f_toy = log_normal(1.5, z_toy, 1.0).sum(axis=1)
    pathwise = 1.5 - z_toy[:, 0]  # d f / d z_1, and d z_1 / d mu_1 = 1
    score = f_toy * z_toy[:, 0] / 0.5**2
    print(f"{dim:3d} {pathwise.mean():13.3f} {pathwise.std():6.2f} "
          f"{score.mean():17.3f} {score.std():8.2f} "
          f"{(score.std() / pathwise.std())**2:16,.0f}x")

# %% [markdown]
# ### The likelihood: binarized pixels
#
# The decoder outputs one logit $\ell_i$ per pixel, and $p_\theta(x \mid z) = \prod_i
# \mathrm{Bernoulli}(x_i;\, \mathrm{sigmoid}(\ell_i))$, a distribution over the $2^{784}$
# binary images: $-\log p_\theta(x \mid z)$ is the binary cross-entropy summed over pixels,
# in nats. On grey targets the formula is no log-probability: even a perfect decoder pays
# each grey pixel's entropy. So we model **binarized** MNIST, with **dynamic
# binarization** (Burda et al. 2015): each time a training image is seen, every pixel
# becomes 1 with probability equal to its grey level, so it overfits less. (Papers on one
# fixed binarization, Larochelle & Murray 2011, report numbers not comparable with these.)
# The held-out images are binarized once, with a fixed seed.
#
# A check on 3 pixels: $p(x \mid z)$ sums to 1 over the 8 binary images; a grey target
# costs nats even with the best logit.

# %%
patterns = np.array(list(itertools.product([0.0, 1.0], repeat=3)), "float32")
some_logits = np.tile(np.array([[1.5, -0.3, 0.2]], "float32"), (8, 1))
total = np.exp(-ops.convert_to_numpy(bernoulli_nll(patterns, some_logits))).sum()
grey = np.full((1, 3), 0.5, "float32")
grey_cost = float(bernoulli_nll(grey, np.zeros((1, 3), "float32"))[0])
print(f"sum of p(x | z) over the 8 binary images: {total:.6f}")
print(f"grey target 0.5 with its best logit 0: {grey_cost / 3:.4f} nats per pixel "
      "(log 2)")

# %% [markdown]
# ### The other likelihood: Gaussian pixels
#
# Grey images, and Fashion-MNIST's clothes, whose textures binarizing destroys, are often
# modelled with a density instead: the decoder outputs a mean $\hat x_i$ per pixel and
# $p_\theta(x \mid z) = \prod_i N(x_i;\, \hat x_i, \sigma^2)$, so with $D = 784$ pixels
#
# $$-\log p_\theta(x \mid z) = \frac{\lVert x - \hat x \rVert^2}{2\sigma^2}
#   + \frac{D}{2} \log(2\pi\sigma^2).$$
#
# That is where "MSE + KL" comes from, and it hides a choice. Times $2\sigma^2$, the loss is
# $\lVert x - \hat x \rVert^2 + 2\sigma^2\,\mathrm{KL}$: $\sigma$ acts as a β. Summed
# squared error + KL means $\sigma^2 = \tfrac12$; the *mean* over pixels + KL means
# $2\sigma^2 = 784$, noise of standard deviation 20 on pixels in $[0, 1]$. The best
# $\sigma^2$ is the mean squared error. These are nats of a *density*, which can exceed 1:
# not comparable with Bernoulli nats (Theis et al. 2016, §3.1). The *continuous Bernoulli*
# (Loaiza-Ganem & Cunningham 2019) normalises BCE on grey levels. A check on a made-up
# image and reconstruction:

# %%
x_grey = rng.uniform(size=784)
x_hat = np.clip(x_grey + 0.1 * rng.standard_normal(784), 0, 1)
mse = np.mean((x_grey - x_hat) ** 2)
for var in (0.5, 392.0, mse, mse / 4):
    nll = 784 / 2 * np.log(2 * np.pi * var) + np.sum((x_grey - x_hat) ** 2) / (2 * var)
    print(f"sigma^2 = {var:8.4f}: -log p(x | z) = {nll:8.1f} nats"
          + ("   (sigma^2 = the MSE: the minimum)" if var == mse else ""))

# %% [markdown]
# ### A tighter estimate: importance weighting
#
# The gap $\log p(x) - \mathcal{L} = \mathrm{KL}(q \,\|\, p(z \mid x))$ is the price of the
# Gaussian missing the posterior's shape. Burda et al. (2015) draw $k$ codes
# $z_1, \dots, z_k \sim q_\phi(z \mid x)$ with weights $w_i = p_\theta(x \mid z_i)\, p(z_i) /
# q_\phi(z_i \mid x)$ and define
#
# $$\mathcal{L}_k = \mathbb{E}\Big[\log \frac1k \sum_{i=1}^{k} w_i\Big].$$
#
# Each $w_i$ has mean $p_\theta(x)$, so by Jensen's inequality $\mathcal{L}_k \le \log
# p_\theta(x)$. Moreover $\mathcal{L}_1 = \mathcal{L}$, $\mathcal{L}_k \le \mathcal{L}_{k+1}$,
# and $\mathcal{L}_k \to \log p_\theta(x)$ as $k \to \infty$ if the weights are bounded
# (Burda et al. 2015, Theorem 1). So $-\mathcal{L}_k$ bounds $-\log p_\theta(x)$ from
# above, more tightly as $k$ grows, and $\mathcal{L}_k - \mathcal{L}$ is a lower bound on
# the average KL gap. Burda et al. report $-\mathcal{L}_{5000}$ as the test negative
# log-likelihood. Training here still uses $\mathcal{L}$.
#
# On the toy model with the poor $q = N(1, 0.2)$, $\mathcal{L}_k$ climbs towards $\log p(x)$:

# %% tags=["model"]
def log_mean_exp(values, axis=-1):
    """log(mean(exp(values))) along an axis, without overflow (NumPy, float64)."""
    values = np.asarray(values, "float64")
    top = values.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.mean(np.exp(values - top), axis=axis))


def log_importance_weights(encoder, decoder, images, k, rng):
    """log w = log p(x|z) + log p(z) - log q(z|x), k codes z ~ q(z|x) each: (n, k)."""
    z_mean, z_log_var = (ops.convert_to_numpy(t) for t in encoder(images)[:2])
    n, dim = z_mean.shape
    eps = rng.standard_normal((n, k, dim)).astype("float32")
    z = z_mean[:, None] + np.exp(0.5 * z_log_var)[:, None] * eps
    logits = decoder(z.reshape(n * k, dim))
    repeated = np.repeat(images, k, axis=0)
    log_px_z = -ops.convert_to_numpy(bernoulli_nll(repeated, logits))
    log_pz = -0.5 * (np.square(z) + np.log(2 * np.pi)).sum(-1)
    log_qz = -0.5 * (np.square(eps) + np.log(2 * np.pi) + z_log_var[:, None]).sum(-1)
    return log_px_z.reshape(n, k) + log_pz - log_qz


def importance_weighted_bound(log_w, k):
    """L_k per image from (n, K) log-weights: the mean over K // k groups of k."""
    n, groups = len(log_w), log_w.shape[1] // k
    return log_mean_exp(log_w[:, :groups * k].reshape(n, groups, k)).mean(axis=1)

# %%
z_toy = 1.0 + np.sqrt(0.2) * rng.standard_normal((2000, 1000))
log_w_toy = (log_normal(x_toy, z_toy, 1.0) + log_normal(z_toy, 0.0, 1.0)
             - log_normal(z_toy, 1.0, 0.2))
for k in (1, 10, 100, 1000):
    print(f"k = {k:4d}: L_k = {importance_weighted_bound(log_w_toy, k).mean():.4f}   "
          f"(log p(x) = {log_px_toy:.4f})")

# %% [markdown]
# ## Data
#
# `gen_lib.load_dataset` reads MNIST, scaled
# to $[0, 1]$. A random tenth is held out and binarized once (NumPy, seed 1: the same on
# every backend). Training images stay grey: the `train_step` binarizes each batch afresh.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_all = gen_lib.to_unit_range(images)
order = np.random.default_rng(0).permutation(len(x_all))
n_held_out = max(int(round(HELD_OUT * len(x_all))), 1)
held_out_idx, train_idx = order[:n_held_out], order[n_held_out:]
x_train = x_all[train_idx]  # grey levels in [0, 1]
x_held_out = x_all[held_out_idx]
x_held_out = (np.random.default_rng(1).uniform(size=x_held_out.shape)
              < x_held_out).astype("float32")
y_held_out = labels[held_out_idx]
print(run.describe(len(x_all)))
print(f"training on {len(x_train)} grey images, binarized afresh in every step; "
      f"{len(x_held_out)} held-out images binarized once, "
      f"values {np.unique(x_held_out)}")
draws = [ops.convert_to_numpy(binarize(x_train[:8], seed=s)) for s in (10, 11, 12)]
gen_lib.image_grid(np.concatenate([x_train[:8], *draws]), ncols=8,
                   title="training digits and three of their binarizations",
                   row_labels=["grey", "draw 1", "draw 2", "draw 3"]);

# %% [markdown]
# ## Networks
#
# The encoder downsamples 28 → 14 → 7 with two stride-2 convolutions, then a dense layer and
# **two linear heads with bias**: $\mu$ and $\log\sigma^2$ (no activation: a log-variance
# can be any real number). `Sampling` draws $z$. The decoder mirrors it and ends **without
# a sigmoid**: one logit per pixel, read with `from_logits=True`, numerically stable.

# %% tags=["model"]
def check_latent_dim(latent_dim):
    if not isinstance(latent_dim, (int, np.integer)) or isinstance(latent_dim, bool) \
            or latent_dim < 1:
        raise ValueError(f"latent_dim must be an integer >= 1, got {latent_dim!r}. "
                         "Use 2 to plot the latent space, 8-32 for better samples.")


def make_encoder(latent_dim, seed=None):
    check_latent_dim(latent_dim)
    image = keras.Input((28, 28, 1))
    h = layers.Conv2D(32, 4, strides=2, padding="same", activation="relu")(image)  # 14
    h = layers.Conv2D(64, 4, strides=2, padding="same", activation="relu")(h)  # 7x7
    h = layers.Dense(128, activation="relu")(layers.Flatten()(h))
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = gen_lib.Sampling(seed=seed, name="z")([z_mean, z_log_var])
    return keras.Model(image, [z_mean, z_log_var, z], name="encoder")


def make_decoder(latent_dim):
    check_latent_dim(latent_dim)
    z = keras.Input((latent_dim,))
    h = layers.Dense(7 * 7 * 64, activation="relu")(z)
    h = layers.Reshape((7, 7, 64))(h)
    h = layers.Conv2DTranspose(32, 4, strides=2, padding="same", activation="relu")(h)
    logits = layers.Conv2DTranspose(1, 4, strides=2, padding="same")(h)  # no sigmoid
    return keras.Model(z, logits, name="decoder")

# %% [markdown]
# Shapes, and the starting point: codes near the prior (small KL), and a reconstruction
# cost near $784 \log 2 = 543$ nats, a coin flip per pixel.

# %%
encoder = make_encoder(LATENT_DIM, seed=run.seed)
decoder = make_decoder(LATENT_DIM)
probe_mean, probe_log_var, probe_z = encoder(x_held_out[:16])
probe_logits = decoder(probe_z)
assert (tuple(probe_mean.shape) == tuple(probe_log_var.shape) == tuple(probe_z.shape)
        == (16, LATENT_DIM)), probe_z.shape
assert tuple(probe_logits.shape) == (16, 28, 28, 1), probe_logits.shape
probe_rec = ops.convert_to_numpy(bernoulli_nll(x_held_out[:16], probe_logits))
probe_kl = ops.convert_to_numpy(gaussian_kl(probe_mean, probe_log_var))
assert probe_rec.shape == probe_kl.shape == (16,) and (probe_kl >= 0).all()
print(f"encoder: {encoder.count_params():,} weights; mean, log-variance and z of shape "
      f"{tuple(probe_z.shape)} = (images, LATENT_DIM)")
print(f"decoder: {decoder.count_params():,} weights, "
      f"logits of shape {tuple(probe_logits.shape)}")
print(f"at initialisation: reconstruction {probe_rec.mean():.1f} nats/image "
      f"(784 log 2 = {784 * np.log(2):.1f}), KL {probe_kl.mean():.3f} nats/image")

# %% [markdown]
# ## The train_step
#
# 1. `binarize` draws a fresh binary version of the grey batch with the model's own
#    `SeedGenerator`, so the draws are reproducible.
# 2. `loss_terms` runs encoder → $(\mu, \log\sigma^2)$ → `Sampling` → decoder → logits and
#    returns both terms per image; the loss is reconstruction $+\ \beta \cdot$ KL, averaged
#    over the batch.
# 3. `gen_lib.minimize` differentiates it with respect to both networks' weights and takes
#    one Adam step (the lines it stands for are below the class). The gradient reaches
#    the encoder through the KL and, reparameterized, through $z$.
# 4. `update_trackers` keeps running means for `fit`'s logs; `@gen_lib.model_plumbing`
#    writes the rest (compile, trackers, saving).

# %% tags=["model"]
# 06 has its own VAE class, hence a package of this notebook's own
@keras.saving.register_keras_serializable(package="gen_notebooks_04")
@gen_lib.model_plumbing(networks=["encoder", "decoder"],
                        optimizers={"vae_optimizer": ("encoder", "decoder")},
                        config=["beta", "seed"],
                        metrics=["loss", "reconstruction", "kl"])
class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta=1.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        if not beta >= 0:  # also refuses NaN
            raise ValueError(f"beta must be >= 0, got {beta!r}: 1 is the VAE, "
                             "> 1 a beta-VAE, 0 a plain autoencoder with noise.")
        self.encoder, self.decoder = encoder, decoder
        self.beta, self.seed = float(beta), seed
        self.seed_generator = keras.random.SeedGenerator(seed)  # for the binarization

    def loss_terms(self, images, training=False):
        """Reconstruction (-log p(x|z), one z ~ q(z|x)) and KL, per image, in nats."""
        z_mean, z_log_var, z = self.encoder(images, training=training)
        logits = self.decoder(z, training=training)
        return bernoulli_nll(images, logits), gaussian_kl(z_mean, z_log_var)

    @gen_lib.train_step
    def train_step(self, data):
        grey, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        images = binarize(grey, self.seed_generator)  # dynamic binarization

        def loss_fn():
            reconstruction, kl = self.loss_terms(images, training=True)
            reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
            return reconstruction + self.beta * kl, (reconstruction, kl)

        variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        loss, (reconstruction, kl) = gen_lib.minimize(loss_fn, variables,
                                                      self.vae_optimizer)
        return self.update_trackers({"loss": loss, "reconstruction": reconstruction,
                                     "kl": kl})

# %% [markdown] tags=["minimize-by-backend"]
# **The gradient step, written out.** In `train_step`, `loss_fn` returns reconstruction $+\
# \beta \cdot$ KL (and the two terms, to log), `variables` are the encoder's and the
# decoder's trainable weights together, and `optimizer` is `self.vae_optimizer`: one
# gradient of one loss, one Adam step for both networks.

# %% [markdown]
# ## Training
#
# `QualityScorer` measures the Fréchet distance (FD) between `FD_SAMPLES` generated and
# real digits in a small digit classifier's feature space, next to its **floor**, the
# distance between two disjoint sets of real digits. `negative_elbo` averages the two loss
# terms over images, one $z$ per image.

# %%
scorer = gen_lib.QualityScorer(x_all, labels, fd_samples=run.fd_samples,
                               dataset=DATASET)
eval_noise = np.random.default_rng(1).normal(
    size=(scorer.fd_samples, LATENT_DIM)).astype("float32")


def to_images(logits):
    """The Bernoulli means sigmoid(logits): the images we display and score."""
    return ops.convert_to_numpy(ops.sigmoid(ops.convert_to_tensor(logits)))


def sample_images(noise, decoder=decoder, batch_size=500):
    """Decode codes into Bernoulli means in [0, 1]."""
    return np.concatenate([to_images(decoder(noise[i:i + batch_size]))
                           for i in range(0, len(noise), batch_size)])


def negative_elbo(vae, x, batch_size=500):
    """Mean reconstruction term, KL term and their sum (beta = 1), in nats per image."""
    terms = [vae.loss_terms(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    reconstruction = np.concatenate([ops.convert_to_numpy(r) for r, _ in terms]).mean()
    kl = np.concatenate([ops.convert_to_numpy(k) for _, k in terms]).mean()
    return {"reconstruction": reconstruction, "kl": kl,
            "negative ELBO": reconstruction + kl}


vae = VAE(encoder, decoder, beta=BETA, seed=run.seed)
fd_untrained = scorer.fd(sample_images(eval_noise))
print(f"FD of the untrained decoder's samples: {fd_untrained:.2f} "
      f"(floor {scorer.floor:.2f})")
print("untrained, held-out images:",
      ", ".join(f"{k} {v:.1f}" for k, v in negative_elbo(vae, x_held_out).items()))

# %% [markdown]
# The grid: the decoder's images for 32 fixed prior codes, updated in place. `StopOnNaN`
# stops at a non-finite loss.

# %%
vae.compile(vae_optimizer=keras.optimizers.Adam(LEARNING_RATE))
grid_noise = np.random.default_rng(2).normal(size=(32, LATENT_DIM)).astype("float32")
sample_grid = gen_lib.SampleGrid(sample_images, grid_noise, ncols=16,
                                 every=max(1, run.epochs // 8),
                                 log_keys=("loss", "reconstruction", "kl"))
start = time.perf_counter()
history = vae.fit(x_train, batch_size=BATCH_SIZE, epochs=run.epochs, shuffle=True,
                  callbacks=[sample_grid, gen_lib.StopOnNaN()], verbose=0)
train_minutes = (time.perf_counter() - start) / 60

# %%
sample_grid.plot_progress(num_images=16);
print(f"trained on {len(x_train)} dynamically binarized digits: {run.epochs} epochs, "
      f"{int(vae.vae_optimizer.iterations)} steps of {BATCH_SIZE}, "
      f"in {train_minutes:.1f} min")

# %% [markdown]
# ## Results
#
# In nats per image. The KL is near 0 at initialisation (codes that say nothing); after
# the first epochs' swings it grows as the encoder buys better reconstructions with
# information; the sum falls.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, keys in ((left, ["loss", "reconstruction"]), (right, ["kl"])):
    for key in keys:
        values = history.history[key]
        ax.plot(range(1, len(values) + 1), values, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per image")
    ax.legend()
    ax.grid(alpha=0.3)
left.set_title("negative ELBO (loss) and reconstruction term")
right.set_title("KL term")
fig.tight_layout()

# %% [markdown]
# **Reconstructions and samples**: held-out digits, their reconstructions (Bernoulli means
# at $z = \mu$), decoded prior codes $z \sim N(0, I)$, and a binary draw of the second
# prior row (the model's samples are binary; grey rows are means).

# %% tags=["gallery"]
originals = x_held_out[:8]
reconstructions = to_images(decoder(encoder(originals)[0]))
prior_means = sample_images(eval_noise[:16])
uniform = np.random.default_rng(3).uniform(size=prior_means[8:].shape)
prior_draw = uniform < prior_means[8:]
gen_lib.image_grid(np.concatenate([originals, reconstructions, prior_means,
                                   prior_draw.astype("float32")]), ncols=8,
                   title="held-out digits, reconstructions, prior samples",
                   row_labels=["held out", "recon.", "prior", "prior", "a draw"]);

# %% [markdown]
# **Paths between codes.** Each row decodes 10 evenly spaced points on the straight line
# from $\mu$ of one held-out digit to $\mu$ of another, in the 16-D code space; the ends
# are reconstructions. The line's middle lies nearer the origin than either end (printed
# below), where prior draws, whose norms concentrate near $\sqrt{J}$, rarely go.

# %%
ends = ops.convert_to_numpy(encoder(x_held_out[:8])[0]).reshape(4, 2, LATENT_DIM)
steps_t = np.linspace(0, 1, 10)[None, :, None]
path_codes = ((1 - steps_t) * ends[:, :1] + steps_t * ends[:, 1:]).astype("float32")
gen_lib.image_grid(sample_images(path_codes.reshape(-1, LATENT_DIM)), ncols=10,
                   scale=0.8,
                   title="decoded straight paths between two held-out digits' codes",
                   row_labels=[f"{y_held_out[2 * i]} to {y_held_out[2 * i + 1]}"
                               for i in range(4)]);
norms = np.linalg.norm(path_codes, axis=-1)
prior_draws = np.random.default_rng(5).normal(size=(20_000, LATENT_DIM))
prior_norms = np.linalg.norm(prior_draws, axis=1)
print(f"mean norm of the codes: ends {norms[:, [0, -1]].mean():.2f}, midpoints "
      f"{norms[:, 4:6].mean():.2f}; 20,000 prior draws {prior_norms.mean():.2f} "
      f"(sqrt(J) = {np.sqrt(LATENT_DIM):.2f})")

# %% [markdown]
# **KL per latent dimension.** A dimension with KL near 0 carries no information. Burda et
# al. (2015, §5.2) call it *active* when its mean varies across images: $\mathrm{Var}_x(\mu_j)
# > 0.01$. An inactive dimension shows as a missing bar (stored run: 15 of 16 active). A few
# inactive dimensions are the KL
# switching off what the decoder does not use; *posterior collapse* is the whole code
# ignored, KL near 0 in every dimension (Bowman et al. 2016): exercise 2 produces it.

# %%
held_mean, held_log_var, _ = (ops.convert_to_numpy(t) for t in encoder(x_held_out))
kl_per_dim = (-0.5 * (1 + held_log_var - held_mean**2
                      - np.exp(held_log_var))).mean(axis=0)
active = held_mean.var(axis=0) > 0.01
fig, ax = plt.subplots(figsize=(8, 3))
ax.bar(np.arange(LATENT_DIM), kl_per_dim,
       color=np.where(active, "tab:blue", "tab:gray"))
ax.set_xlabel("latent dimension j")
ax.set_ylabel("mean KL (nats)")
ax.set_title(f"KL per dimension on held-out digits: {active.sum()} of {LATENT_DIM} "
             "active (blue)")
fig.tight_layout()
print(f"{active.sum()} of {LATENT_DIM} dimensions active; mean KL of the inactive "
      "ones: "
      f"{kl_per_dim[~active].sum():.3f} nats in all, of the active ones: "
      f"{kl_per_dim[active].sum():.2f}")

# %% [markdown]
# **The numbers**: the negative ELBO on held-out and training digits, then both bounds on
# the same held-out digits from the same codes. A difference of two bounds on the same
# digits has a *paired* standard error, from the per-digit differences; one mean's standard
# error, from the digits' spread, says how far other digits would move it.

# %%
elbo_held_out = negative_elbo(vae, x_held_out)
x_train_fixed = (np.random.default_rng(2).uniform(size=x_held_out.shape)
                 < x_train[:len(x_held_out)]).astype("float32")
elbo_train = negative_elbo(vae, x_train_fixed)
print("nats per image            reconstruction       KL   negative ELBO")
for name, terms in [("held-out digits", elbo_held_out),
                    ("training digits", elbo_train)]:
    print(f"{len(x_held_out)} {name:<20}{terms['reconstruction']:15.2f}"
          f"{terms['kl']:9.2f}"
          f"{terms['negative ELBO']:16.2f}")
print(f"held-out minus training: "
      f"{elbo_held_out['negative ELBO'] - elbo_train['negative ELBO']:.2f} nats, with "
      f"{len(x_train)} training digits, each seen {run.epochs} times")

iwae_images = x_held_out[:IWAE_IMAGES]
start = time.perf_counter()
iwae_rng = np.random.default_rng(4)
log_w = np.concatenate([
    log_importance_weights(encoder, decoder, iwae_images[i:i + 5], IWAE_K, iwae_rng)
    for i in range(0, len(iwae_images), 5)])
iwae_seconds, n_iwae = time.perf_counter() - start, len(log_w)
ks = [k for k in (1, 10, 100, 1000, 5000) if k <= IWAE_K]
bound_k = {k: importance_weighted_bound(log_w, k) for k in ks}  # L_k per digit
nll_k = {k: -bound.mean() for k, bound in bound_k.items()}
gap = bound_k[IWAE_K] - bound_k[1]  # per digit: -ELBO - (-L_k)
# Monte Carlo error of L_k for fixed digits (delta method): Var ~ (E[w^2] / E[w]^2 - 1) / k
ratio = np.exp(log_mean_exp(2 * log_w) - 2 * log_mean_exp(log_w))
print(f"\nthe first {n_iwae} held-out digits, {IWAE_K} codes each "
      f"({n_iwae * IWAE_K:,} decodes in {iwae_seconds:.0f} s):")
print(f"  negative ELBO (k = 1) {nll_k[1]:.2f} "
      f"(one z and the exact KL: "
      f"{negative_elbo(vae, iwae_images)['negative ELBO']:.2f})")
print(f"  -L_k (k = {IWAE_K})      {nll_k[IWAE_K]:.2f}")
print(f"  difference            {gap.mean():.2f}, paired standard error "
      f"{gap.std(ddof=1) / np.sqrt(n_iwae):.2f}")
print(f"standard error of -L_k from the digits' spread: "
      f"{bound_k[IWAE_K].std(ddof=1) / np.sqrt(n_iwae):.2f}; its Monte Carlo error for "
      f"these digits: about {np.sqrt(np.sum((ratio - 1) / IWAE_K)) / n_iwae:.2f}")
fd = scorer.fd(sample_images(eval_noise))
print(f"\nFD of prior samples {fd:.2f}, floor {scorer.floor:.2f}: "
      f"{fd / scorer.floor:.1f}x "
      f"the floor (untrained decoder {fd_untrained / scorer.floor:.0f}x)")
print(f"Result: bound on -log p(x) {nll_k[IWAE_K]:.2f} nats (k = {IWAE_K}); "
      f"FD {fd:.2f}, "
      f"{fd / scorer.floor:.1f} times its floor")

# %% [markdown]
# As $k$ grows, $-\mathcal{L}_k$ falls towards $-\log p_\theta(x)$, fast at first, then
# slowly. Its distance to the negative ELBO is a lower bound on the average
# $\mathrm{KL}(q \,\|\, p(z \mid x))$, reached only as $k \to \infty$: while the curve
# still falls, the true gap is larger.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(ks, [nll_k[k] for k in ks], marker="o",
        label="$-\\mathcal{L}_k$ (importance-weighted)")
ax.axhline(nll_k[1], color="gray", linestyle="--", label="negative ELBO ($k = 1$)")
ax.set_xscale("log")
ax.set_xlabel("k, importance samples per image")
ax.set_ylabel("nats per image")
ax.set_title(f"bounds on $-\\log p(x)$, {len(iwae_images)} held-out digits")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# **Published figures**: Burda et al. (2015, Table 1), $-\mathcal{L}_{5000}$ on the 10,000
# MNIST test digits, fully connected models trained 3,280 epochs on 59,600 digits; "IWAE"
# trains on $\mathcal{L}_{50}$. Not a controlled comparison.

# %%
steps = int(vae.vae_optimizer.iterations)
print(f"{'model':<58}{'-ELBO':>8}{'-L_k':>8}")
ours = f"this notebook: conv VAE, {LATENT_DIM}-d code, {steps} steps of {BATCH_SIZE}"
print(f"{ours:<58}"
      f"{nll_k[1]:8.2f}{nll_k[IWAE_K]:8.2f}   (k = {IWAE_K}, {n_iwae} held-out digits)")
for name, value in [("Burda et al.: VAE, 1 stochastic layer", 86.76),
                    ("Burda et al.: VAE, 2 stochastic layers", 85.33),
                    ("Burda et al.: IWAE trained with k = 50, 1 layer", 84.78),
                    ("Burda et al.: IWAE trained with k = 50, 2 layers", 82.90)]:
    print(f"{name:<58}{'':>8}{value:8.2f}   (k = 5000, 10,000 test digits)")
print(f"\nbudget: {steps * BATCH_SIZE / 1e6:.2f} M images seen here, "
      f"{3280 * 59600 / 1e6:.0f} M by Burda et al.")

# %% [markdown]
# **Blur or holes?** Prior samples can fall short of real digits in two ways: the decoder
# draws blurred means even where it knows the digit, or the prior draws codes where no
# digit was encoded (holes). Reconstructions at $z = \mu$ of `FD_SAMPLES` training digits
# use only codes where digits sit: scored with the same FD, next to those same real digits,
# they measure the first alone.

# %%
x_fd = x_train[:scorer.fd_samples]
uniform = np.random.default_rng(6).uniform(size=x_fd.shape)
x_fd_binary = (uniform < x_fd).astype("float32")
recon_fd = np.concatenate([to_images(decoder(encoder(x_fd_binary[i:i + 500])[0]))
                           for i in range(0, len(x_fd), 500)])
fd_real_same, fd_recon = scorer.fd(x_fd), scorer.fd(recon_fd)
print(f"FD, {len(x_fd)} images each (floor {scorer.floor:.2f}):")
print(f"  the training digits themselves            {fd_real_same:7.2f}")
print(f"  their reconstructions at z = mu (means)   {fd_recon:7.2f}")
print(f"  prior samples z ~ N(0, I) (means)         {fd:7.2f}")

# %% [markdown]
# ### A 2-D latent space
#
# A **second model**, with `LATENT_DIM = 2` and a quarter of the epochs, shows the whole
# code space.

# %%
epochs_2d = max(1, run.epochs // 4)
vae_2d = VAE(make_encoder(2, seed=run.seed + 1), make_decoder(2), beta=BETA,
             seed=run.seed + 1)
vae_2d.compile(vae_optimizer=keras.optimizers.Adam(LEARNING_RATE))
start = time.perf_counter()
vae_2d.fit(x_train, batch_size=BATCH_SIZE, epochs=epochs_2d, shuffle=True,
           callbacks=[gen_lib.StopOnNaN()], verbose=0)
terms_2d = negative_elbo(vae_2d, x_held_out)
print(f"2-D model: {int(vae_2d.vae_optimizer.iterations)} steps in "
      f"{(time.perf_counter() - start) / 60:.1f} min; held-out: "
      + ", ".join(f"{k} {v:.1f}" for k, v in terms_2d.items()) + " nats")

# %% [markdown]
# **The held-out digits' means** $\mu$, coloured by digit, over prior samples. Circles of
# radius 1, 2, 3 hold $1 - e^{-r^2/2}$ = 39%, 86%, 99% of a 2-D standard normal. If the
# *aggregate posterior* $q(z) = \mathbb{E}_x[q(z \mid x)]$ matched the prior, the means would
# be **narrower** than the prior: per dimension, total variance 1 = variance of the means +
# mean of $\sigma^2$. The totals below (stored run: 1.76, 1.13) exceed 1: some digits sit
# where the prior rarely draws; with $\sigma^2$ this small, prior codes also fall between
# digits.

# %%
codes, code_log_var, _ = (ops.convert_to_numpy(t) for t in vae_2d.encoder(x_held_out))
prior_points = np.random.default_rng(5).normal(size=(20_000, 2))
fig, ax = plt.subplots(figsize=(6.5, 5.5))
ax.scatter(*prior_points[:1000].T, s=4, color="lightgray", label="prior samples")
points = ax.scatter(*codes.T, c=y_held_out, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
for radius in (1, 2, 3):
    ax.add_patch(plt.Circle((0, 0), radius, fill=False, linestyle="--", color="gray"))
    ax.text(0, radius, f"{1 - np.exp(-radius**2 / 2):.0%}", ha="center", va="center",
            fontsize=8,
            bbox=dict(facecolor="white", edgecolor="none", pad=1))
ax.set(xlabel="$\\mu_1$", ylabel="$\\mu_2$", aspect="equal",
       title="held-out digits' means in the 2-D latent space")
ax.legend(loc="lower left")
fig.tight_layout()
inside = [(np.linalg.norm(prior_points, axis=1) < r).mean() for r in (1, 2, 3)]
print("share of 20,000 prior samples inside r = 1, 2, 3:",
      ", ".join(f"{v:.1%}" for v in inside))
print("per dimension: variance of the means + mean of the variances = total")
for j in range(2):
    var_means, mean_vars = codes[:, j].var(), np.exp(code_log_var[:, j]).mean()
    print(f"  z_{j + 1}: {var_means:.3f} + {mean_vars:.3f} = "
          f"{var_means + mean_vars:.3f}")

# %% [markdown]
# **The decoded grid** at the prior's quantiles $\Phi^{-1}(p) = \sqrt2\,\mathrm{erf}^{-1}(2p - 1)$
# for 15 evenly spaced $p$ per axis ($\Phi$: the standard normal CDF): each cell holds an
# equal share of prior mass. Top left: small $z_1$, large $z_2$. The grid spans
# $|z_j| \le 1.83$: digits the encoder places farther out (see the scatter) barely appear.

# %%
probabilities = (np.arange(15) + 0.5) / 15
quantiles = ops.convert_to_numpy(
    np.sqrt(2) * ops.erfinv(2 * probabilities - 1)).astype("float32")
grid_codes = np.array([[z1, z2] for z2 in quantiles[::-1] for z1 in quantiles],
                      "float32")
print("the 15 codes per axis:", np.round(quantiles, 2))
gen_lib.image_grid(sample_images(grid_codes, decoder=vae_2d.decoder), ncols=15,
                   scale=0.7,
                   title="decoded codes at the prior's quantiles (2-D model)");

# %% [markdown]
# **What to look at** (stored run). On the same 500 held-out digits, $-\log p_\theta(x) \le$
# 95.22 nats; the ELBO is 5.47 looser (paired standard error 0.11), a lower bound on the
# average $\mathrm{KL}(q \,\|\, p(z \mid x))$. Held-out digits cost 3.82 nats more than
# training ones: overfitting, with 9,000 digits seen 48 times each (Burda et al.'s notes
# report at most 0.75 with 59,600 digits; not controlled). FD: reconstructions at $z = \mu$
# score 2.06 where those real digits score 0.25 (below the floor: half of them are in the
# reference set), prior samples 42.03. Blur costs little; the prior's codes that fall
# where no digit was encoded cost most. In the 2-D model each digit takes a region.
#
# **VAE or GAN?** What this notebook measures: a held-out bound in nats, an encoder, and one
# loss that fell steadily; what it pays: prior samples at 30.6 times the FD floor, mostly
# from holes, and blurred means. A GAN (notebooks 01-03) has no encoder and no likelihood,
# only the FD, with the same scorer; its samples are often sharper, its training a game
# that can oscillate or drop modes (Goodfellow 2016, §3, §5.1). Across notebooks nothing is
# controlled (networks, losses, steps differ); notebook 06 combines the two.

# %% [markdown]
# ## Common mistakes: spot the bug
#
# **1.** The original post's KL term, added to the loss:
#
# ```python
# kl_divergence = 0.5 * tf.reduce_sum(tf.square(z_log_var) - tf.exp(z_log_var) + 1.0
#                                     - tf.square(z_mean), axis=-1)
# loss = tf.reduce_mean(x_error) + tf.reduce_mean(kl_divergence)
# ```
#
# What does minimising it do to the codes?
#
# <details><summary>Answer</summary>
#
# Two errors. The log-variance is squared; it must enter as it is. And the sign is flipped:
# $\tfrac12\sum(1 + \log\sigma^2 - \mu^2 - \sigma^2)$ is $-\mathrm{KL}$. The term has no lower
# bound: it falls without limit as $|\mu|$ or $\sigma^2$ grow, so minimising it drives the
# codes away from the prior, and prior samples decode to nothing. And the squared
# log-variance makes small variances expensive: at $\log\sigma^2 = -4$ the term is far
# above the true KL (table below): it is no divergence at all.
#
# </details>

# %%
def tutorial_kl(z_mean, z_log_var):
    """The original post's term: squared log-variance, flipped sign."""
    return 0.5 * ops.sum(ops.square(z_log_var) - ops.exp(z_log_var) + 1.0
                         - ops.square(z_mean), axis=-1)


print("   mean  log_var   correct KL   original post's term")
for m, v in [(0.0, 0.0), (1.0, 0.0), (3.0, 0.0), (10.0, 0.0), (0.0, -4.0), (0.0, 2.0)]:
    m_, v_ = np.array([[m]], "float32"), np.array([[v]], "float32")
    print(f"{m:7.1f} {v:8.1f} {float(gaussian_kl(m_, v_)[0]) + 0.0:12.3f} "
          f"{float(tutorial_kl(m_, v_)[0]) + 0.0:22.3f}")

# %% [markdown]
# **2.** The original post's sampling step:
#
# ```python
# z_mean, z_log_var = encoder(inputs)
# z = tf.keras.layers.Lambda(lambda t: t + 0.01 * tf.random.normal(tf.shape(t)))
# ```
#
# Is this the reparameterization trick?
#
# <details><summary>Answer</summary>
#
# No. The layer is never called on a tensor, and even if it were, fixed noise of scale 0.01
# ignores `z_log_var`: $\sigma$ is never used, gets no gradient, and the model is a plain
# autoencoder whose codes the prior does not describe. The fix is $z = \mu +
# \exp(\tfrac12\log\sigma^2)\,\varepsilon$, the `Sampling` layer.
#
# </details>
#
# **3.** The loss `tf.reduce_mean(x_error) + tf.reduce_mean(kl_divergence)`, with `x_error`
# the cross-entropy per pixel and the KL summed over dimensions. What is wrong with the scales?
#
# <details><summary>Answer</summary>
#
# The mean over 784 pixels divides the reconstruction term by 784 while the KL stays a sum:
# the KL weighs 784 times too much, as if $\beta = 784$. The encoder then prefers to send
# almost nothing: posterior collapse, every code decodes to about the same average digit.
# Sum both terms per image, then average
# over the batch. Exercise 2 measures it.
#
# </details>
#
# **4.** The second post's "VAE":
#
# ```python
# input_img = Input(shape=(28, 28, 1))
# x = Dense(128, activation='relu')(input_img)
# ...
# encoded = Dense(2, activation='tanh')(x)
# kl_loss = Lambda(lambda z: 1 - Dense(2, activation='sigmoid')(z)**2, ...)
# vae.compile(optimizer=Adam(0.001), loss=lambda y_true, y_pred: y_true[0] + y_pred[0])
# ```
#
# Which parts of a VAE are here?
#
# <details><summary>Answer</summary>
#
# None. Without `Flatten`, `Dense` acts on each pixel's channel: the "code" has shape
# (28, 28, 2), one per pixel. It is deterministic (no $\mu$, no $\sigma$, no sampling). The
# "KL" is no divergence, and builds a new, untrained `Dense` layer at every call. The loss
# adds target and prediction of the first image of the batch only.
#
# </details>
#
# **5.** "The VAE's objective is to maximise the reconstruction error and the KL
# divergence." True?
#
# <details><summary>Answer</summary>
#
# The direction is inverted: maximise the ELBO, that is minimise reconstruction loss + KL. The
# post's own formula, $\max\, \mathbb{E}[\log p(x \mid z)] - \beta\,\mathrm{KL}$, says so.
#
# </details>

# %% [markdown]
# **The other mistakes:**
#
# | the original post | instead |
# |---|---|
# | adversarial training, networks in turn | one joint step |
# | a KL "between encoder and decoder" | $\mathrm{KL}(q_\phi(z \mid x)\,\|\,p(z))$ |
# | the encoder outputs "a code and noise" | $(\mu, \log\sigma^2)$ |
# | VAEs by "Hinton, 2006" | Kingma & Welling 2013; Rezende et al. 2014 |
# | 256 latent dimensions; validation on training images | most inactive; hold digits out |
# | heads without bias; ReLU, BN, LeakyReLU | heads with bias; one activation |
# | `z` as a model input; MSE without KL | not a VAE |
# | `Adam(0.0002, 0.5)` from GANs | harmless; `Adam(1e-3)` |
# | `Input(shape=784)`; `layers.KerasTensor(...)(None)`; `decoder(z_mean, z_log_var, z)` | crashes: shapes are tuples; not a layer; one input |
# | `Dense(28, 28, 1)`; `Lambda` not imported | crashes: `activation=28`; `NameError` |
# | `Model(x_input, h)`, `h` from `z_input`; `compile(loss=<tensor>)` | crashes: disconnected graph; losses are callables |

# %% [markdown]
# ## Exercises
#
# 1. **The original post's KL.** **Goal:** watch it train. **Hint:** override `loss_terms`;
#    take 25 steps with `train_on_batch`. **What to expect:** in the stored run the `kl` log
#    is $-7 \cdot 10^{10}$ at step 15 while the means spread out, and NaN from step 20.
#
# <details><summary>Solution</summary>
#
# ```python
# class FlippedKL(VAE):
#     def loss_terms(self, images, training=False):
#         z_mean, z_log_var, z = self.encoder(images, training=training)
#         return bernoulli_nll(images, self.decoder(z)), tutorial_kl(z_mean, z_log_var)
#
# t0 = time.perf_counter()
# flipped = FlippedKL(make_encoder(LATENT_DIM, seed=7), make_decoder(LATENT_DIM))
# flipped.compile(vae_optimizer=keras.optimizers.Adam(LEARNING_RATE))
# batches = np.array_split(x_train[:run.size(3200, smoke=250)], 25)  # 25 batches
# for step, batch in enumerate(batches, start=1):
#     logs = flipped.train_on_batch(batch, return_dict=True)
#     if step % 5 == 0:
#         spread = ops.convert_to_numpy(flipped.encoder(x_held_out[:500])[0]).std()
#         print(f"step {step}: kl {float(logs['kl']):.3g}, std of the means {spread:.3g}")
# print(f"25 steps in {time.perf_counter() - t0:.0f} s")
# ```
#
# Why: the flipped term is $-\mathrm{KL}$ plus a squared log-variance, unbounded below in
# $\mu$ and $\sigma^2$, while the reconstruction term is bounded below by 0. Adam follows the
# unbounded term: the means and log-variances grow step after step, $\exp(\log\sigma^2)$
# overflows float32, and the loss becomes $\infty - \infty$, NaN.
#
# </details>

# %% [markdown]
# 2. **Mean instead of sum.** **Goal:** measure mistake 3. **Hint:** up to a scale Adam
#    ignores, it is `beta=784`; train on 9,000 digits for 12 epochs, count active units.
#    **What to expect:** stored run: no active unit, KL 0.00, held-out negative ELBO
#    205.46 (the main model: 100.10).
#
# <details><summary>Solution</summary>
#
# ```python
# t0 = time.perf_counter()
# mean_vae = VAE(make_encoder(LATENT_DIM, seed=8), make_decoder(LATENT_DIM), beta=784.0)
# mean_vae.compile(vae_optimizer=keras.optimizers.Adam(LEARNING_RATE))
# mean_vae.fit(x_train[:run.size(9000, smoke=256)], batch_size=BATCH_SIZE,
#              epochs=run.size(12, smoke=1), verbose=0)
# print({k: round(float(v), 2) for k, v in negative_elbo(mean_vae, x_held_out).items()})
# means = ops.convert_to_numpy(mean_vae.encoder(x_held_out)[0])
# steps = int(mean_vae.vae_optimizer.iterations)
# print("active units:", (means.var(axis=0) > 0.01).sum(),
#       f"; {steps} steps in {time.perf_counter() - t0:.0f} s")
# ```
#
# Why: $\frac{1}{784}\text{reconstruction} + \mathrm{KL}$ is $(\text{reconstruction} +
# 784\,\mathrm{KL})/784$, and Adam's steps barely depend on the loss's scale. At $\beta = 784$
# each nat the code carries costs 784 nats of loss, more than it can save in
# reconstruction, so the encoder's best answer is the prior for every digit: KL 0, all
# units inactive, and a decoder that draws the average digit. That is posterior collapse.
#
# </details>

# %% [markdown]
# 3. **How large a k?** **Goal:** is `IWAE_K` enough? **Hint:** $k = 5000$, Burda et al.'s
#    choice, on 50 held-out digits; compare $\mathcal{L}_{1000}$ and $\mathcal{L}_{5000}$
#    digit by digit. **What to expect:** stored run: $-\mathcal{L}_k$ = 104.28, 100.95,
#    99.63, 98.93, 98.59 for $k$ = 1 to 5000; 0.33 nats gained (paired standard error
#    0.07) over $k = 1000$, for 5 times the work.
#
# <details><summary>Solution</summary>
#
# ```python
# t0 = time.perf_counter()
# few, rng5000 = x_held_out[:run.size(50, smoke=4)], np.random.default_rng(6)
# log_w5000 = np.concatenate([
#     log_importance_weights(encoder, decoder, few[i:i + 2], 5000, rng5000)
#     for i in range(0, len(few), 2)])
# bounds = {k: importance_weighted_bound(log_w5000, k) for k in (1, 10, 100, 1000, 5000)}
# for k, bound in bounds.items():
#     print(f"k = {k:4d}: -L_k = {-bound.mean():.2f}")
# gain = bounds[5000] - bounds[1000]  # per digit
# print(f"gain from k = 1000 to 5000: {gain.mean():.2f} nats, paired standard error "
#       f"{gain.std(ddof=1) / np.sqrt(len(gain)):.2f}; "
#       f"in {time.perf_counter() - t0:.0f} s")
# ```
#
# Why: $\mathcal{L}_k$ only grows with $k$ (Burda et al. 2015, Theorem 1), fast while the
# extra codes find the posterior's mass that $q$ under-weights, then slowly: the bound at
# $k = 1000$ is not converged, so the true KL gap is larger than the notebook's difference.
# The paired standard error is small because both bounds move together from digit to digit;
# a standard error from the digits' spread, as the 1.10 above, would hide a 0.33-nat gain.
#
# </details>

# %% [markdown]
# 4. **Code size and the gap, controlled.** **Goal:** does the Gaussian $q$ miss the
#    posterior by less with a 2-D code than with a 16-D one? (The notebook's two models
#    also differ in steps.) **Hint:** train both alike (seed, 9,000 digits, 10 epochs);
#    compare $\mathcal{L}_{1000} - \mathcal{L}$ on the same 100 held-out digits, paired.
#    **What to expect:** stored run: gaps 2.65 nats (2-D) and 8.12 (16-D), a difference
#    of 5.47 with paired standard error 0.36; the 2-D model's bounds are far worse (169
#    against 118).
#
# <details><summary>Solution</summary>
#
# ```python
# t0 = time.perf_counter()
# subset, few = x_train[:run.size(9000, smoke=256)], x_held_out[:run.size(100, smoke=5)]
# gaps = {}
# for dim in (2, LATENT_DIM):
#     model = VAE(make_encoder(dim, seed=11), make_decoder(dim), seed=11)
#     model.compile(vae_optimizer=keras.optimizers.Adam(LEARNING_RATE))
#     model.fit(subset, batch_size=BATCH_SIZE, epochs=run.size(10, smoke=1), verbose=0)
#     lw = np.concatenate([  # the same noise draws (seed 7) for each group of 5 digits
#         log_importance_weights(model.encoder, model.decoder, few[i:i + 5], 1000,
#                                np.random.default_rng(7))
#         for i in range(0, len(few), 5)])
#     elbo, bound = importance_weighted_bound(lw, 1), importance_weighted_bound(lw, 1000)
#     gaps[dim] = bound - elbo
#     print(f"{dim:2d}-D: -ELBO {-elbo.mean():.2f}, -L_1000 {-bound.mean():.2f}, gap "
#           f"{gaps[dim].mean():.2f} (paired standard error "
#           f"{gaps[dim].std(ddof=1) / np.sqrt(len(few)):.2f})")
# change = gaps[LATENT_DIM] - gaps[2]
# print(f"16-D gap minus 2-D gap: {change.mean():.2f}, paired standard error "
#       f"{change.std(ddof=1) / np.sqrt(len(few)):.2f}; "
#       f"in {time.perf_counter() - t0:.0f} s")
# ```
#
# Why: with one change, the larger code has the larger gap: its $q$ misses
# $p(z \mid x)$ in more dimensions, each adding to $\mathrm{KL}(q \,\|\, p(z \mid x))$, and
# it carries more information (the 2-D model above: a KL of 5.3 nats), so its posterior has more
# shape to miss. This is a lower bound on each gap (ex. 3) and one seed; part of the gap
# is the encoder's amortization, not the Gaussian family (Cremer et al. 2018).
#
# </details>

# %% [markdown]
# 5. **A β sweep.** **Goal:** the trade β sets between KL and reconstruction. **Hint:**
#    `VAE(..., beta=b)` for $b$ = 0.25, 1, 4, 16, 5 epochs on 9,000 digits each; evaluate
#    with `negative_elbo` ($\beta = 1$), count active units. **What to expect:** stored run: KL 31.2, 15.0, 3.7, 0.2 and
#    reconstruction 117.4, 135.9, 168.2, 202.4; active units 16, 16, 15, 7.
#
# <details><summary>Solution</summary>
#
# ```python
# t0 = time.perf_counter()
# sweep = {}
# for b in (0.25, 1.0, 4.0, 16.0):
#     model = VAE(make_encoder(LATENT_DIM, seed=9), make_decoder(LATENT_DIM), beta=b,
#                 seed=9)
#     model.compile(vae_optimizer=keras.optimizers.Adam(LEARNING_RATE))
#     model.fit(x_train[:run.size(9000, smoke=256)], batch_size=BATCH_SIZE,
#               epochs=run.size(5, smoke=1), verbose=0)
#     sweep[b] = negative_elbo(model, x_held_out)
#     means = ops.convert_to_numpy(model.encoder(x_held_out)[0])
#     print(f"beta {b:5.2f}: reconstruction {sweep[b]['reconstruction']:6.1f}, KL "
#           f"{sweep[b]['kl']:5.1f}, negative ELBO {sweep[b]['negative ELBO']:6.1f}, "
#           f"active units {(means.var(axis=0) > 0.01).sum()}")
# fig, ax = plt.subplots(figsize=(5, 3.5))
# ax.plot([t["kl"] for t in sweep.values()],
#         [t["reconstruction"] for t in sweep.values()], marker="o")
# for b, t in sweep.items():
#     ax.annotate(f"beta = {b:g}", (t["kl"], t["reconstruction"]))
# ax.set(xlabel="KL (nats per image)", ylabel="reconstruction (nats per image)",
#        title="held-out digits: the beta trade-off")
# print(f"in {time.perf_counter() - t0:.0f} s")
# ```
#
# Why: β is the price of a nat in the code. Cheap information (β < 1) buys better
# reconstructions; dear information switches dimensions off, towards collapse. The
# points trace a rate-distortion curve (Alemi et al. 2018). The $\beta = 1$ negative ELBO
# came out 148.6 at β = 0.25 and 150.9 at β = 1: after only 5 epochs, one seed, a light KL
# acts like the KL warm-up of Bowman et al. (2016), not a better final objective.
#
# </details>

# %% [markdown]
# ## Under the hood
#
# **State on JAX.** Besides the weights, the VAE has state that changes at every step
# without a gradient: the positions of two noise streams (binarization, `Sampling`). JAX's
# compiled step is a pure function: `@gen_lib.train_step` passes every variable's value in
# and hands the new values back, `minimize` included, so each step draws fresh noise.
# `@gen_lib.model_plumbing` writes `compile(vae_optimizer=...)`, the configs and the
# trackers from its lists. Source: REPOSITORY_URL
#
# **Saving.** Encoder and decoder reload with `safe_mode=True`: `Sampling` is a registered
# layer, not a `Lambda`, so no code is loaded.

# %%
artifacts = Path("artifacts")
artifacts.mkdir(exist_ok=True)
encoder_path = artifacts / "04_vae_encoder.keras"
decoder_path = artifacts / "04_vae_decoder.keras"
encoder.save(encoder_path)
decoder.save(decoder_path)
encoder_reloaded = keras.saving.load_model(encoder_path, safe_mode=True)
decoder_reloaded = keras.saving.load_model(decoder_path, safe_mode=True)


def max_difference(a, b):
    return float(np.abs(ops.convert_to_numpy(a) - ops.convert_to_numpy(b)).max())


decoded_difference = max_difference(decoder_reloaded(eval_noise[:64]),
                                    decoder(eval_noise[:64]))
before, after = encoder(x_held_out[:64]), encoder_reloaded(x_held_out[:64])
encoded_difference = max(max_difference(after[i], before[i])
                         for i in (0, 1))  # mean, log-variance
assert max(decoded_difference, encoded_difference) < 1e-5, (decoded_difference,
                                                            encoded_difference)
print(f"saved {encoder_path} and {decoder_path}; max difference after reload: "
      f"decoder {decoded_difference:.1e}, "
      f"encoder mean/log-variance {encoded_difference:.1e}")

# %% [markdown]
# **Resuming training** needs the whole model: the optimizer's state and the noise
# streams' positions, all in the `.keras` file.

# %%
vae_path = artifacts / "04_vae.keras"
vae.save(vae_path)
vae_resumed = keras.saving.load_model(vae_path, safe_mode=True)
resumed_steps = [int(ops.convert_to_numpy(m.vae_optimizer.iterations))
                 for m in (vae_resumed, vae)]
assert resumed_steps[0] == resumed_steps[1], resumed_steps
difference = max_difference(vae_resumed.decoder(eval_noise[:64]),
                            decoder(eval_noise[:64]))
assert difference < 1e-5, difference
print(f"saved {vae_path}; {resumed_steps[0]} optimizer steps restored; "
      f"decoder difference {difference:.1e}")
print(f"the whole notebook ran in "
      f"{(time.perf_counter() - notebook_start) / 60:.1f} min")

# %% [markdown]
# ## References
#
# - Kingma, Welling (2013). *Auto-Encoding Variational Bayes.* arXiv:1312.6114.
# - Rezende, Mohamed, Wierstra (2014). *Stochastic Backpropagation and Approximate Inference
#   in Deep Generative Models.* arXiv:1401.4082.
# - Burda, Grosse, Salakhutdinov (2015). *Importance Weighted Autoencoders.* arXiv:1509.00519
#   (v4, ICLR 2016); notes on overfitting: https://github.com/yburda/iwae
# - Williams (1992). *Simple Statistical Gradient-Following Algorithms for Connectionist
#   Reinforcement Learning.* Machine Learning 8.
# - Bowman et al. (2016). *Generating Sentences from a Continuous Space.* CoNLL.
# - Theis, van den Oord, Bethge (2016). *A Note on the Evaluation of Generative Models.* ICLR.
# - Loaiza-Ganem, Cunningham (2019). *The Continuous Bernoulli.* NeurIPS.
# - Cremer, Li, Duvenaud (2018). *Inference Suboptimality in Variational Autoencoders.* ICML.
# - Alemi et al. (2018). *Fixing a Broken ELBO.* ICML.
# - Goodfellow (2016). *NIPS 2016 Tutorial: Generative Adversarial Networks.* arXiv:1701.00160.
# - Larochelle, Murray (2011). *The Neural Autoregressive Distribution Estimator.* AISTATS.
# - Higgins et al. (2017). *β-VAE: Learning Basic Visual Concepts with a Constrained
#   Variational Framework.* ICLR.
# - Hinton, Salakhutdinov (2006). *Reducing the Dimensionality of Data with Neural
#   Networks.* Science 313 (deterministic autoencoders, not VAEs).
