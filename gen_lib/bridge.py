"""One `train_step`, three backends.

TensorFlow and PyTorch call `train_step(self, data)` and let it assign to variables.
JAX calls `train_step(self, state, data)` inside `jax.jit` and wants `(logs, new_state)`
back: it owns the variables' values and threads them from step to step.

This module is the only place in the project that imports a backend. It lets a notebook
write its `train_step` once, in the stateful style, and run it on all three:

    class GAN(keras.Model):
        def compile(self, d_optimizer, g_optimizer):
            super().compile()
            self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
            track_optimizers(self, (d_optimizer, self.discriminator),
                                   (g_optimizer, self.generator))

        @train_step
        def train_step(self, data):
            d_loss = minimize(lambda: ..., self.discriminator.trainable_variables,
                              self.d_optimizer)
            ...

How it works on JAX: `@train_step` opens a `keras.StatelessScope` mapping every model
variable to its value from `state`, runs the stateful-style function, and reads the new
values back from the scope. `minimize` differentiates with `jax.value_and_grad` through
an inner scope; scopes do not chain, so the inner one starts as a copy of the outer one,
and whatever the loss function assigns (batch-norm statistics, seed-generator state)
comes out as auxiliary output and is written back to the outer scope.
"""

import functools

import keras
from keras.src.backend.common.stateless_scope import get_stateless_scope
from keras.src.saving.keras_saveable import KerasSaveable

__all__ = [
    "train_step", "minimize", "input_gradients", "track_optimizers", "SavedSeedGenerator",
    "accelerator_name", "backend_version",
]


def _backend():
    return keras.backend.backend()


def track_optimizers(model, *pairs):
    """Build each optimizer for its network and make `model` own their state.

    `pairs` are `(optimizer, network_or_variable_list)`. Why this is needed: Keras' JAX
    trainer threads only `model.optimizer.variables` through its jitted step, so a
    second optimizer's step counter and moments would silently stay frozen. Variables
    assigned to a model attribute become the model's (non-trainable) variables, which
    every backend threads and `save` / `save_weights` keep. Call it at the end of
    `compile()`. It also turns the model's `SeedGenerator`s into `SavedSeedGenerator`s,
    so that a saved and reloaded model continues the same noise stream.
    """
    if not pairs:
        raise ValueError("track_optimizers() needs at least one (optimizer, network) pair.")
    owned = []
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(
                f"Expected (optimizer, network_or_variables) pairs, got {pair!r}. "
                "Example: track_optimizers(self, (d_optimizer, self.discriminator))."
            )
        optimizer, target = pair
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(f"{optimizer!r} is not a keras optimizer instance.")
        variables = list(getattr(target, "trainable_variables", target))
        if not variables:
            raise ValueError(
                f"{getattr(target, 'name', target)!r} has no trainable variables yet: "
                "build the network (call it once, or give it an Input) before compile()."
            )
        if not optimizer.built:
            optimizer.build(variables)
        owned.extend(optimizer.variables)
    # The optimizer that super().compile() made is unused: build it empty so that Keras
    # does not allocate slots for every weight on its behalf.
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build([])
    model.tracked_optimizer_variables = owned
    for layer in model._flatten_layers(include_self=True):
        for seed_generator in layer._seed_generators:
            if type(seed_generator) is keras.random.SeedGenerator:
                seed_generator.__class__ = SavedSeedGenerator


class SavedSeedGenerator(keras.random.SeedGenerator, KerasSaveable):
    """A `keras.random.SeedGenerator` whose position is saved with the model.

    Why: Keras saves the variables of layers and optimizers but not a SeedGenerator's
    state (keras-team/keras#19796). A reloaded model would restart its noise stream from
    the seed, and training that was stopped and resumed would see different noise than
    training that ran straight through. Keras' saver visits every attribute that is a
    `KerasSaveable` and calls its `save_own_variables` / `load_own_variables`.
    """

    def _obj_type(self):
        return "Operation"  # the saver skips the attributes every Operation has

    def save_own_variables(self, store):
        store["state"] = self.state

    def load_own_variables(self, store):
        self.state.assign(store["state"])


