"""One `train_step`, three backends.

TensorFlow and PyTorch call `train_step(self, data)` and let it assign to variables.
JAX calls `train_step(self, state, data)` inside `jax.jit` and wants `(logs, new_state)`
back: it owns the variables' values and threads them from step to step.

This module is the only place in the project that trains through a backend's own API
(`device.py` only asks it for its devices). It lets a notebook write its `train_step`
once, in the stateful style, and run it on all three:

    @gen_lib.model_plumbing(networks=["generator", "discriminator"],
                            optimizers={"d_optimizer": "discriminator",
                                        "g_optimizer": "generator"})
    class GAN(keras.Model):
        @train_step
        def train_step(self, data):
            d_loss = minimize(lambda: ..., self.discriminator.trainable_variables,
                              self.d_optimizer)
            ...

How it works on JAX: `@train_step` opens a `keras.StatelessScope` mapping every model
variable to its value from `state`, runs the stateful-style function, and reads the new
values back from the scope. `minimize` differentiates with `jax.value_and_grad` through
an inner scope; scopes do not chain, so the inner one maps every variable of the step
again (the step's scope and variables are kept in a context variable while it runs), and
whatever the loss function assigns (batch-norm statistics, seed-generator state) comes
out as auxiliary output and is written back to the step's scope with `add_update`.
Only public Keras API is used: `keras.StatelessScope`, its `get_current_value` and
`add_update`, and the trainer's documented `train_step(state, data)` contract.
"""

import contextlib
import contextvars
import functools

import keras

__all__ = ["train_step", "minimize", "input_gradients", "track_optimizers"]

# On JAX, the step being traced: its innermost StatelessScope and every variable it maps.
_jax_step = contextvars.ContextVar("gen_lib_jax_step", default=None)


def _backend():
    return keras.backend.backend()


def track_optimizers(model, *pairs):
    """Build each optimizer for its network and make `model` own their state.

    `pairs` are `(optimizer, network_or_variable_list)`. Why this is needed: Keras' JAX
    trainer threads only `model.optimizer.variables` through its jitted step, so a
    second optimizer's step counter and moments would silently stay frozen. Variables
    assigned to a model attribute become the model's (non-trainable) variables, which
    every backend threads and `save` / `save_weights` keep. Call it at the end of
    `compile()` (`gen_lib.model_plumbing` writes a `compile()` that does).
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
            for variables, values in zip(groups, state, strict=True)
            for variable, value in zip(variables, values, strict=True)
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            with _current_jax_step(scope, [variable for variable, _ in mapping]):
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

        step = _jax_step.get()
        if step is None:
            raise RuntimeError(
                "On JAX, minimize() must run inside a train_step decorated with "
                "@gen_lib.train_step (it needs the step's variable values)."
            )

        def loss_of_values(values):
            overrides = dict(zip(map(id, variables), values, strict=True))
            result, updates = _run_in_copied_scope(step, overrides, loss_fn)
            return _loss_of(result), (result, updates)

        values = [_value_in(step.scope, v) for v in variables]
        (_, (result, updates)), grads = jax.value_and_grad(loss_of_values, has_aux=True)(
            values
        )
        _write_back(step, updates)
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

        with tf.GradientTape() as tape, _second_order_moments(tf):
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

        step = _jax_step.get()
        if step is None:  # eager use outside a train step: variables hold real values

            def summed_eagerly(inputs):
                with keras.StatelessScope():  # what fn assigns (batch-norm statistics)
                    return keras.ops.sum(fn(inputs))  # is dropped, not leaked out of jax.grad

            return jax.grad(summed_eagerly)(x)

        def summed(inputs):
            y, updates = _run_in_copied_scope(step, {}, lambda: fn(inputs))
            return keras.ops.sum(y), updates

        grad, updates = jax.grad(summed, has_aux=True)(x)
        _write_back(step, updates)
        return grad
    raise NotImplementedError(f"gen_lib.bridge does not support the {backend!r} backend.")


class _JaxStep:
    """The scope of the JAX step being traced and the variables it maps."""

    def __init__(self, scope, variables):
        self.scope, self.variables = scope, variables


@contextlib.contextmanager
def _current_jax_step(scope, variables):
    token = _jax_step.set(_JaxStep(scope, variables))
    try:
        yield
    finally:
        _jax_step.reset(token)


@contextlib.contextmanager
def _second_order_moments(tf):
    """Batch statistics that can be differentiated twice, while `fn` runs on TensorFlow.

    `tf.nn.moments`, which Keras' BatchNormalization calls on TensorFlow, computes the
    variance around `stop_gradient(mean)`. That leaves first derivatives exact (the
    mean's term sums to zero) but drops a term from second ones: a gradient penalty
    through batch norm in training mode would get a wrong gradient on TensorFlow only
    (JAX and PyTorch differentiate the mean). Inside `input_gradients` we compute the
    variance around the mean itself.
    """

    def moments(x, axes, shift=None, keepdims=False, name=None):
        mean = tf.reduce_mean(x, axes, keepdims=True)
        variance = tf.reduce_mean(tf.square(x - mean), axes, keepdims=True)
        if not keepdims:
            mean, variance = tf.squeeze(mean, axes), tf.squeeze(variance, axes)
        return mean, variance

    original = tf.nn.moments
    tf.nn.moments = moments
    try:
        yield
    finally:
        tf.nn.moments = original


def _run_in_copied_scope(step, overrides, fn):
    """Run `fn` in a scope that maps every variable of the step to its current value, or
    to `overrides[id(variable)]`. Scopes do not chain, hence the copy.

    Returns `fn`'s result and [(variable, new value)] for every variable `fn` assigned.
    """
    before = [(v, overrides.get(id(v), _value_in(step.scope, v))) for v in step.variables]
    scope = keras.StatelessScope(state_mapping=before, initialize_variables=False)
    initial = [scope.get_current_value(v) for v in step.variables]
    with scope, _current_jax_step(scope, step.variables):  # what fn nests sees this scope
        result = fn()
    updates = [(v, scope.get_current_value(v))
               for v, value in zip(step.variables, initial, strict=True)
               if id(v) not in overrides and scope.get_current_value(v) is not value]
    return result, updates


def _write_back(step, updates):
    for update in updates:
        step.scope.add_update(update)


def _value_in(scope, variable):
    value = scope.get_current_value(variable)
    return variable.value if value is None else value


def _loss_of(result):
    return result[0] if isinstance(result, (tuple, list)) else result


def _check_gradients(grads, variables):
    missing = [v.path for g, v in zip(grads, variables, strict=True) if g is None]
    if missing:
        raise ValueError(
            f"The loss does not depend on {len(missing)} of the variables to train "
            f"(first: {missing[0]}). Compute the loss from the network whose variables "
            "you pass to minimize(), inside loss_fn."
        )
