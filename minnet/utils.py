"""Seeding: every random draw in minnet comes from an explicit generator."""

from __future__ import annotations

import numpy as np

from .validate import is_int


def as_generator(rng=None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``rng``.

    ``rng`` may be a Generator (returned as is, so draws continue its stream),
    an int seed >= 0, or None, which means seed 0: the course prefers the same
    numbers on every run to surprise. The global NumPy seed is never used.
    """
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, np.random.Generator):
        return rng
    if is_int(rng):
        if rng < 0:
            raise ValueError(f"rng must be an int seed >= 0 or a numpy.random.Generator, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator or None, got {type(rng).__name__} {rng!r}")
