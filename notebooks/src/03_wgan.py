# %% [markdown]
# # 03 · WGAN and WGAN-GP: a critic that estimates a distance
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPOSITORY_PATH/blob/main/notebooks/03_wgan.ipynb)
#
# **What you will learn**
#
# - why the Wasserstein-1 distance gives a generator a direction where the Jensen-Shannon
#   divergence gives none;
# - how a **critic** network estimates that distance, and why it must be Lipschitz;
# - weight clipping (WGAN) and the gradient penalty (WGAN-GP) in one `train_step` for
#   TensorFlow, JAX and PyTorch;
# - how to check that the critic's estimate tracks sample quality.
#
# **Prerequisites.** Notebook 01 (a GAN and its `train_step`).
# **Time.** About 5 minutes on a laptop CPU for both models.
#
# It corrects the WGAN part of the post *生成对抗网络与生成模型的数学基础:如何理解WGAN和CGAN*
# ("The mathematics of GANs: understanding WGAN and CGAN"), whose "WGAN" is a least-squares
# GAN without a Lipschitz constraint, trained with one critic step per generator step.

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
# A **critic** $f$ scores images with one real number. In each training step it takes
# $n_{\text{critic}} = 5$ steps to widen the gap between its mean score on real and on
# generated images, under a Lipschitz constraint (clipping to $\pm c$ or a penalty
# $\lambda \cdot$ GP, defined below); then the generator takes one step to raise its images' score.

# %%
import gen_lib

gen_lib.diagram(
    boxes={"x": (2.2, 2.5, "real images x"), "z": (0, 1, "noise z"),
           "G": (2.2, 1, "generator G", "#cfe0f5"), "f": (4.6, 1, "critic f", "#fbd9b5"),
           "S": (7.0, 1, "scores\nf(x), f(G(z))"),
           "Lc": (7.0, 2.6, "critic loss\nE[f(G(z))] − E[f(x)]  (+ λ·GP)", "#fbd9b5"),
           "Lg": (7.0, -0.6, "generator loss\n−E[f(G(z))]", "#cfe0f5")},
    arrows=[("z", "G"), ("G", "f", "G(z)"), ("x", "f"), ("f", "S"), ("S", "Lc"), ("S", "Lg"),
            ("Lc", "f", "1. updates f\n(n_critic times;\nclip to ±c in WGAN)", "tab:orange",
             "dashed"),
            ("Lg", "G", "2. then updates G once", "tab:blue", "dashed")],
    title="one training step of a WGAN", figsize=(10, 3.6));

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
# An **epoch** is one pass over the training images; each training step uses
# `N_CRITIC * BATCH_SIZE` = 320 of them, 64 per critic step. `gen_lib.run_profile` returns
# these settings (a quick try may shrink them) and seeds every random generator.

# %% tags=["parameters"]
DATASET = "mnist"  # or "fashion_mnist"
SPLIT = "train"  # or "test": 10k images, 6x the epochs (taken when offline)
EPOCHS = 4  # 4 x 187 = 748 generator steps on the 60k train split
BATCH_SIZE = 64  # real images per critic step (m = 64 in both papers)
N_CRITIC = 5  # critic steps per generator step (both papers)
LATENT_DIM = 64
# WGAN, weight clipping (Arjovsky et al. 2017, Algorithm 1)
CLIP_VALUE = 0.01
CLIP_LEARNING_RATE = 5e-5  # RMSprop
# WGAN-GP, gradient penalty (Gulrajani et al. 2017, Algorithm 1)
GP_WEIGHT = 10.0  # lambda
GP_LEARNING_RATE = 1e-4  # Adam with beta_1 = 0, beta_2 = 0.9
GP_BETA_1, GP_BETA_2 = 0.0, 0.9
FD_SAMPLES = 5000  # samples for the final quality number
CURVE_SAMPLES = 1000  # samples for the quality measured after every epoch (cheaper)

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES,
                          dataset=DATASET)

# %% [markdown]
# ## Theory
#
# ### Why not Jensen-Shannon
#
# Let $P_r$ be the data distribution and $P_g$ the generator's. With an optimal
# discriminator, the minimax GAN minimises the Jensen-Shannon divergence $\mathrm{JS}(P_r,
# P_g)$ (Goodfellow et al. 2014, Thm. 1). Images lie near thin, low-dimensional sets, so
# early in training the two distributions barely overlap; then JS sits at its maximum,
# $\log 2$, and its gradient vanishes (Arjovsky & Bottou 2017, Thms. 2.3-2.4). Notebook
# 01's non-saturating loss does not minimise JS: with an optimal $D$ its gradient is that
# of $\mathrm{KL}(P_g \Vert P_r) - 2\,\mathrm{JS}(P_r, P_g)$, and it fails through unstable,
# high-variance gradients (ibid., Thms. 2.5-2.6).
#
# The **Wasserstein-1** distance is the least mean distance mass must travel to turn
# $P_g$ into $P_r$:
#
# $$W(P_r, P_g) = \inf_{\gamma \in \Pi(P_r, P_g)}
#   \mathbb{E}_{(x, y) \sim \gamma}\,\lVert x - y \rVert,$$
#
# where the **transport plans** $\Pi(P_r, P_g)$ are the joint distributions with marginals
# $P_r$ and $P_g$. It grows with the distance between the sets, overlapping or not (Arjovsky
# et al. 2017, §2, Example 1). Below, two uniform distributions of width $a$ slide apart by
# $\theta$: lines are closed forms, dots estimates from 2,000 samples.

# %%
def wasserstein_1d(a, b):
    """W1 between two 1-D samples of equal size: pair them in sorted order."""
    return np.abs(np.sort(a) - np.sort(b)).mean()


def js_divergence_1d(a, b, bin_width):
    """JS (in nats) between the histograms of two 1-D samples."""
    edges = np.arange(min(a.min(), b.min()), max(a.max(), b.max()) + bin_width, bin_width)
    p, q = np.histogram(a, edges)[0] / len(a), np.histogram(b, edges)[0] / len(b)
    m = (p + q) / 2
    kl = lambda u: np.sum(u[u > 0] * np.log(u[u > 0] / m[u > 0]))  # noqa: E731
    return 0.5 * kl(p) + 0.5 * kl(q)


