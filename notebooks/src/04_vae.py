# %% [markdown]
# # 04 · VAE: a convolutional variational autoencoder on MNIST, one `train_step` for TensorFlow, JAX and PyTorch
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gen-lib/generative-notebooks/blob/main/notebooks/04_vae.ipynb)
#
# **What you will learn**
#
# - the evidence lower bound (ELBO) of Kingma & Welling (2013), derived with the right
#   signs: we *maximise* it, which is the same as *minimising* a reconstruction loss plus a
#   KL divergence;
# - the closed-form KL divergence between a diagonal Gaussian and $\mathcal{N}(0, I)$, and
#   the reparameterization trick that lets gradients pass through the sampling;
# - a Bernoulli likelihood: the decoder outputs logits, the loss is the binary
#   cross-entropy summed over the 784 pixels;
# - how to measure a VAE: the negative ELBO in nats per image on images it never trained
#   on, split into its two terms, and a Fréchet distance of its samples next to the floor;
# - what a 2-D latent space looks like: the codes of the digits, and the digits the decoder
#   draws across it.
#
# **How long it takes.** The main model trains for about 3,400 steps (8 epochs of the 60k
# train split, or 48 epochs of the 10k test split offline), then a second, small model with
# a 2-D latent space trains a quarter as long. The README's results table lists the
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
import inspect
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

# %% tags=["parameters"]
DATASET = "mnist"  # or "fashion_mnist"
SPLIT = "train"  # "test" when only the 10k test files are on disk
EPOCHS = 8  # ~3,400 steps on 54k train images; GEN_LIB_EPOCHS=48 on the 10k test split
BATCH_SIZE = 128
LATENT_DIM = 16  # the main model; the second model has a 2-D latent space, for the plots
BETA = 1.0  # weight of the KL term; 1 is the VAE (and the only value giving a bound)
LEARNING_RATE = 1e-3  # Adam's default, the usual VAE setting
HELD_OUT = 0.1  # fraction of the split kept out of training, to measure the ELBO on
FD_SAMPLES = 5000

run = gen_lib.run_profile(epochs=EPOCHS, split=SPLIT, fd_samples=FD_SAMPLES)

# %% [markdown]
# ## Theory
#
# **The model.** A VAE is a latent-variable model: draw a code $z \sim p(z) =
# \mathcal{N}(0, I)$, then an image $x \sim p_\theta(x \mid z)$, whose parameters a
# neural network, the *decoder*, computes from $z$. Its likelihood
# $p_\theta(x) = \int p_\theta(x \mid z)\, p(z)\, dz$ has no closed form, and neither has
# the posterior $p_\theta(z \mid x)$. Variational inference approximates that posterior by
# a simple family: a second network, the *encoder*, outputs the mean and log-variance of a
# diagonal Gaussian $q_\phi(z \mid x) = \mathcal{N}(\mu_\phi(x), \operatorname{diag}
# \sigma^2_\phi(x))$.
#
# **The ELBO.** For any $q$,
#
# $$\log p_\theta(x) = \underbrace{\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x \mid z)]
#   - \mathrm{KL}\big(q_\phi(z \mid x) \,\|\, p(z)\big)}_{\mathcal{L}(\theta, \phi; x)
#   \text{, the ELBO}}
#   + \mathrm{KL}\big(q_\phi(z \mid x) \,\|\, p_\theta(z \mid x)\big)$$
#
# (expand $\log p_\theta(z \mid x) = \log p_\theta(x \mid z) + \log p(z) - \log
# p_\theta(x)$ inside the last KL). A KL divergence is never negative, so $\mathcal{L}
# \le \log p_\theta(x)$: the ELBO is a lower bound on the log-likelihood, tight when $q$ is
# the true posterior. Training **maximises** $\mathcal{L}$ over both networks at once,
# which is the same as **minimising**
#
# $$-\mathcal{L} = \underbrace{-\mathbb{E}_{q}[\log p_\theta(x \mid z)]}_{\text{reconstruction
#   loss}} + \underbrace{\mathrm{KL}\big(q_\phi(z \mid x) \,\|\, p(z)\big)}_{\text{KL
#   term}\ \ge\ 0}.$$
#
# Both terms are minimised: the decoder must explain $x$ from codes drawn from $q$, and the
# KL keeps $q$ close to the prior, so that codes drawn from the prior decode to digits.
# There is no adversary anywhere: the encoder and decoder cooperate on one objective.
#
# **The KL term in closed form** (Kingma & Welling 2013, Appendix B), for one image, summed
# over the $J$ latent dimensions:
#
# $$\mathrm{KL}\big(\mathcal{N}(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal{N}(0, I)\big)
#   = -\tfrac12 \sum_{j=1}^{J} \big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big).$$
#
# The log-variance enters *linearly*; each term is $\ge 0$ and is $0$ exactly at
# $\mu_j = 0, \sigma_j = 1$.
#
# **The reconstruction term: a Bernoulli likelihood.** Pixels are scaled to $[0, 1]$ and
# each pixel is modelled as a Bernoulli variable whose probability is $\sigma(\ell)$, where
# $\ell$ is the decoder's output *logit* for that pixel. Then $-\log p_\theta(x \mid z)$ is
# the binary cross-entropy, **summed over the 784 pixels** (it is the log-likelihood of the
# whole image), then averaged over the batch. The loss uses the logits directly
# (`from_logits=True`, numerically stable); the mean of the Bernoulli, $\sigma(\ell)$, is
# the image we display and score. (MNIST pixels are grey levels, not 0/1; the cross-entropy
# with a grey target is the usual practical choice, but it is not a normalised likelihood,
# so its nats are not comparable with published numbers on binarized MNIST.)
#
# **$\beta$.** With weight $\beta$ on the KL term the loss is $\text{reconstruction} +
# \beta\,\mathrm{KL}$. $\beta = 1$ is the VAE, and only then is the loss a bound on
# $-\log p_\theta(x)$; $\beta > 1$ is the $\beta$-VAE of Higgins et al. (2017), which trades
# reconstruction for a more factorised code. Whatever $\beta$ you train with, the numbers
# this notebook *reports* are the $\beta = 1$ negative ELBO.
#
# The two loss terms, written once and used both by the training step and by the
# evaluation below. Each returns one value per image, in nats.

