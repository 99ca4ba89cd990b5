# %% [markdown]
# # 03 · WGAN and WGAN-GP: a critic, the Wasserstein distance, two ways to keep it Lipschitz
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gen-lib/generative-notebooks/blob/main/notebooks/03_wgan.ipynb)
#
# **What you will learn**
#
# - what the Wasserstein-1 distance is, why it still gives the generator a useful gradient
#   when the JS divergence of notebook 01 does not, and how the Kantorovich-Rubinstein
#   duality turns it into something a network can estimate;
# - why that network, the **critic**, must be 1-Lipschitz and must *not* end in a sigmoid;
# - two ways to make it Lipschitz, side by side in one model class: **weight clipping**
#   (WGAN, Arjovsky et al. 2017) and the **gradient penalty** (WGAN-GP, Gulrajani et al.
#   2017), each with its paper's optimizer and $n_{\text{critic}} = 5$ critic steps per
#   generator step, in one `train_step` that runs on TensorFlow, JAX and PyTorch;
# - how to check that the critic's estimate of the distance tracks sample quality, by
#   plotting it next to a Fréchet distance measured at the same points.
#
# **How long it takes.** Each variant trains for about 750 generator steps (4 epochs of the
# 60k train split, or 24 epochs of the 10k test split offline), that is about 3,700 critic
# steps. The notebook trains both, one after the other; the README's results table lists the
# measured minutes per backend and the command that measured them. With a GPU it is much
# faster; nothing in the code changes.

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
import matplotlib.pyplot as plt
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
#
# Each training step of the model consumes `N_CRITIC * BATCH_SIZE` real images: one fresh
# batch of 64 for each critic step, as in Algorithm 1 of both papers. So an epoch of the 60k
# train split is 187 generator steps, and one of the 10k test split 31.

# %% tags=["parameters"]
DATASET = "mnist"  # or "fashion_mnist"
SPLIT = "train"  # "test" when only the 10k test files are on disk
EPOCHS = 4  # 748 generator steps on the 60k train split; GEN_LIB_EPOCHS=24 on the 10k test split
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
CURVE_SAMPLES = 1000  # samples for the FD measured after every epoch (fewer: it is cheaper)

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES)

