"""What every exercise check shares: calling the learner's code, passing, failing.

A check raises ``AssertionError`` with a message that names the likely
mistake, so that a check cell fails visibly (and nbval and graders see it);
when everything is right it prints one line starting with ``✔``.
"""

from __future__ import annotations

import numpy as np

PASS_MARK = "✔"


class NotDoneError(AssertionError):
    """The learner's function still raises NotImplementedError."""


def call(fn, *args, **kwargs):
    """Call the learner's ``fn``; a stub's NotImplementedError becomes an
    AssertionError that says the task is not done yet."""
    if not callable(fn):
        raise AssertionError(f"expected a function, got {type(fn).__name__}: pass the function itself, without ()")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotDoneError(
            f"`{getattr(fn, '__name__', 'your function')}` is not implemented yet: replace the line "
            "`raise NotImplementedError(...)` with your code, run that cell, then run this check again."
        ) from None


def passed(what: str) -> None:
    """Print the one-line success message."""
    print(f"{PASS_MARK} {what}")


def expect(condition, message: str) -> None:
    """Fail with ``message`` (the likely mistake) unless ``condition``."""
    if not condition:
        raise AssertionError(message)


def expect_array(value, name: str, shape=None, dtype_kind=None) -> np.ndarray:
    """The learner returned an array of the expected shape (and kind: 'f', 'b', 'i')."""
    if not isinstance(value, np.ndarray):
        raise AssertionError(f"{name} should be a NumPy array, got {type(value).__name__}")
    if shape is not None and value.shape != tuple(shape):
        raise AssertionError(f"{name} should have shape {tuple(shape)}, got {value.shape}")
    if dtype_kind is not None and value.dtype.kind not in dtype_kind:
        raise AssertionError(
            f"{name} should have a {'bool' if dtype_kind == 'b' else dtype_kind} dtype, got {value.dtype}"
        )
    return value


def expect_close(value, expected, name: str, hint: str, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Values match the reference within tolerance, else fail with ``hint``."""
    value = np.asarray(value)
    expected = np.asarray(expected)
    if value.shape != expected.shape:
        raise AssertionError(f"{name} should have shape {expected.shape}, got {value.shape}")
    if not np.allclose(value, expected, atol=atol, rtol=rtol):
        worst = float(np.max(np.abs(value - expected)))
        raise AssertionError(f"{name} is off by up to {worst:.3g}. {hint}")
