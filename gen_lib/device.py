"""What this run computes on: backend, versions, GPU or CPU."""

import os
import platform

import keras

from gen_lib.bridge import accelerator_name, backend_version


def device_report():
    """One line to print at the top of a notebook, so a result says where it came from."""
    gpu = accelerator_name()
    where = f"GPU {gpu}" if gpu else f"CPU ({os.cpu_count()} cores)"
    return (
        f"Keras {keras.__version__}, backend {keras.backend.backend()} {backend_version()}, "
        f"Python {platform.python_version()}, running on {where}"
    )
