"""Each benchmark runs in a tiny configuration, so the scripts keep working."""

import os
import subprocess
import sys

import keras
import pytest

from tests.conftest import ROOT

LIBRARY = {"notebook_models.py"}  # imported by the scripts, not run
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if p.name not in LIBRARY)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_runs_tiny(script):
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    result = subprocess.run([sys.executable, str(script), "--tiny"], capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "|---" in result.stdout, result.stdout  # each prints a markdown table
