"""gen_lib: the plumbing shared by the generative-model notebooks.

Importing gen_lib has three side effects, all to keep TensorFlow's log noise out of
notebook outputs: it sets TF_CPP_MIN_LOG_LEVEL=3 unless it is already set; it points file
descriptor 2 (the process's native stderr) at /dev/null while it imports keras, then
restores it (see `quiet.quiet_native_stderr`); and it sets the "tensorflow" Python
logger to ERROR (retracing warnings when a notebook trains several models). Python
errors and warnings are unaffected. Import it before keras.

The notebooks' API is `__all__`; other modules and names are internals.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # side effect 1: oneDNN / grappler chatter


import logging  # noqa: E402

from gen_lib.quiet import quiet_native_stderr  # noqa: E402

logging.getLogger("tensorflow").setLevel(logging.ERROR)  # side effect 3

with quiet_native_stderr():  # side effect 2, undone when keras is loaded
    import keras  # noqa: F401  (loads the backend, and with it TensorFlow's log noise)

from gen_lib import versions  # noqa: E402,F401  (ImportError if Keras or its backend is too old)
from gen_lib.bridge import input_gradients, minimize, track_optimizers, train_step  # noqa: E402
from gen_lib.callbacks import StopOnNaN  # noqa: E402
from gen_lib.data import (  # noqa: E402
    DataError,
    load_dataset,
    load_idx_dir,
    load_tfds,
    tanh_to_unit,
    to_tanh_range,
    to_unit_range,
)
from gen_lib.device import device_report  # noqa: E402
from gen_lib.layers import Sampling  # noqa: E402
from gen_lib.metrics import QualityScorer, frechet_distance  # noqa: E402
from gen_lib.models import model_plumbing  # noqa: E402
from gen_lib.plotting import SampleGrid, diagram, image_grid, plot_history  # noqa: E402
from gen_lib.profile import RunProfile, run_profile  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "DataError", "QualityScorer", "RunProfile", "SampleGrid", "Sampling", "StopOnNaN",
    "device_report", "diagram", "frechet_distance", "image_grid", "input_gradients",
    "load_dataset", "load_idx_dir", "load_tfds", "minimize", "model_plumbing",
    "plot_history", "run_profile", "tanh_to_unit",
    "to_tanh_range", "to_unit_range", "track_optimizers", "train_step",
]
