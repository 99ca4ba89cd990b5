"""The plumbing every multi-network model class repeats, written once.

A model whose `train_step` is the lesson (a GAN, a VAE) also needs to be saved, reloaded
and resumed: Keras must know how to rebuild it (`get_config` / `from_config`), how to
re-compile it with every optimizer (`get_compile_config` / `compile_from_config`), which
metric trackers it reports, and that it is built. Written by hand in each class, those
15-20 lines drown the lesson and drift apart (an `__init__` argument left out of
`get_config` is silently reset on reload). `model_plumbing` writes them from three lists,
and refuses, when the class is defined, an `__init__` argument it would not save.
"""

import inspect

import keras

from gen_lib.bridge import track_optimizers

__all__ = ["model_plumbing"]


def model_plumbing(networks, optimizers, config=(), metrics=()):
    """Class decorator for a `keras.Model` subclass with several networks and optimizers.

    networks: names of the sub-networks, each an `__init__` argument stored as
        `self.<name>`; saved with the model.
    optimizers: `{name: network name, or tuple of names}`: `compile(**{name: optimizer})`
        stores each optimizer as `self.<name>`, builds it for the trainable variables of
        its network(s) and makes the model own its state (`gen_lib.track_optimizers`).
    config: the other `__init__` arguments, each stored as `self.<name>` (a seed too:
        a model rebuilt from its config must draw the same noise).
    metrics: names of `keras.metrics.Mean` trackers, in `self.trackers[name]`;
        `self.update_trackers({name: value})` updates them and returns every result.

    Written for the class: `compile`, `get_compile_config`, `compile_from_config`,
    `get_config`, `from_config`, `metrics`, `update_trackers`, `built = True` after
    `__init__` (the networks are built; such a model has no `call` of its own), and
    `save_own_variables` / `load_own_variables`, which also save the position of each
    `keras.random.SeedGenerator` the model holds as an attribute: Keras does not
    (keras-team/keras#19796), and a resumed GAN must draw the noise it would have drawn
    without the interruption.
    """
    networks, config, metrics = tuple(networks), tuple(config), tuple(metrics)
    optimizers = {name: (target,) if isinstance(target, str) else tuple(target)
                  for name, target in dict(optimizers).items()}

    def decorate(cls):
        _check_declaration(cls, networks, optimizers, config)
        original_init = cls.__init__

        def __init__(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            missing = [name for name in networks + config if not hasattr(self, name)]
            if missing:
                raise AttributeError(
                    f"{cls.__name__}.__init__ must store every saved argument as an "
                    f"attribute of the same name; missing: self.{', self.'.join(missing)}."
                )
            self.trackers = {name: keras.metrics.Mean(name=name) for name in metrics}
            self.built = True

        def compile(self, **given):
            if set(given) != set(optimizers):
                raise TypeError(
                    f"{cls.__name__}.compile() takes exactly the optimizers "
                    f"{sorted(optimizers)}, got {sorted(given)}. Example: "
                    f"compile({', '.join(f'{n}=keras.optimizers.Adam()' for n in optimizers)})."
                )
            keras.Model.compile(self)
            pairs = []
            for name, targets in optimizers.items():
                setattr(self, name, given[name])
                variables = [v for t in targets for v in getattr(self, t).trainable_variables]
                pairs.append((given[name], variables))
            track_optimizers(self, *pairs)

        def get_compile_config(self):
            if not all(hasattr(self, name) for name in optimizers):
                return None  # saved before compile(): nothing to re-compile
            return {name: keras.saving.serialize_keras_object(getattr(self, name))
                    for name in optimizers}

        def compile_from_config(self, compile_config):
            self.compile(**{name: keras.saving.deserialize_keras_object(value)
                            for name, value in compile_config.items()})

        def get_config(self):
            saved = {name: getattr(self, name) for name in config}
            saved.update({name: keras.saving.serialize_keras_object(getattr(self, name))
                          for name in networks})
            return {**keras.Model.get_config(self), **saved}

        @classmethod
        def from_config(klass, saved):
            saved = dict(saved)
            for name in networks:
                saved[name] = keras.saving.deserialize_keras_object(saved[name])
            return klass(**saved)

        def save_own_variables(self, store):
            keras.Model.save_own_variables(self, store)  # optimizers' state and trackers
            for i, stream in enumerate(_noise_streams(self)):
                store[f"noise_{i}"] = stream.state

        def load_own_variables(self, store):
            keras.Model.load_own_variables(
                self, {k: store[k] for k in store.keys() if not k.startswith("noise_")})
            for i, stream in enumerate(_noise_streams(self)):
                stream.state.assign(store[f"noise_{i}"])

        def update_trackers(self, values):
            for name, value in values.items():
                self.trackers[name].update_state(value)
            return {name: tracker.result() for name, tracker in self.trackers.items()}

        generated = dict(__init__=__init__, compile=compile, get_config=get_config,
                         get_compile_config=get_compile_config,
                         compile_from_config=compile_from_config, from_config=from_config,
                         save_own_variables=save_own_variables,
                         load_own_variables=load_own_variables, update_trackers=update_trackers,
                         metrics=property(lambda self: list(self.trackers.values())))
        for name, member in generated.items():
            if name != "__init__" and name in vars(cls):
                raise TypeError(
                    f"{cls.__name__} defines {name}() itself, and @model_plumbing writes it: "
                    "remove one of the two."
                )
            if name == "__init__":
                member.__wrapped__ = original_init
                member.__doc__ = original_init.__doc__
            member_name = getattr(member, "__name__", None)
            if member_name is not None:
                member.__qualname__ = f"{cls.__qualname__}.{member_name}"
            setattr(cls, name, member)
        return cls

    return decorate


def _check_declaration(cls, networks, optimizers, config):
    name = cls.__name__
    if not (isinstance(cls, type) and issubclass(cls, keras.Model)):
        raise TypeError(f"@model_plumbing decorates a keras.Model subclass, not {cls!r}.")
    if "optimizer" in optimizers:
        raise ValueError(
            f"{name}: an optimizer may not be called 'optimizer', the name Keras' own "
            "compile() uses for the model's single optimizer; name it after what it trains, "
            "for example 'vae_optimizer'."
        )
    if not optimizers:
        raise ValueError(f"{name}: name at least one optimizer and the network it trains.")
    unknown = sorted({t for targets in optimizers.values() for t in targets} - set(networks))
    if unknown:
        raise ValueError(
            f"{name}: optimizers train {unknown}, which are not among networks={list(networks)}."
        )
    clash = sorted(set(networks) & set(config))
    if clash:
        raise ValueError(f"{name}: {clash} listed both as networks and as config.")
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    arguments = [p.name for p in parameters
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unsaved = [a for a in arguments if a not in networks + config]
    if unsaved:
        raise TypeError(
            f"{name}.__init__ takes {unsaved}, which would not be saved: a model rebuilt "
            "from its config would silently use the default. List each in "
            "networks=[...] or config=[...]."
        )
    absent = [n for n in networks + config if n not in arguments]
    if absent:
        raise TypeError(f"{name}.__init__ has no argument {absent} to rebuild the model with.")


def _noise_streams(model):
    """The SeedGenerators held as attributes of the model itself, in definition order."""
    return [value for value in vars(model).values()
            if isinstance(value, keras.random.SeedGenerator)]