# %% [markdown]
# ## Theory
#
# ### The Wasserstein-1 distance
#
# Think of the two distributions, the data $P_r$ and the generator's $P_g$, as two piles of
# earth of equal mass. The **Wasserstein-1** or **earth mover's** distance is the least
# average distance that earth must travel to turn one pile into the other:
#
# $$W(P_r, P_g) = \inf_{\gamma \in \Pi(P_r, P_g)} \; \mathbb{E}_{(x, y) \sim \gamma}
#   \big[\, \lVert x - y \rVert \,\big],$$
#
# where $\Pi(P_r, P_g)$ is the set of joint distributions ("transport plans") whose
# marginals are $P_r$ and $P_g$.
#
# **Why bother.** Images lie on thin, low-dimensional sets in pixel space, so early in
# training $P_r$ and $P_g$ hardly overlap. Then the Jensen-Shannon divergence that the
# original GAN minimises (notebook 01) is stuck at its maximum, $\log 2$, whatever the
# distance between the two sets, and gives the generator no direction to move. $W$ keeps
# growing with that distance, so it is continuous in the generator's parameters and its
# gradient says which way to go (Arjovsky et al. 2017, §2, Example 1). The cell after this
# section shows it with two 1-D point clouds.
#
# ### The dual form: a critic
#
# The infimum over transport plans cannot be computed for images. The
# **Kantorovich-Rubinstein duality** (Villani 2009) writes the same number as a supremum over
# functions:
#
# $$W(P_r, P_g) = \sup_{\lVert f \rVert_L \le 1} \;
#   \mathbb{E}_{x \sim P_r}[f(x)] - \mathbb{E}_{x \sim P_g}[f(x)],$$
#
# over all **1-Lipschitz** functions $f$: $|f(x) - f(y)| \le \lVert x - y \rVert$ for all
# $x, y$. A network $f_w$, the **critic**, plays the role of $f$:
#
# - **The critic maximises** $\mathbb{E}[f_w(x)] - \mathbb{E}[f_w(G(z))]$; at its optimum
#   this difference *estimates* $W$. As a loss to minimise:
#   $L_{\text{critic}} = \mathbb{E}_z[f_w(G(z))] - \mathbb{E}_x[f_w(x)]$.
# - **The generator minimises** the estimate. Only the second term depends on $G$:
#   $L_G = -\mathbb{E}_z[f_w(G(z))]$.
# - **Why 1-Lipschitz.** Without the constraint the supremum is infinite: multiply any $f$
#   that separates the two sets by 10 and the difference grows tenfold. The constraint is
#   what makes the maximum a distance; a $K$-Lipschitz family gives $K \cdot W$.
# - **Why no sigmoid.** $f$ is a real-valued score (a "potential"), not a probability. A
#   sigmoid bounds it to $(0, 1)$ and saturates, flattening the gradients the generator
#   learns from: the critic ends in a plain `Dense(1)`. That is why it is called a critic
#   rather than a discriminator.
# - **Train the critic more.** The generator's gradient is only as good as the critic's
#   estimate, so both papers take $n_{\text{critic}} = 5$ critic steps per generator step.
#
# ### Two ways to keep the critic Lipschitz
#
# **Weight clipping (WGAN).** After every critic step, clip every weight to $[-c, c]$,
# $c = 0.01$. A network whose weights lie in a compact box is $K$-Lipschitz for some $K$
# that depends on $c$ and the architecture, so the critic estimates $K \cdot W$. The paper
# uses RMSprop with learning rate $5 \cdot 10^{-5}$ for both networks: it found momentum
# (Adam) unstable with clipping. Clipping is crude: most weights end up at $\pm c$ (we plot
# them below), which limits what the critic can represent, and $c$ is hard to tune (too
# large, slow to train; too small, vanishing gradients; Gulrajani et al. 2017, §3).
#
# **Gradient penalty (WGAN-GP).** A differentiable function is 1-Lipschitz exactly when
# $\lVert \nabla_x f(x) \rVert \le 1$ everywhere, and the optimal critic has gradient norm 1
# on the straight lines between real and generated points. So penalise the deviation from 1
# at random points on such lines:
#
# $$L_{\text{critic}} = \mathbb{E}[f(\tilde x)] - \mathbb{E}[f(x)]
#   + \lambda \, \mathbb{E}_{\hat x}\big[(\lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1)^2\big],
#   \qquad \hat x = \epsilon x + (1 - \epsilon) \tilde x, \;\; \epsilon \sim U[0, 1],$$
#
# with $\tilde x = G(z)$, one $\epsilon$ per sample, $\lambda = 10$, and Adam with learning
# rate $10^{-4}$, $\beta_1 = 0$, $\beta_2 = 0.9$. Three details matter in code:
#
# - the penalty depends on the critic's weights *through its input gradient*, so the loss is
#   differentiated twice (double backprop); `gen_lib.input_gradients(fn, x)` returns an input
#   gradient that can be differentiated again, on every backend;
# - the norm is $\sqrt{\sum g^2 + \varepsilon}$: the derivative of $\sqrt{\cdot}$ at 0 is
#   infinite, and without the $\varepsilon$ one zero gradient turns the loss into NaN;
# - **no batch norm in the critic**: the penalty is per sample, and batch norm makes each
#   sample's score depend on the rest of the batch. Layer norm is fine; we use none.
#
# **The algorithm** (Algorithm 1 of both papers): repeat (1) $n_{\text{critic}}$ times:
# draw a real batch and fresh noise, take one critic step, then clip (WGAN only); (2) draw
# fresh noise and take one generator step through the critic, with the critic fixed.

# %% [markdown]
# **Seeing it.** Two clouds of 1,000 points, one shifted by $\theta$ from the other. In
# 1-D, $W$ is the mean distance between the sorted samples; the JS divergence we estimate
# from histograms. Once the clouds stop overlapping, JS stays at $\log 2 \approx 0.693$
# while $W$ keeps growing with $\theta$: only $W$ tells a generator which way is closer.

# %%
def wasserstein_1d(a, b):
    """W1 between two 1-D samples of equal size: match them in sorted order."""
    return np.abs(np.sort(a) - np.sort(b)).mean()


def js_divergence_1d(a, b, bins=200):
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    p = np.histogram(a, bins, (lo, hi))[0] / len(a)
    q = np.histogram(b, bins, (lo, hi))[0] / len(b)
    m = (p + q) / 2

    def kl(u, v):
        return np.sum(u[u > 0] * np.log(u[u > 0] / v[u > 0]))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


cloud = np.random.default_rng(0).uniform(0, 1, 1000)
print(" shift    W      JS")
for shift in [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]:
    print(f"{shift:6.1f} {wasserstein_1d(cloud, cloud + shift):6.2f} "
          f"{js_divergence_1d(cloud, cloud + shift):7.3f}")

