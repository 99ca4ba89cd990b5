"""Training safety: stop at the first NaN or infinite loss without losing the model."""

import math

import keras
import numpy as np
from keras import ops


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first non-finite log value, say where, and restore the last good weights.

    Why not `keras.callbacks.TerminateOnNaN`: it watches only `loss` (a GAN logs
    `d_loss` and `g_loss`), ends training quietly and leaves the poisoned weights in
    the model. This callback watches every logged number. Every `every` steps it keeps a
    copy of the weights, if they are all finite; the copy includes the optimizers' state,
    because `gen_lib.track_optimizers` makes it model variables. At the first NaN or
    infinity it restores that copy and raises `FloatingPointError` naming the step,
    the log and the step the weights come from.
    """

    def __init__(self, every=100):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"StopOnNaN(every={every!r}): every must be a positive step count.")
        self.every = int(every)
        self.step, self.good_step, self.good_weights = 0, None, None

    def on_train_begin(self, logs=None):
        self._snapshot()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        bad = {k: v for k, v in _numbers(logs).items() if not math.isfinite(v)}
        if bad:
            self.model.stop_training = True
            restored = "no finite weights were seen, nothing restored"
            if self.good_weights is not None:
                self.model.set_weights(self.good_weights)
                restored = f"weights restored to those after step {self.good_step}"
            raise FloatingPointError(
                f"Training stopped at step {self.step}: {bad} is not finite; {restored}. "
                "Try a lower learning rate, check the inputs' range, or look for a log or "
                "a division by zero in the loss."
            )
        if self.step % self.every == 0:
            self._snapshot()

    def _snapshot(self):
        weights = self.model.get_weights()
        if all(np.isfinite(w).all() for w in weights if np.issubdtype(w.dtype, np.floating)):
            self.good_weights, self.good_step = weights, self.step


def _numbers(logs):
    numbers = {}
    for key, value in (logs or {}).items():
        try:
            numbers[key] = float(ops.convert_to_numpy(value))
        except (TypeError, ValueError):
            continue  # not a scalar: nothing to check
    return numbers
