#!/usr/bin/env bash
# Set up the environment, execute every notebook in place in the full profile (on
# KERAS_BACKEND, default tensorflow) and build the site from them. Works offline: without
# a network MNIST's test split, shipped with gen_lib, is used (each notebook says so).
# Usage: bash scripts/run_notebooks.sh [notebooks/01_gan.ipynb ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${VENV:-.venv}/bin/activate"
unset GEN_LIB_PROFILE
python scripts/execute_notebooks.py "$@"
python scripts/samples_figure.py   # the README's picture, from the stored notebooks
bash scripts/build_site.sh