shifts = np.linspace(0, 2, 81)
fig, (ax_js, ax_w) = plt.subplots(1, 2, figsize=(11, 3.6))
for a, color in [(1.0, "C0"), (0.1, "C1")]:
    cloud = np.random.default_rng(0).uniform(0, a, 2000)
    dots = shifts[::8]
    ax_js.plot(shifts, np.minimum(shifts / a, 1) * np.log(2), color=color, label=f"a = {a}")
    ax_js.plot(dots, [js_divergence_1d(cloud, cloud + s, a / 20) for s in dots], "o",
               color=color, ms=4)
    ax_w.plot(dots, [wasserstein_1d(cloud, cloud + s) for s in dots], "o", color=color,
              ms=4, label=f"a = {a}, samples")
ax_w.plot(shifts, shifts, "k-", lw=1, label=r"$W = \theta$ (both widths)")
ax_js.axhline(np.log(2), color="gray", ls=":", lw=1)
ax_js.annotate("flat at log 2: no gradient", (1.3, np.log(2)), (1.0, 0.45),
               arrowprops=dict(arrowstyle="->"))
ax_js.set(title="Jensen-Shannon divergence", ylabel="JS (nats)")
ax_w.set(title="Wasserstein-1 distance", ylabel="W (same unit as θ)")
for ax in (ax_js, ax_w):
    ax.set_xlabel(r"shift $\theta$ between $U[0, a]$ and $U[\theta, \theta + a]$")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ### The dual form: a critic
#
# The infimum over plans cannot be computed for images. The **Kantorovich-Rubinstein
# duality** (Villani 2009, Remark 6.5) gives the same number as a supremum over functions:
#
# $$W(P_r, P_g) = \sup_{\lVert f \rVert_L \le 1}
#   \mathbb{E}_{x \sim P_r}[f(x)] - \mathbb{E}_{x \sim P_g}[f(x)],$$
#
# over all **1-Lipschitz** $f$: $|f(x) - f(y)| \le \lVert x - y \rVert$. A network $f$, the
# **critic**, plays that function. With generated images $G(z)$, $z$ the noise, it
# **maximises** $\mathbb{E}[f(x)] - \mathbb{E}[f(G(z))]$ (its loss is the negative), and
# the **generator minimises** $L_G = -\mathbb{E}_z[f(G(z))]$, the only term it can change.
# Its score is unbounded: `Dense(1)`, no sigmoid. For an optimal critic, $L_G$'s gradient
# with respect to the generator's weights is that of $W$ (Arjovsky et al. 2017, Thm. 3);
# unlike with JS, a better critic does not kill the gradient, so both papers train it
# $n_{\text{critic}} = 5$ times per generator step.
#
# The constraint is what makes the supremum finite. Check it on 784-pixel "images": move
# every image by the same vector $\delta$. Then $W = \lVert \delta \rVert$, an optimal
# critic is $f^*(x) = -\delta \cdot x / \lVert \delta \rVert$, and $k f^*$, which is
# $k$-Lipschitz, reaches $k$ times that.

# %%
rng = np.random.default_rng(1)
real = rng.normal(size=(2000, 784))
delta = rng.normal(scale=0.05, size=784)
fake = real + delta  # the best plan moves each point by delta: W = ||delta||
w_true = np.linalg.norm(delta)
f_star = -delta / w_true  # a linear critic: f(x) = x @ f_star
for k in [1, 10, 100]:
    gap = (real @ (k * f_star)).mean() - (fake @ (k * f_star)).mean()
    print(f"critic {k:3d} f*:  E[f(real)] - E[f(fake)] = {gap:7.2f}   (W = {w_true:.2f})")

# %% [markdown]
# ### Weight clipping (WGAN)
#
# Arjovsky et al. (2017, §3) clip every critic weight to $[-c, c]$, $c = 0.01$, after each
# step. Weights in a box make every critic of the family $K$-Lipschitz for some $K$ that
# depends on $c$ and the architecture, so the best critic of the family reaches **at most**
# $K \cdot W$. Equality needs the family to contain $K f^*$, which the paper calls "a pretty
# strong assumption". They use RMSprop at $5 \cdot 10^{-5}$: with momentum (Adam) training
# was unstable (§4). And $c$ is hard to set: too large, and weights take long to reach
# their limits, so the critic is slow to train; too small, and gradients vanish (§3).
#
# For a linear critic $f(x) = w \cdot x$ with $|w_i| \le c$, $K = c\sqrt{784}$, and the best
# member is $w = -c\,\mathrm{sign}(\delta)$. It reaches $K \cdot W$ only when all
# $|\delta_i|$ are equal:

# %%
c, K = 0.01, 0.01 * np.sqrt(784)
sparse = np.where(np.arange(784) < 40, delta, 0.0)  # only 40 pixels move
for name, shift in [("equal |delta_i|", np.full(784, 0.05)), ("dense delta", delta),
                    ("40 pixels move", sparse)]:
    best_clipped = c * np.abs(shift).sum()  # -c sign(delta) . delta
    print(f"{name:16s}  K*W = {K * np.linalg.norm(shift):.3f}   best clipped critic = "
          f"{best_clipped:.3f}   ratio {best_clipped / (K * np.linalg.norm(shift)):.2f}")

# %% [markdown]
# ### The gradient penalty (WGAN-GP)
#
# A differentiable $f$ is 1-Lipschitz exactly when $\lVert \nabla_x f \rVert \le 1$
# everywhere. Gulrajani et al. (2017, Prop. 1) prove more: a differentiable optimal critic
# has gradient norm 1 on the straight lines between points **coupled by the optimal
# transport plan**.
# That plan is unknown, so they penalise the norm at random points between *independent*
# real and generated images, a heuristic that works well in practice (their §4):
#
# $$L_{\text{critic}} = \mathbb{E}[f(\tilde x)] - \mathbb{E}[f(x)]
#   + \lambda\, \mathbb{E}_{\hat x}\big[(\lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1)^2\big],
#   \qquad \hat x = \epsilon x + (1 - \epsilon) \tilde x,$$
#
# with $\tilde x = G(z)$, one $\epsilon \sim U[0, 1]$ per image, $\lambda = 10$ and Adam
# ($10^{-4}$, $\beta_1 = 0$, $\beta_2 = 0.9$). The penalty depends on the weights through an
# input gradient, so the loss is differentiated twice; `gen_lib.input_gradients` returns a
# gradient that can be. The norm is $\sqrt{\sum g^2 + 10^{-12}}$: the derivative of
# $\sqrt{s}$ is infinite at $s = 0$, so without the $10^{-12}$ a zero input gradient gives
# a finite penalty but a NaN *gradient* ($0 \cdot \infty$):

