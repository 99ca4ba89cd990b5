import keras

import gen_lib


def test_device_report_names_backend_and_device():
    report = gen_lib.device_report()
    assert f"backend {keras.backend.backend()}" in report
    assert "running on CPU" in report or "running on GPU" in report
