"""Pruning: score, rank, mask or remove, schedule, retrain.

Array level (torch.nn.utils.prune semantics; True in a mask means KEPT):
``unstructured_mask``, ``structured_mask``, ``global_unstructured_masks``.
Model level: ``prune`` (weights), ``prune_units`` (neurons/filters),
``prune_groups`` (units coupled across layers, as ``dependency_groups``
finds them in residual networks), ``remove``; ``shrink`` physically removes
pruned units. Scores in
``minnet.prune.scores``, schedules in ``minnet.prune.schedules``; the loop
(``prune_loop``, ``Training``) and the ``GradualPruning`` callback in
``minnet.prune.loops``, with what one step prunes in ``minnet.prune.pruners``
(``WeightPruner``, ``UnitPruner``) and when the loop stops in
``minnet.prune.budgets``; retraining strategies in ``minnet.prune.finetune``.
"""

from ..anatomy import prunable_layers, unit_axis, unit_keep_mask, weight_names
from .apply import (
    PruneReport,
    attach_masks,
    dead_unit_fraction,
    is_pruned,
    keep_units,
    masked_fraction,
    prune,
    prune_groups,
    prune_units,
    remove,
)
from .budgets import Budget, MaxAccuracyDrop, MaxLatency, MaxMACs, MaxNonzeroParams, TargetSparsity
from .finetune import STRATEGIES, reinitialize, retrain, rewind_weights
from .groups import (
    Group,
    Member,
    dependency_groups,
    describe_groups,
    group_alive,
    group_importance,
    plot_groups,
)
from .loops import GradualPruning, LoopResult, Round, Training, prune_loop
from .masks import global_unstructured_masks, structured_mask, unstructured_mask
from .potential import excess_error, forgotten_examples, prune_potential
from .pruners import UnitPruner, WeightPruner
from .schedules import ConstantSparsity, FromFunction, Iterative, OneShot, PolynomialDecay, amount_to_prune, as_schedule
from .scores import (
    UNIT_SCORES,
    WEIGHT_SCORES,
    apoz_scores,
    batchnorm_scale_scores,
    gradient_scores,
    lamp_scores,
    magnitude_scores,
    mean_activation_scores,
    obd_scores,
    random_scores,
    snip_scores,
    taylor_scores,
    taylor_unit_scores,
    unit_norm_scores,
)
from .surgery import shrink
