# %% [markdown]
# # 05 · VQ-VAE: discrete codes, a straight-through gradient, and a learned prior to sample from
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gen-lib/generative-notebooks/blob/main/notebooks/05_vqvae.ipynb)
#
# **What you will learn**
#
# - how a VQ-VAE turns an image into a small grid of **discrete codes**: a continuous
#   encoder output, then a nearest-neighbour lookup in a learned codebook;
# - its loss, term by term: reconstruction, codebook loss, commitment loss ($\beta = 0.25$),
#   which `stop_gradient` goes where, and the **straight-through estimator** that lets the
#   reconstruction gradient pass the non-differentiable `argmin`;
# - how to see and fix **codebook collapse** (codes that are never used), with perplexity,
#   a count of dead codes, and re-seeding of dead codes;
# - why a VQ-VAE alone cannot generate, and how a small **PixelCNN prior** over the code
#   grid (masked convolutions) makes it a generative model, sampled one code at a time;
# - the mistakes of a popular but wrong tutorial, and how to spot each one;
# - how to put numbers on it: reconstruction error on held-out images, codebook perplexity,
#   and a Fréchet distance of the prior's samples next to the floor that real images reach.
#
# **How long it takes.** The VQ-VAE trains for about 840 steps (2 epochs of the 60k train
# split, or 12 epochs of the 10k test split offline), then the prior for as many epochs over
# the code grids; a short second VQ-VAE run shows codebook collapse. The README's results table lists the measured minutes per backend and the
# command that measured them. With a GPU it is much faster; nothing in the code changes.

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
# A random tenth of the split (`HOLDOUT`) is set aside before anything trains: neither the
# VQ-VAE nor the prior ever sees it, and the reconstruction error, the codebook statistics and
# the prior's likelihood are measured on it. An epoch is then 422 steps on the 60k train
# split, 71 on the 10k test split.

# %% tags=["parameters"]
DATASET = "mnist"  # or "fashion_mnist"
SPLIT = "train"  # "test" when only the 10k test files are on disk
EPOCHS = 2  # ~840 steps on the 60k train split; GEN_LIB_EPOCHS=12 on the 10k test split
BATCH_SIZE = 128
HOLDOUT = 0.1  # fraction of the split held out from all training, for the measurements
NUM_CODES = 128  # K, the codebook size (the paper uses 512 for ImageNet)
CODE_DIM = 16  # D, the size of each code vector
BETA = 0.25  # commitment weight (van den Oord et al. 2017)
LEARNING_RATE = 2e-3  # Adam; at 1e-3 (keras.io) the codes follow the encoder too slowly
RESEED_DEAD_CODES = True  # the remedy for codebook collapse; try False
PRIOR_WIDTH = 64  # channels of the PixelCNN prior
PRIOR_LEARNING_RATE = 1e-3
FD_SAMPLES = 5000

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES)

# %% [markdown]
# ## Theory
#
# ### From an image to a grid of codes
#
# A VQ-VAE (Vector Quantised-Variational AutoEncoder, van den Oord, Vinyals & Kavukcuoglu
# 2017) has three parts:
#
# 1. an **encoder** that outputs a *continuous* map $z_e(x) \in \mathbb{R}^{7 \times 7 \times D}$
#    (here: a 28×28 image, two stride-2 convolutions);
# 2. a **codebook** $e \in \mathbb{R}^{K \times D}$ of $K$ learned vectors. Each of the 49
#    vectors of $z_e(x)$ is replaced by its nearest code,
#    $$k = \arg\min_j \lVert z_e(x) - e_j \rVert_2, \qquad z_q(x) = e_k;$$
#    so the image is now described by 49 integers in $\{0, \dots, K-1\}$, its **code grid**;
# 3. a **decoder** that reconstructs $x$ from $z_q(x)$.
#
# ### The loss, term by term
#
# With $\mathrm{sg}[\cdot]$ the stop-gradient (identity forward, zero gradient backward),
# the loss of one image is (Eq. 3 of the paper):
#
# $$L = \underbrace{-\log p(x \mid z_q(x))}_{\text{reconstruction}}
#   + \underbrace{\lVert \mathrm{sg}[z_e(x)] - e \rVert_2^2}_{\text{codebook}}
#   + \beta \underbrace{\lVert z_e(x) - \mathrm{sg}[e] \rVert_2^2}_{\text{commitment}},
#   \qquad \beta = 0.25.$$
#
# - **Reconstruction** trains the decoder, and the encoder through the straight-through
#   estimator below. We use the mean squared error divided by the variance of the training
#   pixels (as the keras.io example does): a Gaussian likelihood up to constants, scaled so
#   that 1.0 means "no better than predicting the mean pixel".
# - **Codebook loss** moves each chosen code $e_k$ towards the encoder outputs assigned to
#   it; the stop-gradient on $z_e$ means it changes **only the codebook**.
# - **Commitment loss** keeps the encoder's outputs close to their codes, so that they do not
#   grow without bound while the codebook chases them; it changes **only the encoder**. The
#   paper found results robust for $\beta$ from 0.1 to 2.0.
# - There is no KL term: with a uniform prior over the codes and a deterministic
#   (one-hot) posterior, the KL divergence is the constant $\log K$, so it is dropped.
#
# ### The straight-through estimator
#
# The $\arg\min$ has no useful gradient, so without a trick the encoder would receive no
# gradient from the reconstruction at all. The straight-through estimator (Bengio, Léonard
# & Courville 2013) feeds the decoder
#
# $$z_e + \mathrm{sg}[z_q - z_e],$$
#
# which *equals* $z_q$ in the forward pass, but whose gradient with respect to $z_e$ is the
# identity: the decoder's input gradient is copied to the encoder as if there were no
# quantizer.
#
# ### Generating: a prior over the codes
#
# A trained VQ-VAE is an autoencoder. To **generate**, we need a distribution over code grids
# to sample from. During VQ-VAE training the prior is uniform; afterwards we fit an
# autoregressive model to the code grids of the training images,
#
# $$p(k) = \prod_{i=1}^{49} p(k_i \mid k_1, \dots, k_{i-1})$$
#
# in raster order. The paper uses a PixelCNN (van den Oord et al. 2016): convolutions whose
# kernels are **masked** so that position $i$ sees only positions before it (mask **A** in
# the first layer also hides the position itself, mask **B** in later layers lets it see
# its own features). It trains like a classifier, one softmax over $K$ codes per position,
# in parallel over all 49 positions. Sampling is sequential: 49 forward passes, each drawing
# one code. Then the decoder turns the sampled grid into an image.