# %% [markdown]
# ### Common mistakes (from the tutorial this notebook corrects)
#
# The original post (`shared/ERRATA.md`, section 4) gets the theory and the code wrong;
# its "WGAN" is in fact a least-squares GAN. The last rows are mistakes common in other
# WGAN-GP code.
#
# | mistake | what happens | fix |
# |---|---|---|
# | a "gradient-descent asynchronous solver" that *minimises* $W$ (WGAN-T01) | no such thing; a critic minimising the estimate makes it meaningless | the critic **maximises** $\mathbb{E}[f(x)] - \mathbb{E}[f(G(z))]$, the generator minimises it |
# | $W = \mathbb{E}[D(x)] - \mathbb{E}[D(G(z))]$ without the sup over 1-Lipschitz $f$ (WGAN-T02) | the difference is unbounded: scale $f$ and it grows without limit | the dual form, and enforce the constraint (clipping or penalty) |
# | critic ends in a sigmoid (WGAN-C02) | scores bounded to (0, 1) saturate; they cannot represent the dual potential | `Dense(1)`, no activation |
# | generator loss MSE or cross-entropy; `l2_loss(D(x) - 1)`, `l2_loss(D(G(z)) + 1)` (WGAN-T05, C03, C04) | a least-squares GAN (Mao et al. 2017), not a WGAN; `l2_loss` is already a sum, so it grows with the batch | $L_G = -\mathbb{E}[f(G(z))]$, $L_{\text{critic}} = \mathbb{E}[f(G(z))] - \mathbb{E}[f(x)]$ |
# | no clipping and no penalty (WGAN-C05) | nothing bounds the critic; its scores and losses drift without limit | clip to $[-0.01, 0.01]$ after each critic step, or add $\lambda \cdot \text{GP}$ |
# | one critic step per generator step, same steps as a GAN (WGAN-T04, C06) | the generator follows a poor estimate of $W$ | $n_{\text{critic}} = 5$ |
# | no optimizer given, or Adam with clipping (WGAN-C07) | the paper found momentum unstable with clipping | RMSprop($5 \cdot 10^{-5}$) for WGAN; Adam($10^{-4}$, 0, 0.9) for WGAN-GP |
# | "WGAN uses the Wasserstein distance as its loss" (WGAN-T03) | imprecise: $W$ cannot be computed; the critic *estimates* it, up to the Lipschitz constant | the critic's loss is the negated dual objective |
# | $\epsilon \sim N(0, 1)$ for the interpolation weight (section 4.3) | points off the segment between real and fake images | $\epsilon \sim U[0, 1]$, one per sample |
# | batch norm in a WGAN-GP critic (section 4.3) | the per-sample penalty no longer constrains a per-sample function | no normalisation, or layer norm |
# | $\lVert g \rVert$ as `sqrt(sum(g**2))` (section 4.3) | NaN as soon as one input gradient is exactly zero | `sqrt(sum(g**2) + 1e-12)` |
# | the penalty's input gradient taken outside the critic's loss (section 4.3) | the penalty is a constant for the optimizer: no effect | compute it *inside* the loss, differentiably (`gen_lib.input_gradients`) |
#
# The unbounded objective is easy to see for yourself: take the two clouds one unit apart
# and the functions $f(t) = k\,t$, which are $k$-Lipschitz. The "distance" they give grows
# with $k$; only $k = 1$ gives $W$.

# %%
shifted = cloud + 1.0
for k in [1, 10, 100]:
    difference = (k * shifted).mean() - (k * cloud).mean()
    print(f"f(t) = {k:3d} t:  E[f(shifted)] - E[f(cloud)] = {difference:6.1f}")
print(f"W1 = {wasserstein_1d(cloud, shifted):.2f}")

# %% [markdown]
# ## Data
#
# `gen_lib.load_dataset` reads MNIST through `keras.datasets`, or offline from a folder of
# the canonical idx files named by `GEN_LIB_DATA_DIR`. The generator ends in `tanh`, so we
# scale the pixels to $[-1, 1]$. Every training step takes `N_CRITIC * BATCH_SIZE` = 320
# real images, so we keep a multiple of 320 images (dropping at most 319) and every step
# gets $n_{\text{critic}}$ full batches.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_all = gen_lib.to_tanh_range(images)
step_images = N_CRITIC * BATCH_SIZE
x_train = x_all[: len(x_all) // step_images * step_images]
print(run.describe(len(x_all)))
print(f"x_train: {x_train.shape} {x_train.dtype}, range [{x_train.min()}, {x_train.max()}], "
      f"{len(x_train) // step_images} steps per epoch")
gen_lib.image_grid(gen_lib.tanh_to_unit(x_train[:32]), ncols=16, title="real images");

# %% [markdown]
# ## Networks
#
# Both variants use the same two architectures, written once. The generator is notebook
# 01's small DCGAN generator: it projects the noise to a 7×7×64 map and doubles the
# resolution twice with stride-2 transposed convolutions, with batch norm and ReLU in
# between and `tanh` at the end (batch norm is fine in the generator).
#
# The critic is notebook 01's discriminator with the two WGAN rules applied: **no batch
# norm** anywhere (for the penalty, see above; we keep the clipped critic identical so the
# comparison is about the constraint only) and a **linear** `Dense(1)` at the end: a score,
# not a probability. The networks are small on purpose, so that both variants train on a
# CPU in minutes (notebook 01 explains the widths).

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
generator = make_generator(LATENT_DIM)
critic = make_critic()
generator.summary()
critic.summary()

# %% [markdown]
# Check the shapes before training anything: the generator must produce exactly the data's
# shape and range, and the critic one real number per image, unbounded.

# %%
probe_noise = np.random.default_rng(0).normal(size=(16, LATENT_DIM)).astype("float32")
probe_images = ops.convert_to_numpy(generator(probe_noise))
probe_scores = ops.convert_to_numpy(critic(x_train[:16]))
assert probe_images.shape == (16, 28, 28, 1), probe_images.shape
assert probe_images.min() >= -1 and probe_images.max() <= 1
assert probe_scores.shape == (16, 1), probe_scores.shape
print(f"G(z): {probe_images.shape}, range [{probe_images.min():.2f}, {probe_images.max():.2f}]")
print(f"f(x) at init: {probe_scores.shape}, mean {probe_scores.mean():+.3f}")

# %% [markdown]
# ## The `train_step`
#
# One model class serves both variants; the constructor chooses the Lipschitz method,
# `clip_value=0.01` or `gp_weight=10.0`, and rejects anything else with a `ValueError` that
# says how to fix it. Read `train_step` top to bottom:
#
# 1. `unpack_x_y_sample_weight` takes the real images out of the batch that `fit` gives us.
#    That batch holds `n_critic * 64` images, and `ops.split` cuts it into `n_critic`
#    batches of 64: **each critic step gets its own real batch**, as in Algorithm 1 of both
#    papers. (keras.io's WGAN-GP example reuses one real batch for all critic steps with
#    fresh noise; that is simpler but shows the critic the same images five times.)
# 2. **Critic steps** (`critic_step`, `n_critic` times). Fresh noise from the model's
#    `SeedGenerator`; the loss is $\mathbb{E}[f(G(z))] - \mathbb{E}[f(x)]$, plus
#    $\lambda \cdot$ GP for WGAN-GP; `gen_lib.minimize` differentiates it with respect to
#    the **critic's** variables only and takes one `critic_optimizer` step. For WGAN, every
#    critic variable (kernels and biases) is then clipped in place with
#    `v.assign(ops.clip(v, -c, c))`. (Keras can also do this for you:
#    `kernel_constraint=` and `bias_constraint=` on every critic layer are applied by the
#    optimizer after each update. The explicit loop shows what happens.)
# 3. **The gradient penalty** (`gradient_penalty`): one $\epsilon \sim U[0, 1]$ per image,
#    the interpolates $\hat x$, their input gradients with `gen_lib.input_gradients` (a
#    nested `GradientTape` on TensorFlow, `create_graph=True` on PyTorch, `jax.grad` on
#    JAX: differentiable again in each), the per-image norm with $\varepsilon$ inside the
#    square root, and the mean squared deviation from 1.
# 4. **Generator step.** Fresh noise; the loss is $-\mathbb{E}[f(G(z))]$; the gradient flows
#    *through* the critic, but only the **generator's** variables are updated.
# 5. Update the metric trackers and return their running means, which `fit` prints.
#
# We log the critic's estimate of the distance, $\mathbb{E}[f(x)] - \mathbb{E}[f(G(z))]$,
# as `w_estimate` (the negated critic loss without the penalty), and the penalty as `gp`.
# For WGAN the estimate is $K \cdot W$ for an unknown $K$: compare it over time, not with
# the other variant.

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
class WGAN(keras.Model):
    """WGAN with weight clipping (`clip_value=`) or with a gradient penalty (`gp_weight=`)."""

    def __init__(self, generator, critic, latent_dim, n_critic=5, clip_value=None,
                 gp_weight=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        if (clip_value is None) == (gp_weight is None):
            raise ValueError(
                "Choose one way to keep the critic Lipschitz: WGAN(..., clip_value=0.01) "
                "for weight clipping, or WGAN(..., gp_weight=10.0) for the gradient penalty; "
                f"got clip_value={clip_value!r}, gp_weight={gp_weight!r}."
            )
        if isinstance(n_critic, bool) or int(n_critic) != n_critic or n_critic < 1:
            raise ValueError(
                f"n_critic must be an integer >= 1 (5 in both papers), got {n_critic!r}.")
        if clip_value is not None and not clip_value > 0:
            raise ValueError(f"clip_value must be > 0 (0.01 in the paper), got {clip_value!r}.")
        if gp_weight is not None and not gp_weight >= 0:
            raise ValueError(f"gp_weight must be >= 0 (10 in the paper), got {gp_weight!r}.")
        self.generator = generator
        self.critic = critic
        self.latent_dim = latent_dim
        self.n_critic = int(n_critic)
        self.clip_value = clip_value
        self.gp_weight = gp_weight
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.c_loss_tracker = keras.metrics.Mean(name="c_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.w_tracker = keras.metrics.Mean(name="w_estimate")
        self.gp_tracker = keras.metrics.Mean(name="gp")
        self.built = True  # both networks are built; the WGAN has no call() of its own

    def compile(self, critic_optimizer, g_optimizer):
        super().compile()
        self.critic_optimizer = critic_optimizer
        self.g_optimizer = g_optimizer
        gen_lib.track_optimizers(self, (critic_optimizer, self.critic),
                                 (g_optimizer, self.generator))

    @property
    def metrics(self):
        trackers = [self.c_loss_tracker, self.g_loss_tracker, self.w_tracker]
        return trackers + [self.gp_tracker] if self.gp_weight is not None else trackers

    def gradient_penalty(self, real, fake):
        eps = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), 0.0, 1.0,
                                   seed=self.seed_generator)
        interpolates = eps * real + (1.0 - eps) * fake
        grads = gen_lib.input_gradients(lambda x: self.critic(x, training=True), interpolates)
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)
        return ops.mean(ops.square(norms - 1.0))

    def critic_step(self, real):
        noise = keras.random.normal((ops.shape(real)[0], self.latent_dim),
                                    seed=self.seed_generator)

        def critic_loss():
            fake = self.generator(noise, training=True)
            w_estimate = (ops.mean(self.critic(real, training=True))
                          - ops.mean(self.critic(fake, training=True)))
            if self.gp_weight is None:
                return -w_estimate, (w_estimate, 0.0)
            penalty = self.gradient_penalty(real, fake)
            return -w_estimate + self.gp_weight * penalty, (w_estimate, penalty)

        loss, (w_estimate, penalty) = gen_lib.minimize(
            critic_loss, self.critic.trainable_variables, self.critic_optimizer)
        if self.clip_value is not None:
            for v in self.critic.trainable_variables:
                v.assign(ops.clip(v, -self.clip_value, self.clip_value))
        return loss, w_estimate, penalty

    @gen_lib.train_step
    def train_step(self, data):
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)

        # 1. n_critic critic steps, each on its own real batch and fresh noise.
        for real in ops.split(real_images, self.n_critic, axis=0):
            c_loss, w_estimate, penalty = self.critic_step(real)
            self.c_loss_tracker.update_state(c_loss)
            self.w_tracker.update_state(w_estimate)
            if self.gp_weight is not None:
                self.gp_tracker.update_state(penalty)

        # 2. One generator step on fresh noise: minimise -E[f(G(z))]. Only G changes.
        batch_size = ops.shape(real_images)[0] // self.n_critic
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

        def generator_loss():
            return -ops.mean(self.critic(self.generator(noise, training=True), training=True))

        g_loss = gen_lib.minimize(
            generator_loss, self.generator.trainable_variables, self.g_optimizer)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    # Saving: how to rebuild this model (its networks) and re-compile it (its optimizers).
    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "n_critic": self.n_critic, "clip_value": self.clip_value,
                "gp_weight": self.gp_weight,
                "generator": keras.saving.serialize_keras_object(self.generator),
                "critic": keras.saving.serialize_keras_object(self.critic)}

    @classmethod
    def from_config(cls, config):
        for name in ("generator", "critic"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def get_compile_config(self):
        return {"critic_optimizer": keras.saving.serialize_keras_object(self.critic_optimizer),
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(optimizer)
                        for name, optimizer in config.items()})

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
# Before training, set up the measurements. The quality scorer trains a small MNIST
# classifier on the real images (once; it is cached on disk) and reports the **floor**, the
# Fréchet distance between two disjoint sets of real images of the same size. A second
# scorer with fewer samples (`CURVE_SAMPLES`) measures the FD after every epoch, with its
# own floor: the FD is biased by the number of samples, so the curve's values are higher
# than the final number and only comparable with each other.

