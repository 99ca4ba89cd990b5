"""The VAE-GAN of notebook 06: who minimises what, checked on the notebook's own code.

The table of the notebook: Enc minimises L_prior + L_llike, Dec gamma * L_llike plus the
non-saturating GAN loss on x~ and x_p, Dis the cross-entropy -L_GAN; each optimizer
updates one network. `gen_lib/notebook_code.py` runs the notebook's `model` cells.
"""

import keras
import numpy as np
import pytest
from keras import ops

from gen_lib.notebook_code import notebook_namespace


@pytest.fixture(scope="module")
def ns():
    return notebook_namespace("06_vae_gan")


def build(ns, gamma=1.0, rates=(1e-3, 1e-3, 1e-3), seed=0):
    keras.utils.set_random_seed(seed)
    model = ns["VAEGAN"](ns["make_encoder"](4, seed=seed), ns["make_decoder"](4),
                         ns["make_discriminator"](), 4, gamma=gamma, seed=seed)
    model.compile(**{f"{name}_optimizer": keras.optimizers.Adam(rate, beta_1=0.5)
                     for name, rate in zip(("encoder", "decoder", "discriminator"), rates,
                                           strict=True)})
    return model


def images(n=64, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28, 1)).astype("float32")


def weights(network):
    return [ops.convert_to_numpy(v).copy() for v in network.trainable_variables]


def changed(network, before):
    return any(not np.array_equal(ops.convert_to_numpy(v), b)
               for v, b in zip(network.trainable_variables, before, strict=True))


def test_each_optimizer_trains_its_own_network_once_per_step(ns):
    model = build(ns)
    networks = {name: getattr(model, name) for name in ("encoder", "decoder", "discriminator")}
    before = {name: weights(network) for name, network in networks.items()}
    model.fit(images(32), batch_size=32, epochs=1, shuffle=False, verbose=0)
    for name, network in networks.items():
        assert changed(network, before[name]), f"{name} was not updated"
        assert int(ops.convert_to_numpy(getattr(model, f"{name}_optimizer").iterations)) == 1


@pytest.mark.parametrize("network", ["encoder", "decoder", "discriminator"])
def test_a_network_whose_optimizer_does_not_move_stays_put(ns, network):
    """Only the optimizer of a network changes it: gradients that flow through the other
    networks (the feature-wise error reaches Enc through Dis and Dec) change nothing there."""
    rates = {"encoder": 1e-3, "decoder": 1e-3, "discriminator": 1e-3, network: 0.0}
    model = build(ns, rates=tuple(rates[n] for n in ("encoder", "decoder", "discriminator")))
    before = weights(getattr(model, network))
    model.fit(images(32), batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert not changed(getattr(model, network), before)


def test_the_losses_are_those_of_the_table(ns):
    """With one image, the logged mean probabilities are that image's, so the GAN losses can
    be written out: Dis minimises -L_GAN, Dec the non-saturating -log Dis(x~) - log Dis(x_p)."""
    gamma = 2.5
    model = build(ns, gamma=gamma)
    x = ops.convert_to_tensor(images(1))
    codes = ops.convert_to_tensor(np.random.default_rng(1).normal(size=(1, 4)).astype("float32"))
    results = {}
    for network in ("encoder", "decoder", "discriminator"):
        loss, logs = model.forward(x, codes, network)  # each loss with its own pass's logs
        results[network] = (float(ops.convert_to_numpy(loss)),
                            {k: float(ops.convert_to_numpy(v)) for k, v in logs.items()})
    loss, logs = results["discriminator"]
    p_real, p_rec, p_sample = logs["Dis(x)"], logs["Dis(x~)"], logs["Dis(x_p)"]
    assert loss == pytest.approx(-(np.log(p_real) + np.log(1 - p_rec) + np.log(1 - p_sample)),
                                 rel=1e-4)
    loss, logs = results["decoder"]
    p_rec, p_sample = logs["Dis(x~)"], logs["Dis(x_p)"]
    assert logs["dec_gan"] == pytest.approx(-np.log(p_rec) - np.log(p_sample), rel=1e-4)
    assert loss == pytest.approx(gamma * logs["feature_rec"] + logs["dec_gan"], rel=1e-5)
    loss, logs = results["encoder"]
    assert loss == pytest.approx(logs["kl"] + logs["feature_rec"], rel=1e-5)


def test_decoder_updates_make_prior_samples_look_more_real(ns):
    """Algorithm 1 of the paper, with L_GAN read as defined, flips the signs of both GAN
    updates; here the decoder's GAN term must raise Dis(x_p). Only the decoder moves
    (gamma = 0: the GAN term alone)."""
    model = build(ns, gamma=0.0, rates=(0.0, 1e-3, 0.0))
    codes = np.random.default_rng(2).normal(size=(256, 4)).astype("float32")

    def mean_dis_of_samples():
        _, logits = model.discriminator(ops.sigmoid(model.decoder(codes)))
        return float(ops.convert_to_numpy(ops.mean(ops.sigmoid(logits))))

    before = mean_dis_of_samples()
    model.fit(images(64), batch_size=32, epochs=3, shuffle=False, verbose=0)
    assert mean_dis_of_samples() > before


def test_feature_nll_is_the_gaussian_negative_log_density_up_to_its_constant(ns):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 5, 7)).astype("float32")
    log_density = -0.5 * ((a - b) ** 2).sum(-1) - 3.5 * np.log(2 * np.pi)
    got = ops.convert_to_numpy(ns["feature_nll"](a, b))
    np.testing.assert_allclose(got, -log_density - 3.5 * np.log(2 * np.pi), rtol=1e-5)


def test_reference_levels_of_a_discriminator_that_cannot_tell(ns):
    """The levels the notebook prints next to its curves: a Dis that says 1/3 to every image
    (the best constant answer with two fakes per real image) gives d_loss = ln 3 + 2 ln 1.5
    and dec_gan = 2 ln 3, and that constant is a minimum of d_loss."""
    model = build(ns)
    dense = model.discriminator.layers[-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([np.zeros_like(kernel), np.full_like(bias, np.log(0.5))])  # sigmoid = 1/3
    x = ops.convert_to_tensor(images(8))
    codes = ops.convert_to_tensor(np.random.default_rng(4).normal(size=(8, 4)).astype("float32"))
    _, logs = model.forward(x, codes, "discriminator")
    logs = {k: float(ops.convert_to_numpy(v)) for k, v in logs.items()}
    assert logs["Dis(x)"] == pytest.approx(1 / 3, rel=1e-5)
    assert logs["d_loss"] == pytest.approx(np.log(3) + 2 * np.log(1.5), rel=1e-5)
    assert logs["dec_gan"] == pytest.approx(2 * np.log(3), rel=1e-5)
    constant = np.linspace(0.05, 0.95, 91)
    assert constant[np.argmin(-np.log(constant) - 2 * np.log(1 - constant))] == pytest.approx(
        1 / 3, abs=0.01)
