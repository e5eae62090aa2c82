"""What a learner sees when a check fails, in a real kernel: one short message,
never the check's frames or the reference code."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

CURRENT_PYTHON = "minnet-test-python"


def _current_python_kernel_manager():
    """A kernel manager whose kernel is this Python (the one that has minnet installed)."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == CURRENT_PYTHON:
                spec = ipykernel.kernelspec.get_kernel_dict()
                return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)
            return super().get_kernel_spec(kernel_name)

    class CurrentPythonKernelManager(AsyncKernelManager):
        def _kernel_spec_manager_default(self):
            return CurrentPythonSpecs(data_dir=self.data_dir)

    return CurrentPythonKernelManager


ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "exercises" / "solutions"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(nb) -> list[dict]:
    """Execute ``nb`` in a fresh kernel of this Python; the error outputs, in order."""
    client = NotebookClient(
        nb,
        kernel_name=CURRENT_PYTHON,
        kernel_manager_class=_current_python_kernel_manager(),
        allow_errors=True,
        timeout=120,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    return [(cell, out) for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "error"]


def shown(error) -> str:
    return ANSI.sub("", "\n".join(error.traceback))


def reference_lines(source: Path) -> list[str]:
    """The lines of the reference solutions (between the solution markers), stripped, long enough to mean
    something, and not already in the notebook's own text (the task states ``k = round(amount * n)``)."""
    lines, inside = [], False
    cells = nbformat.read(source, as_version=4).cells
    told = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    for cell in cells:
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 12 and line.strip() not in told:
                lines.append(line.strip())
    return lines


def all_reference_lines() -> list[str]:
    """The reference lines of every exercise that no exercise's text states: no feedback may show any of them."""
    paths = sorted(SOLUTIONS.glob("*.ipynb"))
    told = "\n".join(
        cell.source
        for path in paths
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "markdown"
    )
    return [line for path in paths for line in reference_lines(path) if line not in told]


def test_stub_wrong_answer_and_crash_show_no_check_code():
    cells = [
        "from minnet_course.checks import ex03 as checks\nimport numpy as np",
        "def magnitude_scores(W):\n    raise NotImplementedError('task 1')",
        "checks.check_magnitude_scores(magnitude_scores)",
        "def magnitude_scores(W):\n    return W",
        "checks.check_magnitude_scores(magnitude_scores)",
        "def magnitude_scores(W):\n    return W[100, 100]",
        "checks.check_magnitude_scores(magnitude_scores)",
        "def magnitude_scores(W):\n    return 'abs'",
        "checks.check_magnitude_scores(magnitude_scores)",
    ]
    errors = run(new_notebook(cells=[new_code_cell(c) for c in cells]))
    stub, wrong, crash, junk = (shown(e) for _, e in errors)
    for text in (stub, wrong, crash, junk):
        assert "checks/ex03.py" not in text and "np.abs(W)" not in text and "expected" not in text, text
    # the message alone, wrapped between words at 100 characters (a window's width)
    for text in (stub, wrong):
        assert len(text.splitlines()) <= 4 and all(len(line) <= 120 for line in text.splitlines()), text
        assert not any(line.startswith(" ") or line.endswith(" ") for line in text.splitlines())
    assert "not implemented yet" in stub and "NEGATIVE" in wrong
    assert "W[100, 100]" in crash and "IndexError" in crash  # the learner's own frame stays
    assert len(junk.splitlines()) <= 3


@pytest.mark.parametrize("exercise", sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")))
def test_the_untouched_student_copy_shows_no_reference_code(exercise):
    nb = nbformat.read(ROOT / "exercises" / exercise, as_version=4)
    errors = run(nb)
    assert errors, "a stub should fail its checks"
    reference = reference_lines(ROOT / "exercises" / "solutions" / exercise)
    for cell, error in errors:
        text = shown(error)
        assert "minnet_course/checks/" not in text and "feedback.py" not in text, text
        if cell.metadata.get("nbgrader", {}).get("grade"):  # a check cell: one short message
            assert len(text.splitlines()) <= 3, text
        leaked = [line for line in reference if line in text]
        assert not leaked, f"{exercise}: feedback shows reference code {leaked}"
