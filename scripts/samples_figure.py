"""The README's picture: each stored notebook's final samples (the picture of its cell
tagged "gallery"), side by side, labelled with the notebook and its headline. Run by
scripts/run_notebooks.sh after the notebooks are executed, so it shows the stored run.

    python scripts/samples_figure.py [FOLDER]   # writes docs/_static/samples.png from
                                                # the notebooks in FOLDER (notebooks/)
"""

import base64
import io
import json
import textwrap
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "_static" / "samples.png"


def gallery_png(notebook):
    for cell in notebook["cells"]:
        if "gallery" in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    return base64.b64decode("".join(output["data"]["image/png"]))
    raise SystemExit("a notebook has no picture in its cell tagged 'gallery': execute it first")


def main(folder):
    paths = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    rows = (len(paths) + 2) // 3
    fig, axes = plt.subplots(rows, 3, figsize=(12, 4.2 * rows), squeeze=False)
    for ax in axes.flat[len(paths):]:
        ax.set_axis_off()
    for ax, path in zip(axes.flat, paths):
        notebook = json.loads(path.read_text())
        image = mpimg.imread(io.BytesIO(gallery_png(notebook)), format="png")
        ax.imshow(image)
        ax.set_axis_off()
        title = "".join(notebook["cells"][0]["source"]).splitlines()[0].lstrip("# ")
        title = title.split(":")[0]
        headline = notebook["metadata"].get("gen_lib", {}).get("headline", "not executed")
        ax.set_title(f"{title}\n" + textwrap.fill(headline, 60), fontsize=9)
    fig.tight_layout()
    fig.savefig(TARGET, dpi=110)
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ROOT / "notebooks")
