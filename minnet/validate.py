"""Argument checks shared by every public function, in the spirit of
scikit-learn's ``check_scalar``.

Each check names the argument, shows the value it got and says what was
expected. A wrong *type* is a ``TypeError``, a wrong *value* a ``ValueError``.
NumPy scalars count as the Python numbers they stand for (``np.int64(3)`` is
an int, ``np.float32(0.5)`` a float); ``True``/``False`` are never numbers.
Public functions call these before they change anything, so a call that
raises leaves models, optimizers and generators as they were.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bounds(low, high, low_inclusive, high_inclusive) -> str:
    if low is not None and high is not None:
        return f"in {'[' if low_inclusive else '('}{low:g}, {high:g}{']' if high_inclusive else ')'}"
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {high:g}")
    return " and ".join(parts)


def is_int(value) -> bool:
    """An integer, Python or NumPy, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """A real number, Python or NumPy, and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value, *, low=None, high=None) -> int:
    """``value`` as a Python int in ``[low, high]`` (either bound optional)."""
    if low == 1 and high is None:
        expected = "a positive int"
    elif low is not None and high is not None:
        expected = f"an int in {low}..{high}"
    else:
        bounds = _bounds(low, high, True, True)
        expected = "an int" + (f" {bounds}" if bounds else "")
    if not is_int(value):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {_shown(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_real(
    name: str,
    value,
    *,
    low=None,
    high=None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """``value`` as a finite Python float within the bounds (either optional)."""
    bounds = _bounds(low, high, low_inclusive, high_inclusive)
    expected = "a finite number" + (f" {bounds}" if bounds else "")
    if not is_real(value):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {_shown(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """``value`` as a Python bool: only True/False (or NumPy's) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {_shown(value)}")
    return bool(value)


def check_choice(name: str, value, choices) -> str:
    """``value`` is one of ``choices`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {sorted(choices)}, got {type(value).__name__} {_shown(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_callable(name: str, value, what: str = "a function"):
    """``value`` can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {_shown(value)}")
    return value


def check_array(name: str, value, *, ndim=None, min_ndim=None, finite: bool = True, non_empty: bool = True):
    """``value`` as a real-valued NumPy array (no bools, strings, objects or
    complex numbers), optionally of a given number of axes, non-empty and
    finite (no NaN or inf)."""
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes, got shape {array.shape}")
    if min_ndim is not None and array.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} axes, got shape {array.shape}")
    if non_empty and array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        what = "NaN" if np.isnan(array).any() else "inf"
        raise ValueError(f"{name} contains {what}; expected finite numbers (check the data for missing values)")
    return array


def check_batch(name: str, value, *, min_ndim: int = 1, finite: bool = True, shape: str = "(N, ...)"):
    """``value`` as a non-empty batch of real numbers: at least ``min_ndim`` axes, at
    least one example, finite unless told otherwise; ``shape`` is how the error
    describes the expected shape."""
    array = check_array(name, value, finite=False, non_empty=False)
    if array.ndim < min_ndim or array.size == 0:
        raise ValueError(f"{name} must be a non-empty batch of shape {shape}, got shape {array.shape}")
    return check_array(name, array) if finite else array


def check_float_dtype(name: str, value) -> np.dtype:
    """``value`` names float32 or float64."""
    try:
        dtype = np.dtype(value) if value is not None else None
    except TypeError:
        dtype = None
    if dtype is None or dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {_shown(value)}")
    return dtype


def check_path(name: str, value) -> str:
    """``value`` as a path string (str or os.PathLike)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or pathlib.Path), got {type(value).__name__} {_shown(value)}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name} must be a non-empty file path, got {_shown(value)}")
    return path


def check_names(name: str, value) -> list[str] | None:
    """None, or a list/tuple of strings (a single string is not taken as its characters)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError(f"{name} must be a list of names such as ['0.W'], got the string {value!r}: wrap it in a list")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a list of names such as ['0.W'], got {_shown(value)}")
    return list(value)


def check_indices(name: str, value) -> list[int] | None:
    """None, or a list/tuple/range of ints (layer indices, for example)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple, range)):
        raise TypeError(
            f"{name} must be a list of layer indices such as [0, 2], got {type(value).__name__} {_shown(value)}"
        )
    for index in value:
        if not is_int(index):
            raise TypeError(f"{name} must hold int layer indices, got {type(index).__name__} {index!r}")
    return list(value)


def check_instance(name: str, value, cls, what: str):
    """``value`` is an instance of ``cls`` (``what`` describes it in the message)."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {_shown(value)}")
    return value
