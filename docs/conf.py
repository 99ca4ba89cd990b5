"""Sphinx configuration of the notebooks' site: `bash scripts/build_site.sh` builds it.

The site shows the executed notebooks as they are stored, with their outputs; nothing is
re-run. Before Sphinx reads its sources, this file
- copies the executed notebooks into docs/notebooks/ (from ../notebooks, or from the folder
  in $SITE_NOTEBOOKS), with the Colab badge pointing at a local image;
- writes the landing page's gallery (docs/_generated/gallery.md): for each notebook its
  title, the first picture of its cell tagged "gallery", and its measured headline,
  notebook.metadata["gen_lib"]["headline"]. A missing picture or headline stops the build,
  unless SITE_DRAFT=1 (development only: a placeholder, marked as such, stands in).
"""

import base64
import importlib.util
import json
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

from sphinx.errors import ConfigError

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
NOTEBOOKS = Path(os.environ.get("SITE_NOTEBOOKS", ROOT / "notebooks")).resolve()
DRAFT = os.environ.get("SITE_DRAFT") == "1"
GALLERY_TAG = "gallery"
MATHJAX = DOCS / "_build" / "mathjax" / "node_modules"  # npm's install folder (build_site.sh)

with open(ROOT / "pyproject.toml", "rb") as f:
    REPOSITORY = tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")

# gen_lib imports keras; jax is the backend that imports fastest, when it is installed.
if importlib.util.find_spec("jax"):
    os.environ.setdefault("KERAS_BACKEND", "jax")

project = "Generative models in Keras 3"
author = "the gen_lib authors"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx_design"]
exclude_patterns = ["_build", "_generated"]
nb_execution_mode = "off"  # render the stored outputs; never run a notebook
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "html_image"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # gen_lib's own words, not the Keras hooks' docstrings
default_role = "literal"  # `name` in a docstring reads as code, as in the notebooks

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static", str(MATHJAX)]  # MathJax lands in _static/mathjax/
html_css_files = ["site.css"]
mathjax_path = "mathjax/es5/tex-chtml.js"  # relative to _static: a local copy, no network
mathjax3_config = {"tex": {"packages": {"[-]": ["noundefined"]}}}  # unknown macro: an error
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "path_to_docs": "",  # so a notebook page's Colab button opens notebooks/NN_name.ipynb
    "use_repository_button": True,
    "use_download_button": False,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}
html_context = {"default_mode": "light"}  # else, from file://, the theme logs an error
html_show_sourcelink = False
html_copy_source = False


def fail(message):
    print(f"\nThe site cannot be built: {message}\n", file=sys.stderr)  # before Sphinx's dump
    raise ConfigError(message)


if not (MATHJAX / "mathjax" / "es5" / "tex-chtml.js").exists():
    fail(f"no local MathJax in {MATHJAX}: run scripts/build_site.sh (it installs mathjax@3)")


BACKEND_LABELS = ("TensorFlow", "JAX", "PyTorch")


def backend_tabs(markdown):
    """The per-backend code of a "minimize-by-backend" cell as a tab set: in Jupyter the
    three blocks follow each other under bold labels; on the site each gets a tab."""
    labels = "|".join(BACKEND_LABELS)
    pattern = re.compile(rf"\*\*({labels})\*\*\n\n(```python\n.*?\n```)\n", re.S)
    found = list(pattern.finditer(markdown))
    if [m.group(1) for m in found] != list(BACKEND_LABELS):
        fail("a minimize-by-backend cell lost its TensorFlow / JAX / PyTorch code blocks")
    tabs = "".join(f":::{{tab-item}} {m.group(1)}\n{m.group(2)}\n:::\n" for m in found)
    before, after = markdown[:found[0].start()], markdown[found[-1].end():]
    return f"{before.rstrip()}\n\n::::{{tab-set}}\n{tabs}::::\n\n{after.lstrip()}"


def copy_notebook(source, target):
    """Copy an executed notebook for the site: its Colab badge image made local (the page
    must not load anything from the network), its per-backend code in tabs."""
    text = source.read_text(encoding="utf-8")
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    notebook = json.loads(text.replace(badge, "../_static/open-in-colab.svg"))
    for cell in notebook["cells"]:
        if "minimize-by-backend" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = backend_tabs("".join(cell["source"]))
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
    return notebook


def gallery_picture(notebook, name):
    """The first PNG output of the cell tagged "gallery" (base64 text), or None."""
    for cell in notebook["cells"]:
        if GALLERY_TAG in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    return output["data"]["image/png"]
            fail(f"{name}: the cell tagged '{GALLERY_TAG}' has no picture in its outputs")
    return None


def gallery_entry(notebook, name):
    """(title, picture as PNG bytes, headline) of one notebook, for the landing page."""
    title = notebook["cells"][0]["source"]
    title = "".join(title).splitlines()[0].lstrip("# ").strip()
    picture = gallery_picture(notebook, name)
    headline = notebook["metadata"].get("gen_lib", {}).get("headline")
    missing = [what for what, value in [(f"cell tagged '{GALLERY_TAG}'", picture),
                                        ("metadata gen_lib.headline", headline)] if not value]
    if missing and not DRAFT:
        fail(f"{name} has no {' and no '.join(missing)}: is it the executed notebook?")
    if picture is None:  # draft build only: the notebook's first picture
        picture = next((o["data"]["image/png"] for c in notebook["cells"]
                        for o in c.get("outputs", []) if "image/png" in o.get("data", {})), None)
        if picture is None:
            fail(f"{name} has no picture at all: is it the executed notebook?")
    headline = headline or "DRAFT: no headline in this notebook's metadata"
    return title, base64.b64decode("".join(picture)), headline


def write_notebooks_and_gallery():
    sources = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        fail(f"no notebooks NN_name.ipynb in {NOTEBOOKS}")
    for folder in (DOCS / "notebooks", DOCS / "_generated"):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    cards = []
    for source in sources:
        notebook = copy_notebook(source, DOCS / "notebooks" / source.name)
        title, png, headline = gallery_entry(notebook, source.name)
        (DOCS / "_generated" / f"{source.stem}.png").write_bytes(png)
        cards.append(f":::{{grid-item-card}} {title}\n:link: notebooks/{source.stem}\n"
                     f":link-type: doc\n:img-top: /_generated/{source.stem}.png\n"
                     f":class-card: gallery-card\n\n**{headline}**\n:::\n")
    grid = "::::{grid} 1 2 2 2\n:gutter: 3\n\n" + "\n".join(cards) + "::::\n"
    (DOCS / "_generated" / "gallery.md").write_text(grid, encoding="utf-8")


write_notebooks_and_gallery()
