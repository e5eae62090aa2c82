"""How many BLAS threads minnet's own work uses, so that training keeps its
speed when the machine is busy.

NumPy's OpenBLAS starts one thread per core, and its threads spin while they
wait for work. On an idle machine a second thread makes the course's small
matrices only a little faster (``benchmarks/train_speed.py`` measures it).
But when anything else keeps a core busy (a second notebook, a grading run),
the spinning threads fight it for the cores and training becomes several
times slower than with one thread.

So by default (``"auto"``) ``fit``, ``evaluate`` and ``Sequential.inference``
use one thread, and all of BLAS's threads only when both hold:

- the work is large enough for a second thread to pay: the model's largest
  matrix product for one batch has at least ``CROSSOVER_MACS`` multiply-adds
  (measured on a 2-core machine: below about 2 million a second thread gained
  nothing or lost up to 25%; above, it gained 1.3x to 1.9x);
- the rest of the machine is idle: other processes use less than half a core,
  read from ``/proc/stat`` when the call starts and about once a second while
  it runs. Where the load cannot be read (not Linux), one thread.

A convolutional network's training step is mostly NumPy copies and loops,
which BLAS's threads cannot share: where the policy grants more than one
thread and ``fit`` can split the network's batches (``minnet/parallel.py``),
the cores go to the parts of each batch instead (one runs here, the others in
helper processes, whose CPU time counts as this process's own), and BLAS gets
one thread.

Change it in one place, for the whole session::

    minnet.set_num_threads(1)       # always one; or "auto", or None: BLAS's own default

or before Python starts, with the environment variable ``MINNET_NUM_THREADS``
(``auto``, a positive int, or ``default``). Your own NumPy code outside minnet
is not affected. minnet never uses more threads than BLAS started with
(``OPENBLAS_NUM_THREADS``).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time

from .validate import check_int

_ENV = "MINNET_NUM_THREADS"
CROSSOVER_MACS = 2_000_000  # multiply-adds of one product from which a second BLAS thread pays
RECHECK_SECONDS = 1.0  # how often a long-running call looks at the load again
BUSY_CORES = 0.5  # other processes using more than this many cores count as a busy machine
_local = threading.local()
_controller = None
_helpers: set[int] = set()  # pids of helper processes whose CPU time is ours (add_helper)


def _from_environment():
    value = os.environ.get(_ENV, "auto").strip().lower()
    if value in ("default", "none"):
        return None
    if value == "auto":
        return "auto"
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{_ENV} must be 'auto', a positive int or 'default', got {value!r}")
    return int(value)


_setting = _from_environment()


def set_num_threads(n) -> None:
    """BLAS threads for minnet's training and inference: ``"auto"`` (the
    default: all when the machine is otherwise idle, one when it is busy), a
    positive int, or None for BLAS's own default."""
    global _setting
    if n is not None and not isinstance(n, str):
        n = check_int("n", n, low=1)
    elif isinstance(n, str) and n != "auto":
        raise ValueError(f"n must be 'auto', a positive int or None, got {n!r}")
    _setting = n


def get_num_threads():
    """The current setting: ``"auto"``, an int, or None (BLAS's own default)."""
    return _setting


@contextlib.contextmanager
def blas_threads(model, example_shape, batch_size: int, most_parts: int = 1):
    """Run the block with minnet's BLAS thread count for ``model`` on batches of
    ``batch_size`` examples of ``example_shape`` (nested blocks limit once).
    ``most_parts`` > 1: the caller can run a batch in up to that many parts on
    cores of their own (``minnet/parallel.py``); then the cores go to the
    parts (``batch_parts``), and BLAS gets one thread."""
    if _setting is None or getattr(_local, "limit", None) is not None:
        yield
        return
    _local.limit = _Limit(_get_controller(), largest_product(model, example_shape, batch_size), most_parts)
    try:
        yield
    finally:
        _local.limit.release()
        _local.limit = None


def largest_product(model, example_shape, batch_size: int) -> int:
    """Multiply-adds of the model's largest matrix product for one batch: a
    Dense weight's size, or a Conv2d weight's size times its output positions,
    times the batch size."""
    largest = 0
    for layer, out in zip(model.layers, model.output_shapes(tuple(example_shape))):
        weight = layer.params.get("W")
        if weight is not None:
            positions = math.prod(out[1:]) if weight.ndim == 4 else 1
            largest = max(largest, weight.size * positions * batch_size)
    return largest