# %% [markdown]
# ### Common mistakes (from the tutorial this notebook corrects)
#
# The original post (see `shared/ERRATA.md`, section 6) contains each of these. Most of them
# crash; the rest train an ordinary autoencoder and call it a VQ-VAE.
#
# | mistake | what happens | fix |
# |---|---|---|
# | the "quantizer" is `Dense(28, activation="softmax")` (VQ-C03) | no codebook, no nearest neighbour, no discrete code: a continuous autoencoder with a softmax bottleneck | a `VectorQuantizer` layer: a $K \times D$ codebook weight, `argmin` of distances, lookup |
# | quantization loss $\min_c \lVert x - c \rVert^2$ on the **pixels** (VQ-T04) | k-means on images; the encoder is not even in the formula | codebook loss $\lVert \mathrm{sg}[z_e] - e_k \rVert^2$ + $\beta$ commitment loss $\lVert z_e - \mathrm{sg}[e_k] \rVert^2$ |
# | the encoder outputs the discrete codes itself (VQ-T03) | the lookup, the heart of the method, is missing | $z_e = \mathrm{Enc}(x)$, $k = \arg\min_j \lVert z_e - e_j \rVert$, $z_q = e_k$ |
# | no straight-through estimator (VQ-T06) | the encoder gets no reconstruction gradient | decode $z_e + \mathrm{sg}[z_q - z_e]$ |
# | `encoder_loss = mean((encoder(x) - x)**2)`, VQ loss `mean((x - q)**2)` against the image (VQ-C05, C06) | latent features forced to equal pixels by broadcasting; no codebook or commitment term | delete the first; compare $z_q$ with $z_e$, with stop-gradients and $\beta$ |
# | `vq(data)`: the quantizer applied to the raw image (VQ-C07) | the encoder is bypassed | $x \to \mathrm{Enc} \to \mathrm{VQ} \to \mathrm{Dec}$ |
# | "the decoder *maximises* its loss", two losses optimised in turn (VQ-T05, T07) | the reconstruction is pushed away from $x$ | one joint loss, minimised by encoder, codebook and decoder together |
# | a `Dense` encoder/decoder on (28, 28, 1) with no convolution or flatten (VQ-C02, C04) | a (28, 28, 128) "latent", shape errors at the decoder | stride-2 convolutions to a 7×7×D grid and back; assert every shape |
# | `zip(list_of_grad_lists, list_of_var_lists)` (VQ-C09) | `apply_gradients` gets lists, not pairs, and fails | one flat list of variables (here `self.trainable_variables`) |
# | `encoder_loss = encoder_loss(...)` inside `train_step` (VQ-C08) | `UnboundLocalError` | distinct names for functions and values |
# | generation never mentioned, or "VQ-VAE saves compute" (VQ-T02, T09) | no way to sample; sequential PixelCNN sampling is slow, not cheap | fit a prior over code grids, sample it, decode |
# | `Adam(2e-4, beta_1=0.5)` (VQ-C11) | a GAN setting with no reason here | `Adam(2e-4)` (paper) or `Adam(1e-3)` (keras.io) |
#
# The name itself is mistranslated in the original (VQ-T01): a VQ-VAE is a *variational*
# autoencoder with a discrete posterior (向量量化变分自编码器), not a "vector autoencoder".
# And its samples are not necessarily worse than a GAN's (VQ-T08): with a hierarchy of
# codes and a strong prior, VQ-VAE-2 (Razavi et al. 2019) matched BigGAN on ImageNet.
#
# The first mistake is easy to see for yourself: a softmax layer outputs soft weights that
# sum to one, not one of $K$ codes. Count how many distinct outputs it gives for 1,000
# random inputs, against a nearest-neighbour lookup in a codebook of 8 vectors.

# %%
rng = np.random.default_rng(0)
probe = rng.normal(size=(1000, 4)).astype("float32")
codebook = rng.normal(size=(8, 4)).astype("float32")
softmax_out = ops.convert_to_numpy(layers.Dense(8, activation="softmax")(probe))
nearest = ((probe[:, None, :] - codebook[None]) ** 2).sum(-1).argmin(-1)
print(f"softmax 'quantizer': {len(np.unique(softmax_out.round(4), axis=0))} distinct outputs "
      f"for 1000 inputs (continuous, not discrete)")
print(f"nearest-code lookup: {len(np.unique(codebook[nearest], axis=0))} distinct outputs "
      f"(one of the K = 8 codes)")

# %% [markdown]
# ## Data
#
# `gen_lib.load_dataset` reads MNIST through `keras.datasets`, or offline from a folder of
# the canonical idx files named by `GEN_LIB_DATA_DIR`. We scale the pixels to $[0, 1]$, then
# set aside the held-out images, chosen at random with the run's seed.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_all = gen_lib.to_unit_range(images)
order = np.random.default_rng(run.seed).permutation(len(x_all))
n_held_out = max(1, round(HOLDOUT * len(x_all)))
x_held_out, x_train = x_all[order[:n_held_out]], x_all[order[n_held_out:]]
data_variance = float(x_train.var())
print(run.describe(len(x_all)))
print(f"training on {len(x_train)} images, holding out {len(x_held_out)} "
      f"(a random {HOLDOUT:.0%} of the {run.split} split)")
print(f"x_train: {x_train.shape} {x_train.dtype}, range [{x_train.min()}, {x_train.max()}], "
      f"pixel variance {data_variance:.4f}")
