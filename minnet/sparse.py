"""A sparse kernel for a pruned MLP: its Dense weights as scipy CSR matrices.

    net = minnet.sparse.CSRNetwork.from_model(model)   # converts every Dense weight once
    net.inference(x)                                   # same outputs as model.inference(x)

Each Dense weight W (in, out) is stored as ``scipy.sparse.csr_matrix(W.T)``:
one row per output neuron holding only its nonzero weights, the view
``metrics.model_bytes(model, "csr")`` counts. The batch flows through the
network feature-major, one example per column (a contiguous (features, N)
array), so that every product is CSR @ dense, the layout in which scipy's
kernel is fastest. Pruned (zero) weights are not stored and cost no
multiplication; each kept one costs an index lookup instead.

Supported layers: Dense (via CSR) and ReLU, Tanh, Sigmoid, Flatten, Dropout,
which run their own ``forward`` in eval mode on private copies, so the model
is never touched. Conv2d, MaxPool2d, BatchNorm and any other layer raise a
``TypeError`` naming it.
"""

from __future__ import annotations

import copy

import numpy as np

from .layers import Dense, Dropout, Flatten, ReLU, Sigmoid, Tanh
from .model import Sequential, check_sequential
from .validate import check_batch

ELEMENTWISE = (ReLU, Tanh, Sigmoid, Dropout)  # same result whatever the layout of the batch


class CSRDense:
    """A Dense layer for a feature-major batch (features, N): its weight as
    ``csr_matrix(W.T)``, one row per output neuron holding only its nonzero
    weights, and its bias as a column."""

    def __init__(self, layer: Dense, index: int):
        import scipy.sparse  # imported here: scipy is slow to import

        W = layer.params["W"]
        self.weight = scipy.sparse.csr_matrix(W.T)  # stores only the nonzero weights
        self.bias = layer.params["b"][:, None].copy()
        self.dtype, self.in_features, self.index = W.dtype, layer.in_features, index

    def __call__(self, h: np.ndarray, columns: bool) -> tuple[np.ndarray, bool]:
        """``h`` batch-major (N, in) or, with ``columns``, feature-major (in, N);
        returns the feature-major output (out, N)."""
        if not columns:
            if h.ndim != 2 or h.shape[1] != self.in_features:
                raise ValueError(
                    f"layer {self.index} (Dense) expects input of shape (N, {self.in_features}), got shape {h.shape}"
                )
            h = np.ascontiguousarray(h.T, dtype=self.dtype)
        elif h.shape[0] != self.in_features:
            raise ValueError(f"layer {self.index} (Dense) expects {self.in_features} features, got {h.shape[0]}")
        return self.weight @ h.astype(self.dtype, copy=False) + self.bias, True


class EvalCopy:
    """Any other supported layer: a private eval-mode copy running its own ``forward``
    (elementwise layers work on either layout; a feature-major batch is flat already)."""

    def __init__(self, layer):
        self.layer = copy.deepcopy(layer)
        self.layer.training = False  # Dropout: identity

    def __call__(self, h: np.ndarray, columns: bool) -> tuple[np.ndarray, bool]:
        if columns and isinstance(self.layer, Flatten):
            return h, columns
        return self.layer.forward(h), columns


class CSRNetwork:
    """A snapshot of a Sequential MLP for inference with CSR weight matrices.

    Build it with ``from_model``; later changes to the model (training,
    more pruning) are not seen: convert again.
    """

    def __init__(self, steps: list):
        self.steps = steps  # one CSRDense or EvalCopy per layer: step(h, columns) -> (h, columns)

    @classmethod
    def from_model(cls, model: Sequential) -> CSRNetwork:
        """Convert ``model`` once: each Dense weight to CSR (of W.T), each other
        supported layer to an eval-mode copy. Raises TypeError for a layer
        that has no CSR path, before converting anything."""
        check_sequential(model)
        for i, layer in enumerate(model.layers):
            if not isinstance(layer, (Dense, Flatten, *ELEMENTWISE)):
                raise TypeError(
                    f"CSRNetwork supports Dense, ReLU, Tanh, Sigmoid, Flatten and Dropout layers; "
                    f"layer {i} is {layer!r}"
                )
        return cls(
            [
                CSRDense(layer, i) if isinstance(layer, Dense) else EvalCopy(layer)
                for i, layer in enumerate(model.layers)
            ]
        )

    def inference(self, x) -> np.ndarray:
        """Outputs for a batch ``x`` of shape (N, ...): (N, classes) for an MLP,
        equal to ``model.inference(x)`` up to float rounding."""
        h = check_batch("x", x, min_ndim=2, shape="(N, features)")
        columns = False  # False: h is (N, ...), batch-major; True: h is (features, N)
        for step in self.steps:
            h, columns = step(h, columns)
        return np.ascontiguousarray(h.T) if columns else h
