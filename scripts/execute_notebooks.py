"""Execute notebooks in place, in the full profile, and record in each what produced it.

    python scripts/execute_notebooks.py [notebooks/01_gan.ipynb ...]   # default: all six

The backend is KERAS_BACKEND (default tensorflow). Each notebook's metadata["gen_lib"]
records the backend, the versions, the profile and data (the notebook's own printed run
line), the date, the wall time, and its "Result:" line (the number the site shows). A
notebook that fails is left as it was.
"""

import datetime
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def printed_lines(nb):
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                yield from output["text"].splitlines()


def the_line(nb, prefix, path):
    found = [line for line in printed_lines(nb) if line.startswith(prefix)]
    if len(found) != 1:
        raise SystemExit(f"{path}: expected one printed line starting {prefix!r}, got {found}")
    return found[0]


def merge_streams(nb):
    """One box per cell and stream: consecutive prints to stdout (or stderr) that Jupyter
    stored as several outputs become one, as a reader sees them in Jupyter."""
    for cell in nb.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (output.get("output_type") == "stream" and previous is not None
                    and previous.get("output_type") == "stream"
                    and previous.get("name") == output.get("name")):
                previous["text"] += output["text"]
            else:
                merged.append(output)
        if cell.cell_type == "code":
            cell.outputs = merged


def execute(path, backend):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("gen_lib", None)
    start = time.perf_counter()
    NotebookClient(nb, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    wall = time.perf_counter() - start
    merge_streams(nb)
    packages = ["keras", BACKEND_PACKAGES[backend], "numpy", "matplotlib", "gen_lib"]
    nb.metadata["gen_lib"] = {
        "backend": backend,
        "versions": {"python": platform.python_version(),
                     **{name: metadata.version(name) for name in packages}},
        "profile": "full",
        "run": the_line(nb, "profile 'full'", path),
        "headline": the_line(nb, "Result: ", path).removeprefix("Result: "),
        "executed": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_time_s": round(wall),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    nbformat.write(nb, path)
    print(f"{path.relative_to(ROOT)}: {wall / 60:.1f} min on {backend}; "
          f"{nb.metadata['gen_lib']['headline']}", flush=True)


def main(paths):
    backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if os.environ.get("GEN_LIB_PROFILE", "full") != "full":
        raise SystemExit("The stored notebooks are executed in the full profile: "
                         "unset GEN_LIB_PROFILE.")
    paths = [Path(p).resolve() for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        execute(path, backend)


if __name__ == "__main__":
    main(sys.argv[1:])
