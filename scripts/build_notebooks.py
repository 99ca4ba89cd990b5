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
"""

import sys
import tomllib
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC, OUT = ROOT / "notebooks" / "src", ROOT / "notebooks"
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
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("lines_to_next_cell", None)
        cell.id = f"{source.stem[:2]}-{i:03d}"  # stable ids: rebuilds give identical files
    nb.metadata = dict(METADATA)
    return nb


def cells_of(nb):
    """What the freshness check compares: each cell's kind, id, tags and text."""
    return [(c.cell_type, c.get("id"), c.metadata.get("tags", []), c.source) for c in nb.cells]


def code_of(nb):
    return [cell for cell in cells_of(nb) if cell[0] == "code"]


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
        elif stored is not None and code_of(stored) == code_of(built) and \
                len(stored.cells) == len(built.cells):
            # Only the prose changed: keep the outputs, which still come from this code.
            for old, new in zip(stored.cells, built.cells, strict=True):
                if old.cell_type == "markdown":
                    old.source = new.source
            target.write_text(nbformat.writes(stored) + "\n")
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
    sys.exit(main(check="--check" in sys.argv))