gen_lib.image_grid(x_train[:32], ncols=16, title="real images");

# %% [markdown]
# ## Networks
#
# ### The vector quantizer
#
# A layer whose only weight is the codebook. `nearest_codes` computes the squared distance
# of every encoder vector to every code, expanded as
# $\lVert z \rVert^2 - 2\, z \cdot e_j + \lVert e_j \rVert^2$ (one matrix product instead of
# a $N \times K \times D$ tensor), and takes the `argmin`; `lookup` turns code indices back
# into vectors. Calling the layer does both. The losses and the straight-through estimator
# are in the model's `train_step` below, where you can read them next to each other.
#
# The layer also keeps a running average of how often each code is chosen (`usage`, not
# trained) and can **re-seed dead codes**: a code whose usage falls below 1% of the uniform
# share $1/K$ is moved onto a randomly chosen encoder output of the current batch, where
# it will be chosen again. Without it, codes that no encoder output is close to receive no
# gradient and stay unused forever: *codebook collapse*. Usage starts at zero, so the
# first training step re-seeds every code the first batch did not choose: the codebook
# starts on encoder outputs, where the data is (a data-dependent initialisation).
#
# Why that matters: Adam moves each entry of the codebook by at most about the learning
# rate per step, however strong its gradient, while the encoder's outputs can move much
# faster. Codes started near the origin trail behind them, and the straight-through
# gradient, which pretends $z_q \approx z_e$, is then a poor one. On the 10k split,
# 850 steps, this start more than halves the held-out reconstruction error (MSE 0.0196 ->
# 0.0088), and a learning rate of 2e-3 instead of 1e-3 takes it to 0.0070
# (`benchmarks/vq_codebook_start.py`, TensorFlow).
#
# A trap on TensorFlow: the gradient of `ops.take` there is sparse, one row per lookup,
# and Keras 3's Adam squares those rows one by one when a code is looked up many times,
# which makes its steps too large by up to the square root of the repeats.
# `gen_lib.minimize` adds the rows up first, so this model trains the same way on all
# three backends. (The prior's `layers.Embedding`, trained by Keras' own `fit` below, is
# not covered: see the README.)

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
class VectorQuantizer(layers.Layer):
    """Nearest-neighbour lookup in a learned codebook of `num_codes` vectors."""

    def __init__(self, num_codes, code_dim, usage_decay=0.95, **kwargs):
        super().__init__(**kwargs)
        if int(num_codes) < 2:
            raise ValueError(f"num_codes must be at least 2 (a codebook of {num_codes} "
                             "code(s) carries no information); try 64 to 512.")
        if int(code_dim) < 1:
            raise ValueError(f"code_dim must be a positive vector size, got {code_dim}.")
        if not 0.0 <= usage_decay < 1.0:
            raise ValueError(f"usage_decay must be in [0, 1), got {usage_decay}; e.g. 0.95.")
        self.num_codes, self.code_dim = int(num_codes), int(code_dim)
        self.usage_decay = float(usage_decay)

    def build(self, input_shape):
        if input_shape[-1] != self.code_dim:
            raise ValueError(f"The encoder outputs vectors of size {input_shape[-1]} but the "
                             f"codebook holds vectors of size code_dim={self.code_dim}.")
        limit = 1.0 / self.num_codes  # small codes: every encoder output is far from all
        self.codebook = self.add_weight(
            shape=(self.num_codes, self.code_dim), name="codebook",
            initializer=keras.initializers.RandomUniform(-limit, limit))
        self.usage = self.add_weight(  # running share of the assignments of each code;
            shape=(self.num_codes,), name="usage", trainable=False,  # 0: all start dead
            initializer="zeros")

    def nearest_codes(self, z_e):
        """(..., D) vectors -> (...) indices of their nearest codes."""
        flat = ops.reshape(z_e, (-1, self.code_dim))
        distances = (ops.sum(flat ** 2, axis=1, keepdims=True)
                     - 2.0 * ops.matmul(flat, ops.transpose(self.codebook))
                     + ops.sum(self.codebook ** 2, axis=1))
        return ops.reshape(ops.argmin(distances, axis=1), ops.shape(z_e)[:-1])

    def lookup(self, codes):
        """(...) indices -> (..., D) code vectors."""
        return ops.take(self.codebook, codes, axis=0)

    def call(self, z_e):
        return self.lookup(self.nearest_codes(z_e))

    def update_usage(self, codes):
        """Fold this batch's code counts into the running usage; return the batch's shares."""
        counts = ops.sum(ops.one_hot(ops.reshape(codes, (-1,)), self.num_codes), axis=0)
        shares = counts / ops.sum(counts)
        self.usage.assign(self.usage_decay * self.usage + (1.0 - self.usage_decay) * shares)
        return shares

    def reseed_dead_codes(self, z_e, seed_generator):
        """Move every code used less than 1% of 1/K onto a random encoder output of the batch."""
        dead = self.usage < 0.01 / self.num_codes
        flat = ops.stop_gradient(ops.reshape(z_e, (-1, self.code_dim)))
        picks = keras.random.randint((self.num_codes,), 0, ops.shape(flat)[0],
                                     seed=seed_generator)
        self.codebook.assign(ops.where(dead[:, None], ops.take(flat, picks, axis=0),
                                       self.codebook.value))
        self.usage.assign(ops.where(dead, 1.0 / self.num_codes, self.usage.value))
        return ops.sum(ops.cast(dead, "float32"))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes,
                "code_dim": self.code_dim, "usage_decay": self.usage_decay}


