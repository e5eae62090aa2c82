"""Imports inside ``minnet`` point one way: the core (layers, model, training,
data, anatomy, ...) <- metrics <- prune <- the course tools (the package's
``__init__``, its public face, may import them all). In the library no function
imports a module of the package to dodge a cycle, and only the third-party
libraries listed here, optional or slow to import, are imported inside
functions. (The course tools, which are to move out of the package, keep their
deferred imports of the Jupyter machinery for now.)"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minnet"
LEVELS = {"core": 0, "metrics": 1, "prune": 2, "course": 3}
# third-party modules a library function may import where it needs them: optional (matplotlib for
# plots, ipywidgets to pick tqdm's widget bar, torch), or slow to import (scipy, scikit-learn), or
# needed only when asked for (threadpoolctl when BLAS threads are set)
LAZY_OK = {"matplotlib", "scipy", "sklearn", "ipywidgets", "tqdm", "threadpoolctl", "torch"}


def level(module: str) -> int:
    """minnet.prune.apply -> prune; minnet.course.grade -> course; minnet.metrics -> metrics; else core."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LEVELS:
        return LEVELS[parts[1]]
    return LEVELS["core"]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path):
    """(line, absolute module, inside a function) for every import of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    functions = {
        node
        for top in ast.walk(tree)
        if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(top)
        if node is not top
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module
            targets = [root] if node.module or not node.level else [f"{root}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            yield node.lineno, target, node in functions


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_point_down_and_none_hides_in_a_function(path):
    here = module_name(path)
    facade, library = here == "minnet", level(here) < LEVELS["course"]
    upward, hidden = [], []
    for line, target, in_function in imported_modules(path):
        if target.split(".")[0] == "minnet":
            if level(target) > level(here) and not facade:
                upward.append(f"line {line}: {here} imports {target}")
            if in_function and library:
                hidden.append(f"line {line}: {target}")
        elif in_function and library and target.split(".")[0] not in LAZY_OK:
            hidden.append(f"line {line}: {target}")
    assert not upward, upward
    assert not hidden, f"imports inside functions: {hidden}"


def test_the_levels_are_what_the_test_thinks():
    assert level("minnet.layers") == 0 and level("minnet.anatomy") == 0 and level("minnet") == 0
    assert level("minnet.metrics") == 1 and level("minnet.prune.apply") == 2 and level("minnet.course.grade") == 3
    found = {target for path in SOURCES for _, target, _ in imported_modules(path)}
    assert {"minnet.anatomy", "minnet.metrics", "minnet.prune.masks"} <= found  # relative imports resolved