# %% tags=["model"]
def gaussian_kl(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per image, summed over latent dimensions."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def bernoulli_nll(images, logits):
    """-log p(x | z) per image: binary cross-entropy from logits, summed over pixels."""
    bce = ops.binary_crossentropy(images, logits, from_logits=True)
    return ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=-1)

# %% [markdown]
# **The reparameterization trick.** The expectation over $q_\phi$ is estimated with one
# sample per image, but "draw $z \sim q_\phi(z \mid x)$" has no gradient with respect to
# $\phi$. Write the sample as a deterministic function of the encoder's outputs and of
# noise that does not depend on anything we train:
#
# $$z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp(\tfrac12 \log\sigma^2),
#   \qquad \varepsilon \sim \mathcal{N}(0, I).$$
#
# Now $\partial z / \partial \mu = 1$ and $\partial z / \partial \log\sigma^2 =
# \tfrac12\,\sigma\,\varepsilon$, so the gradient of the loss reaches the encoder through
# the sample (Kingma & Welling 2013, §2.4). Predicting $\log\sigma^2$ rather than $\sigma$
# keeps the variance positive without any constraint.
#
# `gen_lib.Sampling` is this layer, shared with notebook 06. Its noise comes from its own
# `keras.random.SeedGenerator`: reproducible, and on JAX its state is a variable that the
# training loop threads from step to step (an unseeded random call would fail under
# `jax.jit`, and NumPy noise would be frozen into the compiled step). Here is its code,
# the code that runs below:

# %%
print(inspect.getsource(gen_lib.Sampling))

# %% [markdown]
# **History.** The VAE is due to Diederik P. Kingma and Max Welling (*Auto-Encoding
# Variational Bayes*, arXiv December 2013, ICLR 2014), and, independently, to Rezende,
# Mohamed & Wierstra (2014). It is not Hinton's 2006 work: Hinton & Salakhutdinov (2006)
# trained deterministic deep autoencoders (pre-trained as stacks of RBMs), with no
# variational inference and no prior to sample from.

