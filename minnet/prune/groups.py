"""Dependency groups: the units that must be removed together.

In a chain of layers, removing output channel j of a convolution means
removing W[j] and b[j], the BatchNorm entries of channel j, and input
channel j of the next convolution. A residual network adds tensors: the
output of a block is ``body(x) + shortcut(x)``, so channel j of the body's
last convolution, channel j of the shortcut (or of ``x`` itself, for an
identity shortcut) and channel j of every layer that reads the sum are one
channel of one *residual stream*. Removing it from one layer alone breaks
the addition. A *group* lists every ``(parameter name, axis, index)`` that
goes when one such channel goes.

The rule, found by following the channels through the network:

- a Dense or Conv2d layer *produces* a new unit j: its weight's output axis
  (Conv2d ``W`` axis 0, Dense ``W`` axis 1) at j and its bias entry j;
- it *consumes* every unit that reaches its input: Conv2d ``W`` axis 1,
  Dense ``W`` axis 0 (after a Flatten, a channel is H*W consecutive inputs);
- a BatchNorm adds its ``gamma`` and ``beta`` entries to the unit it
  normalises; activations, pooling, Dropout and GlobalAvgPool2d pass units on;
- a residual block joins channel j of its body's output with channel j of
  its shortcut's output (for the identity, channel j of its input).

A group is one set of joined units. Units that reach the network's input or
its output (the classes) form no group: they cannot be removed. Units made
and used inside one block's body are *free* groups of one layer; units of a
residual stream are *coupled* groups spanning every layer that writes to or
reads from it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import plots
from ..anatomy import current_mask, leaf_layers, leaf_parameter, unit_axis
from ..layers import BatchNorm, Conv2d, Dense, Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU, Sigmoid, Tanh
from ..model import check_sequential
from ..validate import check_choice, is_int
from .masks import slice_norms

PASS_UNITS_ON = (ReLU, Tanh, Sigmoid, Dropout, MaxPool2d, GlobalAvgPool2d)


class Member(NamedTuple):
    """One slice removed with a group: ``params[name]`` at ``index`` along ``axis``."""

    name: str
    axis: int
    index: int


class Group(tuple):
    """The members (``Member``) removed together, in the order the network meets
    them; ``producers`` names the layers that write the unit (``"3.body.3"``),
    one for a free group, several for a channel of a residual stream."""

    def __new__(cls, members, producers=()):
        if not isinstance(members, (list, tuple)) or not all(_is_member(m) for m in members):
            raise TypeError(f"members must be a list of (name, axis, index), got {members!r:.80}")
        if not isinstance(producers, (list, tuple)) or not all(isinstance(p, str) for p in producers):
            raise TypeError(f"producers must be a list of layer names such as ['3.body.3'], got {producers!r:.80}")
        group = super().__new__(cls, [Member(*m) for m in members])
        group.producers = tuple(producers)
        return group

    @property
    def coupled(self) -> bool:
        """True when several layers write this unit (a channel of a residual stream)."""
        return len(self.producers) > 1

    @property
    def layers(self) -> list[str]:
        """The layers holding a member, in order (``"0"``, ``"3.body.0"``, ...)."""
        return list(dict.fromkeys(member.name.rsplit(".", 1)[0] for member in self))

    def __repr__(self) -> str:
        return f"Group({len(self)} members; produced by {', '.join(self.producers)}; in {', '.join(self.layers)})"


def _is_member(value) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and is_int(value[1])
        and is_int(value[2])
    )


class _Flat(NamedTuple):
    """The units of an image flattened to a vector: each owns H*W consecutive
    entries, a number the next layer that counts its inputs reveals."""

    channels: list


class _Tracer:
    """Follows units through a network, joining those that must go together (union-find)."""

    def __init__(self):
        self.parent, self.members, self.producers = [], [], []
        self.count = 0  # members added so far: their order in the network

    def unit(self, producer=None) -> int:
        self.parent.append(len(self.parent))
        self.members.append([])
        self.producers.append([producer] if producer else [])
        return len(self.parent) - 1

    def find(self, unit: int) -> int:
        while self.parent[unit] != unit:
            self.parent[unit] = self.parent[self.parent[unit]]
            unit = self.parent[unit]
        return unit

    def join(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[b] = a
            self.members[a] += self.members[b]
            self.producers[a] += self.producers[b]

    def add(self, unit: int, name: str, axis: int, index: int) -> None:
        self.members[self.find(unit)].append((self.count, Member(name, axis, index)))
        self.count += 1

    def expand(self, units, size: int, where: str) -> list:
        """``units`` as one unit per input of a layer with ``size`` inputs (a Flatten spreads each channel)."""
        if not isinstance(units, _Flat):
            if len(units) != size:
                raise ValueError(f"{where} has {size} inputs but receives {len(units)} units")
            return units
        if size % len(units.channels):
            raise ValueError(f"{where} has {size} inputs, not a multiple of the {len(units.channels)} channels")
        return [u for u in units.channels for _ in range(size // len(units.channels))]

    def walk(self, sequential, units, prefix: str):
        """The units leaving ``sequential`` (one per entry of its output's axis 1), given those entering."""
        for i, layer in enumerate(sequential.layers):
            name = f"{prefix}{i}"
            if layer.branches():
                body = self.walk(layer.body, units, f"{name}.body.")
                skip = units if layer.shortcut is None else self.walk(layer.shortcut, units, f"{name}.shortcut.")
                skip = self.expand(skip, len(body), f"layer {name}'s shortcut")
                for a, b in zip(body, skip):
                    self.join(a, b)
                units = body
            elif isinstance(layer, (Dense, Conv2d)):
                out_axis = unit_axis(layer)
                in_axis = 1 - out_axis
                for index, unit in enumerate(self.expand(units, layer.params["W"].shape[in_axis], f"layer {name}")):
                    self.add(unit, f"{name}.W", in_axis, index)
                units = []
                for j in range(layer.params["W"].shape[out_axis]):
                    units.append(self.unit(producer=name))
                    self.add(units[-1], f"{name}.W", out_axis, j)
                    self.add(units[-1], f"{name}.b", 0, j)
            elif isinstance(layer, BatchNorm):
                units = self.expand(units, layer.num_features, f"layer {name}")
                for index, unit in enumerate(units):
                    self.add(unit, f"{name}.gamma", 0, index)
                    self.add(unit, f"{name}.beta", 0, index)
            elif isinstance(layer, Flatten):
                units = units if isinstance(units, _Flat) else _Flat(list(units))
            elif not isinstance(layer, PASS_UNITS_ON):
                raise TypeError(f"dependency_groups cannot follow units through layer {name} ({layer!r})")
        return units

    def groups(self, fixed) -> list[Group]:
        """The joined units with members, except those joined to a unit of ``fixed``."""
        fixed, found = {self.find(unit) for unit in fixed}, {}
        for unit in range(len(self.parent)):
            root = self.find(unit)
            if root not in fixed and self.members[root]:
                found[root] = self.members[root]
        groups = []
        for root, members in sorted(found.items(), key=lambda item: min(seq for seq, _ in item[1])):
            members = [m for _, m in sorted(members)]
            first = {}  # producers in the order the network meets them
            for m in members:
                first.setdefault(m.name.rsplit(".", 1)[0], len(first))
            groups.append(Group(members, sorted(set(self.producers[root]), key=first.__getitem__)))
        return groups


def dependency_groups(model, input_shape=None) -> list[Group]:
    """Every group of units of ``model`` that can be removed (see the module's rule).

    input_shape: one example's shape, e.g. (1, 8, 8); checked against the
    model when given (the groups do not depend on it). Returns the groups in
    the order the network produces them; each ``(name, axis, index)`` is in
    one group at most.
    """
    check_sequential(model)
    if input_shape is not None:
        model.output_shapes(input_shape)
    tracer = _Tracer()
    first = next((layer for _, layer in leaf_layers(model) if isinstance(layer, (Dense, Conv2d))), None)
    if first is None:
        raise ValueError("the model has no Dense or Conv2d layer: it has no units to group")
    size = first.params["W"].shape[0 if isinstance(first, Dense) else 1]
    inputs = [tracer.unit() for _ in range(size)]
    outputs = tracer.walk(model, inputs, "")
    outputs = outputs.channels if isinstance(outputs, _Flat) else outputs
    return tracer.groups([*inputs, *outputs])


def producer_states(model, group) -> dict[str, bool]:
    """Per layer that writes the group's unit: whether it still writes it (False
    when its weight slice and bias entry are all masked)."""
    states = {}
    for member in group:
        if _writes(model, member):
            layer_name = member.name.rsplit(".", 1)[0]
            states[layer_name] = states.get(layer_name, False) or _slice_kept(model, member)
    return states


def group_alive(model, groups) -> np.ndarray:
    """Per group: False once no layer writes its unit any more. Bool (groups,)."""
    groups = check_groups(check_sequential(model), groups)
    return np.array([any(producer_states(model, group).values()) for group in groups], dtype=bool)


def _writes(model, member: Member) -> bool:
    """Whether ``member`` is a slice its layer writes (output axis of W, or the bias)."""
    layer, key = leaf_parameter(model, member.name)
    if not isinstance(layer, (Dense, Conv2d)):
        return False
    return key == "b" or member.axis == unit_axis(layer)


def _slice_kept(model, member: Member) -> bool:
    layer, key = leaf_parameter(model, member.name)
    mask = layer.masks.get(key)
    return True if mask is None else bool(np.take(mask, member.index, axis=member.axis).any())


def groups_of(model, groups=None) -> list:
    """``groups`` checked against ``model``, or ``dependency_groups(model)`` when None."""
    return dependency_groups(model) if groups is None else check_groups(check_sequential(model), groups)


def has_blocks(model) -> bool:
    """True when ``model`` holds a residual block (its units may be coupled across layers)."""
    return any(layer.branches() for layer in check_sequential(model).layers)


def group_importance(model, groups, *, ord=2, reduce: str = "sum") -> np.ndarray:
    """One importance per group, float64 (groups,): the ``ord``-norm of every member's
    slice (a weight slice, a bias or BatchNorm entry), summed or averaged over the
    members (``reduce``), as Torch-Pruning's group importance does."""
    reduce = check_choice("reduce", reduce, ("sum", "mean"))
    groups = check_groups(check_sequential(model), groups)
    combine = np.sum if reduce == "sum" else np.mean
    norms = {}  # (name, axis) -> the norms of all its slices, computed once
    out = np.empty(len(groups))
    for g, group in enumerate(groups):
        for member in group:
            if (member.name, member.axis) not in norms:
                layer, key = leaf_parameter(model, member.name)
                norms[member.name, member.axis] = slice_norms(layer.params[key], member.axis, ord)
        out[g] = combine([norms[m.name, m.axis][m.index] for m in group])
    return out


def group_keep_masks(model, groups, remove) -> dict[str, np.ndarray]:
    """The masks (name -> bool array, True = kept) that take every member of the
    groups flagged in ``remove`` (bool, one per group) out, on top of the current masks."""
    masks = {}
    for group, gone in zip(groups, remove):
        if not gone:
            continue
        for member in group:
            layer, key = leaf_parameter(model, member.name)
            if member.name not in masks:
                masks[member.name] = current_mask(layer, key).copy()
            index = [slice(None)] * masks[member.name].ndim
            index[member.axis] = member.index
            masks[member.name][tuple(index)] = False
    return masks


def check_groups(model, groups) -> list:
    """``groups`` as given (a list of groups of ``(name, axis, index)`` members), or
    a clear error naming the first member that does not fit ``model``."""
    if not isinstance(groups, (list, tuple)) or not groups:
        raise TypeError(f"groups must be a non-empty list, as dependency_groups returns, got {groups!r:.80}")
    for group in groups:
        if not isinstance(group, (list, tuple)) or not group:
            raise TypeError(f"each group must be a non-empty list of (name, axis, index), got {group!r:.80}")
        for member in group:
            if not _is_member(member):
                raise TypeError(f"a group member must be (parameter name, axis, index), got {member!r:.80}")
            name, axis, index = member
            layer, key = leaf_parameter(model, name)
            shape = layer.params[key].shape
            if not (0 <= axis < len(shape) and 0 <= index < shape[axis]):
                raise ValueError(f"group member {member!r} does not fit {name!r} of shape {shape}")
    return [group if isinstance(group, Group) else Group(list(group)) for group in groups]


def describe_groups(model, groups=None) -> str:
    """The group families of ``model``, one per line: free or coupled, how many
    groups (units) and members per group, the layers that write the units,
    and every layer a group reaches."""
    groups = groups_of(model, groups)
    families = {}
    for group in groups:
        families.setdefault(group.producers, []).append(group)
    lines = [f"{'family':<9}{'units':>6}{'members':>9}  written by -> every layer reached"]
    for producers, members in families.items():
        kind = "coupled" if len(producers) > 1 else "free"
        reached = [name for name in members[0].layers if name not in producers]
        lines.append(f"{kind:<9}{len(members):>6}{len(members[0]):>9}  {', '.join(producers)} -> {', '.join(reached)}")
    return "\n".join(lines)


def plot_groups(model, groups=None, *, ax=None):
    """``plots.group_map`` of ``model``'s group families: for each layer, whether it
    writes, normalises or reads their units."""
    groups = groups_of(model, groups)
    layers, roles = [], {}
    for group in groups:
        family = " + ".join(group.producers)
        for member in group:
            layer_name = member.name.rsplit(".", 1)[0]
            layers.append(layer_name)
            layer, _ = leaf_parameter(model, member.name)
            role = "writes" if _writes(model, member) else "normalises" if isinstance(layer, BatchNorm) else "reads"
            roles.setdefault((layer_name, family), role)
    families = list(dict.fromkeys(" + ".join(g.producers) for g in groups))
    in_order = [name for name, _ in leaf_layers(model) if name in layers]  # rows in the network's order
    return plots.group_map(in_order, families, roles, ax=ax)
