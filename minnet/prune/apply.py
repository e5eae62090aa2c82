"""Pruning a model in place: attach masks to weights, or to whole units.

    report = prune(model, sparsity=0.9)                 # global magnitude, hidden layers
    report = prune(model, amount=0.5, scope="local")    # half of what is left, per layer
    report = prune_units(model, amount=0.25)            # a quarter of the neurons/filters
    remove(model)                                       # bake the zeros in, drop the masks

A mask is attached by zeroing the weight at once and keeping the boolean
mask beside it in ``layer.masks``; backward masks the gradients and every
optimizer step re-applies the masks, so pruned weights stay exactly 0.
Everything is checked before the first mask changes: a failed call leaves the
model exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..anatomy import (
    check_layers,
    check_parameter_names,
    check_sequential,
    current_mask,
    parse_name,
    tied_batchnorm,
    unit_axis,
    unit_keep_mask,
)
from ..validate import check_choice, check_int, check_real, is_int
from .groups import dependency_groups, group_alive, group_importance, group_keep_masks, groups_of, has_blocks
from .masks import (
    check_mask,
    check_scores,
    expand_slices,
    global_unstructured_masks,
    unstructured_mask,
)
from .scores import UNIT_SCORES, WEIGHT_SCORES, unit_norm_scores

SCOPES = ("global", "local")


class PruneRow(NamedTuple):
    """One parameter (or one layer's units) in a ``PruneReport``."""

    label: str
    total: int
    kept_before: int
    kept_after: int


@dataclass
class PruneReport:
    """What one pruning call changed: per row (a parameter, or a layer's units)
    the total count, and how many were kept before and after."""

    kind: str  # "weights" or "units"
    rows: list  # PruneRow per parameter or layer

    @property
    def sparsity(self) -> float:
        """Fraction pruned after the call, over all rows."""
        total = sum(r.total for r in self.rows)
        return 1 - sum(r.kept_after for r in self.rows) / total

    @property
    def pruned(self) -> int:
        """How many entries (or units) this call pruned."""
        return sum(r.kept_before - r.kept_after for r in self.rows)

    def __repr__(self):
        lines = [f"{self.kind:<28}{'total':>9}{'kept before':>13}{'kept after':>12}{'sparsity':>10}"]
        for label, total, before, after in self.rows:
            lines.append(f"{label:<28}{total:>9,}{before:>13,}{after:>12,}{1 - after / total:>10.1%}")
        total, before = sum(r.total for r in self.rows), sum(r.kept_before for r in self.rows)
        after = total - round(self.sparsity * total)
        lines.append(f"{'all':<28}{total:>9,}{before:>13,}{after:>12,}{self.sparsity:>10.1%}")
        return "\n".join(lines)


def attach_masks(model, masks: dict) -> None:
    """AND each mask into the named parameter's mask and zero what it prunes.

    masks: name ("0.W") -> bool array of the parameter's shape. All names and
    masks are checked before any is attached.
    """
    check_sequential(model)
    if not isinstance(masks, dict):
        raise TypeError(f"masks must be a dict of name -> bool array, got {type(masks).__name__}")
    resolved = []
    for name, mask in masks.items():
        _, layer, key = parse_name(model, name)
        resolved.append((layer, key, check_mask(mask, layer.params[key].shape, f"mask for {name!r}")))
    for layer, key, mask in resolved:
        layer.masks[key] = current_mask(layer, key) & mask
        layer.params[key] *= layer.masks[key]


def _check_target(amount, sparsity):
    if (amount is None) == (sparsity is None):
        raise TypeError(
            f"give exactly one of amount (of what is left) or sparsity (a target), "
            f"got amount={amount!r}, sparsity={sparsity!r}"
        )
    if sparsity is not None:
        check_real("sparsity", sparsity, low=0, high=1)
    elif is_int(amount):  # a count; its upper bound depends on what is still kept, checked with the scores
        check_int("amount", amount, low=0)
    else:
        check_real("amount", amount, low=0, high=1)


def _count_to_target(sparsity, total: int, kept: int, what: str) -> int:
    """How many more of ``kept`` (out of ``total``) to prune to reach ``sparsity``."""
    k = round(sparsity * total) - (total - kept)
    if k < 0:
        raise ValueError(
            f"{what} is already at sparsity {1 - kept / total:.4f}, above the target {sparsity}; "
            "pruning never un-prunes (start from an unpruned copy instead)"
        )
    return k


def _new_masks(scores: dict, priors: dict, amount, sparsity, scope: str, label) -> dict:
    """Keep-masks pruning ``amount`` more of what ``priors`` keep, or up to the target
    ``sparsity``: over all entries of ``scores`` together ("global"), or key by key
    ("local"). ``label(key)`` names a key in errors; ``label(None)`` names them all."""
    if scope == "global":
        k = amount
        if sparsity is not None:
            total, kept = sum(m.size for m in priors.values()), sum(int(m.sum()) for m in priors.values())
            k = _count_to_target(sparsity, total, kept, label(None))
        return global_unstructured_masks(scores, k, priors)
    new = {}
    for key, prior in priors.items():
        k = amount if sparsity is None else _count_to_target(sparsity, prior.size, int(prior.sum()), label(key))
        new[key] = unstructured_mask(scores[key], k, prior)
    return new


def check_scores_argument(scores, registry: dict, what: str) -> None:
    """``scores`` is one of the forms ``prune`` (``registry`` WEIGHT_SCORES,
    ``what`` "weight") or ``prune_units`` (UNIT_SCORES, "unit") take; a name
    must be in the registry and need no data."""
    if scores is not None and not isinstance(scores, (str, dict)) and not callable(scores):
        raise TypeError(
            f"scores must be None, a score name such as 'magnitude', a dict or a callable model -> dict, "
            f"got {type(scores).__name__} {scores!r:.60}"
        )
    if isinstance(scores, str):
        if scores not in registry:
            raise ValueError(f"scores must be one of {sorted(registry)} (or a dict / callable), got {scores!r}")
        if registry[scores].needs_data:
            raise ValueError(
                f"the {scores!r} {what} scores need data: compute them first, e.g. "
                f"scores = minnet.prune.{registry[scores].__name__}(model, X, y), and pass the dict"
            )


def _resolve(model, scores, registry: dict, what: str, **selection):
    """scores may be a registry name (called with ``selection``: the names or
    layers being pruned), a callable model -> dict, or a dict."""
    check_scores_argument(scores, registry, what)
    if isinstance(scores, str):
        return registry[scores](model, **selection)
    if callable(scores):
        scores = scores(model)
    if not isinstance(scores, dict):
        raise TypeError(f"scores must be a dict, a callable returning one, a name or None, got {type(scores).__name__}")
    return scores


def _weight_scores(model, scores, names):

    resolved = _resolve(model, "magnitude" if scores is None else scores, WEIGHT_SCORES, "weight", names=names)
    out = {}
    for name in names:
        if name not in resolved:
            raise ValueError(f"scores has no entry for {name!r}; it has {sorted(resolved)}")
        _, layer, key = parse_name(model, name)
        s = check_scores(resolved[name], f"scores[{name!r}]")
        if s.shape != layer.params[key].shape:
            raise ValueError(
                f"scores[{name!r}] must have the parameter's shape {layer.params[key].shape}, got {s.shape}"
            )
        out[name] = s
    return out


def prune(model, amount=None, *, sparsity=None, scores=None, scope: str = "global", names=None) -> PruneReport:
    """Unstructured pruning of ``model`` in place.

    amount: fraction (float) or count (int) of the still-kept weights to prune
        now (masks compose: 0.5 twice leaves a quarter); or
    sparsity: the target fraction of zero weights over ``names`` (global) or
        in each of them (local), counting what earlier calls pruned.
    scores: None (magnitude |w|), a name from ``minnet.prune.WEIGHT_SCORES``
        that needs no data ("magnitude", "random", "lamp"), a callable
        model -> dict, or a dict name -> array (e.g. from ``taylor_scores``).
    scope: "global" ranks all weights of all ``names`` together; "local"
        prunes the same fraction in each.
    names: parameters to prune; default the Dense/Conv2d weights except the
        output layer (``weight_names(model)``). Biases only if named.
    """
    _check_target(amount, sparsity)
    check_choice("scope", scope, SCOPES)
    names = check_parameter_names(model, names)
    check_scores_argument(scores, WEIGHT_SCORES, "weight")
    if not names:
        raise ValueError("names must list at least one parameter to prune, got none")
    params = {name: parse_name(model, name) for name in names}
    priors = {name: current_mask(layer, key) for name, (_, layer, key) in params.items()}
    scores = _weight_scores(model, scores, names)
    new = _new_masks(scores, priors, amount, sparsity, scope, lambda name: name or "the selected weights")
    attach_masks(model, new)
    rows = [PruneRow(name, m.size, int(m.sum()), int(new[name].sum())) for name, m in priors.items()]
    return PruneReport("weights", rows)


def keep_units(model, index: int, keep) -> None:
    """Mask every parameter tied to the units of layer ``index`` that ``keep``
    (bool, one entry per unit) drops: the weight slice, the bias entry, and
    gamma/beta of a BatchNorm that normalises this layer's outputs."""
    index = check_int("index", index, low=0, high=len(check_sequential(model).layers) - 1)
    layer = model.layers[index]
    axis = unit_axis(layer)
    keep = check_mask(keep, (layer.params["W"].shape[axis],), f"keep for layer {index}")
    if not (keep & unit_keep_mask(model, index)).any():
        raise ValueError(
            f"keep would remove every unit of layer {index} ({layer!r}); "
            "structured pruning keeps at least one unit per layer"
        )
    masks = {f"{index}.W": expand_slices(keep, layer.params["W"].shape, axis), f"{index}.b": keep}
    bn = tied_batchnorm(model, index)
    if bn is not None:
        masks.update({f"{bn}.gamma": keep, f"{bn}.beta": keep})
    attach_masks(model, masks)


def _unit_scores(model, scores, layers, ord):

    if scores is None:
        resolved = unit_norm_scores(model, ord=ord, layers=layers)
    else:
        resolved = _resolve(model, scores, UNIT_SCORES, "unit", layers=layers)
    out = {}
    for i in layers:
        if i not in resolved:
            raise ValueError(f"scores has no entry for layer {i}; it has {sorted(resolved)}")
        units = model.layers[i].params["W"].shape[unit_axis(model.layers[i])]
        s = check_scores(resolved[i], f"scores[{i}]")
        if s.shape != (units,):
            raise ValueError(f"scores[{i}] must have one entry per unit, shape ({units},), got {s.shape}")
        out[i] = s
    return out


def prune_units(
    model, amount=None, *, sparsity=None, scores=None, layers=None, scope: str = "local", ord=2
) -> PruneReport:
    """Structured pruning in place: remove whole neurons (Dense) or filters (Conv2d).

    amount / sparsity: as in ``prune``, counted in units (still alive ones).
    scores: None (the ``ord``-norm of each unit's weights, like torch's
        ln_structured), a name from ``UNIT_SCORES`` that needs no data, a
        callable, or a dict layer index -> array (units,).
    layers: indices of Dense/Conv2d layers; default all but the output layer.
    scope: "local" (the same fraction in each layer) or "global" (rank all
        units together; only meaningful when scores are comparable).
    Refuses to remove the last unit of a layer (a layer with no units cannot
    compute anything): ValueError, and the model is left unchanged.
    A model with residual blocks is pruned by its dependency groups
    (``prune_groups``): a unit there may live in several layers at once.
    """
    _check_target(amount, sparsity)
    check_choice("scope", scope, SCOPES)
    check_sequential(model)
    if has_blocks(model):
        if layers is not None or scores is not None:
            raise ValueError(
                "this model has residual blocks, whose units are coupled across layers: prune them as groups "
                "with prune_groups(model, ..., groups=..., scores=...) (layers and unit scores do not apply)"
            )
        return prune_groups(model, amount, sparsity=sparsity, scope=scope, ord=ord)
    if layers is None and isinstance(scores, str) and scores in UNIT_SCORES and UNIT_SCORES[scores].default_layers:
        layers = UNIT_SCORES[scores].default_layers(model)  # e.g. only the layers a BatchNorm follows
    layers = check_layers(model, layers)
    check_scores_argument(scores, UNIT_SCORES, "unit")
    if not layers:
        raise ValueError("layers must list at least one Dense/Conv2d layer, got none")
    alive = {i: unit_keep_mask(model, i) for i in layers}
    scores = _unit_scores(model, scores, layers, ord)
    new = _new_masks(
        scores, alive, amount, sparsity, scope, lambda i: "the selected layers" if i is None else f"layer {i}"
    )
    for i, keep in new.items():
        if not keep.any():
            raise ValueError(
                f"pruning would remove every unit of layer {i} ({model.layers[i]!r}); "
                f"structured pruning keeps at least one unit per layer"
            )
    for i, keep in new.items():
        keep_units(model, i, keep)
    return PruneReport(
        "units",
        [
            PruneRow(f"{i} {type(model.layers[i]).__name__}", a.size, int(a.sum()), int(new[i].sum()))
            for i, a in alive.items()
        ],
    )


def prune_groups(
    model, amount=None, *, sparsity=None, groups=None, scores=None, scope: str = "local", reduce: str = "sum", ord=2
) -> PruneReport:
    """Structured pruning of dependency groups in place: every member of a pruned
    group (weight slices, bias and BatchNorm entries, the next layers' inputs) is
    masked at once, so ``shrink`` can remove the unit everywhere it lives.

    amount / sparsity: as in ``prune_units``, counted in groups (still alive ones).
    groups: default ``dependency_groups(model)``.
    scores: None (``group_importance``: the ``ord``-norms of the members, summed
        or averaged by ``reduce``), an array (one per group), or a callable
        ``(model, groups) -> array``.
    scope: "local" prunes the same fraction of each family (groups written by
        the same layers: one layer's free units, or one residual stream);
        "global" ranks all groups together.
    Refuses to remove every group of a family; the model is then unchanged.
    """
    _check_target(amount, sparsity)
    check_choice("scope", scope, SCOPES)
    groups = groups_of(model, groups)
    if callable(scores):
        scores = scores(model, groups)
    scores = group_importance(model, groups, ord=ord, reduce=reduce) if scores is None else scores
    scores = check_scores(scores, "scores")
    if scores.shape != (len(groups),):
        raise ValueError(f"scores must have one entry per group, shape ({len(groups)},), got {scores.shape}")
    families = {}
    for g, group in enumerate(groups):
        families.setdefault(group.producers or (f"group {g}",), []).append(g)
    alive = group_alive(model, groups)
    by_family = {key: np.array(members) for key, members in families.items()}
    new = _new_masks(
        {key: scores[idx] for key, idx in by_family.items()},
        {key: alive[idx] for key, idx in by_family.items()},
        amount,
        sparsity,
        scope,
        lambda key: "the groups" if key is None else _family_label(key),
    )
    for key, keep in new.items():
        if not keep.any():
            raise ValueError(f"pruning would remove every unit of {_family_label(key)}; keep at least one")
    remove = np.zeros(len(groups), dtype=bool)
    for key, idx in by_family.items():
        remove[idx] = alive[idx] & ~new[key]
    attach_masks(model, group_keep_masks(model, groups, remove))
    rows = [
        PruneRow(_family_label(key), idx.size, int(alive[idx].sum()), int(new[key].sum()))
        for key, idx in by_family.items()
    ]
    return PruneReport("groups", rows)


def _family_label(producers) -> str:
    """``"3.body.0"``, or ``"0 +4 coupled"`` for a residual stream written by five layers."""
    return producers[0] if len(producers) == 1 else f"{producers[0]} +{len(producers) - 1} coupled"


def masked_fraction(model, names=None) -> float:
    """Fraction of the entries of ``names`` (default: the prunable weights,
    as ``prune`` selects them) that masks prune."""
    names = check_parameter_names(model, names)
    if not names:
        raise ValueError("names must list at least one parameter, got none")
    masks = [current_mask(layer, key) for _, layer, key in (parse_name(model, n) for n in names)]
    return 1 - sum(int(m.sum()) for m in masks) / sum(m.size for m in masks)


def dead_unit_fraction(model, layers=None) -> float:
    """Fraction of the units of ``layers`` (default as ``prune_units``) that are structurally pruned;
    for a model with residual blocks, the fraction of its dependency groups that are."""
    if has_blocks(model) and layers is None:
        return 1 - float(group_alive(model, dependency_groups(model)).mean())
    layers = check_layers(model, layers)
    if not layers:
        raise ValueError("layers must list at least one Dense/Conv2d layer, got none")
    alive = [unit_keep_mask(model, i) for i in layers]
    return 1 - sum(int(a.sum()) for a in alive) / sum(a.size for a in alive)


def remove(model):
    """Make pruning permanent (like torch's ``prune.remove``): the pruned
    weights are already 0; drop the masks so training may move them again.
    Returns the model."""
    for layer in check_sequential(model).layers:
        layer.masks = {}
    return model


def is_pruned(model) -> bool:
    """True if any layer carries a mask."""
    return any(layer.masks for layer in check_sequential(model).layers)
