#!/usr/bin/env bash
# Create (or reuse) a virtual environment in $VENV (default .venv) with everything the
# notebooks and tests need, on all three Keras backends. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
# torch is pinned: 2.13.0 is the CPU build; any other spec downloads the CUDA build (GBs).
python -m pip install -q -r requirements.txt "jax>=0.10" "torch==2.13.0"
python -m pip install -q --no-deps -e .
python -c "import gen_lib, keras; print('environment ready in $VENV:', 'keras', keras.__version__)"
