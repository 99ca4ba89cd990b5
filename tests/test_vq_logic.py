"""The logic of notebook 05 (VQ-VAE): the notebook's own quantizer, masks and model.

`gen_lib/notebook_code.py` runs the notebook's setup and `model` cells, so what is checked
here is the code students read: the nearest-code search by expanded distances, the
straight-through estimator, the usage and perplexity of the codebook, dead-code
re-seeding and the PixelCNN masks. Each takes seconds. Run once per backend:
KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_vq_logic.py
"""

import functools

import keras
import numpy as np
import pytest
from keras import ops

from gen_lib.notebook_code import notebook_namespace

notebook = functools.cache(lambda: notebook_namespace("05_vqvae"))


def to_np(value):
    return ops.convert_to_numpy(value)


def quantizer_with(codebook):
    quantizer = notebook()["VectorQuantizer"](*codebook.shape)
    quantizer.build((None, codebook.shape[1]))
    quantizer.codebook.assign(codebook)
    return quantizer


def vq_vae(beta=0.25, reseed=False, num_codes=8, code_dim=4):
    ns = notebook()
    model = ns["VQVAE"](ns["make_encoder"](code_dim), ns["VectorQuantizer"](num_codes, code_dim),
                        ns["make_decoder"](code_dim), beta=beta, reseed_dead_codes=reseed)
    model.compile(vq_optimizer=keras.optimizers.Adam(1e-3))
    return model


def images(n=16, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28, 1)).astype("float32")


def test_expanded_distances_find_the_nearest_code():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 10, 10, 8)).astype("float32")  # any leading shape
    codebook = rng.normal(size=(32, 8)).astype("float32")
    brute_force = ((z[..., None, :] - codebook) ** 2).sum(-1).argmin(-1)
    quantizer = quantizer_with(codebook)
    codes = to_np(quantizer.nearest_codes(z))
    np.testing.assert_array_equal(codes, brute_force)
    np.testing.assert_array_equal(to_np(quantizer(z)), codebook[brute_force])


def test_straight_through_carries_the_reconstruction_gradient_to_the_encoder():
    """With beta = 0 the encoder's only gradient is the reconstruction's, passed across the
    non-differentiable argmin by `z_e + stop_gradient(z_q - z_e)`: without it, the encoder
    would not move."""
    model = vq_vae(beta=0.0)
    before = [to_np(v).copy() for v in model.encoder.trainable_variables]
    model.fit(images(), batch_size=16, epochs=1, verbose=0)
    after = [to_np(v) for v in model.encoder.trainable_variables]
    assert all(not np.allclose(a, b) for a, b in zip(after, before, strict=True))


def test_straight_through_copies_the_decoder_input_gradient_to_the_encoder_output():
    """The gradient itself, entry by entry: d loss/d z_e through `straight_through` equals
    d loss/d (decoder input) at z_q, for the model's own decoder and a reconstruction loss."""
    import gen_lib

    model, batch = vq_vae(), images(4, seed=5)
    z_e = model.encoder(batch)
    z_q = model.quantizer(z_e)

    def reconstruction(decoder_input):
        return ops.sum(ops.square(ops.subtract(model.decoder(decoder_input), batch)))

    to_z_q = to_np(gen_lib.input_gradients(reconstruction, z_q))
    to_z_e = to_np(gen_lib.input_gradients(
        lambda z: reconstruction(model.straight_through(z, z_q)), z_e))
    assert np.abs(to_z_q).max() > 0
    np.testing.assert_allclose(to_z_e, to_z_q, rtol=1e-4, atol=1e-6)


def test_loss_terms_are_eq_3_summed_over_each_image_and_averaged_over_the_batch():
    """Reconstruction: squared error summed over the 784 pixels, over the pixel variance;
    codebook and commitment: squared distance summed over the 49 x D code entries."""
    ns = notebook()
    model = ns["VQVAE"](ns["make_encoder"](3), ns["VectorQuantizer"](8, 3),
                        ns["make_decoder"](3), beta=0.5, data_variance=0.2)
    batch = images(5, seed=4)
    terms, z_e, codes = model.loss_terms(batch)
    z_e = to_np(z_e)
    z_q = to_np(model.quantizer.codebook)[to_np(codes)]
    decoded = to_np(model.decoder(z_q))
    reconstruction = ((batch - decoded) ** 2).sum((1, 2, 3)).mean() / 0.2
    distance = ((z_e - z_q) ** 2).sum((1, 2, 3)).mean()
    assert float(to_np(terms["reconstruction"])) == pytest.approx(reconstruction, rel=1e-4)
    assert float(to_np(terms["codebook"])) == pytest.approx(distance, rel=1e-4)
    assert float(to_np(terms["commitment"])) == pytest.approx(distance, rel=1e-4)
    assert float(to_np(terms["loss"])) == pytest.approx(reconstruction + 1.5 * distance, rel=1e-4)


