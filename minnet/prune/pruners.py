"""Pruners: what one step of the pruning loop removes.

A pruner is called as ``pruner(model, sparsity)`` and prunes ``model`` in
place up to that target, returning the ``PruneReport``. ``WeightPruner``
removes single weights (``prune``), ``UnitPruner`` whole neurons and filters
(``prune_units``). Both say how far the model is pruned already
(``pruned_fraction``) and which network the loop should time and count MACs
on (``runnable``: the model itself, or for units the ``shrink``-ed network,
since a masked unit still costs its multiplications until it is removed).
``prune_loop`` and ``GradualPruning`` take either.
"""

from __future__ import annotations

from ..anatomy import check_layers, check_parameter_names
from ..validate import check_choice, check_indices, check_instance, check_names
from .apply import SCOPES, check_scores_argument, dead_unit_fraction, masked_fraction, prune, prune_units
from .scores import UNIT_SCORES, WEIGHT_SCORES
from .surgery import shrink


class WeightPruner:
    """Unstructured pruning: ``prune(model, sparsity=..., scores=..., scope=..., names=...)``.

    scores: as in ``prune``; a callable is called again at every step, on the
        current weights. scope: "global" (default) or "local".
    names: the parameters to prune; default the Dense/Conv2d weights except
        the output layer's, as ``prune`` selects them.
    """

    def __init__(self, scores=None, *, scope: str = "global", names=None):
        check_scores_argument(scores, WEIGHT_SCORES, "weight")
        self.scores, self.scope = scores, check_choice("scope", scope, SCOPES)
        self.names = check_names("names", names)

    def check(self, model) -> None:
        """Fail before any pruning if ``names`` do not fit ``model``."""
        check_parameter_names(model, self.names)

    def __call__(self, model, sparsity: float):
        return prune(model, sparsity=sparsity, scores=self.scores, scope=self.scope, names=self.names)

    def pruned_fraction(self, model) -> float:
        return masked_fraction(model, self.names)

    def runnable(self, model):
        return model

    def __repr__(self) -> str:
        return f"WeightPruner(scores={self.scores!r}, scope={self.scope!r}, names={self.names!r})"


class UnitPruner:
    """Structured pruning: ``prune_units(model, sparsity=..., scores=..., scope=..., layers=...)``.

    scores: as in ``prune_units``. scope: "local" (default: unit norms of
        different layers are not comparable) or "global".
    layers: indices of the Dense/Conv2d layers to prune; default all but the
        output layer.
    """

    def __init__(self, scores=None, *, scope: str = "local", layers=None):
        check_scores_argument(scores, UNIT_SCORES, "unit")
        self.scores, self.scope = scores, check_choice("scope", scope, SCOPES)
        self.layers = check_indices("layers", layers)

    def check(self, model) -> None:
        """Fail before any pruning if ``layers`` do not fit ``model``."""
        check_layers(model, self.layers)

    def __call__(self, model, sparsity: float):
        return prune_units(model, sparsity=sparsity, scores=self.scores, scope=self.scope, layers=self.layers)

    def pruned_fraction(self, model) -> float:
        return dead_unit_fraction(model, self.layers)

    def runnable(self, model):
        return shrink(model)

    def __repr__(self) -> str:
        return f"UnitPruner(scores={self.scores!r}, scope={self.scope!r}, layers={self.layers!r})"


def check_pruner(pruner):
    """``pruner`` as given, or ``WeightPruner()`` for None."""
    if pruner is None:
        return WeightPruner()
    return check_instance("pruner", pruner, (WeightPruner, UnitPruner), "a WeightPruner() or UnitPruner()")
