#!/usr/bin/env bash
# Set up the environment and run every test: gen_lib's unit tests and the smoke run of
# every notebook under nbval, once per Keras backend. Offline; CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${VENV:-.venv}/bin/activate"

export GEN_LIB_PROFILE=smoke
export GEN_LIB_DATA_DIR=${GEN_LIB_DATA_DIR:-$(cd .. && pwd)/shared/data/mnist}
export GEN_LIB_SPLIT=${GEN_LIB_SPLIT:-test}   # the shared folder holds the 10k test split
export GEN_LIB_CACHE_DIR=${GEN_LIB_CACHE_DIR:-$(mktemp -d)}
export MPLBACKEND=Agg
# Offline and without a writable home: everything the tests write goes to temporary folders.
HOME=$(mktemp -d)
export HOME
if [ ! -d "$GEN_LIB_DATA_DIR" ]; then
  echo "MNIST idx files not found in $GEN_LIB_DATA_DIR: set GEN_LIB_DATA_DIR." >&2
  exit 2
fi

# Fashion-MNIST for the test that each dataset is read from its own folder: Debian ships it
# as idx files (MIT). CI runs as root; elsewhere that test is skipped if it is missing.
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
    || echo "dataset-fashion-mnist could not be installed: its test will be skipped." >&2
fi

python scripts/build_notebooks.py --check
status=0
for backend in tensorflow jax torch; do
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest tests notebooks --nbval-lax -q \
    --durations=5 || status=1
done
exit $status
