"""Run a notebook's own definitions outside Jupyter, for the tests and the benchmarks.

Not part of the notebooks' API (not in `gen_lib.__all__`). A notebook cannot be
imported, so this executes its code: the cells up to and including the one tagged
`parameters` (imports, settings, seeding), then every cell tagged `model` (the networks'
builders and the model classes, definitions only). What is tested and timed is the
notebook's own code, not a copy that could drift from it. CONTRIBUTING.md describes the
tags.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository, when gen_lib is installed -e


def notebook_namespace(name, folder=None):
    """The globals of notebook `<folder>/<name>.ipynb` after its setup and model cells."""
    folder = Path(folder) if folder else ROOT / "notebooks"
    cells = json.loads((folder / f"{name}.ipynb").read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    tags = [c["metadata"].get("tags", []) for c in code]
    if not any("model" in t for t in tags):
        raise ValueError(f"{name} has no cell tagged 'model' to run.")
    last_setup = next(i for i, t in enumerate(tags) if "parameters" in t)
    namespace = {"__name__": f"notebook_{name}"}
    for i, (cell, cell_tags) in enumerate(zip(code, tags, strict=True)):
        if i <= last_setup or "model" in cell_tags:
            exec(compile("".join(cell["source"]), f"{name}.ipynb", "exec"), namespace)
    return namespace