# %%
zero = ops.zeros((1, 4))
for guard in [0.0, 1e-12]:
    norm = lambda g: ops.sqrt(ops.sum(ops.square(g), axis=1) + guard)  # noqa: B023, E731
    value = ops.convert_to_numpy(norm(zero))[0]
    slope = ops.convert_to_numpy(gen_lib.input_gradients(norm, zero))[0]
    print(f"sqrt(sum g^2 + {guard:g}):  value {value:.1f}, gradient {slope}")

# %% [markdown]
# ## Data
#
# MNIST digits, scaled to $[-1, 1]$ to match the generator's `tanh`. Each step takes 320
# images: we keep a multiple of 320.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_all = gen_lib.to_tanh_range(images)
step_images = N_CRITIC * BATCH_SIZE
x_train = x_all[: len(x_all) // step_images * step_images]
print(run.describe(len(x_all)))
print(f"x_train: {x_train.shape} {x_train.dtype}, range [{x_train.min()}, {x_train.max()}], "
      f"{len(x_train) // step_images} generator steps per epoch")
gen_lib.image_grid(gen_lib.tanh_to_unit(x_train[:16]), ncols=8, title="real images");

# %% [markdown]
# ## Networks
#
# Both models use these networks. The generator is notebook 01's: noise to a 7×7×64 map,
# two stride-2 transposed convolutions, `tanh` out. The critic is notebook 01's
# discriminator as is: a **linear** `Dense(1)` at the end, and **no batch norm**, which
# WGAN-GP requires (it makes one image's score depend on the rest of the batch; exercise 3).

# %% tags=["model"]
def make_generator(latent_dim, name="generator"):
    noise = keras.Input((latent_dim,))
    h = layers.Dense(7 * 7 * 64, use_bias=False)(noise)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((7, 7, 64))(h)
    h = layers.Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False)(h)  # 14x14
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(h)
    return keras.Model(noise, image, name=name)


def make_critic(name="critic"):
    image = keras.Input((28, 28, 1))
    h = layers.Conv2D(32, 4, strides=2, padding="same")(image)  # 14x14
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Conv2D(64, 4, strides=2, padding="same")(h)  # 7x7
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    score = layers.Dense(1)(layers.Flatten()(h))  # no sigmoid, no batch norm: a real score
    return keras.Model(image, score, name=name)

# %%
generator, critic = make_generator(LATENT_DIM), make_critic()
probe_images = ops.convert_to_numpy(generator(np.random.default_rng(0).normal(
    size=(16, LATENT_DIM)).astype("float32")))
probe_scores = ops.convert_to_numpy(critic(x_train[:16]))
assert probe_images.shape == (16, 28, 28, 1), probe_images.shape
assert probe_images.min() >= -1 and probe_images.max() <= 1
assert probe_scores.shape == (16, 1), probe_scores.shape
print(f"generator: {generator.count_params():,} weights, G(z) {probe_images.shape} "
      f"in [{probe_images.min():.2f}, {probe_images.max():.2f}]  "
      "(checked: data shape, tanh range)")
print(f"critic:    {critic.count_params():,} weights, f(x) {probe_scores.shape}, "
      f"mean {probe_scores.mean():+.3f}  (checked: one unbounded score per image)")

# %% [markdown]
# ## The train_step
#
# One class serves both models: `clip_value=0.01` or `gp_weight=10.0` chooses the
# constraint. `gradient_penalty` is a plain function, the formula above line by line.
# Then `train_step`:
#
# 1. `ops.split` cuts the `n_critic * 64` real images from `fit` into `n_critic` batches:
#    **each critic step sees its own real batch**, as in Algorithm 1 of both papers (the
#    keras.io WGAN-GP example reuses one, a common simplification).
# 2. `critic_step`: fresh noise, the loss $\mathbb{E}[f(G(z))] - \mathbb{E}[f(x)]$
#    (plus $\lambda \cdot$ GP), one `critic_optimizer` step on the **critic's** variables
#    only (`gen_lib.minimize`); for WGAN, then clip every critic weight.
# 3. The generator step: fresh noise, loss $-\mathbb{E}[f(G(z))]$; the gradient flows
#    *through* the critic, but only the **generator's** variables move.
# 4. `update_trackers` logs running means of `w_estimate`, $\mathbb{E}[f(x)] -
#    \mathbb{E}[f(G(z))]$ (under clipping at most $K \cdot W$: compare it over time, not
#    across models), and of `gp` (0 under clipping).
#
# `@gen_lib.model_plumbing` writes `compile`, saving and the metric list (see *Under the
# hood*).

# %% tags=["model"]
def gradient_penalty(critic, real, fake, seed_generator):
    """E[(||grad f(x_hat)|| - 1)^2] at random points x_hat between real and fake images."""
    eps = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), 0.0, 1.0, seed=seed_generator)
    x_hat = eps * real + (1.0 - eps) * fake  # one eps ~ U[0, 1] per image
    grads = gen_lib.input_gradients(lambda x: critic(x, training=True), x_hat)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)  # finite gradient at 0
    return ops.mean(ops.square(norms - 1.0))