# %% [markdown]
# ### Encoder and decoder
#
# The encoder halves the resolution twice (28 → 14 → 7) and ends in a 1×1 convolution to
# `CODE_DIM` channels, with no activation: $z_e$ must be free to sit anywhere near the codes.
# The decoder mirrors it and ends in a **linear** 1-channel convolution, the mean of a Gaussian
# likelihood for the MSE loss. (With a sigmoid output and the MSE, our first runs got stuck
# predicting a black image: the sigmoid saturates near 0, where most MNIST pixels are, and
# its gradient vanishes.) Its outputs are clipped to $[0, 1]$ for plots and metrics.
# It upsamples by nearest-neighbour repetition followed by a
# convolution instead of a stride-2 `Conv2DTranspose`: that avoids checkerboard artifacts
# (Odena et al. 2016), and JAX's CPU backend is much slower on the backward pass of
# transposed convolutions (a VQ-VAE step with two `Conv2DTranspose` layers took 10x longer on
# JAX than with `UpSampling2D` + `Conv2D` in our exploratory runs on 2 cores; TensorFlow was
# about as fast with either).

# %% tags=["model"]
def make_encoder(code_dim):
    image = keras.Input((28, 28, 1))
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(image)  # 14x14
    h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)  # 7x7
    z_e = layers.Conv2D(code_dim, 1)(h)  # linear: continuous vectors, one per grid cell
    return keras.Model(image, z_e, name="encoder")


def make_decoder(code_dim):
    z_q = keras.Input((7, 7, code_dim))
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(z_q)
    h = layers.UpSampling2D()(h)  # 14x14
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = layers.UpSampling2D()(h)  # 28x28
    image = layers.Conv2D(1, 3, padding="same")(h)  # linear: the mean of a Gaussian
    return keras.Model(z_q, image, name="decoder")


# %%
encoder = make_encoder(CODE_DIM)
decoder = make_decoder(CODE_DIM)
quantizer = VectorQuantizer(NUM_CODES, CODE_DIM, name="quantizer")
encoder.summary()
decoder.summary()

# %% [markdown]
# Check the shapes before training anything: 28×28 images become a 7×7 grid of
# `CODE_DIM`-vectors, then a 7×7 grid of integer codes, and the decoder brings the looked-up
# vectors back to the data's shape.

# %%
probe_z_e = encoder(x_train[:16])
probe_z_q = quantizer(probe_z_e)  # the first call builds the codebook
probe_codes = quantizer.nearest_codes(probe_z_e)
probe_images = ops.convert_to_numpy(decoder(probe_z_q))
GRID = tuple(probe_z_e.shape[1:3])
assert tuple(probe_z_e.shape) == (16, 7, 7, CODE_DIM), probe_z_e.shape
assert tuple(probe_codes.shape) == (16, 7, 7), probe_codes.shape
assert tuple(probe_z_q.shape) == tuple(probe_z_e.shape), probe_z_q.shape
assert probe_images.shape == (16, 28, 28, 1), probe_images.shape
assert np.isfinite(probe_images).all()
print(f"z_e: {tuple(probe_z_e.shape)}, codes: {tuple(probe_codes.shape)} "
      f"(integers in [0, {NUM_CODES})), decoded: {probe_images.shape}")

