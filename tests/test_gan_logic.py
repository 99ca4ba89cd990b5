"""The logic of notebook 01 (GAN): the notebook's own losses and GAN class, in seconds.

`gen_lib/notebook_code.py` runs the notebook's setup and `model` cells, so the losses and the
`train_step` tested here are the notebook's. The closed forms are the ones the notebook
plots: with D(x) = sigmoid(l), the per-image gradient of the non-saturating generator loss
-log D with respect to the logit l is -(1 - sigmoid(l)), that of the saturating loss
log(1 - D) is -sigmoid(l). Run once per backend:
KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_gan_logic.py
"""

import functools

import keras
import numpy as np
import pytest
from keras import layers, ops

import gen_lib
from gen_lib.notebook_code import notebook_namespace

LATENT = 8
notebook = functools.cache(lambda: notebook_namespace("01_gan"))
LOGITS = np.linspace(-12, 12, 49).astype("float32")[:, None]
SIGMA = 1 / (1 + np.exp(-LOGITS))


def to_np(value):
    return ops.convert_to_numpy(value)


def per_image_gradient(loss_fn, logits):
    """d loss / d logit for each image (the notebook's losses average over the batch)."""
    return len(logits) * to_np(gen_lib.input_gradients(loss_fn, ops.convert_to_tensor(logits)))


@pytest.mark.parametrize("name, closed_form", [
    ("generator_loss", -(1 - SIGMA)),            # non-saturating: -> -1 as l -> -inf
    ("saturating_generator_loss", -SIGMA),       # saturating: -> 0 as l -> -inf
])
def test_generator_loss_gradients_match_the_closed_forms(name, closed_form):
    grad = per_image_gradient(notebook()[name], LOGITS)
    np.testing.assert_allclose(grad, closed_form, rtol=1e-3, atol=1e-6)


def test_the_saturating_loss_is_flat_in_the_logit_where_d_rejects_fakes():
    ns = notebook()
    confident = np.full((4, 1), -8.0, "float32")  # D(G(z)) = 3.4e-4
    saturating = per_image_gradient(ns["saturating_generator_loss"], confident)
    non_saturating = per_image_gradient(ns["generator_loss"], confident)
    assert np.all(np.abs(saturating) < 1e-3)
    assert np.all(np.abs(non_saturating) > 0.999)


def test_discriminator_loss_labels_real_one_and_fake_zero():
    loss = notebook()["discriminator_loss"]
    real, fake = LOGITS, LOGITS[::-1].copy()
    grad_real = per_image_gradient(lambda r: loss(r, ops.convert_to_tensor(fake)), real)
    grad_fake = per_image_gradient(lambda f: loss(ops.convert_to_tensor(real), f), fake)
    np.testing.assert_allclose(grad_real, -(1 - SIGMA), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(grad_fake, 1 / (1 + np.exp(-fake)), rtol=1e-3, atol=1e-6)
    undecided = to_np(loss(ops.zeros((4, 1)), ops.zeros((4, 1))))
    np.testing.assert_allclose(undecided, 2 * np.log(2), rtol=1e-5)  # D = 1/2 on both


def constant_generator():
    """G(z) = b for every z, b trainable: the fakes D sees are known outside the step."""
    return keras.Sequential([
        keras.Input((LATENT,)),
        layers.Dense(28 * 28, kernel_initializer="zeros",
                     bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=1)),
        layers.Reshape((28, 28, 1)),
    ])


def one_step(d_rate, g_rate):
    """One train_step on 32 real images; returns the model and D's logits before/after."""
    ns = notebook()
    keras.utils.set_random_seed(0)
    gan = ns["GAN"](constant_generator(), ns["make_discriminator"](), LATENT, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(d_rate),
                g_optimizer=keras.optimizers.SGD(g_rate))
    real = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
    noise = np.zeros((1, LATENT), "float32")

    def snapshot():
        return {"real": float(np.mean(to_np(gan.discriminator(real)))),
                "fake": float(to_np(gan.discriminator(gan.generator(noise)))[0, 0]),
                "G": [to_np(v).copy() for v in gan.generator.trainable_variables],
                "D": [to_np(v).copy() for v in gan.discriminator.trainable_variables]}

    before = snapshot()
    gan.fit(real, batch_size=32, epochs=1, shuffle=False, verbose=0)
    return before, snapshot()


def changed(before, after):
    return any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def test_the_discriminator_step_trains_only_d_towards_real_one_fake_zero():
    before, after = one_step(d_rate=0.01, g_rate=0.0)
    assert changed(before["D"], after["D"])
    assert not changed(before["G"], after["G"])  # D's optimizer never touches G
    assert after["real"] > before["real"]
    assert after["fake"] < before["fake"]


def test_the_generator_step_trains_only_g_towards_fooling_d():
    before, after = one_step(d_rate=0.0, g_rate=0.01)
    assert changed(before["G"], after["G"])
    assert not changed(before["D"], after["D"])  # gradients flow through D, D stays
    assert after["fake"] > before["fake"]
