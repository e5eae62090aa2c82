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
from .validate import check_array

ELEMENTWISE = (ReLU, Tanh, Sigmoid, Dropout)  # same result whatever the layout of the batch


class CSRNetwork:
    """A snapshot of a Sequential MLP for inference with CSR weight matrices.

    Build it with ``from_model``; later changes to the model (training,
    more pruning) are not seen: convert again.
    """

    def __init__(self, steps: list):
        # steps: ("dense", (CSR W.T, bias column, dtype, in_features, index)) or ("layer", eval-mode copy)
        self.steps = steps

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
        import scipy.sparse  # imported here: scipy is slow to import

        steps = []
        for i, layer in enumerate(model.layers):
            if isinstance(layer, Dense):
                W, b = layer.params["W"], layer.params["b"]
                csr = scipy.sparse.csr_matrix(W.T)  # stores only the nonzero weights
                steps.append(("dense", (csr, b[:, None].copy(), W.dtype, layer.in_features, i)))
            else:
                twin = copy.deepcopy(layer)
                twin.training = False  # Dropout: identity
                steps.append(("layer", twin))
        return cls(steps)

    def inference(self, x) -> np.ndarray:
        """Outputs for a batch ``x`` of shape (N, ...): (N, classes) for an MLP,
        equal to ``model.inference(x)`` up to float rounding."""
        h = check_array("x", x, non_empty=False)
        if h.ndim < 2 or h.shape[0] == 0:
            raise ValueError(f"x must be a non-empty batch of shape (N, features), got shape {h.shape}")
        columns = False  # False: h is (N, ...), batch-major; True: h is (features, N)
        for kind, step in self.steps:
            if kind == "layer":
                if not (columns and isinstance(step, Flatten)):  # a (features, N) batch is flat already
                    h = step.forward(h)
                continue
            csr, b, dtype, in_features, i = step
            if not columns:
                if h.ndim != 2 or h.shape[1] != in_features:
                    raise ValueError(
                        f"layer {i} (Dense) expects input of shape (N, {in_features}), got shape {h.shape}"
                    )
                h, columns = np.ascontiguousarray(h.T, dtype=dtype), True
            elif h.shape[0] != in_features:
                raise ValueError(f"layer {i} (Dense) expects {in_features} features, got {h.shape[0]}")
            h = csr @ h.astype(dtype, copy=False) + b
        return np.ascontiguousarray(h.T) if columns else h