# %% [markdown]
# ### Common mistakes (from the tutorial this notebook corrects)
#
# The original posts (see `shared/ERRATA.md`, sections 5 and 1) contain each of these.
#
# | mistake | what happens | fix |
# |---|---|---|
# | "maximise the reconstruction error and the KL" (VAE-T01) | the opposite of training | maximise the ELBO = minimise reconstruction loss + KL |
# | KL written as $\tfrac12\sum((\log\sigma^2)^2 - \sigma^2 + 1 - \mu^2)$ and added to the loss (VAE-C10) | the log-variance is squared and the sign flipped: minimising it pushes the codes *away* from the prior, without bound (see the cell below) | $-\tfrac12\sum(1 + \log\sigma^2 - \mu^2 - \sigma^2)$, added |
# | fixed `0.01 * normal` noise in a `Lambda` that is never called, a deterministic `tanh` code, or $z$ fed in as a model input (VAE-C07, C15, C20) | no reparameterization: $\sigma$ is never used or learned, and the "VAE" is a plain autoencoder whose codes the prior does not describe | `gen_lib.Sampling`: $z = \mu + \sigma\varepsilon$ with a `SeedGenerator` |
# | BCE averaged over pixels, KL summed over latent dimensions (VAE-C11) | the KL weighs 784x too much: blurry samples or posterior collapse | sum both per image, then average over the batch |
# | a "KL" that is `1 - Dense(2, sigmoid)(z) ** 2` (VAE-C19) | not a divergence, and a new untracked layer on every call | the closed form above |
# | loss `y_true[0] + y_pred[0]`, or `compile(loss=<tensor>)` (VAE-C21, C11) | trains on the first image only, or does not run | the two terms in a custom `train_step` |
# | encoder and decoder trained in alternation; the encoder "outputs a code and Gaussian noise" (VAE-T06, T08) | a wrong picture of the algorithm | one joint step per batch; the encoder outputs $(\mu, \log\sigma^2)$, the noise is drawn separately |
# | "the VAE uses adversarial training" (VAE-T04) | confuses it with a GAN | encoder and decoder cooperate on one objective |
# | the KL "compares the data with the true distribution" or "encoder with decoder" (VAE-T02) | a wrong picture of what is regularised | $\mathrm{KL}(q_\phi(z \mid x)\,\|\,p(z))$, in latent space |
# | latent size 256; "validation" on the training images (VAE-C13) | most dimensions unused; no measure of generalisation | 2 for plots, 16 here; measure on held-out images |
# | VAEs credited to "Geoffrey Hinton, 2006" (GEN-03) | wrong history | Kingma & Welling 2013; Rezende et al. 2014 |
#
# The second one, side by side with the correct KL. At $\mu = 0, \sigma = 1$ both are 0;
# move the code away from the prior and the correct KL grows, while the tutorial's term
# *decreases* without bound, so a loss that contains it is minimised by codes far from
# the prior.

# %%
def tutorial_kl(z_mean, z_log_var):
    """The tutorial's term (seed 000, L131): squared log-variance, flipped sign."""
    return 0.5 * ops.sum(ops.square(z_log_var) - ops.exp(z_log_var) + 1.0
                         - ops.square(z_mean), axis=-1)


print("   mean  log_var   correct KL   tutorial's term")
for mean, log_var in [(0.0, 0.0), (1.0, 0.0), (3.0, 0.0), (10.0, 0.0), (0.0, -4.0), (0.0, 2.0)]:
    m, v = ops.convert_to_tensor([[mean]]), ops.convert_to_tensor([[log_var]])
    print(f"{mean:7.1f} {log_var:8.1f} {float(gaussian_kl(m, v)[0]) + 0.0:12.3f} "
          f"{float(tutorial_kl(m, v)[0]) + 0.0:17.3f}")

# %% [markdown]
# ## Data
#
# `gen_lib.load_dataset` reads MNIST through `keras.datasets`, or offline from a folder of
# the canonical idx files named by `GEN_LIB_DATA_DIR`. The Bernoulli likelihood wants pixels
# in $[0, 1]$: `gen_lib.to_unit_range`.
#
# To measure the ELBO on images the VAE never trained on, we hold out a random tenth of the
# split (`HELD_OUT`; a permutation with its own seed, 0, because idx files are ordered)
# and train on the rest. With the train split that is 6,000 of its 60,000 images; offline,
# 1,000 of the 10,000 test images.

# %%
images, labels = gen_lib.load_dataset(DATASET, run.split, subset=run.subset)
x_all = gen_lib.to_unit_range(images)
order = np.random.default_rng(0).permutation(len(x_all))
n_held_out = max(int(round(HELD_OUT * len(x_all))), 1)
held_out_idx, train_idx = order[:n_held_out], order[n_held_out:]
x_train, x_held_out = x_all[train_idx], x_all[held_out_idx]
y_held_out = labels[held_out_idx]
print(run.describe(len(x_all)))
print(f"training on {len(x_train)} images, holding out {len(x_held_out)}; "
      f"range [{x_train.min()}, {x_train.max()}], {x_train.dtype}")
