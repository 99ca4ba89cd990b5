#!/usr/bin/env bash
# Set up the environments and run every test: gen_lib's unit tests and the smoke run of
# every notebook under nbval, once per Keras backend, at both ends of the supported range
# (constraints/newest.txt in $VENV, constraints/oldest.txt in $VENV-oldest). Offline once
# the environments are installed; CI runs exactly this.
#   ENDS="newest" bash scripts/test.sh   # one end only (default: ENDS="newest oldest")
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
ENDS=${ENDS:-newest oldest}
venv_of() {  # the environment of an end
  if [ "$1" = newest ]; then echo "$VENV"; else echo "$VENV-$1"; fi
}
# Both environments first: a failing install stops here, before any test runs.
for end in $ENDS; do
  VENV=$(venv_of "$end") END=$end bash scripts/setup.sh
done

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

# The benchmarks' tiny runs check that the scripts still work; they exercise nothing the
# unit tests and notebooks do not, so the oldest end leaves them to the newest.
ONLY_AT_NEWEST=(--deselect tests/test_benchmarks.py)

status=0
for end in $ENDS; do
  # shellcheck disable=SC1091
  . "$(venv_of "$end")/bin/activate"
  if [ "$end" = newest ]; then
    python scripts/build_notebooks.py --check || status=1
    # At the newest end, on tensorflow, every notebook runs with each exercise's solution
    # as a code cell after it (solutions size their runs with run.size).
    rm -rf build/notebooks_with_solutions
    python scripts/build_notebooks.py --with-solutions build/notebooks_with_solutions \
      || status=1
    skip=()
  else
    skip=("${ONLY_AT_NEWEST[@]}")
  fi
  for backend in tensorflow jax torch; do
    echo "=== $end end, KERAS_BACKEND=$backend"
    notebooks=(notebooks)
    if [ "$end" = newest ] && [ "$backend" = tensorflow ]; then
      notebooks=(build/notebooks_with_solutions/*.ipynb)
    fi
    KERAS_BACKEND=$backend python -m pytest tests "${notebooks[@]}" --nbval-lax -q \
      --durations=5 "${skip[@]}" || status=1
  done
  deactivate
done

# The site, from the stored executed notebooks: built with warnings as errors, then every
# page opened in headless Chromium (docs/test_site.py).
# shellcheck disable=SC1091
. "$VENV/bin/activate"
VENV=$VENV bash scripts/build_site.sh || status=1
python -m pytest docs/test_site.py -q -p no:cacheprovider || status=1
exit $status
