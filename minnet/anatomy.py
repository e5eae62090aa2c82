"""What can be pruned in a model, and where its units are.

A *unit* is an output neuron of a Dense layer (column j of W, entry j of b)
or an output filter of a Conv2d layer (W[j], b[j]). Layers are referred to by
their index in ``model.layers``; parameters by name, ``"<index>.<key>"``.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .layers import BatchNorm, Conv2d, Dense, Flatten
from .model import check_sequential
from .validate import check_bool, check_indices, check_int, check_names

PRUNABLE_TYPES = (Dense, Conv2d)


def unit_axis(layer) -> int:
    """The axis of ``layer.params["W"]`` that indexes output units:
    1 for Dense (W is (in, out)), 0 for Conv2d (W is (out, in, kh, kw))."""
    if isinstance(layer, Dense):
        return 1
    if isinstance(layer, Conv2d):
        return 0
    raise TypeError(f"only Dense and Conv2d layers have units to prune, got {type(layer).__name__}")


def prunable_layers(model, *, include_output: bool = False) -> list[int]:
    """Indices of the Dense/Conv2d layers, in order. The last one (the output
    layer, whose units are the classes) is left out unless ``include_output``."""
    include_output = check_bool("include_output", include_output)
    indices = [i for i, layer in enumerate(check_sequential(model).layers) if isinstance(layer, PRUNABLE_TYPES)]
    return indices if include_output else indices[:-1]


def leaf_layers(model, prefix: str = ""):
    """Yield ``(name, layer)`` for every layer that is not a container, in order;
    the layers of a residual block are named through it (``"3.body.0"``)."""
    for i, layer in enumerate(check_sequential(model).layers):
        if layer.branches():
            for branch, sequential in layer.branches().items():
                yield from leaf_layers(sequential, f"{prefix}{i}.{branch}.")
        else:
            yield f"{prefix}{i}", layer


def current_mask(layer, key: str) -> np.ndarray:
    """``layer``'s keep-mask of parameter ``key``: its mask, or all True when it has none."""
    return layer.masks.get(key, np.ones(layer.params[key].shape, dtype=bool))


def leaf_parameter(model, name: str):
    """``"3.body.0.W"`` -> (the layer that holds it, ``"W"``): through residual blocks
    to the layer that owns the array. A ValueError for unknown names."""
    _, layer, key = parse_name(model, name)
    while layer.branches():
        branch, index, key = key.split(".", 2)
        layer = layer.branches()[branch].layers[int(index)]
    return layer, key


def weight_names(model, *, include_output: bool = False) -> list[str]:
    """Names (``"0.W"``, ``"3.body.0.W"``) of the weights of the Dense/Conv2d
    layers, those inside residual blocks included; the last one (the output
    layer's) only with ``include_output``."""
    include_output = check_bool("include_output", include_output)
    names = [f"{name}.W" for name, layer in leaf_layers(model) if isinstance(layer, PRUNABLE_TYPES)]
    return names if include_output else names[:-1]


def check_parameter_names(model, names) -> list[str]:
    """``names`` as a list of distinct, valid parameter names; default: ``weight_names(model)``."""
    check_sequential(model)
    names = check_names("names", names)
    if names is None:
        return weight_names(model)
    if len(set(names)) != len(names):
        raise ValueError(f"names must not repeat a parameter, got {names}")
    for name in names:
        parse_name(model, name)  # raises a ValueError listing the model's names
    return names


def check_layers(model, layers) -> list[int]:
    """``layers`` as a list of distinct Dense/Conv2d layer indices; default: ``prunable_layers(model)``."""
    check_sequential(model)
    layers = check_indices("layers", layers)
    if layers is None:
        return prunable_layers(model)
    valid = prunable_layers(model, include_output=True)
    for index in layers:
        if index not in valid:
            raise ValueError(f"unknown layer {index!r} in layers; the model's Dense/Conv2d layers are {valid}")
    layers = [int(index) for index in layers]
    if not layers:
        raise ValueError("layers must list at least one Dense/Conv2d layer, got an empty list")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers must not repeat a layer, got {layers}")
    return layers


def parse_name(model, name: str):
    """``"3.W"`` -> (3, layer, "W"); ``"3.body.0.W"`` -> (3, the residual block,
    "body.0.W"), with a clear error for unknown names."""
    if not isinstance(name, str):
        raise TypeError(f"parameter names are strings such as '0.W', got {type(name).__name__} {name!r}")
    index, _, key = name.partition(".")
    if not key:
        raise ValueError(f"parameter names look like '0.W', got {name!r}")
    if not index.isdigit() or int(index) >= len(model.layers) or key not in model.layers[int(index)].params:
        known = [n for n, _ in model.named_parameters()]
        raise ValueError(f"unknown parameter name {name!r}; the model has {known}")
    return int(index), model.layers[int(index)], key


def tied_batchnorm(model, index: int):
    """The index of a BatchNorm that normalises layer ``index``'s units: the
    next layer with parameters, if it is a BatchNorm (activations, pooling and
    Dropout may sit between). None if there is none, or if a Flatten comes
    first (after it, one BatchNorm entry is one pixel, not one unit)."""
    for j in range(index + 1, len(model.layers)):
        layer = model.layers[j]
        if isinstance(layer, BatchNorm):
            return j
        if layer.params or isinstance(layer, Flatten):
            return None
    return None


def unit_keep_mask(model, index: int):
    """Which units of Dense/Conv2d layer ``index`` are still alive: bool (units,).

    A unit is structurally pruned (False) when its whole weight slice is
    masked and so is its bias entry; a column that unstructured pruning
    zeroed by chance still has its bias, so it still outputs act(b) and counts
    as alive.
    """
    index = check_int("index", index, low=0, high=len(check_sequential(model).layers) - 1)
    layer = model.layers[index]
    try:
        axis = unit_axis(layer)
    except TypeError as exc:
        raise TypeError(f"layer {index}: {exc}") from None
    w_mask = layer.masks.get("W")
    units = layer.params["W"].shape[axis]
    if w_mask is None:
        return np.ones(units, dtype=bool)
    w_alive = np.moveaxis(w_mask, axis, 0).reshape(units, -1).any(axis=1)
    b_mask = layer.masks.get("b")
    return w_alive | (np.ones(units, dtype=bool) if b_mask is None else b_mask)


@contextlib.contextmanager
def restored_on_error(model):
    """Run the block; if it raises, put ``model``'s parameters, buffers and masks
    back as they were before it (so a failing loop leaves no half-pruned model)."""
    before = model.state_dict()
    try:
        yield
    except Exception:
        model.load_state_dict(before)
        raise