gen_lib.image_grid(x_train[:32], ncols=16, title="training images");

# %% [markdown]
# ## Networks
#
# The encoder downsamples 28→14→7 with two stride-2 convolutions, then a dense layer, then
# **two linear heads with bias**: the mean and the log-variance of $q_\phi(z \mid x)$ (no
# activation: a log-variance can be any real number). `Sampling` draws $z$ from them. The
# encoder returns all three: the loss needs $\mu$ and $\log\sigma^2$, the decoder needs $z$.
#
# The decoder mirrors it: a dense layer to a 7×7×64 map, two stride-2 transposed
# convolutions back to 28×28×1, and **no sigmoid**: it outputs one logit per pixel. The
# layer sizes are those of notebook 01's DCGAN (without batch norm), kept small because
# JAX's CPU backend is slow on the backward pass of wide transposed convolutions (the
# width benchmark in BENCHMARKS.md).

# %% tags=["model"]
def check_latent_dim(latent_dim):
    if not isinstance(latent_dim, (int, np.integer)) or isinstance(latent_dim, bool) \
            or latent_dim < 1:
        raise ValueError(f"latent_dim must be an integer >= 1, got {latent_dim!r}. "
                         "Use 2 to plot the latent space, 8-32 for better samples.")


def make_encoder(latent_dim, seed=None):
    check_latent_dim(latent_dim)
    image = keras.Input((28, 28, 1))
    h = layers.Conv2D(32, 4, strides=2, padding="same", activation="relu")(image)  # 14x14
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
    h = layers.Conv2DTranspose(32, 4, strides=2, padding="same", activation="relu")(h)  # 14x14
    logits = layers.Conv2DTranspose(1, 4, strides=2, padding="same")(h)  # 28x28, no sigmoid
    return keras.Model(z, logits, name="decoder")

# %%
encoder = make_encoder(LATENT_DIM, seed=run.seed)
decoder = make_decoder(LATENT_DIM)
encoder.summary()
decoder.summary()

# %% [markdown]
# Check the shapes and the starting point: the encoder gives three (batch, latent) outputs,
# the decoder one logit per pixel, and the two loss terms one non-negative number per image.
# At initialisation the codes are close to the prior, so the KL is small, and the
# reconstruction loss is near $784 \cdot$ (the cross-entropy of a coin flip), as the
# decoder knows nothing yet.

# %%
probe_mean, probe_log_var, probe_z = encoder(x_train[:16])
probe_logits = decoder(probe_z)
assert tuple(probe_mean.shape) == tuple(probe_z.shape) == (16, LATENT_DIM), probe_z.shape
assert tuple(probe_log_var.shape) == (16, LATENT_DIM), probe_log_var.shape
assert tuple(probe_logits.shape) == (16, 28, 28, 1), probe_logits.shape
probe_rec = ops.convert_to_numpy(bernoulli_nll(x_train[:16], probe_logits))
probe_kl = ops.convert_to_numpy(gaussian_kl(probe_mean, probe_log_var))
assert probe_rec.shape == probe_kl.shape == (16,)
assert (probe_kl >= 0).all() and (probe_rec > 0).all()
print(f"encoder: 3 x {tuple(probe_z.shape)}, decoder: {tuple(probe_logits.shape)} logits")
print(f"at init: reconstruction {probe_rec.mean():.1f} nats/image, "
      f"KL {probe_kl.mean():.3f} nats/image")