# %%
unit_train = gen_lib.tanh_to_unit(x_all)
scorer = gen_lib.QualityScorer(unit_train, labels, fd_samples=run.fd_samples)
curve_scorer = gen_lib.QualityScorer(unit_train, labels,
                                     fd_samples=min(CURVE_SAMPLES, run.fd_samples))
eval_noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM)).astype("float32")
grid_noise = np.random.default_rng(2).normal(size=(32, LATENT_DIM)).astype("float32")
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"FD floor: {scorer.floor:.2f} with {scorer.fd_samples} samples, "
      f"{curve_scorer.floor:.2f} with {curve_scorer.fd_samples} (the curves)")

# %% [markdown]
# The curve is a small callback: at the end of every epoch it generates images from a fixed
# noise set, measures their FD, and measures the critic's estimate of the distance on fixed
# sets, $\mathbb{E}[f(x)] - \mathbb{E}[f(G(z))]$ over `CURVE_SAMPLES` real images and the
# same number of generated ones, so both numbers come from the same weights at the same
# moment.

# %%
def in_batches(network, inputs, batch_size=500):
    """network(inputs) in inference mode, as NumPy. (A direct call: `predict` would compile
    a function per network, which TensorFlow complains about inside `fit`.)"""
    return np.concatenate([ops.convert_to_numpy(network(inputs[i:i + batch_size], training=False))
                           for i in range(0, len(inputs), batch_size)])