def test_reported_perplexity_is_that_of_the_batch_codes():
    """One step on one batch: the `perplexity` metric is exp(entropy) of the codes the
    batch was assigned, computed here from the model's parts with NumPy."""
    model, batch = vq_vae(num_codes=16), images(32, seed=1)
    codes = to_np(model.quantizer.nearest_codes(model.encoder(batch)))
    shares = np.bincount(codes.ravel(), minlength=16) / codes.size
    used = shares[shares > 0]
    expected = float(np.exp(-(used * np.log(used)).sum()))
    history = model.fit(batch, batch_size=32, epochs=1, verbose=0)
    assert history.history["perplexity"][0] == pytest.approx(expected, rel=1e-4)
    assert 1.0 <= expected <= 16.0


def test_usage_is_a_running_share_and_dead_codes_move_onto_encoder_outputs():
    quantizer = quantizer_with(np.eye(4, dtype="float32"))
    np.testing.assert_array_equal(to_np(quantizer.usage), 0.0)  # all dead: data start
    for _ in range(2):
        shares = to_np(quantizer.update_usage(ops.convert_to_tensor(np.zeros(10, "int32"))))
    np.testing.assert_allclose(shares, [1, 0, 0, 0])
    decay = quantizer.usage_decay
    np.testing.assert_allclose(to_np(quantizer.usage),
                               [(1 - decay) * (1 + decay), 0, 0, 0], rtol=1e-6)
    quantizer.usage.assign(np.array([0.5, 0.5, 0.0, 0.0], "float32"))  # 2 and 3 dead
    z_e = np.full((6, 4), 7.0, "float32")
    reseeded = quantizer.reseed_dead_codes(z_e, keras.random.SeedGenerator(0))
    assert float(to_np(reseeded)) == 2
    codebook = to_np(quantizer.codebook)
    np.testing.assert_array_equal(codebook[:2], np.eye(4)[:2])
    np.testing.assert_array_equal(codebook[2:], 7.0)
    np.testing.assert_allclose(to_np(quantizer.usage)[2:], 0.25)


def test_first_step_moves_every_unchosen_code_onto_the_data():
    """Usage starts at zero, so after one step every code the batch did not choose sits
    on one of the batch's encoder outputs (those are computed before the step's update)."""
    model, batch = vq_vae(num_codes=16, reseed=True), images(8, seed=3)
    z_e = to_np(model.encoder(batch)).reshape(-1, 4)
    chosen = np.unique(to_np(model.quantizer.nearest_codes(model.encoder(batch))))
    model.fit(batch, batch_size=8, epochs=1, verbose=0)
    codebook = to_np(model.quantizer.codebook)
    for code in sorted(set(range(16)) - set(chosen)):
        assert np.abs(z_e - codebook[code]).max(axis=1).min() < 1e-6, code


@pytest.mark.parametrize("kernel", [3, 5])
def test_masked_convolutions_see_only_earlier_positions(kernel):
    """One A-masked and two B-masked layers, as in the prior; perturb one input position."""
    masked_conv = notebook()["MaskedConv2D"]
    stack = keras.Sequential([keras.Input((7, 7, 2))] + [
        masked_conv(kind, 2, kernel, activation="tanh") for kind in "ABB"])
    grid = np.random.default_rng(2).normal(size=(1, 7, 7, 2)).astype("float32")
    for position in (0, 17, 24, 48):
        changed = grid.copy()
        changed[0, position // 7, position % 7] += 1.0
        difference = np.abs(to_np(stack(changed)) - to_np(stack(grid)))
        moved = (difference.max(-1)[0] > 1e-6).reshape(-1)
        assert not moved[: position + 1].any(), f"output at or before {position} depends on it"
        if position + 1 < 49:
            assert moved[position + 1], "the next position should see the changed one"


def test_masks_hide_the_centre_only_for_type_a():
    masked_conv = notebook()["MaskedConv2D"]
    a, b = masked_conv("A", 1, 3), masked_conv("B", 1, 3)
    a.build((None, 7, 7, 1))
    b.build((None, 7, 7, 1))
    np.testing.assert_array_equal(a.mask[..., 0, 0], [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b.mask[..., 0, 0], [[1, 1, 1], [1, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("kernel", [2, 4, (3, 4), 1])
def test_masked_convolutions_refuse_kernels_without_a_centre(kernel):
    """An even kernel with 'same' padding has no centre on the output's position: the
    mask would keep a row or column after it, so the layer must refuse it."""
    with pytest.raises(ValueError, match="odd kernel size of at least 3.*Use 3, 5 or 7"):
        notebook()["MaskedConv2D"]("B", 2, kernel)


def test_an_even_kernel_would_leak_the_next_row():
    """Why the refusal: with the same mask rule on a 4x4 kernel, the output at a position
    depends on the input at a later one (checked with a plain Conv2D and that mask)."""
    size, centre = 4, 2
    mask = np.ones((size, size, 1, 1), "float32")
    mask[centre, centre + 1:] = 0
    mask[centre + 1:] = 0
    conv = keras.layers.Conv2D(1, size, padding="same", use_bias=False)
    conv.build((None, 7, 7, 1))
    conv.kernel.assign(np.ones((size, size, 1, 1), "float32") * mask)
    grid = np.zeros((1, 7, 7, 1), "float32")
    changed = grid.copy()
    changed[0, 4, 3] = 1.0  # a position after (3, 3) in raster order
    moved = np.abs(to_np(conv(changed)) - to_np(conv(grid)))[0, 3, 3, 0]
    assert moved > 0, "expected the unrefused even mask to leak a later position"