def train_step(fn):
    """Decorate a stateful-style `train_step(self, data)` so it also runs on JAX.

    On TensorFlow and PyTorch this returns `fn` itself.
    """
    if _backend() != "jax":
        return fn

    @functools.wraps(fn)
    def jax_train_step(self, state, data):
        groups = [
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables if self.optimizer is not None else [],
            self.metrics_variables,
        ]
        mapping = [
            (variable, value)
            for variables, values in zip(groups, state, strict=False)
            for variable, value in zip(variables, values, strict=False)
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = fn(self, data)
        new_state = tuple(
            [_value_in(scope, variable) for variable in variables] for variables in groups
        )
        return logs, new_state

    return jax_train_step


def minimize(loss_fn, variables, optimizer):
    """Evaluate `loss_fn()`, differentiate it w.r.t. `variables`, take one optimizer step.

    `loss_fn` takes no argument and returns a scalar loss, or `(loss, aux)` where `aux`
    is any structure of tensors you want to log. Returns what `loss_fn` returned. Only
    `variables` are updated; everything else `loss_fn` reads is held fixed, which is how
    a GAN's generator step leaves the discriminator alone.
    """
    variables = list(variables)
    if not variables:
        raise ValueError("minimize() got an empty variable list: nothing to train.")
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            result = loss_fn()
        grads = tape.gradient(_loss_of(result), variables)
        _check_gradients(grads, variables)
        # A gather (`ops.take`, an Embedding) gives a sparse gradient, one row per lookup.
        # Keras 3's optimizers square those rows one by one when a row is looked up more
        # than once, so Adam's second moment gets sum(g_i^2) instead of (sum g_i)^2 and
        # its steps grow with the repeats. Summing the rows first gives the same update
        # as JAX and PyTorch (tests/test_bridge.py, test_repeated_lookups...).
        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                 for g in grads]
        optimizer.apply(grads, variables)
        return result
    if backend == "torch":
        import torch

        result = loss_fn()
        grads = torch.autograd.grad(
            _loss_of(result), [v.value for v in variables], allow_unused=True
        )
        _check_gradients(grads, variables)
        with torch.no_grad():
            optimizer.apply(list(grads), variables)
        return result
    if backend == "jax":
        import jax

        outer = get_stateless_scope()
        if outer is None:
            raise RuntimeError(
                "On JAX, minimize() must run inside a train_step decorated with "
                "@gen_lib.train_step (it needs the step's variable values)."
            )

        def loss_of_values(values):
            overrides = dict(zip(map(id, variables), values, strict=False))
            result, updates = _run_in_copied_scope(outer, overrides, loss_fn)
            return _loss_of(result), (result, updates)

        values = [_value_in(outer, v) for v in variables]
        (_, (result, updates)), grads = jax.value_and_grad(loss_of_values, has_aux=True)(
            values
        )
        outer.state_mapping.update(updates)
        optimizer.apply(grads, variables)
        return result
    raise NotImplementedError(f"gen_lib.bridge does not support the {backend!r} backend.")


def input_gradients(fn, x):
    """Gradient of `sum(fn(x))` with respect to the input `x`, itself differentiable.

    Use it inside a `minimize` loss, e.g. for the WGAN-GP penalty: the result keeps its
    dependence on `fn`'s weights, so a loss built from it can be differentiated again.
    """
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            y = keras.ops.sum(fn(x))
        return tape.gradient(y, x)
    if backend == "torch":
        import torch

        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        y = keras.ops.sum(fn(x))
        (grad,) = torch.autograd.grad(y, x, create_graph=True)
        return grad
    if backend == "jax":
        import jax

        outer = get_stateless_scope()
        if outer is None:  # eager use outside a train step: variables hold real values
            return jax.grad(lambda inputs: keras.ops.sum(fn(inputs)))(x)

        def summed(inputs):
            y, updates = _run_in_copied_scope(outer, {}, lambda: fn(inputs))
            return keras.ops.sum(y), updates

        grad, updates = jax.grad(summed, has_aux=True)(x)
        outer.state_mapping.update(updates)
        return grad
    raise NotImplementedError(f"gen_lib.bridge does not support the {backend!r} backend.")


def _run_in_copied_scope(outer, overrides, fn):
    """Run `fn` in a scope that repeats `outer` plus `overrides` ({id(var): value}).

    Returns `fn`'s result and {id(var): new value} for every variable `fn` assigned.
    """
    scope = keras.StatelessScope(initialize_variables=False)
    scope.state_mapping = {**outer.state_mapping, **overrides}
    before = dict(scope.state_mapping)
    with scope:
        result = fn()
    updates = {
        key: value
        for key, value in scope.state_mapping.items()
        if key not in overrides and before.get(key) is not value
    }
    return result, updates


def _value_in(scope, variable):
    value = scope.get_current_value(variable)
    return variable.value if value is None else value


def _loss_of(result):
    return result[0] if isinstance(result, (tuple, list)) else result


def _check_gradients(grads, variables):
    missing = [v.path for g, v in zip(grads, variables, strict=False) if g is None]
    if missing:
        raise ValueError(
            f"The loss does not depend on {len(missing)} of the variables to train "
            f"(first: {missing[0]}). Compute the loss from the network whose variables "
            "you pass to minimize(), inside loss_fn."
        )


def accelerator_name():
    """The GPU the backend will use, or None on a CPU-only machine."""
    backend = _backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return details.get("device_name", gpus[0].name)
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return f"{device.platform.upper()} {device.device_kind}"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
    except Exception:  # a broken driver: report the CPU rather than fail the notebook
        return None
    return None


def backend_version():
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(_backend())
    if module is None:
        return "?"
    return __import__(module).__version__
