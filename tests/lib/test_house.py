"""The shape of the house: imports point one way, functions stay small, no code is repeated.

Imports point one way: the library's core (layers, model, training, data,
anatomy, ...) <- metrics <- prune and interop (the bridge to PyTorch) <- the course tools in ``minnet_course`` (the
library's ``__init__``, its public face, may import all of ``minnet``, never the
course tools). No function imports a module of either package to dodge a cycle;
only the third-party libraries listed here, optional or slow to import, are
imported inside functions."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("minnet", "minnet_course")
LEVELS = {"core": 0, "metrics": 1, "prune": 2, "interop": 2, "course": 3}
# third-party modules a library function may import where it needs them: optional (matplotlib for
# plots, ipywidgets to pick tqdm's widget bar, torch and onnxruntime of the [torch] extra), or slow
# to import (scipy, scikit-learn), or needed only when asked for (threadpoolctl when BLAS threads are set)
LAZY_OK = {"matplotlib", "scipy", "sklearn", "ipywidgets", "tqdm", "threadpoolctl", "torch", "onnxruntime"}
# the course tools may defer the Jupyter machinery (the [course] extra: a learner's check cell
# needs none of it) and the Unix-only ``resource``
COURSE_LAZY_OK = {"nbformat", "nbclient", "jupyter_client", "jupyter_core", "ipykernel", "IPython", "resource"}


def level(module: str) -> int:
    """minnet.prune.apply -> prune; minnet_course.grade -> course; minnet.metrics -> metrics; else core."""
    parts = module.split(".")
    if parts[0] == "minnet_course":
        return LEVELS["course"]
    if len(parts) > 1 and parts[1] in LEVELS:
        return LEVELS[parts[1]]
    return LEVELS["core"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
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


SOURCES = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_and_none_hides_in_a_function(path):
    here = module_name(path)
    facade = here == "minnet"
    lazy_ok = COURSE_LAZY_OK if level(here) == LEVELS["course"] else LAZY_OK
    upward, hidden = [], []
    for line, target, in_function in imported_modules(path):
        top = target.split(".")[0]
        if top in PACKAGES:
            if level(target) > level(here) and not (facade and top == "minnet"):
                upward.append(f"line {line}: {here} imports {target}")
            if in_function:
                hidden.append(f"line {line}: {target}")
        elif in_function and top not in lazy_ok:
            hidden.append(f"line {line}: {target}")
    assert not upward, upward
    assert not hidden, f"imports inside functions: {hidden}"


def test_the_levels_are_what_the_test_thinks():
    assert level("minnet.layers") == 0 and level("minnet.anatomy") == 0 and level("minnet") == 0
    assert level("minnet.metrics") == 1 and level("minnet.prune.apply") == 2 and level("minnet_course.grade") == 3
    found = {target for path in SOURCES for _, target, _ in imported_modules(path)}
    assert {"minnet.anatomy", "minnet.metrics", "minnet.prune.masks"} <= found  # relative imports resolved
    assert {"minnet_course.feedback", "minnet_course.checks.common"} <= found
    assert any(path.parts[-2:] == ("checks", "ex03.py") for path in SOURCES)


def test_tests_import_the_packages_never_the_benchmarks_or_tools():
    """Benchmarks and tools import the library; a test that imported them would make a script a dependency."""
    offending = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            offending += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("benchmarks", "tools")]
    assert not offending, offending


@pytest.mark.parametrize("exercise", ["ex01", "ex03", "ex04", "ex05", "ex06", "ex07", "ex08"])
def test_a_check_cell_loads_none_of_the_grading_machinery(exercise):
    """A learner's kernel imports the checks; the [course] extra's libraries stay unloaded."""
    code = (
        f"import sys, minnet_course.checks.{exercise}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'nbformat', 'nbclient', 'jupyter_client'}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('minnet_course') and 'checks' not in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "['minnet_course', 'minnet_course.feedback']"]


# -- small functions -------------------------------------------------------------------------------

MAX_LINES, MAX_PARAMETERS = 60, 8  # lines of a body after its docstring; parameters besides self
# Kept larger, with the reason. Library functions:
KEPT = {
    "minnet.train.fit": "a training loop's keywords (epochs, batch_size, optimizer, loss, validation, rng, "
    "callbacks, verbose), each with a default, as in Keras' fit: a notebook cell names the ones it changes",
    "minnet.prune.finetune.retrain": "fit's keywords plus the strategy's own (strategy, fine_tune_lr, "
    "snapshot); exercise 07 asks the learner to call it by keyword",
    # Course tools: a check is a sequence of designed cases, each a few lines with its own message; the
    # diagnosis helpers take the formula's or the task's arguments.
    "minnet_course.checks.ex01.check_dense_backward": "designed cases in order, each with its message",
    "minnet_course.checks.ex01._check_loss_on": "designed cases in order, each with its message",
    "minnet_course.checks.ex01.check_gradient_check": "designed cases in order, each with its message",
    "minnet_course.checks.ex05.check_shrink_two_layer": "designed cases in order, each with its message",
    "minnet_course.checks.ex06._decay": "the decay formula's six inputs and five ways to misread it",
    "minnet_course.checks.ex06.check_polynomial_decay": "designed cases in order, each with its message",
    "minnet_course.checks.ex06._check_scenario": "designed cases in order, each with its message",
    "minnet_course.checks.ex07.check_rewind": "designed cases in order, each with its message",
    "minnet_course.checks.ex07._recipe": "the task's eight arguments and two switches for the diagnosis",
    "minnet_course.checks.ex08.check_clean_vs_shifted": "the task's eight arguments; designed cases in order",
    "minnet_course.runner.run": "one kernel's life: start it walled in, run, retry once, always clean up",
    "minnet_course.runner._run_cells": "the cell loop of the runner, grade and kernel cells side by side",
}


def function_sizes():
    """(qualified name, body lines, parameters) of every function of both packages."""
    for path in SOURCES:
        module = module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
            count = len(names) - (names[:1] in (["self"], ["cls"])) + bool(args.vararg) + bool(args.kwarg)
            body = node.body
            has_docstring = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
            start = body[1].lineno if has_docstring and len(body) > 1 else body[0].lineno
            yield f"{module}.{node.name}", node.end_lineno - start + 1, count


def test_functions_are_small_or_kept_with_a_reason():
    sizes = list(function_sizes())
    large = {name for name, lines, count in sizes if lines > MAX_LINES or count > MAX_PARAMETERS}
    assert large - set(KEPT) == set(), f"split these or keep them in KEPT with a reason: {sorted(large - set(KEPT))}"
    assert set(KEPT) - large == set(), f"no longer large, drop from KEPT: {sorted(set(KEPT) - large)}"
    loop = next((lines, count) for name, lines, count in sizes if name == "minnet.prune.loops.prune_loop")
    assert loop[1] <= MAX_PARAMETERS and loop[0] <= MAX_LINES


def test_no_code_is_repeated():
    """tools/duplicates.py (run as a script) finds no six code lines twice in the packages, benchmarks, tools."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "duplicates.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
