"""Layers that more than one notebook uses. Each notebook that teaches one shows its code."""

import keras
from keras import ops



@keras.saving.register_keras_serializable(package="gen_lib")
class Sampling(keras.layers.Layer):
    """The reparameterization trick: z = mean + exp(log_var / 2) * eps, eps ~ N(0, I).

    Why a layer: the randomness enters as an input `eps`, so z is a differentiable
    function of (mean, log_var) and the gradient of the loss reaches the encoder.
    The noise comes from the layer's own `SeedGenerator`: that makes it reproducible, and
    on JAX its state is a model variable that the trainer threads (an unseeded random
    call fails under `jax.jit`). A registered class, not a `Lambda`, so models that use
    it reload with `safe_mode=True`. The noise stream's position is saved too, which Keras
    does not do for a `SeedGenerator` by itself (keras-team/keras#19796): a resumed model
    draws the noise it would have drawn without the interruption.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        pair = isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
        if not (pair and all(isinstance(s, (list, tuple)) for s in input_shape)):
            raise ValueError(
                "Sampling expects two inputs, [mean, log_var], "
                f"got input shape {input_shape}."
            )
        mean_shape, log_var_shape = (tuple(s) for s in input_shape)
        if mean_shape != log_var_shape:
            raise ValueError(
                f"Sampling: mean has shape {mean_shape} but log_var has {log_var_shape}; "
                "the encoder must output both with the same size (the latent size)."
            )
        self.built = True

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}

    def save_own_variables(self, store):
        store["noise_state"] = self.seed_generator.state  # the layer has no other variable

    def load_own_variables(self, store):
        self.seed_generator.state.assign(store["noise_state"])
