"""The package's layers: which folder may import which, and who imports Streamlit and Keras.

Read from every module's source (imports inside functions included), so a lazy
import cannot slip an arrow past the rule.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rnn_demo"
BASE = {"errors", "config"}
# Each layer and what it may import from the package, besides itself.
ALLOWED = {
    "errors": set(),
    "config": {"errors"},
    "data": BASE,
    "twins": BASE | {"data"},
    "engine": BASE | {"data", "twins"},
    "compute": BASE | {"data", "twins", "engine"},
    "store": BASE | {"data", "twins", "engine"},
    "app": BASE | {"data", "twins", "engine", "compute", "store"},
    "views": BASE | {"data", "twins", "app"},
    "ui": BASE | {"data", "twins", "engine", "compute", "store", "app", "views"},
    "cli": BASE | {"data", "twins", "engine", "compute", "store", "app"},
    "__main__": {"cli"},
}
# Keras runs in the engine, for the worker processes and the command line (a process of its
# own); beside it only Keras's own dataset downloader.
KERAS_LAYERS = {"engine", "cli"}
KERAS_OUTSIDE_ENGINE = {"data/sources.py"}


def imports_of(path: Path) -> set[str]:
    """Every module name ``path`` imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if layer_of(path) != "__init__")


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_each_module_imports_only_its_own_layer_and_those_below(path):
    layer = layer_of(path)
    used = {name.split(".")[1] for name in imports_of(path) if name.startswith("rnn_demo.")}
    assert used - {layer} <= ALLOWED[layer], f"{layer} may not import {sorted(used - {layer} - ALLOWED[layer])}"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_only_ui_imports_streamlit_and_only_the_engine_and_cli_import_keras(path):
    roots = {name.split(".")[0] for name in imports_of(path)}
    relative = path.relative_to(PACKAGE).as_posix()
    if layer_of(path) != "ui":
        assert "streamlit" not in roots
    if layer_of(path) not in KERAS_LAYERS and relative not in KERAS_OUTSIDE_ENGINE:
        assert not roots & {"keras", "tensorflow", "jax", "torch"}


def test_every_layer_is_a_folder_a_newcomer_can_read():
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    assert folders == set(ALLOWED) - BASE - {"__main__"}
    for folder in folders:
        assert ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text())), folder
