"""Sequential: a list of layers applied in order, plus saving and loading;
Residual: a block that adds a branch's output to its input."""

from __future__ import annotations

import copy
import os
from collections.abc import MutableMapping

import numpy as np

from .io import MASK_SUFFIX, npz_path, read_model_file, state_from_arrays, write_model_file
from .layers import LAYER_TYPES, InputShape, Layer, check_layer_input, show_shapes
from .threads import blas_threads
from .utils import as_generator
from .validate import check_array, check_batch, check_bool, check_instance, check_int, check_path, is_int


class Sequential:
    """Layers applied one after another.

    Parameters are named ``"<layer index>.<key>"`` (``"0.W"``, ``"0.b"``,
    ``"2.gamma"``); masks in a state dict are ``"0.W_mask"``.
    """

    def __init__(self, *layers: Layer):
        if not layers:
            raise ValueError("Sequential needs at least one layer, got none")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential takes Layer objects, got {type(layer).__name__} at position {i}")
        self.layers = list(layers)

    # -- computing ---------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output of the last layer for a batch ``x`` of shape (N, ...)."""
        return self.forward_keeping(x, ())[0]

    __call__ = forward

    def forward_keeping(self, x: np.ndarray, keep) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Like ``forward``, and also return the outputs of the layers whose
        indices are in ``keep`` (for activation-based importance scores).
        The batch is checked against every layer first, so a misfit raises
        before any layer (a BatchNorm's running statistics) has changed."""
        x = check_batch("x", x, finite=False)  # NaN inputs give NaN outputs; fit and inference name them first
        self._check_fits(x.shape[1:], f"x of shape {x.shape}")
        return self._run_layers(x, keep)

    def _run_layers(self, x: np.ndarray, keep=()) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """The layer loop of ``forward_keeping``, for a batch already checked."""
        kept = {}
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ValueError as exc:
                raise ValueError(f"layer {i}: {exc}") from None
            if i in keep:
                kept[i] = x
        self._output_shape = x.shape
        return x, kept

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``grad_out`` (dLoss/dOutput); fills each ``layer.grads``.
        Returns dLoss/dInput. ``input_grad=False`` lets a first Dense or Conv2d
        layer skip that last product, which training never uses (returns None)."""
        input_grad = check_bool("input_grad", input_grad)
        expected = getattr(self, "_output_shape", None)
        if expected is None:
            raise ValueError("backward needs the values of a forward pass: call model.forward(x) first")
        if np.shape(grad_out) != expected:
            raise ValueError(
                f"grad_out must have the shape of the last forward output {expected}, got {np.shape(grad_out)}"
            )
        for layer in reversed(self.layers[1:]):
            grad_out = layer.backward(grad_out)
        first = self.layers[0]
        if not input_grad and first.input_grad_optional:
            return first.backward(grad_out, input_grad=False)
        return first.backward(grad_out)

    def inference(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Outputs in eval mode, computed in batches; the mode is restored after."""
        batch_size = check_int("batch_size", batch_size, low=1)
        x = check_batch("x", x)
        self._check_fits(x.shape[1:], f"x of shape {x.shape}")
        was_training = self.training
        self.eval()
        try:
            with blas_threads(self, x.shape[1:], min(batch_size, len(x))):  # x was checked above, once
                chunks = (self._run_layers(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size))
                return np.concatenate(list(chunks))
        finally:
            self.train(was_training)

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class ids, shape (N,): the argmax of the eval-mode outputs."""
        return self.inference(x, batch_size).argmax(axis=1)

    # -- modes and parameters ---------------------------------------------------
    def train(self, mode: bool = True) -> "Sequential":
        """Training mode (Dropout drops, BatchNorm uses batch statistics)."""
        mode = check_bool("mode", mode)
        for layer in self.layers:
            layer.training = mode
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
        ``state_dict``). Every entry is checked before anything changes:
        names, shapes, real finite values (masks: bool)."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict of name -> array (from state_dict()), got {type(state).__name__}")
        expected, param_names = {}, set()
        for i, layer in enumerate(self.layers):
            for key, value in {**layer.params, **layer.buffers()}.items():
                expected[f"{i}.{key}"] = value
            param_names.update(f"{i}.{key}" for key in layer.params)
        bad_keys = [k for k in state if not isinstance(k, str)]
        if bad_keys:
            raise TypeError(f"state dict keys must be names such as '0.W', got {bad_keys[0]!r}")
        masks = {k: v for k, v in state.items() if k.endswith(MASK_SUFFIX)}
        values = {k: v for k, v in state.items() if not k.endswith(MASK_SUFFIX)}
        missing = sorted(set(expected) - set(values))
        unexpected = sorted(set(values) - set(expected))
        if missing or unexpected:
            raise ValueError(f"state dict does not match the model: missing {missing}, unexpected {unexpected}")
        checked = {}
        for name, target in expected.items():
            value = check_array(f"state dict entry {name!r}", values[name], non_empty=False)
            if value.shape != target.shape:
                raise ValueError(
                    f"state dict entry {name!r} has shape {value.shape}, "
                    f"but the model's parameter has shape {target.shape}"
                )
            checked[name] = value
        for name, mask in masks.items():
            param = name[: -len(MASK_SUFFIX)]
            if param not in param_names:
                raise ValueError(f"state dict has mask {name!r} for no parameter of the model")
            mask = np.asarray(mask)
            if mask.shape != expected[param].shape or mask.dtype != bool:
                raise ValueError(
                    f"mask {name!r} must be a bool array of shape {expected[param].shape}, "
                    f"got {mask.dtype} array of shape {mask.shape}"
                )
            checked[name] = mask
        for i, layer in enumerate(self.layers):
            layer.masks = {}
            for key in layer.params:
                layer.params[key] = np.array(checked[f"{i}.{key}"], dtype=layer.params[key].dtype)
                if f"{i}.{key}{MASK_SUFFIX}" in checked:
                    layer.masks[key] = np.array(checked[f"{i}.{key}{MASK_SUFFIX}"], dtype=bool)
                    layer.params[key] *= layer.masks[key]
            for key, buffer in layer.buffers().items():
                buffer[...] = checked[f"{i}.{key}"]

    def architecture(self) -> list[dict]:
        """The layer types and constructor arguments, JSON-friendly."""
        return [{"type": type(layer).__name__, "config": layer.config()} for layer in self.layers]

    def save(self, path: str | os.PathLike) -> None:
        """Write architecture, parameters, buffers and masks to one ``.npz``
        file (no pickle); ``.npz`` is added to a path without it, as NumPy
        does. Read it back with ``minnet.load(path)``."""
        write_model_file(check_path("path", path), self.architecture(), self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Sequential":
        """Rebuild a model saved with ``save`` or ``metrics.save_sparse`` (``"m"`` finds ``"m.npz"`` too)."""
        path = npz_path(path)
        arch, arrays = read_model_file(path)
        model = cls.from_architecture(arch, source=repr(path))
        shapes = {name: value.shape for name, value in model.named_parameters()}
        try:
            model.load_state_dict(state_from_arrays(arrays, shapes, path))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path!r} is not a valid minnet model file: {exc}") from None
        return model

    @classmethod
    def from_architecture(cls, arch: list[dict], *, source: str = "the architecture") -> "Sequential":
        """A fresh model from ``architecture()``'s description (weights drawn anew)."""
        if not isinstance(arch, list) or not arch:
            raise ValueError(f"{source} must describe a non-empty list of layers, got {type(arch).__name__}")
        layers = []
        for i, spec in enumerate(arch):
            if not (
                isinstance(spec, dict) and isinstance(spec.get("config"), dict) and spec.get("type") in ALL_LAYER_TYPES
            ):
                raise ValueError(
                    f"layer {i} in {source} must be {{'type': one of {sorted(ALL_LAYER_TYPES)}, 'config': {{...}}}}, "
                    f"got {str(spec)[:80]}"
                )
            try:
                layers.append(ALL_LAYER_TYPES[spec["type"]].from_config(spec["config"]))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"layer {i} ({spec['type']}) in {source} cannot be built: {exc}") from None
        return cls(*layers)

    # -- display ---------------------------------------------------------------
    def output_shapes(self, input_shape: tuple) -> list[tuple]:
        """Each layer's output shape for ONE example of ``input_shape`` (no
        batch axis), checking on the way that every layer accepts its input."""
        if (
            not isinstance(input_shape, (tuple, list))
            or not input_shape
            or not all(is_int(s) and s > 0 for s in input_shape)
        ):
            raise ValueError(
                f"input_shape must be one example's shape, a tuple of positive ints such as (784,) "
                f"or (1, 28, 28), got {input_shape!r}"
            )
        shape = tuple(int(s) for s in input_shape)
        return self._check_fits(shape, f"input_shape {shape} (one example, no batch axis)")

    def _check_fits(self, shape: tuple, what: str) -> list[tuple]:
        """Each layer's output shape for one example of ``shape``; a ValueError
        naming the first layer that does not accept its input."""
        shapes = []
        for i, layer in enumerate(self.layers):
            expected = layer.expected_input(shape)
            if expected is not None:
                raise ValueError(
                    f"{what} does not fit the model: layer {i} ({layer!r}) expects one example of shape "
                    f"{show_shapes(expected, one_example=True)}, got {shape}"
                )
            shape = tuple(layer.output_shape(shape))
            shapes.append(shape)
        return shapes

    def summary(self, input_shape: tuple) -> str:
        """A table of layers, output shapes (one example) and parameter counts;
        the layers of a residual block follow it, named through it (``3.body.0``)."""
        self.output_shapes(input_shape)  # checks input_shape
        rows = self._summary_rows(tuple(input_shape), "")
        width = max(3, *(len(name) for name, _, _, _ in rows))
        lines = [f"{'#':>{width}}  {'layer':<44} {'output shape':<16} {'params':>9}"]
        lines += [f"{name:>{width}}  {layer.label():<44} {str(shape):<16} {n:>9,}" for name, layer, shape, n in rows]
        lines.append(f"{'':>{width}}  {'total':<44} {'':<16} {self.num_parameters():>9,}")
        return "\n".join(lines)

    def _summary_rows(self, shape: tuple, prefix: str) -> list[tuple]:
        """(name, layer, output shape, parameter count) per layer, nested blocks included."""
        rows = []
        inputs = [shape, *self.output_shapes(shape)]
        for i, layer in enumerate(self.layers):
            rows.append((prefix + str(i), layer, inputs[i + 1], sum(p.size for p in layer.params.values())))
            for branch, sequential in layer.branches().items():
                rows += sequential._summary_rows(inputs[i], f"{prefix}{i}.{branch}.")
        return rows

    def __repr__(self):
        inner = "".join(f"\n  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]


def check_sequential(model) -> "Sequential":
    """``model`` itself if it is a minnet Sequential, else a TypeError naming what it is."""
    return check_instance("model", model, Sequential, "a minnet Sequential model")


class _Branches(MutableMapping):
    """One kind of per-layer dict (``"params"``, ``"grads"`` or ``"masks"``) of a
    Residual's branches as one dict keyed ``"body.0.W"``, ``"shortcut.1.gamma"``:
    reading and writing go to the layer that owns the entry, so code that works
    on ``layer.params[key]`` works on a residual block unchanged."""

    def __init__(self, block: "Residual", kind: str):
        self.block, self.kind = block, kind

    def _owner(self, key) -> tuple[MutableMapping, str]:
        branch, _, rest = key.partition(".") if isinstance(key, str) else ("", "", "")
        index, _, leaf = rest.partition(".")
        sequential = self.block.branches().get(branch)
        if sequential is None or not index.isdigit() or int(index) >= len(sequential.layers) or not leaf:
            raise KeyError(key)
        return getattr(sequential.layers[int(index)], self.kind), leaf

    def __getitem__(self, key):
        owner, leaf = self._owner(key)
        return owner[leaf]

    def __setitem__(self, key, value):
        owner, leaf = self._owner(key)
        owner[leaf] = value

    def __delitem__(self, key):
        owner, leaf = self._owner(key)
        del owner[leaf]

    def __iter__(self):
        for branch, sequential in self.block.branches().items():
            for i, layer in enumerate(sequential.layers):
                for leaf in getattr(layer, self.kind):
                    yield f"{branch}.{i}.{leaf}"

    def __len__(self):
        return sum(1 for _ in self)

    def __repr__(self):
        return repr(dict(self))


class Residual(Layer):
    """A residual block: ``out = body(x) + shortcut(x)``.

    body: a Sequential. shortcut: None for the identity (then ``body`` must
    keep the input's shape), or a Sequential, typically a 1x1 Conv2d (or a
    Dense) with its BatchNorm, that maps the input to the body's output shape.
    The block's parameters, gradients, masks and buffers are those of its
    branches, named through it: ``"body.0.W"``, ``"shortcut.0.W"`` (in a model,
    ``"3.body.0.W"``). ``train()``/``eval()`` reach both branches.
    """

    def __init__(self, body, shortcut=None):
        self.body = check_instance("body", body, Sequential, "a Sequential (the residual branch)")
        if shortcut is not None:
            check_instance("shortcut", shortcut, Sequential, "None (the identity) or a Sequential")
        self.shortcut = shortcut

    def branches(self) -> dict[str, "Sequential"]:
        """``{"body": ..., "shortcut": ...}``; no shortcut entry for the identity."""
        return {"body": self.body} if self.shortcut is None else {"body": self.body, "shortcut": self.shortcut}

    @property
    def params(self):
        return _Branches(self, "params")

    @property
    def grads(self):
        return _Branches(self, "grads")

    @property
    def masks(self):
        return _Branches(self, "masks")

    @masks.setter
    def masks(self, masks):
        for sequential in self.branches().values():
            for layer in sequential.layers:
                layer.masks = {}
        for key, mask in dict(masks).items():
            self.masks[key] = mask

    @property
    def training(self) -> bool:
        return all(sequential.training for sequential in self.branches().values())

    @training.setter
    def training(self, mode: bool):
        for sequential in self.branches().values():
            sequential.train(mode)

    def buffers(self):
        return {
            f"{branch}.{i}.{key}": value
            for branch, sequential in self.branches().items()
            for i, layer in enumerate(sequential.layers)
            for key, value in layer.buffers().items()
        }

    def reset_parameters(self, rng=None):
        """Fresh parameters in every layer of both branches, one stream in order."""
        gen = as_generator(rng)
        for sequential in self.branches().values():
            for layer in sequential.layers:
                layer.reset_parameters(gen)

    def _branch_shapes(self, shape: tuple) -> tuple[tuple, tuple]:
        """The output shapes of body and shortcut for one example of ``shape``."""
        body = tuple(self.body.output_shapes(shape)[-1])
        return body, shape if self.shortcut is None else tuple(self.shortcut.output_shapes(shape)[-1])

    def expected_input(self, shape):
        try:
            body, skip = self._branch_shapes(tuple(shape))
        except ValueError:
            return self.body.layers[0].expected_input(shape) or (InputShape(("...",), "that the body accepts"),)
        if body != skip:  # the input fits, the block does not: say so, not which input would
            raise ValueError(
                f"{self!r}: for input {tuple(shape)} its body outputs {body} but its shortcut {skip}; "
                "the block adds them, so their shapes must agree"
            )
        return None

    def output_shape(self, input_shape):
        return self._branch_shapes(tuple(input_shape))[0]

    def forward(self, x):
        x = check_layer_input(self, x)
        out = self.body._run_layers(x)[0]
        skip = x if self.shortcut is None else self.shortcut._run_layers(x)[0]
        return self._remember(out + skip)

    def backward(self, grad_out):
        grad_out = self._check_grad(grad_out)
        grad_in = self.body.backward(grad_out)
        return grad_in + (grad_out if self.shortcut is None else self.shortcut.backward(grad_out))

    def config(self):
        shortcut = None if self.shortcut is None else self.shortcut.architecture()
        return {"body": self.body.architecture(), "shortcut": shortcut}

    @classmethod
    def from_config(cls, config: dict) -> "Residual":
        shortcut = config.get("shortcut")
        body = Sequential.from_architecture(config.get("body"), source="the residual body")
        return cls(body, None if shortcut is None else Sequential.from_architecture(shortcut, source="the shortcut"))

    def __repr__(self):
        shortcut = "identity" if self.shortcut is None else f"{len(self.shortcut.layers)} layers"
        return f"Residual(body={len(self.body.layers)} layers, shortcut={shortcut})"


ALL_LAYER_TYPES = {**LAYER_TYPES, "Residual": Residual}
