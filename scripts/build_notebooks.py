"""Build notebooks/*.ipynb from their paired plain-text sources in notebooks/src/*.py.

The source uses the 'percent' format read by Jupytext, VS Code and Spyder:

    # %% [markdown]          a markdown cell; each line starts with "# "
    # %% tags=["parameters"] a code cell with tags

The .ipynb files are written without outputs, as CI executes them. Usage:

    python scripts/build_notebooks.py          # rebuild every notebook
    python scripts/build_notebooks.py --check  # exit 1 if a notebook is out of date
"""

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC, OUT = ROOT / "notebooks" / "src", ROOT / "notebooks"
HEADER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse(text):
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                             for line in body.split("\n"))
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.split("\n"):
        match = HEADER.match(line)
        if match:
            flush()
            kind = "markdown" if match["markdown"] else "code"
            tags = json.loads(match["tags"]) if match["tags"] else []
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(source):
    nb = nbformat.v4.new_notebook()
    nb.cells = parse(source.read_text())
    for i, cell in enumerate(nb.cells):
        cell.id = f"{source.stem[:2]}-{i:03d}"  # stable ids: rebuilds give identical files
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
        "accelerator": "GPU",
    }
    return nbformat.writes(nb) + "\n"


def main(check=False):
    stale = []
    for source in sorted(SRC.glob("*.py")):
        target = OUT / f"{source.stem}.ipynb"
        text = build(source)
        if target.exists() and target.read_text() == text:
            continue
        if check:
            stale.append(target.name)
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/build_notebooks.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
