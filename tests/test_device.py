import os
import subprocess
import sys

import keras

import gen_lib


def test_device_report_names_backend_and_device():
    report = gen_lib.device_report()
    assert f"backend {keras.backend.backend()}" in report
    assert "running on CPU" in report or "running on GPU" in report


def test_importing_and_seeding_prints_nothing_on_stderr():
    """TensorFlow's native log lines would land under the first notebook cells."""
    code = ("import gen_lib; gen_lib.run_profile(epochs=1, env={}); "
            "print(gen_lib.device_report())")
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's fresh kernel would have it
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
