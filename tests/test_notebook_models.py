"""Every notebook's model: exact resume after save and reload, determinism for a seed.

Tests cannot import a notebook: `gen_lib/notebook_code.py` runs its setup and `model` cells,
so what is tested is the notebook's own code. Each case builds a small version of the
notebook's model (the notebook's builders, small latent sizes) on random data.
"""

import copy
import functools

import keras
import numpy as np
import pytest
from keras import ops

from gen_lib.notebook_code import notebook_namespace

namespace = functools.cache(notebook_namespace)


def adam(lr=2e-4, **kwargs):
    return keras.optimizers.Adam(lr, beta_1=0.5, **kwargs)


def images(low=-1.0, n=64):
    return np.random.default_rng(0).uniform(low, 1, (n, 28, 28, 1)).astype("float32")


def gan(ns, seed):
    model = ns["GAN"](ns["make_generator"](8), ns["make_discriminator"](), 8, seed=seed)
    model.compile(d_optimizer=adam(), g_optimizer=adam())
    return model, (images(),)


def cgan(ns, seed):
    model = ns["CGAN"](ns["make_generator"](8, 10), ns["make_discriminator"](10), 8, 10,
                       seed=seed)
    model.compile(d_optimizer=adam(), g_optimizer=adam())
    return model, (images(), np.arange(64, dtype="int32") % 10)


def wgan(method, ns, seed):
    lipschitz = {"clip_value": 0.01} if method == "clip" else {"gp_weight": 10.0}
    model = ns["WGAN"](ns["make_generator"](8), ns["make_critic"](), 8, n_critic=2,
                       seed=seed, **lipschitz)
    optimizer = ((lambda: keras.optimizers.RMSprop(5e-5)) if method == "clip"
                 else (lambda: keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)))
    model.compile(critic_optimizer=optimizer(), g_optimizer=optimizer())
    return model, (images(n=128),)


def vae(ns, seed):
    model = ns["VAE"](ns["make_encoder"](2, seed=seed), ns["make_decoder"](2), beta=1.0,
                      seed=seed)
    model.compile(vae_optimizer=keras.optimizers.Adam(1e-3))
    return model, (images(low=0.0),)


def vqvae(ns, seed):
    model = ns["VQVAE"](ns["make_encoder"](4), ns["VectorQuantizer"](8, 4),
                        ns["make_decoder"](4), seed=seed)
    model.compile(vq_optimizer=keras.optimizers.Adam(1e-3))
    return model, (images(low=0.0),)


def vae_gan(ns, seed):
    model = ns["VAEGAN"](ns["make_encoder"](4, seed=seed), ns["make_decoder"](4),
                         ns["make_discriminator"](), 4, seed=seed)
    model.compile(encoder_optimizer=adam(), decoder_optimizer=adam(),
                  discriminator_optimizer=adam())
    return model, (images(low=0.0),)


CASES = {  # case: (notebook, builder)
    "01_gan": ("01_gan", gan), "02_cgan": ("02_cgan", cgan),
    "03_wgan_clip": ("03_wgan", functools.partial(wgan, "clip")),
    "03_wgan_gp": ("03_wgan", functools.partial(wgan, "gp")),
    "04_vae": ("04_vae", vae), "05_vqvae": ("05_vqvae", vqvae),
    "06_vae_gan": ("06_vae_gan", vae_gan),
}


def build(case, seed=0):
    notebook, builder = CASES[case]
    ns = namespace(notebook)  # first: running a notebook's parameters cell seeds too
    keras.utils.set_random_seed(seed)
    return builder(ns, seed)


def fit_epochs(model, data, epochs):
    history = model.fit(*data, batch_size=32, epochs=epochs, shuffle=False, verbose=0).history
    return [{k: v[i] for k, v in history.items()} for i in range(epochs)]


def optimizer_steps(model):
    return [int(ops.convert_to_numpy(v)) for v in model.tracked_optimizer_variables
            if v.name == "iteration"]


