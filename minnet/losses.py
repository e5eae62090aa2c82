"""Losses: each returns ``(mean loss as a float, gradient wrt the input)``."""

from __future__ import annotations

import numpy as np

from .validate import check_array, check_int


def check_labels(labels, n_examples: int, n_classes: int) -> np.ndarray:
    """Return ``labels`` as an int array of shape (n_examples,) with values in
    [0, n_classes), or raise a ValueError/TypeError that says what is wrong."""
    n_examples = check_int("n_examples", n_examples, low=0)
    n_classes = check_int("n_classes", n_classes, low=1)
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and labels.size and np.all(np.mod(labels, 1) == 0):
        raise TypeError(f"labels must be integer class ids, got dtype {labels.dtype} (use labels.astype(int))")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integer class ids, got dtype {labels.dtype}")
    if labels.shape != (n_examples,):
        raise ValueError(f"labels must have shape ({n_examples},) to match the logits, got {labels.shape}")
    if n_examples and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(f"labels must be in [0, {n_classes}), got {bad}")
    return labels


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) logits, stable for large values."""
    logits = check_array("logits", logits, min_ndim=2, finite=False)
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels.

    logits (N, C), labels (N,) ints in [0, C). Returns the mean loss (nats)
    and its gradient wrt the logits, (softmax - onehot) / N, shape (N, C).
    Uses log-sum-exp with the row max subtracted, so large logits do not overflow.
    """
    logits = check_array("logits", logits, finite=False, non_empty=False)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, C) with N >= 1, got {logits.shape}")
    n = logits.shape[0]
    labels = check_labels(labels, n, logits.shape[1])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(n)
    loss = float(np.mean(log_sum - shifted[rows, labels]))
    grad = np.exp(shifted - log_sum[:, None])
    grad[rows, labels] -= 1
    return loss, grad / n


# What the training loop needs to know of a loss: whether its targets are class labels
# (then fit and evaluate check them and report accuracy), and whether its value is the
# mean of one term per example (then a batch's loss is the size-weighted mean of its
# parts', and fit may split a batch between processes, each calling the loss on its part:
# minnet/parallel.py). A loss of your own is neither, unless marked; mark it a mean over
# examples only if it also depends on its arguments alone.
softmax_cross_entropy.classification = True
softmax_cross_entropy.mean_over_examples = True


def mse(predictions: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements, like PyTorch's MSELoss.

    Returns the loss and its gradient 2 * (predictions - targets) / size.
    """
    predictions = check_array("predictions", predictions, finite=False, non_empty=False)
    targets = check_array("targets", targets, finite=False, non_empty=False)
    if predictions.shape != targets.shape or predictions.size == 0:
        raise ValueError(
            f"predictions and targets must have the same non-empty shape, got {predictions.shape} and {targets.shape}"
        )
    diff = predictions - targets
    return float(np.mean(diff**2)), (2 / diff.size) * diff


mse.mean_over_examples = True  # the mean over (N, ...) elements: every example has as many
