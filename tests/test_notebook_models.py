"""The notebooks' own model classes: exact resume after save and reload, determinism.

Tests cannot import a notebook: `tests/notebook_code.py` runs its setup and `model` cells,
so what is tested is the notebook's own code.
"""

import keras
import numpy as np
import pytest
from keras import ops

from tests.notebook_code import notebook_namespace


def fake_images(n=64, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def gan_notebook():
    return notebook_namespace("01_gan")


def make_gan(ns, seed=0, latent_dim=8):
    keras.utils.set_random_seed(seed)
    gan = ns["GAN"](ns["make_generator"](latent_dim), ns["make_discriminator"](), latent_dim,
                    seed=seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    return gan


def fit_epochs(model, data, epochs):
    history = model.fit(data, batch_size=16, epochs=epochs, shuffle=False, verbose=0).history
    return [{k: v[i] for k, v in history.items()} for i in range(epochs)]


def test_gan_resumed_from_a_keras_file_matches_uninterrupted_training(gan_notebook, tmp_path):
    data = fake_images()
    straight = fit_epochs(make_gan(gan_notebook), data, 2)

    first = make_gan(gan_notebook)
    fit_epochs(first, data, 1)
    first.save(tmp_path / "gan.keras")
    resumed = keras.saving.load_model(tmp_path / "gan.keras", safe_mode=True)
    assert int(ops.convert_to_numpy(resumed.g_optimizer.iterations)) == 4
    continued = fit_epochs(resumed, data, 1)
    assert continued[0] == pytest.approx(straight[1], rel=1e-6, abs=1e-7)


def test_gan_training_is_deterministic_for_a_seed(gan_notebook):
    data = fake_images()
    a = fit_epochs(make_gan(gan_notebook, seed=1), data, 1)
    b = fit_epochs(make_gan(gan_notebook, seed=1), data, 1)
    c = fit_epochs(make_gan(gan_notebook, seed=2), data, 1)
    assert a == b
    assert a[0]["g_loss"] != c[0]["g_loss"]
