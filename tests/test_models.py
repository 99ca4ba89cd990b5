"""gen_lib.model_plumbing: the saving, compiling and metric plumbing of a model class, on
every backend. The notebooks' own classes are tested in test_notebook_models.py."""

import keras
import numpy as np
import pytest
from keras import layers, ops

import gen_lib


def dense(name, units=3):
    inputs = keras.Input((4,))
    return keras.Model(inputs, layers.Dense(units)(inputs), name=name)


@keras.saving.register_keras_serializable(package="test_models")
@gen_lib.model_plumbing(
    networks=["first", "second"],
    optimizers={"first_optimizer": "first", "both_optimizer": ("first", "second")},
    config=["width", "seed"],
    metrics=["loss_a", "loss_b"],
)
class TwoNetworks(keras.Model):
    def __init__(self, first, second, width=3, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.first, self.second = first, second
        self.width, self.seed = width, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @gen_lib.train_step
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        noise = keras.random.normal(ops.shape(x), seed=self.seed_generator)
        loss_a = gen_lib.minimize(lambda: ops.mean(self.first(x + noise) ** 2),
                                  self.first.trainable_variables, self.first_optimizer)
        loss_b = gen_lib.minimize(
            lambda: ops.mean((self.first(x) - self.second(x)) ** 2),
            self.first.trainable_variables + self.second.trainable_variables,
            self.both_optimizer)
        return self.update_trackers({"loss_a": loss_a, "loss_b": loss_b})


def build(seed=7):
    keras.utils.set_random_seed(0)
    model = TwoNetworks(dense("first"), dense("second"), width=5, seed=seed)
    model.compile(first_optimizer=keras.optimizers.Adam(1e-2),
                  both_optimizer=keras.optimizers.Adam(1e-3))
    return model


DATA = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")


def fit(model, epochs=1):
    history = model.fit(DATA, batch_size=16, epochs=epochs, shuffle=False, verbose=0).history
    return {name: values[-1] for name, values in history.items()}


def test_config_round_trip_keeps_every_argument_including_the_seed():
    model = build(seed=7)
    rebuilt = TwoNetworks.from_config(model.get_config())
    assert (rebuilt.width, rebuilt.seed) == (5, 7)
    assert all(isinstance(n, keras.Model) for n in (rebuilt.first, rebuilt.second))
    assert rebuilt.built and rebuilt.metrics == list(rebuilt.trackers.values())


def test_each_optimizer_steps_for_its_networks_and_trackers_average():
    model = build()
    history = fit(model)
    assert set(history) == {"loss_a", "loss_b"}
    assert int(model.first_optimizer.iterations) == int(model.both_optimizer.iterations) == 4
    # Adam keeps two moments per variable it trains: the second one trains both networks.
    assert len(model.both_optimizer.variables) == 2 + 2 * 4
    assert len(model.first_optimizer.variables) == 2 + 2 * 2
    assert all(np.isfinite(v) for v in history.values())


def test_saved_compiled_model_resumes_exactly(tmp_path):
    straight = build()
    fit(straight)
    expected = fit(straight)

    model = build()
    fit(model)
    model.save(tmp_path / "model.keras")
    resumed = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(resumed.first_optimizer, keras.optimizers.Adam)
    assert int(resumed.first_optimizer.iterations) == 4
    assert fit(resumed) == pytest.approx(expected, rel=1e-5)


def test_compile_names_the_optimizers_it_expects():
    model = TwoNetworks(dense("first"), dense("second"))
    with pytest.raises(TypeError, match=r"both_optimizer.*first_optimizer"):
        model.compile(first_optimizer=keras.optimizers.Adam())


def test_an_unsaved_init_argument_is_refused_when_the_class_is_defined():
    with pytest.raises(TypeError, match=r"\['seed'\], which would not be saved"):
        @gen_lib.model_plumbing(networks=["net"], optimizers={"net_optimizer": "net"})
        class Forgetful(keras.Model):
            def __init__(self, net, seed=0, **kwargs):
                super().__init__(**kwargs)


def test_declaration_mistakes_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="vae_optimizer"):
        gen_lib.model_plumbing(networks=["net"], optimizers={"optimizer": "net"})(TwoNetworks)
    with pytest.raises(ValueError, match="not among networks"):
        gen_lib.model_plumbing(networks=["first"], optimizers={"o": "critic"})(TwoNetworks)

    class Plain(keras.Model):
        def __init__(self, net, **kwargs):
            super().__init__(**kwargs)

        def get_config(self):
            return {}

    with pytest.raises(TypeError, match="defines get_config"):
        gen_lib.model_plumbing(networks=["net"], optimizers={"o": "net"})(Plain)


def test_an_argument_not_stored_on_self_is_a_clear_error():
    @gen_lib.model_plumbing(networks=["net"], optimizers={"net_optimizer": "net"},
                            config=["size"])
    class Unstored(keras.Model):
        def __init__(self, net, size=1, **kwargs):
            super().__init__(**kwargs)
            self.net = net

    with pytest.raises(AttributeError, match="self.size"):
        Unstored(dense("net"))