def check_settings(n_critic, clip_value, gp_weight):
    if (clip_value is None) == (gp_weight is None):
        raise ValueError("Choose one way to keep the critic Lipschitz: clip_value=0.01 (weight "
                         f"clipping) or gp_weight=10.0 (gradient penalty); got "
                         f"clip_value={clip_value!r}, gp_weight={gp_weight!r}.")
    if isinstance(n_critic, bool) or int(n_critic) != n_critic or n_critic < 1:
        raise ValueError(f"n_critic must be an integer >= 1 (5 in both papers), got {n_critic!r}.")
    if clip_value is not None and not clip_value > 0:
        raise ValueError(f"clip_value must be > 0 (0.01 in the paper), got {clip_value!r}.")
    if gp_weight is not None and not gp_weight >= 0:
        raise ValueError(f"gp_weight must be >= 0 (10 in the paper), got {gp_weight!r}.")

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
@gen_lib.model_plumbing(
    networks=["generator", "critic"],
    optimizers={"critic_optimizer": "critic", "g_optimizer": "generator"},
    config=["latent_dim", "n_critic", "clip_value", "gp_weight", "seed"],
    metrics=["c_loss", "g_loss", "w_estimate", "gp"],
)
class WGAN(keras.Model):
    """WGAN with weight clipping (`clip_value=`) or a gradient penalty (`gp_weight=`)."""

    def __init__(self, generator, critic, latent_dim, n_critic=5, clip_value=None,
                 gp_weight=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        check_settings(n_critic, clip_value, gp_weight)
        self.generator, self.critic, self.latent_dim = generator, critic, latent_dim
        self.n_critic, self.clip_value, self.gp_weight = int(n_critic), clip_value, gp_weight
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def critic_step(self, real):
        noise = keras.random.normal((ops.shape(real)[0], self.latent_dim),
                                    seed=self.seed_generator)

        def critic_loss():
            fake = self.generator(noise, training=True)
            w_estimate = (ops.mean(self.critic(real, training=True))
                          - ops.mean(self.critic(fake, training=True)))
            if self.gp_weight is None:
                return -w_estimate, (w_estimate, 0.0)
            penalty = gradient_penalty(self.critic, real, fake, self.seed_generator)
            return -w_estimate + self.gp_weight * penalty, (w_estimate, penalty)

        c_loss, (w_estimate, penalty) = gen_lib.minimize(
            critic_loss, self.critic.trainable_variables, self.critic_optimizer)
        if self.clip_value is not None:  # WGAN: every weight back into [-c, c]
            for v in self.critic.trainable_variables:
                v.assign(ops.clip(v, -self.clip_value, self.clip_value))
        return {"c_loss": c_loss, "w_estimate": w_estimate, "gp": penalty}

    @gen_lib.train_step
    def train_step(self, data):
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)

        # 1. n_critic critic steps, each on its own real batch and fresh noise.
        for real in ops.split(real_images, self.n_critic, axis=0):
            self.update_trackers(self.critic_step(real))

        # 2. One generator step on fresh noise: minimise -E[f(G(z))]. Only G changes.
        noise = keras.random.normal((ops.shape(real_images)[0] // self.n_critic,
                                     self.latent_dim), seed=self.seed_generator)

        def generator_loss():
            return -ops.mean(self.critic(self.generator(noise, training=True), training=True))

        g_loss = gen_lib.minimize(
            generator_loss, self.generator.trainable_variables, self.g_optimizer)
        return self.update_trackers({"g_loss": g_loss})

# %% [markdown] tags=["minimize-by-backend"]
# **The gradient step, written out.** In the critic step, `loss_fn` is `critic_loss`,
# `variables` are `self.critic.trainable_variables` and `optimizer` is
# `self.critic_optimizer` (the gradient penalty inside `critic_loss` is itself a gradient,
# so this step differentiates twice). One `gen_lib.minimize(loss_fn, variables, optimizer)`
# call stands for these lines, on each backend:

# %% [markdown]
# The constructor refuses settings that cannot work, and says why:

# %%
for bad in [dict(clip_value=0.01, gp_weight=10.0), dict(gp_weight=10.0, n_critic=0),
            dict(clip_value=-0.01)]:
    try:
        WGAN(generator, critic, LATENT_DIM, **bad)
    except ValueError as e:
        print(f"{bad}: {e}")

# %% [markdown]
# ## Training
#
# The quality scorer uses a small classifier shipped with gen_lib (the same weights on
# every backend) and reports its **floor**: the
# Fréchet distance (FD) between two sets of real digits of the same size. After every
# epoch, a callback measures the FD of `CURVE_SAMPLES` generated digits (fewer, so a
# higher floor) and the critic's estimate $\mathbb{E}[f(x)] - \mathbb{E}[f(G(z))]$ on fixed
# real images and noise.

# %%
unit_train = gen_lib.tanh_to_unit(x_all)
scorer = gen_lib.QualityScorer(unit_train, labels, fd_samples=run.fd_samples, dataset=DATASET)
curve_scorer = gen_lib.QualityScorer(unit_train, labels, dataset=DATASET,
                                     fd_samples=min(CURVE_SAMPLES, run.fd_samples))
eval_noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM))
eval_noise = eval_noise.astype("float32")
grid_noise = np.random.default_rng(2).normal(size=(32, LATENT_DIM)).astype("float32")
curve_real = x_all[np.random.default_rng(3).permutation(len(x_all))[: curve_scorer.fd_samples]]
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"FD floor: {scorer.floor:.2f} with {scorer.fd_samples} samples, "
      f"{curve_scorer.floor:.2f} with {curve_scorer.fd_samples} (after each epoch)")


def in_batches(network, inputs, batch_size=500):
    """network(inputs) in inference mode, as NumPy (a direct call: no compiled predict)."""
    return np.concatenate([ops.convert_to_numpy(network(inputs[i:i + batch_size], training=False))
                           for i in range(0, len(inputs), batch_size)])


def sample_images(generator, noise):
    return gen_lib.tanh_to_unit(in_batches(generator, noise))


class DistanceCurve(keras.callbacks.Callback):
    """After each epoch: the critic's estimate and the FD, on fixed inputs."""

    def __init__(self):
        super().__init__()
        self.epochs, self.w_estimates, self.fds = [], [], []

    def on_epoch_end(self, epoch, logs=None):
        fakes = in_batches(self.model.generator, eval_noise[: curve_scorer.fd_samples])
        scores = in_batches(self.model.critic, np.concatenate([curve_real, fakes]))
        self.epochs.append(epoch + 1)
        self.w_estimates.append(float(scores[: len(curve_real)].mean()
                                      - scores[len(curve_real):].mean()))
        self.fds.append(curve_scorer.fd(gen_lib.tanh_to_unit(fakes)))