# %% [markdown]
# ## The `train_step`
#
# The model holds both networks and one optimizer for both: there is one objective, so one
# update. Read `train_step` top to bottom:
#
# 1. `unpack_x_y_sample_weight` takes the images out of the batch `fit` gives us (no
#    labels: the VAE is unsupervised).
# 2. The loss function runs the whole pipeline: encoder → $(\mu, \log\sigma^2)$ →
#    `Sampling` draws $z = \mu + \sigma\varepsilon$ (fresh noise every call, from the
#    layer's `SeedGenerator`) → decoder → logits. `loss_terms` returns the two terms per
#    image; the loss is their batch mean, $\text{reconstruction} + \beta\,\mathrm{KL}$.
# 3. `gen_lib.minimize` differentiates that loss with respect to the encoder's and the
#    decoder's variables together and takes one Adam step. The gradient reaches the encoder
#    twice: through the KL, and through $z$ into the reconstruction term, which is what the
#    reparameterization trick is for.
# 4. Update the trackers: the loss and its two terms, each a running mean in nats per
#    image, which `fit` prints.
#
# `@gen_lib.train_step` and `gen_lib.minimize` make this run on every backend (on JAX they
# pass the model's variables in and out of the compiled step, including the state of the
# `Sampling` layer's seed generator); `gen_lib.track_optimizers` makes the model own the
# optimizer's state. See notebook 01 for how they work.

# %% tags=["model"]
@keras.saving.register_keras_serializable(package="gen_notebooks_04")  # 06 has its own VAE
class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        if not beta >= 0:  # also refuses NaN
            raise ValueError(f"beta must be >= 0, got {beta!r}: 1 is the VAE, "
                             "> 1 a beta-VAE, 0 a plain autoencoder with noise.")
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.built = True  # both networks are built; the VAE has no call() of its own

    def compile(self, optimizer):
        super().compile()
        self.vae_optimizer = optimizer
        gen_lib.track_optimizers(self, (optimizer, self.network_variables))

    @property
    def network_variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def loss_terms(self, images, training=False):
        """Reconstruction (-log p(x|z), one sample z ~ q(z|x)) and KL, per image, in nats."""
        z_mean, z_log_var, z = self.encoder(images, training=training)
        logits = self.decoder(z, training=training)
        return bernoulli_nll(images, logits), gaussian_kl(z_mean, z_log_var)

    @gen_lib.train_step
    def train_step(self, data):
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)

        def loss_fn():
            reconstruction, kl = self.loss_terms(images, training=True)
            reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
            return reconstruction + self.beta * kl, (reconstruction, kl)

        loss, (reconstruction, kl) = gen_lib.minimize(
            loss_fn, self.network_variables, self.vae_optimizer)

        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    # Saving: how to rebuild this model (its networks) and re-compile it (its optimizer).
    def get_config(self):
        return {**super().get_config(), "beta": self.beta,
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config):
        for name in ("encoder", "decoder"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def get_compile_config(self):
        return {"optimizer": keras.saving.serialize_keras_object(self.vae_optimizer)}

    def compile_from_config(self, config):
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))

# %% [markdown]
# ## Training
#
# Before training, set up the yardsticks. The quality scorer trains a small MNIST classifier
# on the real images (once; it is cached on disk) and reports the **floor**, the Fréchet
# distance between two disjoint sets of real images of the same size. And a function for
# the negative ELBO on a set of images, in nats per image, from the same `loss_terms` the
# training step uses. It draws one $z$ per image, so it is an unbiased but noisy estimate;
# over a thousand images the noise is small.

# %%
scorer = gen_lib.QualityScorer(x_all, labels, fd_samples=run.fd_samples)
eval_noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM)).astype("float32")


def to_images(logits):
    """The Bernoulli means sigmoid(logits): the images we display and score."""
    return ops.convert_to_numpy(ops.sigmoid(ops.convert_to_tensor(logits)))


def sample_images(noise, decoder=decoder, batch_size=500):
    """Decode codes drawn from the prior into images in [0, 1]."""
    return np.concatenate([to_images(decoder(noise[i:i + batch_size]))
                           for i in range(0, len(noise), batch_size)])


