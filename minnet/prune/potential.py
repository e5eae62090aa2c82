"""Judging a pruned network beyond its test accuracy (Liebenwein et al. 2021,
"Lost in Pruning: the effects of pruning neural networks beyond test accuracy").

- prune potential: the largest sparsity whose accuracy stays within a budget
  of the unpruned network's, on a given data distribution;
- excess error: how much more pruning hurts on shifted data than on clean data;
- forgotten examples: test examples the dense network gets right and the
  pruned one gets wrong (pruning does not lose accuracy evenly).
"""

from __future__ import annotations

import numpy as np

from ..validate import check_array, check_real


def _check_curve(sparsities, accuracies):
    s = check_array("sparsities", sparsities, non_empty=False).astype(float)
    a = _accuracies("accuracies", accuracies)
    if s.ndim != 1 or s.shape != a.shape or s.size == 0:
        raise ValueError(
            f"sparsities and accuracies must be 1-d and of equal non-zero length, got shapes {s.shape} and {a.shape}"
        )
    if np.any(np.diff(s) <= 0) or s[0] < 0 or s[-1] >= 1:
        raise ValueError(f"sparsities must increase strictly within [0, 1), got {s.tolist()}")
    return s, a


def prune_potential(sparsities, accuracies, dense_accuracy: float, budget: float = 0.005) -> float:
    """The largest sparsity in the grid whose accuracy is at least
    ``dense_accuracy - budget`` (accuracies and budget as fractions: 0.005 is
    half a point). Returns 0.0 when no pruned network stays within budget.

    sparsities: increasing, shape (K,); accuracies: the pruned networks'
    accuracies at those sparsities, shape (K,).
    """
    s, a = _check_curve(sparsities, accuracies)
    dense_accuracy = check_real("dense_accuracy", dense_accuracy, low=0, high=1)
    budget = check_real("budget", budget, low=0, high=1)
    within = a >= dense_accuracy - budget - 1e-12
    return float(s[within].max()) if within.any() else 0.0


def excess_error(clean_accuracies, shifted_accuracies, dense_clean: float, dense_shifted: float) -> np.ndarray:
    """Per sparsity: the error pruning adds on shifted data minus the error it
    adds on clean data. Positive means pruning hurts more under the shift.

    All accuracies are fractions; the two arrays have one entry per sparsity.
    """
    clean = _accuracies("clean_accuracies", clean_accuracies)
    shifted = _accuracies("shifted_accuracies", shifted_accuracies)
    dense_clean = check_real("dense_clean", dense_clean, low=0, high=1)
    dense_shifted = check_real("dense_shifted", dense_shifted, low=0, high=1)
    if clean.shape != shifted.shape:
        raise ValueError(
            f"clean and shifted accuracies must have the same shape, got {clean.shape} and {shifted.shape}"
        )
    return (dense_shifted - shifted) - (dense_clean - clean)


def forgotten_examples(dense_predictions, pruned_predictions, labels) -> np.ndarray:
    """Indices of the examples the dense network classifies correctly and the
    pruned one does not. All three arrays are (N,) class ids."""
    dense = check_array("dense_predictions", dense_predictions, non_empty=False)
    pruned = check_array("pruned_predictions", pruned_predictions, non_empty=False)
    labels = check_array("labels", labels, non_empty=False)
    if not dense.shape == pruned.shape == labels.shape or dense.ndim != 1:
        raise ValueError(
            f"predictions and labels must be 1-d arrays of one shape, got {dense.shape}, "
            f"{pruned.shape} and {labels.shape}"
        )
    return np.flatnonzero((dense == labels) & (pruned != labels))


def _accuracies(name: str, values) -> np.ndarray:
    """Accuracies as a float array of fractions in [0, 1]."""
    values = check_array(name, values, non_empty=False).astype(float)
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError(f"{name} must be fractions in [0, 1] (0.97, not 97), got values up to {values.max():g}")
    return values