# %% [markdown]
# ## The `train_step`
#
# The model holds the three parts and one optimizer for all their weights. Read
# `train_step` top to bottom:
#
# 1. `unpack_x_y_sample_weight` takes the images out of the batch `fit` gives us.
# 2. **The loss.** Encode to $z_e$; find the nearest codes and look them up, $z_q = e_k$.
#    The **codebook loss** compares $z_q$ with `stop_gradient(z_e)`, so its gradient
#    reaches only the codebook; the **commitment loss** compares $z_e$ with
#    `stop_gradient(z_q)`, so its gradient reaches only the encoder. The decoder gets
#    `z_e + stop_gradient(z_q - z_e)`: the value of $z_q$, the gradient path of $z_e$, that is
#    the **straight-through estimator**. The reconstruction loss is the MSE divided by the
#    data variance.
# 3. `gen_lib.minimize` differentiates the total with respect to every trainable weight
#    (encoder, codebook, decoder) and takes one Adam step: one joint loss, one optimizer.
# 4. **Codebook health.** Fold the batch's code counts into the running usage; its
#    **perplexity** $\exp(-\sum_k p_k \log p_k)$ is the number of codes "effectively" in use
#    (1 if every vector maps to one code, $K$ if all are used equally). Then, if enabled,
#    re-seed the dead codes. These are plain assignments to variables, not gradient steps;
#    the random picks come from the model's `SeedGenerator`.
# 5. Update the metric trackers and return their running means, which `fit` prints.
#
# `@gen_lib.train_step` and `gen_lib.minimize` make this run on every backend (see notebook
# 01); `gen_lib.track_optimizers` makes the model own its optimizer's state, so that the
# whole model, optimizer included, saves and resumes.

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
class VQVAE(keras.Model):
    def __init__(self, encoder, quantizer, decoder, beta=0.25, data_variance=1.0,
                 reseed_dead_codes=True, seed=0, **kwargs):
        super().__init__(**kwargs)
        if not beta >= 0:
            raise ValueError(f"beta (the commitment weight) must be >= 0, got {beta}; "
                             "the paper uses 0.25 and reports 0.1 to 2.0 work.")
        if not data_variance > 0:
            raise ValueError(f"data_variance must be positive, got {data_variance}: pass "
                             "the variance of the training pixels, e.g. x_train.var().")
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self.beta, self.data_variance = float(beta), float(data_variance)
        self.reseed_dead_codes, self.seed = bool(reseed_dead_codes), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        if not quantizer.built:
            quantizer.build(encoder.output.shape)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in (
            "loss", "reconstruction", "codebook", "commitment", "perplexity", "reseeded")}
        self.built = True  # the three parts are built

    def call(self, images):
        """Reconstructions: encode, quantize, decode."""
        return self.decoder(self.quantizer(self.encoder(images)))

    def compile(self, optimizer):
        super().compile()
        self.vq_optimizer = optimizer
        gen_lib.track_optimizers(self, (optimizer, self.trainable_variables))

    @property
    def metrics(self):
        return list(self.trackers.values())

    @gen_lib.train_step
    def train_step(self, data):
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)

        def vq_vae_loss():
            z_e = self.encoder(images, training=True)
            codes = self.quantizer.nearest_codes(z_e)  # k = argmin_j ||z_e - e_j||
            z_q = self.quantizer.lookup(codes)  # e_k
            codebook_loss = ops.mean(ops.square(ops.stop_gradient(z_e) - z_q))
            commitment_loss = ops.mean(ops.square(z_e - ops.stop_gradient(z_q)))
            decoder_input = z_e + ops.stop_gradient(z_q - z_e)  # straight-through
            reconstructions = self.decoder(decoder_input, training=True)
            reconstruction_loss = (ops.mean(ops.square(images - reconstructions))
                                   / self.data_variance)
            loss = reconstruction_loss + codebook_loss + self.beta * commitment_loss
            return loss, (reconstruction_loss, codebook_loss, commitment_loss, z_e, codes)

        loss, (reconstruction_loss, codebook_loss, commitment_loss, z_e, codes) = (
            gen_lib.minimize(vq_vae_loss, self.trainable_variables, self.vq_optimizer))

        # Codebook health: usage, perplexity, and the remedy for dead codes.
        shares = self.quantizer.update_usage(codes)
        perplexity = ops.exp(-ops.sum(shares * ops.log(shares + 1e-10)))
        reseeded = (self.quantizer.reseed_dead_codes(z_e, self.seed_generator)
                    if self.reseed_dead_codes else ops.zeros(()))

        for name, value in [("loss", loss), ("reconstruction", reconstruction_loss),
                            ("codebook", codebook_loss), ("commitment", commitment_loss),
                            ("perplexity", perplexity), ("reseeded", reseeded)]:
            self.trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    # Saving: how to rebuild this model (its parts) and re-compile it (its optimizer).
    def get_config(self):
        return {**super().get_config(), "beta": self.beta,
                "data_variance": self.data_variance,
                "reseed_dead_codes": self.reseed_dead_codes, "seed": self.seed,
                **{name: keras.saving.serialize_keras_object(getattr(self, name))
                   for name in ("encoder", "quantizer", "decoder")}}

    @classmethod
    def from_config(cls, config):
        for name in ("encoder", "quantizer", "decoder"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def get_compile_config(self):
        return {"optimizer": keras.saving.serialize_keras_object(self.vq_optimizer)}

    def compile_from_config(self, config):
        self.compile(keras.saving.deserialize_keras_object(config["optimizer"]))


# %% [markdown]
# ### The prior: a small PixelCNN
#
# `MaskedConv2D` is a `Conv2D` that multiplies its kernel by a fixed 0/1 mask before every
# convolution. For a 3×3 kernel, with the centre at the current position:
#
# ```
# mask A      mask B
# 1 1 1       1 1 1
# 1 0 0       1 1 0
# 0 0 0       0 0 0
# ```
#
# Mask A (first layer) hides the current code itself; mask B (every later layer) lets a
# position see its own *features*, which by then depend only on earlier codes. So the
# output at position $i$ depends only on codes $1, \dots, i-1$ in raster order, and one
# forward pass gives all 49 conditional distributions at once. The prior embeds each code,
# applies one 5×5 A-masked and three 3×3 B-masked convolutions, and outputs $K$ logits per
# position.

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks")
class MaskedConv2D(layers.Conv2D):
    """A `Conv2D` that sees only earlier positions in raster order (PixelCNN)."""

    def __init__(self, mask_type, filters, kernel_size, **kwargs):
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' (first layer) or 'B', got {mask_type!r}.")
        kwargs.setdefault("padding", "same")
        super().__init__(filters, kernel_size, **kwargs)
        if self.padding != "same" or self.strides != (1, 1) or min(self.kernel_size) < 2:
            raise ValueError("MaskedConv2D needs padding='same', strides 1 and a kernel of "
                             "at least 2x2, so that every output sits on its input position.")
        self.mask_type = mask_type

    def build(self, input_shape):
        super().build(input_shape)
        height, width = self.kernel_size
        mask = np.ones((height, width, 1, 1), "float32")
        mask[height // 2, width // 2 + (self.mask_type == "B"):] = 0  # right of the centre
        mask[height // 2 + 1:] = 0  # rows below the centre
        self.mask = mask

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * ops.convert_to_tensor(self.mask))

    def get_config(self):
        return {**super().get_config(), "mask_type": self.mask_type}


def make_prior(num_codes, width, grid=(7, 7)):
    codes = keras.Input(grid, dtype="int32")
    h = layers.Embedding(num_codes, 32)(codes)
    h = MaskedConv2D("A", width, 5, activation="relu")(h)
    for _ in range(3):
        h = MaskedConv2D("B", width, 3, activation="relu")(h)
    logits = layers.Conv2D(num_codes, 1)(h)  # one softmax over K codes per position
    return keras.Model(codes, logits, name="pixelcnn_prior")


# %% [markdown]
# The masks are easy to get wrong, so test them: change the code at one position and check
# which output positions move. Every position before it in raster order must stay the same,
# and the position itself too (mask A).

# %%
prior = make_prior(NUM_CODES, PRIOR_WIDTH, GRID)
prior.summary()
probe_grid = np.random.default_rng(0).integers(0, NUM_CODES, (1, *GRID)).astype("int32")
changed = probe_grid.copy()
changed[0, 3, 4] = (changed[0, 3, 4] + 1) % NUM_CODES
moved = np.abs(ops.convert_to_numpy(prior(changed)) - ops.convert_to_numpy(prior(probe_grid)))
moved = moved.max(axis=-1)[0] > 0
assert not moved.reshape(-1)[: 3 * GRID[1] + 4 + 1].any(), "the prior sees the future"
print("positions whose logits change when the code at (3, 4) changes:")
print(moved.astype(int))

# %% [markdown]
# ## Training
#
# ### The VQ-VAE
#
# Before training, set up the quality scorer: it trains a small MNIST classifier on the real
# images (once; it is cached on disk) and reports the **floor**, the Fréchet distance between
# two disjoint sets of real images of the same size. We will use it on the prior's samples.

# %%
scorer = gen_lib.QualityScorer(x_all, labels, fd_samples=run.fd_samples)
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"FD floor (real vs real, {scorer.fd_samples} images each): {scorer.floor:.2f}")

# %% [markdown]
# Train with `fit`. The grid below shows the reconstructions of the same 16 held-out images
# after every epoch (the originals are shown after training) and updates in place.
# `gen_lib.StopOnNaN` stops at the first NaN or infinite loss with a message naming the
# step, and puts back the last good weights.

# %%
vqvae = VQVAE(encoder, quantizer, decoder, beta=BETA, data_variance=data_variance,
              reseed_dead_codes=RESEED_DEAD_CODES, seed=run.seed)
vqvae.compile(keras.optimizers.Adam(LEARNING_RATE))
initial_weights = vqvae.get_weights()  # for the codebook-collapse experiment below


def in_batches(function, inputs, batch_size=1000):
    """`function` applied to `inputs` in batches, as one NumPy array. Plain calls, not
    `predict`: inference mode, without compiling a function for every model and shape."""
    return np.concatenate([ops.convert_to_numpy(function(inputs[i:i + batch_size]))
                           for i in range(0, len(inputs), batch_size)])


def reconstruct(images):
    """Held-out or training images -> reconstructions in [0, 1]."""
    return np.clip(in_batches(vqvae, images), 0.0, 1.0)


sample_grid = gen_lib.SampleGrid(reconstruct, x_held_out[:16], ncols=16)
start = time.perf_counter()
history = vqvae.fit(x_train, batch_size=BATCH_SIZE, epochs=run.epochs, shuffle=True,
                    callbacks=[sample_grid, gen_lib.StopOnNaN()], verbose=2)
vq_minutes = (time.perf_counter() - start) / 60
print(f"trained {int(vqvae.vq_optimizer.iterations)} steps in {vq_minutes:.1f} min")

# %% [markdown]
# `reseeded` is the mean number of codes re-seeded per step: it is non-zero early in
# training, while codes that no encoder output is near are moved onto the data, and should
# fall to zero once every code is in use.
#
# ### Codebook collapse, and the remedy
#
# What happens without re-seeding? Train the same model from the **same initial weights**
# with `reseed_dead_codes=False`, for the first sixth of the epochs (at least one), and
# compare the perplexity epoch by epoch. Without re-seeding the codes start where they
# were initialised, small, near the origin; the encoder's outputs are not. The few codes
# that happen to be nearest to some outputs are pulled towards the data by the codebook
# loss; the others never win an `argmin`, so they get no gradient and never move: they are
# **dead**, and the model is left with a fraction of its codebook.

# %%
no_reseed = VQVAE(make_encoder(CODE_DIM), VectorQuantizer(NUM_CODES, CODE_DIM),
                  make_decoder(CODE_DIM), beta=BETA, data_variance=data_variance,
                  reseed_dead_codes=False, seed=run.seed)
no_reseed.compile(keras.optimizers.Adam(LEARNING_RATE))
no_reseed.set_weights(initial_weights)
collapse_epochs = max(1, run.epochs // 6)
collapse_history = no_reseed.fit(x_train, batch_size=BATCH_SIZE, epochs=collapse_epochs,
                                 shuffle=True, verbose=0)
print("epoch   perplexity with re-seeding   without")
for epoch in range(collapse_epochs):
    print(f"{epoch + 1:5d}   {history.history['perplexity'][epoch]:26.1f}   "
          f"{collapse_history.history['perplexity'][epoch]:7.1f}")

# %% [markdown]
# ### The prior
#
# Encode every image to its code grid. The prior learns to predict each code from the codes
# before it: a classification over $K$ classes at each of the 49 positions, so a plain
# `compile` / `fit` with sparse categorical cross-entropy on logits does it. The held-out
# grids are its validation data: `val_loss` is the prior's negative log-likelihood in nats
# per code on images it never saw (a uniform prior would score $\log K$).

# %%
def encode_to_codes(images):
    return in_batches(lambda x: quantizer.nearest_codes(encoder(x)), images).astype("int32")


codes_train, codes_held_out = encode_to_codes(x_train), encode_to_codes(x_held_out)
print(f"code grids: train {codes_train.shape}, held out {codes_held_out.shape}")

# %% [markdown]
# Sampling is sequential: start from an empty grid, run the prior, draw the code at the first
# position from its softmax, write it into the grid, run the prior again for the second
# position, and so on: 49 forward passes, each one batched over all the grids we sample
# (with `predict`, which compiles the forward pass once: here that is several times faster
# than plain calls, and sampling is the slowest part of the notebook). The draws use
# `keras.random.categorical` with a `SeedGenerator` made from `seed`, outside any compiled
# step, so the same seed gives the same samples. `temperature` divides the logits (below 1:
# safer, less varied samples).

# %%
def sample_codes(prior, n, seed, temperature=1.0):
    seed_generator = keras.random.SeedGenerator(seed)
    codes = np.zeros((n, *GRID), "int32")
    for row in range(GRID[0]):
        for col in range(GRID[1]):
            logits = prior.predict(codes, batch_size=1000, verbose=0)[:, row, col]
            drawn = keras.random.categorical(logits / temperature, 1, seed=seed_generator)
            codes[:, row, col] = ops.convert_to_numpy(drawn)[:, 0]
    return codes


def decode_codes(codes):
    """Code grids -> images in [0, 1]."""
    return np.clip(in_batches(lambda c: decoder(quantizer.lookup(c)), codes), 0.0, 1.0)


prior_grid = gen_lib.SampleGrid(lambda seed: decode_codes(sample_codes(prior, 16, seed)),
                                inputs=3, every=3, ncols=16)

# %% [markdown]
# Train the prior for as many epochs as the VQ-VAE. The grid shows 16 samples from the same
# seed every third epoch (sampling is the slow part).

# %%
prior.compile(optimizer=keras.optimizers.Adam(PRIOR_LEARNING_RATE),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
start = time.perf_counter()
prior_history = prior.fit(codes_train, codes_train, batch_size=BATCH_SIZE, epochs=run.epochs,
                          validation_data=(codes_held_out, codes_held_out), shuffle=True,
                          callbacks=[prior_grid, gen_lib.StopOnNaN()], verbose=2)
prior_minutes = (time.perf_counter() - start) / 60
print(f"trained the prior {int(prior.optimizer.iterations)} steps in {prior_minutes:.1f} min")

# %% [markdown]
# ## Results
#
# ### Losses
#
# The reconstruction loss should fall steadily. The codebook and commitment losses often
# *rise* at first, while the encoder's outputs spread out from the tiny initial codes, and
# then settle; the perplexity should climb towards a good fraction of $K$.

# %%
gen_lib.plot_history(history, keys=["reconstruction", "codebook", "commitment"],
                     title="VQ-VAE losses");
gen_lib.plot_history(history, keys=["perplexity"], title="codebook perplexity (per batch)");
gen_lib.plot_history(prior_history, keys=["loss", "val_loss"],
                     title="prior: nats per code (train / held out)");

# %% [markdown]
# ### Reconstructions of held-out images
#
# Top: held-out images; bottom: their reconstructions, through 49 codes each.

# %%
shown = x_held_out[:16]
gen_lib.image_grid(np.concatenate([shown, reconstruct(shown)]), ncols=16,
                   title="held-out images (top) and reconstructions (bottom)");

# %% [markdown]
# ### The code grids
#
# Each image is now 49 integers. Different digits use different codes, and the background
# (most of the grid) is covered by a few codes.

# %%
fig, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for i in range(8):
    axes[0, i].imshow(shown[i, ..., 0], cmap="gray")
    axes[1, i].imshow(codes_held_out[i], cmap="tab20", vmin=0, vmax=NUM_CODES - 1)
    for r in range(GRID[0]):
        for c in range(GRID[1]):
            axes[1, i].text(c, r, codes_held_out[i, r, c], ha="center", va="center",
                            fontsize=5)
    for ax in axes[:, i]:
        ax.set_xticks([])
        ax.set_yticks([])
fig.suptitle("held-out images and their 7x7 code grids")
fig.tight_layout()

# %% [markdown]
# ### Codebook usage
#
# How often is each code used on the held-out images? The **perplexity** of that
# distribution is the number of codes effectively in use; **dead codes** are codes no
# held-out vector maps to. The lighter bars are the model trained without re-seeding.

# %%
def codebook_stats(codes):
    counts = np.bincount(codes.reshape(-1), minlength=NUM_CODES)
    shares = counts / counts.sum()
    used = shares[shares > 0]
    return counts, float(np.exp(-(used * np.log(used)).sum())), int((counts == 0).sum())


counts, perplexity, dead = codebook_stats(codes_held_out)
collapsed_codes = in_batches(
    lambda x: no_reseed.quantizer.nearest_codes(no_reseed.encoder(x)), x_held_out)
collapsed_counts, collapsed_perplexity, collapsed_dead = codebook_stats(collapsed_codes)
fig, ax = plt.subplots(figsize=(8, 3))
ax.bar(range(NUM_CODES), np.sort(counts)[::-1], label=f"re-seeding, {run.epochs} epoch(s)")
ax.bar(range(NUM_CODES), np.sort(collapsed_counts)[::-1], alpha=0.6,
       label=f"no re-seeding, {collapse_epochs} epoch(s)")
ax.set_yscale("log")
ax.set_xlabel("codes, most used first")
ax.set_ylabel("uses on held-out images")
ax.set_title("code usage on the held-out images")
ax.legend()
fig.tight_layout()
print(f"re-seeding    : perplexity {perplexity:5.1f}, {dead:3d} dead codes of {NUM_CODES}")
print(f"no re-seeding : perplexity {collapsed_perplexity:5.1f}, {collapsed_dead:3d} dead codes "
      f"(after {collapse_epochs} epoch(s))")

# %% [markdown]
# ### Samples from the prior, and why the prior matters
#
# Sample code grids from the prior and decode them. For comparison, decode code grids
# drawn **uniformly at random** (what the VQ-VAE's training assumed): every code is valid,
# but their arrangement is not a digit.

# %%
start = time.perf_counter()
sampled_codes = sample_codes(prior, scorer.fd_samples, seed=run.seed)
sampling_seconds = time.perf_counter() - start
prior_samples = decode_codes(sampled_codes)
uniform_codes = np.random.default_rng(4).integers(0, NUM_CODES, sampled_codes.shape)
uniform_samples = decode_codes(uniform_codes.astype("int32"))
print(f"sampled {len(sampled_codes)} code grids in {sampling_seconds:.0f} s "
      f"({GRID[0] * GRID[1]} forward passes of the prior)")
gen_lib.image_grid(prior_samples[:64], ncols=16, title="samples from the PixelCNN prior");
gen_lib.image_grid(uniform_samples[:32], ncols=16, title="uniformly random code grids");

# %% [markdown]
# ### The quality numbers
#
# - **Reconstruction MSE** on the held-out images, in pixel units ($[0, 1]$ scale), and
#   divided by the pixel variance (1.0 = predicting the mean pixel).
# - **Perplexity and dead codes** of the codebook on the held-out images.
# - **Prior NLL**: the prior's negative log-likelihood of the held-out code grids, in nats per
#   code, next to $\log K$ for a uniform prior.
# - **Fréchet distance** (FID with an MNIST classifier instead of Inception; not comparable
#   with published FIDs) of the prior's samples, of uniformly random code grids, and of
#   reconstructions of training images (the best the prior could do with this decoder), next
#   to the floor that two sets of real images reach.

# %%
held_out_mse = float(((reconstruct(x_held_out) - x_held_out) ** 2).mean())
prior_nll = float(prior.evaluate(codes_held_out, codes_held_out, batch_size=500, verbose=0))
fd_prior = scorer.fd(prior_samples)
fd_uniform = scorer.fd(uniform_samples)
fd_reconstructions = scorer.fd(reconstruct(x_train[: scorer.fd_samples]))
print(f"held-out images            : {len(x_held_out)} (random {HOLDOUT:.0%} of the split)")
print(f"reconstruction MSE         : {held_out_mse:.5f} per pixel "
      f"({held_out_mse / data_variance:.3f} of the pixel variance)")
print(f"codebook perplexity        : {perplexity:.1f} of K = {NUM_CODES}")
print(f"dead codes                 : {dead} of {NUM_CODES}")
print(f"prior NLL, held-out codes  : {prior_nll:.3f} nats/code (uniform: {np.log(NUM_CODES):.3f})")
print(f"FD, prior samples          : {fd_prior:8.2f}")
print(f"FD, uniform random codes   : {fd_uniform:8.2f}")
print(f"FD, reconstructions        : {fd_reconstructions:8.2f}")
print(f"FD, real vs real floor     : {scorer.floor:8.2f}")
print(f"ratio to the floor         : prior {fd_prior / scorer.floor:.1f}x, "
      f"reconstructions {fd_reconstructions / scorer.floor:.1f}x, "
      f"uniform codes {fd_uniform / scorer.floor:.0f}x")

# %% [markdown]
# ## Save and reload
#
# Two things are worth saving. **The whole VQ-VAE**, to reconstruct, encode, or resume
# training: `get_config` and `get_compile_config` above tell Keras how to rebuild the model
# and re-compile it; `gen_lib.track_optimizers` makes the optimizer's state (and the
# `SeedGenerator`'s, which Keras itself does not save) model variables. The custom layer is
# registered and has a `get_config`, so the file loads with `safe_mode=True`. Same images
# in, same reconstructions out.

# %%
artifacts = Path("artifacts")
artifacts.mkdir(exist_ok=True)
path = artifacts / "05_vqvae.keras"
vqvae.save(path)
reloaded = keras.saving.load_model(path, safe_mode=True)
steps = [int(ops.convert_to_numpy(m.vq_optimizer.iterations)) for m in (reloaded, vqvae)]
assert steps[0] == steps[1], steps
difference = np.abs(in_batches(reloaded, shown) - in_batches(vqvae, shown)).max()
assert difference < 1e-5, difference
print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); {steps[0]} optimizer steps "
      f"restored; max reconstruction difference after reload: {difference:.1e}")

# %% [markdown]
# **The prior**, to sample: a functional model with the registered `MaskedConv2D`, saved
# with its compiled loss and optimizer. Same grids in, same logits out, and so the same
# samples for the same seed.

# %%
path = artifacts / "05_vqvae_prior.keras"
prior.save(path)
reloaded_prior = keras.saving.load_model(path, safe_mode=True)
difference = np.abs(in_batches(reloaded_prior, codes_held_out[:64])
                    - in_batches(prior, codes_held_out[:64])).max()
assert difference < 1e-5, difference
print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB); "
      f"max logit difference after reload: {difference:.1e}")