def negative_elbo(vae, x, batch_size=500):
    """Mean reconstruction term, KL term and their sum (beta = 1), in nats per image."""
    terms = [vae.loss_terms(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    reconstruction = np.concatenate([ops.convert_to_numpy(r) for r, _ in terms]).mean()
    kl = np.concatenate([ops.convert_to_numpy(k) for _, k in terms]).mean()
    return {"reconstruction": reconstruction, "kl": kl, "negative ELBO": reconstruction + kl}


vae = VAE(encoder, decoder, beta=BETA)
fd_untrained = scorer.fd(sample_images(eval_noise))
print(f"classifier accuracy on held-out real images: {scorer.real_accuracy:.3f}")
print(f"FD of the untrained decoder's samples: {fd_untrained:.2f} (floor {scorer.floor:.2f})")
print("untrained, held-out images:",
      ", ".join(f"{k} {v:.1f}" for k, v in negative_elbo(vae, x_held_out).items()))

# %% [markdown]
# Train with `fit`. The grid shows the decoder's images for the same 32 codes drawn from
# the prior after every epoch, updating in place. `gen_lib.StopOnNaN` stops at the first
# non-finite loss and restores the last good weights.

# %%
vae.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
grid_noise = np.random.default_rng(2).normal(size=(32, LATENT_DIM)).astype("float32")
sample_grid = gen_lib.SampleGrid(sample_images, grid_noise, ncols=16)

start = time.perf_counter()
history = vae.fit(x_train, batch_size=BATCH_SIZE, epochs=run.epochs, shuffle=True,
                  callbacks=[sample_grid, gen_lib.StopOnNaN()], verbose=2)
train_minutes = (time.perf_counter() - start) / 60
print(f"trained {int(vae.vae_optimizer.iterations)} steps in {train_minutes:.1f} min")

# %% [markdown]
# ## Results
#
# Both terms are in nats per image. The reconstruction term falls steeply. The KL term
# does not: the encoder starts near the prior (KL ≈ 0, codes that say nothing about the
# image) and buys better reconstructions by putting information into the codes, which the
# KL charges for, so after the first epochs it grows and levels off. What falls is the sum,
# the negative ELBO.

# %%
gen_lib.plot_history(history, keys=["loss", "reconstruction"],
                     title="negative ELBO and reconstruction (nats/image)");
gen_lib.plot_history(history, keys=["kl"], title="KL term (nats/image)");

# %% [markdown]
# ### Reconstructions
#
# Held-out digits (odd rows) and their reconstructions (even rows): each is encoded to its
# mean code $\mu$ and decoded; we show $\sigma(\ell)$, the Bernoulli mean. Blur is the
# signature of a VAE with a pixel-wise likelihood: for an uncertain pixel the mean is grey.

# %%
originals = x_held_out[:16]
reconstructions = to_images(decoder(encoder(originals)[0]))
pairs = np.concatenate([originals.reshape(2, 8, 28, 28, 1),
                        reconstructions.reshape(2, 8, 28, 28, 1)], axis=1).reshape(-1, 28, 28, 1)
gen_lib.image_grid(pairs, ncols=8, title="held-out digits and their reconstructions",
                   row_labels=["real", "recon.", "real", "recon."]);

# %% [markdown]
# ### Samples from the prior
#
# Generation does not use the encoder: draw $z \sim \mathcal{N}(0, I)$ and decode.

# %%
gen_lib.image_grid(sample_images(eval_noise[:64]), ncols=16, title="samples from the prior");

# %% [markdown]
# ### Interpolation
#
# Encode two held-out digits of different classes to their mean codes and decode the points
# on the straight line between them. Because the KL term packs the codes around the origin,
# the path runs through codes the decoder has learned to draw, and the digit morphs rather
# than jumping.

# %%
first = x_held_out[np.flatnonzero(y_held_out == y_held_out[0])[0]]
second = x_held_out[np.flatnonzero(y_held_out != y_held_out[0])[0]]
ends = ops.convert_to_numpy(encoder(np.stack([first, second]))[0])
weights = np.linspace(0, 1, 10, dtype="float32")[:, None]
path = (1 - weights) * ends[0] + weights * ends[1]
gen_lib.image_grid(np.concatenate([first[None], sample_images(path), second[None]]),
                   ncols=12, title="interpolation between two held-out digits "
                                   "(ends: the originals)");

# %% [markdown]
# ### The numbers
#
# **Negative ELBO in nats per image**, on the held-out images (never trained on) and, for
# comparison, on as many training images: a large gap would mean overfitting. Both terms
# are reported separately; their sum, at $\beta = 1$, is an upper bound on $-\log
# p_\theta(x)$ under this model.
#
# **Fréchet distance** of 5,000 (smoke: 200) prior samples, in the feature space of the
# scorer's classifier, next to the floor two sets of real images reach (FID, Heusel et al.
# 2017, with an MNIST classifier instead of Inception, so the values are not comparable with
# published FIDs). Lower is better.

# %%
elbo_held_out = negative_elbo(vae, x_held_out)
elbo_train = negative_elbo(vae, x_train[:len(x_held_out)])
print("nats per image          reconstruction       KL   negative ELBO")
for name, terms in [("held-out images", elbo_held_out), ("training images", elbo_train)]:
    print(f"{name:<22}{terms['reconstruction']:15.2f}{terms['kl']:9.2f}"
          f"{terms['negative ELBO']:16.2f}")
fd = scorer.fd(sample_images(eval_noise))
print(f"\nFD, prior samples vs real : {fd:8.2f}")
print(f"FD, real vs real floor    : {scorer.floor:8.2f}")
print(f"ratio to the floor        : {fd / scorer.floor:8.1f}x (untrained decoder: "
      f"{fd_untrained / scorer.floor:.0f}x)")

# %% [markdown]
# ### A 2-D latent space
#
# With two latent dimensions we can look at the whole code space at once. This is a
# **second, smaller model** trained here for a quarter of the main model's epochs, with the
# same `make_encoder`, `make_decoder` and `VAE` and `LATENT_DIM = 2`. Two numbers per digit
# cannot hold as much as sixteen, so expect blurrier reconstructions and a higher negative
# ELBO (printed below).

# %%
epochs_2d = max(1, run.epochs // 4)
vae_2d = VAE(make_encoder(2, seed=run.seed + 1), make_decoder(2), beta=BETA)
vae_2d.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
start = time.perf_counter()
vae_2d.fit(x_train, batch_size=BATCH_SIZE, epochs=epochs_2d, shuffle=True,
           callbacks=[gen_lib.StopOnNaN()], verbose=0)
print(f"2-D model: {int(vae_2d.vae_optimizer.iterations)} steps in "
      f"{(time.perf_counter() - start) / 60:.1f} min")
terms_2d = negative_elbo(vae_2d, x_held_out)
print("held-out images:", ", ".join(f"{k} {v:.1f}" for k, v in terms_2d.items()),
      "nats/image")

# %% [markdown]
# **The codes of the held-out digits**, the means $\mu$, coloured by their class. The VAE
# never saw a label, yet digits of one class land together: the layout is what the ELBO
# finds useful for reconstruction. The KL term keeps the cloud around the origin, roughly
# the size of the prior (the dashed circles: 1, 2 and 3 standard deviations).

# %%
codes = ops.convert_to_numpy(vae_2d.encoder(x_held_out)[0])
fig, ax = plt.subplots(figsize=(6, 5))
points = ax.scatter(codes[:, 0], codes[:, 1], c=y_held_out, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
for radius in (1, 2, 3):
    ax.add_patch(plt.Circle((0, 0), radius, fill=False, linestyle="--", color="gray"))
ax.set_xlabel("$\\mu_1$")
ax.set_ylabel("$\\mu_2$")
ax.set_aspect("equal")
ax.set_title("held-out digits in the 2-D latent space")
fig.tight_layout()

# %% [markdown]
# **The decoded manifold**: decode a regular 15×15 grid of codes over $[-3, 3]^2$ (three
# standard deviations of the prior each way; top left is $(-3, 3)$, as in the scatter
# plot). Each digit class occupies a region, and neighbouring codes decode to similar
# digits; where the prior has little mass, in the corners, the decoder has seen few codes.

# %%
steps = np.linspace(-3, 3, 15, dtype="float32")
grid_codes = np.array([[x, y] for y in steps[::-1] for x in steps], dtype="float32")
gen_lib.image_grid(sample_images(grid_codes, decoder=vae_2d.decoder), ncols=15, scale=0.7);

# %% [markdown]
# ## Save and reload
#
# Two things are worth saving. **The encoder and the decoder**, to encode and generate
# later. Both are functional models. `gen_lib.Sampling` is a registered class with a
# `get_config` (no `Lambda` layer), so both save to the `.keras` format and load back with
# `safe_mode=True` (no code is deserialised). Same inputs, same outputs: we compare the
# decoder's logits for fixed codes, and the encoder's mean and log-variance ($z$ itself is
# random by design).

# %%
artifacts = Path("artifacts")
artifacts.mkdir(exist_ok=True)
encoder_path, decoder_path = artifacts / "04_vae_encoder.keras", artifacts / "04_vae_decoder.keras"
encoder.save(encoder_path)
decoder.save(decoder_path)
encoder_reloaded = keras.saving.load_model(encoder_path, safe_mode=True)
decoder_reloaded = keras.saving.load_model(decoder_path, safe_mode=True)

def max_difference(a, b):
    return float(np.abs(ops.convert_to_numpy(a) - ops.convert_to_numpy(b)).max())


decoded_difference = max_difference(decoder_reloaded(eval_noise[:64]), decoder(eval_noise[:64]))
before, after = encoder(x_held_out[:64]), encoder_reloaded(x_held_out[:64])
encoded_difference = max(max_difference(after[i], before[i]) for i in (0, 1))  # mean, log-var
assert max(decoded_difference, encoded_difference) < 1e-5, (decoded_difference,
                                                            encoded_difference)
print(f"saved {encoder_path} and {decoder_path}; max difference after reload: "
      f"decoder {decoded_difference:.1e}, encoder mean/log-variance {encoded_difference:.1e}")

# %% [markdown]
# **The whole VAE**, to resume training later: that needs the optimizer's moments and step
# count too, and the position of the `Sampling` layer's noise stream. `get_config` and
# `get_compile_config` in the class above tell Keras how to rebuild the model and
# re-compile it; `gen_lib.track_optimizers` makes the optimizer's state model variables,
# and `gen_lib.Sampling`'s seed generator saves its state.

# %%
vae_path = artifacts / "04_vae.keras"
vae.save(vae_path)
vae_resumed = keras.saving.load_model(vae_path, safe_mode=True)
steps = [int(ops.convert_to_numpy(model.vae_optimizer.iterations)) for model in (vae_resumed, vae)]
assert steps[0] == steps[1], steps
difference = max_difference(vae_resumed.decoder(eval_noise[:64]), decoder(eval_noise[:64]))
assert difference < 1e-5, difference
print(f"saved {vae_path}; {steps[0]} optimizer steps restored; decoder difference {difference:.1e}")

# %% [markdown]
# ## Exercises
#
# 1. **The tutorial's KL.** Replace `gaussian_kl` in `loss_terms` by `tutorial_kl` (from the
#    common-mistakes cell) and train for one epoch. What happens to the `kl` log, to the
#    size of the codes $\mu$, and to the prior samples?
# 2. **Mean instead of sum.** Average the cross-entropy over the pixels instead of summing
#    it (VAE-C11), keeping the KL summed. Compare the reconstructions, the KL and the FD.
#    What value of `BETA` makes the summed loss equivalent?
# 3. **$\beta$.** Train with `BETA = 0`, `0.5` and `4`. How do the reconstruction term, the KL
#    term, the samples and the FD move? Which one is a bound on $-\log p(x)$?
# 4. **No noise.** Make the encoder return `z_mean` as its `z` (a deterministic code). The
#    reconstructions get sharper; why do the prior samples get worse?
# 5. **Latent size.** Try `LATENT_DIM = 2, 8, 32, 64`. Where does the held-out negative ELBO
#    stop improving? Look at the per-dimension KL, `gaussian_kl` without the sum: how many
#    dimensions carry information (KL clearly above 0)?
# 6. **KL warm-up** (Bowman et al. 2016): raise the KL weight linearly from 0 to 1 over the
#    first epochs (hint: a non-trainable variable on the model, assigned in `train_step`).
#    Does it change the final ELBO?
# 7. **Fashion-MNIST.** Set `DATASET = "fashion_mnist"`. Which classes come out well?
#
# ## References
#
# - Kingma, Welling (2013). *Auto-Encoding Variational Bayes.* arXiv:1312.6114; ICLR 2014.
# - Rezende, Mohamed, Wierstra (2014). *Stochastic Backpropagation and Approximate Inference
#   in Deep Generative Models.* ICML. arXiv:1401.4082.
# - Kingma, Welling (2019). *An Introduction to Variational Autoencoders.* Foundations and
#   Trends in Machine Learning. arXiv:1906.02691.
# - Higgins et al. (2017). *β-VAE: Learning Basic Visual Concepts with a Constrained
#   Variational Framework.* ICLR.
# - Bowman et al. (2016). *Generating Sentences from a Continuous Space.* CoNLL (KL
#   annealing, posterior collapse).
# - Hinton, Salakhutdinov (2006). *Reducing the Dimensionality of Data with Neural
#   Networks.* Science 313:504–507 (deterministic deep autoencoders, for the history).
# - Heusel et al. (2017). *GANs Trained by a Two Time-Scale Update Rule Converge to a Local
#   Nash Equilibrium* (FID). arXiv:1706.08500.
# - keras.io example *Variational AutoEncoder* (fchollet), whose architecture this notebook
#   adapts.
