"""Run a notebook's own definitions outside Jupyter, for tests and benchmarks.

A notebook cannot be imported, so this executes its code: the cells up to and including
the `parameters` cell (imports, seeding), then every cell tagged `model` (the networks'
builders and the model classes, definitions only). What runs is the notebook's code.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def notebook_namespace(name):
    """The globals of notebook `notebooks/<name>.ipynb` after its setup and model cells."""
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]
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