# %% [markdown]
# ## Exercises
#
# 1. **Codebook collapse.** Set `RESEED_DEAD_CODES = False` and rerun. How many codes are
#    dead now, and what happens to the perplexity, the reconstruction error and the FD?
#    Then try a larger codebook (`NUM_CODES = 512`, as in the paper) with and without
#    re-seeding.
# 2. **EMA codebook.** Replace the codebook loss by exponential-moving-average updates
#    (Appendix A.1 of the paper, decay 0.99): keep, per code, a running count $N_k$ and a
#    running sum $m_k$ of the encoder outputs assigned to it, set $e_k = m_k / N_k$ after
#    each step, and exclude the codebook from the gradient step. Compare the perplexity.
# 3. **No straight-through.** Feed the decoder `z_q` instead of
#    `z_e + stop_gradient(z_q - z_e)`. Which weights stop learning, and what does
#    `gen_lib.minimize` tell you?
# 4. **β.** Train with `BETA = 0` and `BETA = 2`. What happens to the norm of $z_e$ and to
#    the commitment loss?
# 5. **Temperature.** Sample with `temperature` 0.7 and 1.3. How do the samples and the FD
#    change? Why does a lower temperature trade diversity for quality?
# 6. **The blind spot.** A stack of 3×3 B-masked convolutions cannot see some positions to
#    the upper right of the current one (van den Oord et al. 2016 fix this with gated,
#    two-stack PixelCNNs). Use the mask test above, with several positions, to find out
#    which positions the prior's output at (3, 4) ignores.
# 7. **Fashion-MNIST.** Set `DATASET = "fashion_mnist"`. Which classes reconstruct well?
#
# ## References
#
# - van den Oord, Vinyals, Kavukcuoglu (2017). *Neural Discrete Representation Learning.*
#   NeurIPS. arXiv:1711.00937.
# - van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves, Kavukcuoglu (2016). *Conditional
#   Image Generation with PixelCNN Decoders.* NeurIPS. arXiv:1606.05328.
# - Bengio, Léonard, Courville (2013). *Estimating or Propagating Gradients Through
#   Stochastic Neurons for Conditional Computation.* arXiv:1308.3432.
# - Razavi, van den Oord, Vinyals (2019). *Generating Diverse High-Fidelity Images with
#   VQ-VAE-2.* NeurIPS. arXiv:1906.00446.
# - Esser, Rombach, Ommer (2021). *Taming Transformers for High-Resolution Image Synthesis*
#   (VQGAN). CVPR. arXiv:2012.09841.
# - Odena, Dumoulin, Olah (2016). *Deconvolution and Checkerboard Artifacts.* Distill.
# - Heusel et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a Local
#   Nash Equilibrium* (FID). arXiv:1706.08500.
# - keras.io examples: *Vector-Quantized Variational Autoencoders* (Sayak Paul) and
#   *PixelCNN* (ADMoreau).
