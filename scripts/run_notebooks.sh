#!/usr/bin/env bash
# Set up the environment and execute every notebook headless, in the full profile, on the
# backend given by KERAS_BACKEND (default tensorflow). Executed copies, with their plots
# and numbers, go to outputs/<backend>/. Usage: bash scripts/run_notebooks.sh [notebook...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${VENV:-.venv}/bin/activate"
backend=${KERAS_BACKEND:-tensorflow}
out=outputs/$backend
mkdir -p "$out"
notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(notebooks/*.ipynb)
for nb in "${notebooks[@]}"; do
  start=$(date +%s)
  KERAS_BACKEND=$backend jupyter nbconvert --to notebook --execute \
    --ExecutePreprocessor.timeout=3600 --output-dir "$out" "$nb"
  echo "$nb on $backend: $(( $(date +%s) - start )) s -> $out/$(basename "$nb")"
done
