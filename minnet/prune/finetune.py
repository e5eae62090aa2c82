"""What to do after pruning: four ways to retrain the sparse network.

- ``"fine_tune"``: keep the pruned weights and continue at a small, constant
  learning rate (the classic recipe of Han et al. 2015);
- ``"lr_rewind"``: keep the pruned weights and retrain with the original
  learning-rate schedule from its start (Renda et al. 2020);
- ``"weight_rewind"``: put the kept weights back to their values at an early
  snapshot (epoch or step k; k = 0 is the initialisation: a lottery ticket,
  Frankle & Carbin 2019) and retrain with the original schedule;
- ``"reinit"``: draw fresh random weights for the kept connections and train
  from scratch with the original schedule: the control that asks whether
  the surviving *weights* mattered or only the *structure*.

The mask is the same in all four; only the starting weights and the learning
rate differ.
"""

from __future__ import annotations

import numbers

from ..train import fit
from ..utils import as_generator

STRATEGIES = ("fine_tune", "lr_rewind", "weight_rewind", "reinit")


def rewind_weights(model, state: dict) -> None:
    """Load the weights of a snapshot (``Snapshot.state`` or ``state_dict()``)
    but keep the model's current masks, so pruned weights stay 0."""
    masks = [dict(layer.masks) for layer in model.layers]
    values = {name: value for name, value in state.items() if not name.endswith("_mask")}
    model.load_state_dict(values)
    for layer, layer_masks in zip(model.layers, masks):
        layer.masks = layer_masks
        for key, mask in layer_masks.items():
            layer.params[key] *= mask


def reinitialize(model, rng=0) -> None:
    """Fresh random weights (and BatchNorm reset) for every layer, masks kept."""
    gen = as_generator(rng)
    for layer in model.layers:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters(gen)


def retrain(
    model,
    X,
    y,
    *,
    strategy: str,
    epochs: int,
    optimizer_factory,
    fine_tune_lr: float | None = None,
    snapshot: dict | None = None,
    rng=0,
    validation=None,
    batch_size: int = 64,
    verbose: bool = False,
):
    """Retrain a pruned ``model`` in place with one of ``STRATEGIES``; return the History.

    optimizer_factory: a callable returning a fresh optimizer with the
        original schedule, e.g. ``lambda: SGD(lr=0.1, momentum=0.9, schedule=cosine_schedule(20))``.
    fine_tune_lr: the constant learning rate of "fine_tune" (default: 1/10 of
        the factory's base learning rate, its schedule dropped).
    snapshot: the weights to rewind to, needed by "weight_rewind".
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if not callable(optimizer_factory):
        raise TypeError(
            f"optimizer_factory must be a callable returning an optimizer, got {type(optimizer_factory).__name__}"
        )
    if strategy == "weight_rewind" and not isinstance(snapshot, dict):
        raise ValueError("strategy 'weight_rewind' needs snapshot=<a state dict>, e.g. Snapshot(epoch=1).state")
    if fine_tune_lr is not None and (not isinstance(fine_tune_lr, numbers.Real) or not fine_tune_lr > 0):
        raise ValueError(f"fine_tune_lr must be a number > 0, got {fine_tune_lr!r}")
    optimizer = optimizer_factory()
    if strategy == "fine_tune":
        optimizer.lr = fine_tune_lr if fine_tune_lr is not None else optimizer.lr / 10
        optimizer.schedule = lambda epoch: 1.0
    elif strategy == "weight_rewind":
        rewind_weights(model, snapshot)
    elif strategy == "reinit":
        # a stream of its own: with the seed itself, reinit(rng=0) of a model built
        # with rng=0 would redraw the original initial weights (weight rewinding to 0)
        reinitialize(model, as_generator(rng).spawn(1)[0])
    return fit(
        model,
        X,
        y,
        epochs=epochs,
        optimizer=optimizer,
        batch_size=batch_size,
        validation=validation,
        rng=rng,
        verbose=verbose,
    )
