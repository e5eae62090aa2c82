"""Masks from scores, on plain arrays. True in a mask means KEPT.

The same semantics as ``torch.nn.utils.prune``:

- ``amount`` is a float in [0, 1] (prune ``round(amount * n)`` entries) or an
  int count in [0, n], where n counts the entries that are still kept;
- with a prior ``mask``, only the entries it keeps are ranked, and the result
  is the prior mask AND the new one, so masks compose like torch's
  PruningContainer: two rounds of 0.5 leave a quarter of the entries;
- exactly k entries are pruned, the k lowest scores; ties go by flat index,
  the lower index pruned first (torch leaves ties to ``topk``; we fix them so
  that a result never depends on the platform).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..validate import check_int, is_real


def prune_count(amount, n: int) -> int:
    """How many of ``n`` entries ``amount`` asks to prune (torch's rules)."""
    if not is_real(amount):
        raise TypeError(f"amount must be a float in [0, 1] or an int count, got {type(amount).__name__} {amount!r}")
    if isinstance(amount, numbers.Integral):
        if not 0 <= amount <= n:
            raise ValueError(f"amount must be an int count in [0, {n}] (the entries still kept), got {amount}")
        return int(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be a float in [0, 1] or an int count, got {amount}")
    return int(round(amount * n))


def check_scores(scores, name: str = "scores") -> np.ndarray:
    """``scores`` as a float array; NaN or infinite entries are an error."""
    scores = np.asarray(scores)
    if not (np.issubdtype(scores.dtype, np.floating) or np.issubdtype(scores.dtype, np.integer)):
        raise TypeError(f"{name} must be a real-valued array, got dtype {scores.dtype}")
    if scores.ndim == 0:
        raise ValueError(f"{name} must be an array with at least one axis, got the scalar {scores[()]!r}")
    if scores.size and not np.all(np.isfinite(scores)):
        bad = np.flatnonzero(~np.isfinite(scores))
        raise ValueError(
            f"{name} must be finite, got {scores.flat[bad[0]]} at flat index {bad[0]} ({bad.size} non-finite entries)"
        )
    return scores


def check_mask(mask, shape: tuple, name: str = "mask") -> np.ndarray:
    """A prior mask must be a bool array of the given shape (None: keep all)."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"{name} must be a bool array (True = kept), got dtype {mask.dtype}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} like the scores, got {mask.shape}")
    return mask


def _prune_lowest(flat_scores: np.ndarray, flat_kept: np.ndarray, amount) -> np.ndarray:
    """The flat keep-mask after pruning ``amount`` of the kept entries, lowest first."""
    candidates = np.flatnonzero(flat_kept)
    k = prune_count(amount, candidates.size)
    order = np.argsort(flat_scores[candidates], kind="stable")  # stable: ties by flat index
    keep = flat_kept.copy()
    keep[candidates[order[:k]]] = False
    return keep


def unstructured_mask(scores, amount, mask=None) -> np.ndarray:
    """Keep-mask pruning exactly the k lowest-scoring (still kept) entries.

    scores: any shape; amount: float fraction or int count of the entries
    ``mask`` keeps; mask: prior bool mask of the same shape, or None.
    Returns a bool array shaped like ``scores`` (prior AND new).
    """
    scores = check_scores(scores)
    mask = check_mask(mask, scores.shape)
    return _prune_lowest(scores.reshape(-1), mask.reshape(-1), amount).reshape(scores.shape)


def slice_norms(weight, axis: int, ord=2) -> np.ndarray:
    """The ``ord``-norm of each slice ``weight.take(i, axis)`` over all other
    axes: shape (weight.shape[axis],). ord may be any p > 0, or inf/-inf."""
    weight = check_scores(weight, "weight")
    axis = _check_axis(axis, weight.ndim)
    if not is_real(ord):
        raise TypeError(f"ord must be a number > 0 or inf, got {type(ord).__name__} {ord!r}")
    if not (ord > 0 or np.isinf(ord)):
        raise ValueError(f"ord must be a number > 0 or inf, got {ord!r}")
    flat = np.moveaxis(weight, axis, 0).reshape(weight.shape[axis], -1)
    return np.linalg.norm(flat.astype(np.float64), ord=ord, axis=1)


def _check_axis(axis, ndim: int) -> int:
    return check_int("axis", axis, low=-ndim, high=ndim - 1) % ndim


def slices_kept(mask: np.ndarray, axis: int) -> np.ndarray:
    """Which slices along ``axis`` still have a kept entry: bool (shape[axis],)."""
    return np.moveaxis(mask, axis, 0).reshape(mask.shape[axis], -1).any(axis=1)


def expand_slices(keep: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    """A per-slice keep vector broadcast to a full mask of ``shape``."""
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return np.broadcast_to(keep.reshape(view), shape).copy()


def structured_mask(weight, amount, axis: int, ord=2, mask=None) -> np.ndarray:
    """Keep-mask pruning the k weakest whole slices along ``axis``.

    Each slice is scored by its ``ord``-norm over all other axes (like
    ``torch.nn.utils.prune.ln_structured(dim=axis, n=ord)``); amount counts
    slices (the ones the prior ``mask`` still keeps). For a Dense weight
    (in, out), axis=1 prunes output neurons; for a Conv2d weight
    (out, in, kh, kw), axis=0 prunes filters. Returns a bool array shaped
    like ``weight`` (prior AND new).
    """
    weight = check_scores(weight, "weight")
    if weight.size == 0:
        raise ValueError(f"weight must not be empty, got shape {weight.shape}")
    axis = _check_axis(axis, weight.ndim)
    mask = check_mask(mask, weight.shape)
    norms = slice_norms(weight * mask, axis, ord)
    keep = _prune_lowest(norms, slices_kept(mask, axis), amount)
    return mask & expand_slices(keep, weight.shape, axis)


def global_unstructured_masks(scores: dict, amount, masks: dict | None = None) -> dict:
    """Keep-masks ranking all (still kept) entries of all arrays together.

    scores: name -> array; masks: name -> prior bool mask (missing names keep
    everything). Returns name -> bool mask, each prior AND new. Ties across
    arrays go by the order of ``scores``, then by flat index.
    """
    if not isinstance(scores, dict) or not scores:
        raise TypeError(f"scores must be a non-empty dict of name -> array, got {type(scores).__name__}")
    masks = {} if masks is None else masks
    if not isinstance(masks, dict):
        raise TypeError(f"masks must be a dict of name -> bool array, or None, got {type(masks).__name__}")
    unknown = sorted(set(masks) - set(scores))
    if unknown:
        raise ValueError(f"masks has names that scores lacks: {unknown}")
    arrays = {name: check_scores(s, f"scores[{name!r}]") for name, s in scores.items()}
    priors = {name: check_mask(masks.get(name), a.shape, f"masks[{name!r}]") for name, a in arrays.items()}
    flat_scores = np.concatenate([a.reshape(-1).astype(np.float64) for a in arrays.values()])
    flat_kept = np.concatenate([m.reshape(-1) for m in priors.values()])
    keep = _prune_lowest(flat_scores, flat_kept, amount)
    out, start = {}, 0
    for name, a in arrays.items():
        out[name] = keep[start : start + a.size].reshape(a.shape)
        start += a.size
    return out
