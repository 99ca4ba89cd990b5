"""The pure logic of notebook 05 (VQ-VAE), on the current backend, in seconds.

Tests cannot import a notebook, so the few lines under test are repeated here: the
nearest-code search by expanded distances, the straight-through estimator, the PixelCNN
masks and the perplexity. The notebook's own classes are exercised by
tests/test_notebook_models.py. Run once per backend:
KERAS_BACKEND=tensorflow|jax|torch pytest tests/test_vq_logic.py
"""

import keras
import numpy as np
import pytest
from keras import ops

import gen_lib


def nearest_codes(z, codebook):
    """As VectorQuantizer.nearest_codes: ||z||^2 - 2 z.e + ||e||^2, then argmin."""
    distances = (ops.sum(z ** 2, axis=1, keepdims=True)
                 - 2.0 * ops.matmul(z, ops.transpose(codebook))
                 + ops.sum(codebook ** 2, axis=1))
    return ops.argmin(distances, axis=1)


def pixelcnn_mask(mask_type, height, width):
    """As MaskedConv2D.build."""
    mask = np.ones((height, width, 1, 1), "float32")
    mask[height // 2, width // 2 + (mask_type == "B"):] = 0
    mask[height // 2 + 1:] = 0
    return mask


def perplexity(codes, num_codes):
    counts = np.bincount(np.asarray(codes).reshape(-1), minlength=num_codes)
    shares = counts[counts > 0] / counts.sum()
    return float(np.exp(-(shares * np.log(shares)).sum()))


def test_expanded_distances_find_the_nearest_code():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 8)).astype("float32")
    codebook = rng.normal(size=(32, 8)).astype("float32")
    brute_force = ((z[:, None, :] - codebook[None]) ** 2).sum(-1).argmin(-1)
    found = ops.convert_to_numpy(nearest_codes(ops.convert_to_tensor(z),
                                               ops.convert_to_tensor(codebook)))
    assert (found == brute_force).all()


def test_straight_through_passes_the_gradient_unchanged():
    rng = np.random.default_rng(1)
    codebook = ops.convert_to_tensor(rng.normal(size=(16, 4)).astype("float32"))
    weights = ops.convert_to_tensor(rng.normal(size=(64, 4)).astype("float32"))
    z = ops.convert_to_tensor(rng.normal(size=(64, 4)).astype("float32"))

    def decoder_input(z_e):
        z_q = ops.take(codebook, nearest_codes(z_e, codebook), axis=0)
        return (z_e + ops.stop_gradient(z_q - z_e)) * weights  # straight-through

    z_q = ops.take(codebook, nearest_codes(z, codebook), axis=0)
    forward = ops.convert_to_numpy(decoder_input(z))
    np.testing.assert_allclose(forward, ops.convert_to_numpy(z_q * weights), atol=1e-6)
    gradient = ops.convert_to_numpy(gen_lib.input_gradients(decoder_input, z))
    np.testing.assert_allclose(gradient, ops.convert_to_numpy(weights), atol=1e-6)


@pytest.mark.parametrize("kernel", [3, 5])
def test_masked_convolutions_see_only_earlier_positions(kernel):
    """Stack one A-masked and two B-masked convolutions; perturb one input position."""
    rng = np.random.default_rng(2)
    kernels = [rng.normal(size=(kernel, kernel, 2, 2)).astype("float32") for _ in range(3)]
    masks = [pixelcnn_mask(t, kernel, kernel) for t in "ABB"]

    def stack(x):
        for k, m in zip(kernels, masks, strict=True):
            x = ops.tanh(ops.conv(x, k * m, padding="same"))
        return ops.convert_to_numpy(x)

    grid = rng.normal(size=(1, 7, 7, 2)).astype("float32")
    for position in (0, 17, 24, 48):
        changed = grid.copy()
        changed[0, position // 7, position % 7] += 1.0
        moved = (np.abs(stack(changed) - stack(grid)).max(-1)[0] > 1e-6).reshape(-1)
        assert not moved[: position + 1].any(), f"output before {position} depends on it"
        if position + 1 < 49:
            assert moved[position + 1], "the next position should see the changed one"


def test_masks_hide_the_centre_only_for_type_a():
    a, b = pixelcnn_mask("A", 3, 3)[..., 0, 0], pixelcnn_mask("B", 3, 3)[..., 0, 0]
    np.testing.assert_array_equal(a, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b, [[1, 1, 1], [1, 1, 0], [0, 0, 0]])


def test_perplexity_counts_the_codes_in_use():
    assert perplexity(np.zeros(100, int), 8) == pytest.approx(1.0)
    assert perplexity(np.arange(800) % 8, 8) == pytest.approx(8.0)
    assert perplexity(np.arange(800) % 4, 8) == pytest.approx(4.0)
    assert keras.backend.backend() in {"tensorflow", "jax", "torch"}
