"""pytest set-up shared by every test, notebook and exercise run.

One BLAS thread: the course's matrices are small, so a second thread gains
little, and the tests run notebook kernels and grading subprocesses side by
side; with every process spinning two OpenBLAS threads on a 2-core machine,
oversubscription made training up to 60x slower. Kernels and subprocesses
inherit the environment variables; this process is limited with threadpoolctl.

One BLAS kernel: nbval compares the numbers a notebook prints with the stored
ones, and a trained network's accuracy moves in the third digit when OpenBLAS
picks another kernel for the processor (SkylakeX sums in another order than
Haswell). The notebooks were recorded with OpenBLAS's Haswell kernels, which
every x86-64 processor with AVX2 runs; where the machine sets a core type of
its own (some processors need one to compute correctly), that one is kept.
"""

import os
import platform


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            return any(line.startswith("flags") and " avx2" in line for line in info)
    except OSError:
        return False


for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
if platform.machine() in ("x86_64", "AMD64") and _has_avx2():
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

from threadpoolctl import threadpool_limits  # noqa: E402  (after the variables, on purpose)

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
