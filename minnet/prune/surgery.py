"""Surgery: turn structurally pruned units into a physically smaller model.

    small = shrink(model)        # a new Sequential; ``model`` is left untouched

The plan, for every Dense/Conv2d layer but the output layer (the *producer*):

1. find its kept units (``unit_keep_mask``: a unit is removed only when its
   whole weight slice AND its bias entry are masked);
2. slice the producer's outputs: W along the unit axis, b, and their masks;
3. walk to the next Dense/Conv2d layer (the *consumer*) through layers that
   carry units one to one: BatchNorm (its gamma, beta, running statistics and
   masks are sliced too), ReLU/Tanh/Sigmoid, Dropout, MaxPool2d, and Flatten,
   after which each channel owns H*W consecutive inputs (NCHW order);
4. slice the consumer's inputs: rows of a Dense W, input channels of a Conv2d W.

A removed unit outputs exactly 0, but what reaches the consumer is that 0
passed through the layers in between (in eval mode): ReLU and Tanh keep it 0,
a BatchNorm whose gamma/beta are not masked turns it into a constant, Sigmoid
into 0.5. Such constants are folded into the consumer's bias, so the shrunk
model computes the same eval-mode outputs. The fold is exact for a Dense
consumer and for a Conv2d consumer without padding (with padding, border
pixels see padding zeros instead of the constant), so shrink refuses there.
"""

from __future__ import annotations

import numpy as np

from ..anatomy import leaf_layers, leaf_parameter, prunable_layers, unit_axis, unit_keep_mask
from ..layers import BatchNorm, Conv2d, Dense, Flatten, MaxPool2d, Sigmoid
from ..model import Sequential, check_sequential
from .groups import PASS_UNITS_ON, dependency_groups, has_blocks, producer_states

__all__ = ["shrink", "unit_keep_mask"]

# Layers that may sit between a producer and its consumer: each maps unit (channel) j to unit j.
PASS_THROUGH = (BatchNorm, Flatten, *PASS_UNITS_ON)


def _size_attrs(layer) -> tuple[str, str]:
    """The constructor arguments that hold a Dense/Conv2d layer's input and output sizes."""
    return ("in_features", "out_features") if isinstance(layer, Dense) else ("in_channels", "out_channels")


def shrink(model: Sequential) -> Sequential:
    """A new, physically smaller copy of ``model`` without its structurally pruned units.

    Removes every neuron (Dense) or filter (Conv2d) whose weight slice and bias
    entry are both masked, with the matching inputs of the next Dense/Conv2d
    layer and entries of BatchNorm layers in between. The output layer's units
    are never removed. Remaining masks are sliced along; dtypes, layer types and
    hyperparameters are kept. The result computes the same eval-mode outputs as
    ``model`` (constants that removed units emit through BatchNorm or Sigmoid
    are folded into the next bias) with fewer parameters and MACs.

    Raises ValueError if every unit of a layer is pruned, or if a constant must
    be folded into a Conv2d with padding; TypeError if a pruned layer feeds its
    consumer through a layer other than those in ``PASS_THROUGH``.

    A model with residual blocks is shrunk group by group (``dependency_groups``):
    a unit goes from every layer it lives in at once, and a unit pruned in some
    of the layers that write it but not in others is a ValueError naming them.
    """
    check_sequential(model)
    if has_blocks(model):
        return _shrink_groups(model)
    producers = prunable_layers(model)
    consumers = prunable_layers(model, include_output=True)[1:]
    keeps = {i: unit_keep_mask(model, i) for i in producers}
    for i, keep in keeps.items():
        if not keep.any():
            raise ValueError(
                f"every unit of layer {i} ({model.layers[i]!r}) is structurally pruned; "
                "a layer needs at least one unit, so shrink cannot remove them all"
            )
    small = model.copy()
    for i, j in zip(producers, consumers):
        if not keeps[i].all():
            _remove_units(small, i, j, keeps[i])
    return small


