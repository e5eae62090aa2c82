"""pytest set-up shared by every test, notebook and exercise run.

One BLAS thread: the course's matrices are small, so a second thread gains
little, and the tests run notebook kernels and grading subprocesses side by
side; with every process spinning two OpenBLAS threads on a 2-core machine,
oversubscription made training up to 60x slower. Kernels and subprocesses
inherit the environment variables; this process is limited with threadpoolctl.

One BLAS kernel: the numbers nbval compares were recorded with OpenBLAS's
Haswell kernels (minnet_course/blas.py says why and where).
"""

from minnet_course.blas import set_course_environment

set_course_environment()  # before anything loads NumPy: see minnet_course/blas.py

from threadpoolctl import threadpool_limits  # noqa: E402  (after the environment, on purpose)

threadpool_limits(1)


# Chapter 12 runs PyTorch, Torch-Pruning and onnxruntime: the optional [torch] extra. Without it the
# chapter is skipped with one line that says how to get it, as tests/lib/test_interop.py is.
TORCH_CHAPTERS = ("12_next_steps.ipynb",)
TORCH_EXTRA = ("torch", "torch_pruning", "onnx", "onnxruntime")


def _missing_torch_extra() -> list[str]:
    import importlib.util

    missing = []
    for name in TORCH_EXTRA:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken install counts as missing
            found = False
        if not found:
            missing.append(name)
    return missing


def pytest_collection_modifyitems(config, items):
    missing = _missing_torch_extra()
    if not missing:
        return
    import pytest

    skip = pytest.mark.skip(reason=f"needs the [torch] extra (missing {', '.join(missing)}): pip install -e '.[torch]'")
    for item in items:
        if item.path.name in TORCH_CHAPTERS:
            item.add_marker(skip)