def sample_images(generator, noise):
    """Generator outputs mapped to [0, 1] for plots and metrics."""
    return gen_lib.tanh_to_unit(in_batches(generator, noise))


class DistanceCurve(keras.callbacks.Callback):
    """After each epoch: the critic's distance estimate and the FD, on fixed inputs."""

    def __init__(self, scorer, real_images, noise):
        super().__init__()
        self.scorer, self.real_images, self.noise = scorer, real_images, noise
        self.epochs, self.w_estimates, self.fds = [], [], []

    def on_epoch_end(self, epoch, logs=None):
        fakes = in_batches(self.model.generator, self.noise)
        critic = self.model.critic
        w_estimate = in_batches(critic, self.real_images).mean() - in_batches(critic, fakes).mean()
        self.epochs.append(epoch + 1)
        self.w_estimates.append(float(w_estimate))
        self.fds.append(self.scorer.fd(gen_lib.tanh_to_unit(fakes)))


curve_real = x_all[np.random.default_rng(3).permutation(len(x_all))[: curve_scorer.fd_samples]]
curve_noise = eval_noise[: curve_scorer.fd_samples]


def train(wgan):
    """Fit one variant with the sample grid, NaN guard and distance curve; time it."""
    curve = DistanceCurve(curve_scorer, curve_real, curve_noise)
    grid = gen_lib.SampleGrid(lambda z: sample_images(wgan.generator, z), grid_noise, ncols=16)
    start = time.perf_counter()
    history = wgan.fit(x_train, batch_size=N_CRITIC * BATCH_SIZE, epochs=run.epochs,
                       shuffle=True, callbacks=[grid, gen_lib.StopOnNaN(), curve], verbose=2)
    minutes = (time.perf_counter() - start) / 60
    print(f"{int(wgan.g_optimizer.iterations)} generator steps, "
          f"{int(wgan.critic_optimizer.iterations)} critic steps in {minutes:.1f} min")
    return history, curve, minutes

# %% [markdown]
# ### WGAN: weight clipping, RMSprop
#
# Before training, note how many of the critic's initial weights lie outside
# $[-0.01, 0.01]$: the first clip sets all of them to $\pm 0.01$.

# %%
clip_generator = make_generator(LATENT_DIM, name="generator_clip")
clip_critic = make_critic(name="critic_clip")
initial = np.concatenate([ops.convert_to_numpy(v).ravel() for v in clip_critic.trainable_variables])
print(f"critic weights outside [-{CLIP_VALUE}, {CLIP_VALUE}] at initialisation: "
      f"{np.mean(np.abs(initial) > CLIP_VALUE):.1%}")

wgan_clip = WGAN(clip_generator, clip_critic, LATENT_DIM, n_critic=N_CRITIC,
                 clip_value=CLIP_VALUE, seed=run.seed)
wgan_clip.compile(critic_optimizer=keras.optimizers.RMSprop(CLIP_LEARNING_RATE),
                  g_optimizer=keras.optimizers.RMSprop(CLIP_LEARNING_RATE))
clip_history, clip_curve, clip_minutes = train(wgan_clip)

# %% [markdown]
# ### WGAN-GP: gradient penalty, Adam
#
# Same architectures, fresh weights, the penalty instead of clipping.

# %%
gp_generator = make_generator(LATENT_DIM, name="generator_gp")
gp_critic = make_critic(name="critic_gp")
wgan_gp = WGAN(gp_generator, gp_critic, LATENT_DIM, n_critic=N_CRITIC, gp_weight=GP_WEIGHT,
               seed=run.seed)
wgan_gp.compile(
    critic_optimizer=keras.optimizers.Adam(GP_LEARNING_RATE, beta_1=GP_BETA_1, beta_2=GP_BETA_2),
    g_optimizer=keras.optimizers.Adam(GP_LEARNING_RATE, beta_1=GP_BETA_1, beta_2=GP_BETA_2),
)
gp_history, gp_curve, gp_minutes = train(wgan_gp)

# %% [markdown]
# ## Results
#
# ### Does the critic's estimate track sample quality?
#
# Left, the critic's estimate of the distance, measured on fixed sets after every epoch;
# right, the FD of samples from fixed noise, measured at the same moments. If the estimate is
# a useful training signal, the two fall together. The WGAN-GP critic is (softly)
# 1-Lipschitz, so its estimate is on the scale of $W$ itself; the clipped critic's is
# $K \cdot W$ for a small unknown $K$, which is why its curve has its own axis.