def train(wgan, name):
    """Fit with a live sample grid, a NaN guard and the distance curve; time it."""
    curve = DistanceCurve()
    grid = gen_lib.SampleGrid(lambda z: sample_images(wgan.generator, z), grid_noise,
                              every=max(1, run.epochs // 6), ncols=8,
                              log_keys=("w_estimate", "gp"))
    start = time.perf_counter()
    history = wgan.fit(x_train, batch_size=N_CRITIC * BATCH_SIZE, epochs=run.epochs,
                       shuffle=True, callbacks=[grid, gen_lib.StopOnNaN(), curve], verbose=0)
    minutes = (time.perf_counter() - start) / 60
    print(f"{name}: {int(wgan.g_optimizer.iterations)} generator steps and "
          f"{int(wgan.critic_optimizer.iterations)} critic steps on {len(x_train)} images "
          f"({run.epochs} epochs) in {minutes:.1f} min")
    return history, curve, grid, minutes

# %% [markdown]
# ### WGAN: weight clipping, RMSprop
#
# The grid below updates in place while the model trains.

# %%
clip_generator = make_generator(LATENT_DIM, "generator_clip")
clip_critic = make_critic("critic_clip")
initial = np.concatenate([ops.convert_to_numpy(v).ravel()
                          for v in clip_critic.trainable_variables])
print(f"critic weights outside ±{CLIP_VALUE} before training: "
      f"{np.mean(np.abs(initial) > CLIP_VALUE):.1%} (the first clip moves them to the walls)")
wgan_clip = WGAN(clip_generator, clip_critic, LATENT_DIM, n_critic=N_CRITIC,
                 clip_value=CLIP_VALUE, seed=run.seed)
wgan_clip.compile(critic_optimizer=keras.optimizers.RMSprop(CLIP_LEARNING_RATE),
                  g_optimizer=keras.optimizers.RMSprop(CLIP_LEARNING_RATE))
clip_history, clip_curve, clip_grid, clip_minutes = train(wgan_clip, "WGAN (clipping)")

# %% [markdown]
# The same eight noise vectors through the generator as it trained, one row per recorded
# epoch:

# %%
clip_grid.plot_progress(num_images=8, title="WGAN (clipping): samples across training");

# %% [markdown]
# ### WGAN-GP: gradient penalty, Adam
#
# Same networks, fresh weights, the penalty instead of clipping.

# %%
gp_generator, gp_critic = make_generator(LATENT_DIM, "generator_gp"), make_critic("critic_gp")
wgan_gp = WGAN(gp_generator, gp_critic, LATENT_DIM, n_critic=N_CRITIC, gp_weight=GP_WEIGHT,
               seed=run.seed)
wgan_gp.compile(
    critic_optimizer=keras.optimizers.Adam(GP_LEARNING_RATE, beta_1=GP_BETA_1, beta_2=GP_BETA_2),
    g_optimizer=keras.optimizers.Adam(GP_LEARNING_RATE, beta_1=GP_BETA_1, beta_2=GP_BETA_2),
)
gp_history, gp_curve, gp_grid, gp_minutes = train(wgan_gp, "WGAN-GP")

# %%
gp_grid.plot_progress(num_images=8, title="WGAN-GP: samples across training");

# %% [markdown]
# ## Results
#
# ### Does the critic's estimate track sample quality?
#
# Each dot is one epoch: the critic's estimate against the FD of the generator's digits at
# that moment. If the estimate is a useful training signal, the two fall together and the
# dots run from top right to bottom left; the rank (Spearman) correlation is then near +1.
# The clipped critic's estimate is at most $K \cdot W$ for an unknown $K$, so each model
# has its own axes.

# %%
def rank_correlation(a, b):
    if len(a) < 3:
        return float("nan")  # too few epochs to rank
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (name, curve) in zip(axes, [("WGAN (clipping)", clip_curve), ("WGAN-GP", gp_curve)],
                             strict=True):
    ax.plot(curve.fds, curve.w_estimates, "-", color="lightgray", zorder=0)
    dots = ax.scatter(curve.fds, curve.w_estimates, c=curve.epochs, cmap="viridis", s=25)
    ax.set_xscale("log")
    ax.set_xlim(min(curve.fds) / 1.08, max(curve.fds) * 1.08)
    ticks = [t for t in (20, 30, 50, 100, 150, 200, 300, 500)
             if min(curve.fds) / 1.08 <= t <= max(curve.fds) * 1.08]
    if len(ticks) >= 2:  # plain numbers instead of crowded powers of ten
        ax.minorticks_off()
        ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set(title=f"{name}: Spearman {rank_correlation(curve.w_estimates, curve.fds):+.2f}",
           xlabel=f"FD of {curve_scorer.fd_samples} samples (log scale)",
           ylabel=r"critic's estimate $E[f(x)] - E[f(G(z))]$")
    ax.grid(alpha=0.3)
    fig.colorbar(dots, ax=ax, label="epoch")
fig.tight_layout()
for name, curve in [("WGAN (clipping)", clip_curve), ("WGAN-GP", gp_curve)]:
    peak = int(np.argmax(curve.w_estimates))
    print(f"{name:16s} Spearman(estimate, FD) over all {len(curve.epochs)} epochs: "
          f"{rank_correlation(curve.w_estimates, curve.fds):+.2f}; from the estimate's peak "
          f"(epoch {curve.epochs[peak]}) on: "
          f"{rank_correlation(curve.w_estimates[peak:], curve.fds[peak:]):+.2f}")
print(f"WGAN-GP penalty in the last epoch: {gp_history.history['gp'][-1]:.3f}")

# %% [markdown]
# ### What clipping does to the critic's weights
#
# Every critic weight after training. The clipped ones pile up at the two walls $\pm c$
# (Gulrajani et al. 2017, Fig. 1b); the penalty constrains the function, not the weights.

# %%
def critic_weights(critic):
    return np.concatenate([ops.convert_to_numpy(v).ravel() for v in critic.trainable_variables])


clip_weights, gp_weights = critic_weights(clip_critic), critic_weights(gp_critic)
fig, (ax_clip, ax_gp) = plt.subplots(1, 2, figsize=(11, 3.2))
ax_clip.hist(clip_weights, bins=60, color="C0")
ax_clip.set(title=f"WGAN critic (clipped to ±{CLIP_VALUE})",
            xticks=np.linspace(-CLIP_VALUE, CLIP_VALUE, 5))
ax_gp.hist(gp_weights, bins=60, color="C1")
ax_gp.set(title="WGAN-GP critic")
for ax in (ax_clip, ax_gp):
    ax.set(xlabel="weight value", ylabel="number of weights (log scale)", yscale="log")
fig.tight_layout()
at_wall = np.mean(np.abs(clip_weights) >= 0.99 * CLIP_VALUE)
print(f"clipped critic: {at_wall:.1%} of {len(clip_weights):,} weights within 1% of "
      f"±{CLIP_VALUE}; "
      f"WGAN-GP critic: max |w| = {np.abs(gp_weights).max():.3f}")

# %% [markdown]
# ### Samples and the quality number
#
# The same 32 noise vectors through each generator, then the FD (lower is better) next to
# its floor. The features come from an MNIST classifier, not Inception, so
# the values are not comparable with published FIDs (Heusel et al. 2017).

# %% tags=["gallery"]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
for ax, (name, gen) in zip(axes, [("WGAN (clipping)", clip_generator),
                                  ("WGAN-GP", gp_generator)], strict=True):
    grid = sample_images(gen, grid_noise).reshape(4, 8, 28, 28).transpose(0, 2, 1, 3)
    ax.imshow(grid.reshape(4 * 28, 8 * 28), cmap="gray", vmin=0, vmax=1)
    ax.set_title(name)
    ax.axis("off")
fig.tight_layout()
plt.show()
print(f"{'':16s} {'FD':>8s} {'/ floor':>8s} {'minutes':>8s}")
for name, gen, minutes in [("WGAN (clipping)", clip_generator, clip_minutes),
                           ("WGAN-GP", gp_generator, gp_minutes)]:
    fd = scorer.fd(sample_images(gen, eval_noise))
    print(f"{name:16s} {fd:8.2f} {fd / scorer.floor:7.1f}x {minutes:8.1f}")
print(f"{'real vs real':16s} {scorer.floor:8.2f} {1:7.1f}x   (floor, {scorer.fd_samples} samples)")
print(f"Result: WGAN-GP FD {fd:.2f}, {fd / scorer.floor:.1f} times its floor")

# %% [markdown]
# **What to look at.** Both models took the same number of generator steps: compare
# digits and FDs. A clipped critic with its weights at $\pm c$ has little freedom, and
# RMSprop at $5 \cdot 10^{-5}$ learns slowly. Where the estimate first rises, it measures
# the critic catching up rather than the generator improving: compare the correlations
# from the peak on. A small `gp` says the critic's gradient norm stays near 1 at the
# points $\hat x$.

# %% [markdown]
# ## Common mistakes: spot the bug
#
# Each mistake is the original post's: its TensorFlow 1 code (shortened), or its words put
# into Keras code.
#
# **1. The losses.**
#
# ```python
# gen_loss  = tf.reduce_mean(tf.nn.l2_loss(discriminator(gen_output)[1] - 1))
# real_loss = tf.reduce_mean(tf.nn.l2_loss(discriminator(x)[1] - 1))
# fake_loss = tf.reduce_mean(tf.nn.l2_loss(discriminator(gen_output)[1] + 1))
# ```
#
# Which GAN do these losses train, and what does `reduce_mean` average?
#
# <details><summary>Answer</summary>
#
# Squared distances to targets +1 (real) and -1 (fake), with the generator pulled to +1: a
# least-squares GAN (Mao et al. 2017, with a = -1, b = c = 1), not a WGAN. And
# `tf.nn.l2_loss(t)` already returns the scalar `sum(t**2) / 2`, so `reduce_mean` averages
# one number and the loss grows with the batch size. The WGAN losses are
# `c_loss = ops.mean(critic(fake)) - ops.mean(critic(real))` and
# `g_loss = -ops.mean(critic(fake))`.
# </details>
#
# **2. Who minimises what.** The post's discriminator "minimises the Wasserstein distance
# $W = \mathbb{E}[D(x)] - \mathbb{E}[D(G(z))]$". In code:
#
# ```python
# c_loss = ops.mean(critic(real)) - ops.mean(critic(fake))
# g_loss = -ops.mean(critic(fake))
# ```
#
# Where does this generator move its samples?
#
# <details><summary>Answer</summary>
#
# Away from the data. Minimising `c_loss`, the critic learns to score generated images
# *higher* than real ones; the generator then climbs that score, towards whatever the critic
# finds least real. The critic must *maximise* $\mathbb{E}[f(x)] - \mathbb{E}[f(G(z))]$ (it
# estimates $W$, a supremum) and the generator minimises it: `c_loss` has the opposite
# sign. The post's $W$ also lacks the supremum over 1-Lipschitz functions (mistake 3).
# </details>
#
# **3. The missing constraint.** The post's critic has no clipping and no penalty.
#
# ```python
# c_loss = ops.mean(critic(fake)) - ops.mean(critic(real))   # and nothing else
# ```
#
# What stops the critic's scores from growing?
#
# <details><summary>Answer</summary>
#
# Nothing. Without the Lipschitz constraint the supremum is infinite: the demo in *The dual
# form* showed $k f^*$ reaching $k \cdot W$. The critic's scores and its estimate drift
# upwards without limit, and the generator follows a function of ever larger slope
# (exercise 1 shows it). Clip the weights after each critic step, or add $\lambda \cdot$ GP.
# </details>
#
# **4. The schedule.** The post's algorithm: "2. train the generator; 3. train the
# discriminator; 4. repeat steps 2 and 3".
#
# What does the generator's gradient point at after one critic step?
#
# <details><summary>Answer</summary>
#
# At a poor critic. $L_G$'s gradient with respect to the generator's weights is that of
# $W$ only for an optimal critic (Arjovsky et al. 2017, Thm. 3); after one step the critic
# is far from it.
# Both papers take $n_{\text{critic}} = 5$ critic steps per generator step (exercise 4
# measures the difference).
# </details>
#
# **5. The critic's output.**
#
# ```python
# logits = tf.layers.dense(hidden2, 1, activation=None)
# output = tf.nn.sigmoid(logits)
# return output, logits
# ```
#
# The losses happen to use `logits`. What would go wrong with `output`?
#
# <details><summary>Answer</summary>
#
# A sigmoid bounds the score to $(0, 1)$: the estimate can never exceed 1, so it cannot
# represent $W$ (which can exceed 1) or $f^*$, and where the critic is confident the
# sigmoid is flat and the generator's gradient vanishes, notebook 01's saturation again. A
# critic returns one unbounded real number: `Dense(1)`, no activation, nothing to misuse.
# </details>
#
# %% [markdown]
# The post's other mistakes that still matter in Keras 3:
#
# | the post | what goes wrong | do instead |
# |---|---|---|
# | the critic is "a gradient-descent asynchronous solver" | no such thing | $n_{\text{critic}}$ critic steps, then one generator step |
# | "the Wasserstein distance is the loss" | $W$ is not computed; the critic reaches at most $K \cdot W$ | the critic maximises the dual objective |
# | generator loss "MSE or cross-entropy" | not a WGAN | $-\mathbb{E}[f(G(z))]$ |
# | one `train_op` for both players, no optimizer | the generator's loss moves the critic too | one optimizer per network, on its own variables |
# | new layers on every `discriminator(...)` call | real and fake images meet different critics | build each network once |
# | `tf.Session`, `leaky_reLU`, undefined `train_op`, two values unpacked into three | crashes | a Keras 3 `train_step` |

# %% [markdown]
# ## Exercises
#
# Solutions train on 9,600 images (30 generator steps per epoch at 5 critic steps).
#
# 1. **No constraint.** **Goal:** see mistake 3 happen. **Hint:** `gp_weight=0.0` turns
#    the penalty off. **What to expect:** the estimate grows every epoch, to about 560
#    after six: nothing bounds it.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    free = WGAN(make_generator(LATENT_DIM), make_critic(), LATENT_DIM, gp_weight=0.0)
#    free.compile(critic_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
#                 g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9))
#    logs = free.fit(x_train[:9600], batch_size=320, epochs=6, verbose=0).history
#    print([round(w, 1) for w in logs["w_estimate"]])
#    gen_lib.image_grid(sample_images(free.generator, grid_noise), ncols=8);
#    ```
#    </details>
#
# 2. **The clip value.** **Goal:** see the gradients vanish when $c$ is small.
#    **Hint:** train with `clip_value` 0.1, 0.01 and 0.001; average
#    $\lVert \nabla_x f(x) \rVert$ over real images (`gen_lib.input_gradients`).
#    **What to expect:** about 2, 0.14 and $3 \cdot 10^{-4}$: the input gradient, which
#    carries the generator's signal, vanishes.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    for c in [0.1, 0.01, 0.001]:
#        model = WGAN(make_generator(LATENT_DIM), make_critic(), LATENT_DIM, clip_value=c)
#        model.compile(critic_optimizer=keras.optimizers.RMSprop(5e-5),
#                      g_optimizer=keras.optimizers.RMSprop(5e-5))
#        model.fit(x_train[:9600], batch_size=320, epochs=2, verbose=0)
#        real = ops.convert_to_tensor(x_train[:256])
#        grads = ops.convert_to_numpy(gen_lib.input_gradients(model.critic, real))
#        norm = np.sqrt((grads**2).sum(axis=(1, 2, 3))).mean()
#        print(f"c = {c}: mean input-gradient norm {norm:.2e}")
#    ```
#    </details>
#
# 3. **Layer norm in the critic.** **Goal:** see why a WGAN-GP critic may use layer norm
#    (Ba et al. 2016) but not batch norm (Gulrajani et al. 2017, §4). **Hint:** put each
#    after the critic's convolutions; change one image of a batch and watch another
#    image's score; then train with layer norm. **What to expect:** batch norm moves the
#    other score (by $10^{-3}$ to $10^{-1}$, with fresh weights), so the per-image penalty
#    no longer constrains a per-image function; layer norm does not. FD after 8 epochs:
#    about as without normalization (280-410 against 360-385, two runs each).
#
#    <details><summary>Solution</summary>
#
#    ```python
#    def make_normed_critic(norm):
#        image = keras.Input((28, 28, 1))
#        h = image
#        for filters in (32, 64):
#            h = layers.Conv2D(filters, 4, strides=2, padding="same")(h)
#            h = norm()(h)
#            h = layers.LeakyReLU(negative_slope=0.2)(h)
#        return keras.Model(image, layers.Dense(1)(layers.Flatten()(h)))
#
#    batch = x_train[:8].copy()
#    # Keras' LayerNormalization() normalizes each pixel's channels (axis=-1), not the
#    # whole layer as Ba et al.; per image either way, which is what the penalty needs.
#    for norm in (layers.BatchNormalization, layers.LayerNormalization):
#        net = make_normed_critic(norm)
#        before = ops.convert_to_numpy(net(batch, training=True))[0, 0]
#        batch[7] = -1.0  # change the last image only
#        after = ops.convert_to_numpy(net(batch, training=True))[0, 0]
#        batch[7] = x_train[7]
#        print(f"{norm.__name__}: score of image 0 moved by {abs(after - before):.2e}")
#
#    for name, net in [("no norm", make_critic()),
#                      ("layer norm", make_normed_critic(layers.LayerNormalization))]:
#        model = WGAN(make_generator(LATENT_DIM), net, LATENT_DIM, gp_weight=10.0)
#        model.compile(critic_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
#                      g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9))
#        model.fit(x_train[:9600], batch_size=320, epochs=8, verbose=0)
#        print(f"{name}: FD {scorer.fd(sample_images(model.generator, eval_noise)):.1f}")
#    ```
#    </details>
#
# 4. **One critic step.** **Goal:** measure what $n_{\text{critic}} = 5$ buys.
#    **Hint:** train WGAN-GP with `n_critic=1` and `5` for the same 300 generator steps.
#    **What to expect:** FD about 545 with one critic step, about 215 with five, for three
#    to four times the time.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    for n in (1, 5):
#        model = WGAN(make_generator(LATENT_DIM), make_critic(), LATENT_DIM, n_critic=n,
#                     gp_weight=10.0)
#        model.compile(critic_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
#                      g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9))
#        start = time.perf_counter()  # 9,600 / (n * 64) steps per epoch, 2n epochs: 300 steps
#        model.fit(x_train[:9600], batch_size=n * 64, epochs=2 * n, verbose=0)
#        fd = scorer.fd(sample_images(model.generator, eval_noise))
#        print(f"n_critic = {n}: {int(model.g_optimizer.iterations)} generator steps, "
#              f"FD {fd:.1f}, {time.perf_counter() - start:.0f} s")
#    ```
#    </details>

# %% [markdown]
# ## Under the hood
#
# `gen_lib.minimize(loss_fn, variables, optimizer)` evaluates the loss, differentiates it
# with respect to `variables` only, and takes one optimizer step. On TensorFlow that is a
# `GradientTape`; the penalty's input gradient is a second tape inside the first:
#
# ```python
# with tf.GradientTape() as tape:                     # minimize(critic_loss, ...)
#     fake = generator(noise, training=True)
#     x_hat = eps * real + (1.0 - eps) * fake
#     with tf.GradientTape() as inner:                # gen_lib.input_gradients
#         inner.watch(x_hat)
#         scores = critic(x_hat, training=True)
#     g = inner.gradient(scores, x_hat)               # still depends on the critic's weights
#     norms = ops.sqrt(ops.sum(g**2, axis=(1, 2, 3)) + 1e-12)
#     loss = (ops.mean(critic(fake, training=True)) - ops.mean(critic(real, training=True))
#             + 10.0 * ops.mean((norms - 1) ** 2))
# variables = critic.trainable_variables              # the critic's only
# critic_optimizer.apply(tape.gradient(loss, variables), variables)
# ```
#
# On JAX a loss is a pure function of the weights' values; the model runs on values with
# `stateless_call`:
#
# ```python
# def critic_loss(trainable, non_trainable, real, fake, x_hat):
#     f = lambda x: critic.stateless_call(trainable, non_trainable, x, training=True)[0]
#     g = jax.grad(lambda x: ops.sum(f(x)))(x_hat)     # input gradient, differentiable again
#     norms = ops.sqrt(ops.sum(g**2, axis=(1, 2, 3)) + 1e-12)
#     return ops.mean(f(fake)) - ops.mean(f(real)) + 10.0 * ops.mean((norms - 1) ** 2)
#
# loss, grads = jax.value_and_grad(critic_loss)(trainable, non_trainable, real, fake, x_hat)
# trainable, opt_vars = critic_optimizer.stateless_apply(opt_vars, grads, trainable)
# ```
#
# Keras calls a JAX `train_step(state, data)` and expects `(logs, new_state)` back.
# `@gen_lib.train_step` lets you write the stateful version once: on JAX it maps every
# variable to its value in `state` inside a `keras.StatelessScope`, runs your code, and
# reads the new values back; on TensorFlow and PyTorch it changes nothing.
#
# `@gen_lib.model_plumbing` writes what every two-optimizer model repeats:
# `compile(critic_optimizer=..., g_optimizer=...)`, which builds each optimizer for its
# network and makes the model own their state (else JAX would freeze the second
# optimizer's moments and saving would drop them); `get_config` / `from_config`;
# `get_compile_config` / `compile_from_config`; the `metrics` list. Source:
# REPOSITORY_URL/blob/main/gen_lib/models.py.
#
# **Saving.** A generator is a plain functional model: it saves to `.keras` and loads with
# `safe_mode=True`.

# %%
artifacts = Path("artifacts")
artifacts.mkdir(exist_ok=True)
for gen in (clip_generator, gp_generator):
    path = artifacts / f"03_wgan_{gen.name}.keras"
    gen.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    difference = np.abs(in_batches(reloaded, eval_noise[:64])
                        - in_batches(gen, eval_noise[:64])).max()
    assert difference < 1e-5, difference
    print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); max difference after reload: "
          f"{difference:.1e}")