@pytest.mark.parametrize("case", CASES)
def test_resumed_from_a_keras_file_matches_uninterrupted_training(case, tmp_path):
    model, data = build(case)
    straight = fit_epochs(model, data, 2)

    model, data = build(case)
    fit_epochs(model, data, 1)
    model.save(tmp_path / "model.keras")
    resumed = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert optimizer_steps(resumed) == optimizer_steps(model)
    assert all(steps > 0 for steps in optimizer_steps(resumed))
    continued = fit_epochs(resumed, data, 1)
    assert continued[0] == pytest.approx(straight[1], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_training_is_deterministic_for_a_seed(case):
    model, data = build(case, seed=1)
    first = fit_epochs(model, data, 1)
    model, data = build(case, seed=1)
    assert fit_epochs(model, data, 1) == first
    model, data = build(case, seed=2)
    assert fit_epochs(model, data, 1) != first


BAD_HYPERPARAMETERS = [  # (notebook, builds the model with one bad setting, message)
    ("02_cgan", lambda ns: ns["CGAN"](ns["make_generator"](8, 10),
                                      ns["make_discriminator"](10), 8, 10,
                                      mismatch_weight=1.0), "mismatch_weight"),
    ("03_wgan", lambda ns: ns["WGAN"](ns["make_generator"](8), ns["make_critic"](), 8,
                                      n_critic=0, gp_weight=10.0), "n_critic"),
    ("03_wgan", lambda ns: ns["WGAN"](ns["make_generator"](8), ns["make_critic"](), 8,
                                      gp_weight=-1.0), "gp_weight"),
    ("03_wgan", lambda ns: ns["WGAN"](ns["make_generator"](8), ns["make_critic"](), 8,
                                      clip_value=0.01, gp_weight=10.0), "Choose one"),
    ("04_vae", lambda ns: ns["make_encoder"](0), "latent_dim"),
    ("04_vae", lambda ns: ns["VAE"](ns["make_encoder"](2), ns["make_decoder"](2), beta=-1.0),
     "beta"),
    ("05_vqvae", lambda ns: ns["VectorQuantizer"](1, 4), "num_codes"),
    ("05_vqvae", lambda ns: ns["VQVAE"](ns["make_encoder"](4), ns["VectorQuantizer"](8, 4),
                                        ns["make_decoder"](4), beta=-0.25), "beta"),
    ("06_vae_gan", lambda ns: ns["make_encoder"](0), "latent_dim"),
    ("06_vae_gan", lambda ns: ns["VAEGAN"](ns["make_encoder"](4), ns["make_decoder"](4),
                                           ns["make_discriminator"](), 4, gamma=-1.0),
     "gamma"),
]


@pytest.mark.parametrize(("notebook", "build_bad", "message"), BAD_HYPERPARAMETERS,
                         ids=[f"{nb}-{msg}" for nb, _, msg in BAD_HYPERPARAMETERS])
def test_bad_hyperparameters_are_refused_with_a_message(notebook, build_bad, message):
    with pytest.raises(ValueError, match=message):
        build_bad(namespace(notebook))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("shape", [(64, 784), (64, 28, 28, 3)], ids=["flat", "rgb"])
def test_wrong_image_shape_is_refused_naming_the_expected_shape(case, shape):
    """Keras' own input check, on every backend: the message names what the model expects.

    (A batch of shape (N, 28, 28) is accepted: Keras adds the missing channel axis.)
    """
    model, data = build(case)
    wrong = np.zeros(shape, "float32")
    with pytest.raises(ValueError, match=r"expected (shape=\(None, 28, 28, 1\)|axis -1 .* 1)"):
        model.fit(wrong, *data[1:], batch_size=32, epochs=1, verbose=0)


@pytest.mark.parametrize("case", CASES)
def test_config_round_trip_rebuilds_the_same_model_seed_included(case):
    """A model rebuilt from its config (what loading does) must be the model that was saved:
    an argument left out of get_config, such as the seed, would silently take its default."""
    model, _ = build(case, seed=3)
    config = model.get_config()
    rebuilt = type(model).from_config(copy.deepcopy(config))
    assert rebuilt.get_config() == config
    assert noise_seeds(rebuilt) == noise_seeds(model)


def noise_seeds(model):
    """Where each of the model's noise streams starts: [seed, position] per SeedGenerator."""
    return [ops.convert_to_numpy(v).tolist() for v in model.variables
            if v.name == "seed_generator_state"]
