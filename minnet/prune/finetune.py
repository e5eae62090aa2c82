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

from ..anatomy import check_sequential, restored_on_error
from ..model import MASK_SUFFIX
from ..optim import Optimizer
from ..train import check_training_data, fit
from ..utils import as_generator
from ..validate import check_bool, check_callable, check_choice, check_int, check_real

STRATEGIES = ("fine_tune", "lr_rewind", "weight_rewind", "reinit")


def rewind_weights(model, state: dict) -> None:
    """Load the weights of a snapshot (``Snapshot.state`` or ``state_dict()``)
    but keep the model's current masks, so pruned weights stay 0."""
    check_sequential(model)
    if not isinstance(state, dict):
        raise TypeError(f"state must be a state dict (Snapshot.state or state_dict()), got {type(state).__name__}")
    masks = [dict(layer.masks) for layer in model.layers]
    values = {name: value for name, value in state.items() if not name.endswith(MASK_SUFFIX)}
    model.load_state_dict(values)
    for layer, layer_masks in zip(model.layers, masks):
        layer.masks = layer_masks
        for key, mask in layer_masks.items():
            layer.params[key] *= mask


def reinitialize(model, rng=0) -> None:
    """Fresh random weights (and BatchNorm reset) for every layer, masks kept."""
    check_sequential(model)
    gen = as_generator(rng)
    for layer in model.layers:
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
    check_sequential(model)
    check_choice("strategy", strategy, STRATEGIES)
    check_int("epochs", epochs, low=1)
    check_int("batch_size", batch_size, low=1)
    check_bool("verbose", verbose)
    check_training_data(model, X, y, "training")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError(f"validation must be a pair (X_val, y_val), got {type(validation).__name__}")
        check_training_data(model, *validation, "validation")
    check_callable("optimizer_factory", optimizer_factory, "a callable returning a fresh optimizer")
    if snapshot is not None and not isinstance(snapshot, dict):
        raise TypeError(f"snapshot must be a state dict (e.g. Snapshot(epoch=1).state) or None, got {snapshot!r:.60}")
    if strategy == "weight_rewind" and not isinstance(snapshot, dict):
        raise ValueError("strategy 'weight_rewind' needs snapshot=<a state dict>, e.g. Snapshot(epoch=1).state")
    if fine_tune_lr is not None:
        check_real("fine_tune_lr", fine_tune_lr, low=0, low_inclusive=False)
    optimizer = optimizer_factory()
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer_factory must return a minnet Optimizer, got {type(optimizer).__name__}")
    gen = as_generator(rng)
    if strategy == "fine_tune":
        optimizer.use_constant_lr(fine_tune_lr if fine_tune_lr is not None else optimizer.lr / 10)
    with restored_on_error(model):  # a rewind or re-initialisation is undone too
        if strategy == "weight_rewind":
            rewind_weights(model, snapshot)
        elif strategy == "reinit":
            # a stream of its own: with the seed itself, reinit(rng=0) of a model built
            # with rng=0 would redraw the original initial weights (weight rewinding to 0)
            reinitialize(model, gen.spawn(1)[0])
        return fit(
            model,
            X,
            y,
            epochs=epochs,
            optimizer=optimizer,
            batch_size=batch_size,
            validation=validation,
            rng=gen,
            verbose=verbose,
        )
