"""Each notebook's model at the notebook's own sizes and settings, for the benchmarks.

The networks and model classes are the notebook's code (run by gen_lib/notebook_code.py);
the constructor and `compile` arguments repeat the notebook's training cell, with its
parameters read from the notebook's parameters cell.
"""

import contextlib
import functools
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gen_lib  # noqa: E402,F401  (first: it silences TensorFlow's log noise)
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from gen_lib.notebook_code import notebook_namespace  # noqa: E402


@functools.cache
def namespace(notebook):
    """The notebook's definitions; what its setup cells print is dropped."""
    with contextlib.redirect_stdout(io.StringIO()):
        return notebook_namespace(notebook)


def _adam(lr, beta_1=0.5, beta_2=0.999):
    return keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2)


def _gan(ns):
    model = ns["GAN"](ns["make_generator"](ns["LATENT_DIM"]), ns["make_discriminator"](),
                      ns["LATENT_DIM"])
    model.compile(d_optimizer=_adam(ns["LEARNING_RATE"]), g_optimizer=_adam(ns["LEARNING_RATE"]))
    return model


def _cgan(ns):
    latent, classes = ns["LATENT_DIM"], ns["NUM_CLASSES"]
    model = ns["CGAN"](ns["make_generator"](latent, classes), ns["make_discriminator"](classes),
                       latent, classes, mismatch_weight=ns["MISMATCH_WEIGHT"])
    model.compile(d_optimizer=_adam(ns["LEARNING_RATE"]), g_optimizer=_adam(ns["LEARNING_RATE"]))
    return model


def _wgan(method, ns):
    if method == "clip":
        lipschitz = {"clip_value": ns["CLIP_VALUE"]}
        optimizer = functools.partial(keras.optimizers.RMSprop, ns["CLIP_LEARNING_RATE"])
    else:
        lipschitz = {"gp_weight": ns["GP_WEIGHT"]}
        optimizer = functools.partial(_adam, ns["GP_LEARNING_RATE"], ns["GP_BETA_1"],
                                      ns["GP_BETA_2"])
    model = ns["WGAN"](ns["make_generator"](ns["LATENT_DIM"]), ns["make_critic"](),
                       ns["LATENT_DIM"], n_critic=ns["N_CRITIC"], **lipschitz)
    model.compile(critic_optimizer=optimizer(), g_optimizer=optimizer())
    return model


def _vae(ns):
    model = ns["VAE"](ns["make_encoder"](ns["LATENT_DIM"], seed=0),
                      ns["make_decoder"](ns["LATENT_DIM"]), beta=ns["BETA"])
    model.compile(vae_optimizer=keras.optimizers.Adam(ns["LEARNING_RATE"]))
    return model


def _vqvae(ns, data_variance=0.09):
    # 0.09 is about MNIST's pixel variance; time_to_quality.py passes the data's own.
    model = ns["VQVAE"](ns["make_encoder"](ns["CODE_DIM"]),
                        ns["VectorQuantizer"](ns["NUM_CODES"], ns["CODE_DIM"]),
                        ns["make_decoder"](ns["CODE_DIM"]), beta=ns["BETA"],
                        data_variance=data_variance,
                        reseed_dead_codes=ns["RESEED_DEAD_CODES"])
    model.compile(vq_optimizer=keras.optimizers.Adam(ns["LEARNING_RATE"]))
    return model


def _vae_gan(ns):
    latent = ns["LATENT_DIM"]
    model = ns["VAEGAN"](ns["make_encoder"](latent, seed=0), ns["make_decoder"](latent),
                         ns["make_discriminator"](), latent, gamma=ns["GAMMA"])
    model.compile(encoder_optimizer=_adam(ns["LEARNING_RATE"], ns["BETA_1"]),
                  decoder_optimizer=_adam(ns["LEARNING_RATE"], ns["BETA_1"]),
                  discriminator_optimizer=_adam(ns["D_LEARNING_RATE"], ns["BETA_1"]))
    return model


# name: (notebook, builder, pixel range, images per fit batch, how to draw samples in [0, 1])
MODELS = {
    "01 GAN": ("01_gan", _gan, "tanh", lambda ns: ns["BATCH_SIZE"], "generator"),
    "02 CGAN": ("02_cgan", _cgan, "tanh", lambda ns: ns["BATCH_SIZE"], "conditional"),
    "03 WGAN clip": ("03_wgan", functools.partial(_wgan, "clip"), "tanh",
                     lambda ns: ns["N_CRITIC"] * ns["BATCH_SIZE"], "generator"),
    "03 WGAN-GP": ("03_wgan", functools.partial(_wgan, "gp"), "tanh",
                   lambda ns: ns["N_CRITIC"] * ns["BATCH_SIZE"], "generator"),
    "04 VAE": ("04_vae", _vae, "unit", lambda ns: ns["BATCH_SIZE"], "decoder"),
    "05 VQ-VAE": ("05_vqvae", _vqvae, "unit", lambda ns: ns["BATCH_SIZE"], None),
    "06 VAE-GAN": ("06_vae_gan", _vae_gan, "unit", lambda ns: ns["BATCH_SIZE"], "decoder"),
}


def build(name, seed=42, **kwargs):
    """(model, namespace, batch size) for one of MODELS, seeded; kwargs go to the builder."""
    notebook, builder, _, batch_size, _ = MODELS[name]
    ns = namespace(notebook)  # first: its parameters cell seeds too
    keras.utils.set_random_seed(seed)
    return builder(ns, **kwargs), ns, batch_size(ns)


def fit_arguments(name, images, labels):
    """What the notebook passes to `fit`: images in the model's range (and labels for 02)."""
    scale = gen_lib.to_tanh_range if MODELS[name][2] == "tanh" else gen_lib.to_unit_range
    x = scale(images)
    return (x, labels.astype("int32")) if name == "02 CGAN" else (x,)


def samples(name, model, noise, labels=None):
    """Images in [0, 1] from the model's generator/decoder, or None (05 needs its prior)."""
    kind = MODELS[name][4]
    outputs = []
    for i in range(0, len(noise), 500):  # plain calls: inference mode
        if kind == "generator":
            out = model.generator(noise[i:i + 500])
        elif kind == "conditional":
            out = model.generator([noise[i:i + 500],
                                   np.eye(10, dtype="float32")[labels[i:i + 500]]])
        elif kind == "decoder":
            out = ops.sigmoid(model.decoder(noise[i:i + 500]))
        else:
            return None
        outputs.append(ops.convert_to_numpy(out))
    images = np.concatenate(outputs)
    return gen_lib.tanh_to_unit(images) if MODELS[name][2] == "tanh" else images


def latent_dim(name):
    ns = namespace(MODELS[name][0])
    return ns["LATENT_DIM"] if "LATENT_DIM" in ns else None
