"""Keep TensorFlow's native log noise out of notebook outputs."""

import contextlib
import os


@contextlib.contextmanager
def quiet_native_stderr():
    """TensorFlow >= 2.20 logs through absl before it reads TF_CPP_MIN_LOG_LEVEL, from C++
    straight to file descriptor 2, which Jupyter shows as red text under the cell. Point
    that descriptor at /dev/null while something imports TensorFlow; Python errors still
    raise.
    """
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no real stderr (some embedded interpreters): nothing to silence
        yield
        return
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
