"""The supported releases: declared once per file and agreeing, checked on import, tested at
both ends (gen_lib/versions.py says why each lower bound is what it is)."""

import ast
import os
import re
import subprocess
import sys
import tomllib

import keras
import pytest

from gen_lib import versions
from tests.conftest import ROOT

LIBRARIES = ("keras", "tensorflow", "jax", "torch")


def requirement(line):
    """('name', 'op', 'version') of a line such as 'keras>=3.13.0  # comment', else None."""
    line = line.split("#")[0].strip().removeprefix("- ").strip()
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(==|>=)\s*([\w.+]+)", line)
    return (match[1].lower().replace("_", "-"), match[2], match[3]) if match else None


def bounds(lines, op):
    return {r[0]: r[2] for r in map(requirement, lines) if r and r[1] == op}


def read_lines(relative):
    return (ROOT / relative).read_text().splitlines()


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_gen_lib_checked_this_environment_on_import():
    assert sys.modules["gen_lib.versions"] is versions
    assert versions.problems(keras) == []


def test_too_old_keras_fails_at_import_naming_the_supported_releases():
    """A fresh interpreter, with Keras' version turned back before gen_lib is imported."""
    code = "import keras; keras.__version__ = '3.12.1'; import gen_lib"
    env = {k: v for k, v in os.environ.items() if k != versions.SKIP_ENV}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env=env)
    assert result.returncode != 0
    assert "UnsupportedVersionError" in result.stderr
    assert "gen_lib supports Keras 3.13.0 or newer" in result.stderr
    assert "it has Keras 3.12.1" in result.stderr
    assert 'pip install -U "keras>=3.13.0"' in result.stderr


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_too_old_backend_is_refused(monkeypatch, backend):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    old = {"tensorflow": "2.15.1", "jax": "0.4.29", "torch": "2.12.1+cpu"}[backend]
    with pytest.raises(versions.UnsupportedVersionError) as error:
        versions.check(keras, backend_versions={backend: old})
    message = str(error.value)
    assert f"{versions.NAMES[backend]} {old}" in message
    assert f'pip install -U "{backend}>={versions.OLDEST[backend]}"' in message
    assert versions.supported_range() in message
    versions.check(keras, backend_versions={backend: versions.OLDEST[backend]})  # the floor


def test_a_missing_api_is_named(monkeypatch):
    monkeypatch.delattr(keras.StatelessScope, "add_update")
    with pytest.raises(versions.UnsupportedVersionError) as error:
        versions.check(keras)
    assert "lacks keras.StatelessScope.add_update, which gen_lib uses" in str(error.value)


def test_a_missing_keyword_argument_is_named(monkeypatch):
    original = keras.StatelessScope.__init__

    def without_initialize_variables(self, state_mapping=None):
        original(self, state_mapping=state_mapping)

    monkeypatch.setattr(keras.StatelessScope, "__init__", without_initialize_variables)
    assert versions.missing_api(keras) == ["keras.StatelessScope(initialize_variables=...)"]


def test_the_check_can_be_skipped(monkeypatch):
    monkeypatch.setattr(keras, "__version__", "3.0.0")
    with pytest.raises(versions.UnsupportedVersionError):
        versions.check(keras)
    monkeypatch.setenv(versions.SKIP_ENV, "1")
    versions.check(keras)


def test_release_numbers():
    assert versions.release("2.13.0+cpu") == (2, 13, 0)
    assert versions.release("3.15") == (3, 15, 0)
    assert versions.release("0.10.2") > versions.release("0.4.30")


def test_every_keras_name_gen_lib_uses_is_checked():
    """A `keras.x.y` that gen_lib starts to use goes into versions.REQUIRED_API, so that a
    Keras without it fails at import, with the supported releases, not mid-training."""
    used = set()
    for path in (ROOT / "gen_lib").glob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r"\bkeras\.([A-Za-z_][\w.]*\w)", text))
        for module in ("layers", "ops"):
            if re.search(rf"^\s*from keras import {module}\b", text, re.M):
                used |= {f"{module}.{name}"
                         for name in re.findall(rf"\b{module}\.([A-Za-z_]\w*)", text)}
    listed = set(versions.REQUIRED_API)
    covered = listed | {p.rsplit(".", i)[0] for p in listed for i in range(1, p.count(".") + 1)}
    unchecked = sorted(name for name in used - covered if not name.startswith("_"))
    assert not unchecked, f"add these to gen_lib/versions.py REQUIRED_API: {unchecked}"
    assert versions.missing_api(keras) == []


def test_every_file_declares_the_same_lower_bounds():
    declared = {
        "pyproject.toml": bounds([*PYPROJECT["dependencies"],
                                  *sum(PYPROJECT["optional-dependencies"].values(), [])], ">="),
        "requirements.txt": bounds(read_lines("requirements.txt"), ">="),
        "environment.yml": bounds(read_lines("environment.yml"), ">="),
    }
    oldest = bounds(read_lines("constraints/oldest.txt"), "==")
    for name in LIBRARIES:
        assert oldest[name] == versions.OLDEST[name], f"constraints/oldest.txt: {name}"
        for where, found in declared.items():
            if name in found:
                assert found[name] == versions.OLDEST[name], f"{where}: {name}>={found[name]}"
    for where, found in declared.items():  # numpy, matplotlib, tensorflow-datasets too
        for name, version in found.items():
            if name in oldest:
                assert version == oldest[name], f"{where}: {name}>={version}, oldest {oldest[name]}"
    assert oldest["jaxlib"] == oldest["jax"]
    assert set(LIBRARIES) <= set(declared["pyproject.toml"])
    assert {"keras", "tensorflow"} <= set(declared["requirements.txt"])
    assert {"keras", "tensorflow", "jax"} <= set(declared["environment.yml"])


def test_newest_end_is_the_newest_tested():
    newest = bounds(read_lines("constraints/newest.txt"), "==")
    oldest = bounds(read_lines("constraints/oldest.txt"), "==")
    assert set(newest) == set(oldest)
    for name in LIBRARIES:
        assert newest[name] == versions.NEWEST_TESTED[name], f"constraints/newest.txt: {name}"
    for name in newest:
        assert versions.release(newest[name]) >= versions.release(oldest[name]), name
    assert newest["jaxlib"] == newest["jax"]


def third_party_imports_at_module_level():
    """Top-level packages that gen_lib's modules import when they are loaded."""
    names = set()
    for path in (ROOT / "gen_lib").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            nodes = node.body if isinstance(node, ast.With) else [node]
            for node in nodes:
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "gen_lib"}


def test_the_package_requires_only_what_it_imports():
    """`pip install gen_lib` (a notebook's first cell on a hosted service) must not bring
    JupyterLab, nbval or pytest, nor replace a backend: those are extras."""
    required = {requirement(r)[0] for r in PYPROJECT["dependencies"]}
    assert required == third_party_imports_at_module_level()
    extras = PYPROJECT["optional-dependencies"]
    assert {requirement(r)[0] for r in extras["backends"]} == {"tensorflow", "jax", "torch"}
    tools = {requirement(r)[0] for r in extras["test"] + extras["notebooks"]}
    assert {"pytest", "nbval", "jupyterlab"} <= tools
    assert "dependencies" not in PYPROJECT.get("dynamic", [])


def test_ci_runs_the_suite_at_both_ends():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    test = (ROOT / "scripts" / "test.sh").read_text()
    assert "constraints/$END.txt" in setup
    assert re.search(r"^ENDS=\$\{ENDS:-newest oldest\}", test, re.M)
