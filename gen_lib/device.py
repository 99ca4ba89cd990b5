"""What this run computes on: backend, versions, GPU or CPU.

Asking a backend for its devices needs that backend's own API: with the bridge, this is
the only module that imports TensorFlow, JAX or PyTorch (to look, never to compute).
"""

import os
import platform

import keras


def device_report():
    """One line to print at the top of a notebook, so a result says where it came from."""
    gpu = accelerator_name()
    where = f"GPU {gpu}" if gpu else f"CPU ({os.cpu_count()} cores)"
    return (
        f"Keras {keras.__version__}, backend {keras.backend.backend()} {backend_version()}, "
        f"Python {platform.python_version()}, running on {where}"
    )


def accelerator_name():
    """The GPU the backend will use, or None on a CPU-only machine."""
    backend = keras.backend.backend()
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
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(keras.backend.backend())
    if module is None:
        return "?"
    return __import__(module).__version__
