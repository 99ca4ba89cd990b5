"""Build notebooks/*.ipynb from their paired plain-text sources in notebooks/src/*.py.

The sources use Jupytext's 'percent' format (also read by VS Code and Spyder):

    # %% [markdown]          a markdown cell; each line starts with "# "
    # %% tags=["parameters"] a code cell with tags

The repository's address is written once, in pyproject.toml ([project.urls] Repository);
the sources say REPOSITORY_URL and REPOSITORY_PATH (owner/name) where it belongs.

The stored notebooks are executed (scripts/run_notebooks.sh): their outputs must come from
the code beside them. Usage:

    python scripts/build_notebooks.py          # rewrite the notebooks whose text changed
                                               # (their outputs are dropped: re-execute them)
    python scripts/build_notebooks.py --check  # exit 1 if a notebook's cells differ from
                                               # its source, outputs aside
    python scripts/build_notebooks.py --with-solutions DIR
        # write into DIR each stored notebook with its exercises' solutions as code cells,
        # each right after the markdown cell that holds it (scripts/test.sh runs them)
"""

import re
import sys
import textwrap
import tomllib
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC, OUT = ROOT / "notebooks" / "src", ROOT / "notebooks"
# What one gen_lib.minimize call stands for on each backend, written once: the build
# appends it to every markdown cell tagged "minimize-by-backend" (the site shows it as
# tabs; tests/test_minimize_shown.py executes it against minimize).
MINIMIZE_BY_BACKEND = SRC / "minimize_by_backend.md"
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
    "colab": {"provenance": []},
    "accelerator": "GPU",
}


def repository_url():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def build(source):
    """The notebook of `source`, without outputs, as a nbformat object."""
    url = repository_url()
    text = source.read_text().replace("REPOSITORY_URL", url)
    text = text.replace("REPOSITORY_PATH", url.removeprefix("https://github.com/"))
    nb = jupytext.reads(text, fmt="py:percent")
    shown = MINIMIZE_BY_BACKEND.read_text().strip()
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("lines_to_next_cell", None)
        if "minimize-by-backend" in cell.metadata.get("tags", []):
            cell.source = f"{cell.source.rstrip()}\n\n{shown}"
        cell.id = f"{source.stem[:2]}-{i:03d}"  # stable ids: rebuilds give identical files
    nb.metadata = dict(METADATA)
    return nb


def cells_of(nb):
    """What the freshness check compares: each cell's kind, id, tags and text."""
    return [(c.cell_type, c.get("id"), c.metadata.get("tags", []), c.source) for c in nb.cells]


def code_of(nb):
    return [cell for cell in cells_of(nb) if cell[0] == "code"]


SOLUTION = re.compile(r"<details><summary>Solution</summary>(.*?)</details>", re.S)
PYTHON_BLOCK = re.compile(r"^([ \t]*)```python\n(.*?)\n\1```", re.S | re.M)


def solutions_of(markdown):
    """The code of each exercise solution in a markdown cell: the first python block of
    each collapsed "Solution" (indented as a list item's, or not)."""
    codes = []
    for solution in SOLUTION.findall(markdown):
        block = PYTHON_BLOCK.search(solution)
        if block is None:
            raise ValueError(f"a Solution without a python code block: {solution[:200]!r}")
        codes.append(textwrap.dedent(block.group(2)))
    return codes


def with_solutions(nb):
    """`nb` with each solution's code as a code cell after the markdown cell that holds it."""
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "markdown":
            for n, code in enumerate(solutions_of(cell.source)):
                solution = nbformat.v4.new_code_cell(code)
                solution.id = f"{cell.id}-solution-{n}"
                cells.append(solution)
    nb.cells = cells
    return nb


def write_with_solutions(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for target in sorted(OUT.glob("[0-9][0-9]_*.ipynb")):
        nb = with_solutions(nbformat.read(target, as_version=4))
        count = sum(cell.id.count("-solution-") for cell in nb.cells)
        (folder / target.name).write_text(nbformat.writes(nb) + "\n")
        print(f"{folder / target.name}: {count} solutions as code cells")


def main(check=False):
    stale = []
    for source in sorted(SRC.glob("*.py")):
        target = OUT / f"{source.stem}.ipynb"
        built = build(source)
        stored = nbformat.read(target, as_version=4) if target.exists() else None
        if stored is not None and cells_of(stored) == cells_of(built):
            continue
        if check:
            stale.append(target.name)
        elif stored is not None and [c[2:] for c in code_of(stored)] == \
                [c[2:] for c in code_of(built)]:
            # Only the prose changed (markdown cells edited, added or removed): keep the
            # outputs, which still come from this code, cell for cell.
            stored_code = iter(c for c in stored.cells if c.cell_type == "code")
            for cell in built.cells:
                if cell.cell_type == "code":
                    old = next(stored_code)
                    cell.outputs, cell.execution_count = old.outputs, old.execution_count
            built.metadata = stored.metadata
            target.write_text(nbformat.writes(built) + "\n")
            print(f"updated the prose of {target.relative_to(ROOT)}; its outputs are kept")
        else:
            target.write_text(nbformat.writes(built) + "\n")
            print(f"wrote {target.relative_to(ROOT)} (no outputs: execute it with "
                  f"bash scripts/run_notebooks.sh {target.relative_to(ROOT)})")
    if stale:
        print(f"out of date with notebooks/src: {', '.join(stale)}; run "
              "python scripts/build_notebooks.py, then bash scripts/run_notebooks.sh")
        return 1
    return 0


if __name__ == "__main__":
    if "--with-solutions" in sys.argv:
        sys.exit(write_with_solutions(sys.argv[sys.argv.index("--with-solutions") + 1]))
    sys.exit(main(check="--check" in sys.argv))