def batch_parts() -> int:
    """Into how many parts, one per core, a training step inside ``blas_threads``
    splits its batch now (1: not split)."""
    limit = getattr(_local, "limit", None)
    return 1 if limit is None else limit.parts


def recheck() -> None:
    """Inside a limited call: look at the load again if a second has passed (cheap otherwise)."""
    limit = getattr(_local, "limit", None)
    if limit is not None and time.monotonic() - limit.checked >= RECHECK_SECONDS:
        limit.apply()


class _Limit:
    """The thread limit of one outermost call; restores BLAS's setting on release."""

    def __init__(self, controller, work: int, most_parts: int):
        self.controller, self.work, self.most_parts = controller, work, most_parts
        self.original = controller.info()
        self.most = max((lib["num_threads"] for lib in self.original if lib["user_api"] == "blas"), default=1)
        self.current, self.parts = None, 1
        self.apply()

    def apply(self):
        self.checked = time.monotonic()
        if _setting == "auto":
            small = self.work < CROSSOVER_MACS
            wanted = 1 if small or _load_reading().busy_elsewhere() else self.most
        else:
            wanted = min(_setting, self.most)
        # a core of its own for each part of a batch, if it splits; each part's products then take one BLAS thread
        self.parts = max(1, min(wanted, self.most_parts))
        blas = 1 if self.parts > 1 else wanted
        if blas != self.current:
            self.controller.limit(limits=blas, user_api="blas")
            self.current = blas

    def release(self):
        for lib in self.controller.lib_controllers:
            if lib.user_api == "blas":
                previous = next((o["num_threads"] for o in self.original if o["filepath"] == lib.filepath), None)
                if previous is not None:
                    lib.set_num_threads(previous)


class _LoadReading:
    """Whether other processes keep the machine busy, from the CPU time they
    used since the previous reading (Linux /proc/stat). One reading serves
    every call, so back-to-back calls cost nothing; only a first decision with
    no window to read yet looks for a moment (30 ms)."""

    SHORTEST = 0.02  # seconds: a shorter window is too noisy to read

    def __init__(self):
        self.last, self.decision = _cpu_times(), None

    def busy_elsewhere(self) -> bool:
        if self.last is None:
            return True  # cannot tell: one thread is the safe choice
        now = _cpu_times()
        if now[0] - self.last[0] < self.SHORTEST:
            if self.decision is not None:
                return self.decision
            time.sleep(0.03)
            now = _cpu_times()
        (wall0, busy0, ours0), (wall1, busy1, ours1) = self.last, now
        self.last = now
        others = (busy1 - busy0) - (ours1 - ours0)  # core-seconds used by other processes
        self.decision = others / (wall1 - wall0) > BUSY_CORES
        return self.decision


_load = None


def _load_reading() -> _LoadReading:
    global _load
    if _load is None:
        _load = _LoadReading()
    return _load


def _cpu_times():
    """(wall seconds, core-seconds busy machine-wide, core-seconds of this process), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = (sum(fields[:8]) - idle) / tick  # user..steal; guest time is already in user
    # ours: this process, its finished children, and its running helpers (whose time moves to the
    # finished children's when they stop, so it is never counted twice or lost)
    ours = sum(os.times()[:4]) + sum(_process_seconds(pid) for pid in _helpers)
    return time.monotonic(), busy, ours


def _process_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14 and 15: utime, stime
    except (OSError, IndexError, ValueError):
        return 0.0


def add_helper(pid: int) -> None:
    """Count the CPU time of process ``pid``, a helper training part of a batch
    (``minnet/parallel.py``), as this process's own: it is not other load."""
    _helpers.add(pid)


def remove_helper(pid: int) -> None:
    """The helper ``pid`` has stopped and been waited for (``add_helper``)."""
    _helpers.discard(pid)


def _get_controller():
    # Inspecting the loaded libraries takes milliseconds: do it once, on first use.
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


_load_reading()  # the first window starts at import, so the first fit rarely has to wait