def _remove_units(model: Sequential, i: int, j: int, keep: np.ndarray) -> None:
    """In place: drop the units of layer ``i`` that ``keep`` (bool, units) rejects,
    and what they feed up to and including the inputs of consumer layer ``j``."""
    producer, consumer = model.layers[i], model.layers[j]
    # What a removed unit sends on: 0 at the producer, pushed through the layers in between.
    # One value per channel, shaped as a 1x1 image for a Conv2d producer.
    sent = np.zeros((1, keep.size, 1, 1) if isinstance(producer, Conv2d) else (1, keep.size), producer.dtype)
    _slice_outputs(producer, keep)
    for k in range(i + 1, j):
        layer = model.layers[k]
        if not isinstance(layer, PASS_THROUGH):
            raise TypeError(
                f"shrink cannot remove units of layer {i} ({producer!r}): layer {k} ({layer!r}) lies between it "
                f"and the next Dense/Conv2d layer {j}; supported in between: "
                f"{', '.join(t.__name__ for t in PASS_THROUGH)}"
            )
        if isinstance(layer, BatchNorm):
            keep, sent = _spread(keep, sent, layer.num_features, k)
        if not isinstance(layer, MaxPool2d):  # the max of a constant image is that constant
            sent = _eval_forward(layer, sent)
        if isinstance(layer, BatchNorm):
            _slice_batchnorm(layer, keep)
    in_axis = 1 - unit_axis(consumer)  # Dense W (in, out): 0; Conv2d W (out, in, kh, kw): 1
    keep, sent = _spread(keep, sent, consumer.params["W"].shape[in_axis], j)
    _fold_constants(consumer, j, keep, sent.reshape(-1))
    _take(consumer, "W", keep, in_axis)
    setattr(consumer, _size_attrs(consumer)[0], int(keep.sum()))


def _spread(keep: np.ndarray, sent: np.ndarray, size: int, index: int):
    """Per-unit ``keep`` and ``sent`` (1, units, ...) widened to ``size`` inputs along
    axis 1: after Flatten each channel owns size / channels consecutive inputs (NCHW
    order); elsewhere size equals the number of units and nothing changes."""
    if size % keep.size:
        raise ValueError(
            f"layer {index} has {size} inputs, not a multiple of the {keep.size} units that feed it; "
            "cannot tell which inputs belong to which unit"
        )
    repeat = size // keep.size
    return np.repeat(keep, repeat), np.repeat(sent, repeat, axis=1)


def _eval_forward(layer, x: np.ndarray) -> np.ndarray:
    """``layer``'s eval-mode output for ``x``; its mode is restored afterwards."""
    was_training, layer.training = layer.training, False
    try:
        return layer.forward(x)
    finally:
        layer.training = was_training


def _fold_constants(consumer, index: int, keep: np.ndarray, sent: np.ndarray) -> None:
    """Add what the removed inputs (``~keep``) contribute, the constants ``sent``
    (one per input), to ``consumer``'s bias."""
    removed = ~keep
    constants = sent[removed]
    if not np.any(constants):
        return
    W = consumer.params["W"]
    if isinstance(consumer, Dense):
        delta = constants @ W[removed]
    elif consumer.padding:
        raise ValueError(
            f"removed channels feed layer {index} ({consumer!r}) a nonzero constant (e.g. through a BatchNorm "
            "whose gamma/beta are not masked), which cannot be folded into the bias of a padded Conv2d; "
            "mask the BatchNorm entries of the pruned channels too"
        )
    else:
        delta = np.einsum("oikl,i->o", W[:, removed], constants)
    b_mask = consumer.masks.get("b")
    if b_mask is not None and np.any(delta[~b_mask]):
        raise ValueError(
            f"removed inputs of layer {index} ({consumer!r}) contribute a constant that would have to be folded "
            "into masked bias entries; unmask them or mask the BatchNorm entries of the pruned units"
        )
    consumer.params["b"] = consumer.params["b"] + delta.astype(consumer.params["b"].dtype)


