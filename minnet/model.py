"""Sequential: a list of layers applied in order, plus saving and loading."""

from __future__ import annotations

import copy
import json
import os
import re

import numpy as np

from .layers import LAYER_TYPES, Conv2d, Dense, Layer

MASK_SUFFIX = "_mask"
_ARCHITECTURE_KEY = "__architecture__"


class Sequential:
    """Layers applied one after another.

    Parameters are named ``"<layer index>.<key>"`` (``"0.W"``, ``"0.b"``,
    ``"2.gamma"``); masks in a state dict are ``"0.W_mask"``.
    """

    def __init__(self, *layers: Layer):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential takes Layer objects, got {type(layer).__name__} at position {i}")
        self.layers = list(layers)

    # -- computing ---------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output of the last layer for a batch ``x`` of shape (N, ...)."""
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"x must be a non-empty batch of shape (N, ...), got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"x must hold real numbers, got dtype {x.dtype}")
        return self.forward_keeping(x, ())[0]

    __call__ = forward

    def forward_keeping(self, x: np.ndarray, keep) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Like ``forward``, and also return the outputs of the layers whose
        indices are in ``keep`` (for activation-based importance scores)."""
        kept = {}
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ValueError as exc:
                raise ValueError(f"layer {i}: {exc}") from None
            if i in keep:
                kept[i] = x
        return x, kept

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``grad_out`` (dLoss/dOutput); fills each ``layer.grads``.
        Returns dLoss/dInput. ``input_grad=False`` lets a first Dense or Conv2d
        layer skip that last product, which training never uses (returns None)."""
        for layer in reversed(self.layers[1:]):
            grad_out = layer.backward(grad_out)
        first = self.layers[0]
        if not input_grad and isinstance(first, (Dense, Conv2d)):
            return first.backward(grad_out, input_grad=False)
        return first.backward(grad_out)

    def inference(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Outputs in eval mode, computed in batches; the mode is restored after."""
        was_training = self.training
        self.eval()
        try:
            x = np.asarray(x)
            if x.ndim == 0 or x.shape[0] == 0:
                raise ValueError(f"x must be a non-empty batch of shape (N, ...), got shape {x.shape}")
            return np.concatenate([self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
        finally:
            self.train(was_training)

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class ids, shape (N,): the argmax of the eval-mode outputs."""
        return self.inference(x, batch_size).argmax(axis=1)

    # -- modes and parameters ---------------------------------------------------
    def train(self, mode: bool = True) -> "Sequential":
        """Training mode (Dropout drops, BatchNorm uses batch statistics)."""
        for layer in self.layers:
            layer.training = bool(mode)
        return self

    def eval(self) -> "Sequential":
        """Evaluation mode: Dropout off, BatchNorm uses its running statistics."""
        return self.train(False)

    @property
    def training(self) -> bool:
        return all(layer.training for layer in self.layers)

    def named_parameters(self):
        """Yield ``("0.W", array)`` pairs, in layer order."""
        for i, layer in enumerate(self.layers):
            for key, value in layer.params.items():
                yield f"{i}.{key}", value

    def parameter_slots(self):
        """Yield ``(name, layer, key)`` for every parameter (used by optimizers)."""
        for i, layer in enumerate(self.layers):
            for key in layer.params:
                yield f"{i}.{key}", layer, key

    def num_parameters(self) -> int:
        """Total number of parameters (pruned ones included)."""
        return sum(p.size for _, p in self.named_parameters())

    def copy(self) -> "Sequential":
        """A deep copy: parameters, masks, buffers and random generators."""
        return copy.deepcopy(self)

    # -- state ---------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of parameters, buffers and masks, keyed by name."""
        state = {}
        for i, layer in enumerate(self.layers):
            for key, value in {**layer.params, **layer.buffers()}.items():
                state[f"{i}.{key}"] = value.copy()
            for key, mask in layer.masks.items():
                state[f"{i}.{key}{MASK_SUFFIX}"] = mask.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Set parameters, buffers and masks from ``state`` (as made by
        ``state_dict``). Everything is checked before anything changes."""
        expected, param_names = {}, set()
        for i, layer in enumerate(self.layers):
            for key, value in {**layer.params, **layer.buffers()}.items():
                expected[f"{i}.{key}"] = value
            param_names.update(f"{i}.{key}" for key in layer.params)
        masks = {k: v for k, v in state.items() if k.endswith(MASK_SUFFIX)}
        values = {k: v for k, v in state.items() if not k.endswith(MASK_SUFFIX)}
        missing = sorted(set(expected) - set(values))
        unexpected = sorted(set(values) - set(expected))
        if missing or unexpected:
            raise ValueError(f"state dict does not match the model: missing {missing}, unexpected {unexpected}")
        for name, target in expected.items():
            if np.shape(values[name]) != target.shape:
                raise ValueError(
                    f"state dict entry {name!r} has shape {np.shape(values[name])}, "
                    f"but the model's parameter has shape {target.shape}"
                )
        for name, mask in masks.items():
            param = name[: -len(MASK_SUFFIX)]
            if param not in param_names:
                raise ValueError(f"state dict has mask {name!r} for no parameter of the model")
            if np.shape(mask) != expected[param].shape or np.asarray(mask).dtype != bool:
                raise ValueError(
                    f"mask {name!r} must be a bool array of shape {expected[param].shape}, "
                    f"got {np.asarray(mask).dtype} array of shape {np.shape(mask)}"
                )
        for i, layer in enumerate(self.layers):
            layer.masks = {}
            for key in layer.params:
                layer.params[key] = np.array(values[f"{i}.{key}"], dtype=layer.params[key].dtype)
                if f"{i}.{key}{MASK_SUFFIX}" in masks:
                    layer.masks[key] = np.array(masks[f"{i}.{key}{MASK_SUFFIX}"], dtype=bool)
                    layer.params[key] *= layer.masks[key]
            for key, buffer in layer.buffers().items():
                buffer[...] = values[f"{i}.{key}"]

    def architecture(self) -> list[dict]:
        """The layer types and constructor arguments, JSON-friendly."""
        return [{"type": type(layer).__name__, "config": layer.config()} for layer in self.layers]

    def save(self, path: str | os.PathLike) -> None:
        """Write architecture, parameters, buffers and masks to one ``.npz``
        file (no pickle). Read it back with ``Sequential.load(path)``."""
        arch = np.array(json.dumps(self.architecture()))
        np.savez(path, **{_ARCHITECTURE_KEY: arch}, **self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Sequential":
        """Rebuild a model saved with ``save``."""
        arch, state = read_model_file(path)
        model = cls.from_architecture(arch, source=repr(os.fspath(path)))
        model.load_state_dict(state)
        return model

    @classmethod
    def from_architecture(cls, arch: list[dict], *, source: str = "the architecture") -> "Sequential":
        """A fresh model from ``architecture()``'s description (weights drawn anew)."""
        for spec in arch:
            if spec["type"] not in LAYER_TYPES:
                raise ValueError(f"unknown layer type {spec['type']!r} in {source}")
        return cls(*(LAYER_TYPES[spec["type"]](**spec["config"]) for spec in arch))

    # -- display ---------------------------------------------------------------
    def output_shapes(self, input_shape: tuple) -> list[tuple]:
        """Each layer's output shape for ONE example of ``input_shape`` (no
        batch axis), checking on the way that every layer accepts its input."""
        if (
            not isinstance(input_shape, (tuple, list))
            or not input_shape
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in input_shape)
        ):
            raise ValueError(
                f"input_shape must be one example's shape, a tuple of positive ints such as (784,) "
                f"or (1, 28, 28), got {input_shape!r}"
            )
        shape, shapes = tuple(int(s) for s in input_shape), []
        for i, layer in enumerate(self.layers):
            expected = layer.expected_input(shape)
            if expected is not None:
                raise ValueError(
                    f"input_shape {tuple(input_shape)} does not fit the model: layer {i} ({layer!r}) "
                    f"expects one example of shape {_one_example(expected)}, got {shape} "
                    "(input_shape has no batch axis)"
                )
            shape = tuple(layer.output_shape(shape))
            shapes.append(shape)
        return shapes

    def summary(self, input_shape: tuple) -> str:
        """A table of layers, output shapes (one example) and parameter counts."""
        rows = []
        for i, (layer, shape) in enumerate(zip(self.layers, self.output_shapes(input_shape))):
            n = sum(p.size for p in layer.params.values())
            rows.append(f"{i:>3}  {layer!r:<44} {str(shape):<16} {n:>9,}")
        header = f"{'#':>3}  {'layer':<44} {'output shape':<16} {'params':>9}"
        total = f"{'':>3}  {'total':<44} {'':<16} {self.num_parameters():>9,}"
        return "\n".join([header, *rows, total])

    def __repr__(self):
        inner = "".join(f"\n  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]


def read_model_file(path: str | os.PathLike) -> tuple[list[dict], dict[str, np.ndarray]]:
    """The architecture and the stored arrays of a minnet ``.npz`` model file."""
    with np.load(path, allow_pickle=False) as data:
        if _ARCHITECTURE_KEY not in data:
            raise ValueError(f"{os.fspath(path)!r} is not a minnet model file (no architecture entry)")
        arch = json.loads(str(data[_ARCHITECTURE_KEY]))
        return arch, {k: data[k] for k in data.files if k != _ARCHITECTURE_KEY}


def _one_example(template: str) -> str:
    """A layer's expected-input template for one example: "(64)" reads as a tuple "(64,)"."""
    return re.sub(r"\((\w+)\)", r"(\1,)", template.format(N=""))
