"""The conditioning logic of notebook 02 (CGAN): the notebook's own networks and model.

`gen_lib/notebook_code.py` runs the notebook's setup and `model` cells, so these tests check
the code students read, not a copy of it. Each takes seconds. Run once per backend:
KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_cgan_logic.py
"""

import functools
import math

import keras
import numpy as np
import pytest
from keras import layers, ops

from gen_lib.notebook_code import notebook_namespace

LATENT, CLASSES = 8, 10
notebook = functools.cache(lambda: notebook_namespace("02_cgan"))


def one_hot(class_ids):
    return np.eye(CLASSES, dtype="float32")[np.asarray(class_ids)]


def condition_effect(network, first_input):
    """Largest change of the output when only the condition changes (class 0 -> 1)."""
    n = len(first_input)
    as_zero = ops.convert_to_numpy(network([first_input, one_hot(np.zeros(n, int))]))
    as_one = ops.convert_to_numpy(network([first_input, one_hot(np.ones(n, int))]))
    return float(np.abs(as_zero - as_one).max())


def random_images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def cgan(seed=0, **kwargs):
    ns = notebook()
    model = ns["CGAN"](ns["make_generator"](LATENT, CLASSES), ns["make_discriminator"](CLASSES),
                       LATENT, CLASSES, seed=seed, **kwargs)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3),
                  g_optimizer=keras.optimizers.Adam(1e-3))
    return model


def test_discriminator_sees_the_one_hot_vector_at_every_pixel():
    """The image and its label maps, concatenated: channel 0 the image, 1-10 the label."""
    discriminator = notebook()["make_discriminator"](CLASSES)
    joined = next(x for x in discriminator.layers if isinstance(x, layers.Concatenate))
    inputs = keras.Model(discriminator.inputs, joined.output)
    classes, images = np.array([0, 3, 9]), random_images(3)
    seen = ops.convert_to_numpy(inputs([images, one_hot(classes)]))
    assert seen.shape == (3, 28, 28, 1 + CLASSES)
    np.testing.assert_array_equal(seen[..., :1], images)
    expected = np.broadcast_to(one_hot(classes)[:, None, None, :], (3, 28, 28, CLASSES))
    np.testing.assert_array_equal(seen[..., 1:], expected)


def test_condition_reaches_the_output_unless_it_is_ignored():
    ns = notebook()
    noise = np.random.default_rng(0).normal(size=(5, LATENT)).astype("float32")
    assert condition_effect(ns["make_generator"](LATENT, CLASSES), noise) > 0
    assert condition_effect(ns["make_discriminator"](CLASSES), random_images(5)) > 0
    # The original's bug: the condition is an input and changes nothing.
    blind = ns["make_discriminator"](CLASSES, read_condition=False)
    assert condition_effect(blind, random_images(5)) == 0


def test_a_network_without_a_condition_input_is_refused():
    ns = notebook()
    blind_generator = keras.Sequential([keras.Input((LATENT,)), layers.Dense(784),
                                        layers.Reshape((28, 28, 1))])
    with pytest.raises(ValueError, match="generator must be a functional model with inputs"):
        ns["CGAN"](blind_generator, ns["make_discriminator"](CLASSES), LATENT, CLASSES)


def test_fake_inputs_are_standard_normal_noise_and_the_batch_labels():
    """y' is the batch's own labels, so the fake labels follow the data's label marginal."""
    labels = np.random.default_rng(0).integers(0, CLASSES, 20_000).astype("int32")
    noise, conditions = map(ops.convert_to_numpy,
                            cgan(seed=3).fake_inputs(ops.convert_to_tensor(labels)))
    assert noise.shape == (20_000, LATENT)
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 1) < 0.01
    np.testing.assert_array_equal(conditions, one_hot(labels))


def test_wrong_labels_are_never_right_and_uniform_over_the_other_classes():
    labels = np.arange(18_000, dtype="int32") % CLASSES
    wrong = ops.convert_to_numpy(cgan(seed=4).wrong_conditions(ops.convert_to_tensor(labels)))
    np.testing.assert_array_equal(wrong.sum(axis=1), 1.0)
    wrong_class = wrong.argmax(axis=1)
    assert not (wrong_class == labels).any()
    # Each true class (1,800 images) spreads over the 9 others: 200 each, sd ~13.3.
    pairs = np.zeros((CLASSES, CLASSES), int)
    np.add.at(pairs, (labels, wrong_class), 1)
    off_diagonal = pairs[~np.eye(CLASSES, dtype=bool)]
    assert np.all(np.abs(off_diagonal - 200) < 6 * math.sqrt(1800 * (1 / 9) * (8 / 9))), pairs


def test_train_step_uses_labels_and_advances_both_optimizers():
    labels = (np.arange(32) % CLASSES).astype("int32")
    model = cgan()
    before = [ops.convert_to_numpy(v).copy() for v in model.discriminator.trainable_variables]
    history = model.fit(random_images(32, seed=1), labels, batch_size=8, epochs=1, verbose=0)
    assert int(model.d_optimizer.iterations) == 4
    assert int(model.g_optimizer.iterations) == 4
    for name in ("d_loss", "g_loss", "D(x|y)", "D(G(z|y)|y)", "D(x|wrong y)"):
        assert math.isfinite(history.history[name][-1]), name
    after = [ops.convert_to_numpy(v) for v in model.discriminator.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_discriminator_learns_to_reject_real_images_with_wrong_labels():
    """The mismatch term at work: on images whose class is plain to read (the class is
    written into the image as a bright band), D(x | right y) rises above D(x | wrong y)."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, CLASSES, 256).astype("int32")
    images = np.full((256, 28, 28, 1), -1.0, "float32")
    for i, label in enumerate(labels):
        images[i, 2 * label:2 * label + 2] = 1.0
    keras.utils.set_random_seed(5)  # the same initial weights whatever ran before
    model = cgan(seed=5)
    history = model.fit(images, labels, batch_size=64, epochs=8, verbose=0)
    right, wrong = history.history["D(x|y)"][-1], history.history["D(x|wrong y)"][-1]
    assert right > wrong + 0.2, (right, wrong)


def test_the_generator_optimizer_refuses_the_discriminator_variables():
    """Spot-the-bug 4: compile builds g_optimizer for G's variables only, so passing all the
    model's variables raises instead of silently training D on G's loss."""
    model = cgan()
    variables = model.trainable_variables
    assert len(variables) > len(model.generator.trainable_variables)
    with pytest.raises(ValueError, match="Unknown variable"):
        model.g_optimizer.apply([ops.zeros(v.shape, v.dtype) for v in variables], variables)
