"""The BLAS settings under which the course's numbers are recorded.

nbval compares the numbers a notebook prints with the stored ones, and the
findings command compares fresh runs with ``notebooks/findings.json``. A
trained network's accuracy moves when OpenBLAS sums in another order: with
another kernel for the processor (SkylakeX adds in another order than
Haswell) or another number of threads. So every recorded number comes from
one BLAS thread and, on x86-64 processors with AVX2 (which all run it),
OpenBLAS's Haswell kernels. A core type the machine sets itself is kept.

This module imports nothing heavy: the settings must be in the environment
before NumPy loads OpenBLAS.
"""

import os
import platform
import sys


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            return any(line.startswith("flags") and " avx2" in line for line in info)
    except OSError:
        return False


def course_environment() -> dict[str, str]:
    """The environment variables of the course's BLAS settings."""
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if platform.machine() in ("x86_64", "AMD64") and _has_avx2():
        env["OPENBLAS_CORETYPE"] = "Haswell"
    return env


def set_course_environment() -> None:
    """Add the course's settings to ``os.environ`` where the caller has not chosen its own."""
    for name, value in course_environment().items():
        os.environ.setdefault(name, value)


def rerun_with_course_environment() -> None:
    """Start this command again under the course's settings unless it already runs under them
    (NumPy, once loaded, keeps the kernel it started with)."""
    missing = {name for name in course_environment() if name not in os.environ}
    if missing:
        set_course_environment()
        os.execv(sys.executable, [sys.executable, "-m", "minnet_course", *sys.argv[1:]])
