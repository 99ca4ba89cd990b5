"""Seconds CI spends on each notebook's smoke run, per backend.

Why: CI executes every notebook under nbval on three backends on every change; this
table says where that time goes, so a notebook that makes CI slow is seen at once. Each
run is a fresh `pytest --nbval-lax notebooks/<name>.ipynb` process with the smoke profile,
exactly as `scripts/test.sh` runs it (the wall time includes starting Python and Keras).

    GEN_LIB_DATA_DIR=../shared/data/mnist python benchmarks/ci_cost.py

The whole CI run is timed separately: `time bash .ci/run`. `--tiny` runs notebook 01 on
the current backend only, to check the script works.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["tensorflow", "jax", "torch"]


def smoke_seconds(notebook, backend, cache_dir):
    env = {**os.environ, "KERAS_BACKEND": backend, "GEN_LIB_PROFILE": "smoke",
           "GEN_LIB_SPLIT": os.environ.get("GEN_LIB_SPLIT", "test"),
           "GEN_LIB_DATA_DIR": os.environ.get("GEN_LIB_DATA_DIR",
                                              str(ROOT.parent / "shared" / "data" / "mnist")),
           "GEN_LIB_CACHE_DIR": cache_dir, "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--nbval-lax", str(notebook)], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{notebook.name} failed on {backend}:\n{result.stdout[-3000:]}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="notebook 01, current backend")
    args = parser.parse_args()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    backends = BACKENDS
    if args.tiny:
        notebooks = notebooks[:1]
        backends = [os.environ.get("KERAS_BACKEND", "tensorflow")]
    with tempfile.TemporaryDirectory() as cache_dir:
        # The metric's classifier is trained once per backend and cached, as in CI.
        rows = [[smoke_seconds(nb, b, cache_dir) for b in backends] for nb in notebooks]
    print(f"| notebook | {' | '.join(f'{b} (s)' for b in backends)} |")
    print("|---" * (len(backends) + 1) + "|")
    for notebook, row in zip(notebooks, rows, strict=True):
        print(f"| {notebook.stem} | {' | '.join(f'{s:.0f}' for s in row)} |")
    total = sum(map(sum, rows))
    print(f"| all | {total / 60:.1f} min in total |" + " |" * (len(backends) - 1))
    print(f"# {len(os.sched_getaffinity(0))} cores; command: python benchmarks/ci_cost.py"
          + (" --tiny" if args.tiny else ""))


if __name__ == "__main__":
    main()