# %%
fig, (ax_w, ax_fd) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_w.plot(gp_curve.epochs, gp_curve.w_estimates, "o-", ms=3, color="C1", label="WGAN-GP")
ax_w.set_ylabel("WGAN-GP estimate", color="C1")
ax_clip = ax_w.twinx()
ax_clip.plot(clip_curve.epochs, clip_curve.w_estimates, "s-", ms=3, color="C0", label="WGAN")
ax_clip.set_ylabel("WGAN (clipping) estimate", color="C0")
ax_w.set_title(r"critic's estimate $E[f(x)] - E[f(G(z))]$")
ax_fd.plot(clip_curve.epochs, clip_curve.fds, "s-", ms=3, label="WGAN (clipping)")
ax_fd.plot(gp_curve.epochs, gp_curve.fds, "o-", ms=3, label="WGAN-GP")
ax_fd.axhline(curve_scorer.floor, color="gray", ls="--", label="real vs real floor")
ax_fd.set_yscale("log")
ax_fd.set_title(f"FD, {curve_scorer.fd_samples} samples")
ax_fd.legend()
for ax in (ax_w, ax_fd):
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# A single number for "tracks": the rank (Spearman) correlation between the estimate and the
# FD over the epochs; +1 means they always fall together. In the first epochs the estimate
# usually *rises*: the critic is still learning to tell the two sets apart, and the estimate
# measures the critic's progress more than the generator's. So we also give the
# correlation from the epoch where the estimate peaks onwards.

# %%
def rank_correlation(a, b):
    if len(a) < 3:
        return float("nan")  # (the smoke run has one epoch)
    ranks_a, ranks_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


for name, curve in [("WGAN (clipping)", clip_curve), ("WGAN-GP", gp_curve)]:
    peak = int(np.argmax(curve.w_estimates))
    overall = rank_correlation(curve.w_estimates, curve.fds)
    print(f"{name:16s} Spearman(estimate, FD): {overall:+.2f} "
          f"over all {len(curve.epochs)} epochs, "
          f"{rank_correlation(curve.w_estimates[peak:], curve.fds[peak:]):+.2f} "
          f"from the peak (epoch {curve.epochs[peak]}) on")

# %% [markdown]
# The training logs say the same from the other side: `w_estimate` is the mean over each
# epoch's critic steps, on the training batches. A negative or wildly oscillating estimate,
# or a `gp` far above 1, would say the critic is not doing its job.

# %%
gen_lib.plot_history(clip_history, keys=["w_estimate"], title="WGAN (clipping): training logs");
gen_lib.plot_history(gp_history, keys=["w_estimate", "gp"], title="WGAN-GP: training logs");

# %% [markdown]
# ### Samples, side by side
#
# The same 32 noise vectors through each generator.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
for ax, (name, gen) in zip(axes, [("WGAN (clipping)", clip_generator),
                                  ("WGAN-GP", gp_generator)], strict=True):
    grid = sample_images(gen, grid_noise).reshape(4, 8, 28, 28).transpose(0, 2, 1, 3)
    ax.imshow(grid.reshape(4 * 28, 8 * 28), cmap="gray", vmin=0, vmax=1)
    ax.set_title(name)
    ax.axis("off")
fig.tight_layout()

# %% [markdown]
# ### What clipping does to the critic's weights
#
# Histograms of every critic weight after training. With clipping, the weights pile up at
# the two walls $\pm c$: the critic spends its capacity pressing against the constraint
# (Gulrajani et al. 2017, Fig. 1b). Most of them got there at the very first clip: the
# default (Glorot) initialisation puts most weights outside $[-c, c]$, as printed before
# training. The penalty constrains the function, not the weights, which spread freely.

# %%
def critic_weights(critic):
    return np.concatenate([ops.convert_to_numpy(v).ravel() for v in critic.trainable_variables])


clip_weights, gp_weights = critic_weights(clip_critic), critic_weights(gp_critic)
fig, (ax_clip, ax_gp) = plt.subplots(1, 2, figsize=(11, 3.2))
ax_clip.hist(clip_weights, bins=60, color="C0")
ax_clip.set_title(f"WGAN critic (clipped to ±{CLIP_VALUE})")
ax_clip.set_xticks(np.linspace(-CLIP_VALUE, CLIP_VALUE, 5))
ax_gp.hist(gp_weights, bins=60, color="C1")
ax_gp.set_title("WGAN-GP critic")
for ax in (ax_clip, ax_gp):
    ax.set_xlabel("weight value")
    ax.set_yscale("log")
fig.tight_layout()
at_wall = np.mean(np.abs(clip_weights) >= CLIP_VALUE * (1 - 1e-4))
print(f"clipped critic: {at_wall:.1%} of {len(clip_weights)} weights at ±{CLIP_VALUE}, "
      f"max |w| = {np.abs(clip_weights).max():.4f}")
print(f"WGAN-GP critic: max |w| = {np.abs(gp_weights).max():.3f}")