def _slice_outputs(layer, keep: np.ndarray) -> None:
    """Keep only the units ``keep`` of a Dense/Conv2d layer: W, b and their masks."""
    _take(layer, "W", keep, unit_axis(layer))
    _take(layer, "b", keep, 0)
    setattr(layer, _size_attrs(layer)[1], int(keep.sum()))


def _slice_batchnorm(layer: BatchNorm, keep: np.ndarray) -> None:
    """Keep only the features ``keep`` of a BatchNorm: gamma, beta, masks, running statistics."""
    for key in layer.params:
        _take(layer, key, keep, 0)
    for name, buffer in layer.buffers().items():
        setattr(layer, name, buffer[keep])
    layer.num_features = int(keep.sum())


def _take(layer, key: str, keep: np.ndarray, axis: int) -> None:
    """Slice ``layer.params[key]`` and its mask along ``axis`` to the entries ``keep``."""
    layer.params[key] = np.compress(keep, layer.params[key], axis=axis)
    if key in layer.masks:
        layer.masks[key] = np.compress(keep, layer.masks[key], axis=axis)


def _shrink_groups(model: Sequential) -> Sequential:
    """``shrink`` for a network with residual blocks: remove every group whose unit
    no layer writes any more, from all its members at once."""
    groups = dependency_groups(model)
    gone = [not any(_consistent_states(model, group).values()) for group in groups]
    removed = [group for group, out in zip(groups, gone) if out]
    families = {}
    for group, out in zip(groups, gone):
        families.setdefault(group.producers, []).append(out)
    for producers, gone in families.items():
        if all(gone):
            raise ValueError(f"every unit written by {', '.join(producers)} is pruned; a layer needs at least one unit")
    if removed and any(isinstance(layer, Sigmoid) for _, layer in leaf_layers(model)):
        raise TypeError("shrink cannot remove units of a residual network with Sigmoid (a removed unit sends 0.5 on)")
    dropped = {}  # (name, axis) -> indices to remove
    for group in removed:
        for member in group:
            dropped.setdefault((member.name, member.axis), set()).add(member.index)
    small = model.copy()
    for (name, axis), indices in dropped.items():
        layer, key = leaf_parameter(small, name)
        if isinstance(layer, BatchNorm) and key != "gamma":
            continue  # beta and the running statistics go with gamma
        keep = np.ones(layer.params[key].shape[axis], dtype=bool)
        keep[sorted(indices)] = False
        if isinstance(layer, BatchNorm):
            _slice_batchnorm(layer, keep)
        else:
            _take(layer, key, keep, axis)
    for _, layer in leaf_layers(small):
        if isinstance(layer, (Dense, Conv2d)):
            inputs, outputs = _size_attrs(layer)
            in_axis = 1 - unit_axis(layer)
            setattr(layer, inputs, layer.params["W"].shape[in_axis])
            setattr(layer, outputs, layer.params["W"].shape[unit_axis(layer)])
    return small


def _consistent_states(model, group) -> dict[str, bool]:
    """Which layers still write ``group``'s unit; a ValueError naming the layers when
    some do and some do not, or when a removed unit's BatchNorm entries are not masked."""
    states = producer_states(model, group)
    if len(set(states.values())) > 1:
        gone = [name for name, kept in states.items() if not kept]
        kept = [name for name, kept in states.items() if kept]
        raise ValueError(
            f"a unit is pruned in layer {', '.join(gone)} but kept in layer {', '.join(kept)}: these layers write "
            "the same channel (a residual block adds their outputs), so they must be pruned together; prune the "
            "model with prune_units or prune_groups, which remove coupled units as one group"
        )
    if not any(states.values()):
        for member in group:
            layer, key = leaf_parameter(model, member.name)
            mask = layer.masks.get(key)
            if isinstance(layer, BatchNorm) and (mask is None or mask[member.index]):
                raise ValueError(
                    f"the unit written by {', '.join(states)} is pruned, but its BatchNorm entry "
                    f"{member.name}[{member.index}] is not: the unit would still carry that BatchNorm's shift. "
                    "Prune with prune_units or prune_groups, which mask every member of a group"
                )
    return states