# %% [markdown]
# **Resuming.** The whole WGAN also saves the constraint and $n_{\text{critic}}$, both
# optimizers' moments and step counts, and the position of its noise stream: training
# continues from that state (only `fit`'s shuffling is new).

# %%
for wgan in (wgan_clip, wgan_gp):
    path = artifacts / f"03_wgan_{wgan.generator.name.removeprefix('generator_')}.keras"
    wgan.save(path)
    resumed = keras.saving.load_model(path, safe_mode=True)
    assert (resumed.clip_value, resumed.gp_weight, resumed.n_critic) == (
        wgan.clip_value, wgan.gp_weight, wgan.n_critic)
    steps = [int(ops.convert_to_numpy(m.critic_optimizer.iterations)) for m in (resumed, wgan)]
    assert steps[0] == steps[1], steps
    difference = np.abs(in_batches(resumed.critic, x_train[:64])
                        - in_batches(wgan.critic, x_train[:64])).max()
    assert difference < 1e-5, difference
    print(f"saved {path}: {steps[0]} critic steps restored, critic difference {difference:.1e}")

# %% [markdown]
# ## References
#
# - Arjovsky, Chintala, Bottou (2017). *Wasserstein GAN.* ICML. arXiv:1701.07875 (§2
#   Example 1, §3, Thm. 3, §4, Algorithm 1).
# - Arjovsky, Bottou (2017). *Towards Principled Methods for Training Generative Adversarial
#   Networks.* ICLR. arXiv:1701.04862 (Thms. 2.3-2.6).
# - Ba, Kiros, Hinton (2016). *Layer Normalization.* arXiv:1607.06450.
# - Goodfellow et al. (2014). *Generative Adversarial Nets.* NIPS. arXiv:1406.2661 (Thm. 1).
# - Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville (2017). *Improved Training of
#   Wasserstein GANs.* NeurIPS. arXiv:1704.00028 (§3, Fig. 1b, Prop. 1, §4, Algorithm 1).
# - Heusel et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a Local
#   Nash Equilibrium* (FID). NIPS. arXiv:1706.08500.
# - Mao et al. (2017). *Least Squares Generative Adversarial Networks.* ICCV.
#   arXiv:1611.04076.
# - Nain (2020). *WGAN-GP overriding `Model.train_step`.* keras.io code example.
# - Villani (2009). *Optimal Transport: Old and New.* Springer (Remark 6.5).