# %% [markdown]
# ### The quality number
#
# The Fréchet distance (FD) compares the mean and covariance of the classifier's features
# on generated and on real images (FID, Heusel et al. 2017, with an MNIST classifier instead
# of Inception, so the values are not comparable with published FIDs). Lower is better; the
# floor is what two sets of real digits reach. Both variants trained for the same number of
# generator steps, printed above with their minutes.
#
# Read the two rows with the papers' settings in mind: clipping with RMSprop at
# $5 \cdot 10^{-5}$ learns slowly, and a critic whose weights sit at $\pm c$ has little
# freedom; the penalty variant has neither handicap. Exercises 2 and 3 vary them.

# %%
print(f"{'':16s} {'FD':>8s} {'/ floor':>8s} {'minutes':>8s}")
for name, gen, minutes in [("WGAN (clipping)", clip_generator, clip_minutes),
                           ("WGAN-GP", gp_generator, gp_minutes)]:
    fd = scorer.fd(sample_images(gen, eval_noise))
    print(f"{name:16s} {fd:8.2f} {fd / scorer.floor:7.1f}x {minutes:8.1f}")
print(f"{'real vs real':16s} {scorer.floor:8.2f} {1:7.1f}x   (floor, {scorer.fd_samples} samples)")

# %% [markdown]
# ## Save and reload
#
# Two things are worth saving. **The generators**, to make digits later: plain functional
# models, they save to the `.keras` format and load back with `safe_mode=True` (no code is
# deserialised). Same noise in, same images out.

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
    print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); "
          f"max difference after reload: {difference:.1e}")

# %% [markdown]
# **The whole WGAN**, to resume training later. That needs more than the weights: the
# Lipschitz method and $n_{\text{critic}}$, both optimizers' moments and step counts, and
# the position of the noise stream. `get_config` and `get_compile_config` above tell Keras
# how to rebuild the model and re-compile it; `gen_lib.track_optimizers` makes the
# optimizers' state model variables, and also saves the `SeedGenerator`'s state, which
# Keras itself does not save (keras-team/keras#19796).

# %%
for wgan in (wgan_clip, wgan_gp):
    path = artifacts / f"03_wgan_{wgan.generator.name.removeprefix('generator_')}.keras"
    wgan.save(path)
    resumed = keras.saving.load_model(path, safe_mode=True)
    assert (resumed.clip_value, resumed.gp_weight, resumed.n_critic) == (
        wgan.clip_value, wgan.gp_weight, wgan.n_critic)
    steps = [int(ops.convert_to_numpy(model.critic_optimizer.iterations))
             for model in (resumed, wgan)]
    assert steps[0] == steps[1], steps
    difference = np.abs(in_batches(resumed.critic, x_train[:64])
                        - in_batches(wgan.critic, x_train[:64])).max()
    assert difference < 1e-5, difference
    print(f"saved {path}: {steps[0]} critic steps restored, critic difference {difference:.1e}")

# %% [markdown]
# ## Exercises
#
# 1. **No constraint.** Train with `gp_weight=0.0` (no clipping, no penalty). Watch
#    `w_estimate` and the critic's scores. Why do they drift, and what happens to the samples?
# 2. **The clip value.** Try `clip_value=0.1` and `0.001`. Plot the critic's input-gradient
#    norm on real images (`gen_lib.input_gradients`) in each case. Which one vanishes?
# 3. **Adam with clipping.** Train the clipping variant with `Adam(1e-4, beta_1=0.5)`. Is it
#    less stable, as Arjovsky et al. report?
# 4. **One critic step.** Set `n_critic=1` for WGAN-GP. What happens to the estimate's
#    correlation with the FD?
# 5. **Batch norm in the critic.** Add `BatchNormalization` after each critic convolution in
#    the GP variant. Why does the penalty no longer mean what it should?
# 6. **Same real batch.** Change `train_step` to reuse one real batch of 64 for all critic
#    steps (as keras.io's example does). Is there a difference in FD for the same time?
#
# ## References
#
# - Arjovsky, Chintala, Bottou (2017). *Wasserstein GAN.* ICML 2017, PMLR 70:214-223.
#   arXiv:1701.07875.
# - Arjovsky, Bottou (2017). *Towards Principled Methods for Training Generative Adversarial
#   Networks.* ICLR 2017. arXiv:1701.04862.
# - Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville (2017). *Improved Training of Wasserstein
#   GANs.* NeurIPS 2017. arXiv:1704.00028.
# - Villani (2009). *Optimal Transport: Old and New.* Springer.
# - Mao et al. (2017). *Least Squares Generative Adversarial Networks.* ICCV 2017.
#   arXiv:1611.04076 (what the corrected tutorial actually implemented).
# - Goodfellow et al. (2014). *Generative Adversarial Nets.* NIPS. arXiv:1406.2661.
# - Heusel et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a Local
#   Nash Equilibrium* (FID). arXiv:1706.08500.
# - Keras guide: *Customizing what happens in `fit()`*; keras.io example *WGAN-GP overriding
#   `Model.train_step`*.
