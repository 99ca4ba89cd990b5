"""gen_lib: the plumbing shared by the generative-model notebooks.

Import it before keras: it silences TensorFlow's C++ log noise, which must be set
before TensorFlow loads.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # oneDNN / grappler / CUDA-stub chatter


from gen_lib.quiet import quiet_native_stderr  # noqa: E402

with quiet_native_stderr():
    import keras  # noqa: F401  (loads the backend, and with it TensorFlow's log noise)

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
from gen_lib.plotting import SampleGrid, image_grid, plot_history  # noqa: E402
from gen_lib.profile import RunProfile, run_profile  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "DataError", "QualityScorer", "RunProfile", "SampleGrid", "Sampling", "StopOnNaN",
    "device_report", "frechet_distance", "image_grid", "input_gradients", "load_dataset",
    "load_idx_dir", "load_tfds", "minimize", "plot_history", "run_profile", "tanh_to_unit",
    "to_tanh_range", "to_unit_range", "track_optimizers", "train_step",
]
