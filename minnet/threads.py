"""How many BLAS threads minnet's own work uses: one, unless you say otherwise.

NumPy's OpenBLAS starts one thread per core, and its threads spin while they
wait for work. The course's matrices are small: a second thread gains little
when the machine is idle (``benchmarks/train_speed.py`` measures it), and when
anything else is busy (a second notebook, a grading run) the spinning threads
fight it for the cores and training becomes several times slower. So
``fit``, ``evaluate`` and ``Sequential.inference`` run with one BLAS thread.

Change it in one place, for the whole session::

    minnet.set_num_threads(2)       # or None: leave BLAS at its own default

or before Python starts, with the environment variable ``MINNET_NUM_THREADS``
(a positive int, or ``default``). Your own NumPy code outside minnet is not
affected.
"""

from __future__ import annotations

import functools
import os
import threading

from .validate import check_int

_ENV = "MINNET_NUM_THREADS"
_local = threading.local()
_controller = None


def _from_environment():
    value = os.environ.get(_ENV, "1").strip()
    if value.lower() in ("default", "none", ""):
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{_ENV} must be a positive int or 'default', got {value!r}")
    return int(value)


_num_threads = _from_environment()


def set_num_threads(n) -> None:
    """BLAS threads for minnet's training and inference: a positive int, or None
    for BLAS's own default (one per core)."""
    global _num_threads
    _num_threads = None if n is None else check_int("n", n, low=1)


def get_num_threads():
    """The current setting: an int, or None (BLAS's own default)."""
    return _num_threads


def blas_threads(fn):
    """Run ``fn`` with minnet's BLAS thread count (nested calls limit once)."""

    @functools.wraps(fn)
    def limited(*args, **kwargs):
        if _num_threads is None or getattr(_local, "active", False):
            return fn(*args, **kwargs)
        _local.active = True
        try:
            with _get_controller().limit(limits=_num_threads, user_api="blas"):
                return fn(*args, **kwargs)
        finally:
            _local.active = False

    return limited


def _get_controller():
    # Inspecting the loaded libraries takes milliseconds: do it once, on first use.
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller
