#!/usr/bin/env bash
# Create (or reuse) a virtual environment in $VENV (default .venv) with everything the
# notebooks and tests need, on all three Keras backends. Safe to run again.
# END picks the end of the supported range (README, "What is guaranteed"):
#   END=newest (default)  the newest releases tested, constraints/newest.txt
#   END=oldest            the oldest releases supported, constraints/oldest.txt
# scripts/test.sh runs the tests at both ends.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
END=${END:-newest}
PYTHON=${PYTHON:-python3}
if [ ! -f "constraints/$END.txt" ]; then
  echo "END=$END: there is no constraints/$END.txt (use newest or oldest)." >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
# requirements.txt, plus the other two backends. The constraints file pins every version;
# its torch==2.13.0 is the CPU build (any other torch from PyPI is the CUDA build, GBs).
python -m pip install -q -r requirements.txt jax torch -c "constraints/$END.txt"
python -m pip install -q --no-deps -e .
python -c "import gen_lib, keras; print('environment ready in $VENV ($END end):', \
'keras', keras.__version__)"
