"""What every exercise check shares: calling the learner's code, passing, failing.

A check raises ``AssertionError`` with a message that names the likely
mistake, so that a check cell fails visibly (and nbval and graders see it);
when everything is right it prints one line starting with ``✔``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import textwrap
import traceback
import types

import numpy as np

PASS_MARK = "✔"
_COURSE_DIR = os.path.dirname(os.path.abspath(__file__))


class CheckFailed(AssertionError):
    """A check's verdict. In a notebook (IPython asks for ``_render_traceback_``)
    it shows as its message alone: the frames of a check hold the reference
    answer, and the one useful line would come last."""

    def _render_traceback_(self) -> list[str]:
        # wrapped between words: JupyterLab would wrap a long line in the middle of one
        lines = textwrap.wrap(str(self), width=100, break_long_words=False, break_on_hyphens=False) or [""]
        return [f"\x1b[0;31mAssertionError\x1b[0m: {lines[0]}", *lines[1:]]


class NotDoneError(CheckFailed):
    """The learner's function still raises NotImplementedError."""


def _learner_traceback(exc: BaseException) -> list[str]:
    """The traceback of an error in the learner's code, without the frames of
    the check that called it (their source would show the reference), as
    IPython formats it ("Cell In[4], line 2") when it can."""
    kept, tb = [], exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith(_COURSE_DIR) and f"{os.sep}IPython{os.sep}" not in filename:
            kept.append(tb)
        tb = tb.tb_next
    trimmed = None
    for frame in reversed(kept):
        trimmed = types.TracebackType(trimmed, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    shell = _ipython()
    if shell is not None:
        return shell.InteractiveTB.structured_traceback(type(exc), exc, trimmed)
    return [line.rstrip("\n") for line in traceback.format_exception(type(exc), exc, trimmed)]


def _ipython():
    try:
        from IPython import get_ipython  # optional: only notebooks render tracebacks this way
    except ImportError:
        return None
    return get_ipython()


def call(fn, *args, **kwargs):
    """Call the learner's ``fn``; a stub's NotImplementedError becomes an
    AssertionError that says the task is not done yet."""
    if not callable(fn):
        raise CheckFailed(f"expected a function, got {type(fn).__name__}: pass the function itself, without ()")
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise  # a check the learner's function ran itself
    except NotImplementedError:
        raise NotDoneError(
            f"`{getattr(fn, '__name__', 'your function')}` is not implemented yet: replace the line "
            "`raise NotImplementedError(...)` with your code, run that cell, then run this check again."
        ) from None
    except Exception as exc:
        exc._render_traceback_ = functools.partial(_learner_traceback, exc)
        raise


def passed(what: str) -> None:
    """Print the one-line success message."""
    print(f"{PASS_MARK} {what}")


def expect(condition, message: str) -> None:
    """Fail with ``message`` (the likely mistake) unless ``condition``."""
    if not condition:
        raise CheckFailed(message)


def expect_array(value, name: str, shape=None, dtype_kind=None) -> np.ndarray:
    """The learner returned an array of the expected shape (and kind: 'f', 'b', 'i')."""
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{name} should be a NumPy array, got {type(value).__name__}")
    if shape is not None and value.shape != tuple(shape):
        raise CheckFailed(f"{name} should have shape {tuple(shape)}, got {value.shape}")
    if dtype_kind is not None and value.dtype.kind not in dtype_kind:
        raise CheckFailed(
            f"{name} should have a {'bool' if dtype_kind == 'b' else dtype_kind} dtype, got {value.dtype}"
        )
    return value


def expect_close(value, expected, name: str, hint: str, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Values match the reference within tolerance, else fail with ``hint``."""
    value = np.asarray(value)
    expected = np.asarray(expected)
    if value.shape != expected.shape:
        raise CheckFailed(f"{name} should have shape {expected.shape}, got {value.shape}")
    if not np.allclose(value, expected, atol=atol, rtol=rtol):
        worst = float(np.max(np.abs(value - expected)))
        raise CheckFailed(f"{name}: some entries are off by up to {worst:.3g}. {hint}")
    if value.dtype.kind == expected.dtype.kind == "f" and value.dtype != expected.dtype:
        raise CheckFailed(
            f"{name}: dtype {value.dtype}, but the inputs are {expected.dtype}: a cast (`.astype`, "
            f"`dtype=`) loses precision or memory. Compute in the inputs' dtype and return that."
        )


@contextlib.contextmanager
def earlier_tasks_replaced(fn, references: dict):
    """Within the block, the names in ``references`` that the learner's ``fn``
    finds in its notebook (functions of earlier tasks) mean the reference
    versions, so that a mistake in an earlier task does not fail this one."""
    if hasattr(fn, "names_replaced"):  # the learner's function, across the grader's wall
        with fn.names_replaced(references):
            yield
        return
    namespace = getattr(fn, "__globals__", None)
    if namespace is None:
        yield
        return
    saved = {name: namespace[name] for name in references if name in namespace}
    namespace.update({name: ref for name, ref in references.items() if name in saved})
    try:
        yield
    finally:
        namespace.update(saved)


def guard_checks(namespace: dict) -> None:
    """Wrap every ``check_*`` function of a check module so that an error
    raised inside the check itself (say, arithmetic on a result of the wrong
    type) shows in a notebook without the check's frames either."""
    for name, check in list(namespace.items()):
        if name.startswith("check_") and callable(check):
            namespace[name] = _guarded(check)


def _guarded(check):
    @functools.wraps(check)
    def run(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except CheckFailed:
            raise
        except Exception as exc:
            if "_render_traceback_" not in vars(exc):  # raised by the check, not by the learner's code
                exc._render_traceback_ = functools.partial(_inside_check, exc)
            raise

    return run


def _inside_check(exc: BaseException) -> list[str]:
    first = (str(exc).strip().splitlines() or [""])[0]
    return [
        f"\x1b[0;31m{type(exc).__name__}\x1b[0m: {first}",
        "(raised inside the check while it used what your function returned: look at its type and shape)",
    ]
