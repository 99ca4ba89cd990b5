"""The repository's own rules: files agree, notebooks are built and keep their shape."""

import ast
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BACKENDS = {"tensorflow", "jax", "torch"}
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def requirement_names(lines):
    names = set()
    for line in lines:
        line = line.split("#")[0].strip()
        line = line[2:].strip() if line.startswith("- ") else line  # a YAML list item
        if line and not line.startswith("-e") and not line.startswith("python"):
            names.add(re.split(r"[<>=!~\[ ]", line)[0].lower().replace("_", "-"))
    return names


def test_environment_yml_names_the_same_packages_as_requirements():
    requirements = requirement_names((ROOT / "requirements.txt").read_text().splitlines())
    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:")[1].splitlines()
    conda = requirement_names(pip_section)
    assert conda - {"jax", "torch"} == requirements
    assert {"jax", "torch"} <= conda
    assert "torch==2.13.0" in text  # the CPU build; anything else pulls CUDA


def test_notebooks_are_built_from_their_sources():
    """Every stored notebook's cells (and so every output beside them) come from its source."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_notebooks.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert NOTEBOOKS


def test_the_repository_address_is_written_in_one_place():
    """pyproject.toml names the repository; badges, install cells and the site's buttons
    derive from it, so moving the repository is a one-line change."""
    import tomllib

    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    path = url.removeprefix("https://github.com/").rstrip("/")
    assert path.count("/") == 1, f"expected https://github.com/<owner>/<name>, got {url}"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    derived = {"pyproject.toml"} | {f"notebooks/{p.name}" for p in NOTEBOOKS}
    spelled = [name for name in tracked if name not in derived and (ROOT / name).is_file()
               and path.encode() in (ROOT / name).read_bytes()]
    assert not spelled, f"{spelled} spell the repository's address: derive it from pyproject"
    for source in (ROOT / "notebooks" / "src").glob("*.py"):
        assert "REPOSITORY_PATH" in source.read_text(), f"{source.name} has no Colab badge"
    for notebook in NOTEBOOKS:
        assert f"github/{path}/blob/main/notebooks/{notebook.name}" in notebook.read_text()


# Every notebook reads in this order (the collection's editorial standard): the idea,
# theory, the working model, results, then the original post's mistakes, exercises, and the
# appendix.
SECTIONS = ["## The idea in one picture", "## Setup", "## Theory", "## Data", "## Networks",
            "## The train_step", "## Training", "## Results",
            "## Common mistakes: spot the bug", "## Exercises", "## Under the hood",
            "## References"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shape(path):
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    headings = [line.strip().replace("`", "") for c in cells if c["cell_type"] == "markdown"
                for line in "".join(c["source"]).splitlines() if line.startswith("## ")]
    assert "colab-badge.svg" in "".join(cells[0]["source"])
    assert any("parameters" in c["metadata"].get("tags", []) for c in cells)
    assert any("model" in c["metadata"].get("tags", []) for c in cells)
    found = [h for h in headings if h in SECTIONS]
    assert found == SECTIONS, f"{path.name}: sections {found}, expected {SECTIONS}"
    text = "\n".join("".join(c["source"]) for c in cells)
    assert "@gen_lib.train_step" in text


def imported_modules(source):
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return modules


# The bridge trains through each backend's API; device.py only asks a backend for its
# devices. Nothing else imports a backend.
BACKEND_MODULES = {"bridge.py", "device.py"}


def test_backend_code_lives_only_in_the_bridge():
    offenders = []
    for path in [*(ROOT / "gen_lib").glob("*.py"), *(ROOT / "tests").glob("*.py")]:
        if path.parent.name == "gen_lib" and path.name in BACKEND_MODULES:
            continue
        if imported_modules(path.read_text()) & BACKENDS:
            offenders.append(path.name)
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                if imported_modules("".join(cell["source"])) & BACKENDS:
                    offenders.append(path.name)
    assert not offenders, f"backend imports outside gen_lib/bridge.py: {offenders}"


KERAS_INTERNALS = re.compile(
    r"keras\.src|\._flatten_layers|\._seed_generators|\.state_mapping\b|_obj_type|"
    r"\._(?:non_)?trainable_variables\b|\._tracker\b")


def test_gen_lib_uses_only_public_keras_api():
    """A Keras release may change anything under keras.src or a private attribute without
    notice: gen_lib relies on neither, so an upgrade cannot break it silently."""
    offenders = [f"{path.name}:{n}: {line.strip()}"
                 for path in (ROOT / "gen_lib").glob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if KERAS_INTERNALS.search(line.split("#")[0])]
    assert not offenders, offenders


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_notebooks_are_executed_and_say_what_produced_them(path):
    """A student who opens a notebook anywhere sees its figures and numbers, and can tell
    what run produced them (scripts/execute_notebooks.py writes this record)."""
    nb = json.loads(path.read_text())
    record = nb["metadata"].get("gen_lib")
    assert record, f"{path.name} is stored unexecuted: python scripts/execute_notebooks.py {path}"
    assert record["profile"] == "full" and record["backend"] in BACKENDS
    assert {"keras", "numpy", "python"} <= record["versions"].keys()
    assert record["run"].startswith("profile 'full'") and record["wall_time_s"] > 0
    assert record["headline"] and record["executed"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] is not None for c in code), "a cell did not run"
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    gallery = [c for c in code if "gallery" in c["metadata"].get("tags", [])]
    assert len(gallery) == 1 and any("image/png" in o.get("data", {})
                                     for o in gallery[0]["outputs"])


def build_module():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_notebooks
    finally:
        sys.path.pop(0)
    return build_notebooks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_one_solution_that_parses(path):
    """scripts/test.sh runs each solution as a code cell (build_notebooks --with-solutions);
    here: each notebook has 3-5 of them and each is Python."""
    build = build_module()
    markdown = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                if c["cell_type"] == "markdown"]
    exercises = sum(len(build.SOLUTION.findall(text)) for text in markdown)
    codes = [code for text in markdown for code in build.solutions_of(text)]
    assert 3 <= len(codes) == exercises <= 5, (path.name, len(codes), exercises)
    for code in codes:
        ast.parse(code)


def test_solutions_are_found_inside_list_items():
    build = build_module()
    markdown = ("1. **Goal.**\n\n   <details><summary>Solution</summary>\n\n"
                "   ```python\n   for i in range(2):\n       print(i)\n   ```\n\n"
                "   Why: ...\n   </details>\n")
    assert build.solutions_of(markdown) == ["for i in range(2):\n    print(i)"]
    with pytest.raises(ValueError, match="without a python code block"):
        build.solutions_of("<details><summary>Solution</summary>no code</details>")


LIST_ITEM = re.compile(r"\s*([-+*]|\d+\.)\s")


def lines_opening_a_list_inside_math(markdown):
    """Inline math continued on a line that starts like a list item ("- w p(x)") becomes a
    list item: the dollar signs then pair up wrongly and the page shows broken math. (A
    display block that opens with `$$` at the start of a line is parsed whole.)"""
    found, inline = [], False
    for line in markdown.splitlines():
        if not line.strip():
            inline = False  # a paragraph ends at a blank line, and inline math with it
            continue
        if inline and LIST_ITEM.match(line):
            found.append(line)
        text = re.sub(r"`[^`]*`", "", line.replace(r"\$", ""))
        inline ^= text.replace("$$", "").count("$") % 2 == 1
    return found


def test_math_is_never_cut_by_a_list_item():
    assert lines_opening_a_list_inside_math("$a\n- b$") == ["- b$"]
    assert lines_opening_a_list_inside_math("$a$ b\n- item $c$\n\n$$d\n+ e$$") == []
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] == "markdown":
                bad = lines_opening_a_list_inside_math("".join(cell["source"]))
                assert not bad, f"{path.name}: math continues on a list item: {bad}"
