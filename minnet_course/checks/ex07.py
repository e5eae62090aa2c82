"""Checks for exercise 07, fine-tuning after pruning: weight rewinding under the
current masks, re-initialising the pruned structure, and comparing retraining
strategies.

``check_rewind`` and ``check_reinit`` build a small pruned MLP from ``seed``
(its weights moved away from the snapshot, as training would), call the
learner's function on it and inspect the result: masks, pruned entries, kept
entries, determinism. ``check_compare_retraining`` re-runs the recipe with
``minnet.prune.retrain`` (the reference; everything is seeded, so the same
recipe gives exactly the same accuracies) and names the key whose strategy
differs.
"""

from __future__ import annotations

import numpy as np

from minnet.layers import Dense
from minnet.optim import Adam
from minnet.prune.apply import prune
from minnet.prune.finetune import retrain
from minnet.train import evaluate
from minnet.zoo import mlp

from .. import feedback
from ..feedback import CheckFailed

STRATEGIES = ("fine_tune", "weight_rewind", "reinit")


def _pruned_model(seed: int, sizes, snapshot_pruned: bool):
    """A small MLP, a snapshot of it, and the same model "trained" (weights moved)
    and pruned; with ``snapshot_pruned`` the snapshot already carries older masks
    (taken after a first pruning round)."""
    rng = np.random.default_rng(seed)
    model = mlp(sizes, rng=seed)
    if snapshot_pruned:
        prune(model, sparsity=0.3)
    snapshot = model.state_dict()
    for layer in model.layers:
        for key, value in layer.params.items():
            value += (0.2 * rng.standard_normal(value.shape)).astype(value.dtype)
            if key in layer.masks:
                value *= layer.masks[key]
    prune(model, sparsity=0.6)
    return model, snapshot


def _masks(model):
    return [{key: mask.copy() for key, mask in layer.masks.items()} for layer in model.layers]


def _same_masks(model, masks) -> bool:
    return all(
        set(layer.masks) == set(before) and all(np.array_equal(layer.masks[k], before[k]) for k in before)
        for layer, before in zip(model.layers, masks)
    )


def _pruned_nonzero(model) -> list[str]:
    """Names of parameters with a nonzero entry where their mask prunes."""
    return [
        f"{i}.{key}"
        for i, layer in enumerate(model.layers)
        for key, mask in layer.masks.items()
        if np.any(layer.params[key][~mask] != 0)
    ]


# ------------------------------------------------------------------ task 1: rewind


def check_rewind(rewind, seed: int = 0, sizes=(10, 12, 12, 4), snapshot_pruned: bool = False) -> None:
    """``rewind(model, snapshot_state)`` puts every parameter back to its value in the
    snapshot, times the model's CURRENT mask: the masks do not change, pruned
    weights stay 0, kept weights (and biases) take the snapshot's values."""
    model, snapshot = _pruned_model(seed, sizes, snapshot_pruned)
    snapshot_copy = {name: value.copy() for name, value in snapshot.items()}
    masks, trained = _masks(model), model.state_dict()
    feedback.call(rewind, model, snapshot)
    if any(not np.array_equal(snapshot[n], snapshot_copy[n]) for n in snapshot_copy) or set(snapshot) != set(
        snapshot_copy
    ):
        raise CheckFailed(
            "your function changed the snapshot (e.g. `snapshot_state[name] *= mask`): later rewinds need it "
            "intact. Multiply into a new array: `snapshot_state[name] * mask`."
        )
    if not _same_masks(model, masks):
        lost = [f"{i}.{k}" for i, (layer, m) in enumerate(zip(model.layers, masks)) for k in m if k not in layer.masks]
        if lost:
            raise CheckFailed(
                f"the model lost its masks ({', '.join(lost)} have none now), so the pruned weights would grow back "
                "in training. Keep the current masks (`model.load_state_dict(snapshot)` would replace them with the "
                "snapshot's, and an early snapshot has none): copy only the values, times the current mask."
            )
        raise CheckFailed(
            "the masks changed: they are now the snapshot's (older) masks. `model.load_state_dict(snapshot)` "
            "loads masks too; rewinding keeps the CURRENT masks and only takes the values from the snapshot."
        )
    nonzero = _pruned_nonzero(model)
    if nonzero:
        raise CheckFailed(
            f"pruned weights are not 0 after rewinding (in {', '.join(nonzero)}): the snapshot was taken before "
            "pruning, so its values there are not 0. Multiply each rewound array by the current mask."
        )
    unchanged = [
        f"{i}.{key}"
        for i, layer in enumerate(model.layers)
        for key, value in layer.params.items()
        if np.array_equal(value, trained[f"{i}.{key}"])
    ]
    if len(unchanged) == sum(len(layer.params) for layer in model.layers):
        raise CheckFailed(
            "the weights are still the trained ones: nothing was rewound. Set every parameter to the snapshot's "
            "value (`snapshot_state['0.W']` for layer 0's W), times the current mask."
        )
    if unchanged:
        raise CheckFailed(
            f"{', '.join(unchanged)} still hold the trained values: rewind every parameter in the snapshot, "
            "biases too (a lottery ticket restarts from the early weights AND biases)."
        )
    for i, layer in enumerate(model.layers):
        for key, value in layer.params.items():
            name = f"{i}.{key}"
            expected = snapshot[name] * layer.masks[key] if key in layer.masks else snapshot[name]
            if not np.allclose(value, expected):
                raise CheckFailed(
                    f"{name} differs from the snapshot's value times the current mask; every parameter should be "
                    f"`snapshot_state['{name}'] * mask` (or the snapshot's value where there is no mask)."
                )
            if value.dtype != snapshot[name].dtype:
                raise CheckFailed(f"{name} changed dtype from {snapshot[name].dtype} to {value.dtype}")
            if np.shares_memory(value, snapshot[name]):
                raise CheckFailed(
                    f"{name} IS the snapshot's array (the same memory): training would then change the snapshot "
                    "too. Store a copy: `snapshot_state[name].copy()` (or `* mask`, which makes a new array)."
                )
    feedback.passed("rewind: every parameter back to the snapshot, current masks kept, pruned weights stay 0")


# ------------------------------------------------------------------ task 2: reinit


def _check_fresh_draw(reinit, seed: int, sizes) -> None:
    """On an unpruned model (every weight drawn, none selected by a mask), the new
    weights look like a fresh He-normal draw, in the layer's dtype: their size,
    layer by layer (fan-in, not fan-out) and over all layers (not another
    scheme's constant), within four standard errors, and normal, not uniform."""
    old = mlp(sizes, rng=seed + 100)
    new = old.copy()
    feedback.call(reinit, new, seed + 7)
    dense = [i for i, layer in enumerate(new.layers) if isinstance(layer, Dense)]
    for i in dense:
        for key, value in new.layers[i].params.items():
            if value.dtype != old.layers[i].params[key].dtype:
                raise CheckFailed(
                    f"layer {i}'s {key} is now {value.dtype}, it was {old.layers[i].params[key].dtype}: a fresh "
                    "layer keeps its dtype. Cast what you draw, `.astype(layer.params['W'].dtype)`."
                )
    ratios, pooled = {}, []
    for i in dense:
        layer = new.layers[i]
        w = layer.params["W"].astype(np.float64).ravel() / np.sqrt(2.0 / layer.in_features)
        ratios[i] = (float(np.sqrt(np.mean(w**2))), 4 / np.sqrt(2 * w.size))
        pooled.append(w)
    z = np.concatenate(pooled)
    rms = float(np.sqrt(np.mean(z**2)))
    if abs(rms - 1) > 4 / np.sqrt(2 * z.size):
        raise CheckFailed(
            f"over all layers, the new weights are {rms:.2f}x the size of a He-normal draw (std "
            "sqrt(2 / in_features)): another initialisation scheme (Xavier/Glorot uses 1 / in_features or "
            "2 / (in + out))?"
        )
    for i, (ratio, tolerance) in ratios.items():
        if abs(ratio - 1) > tolerance:
            layer = new.layers[i]
            raise CheckFailed(
                f"the new weights of layer {i} ({layer.in_features} inputs, {layer.out_features} outputs) have an "
                f"rms of {ratio:.2f}x sqrt(2 / in_features): a fresh layer draws them He normal, with std "
                "sqrt(2 / in_features) (fan-in, what `Dense.reset_parameters` does)."
            )
    if z.size >= 100 and np.max(np.abs(z)) <= 1.8 * rms:
        raise CheckFailed(
            "the new weights look uniformly distributed (none beyond 1.8 standard deviations): a fresh layer "
            "draws them from a NORMAL distribution, `gen.standard_normal(shape) * sqrt(2 / in_features)`."
        )


def check_reinit(reinit, seed: int = 0, sizes=(12, 12, 12, 4)) -> None:
    """``reinit(model, rng)`` draws fresh random weights for every layer (as a new
    layer would: He-normal weights, zero biases), keeps the masks, leaves pruned
    weights at 0, and gives the same weights for the same seed."""
    model, _ = _pruned_model(seed, sizes, snapshot_pruned=False)
    masks, trained = _masks(model), model.state_dict()
    first, again, other = model.copy(), model.copy(), model.copy()
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the learner does not use it
    feedback.call(reinit, first, seed)
    used_global = not np.array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002
    if not _same_masks(first, masks):
        raise CheckFailed(
            "the masks changed: re-initialising keeps the pruned structure (the masks) and only draws new values "
            "for the weights. Do not replace or drop `layer.masks`."
        )
    nonzero = _pruned_nonzero(first)
    if nonzero:
        raise CheckFailed(
            f"pruned weights are not 0 after reinit (in {', '.join(nonzero)}): you re-initialised the pruned "
            "weights too. Multiply the fresh weights by the layer's mask (a layer's own reset_parameters does it)."
        )
    dense = [i for i, layer in enumerate(first.layers) if isinstance(layer, Dense)]
    still = [i for i in dense if np.array_equal(first.layers[i].params["W"], trained[f"{i}.W"])]
    if still:
        which = "all layers" if still == dense else f"layer(s) {still}"
        extra = " (an unpruned layer is re-initialised too: the whole network trains from scratch)" * (
            still != dense and all("W" not in first.layers[i].masks for i in still)
        )
        raise CheckFailed(f"{which} still hold the trained weights: draw fresh random weights{extra}.")
    biased = [i for i in dense if np.any(first.layers[i].params["b"] != 0)]
    if biased:
        raise CheckFailed(
            f"the biases of layer(s) {biased} still hold values; a fresh Dense layer starts with zero biases "
            "(`reset_parameters` sets them to 0): reset them too."
        )
    _check_fresh_draw(reinit, seed, sizes)
    feedback.call(reinit, again, seed)
    if not all(np.array_equal(a, b) for (_, a), (_, b) in zip(first.named_parameters(), again.named_parameters())):
        cause = " np.random.* draws from NumPy's hidden global state;" if used_global else ""
        raise CheckFailed(
            f"not deterministic: two calls with the same seed gave different weights.{cause} draw every number "
            "from one generator made from `rng` (np.random.default_rng)."
        )
    feedback.call(reinit, other, seed + 1)
    if all(np.array_equal(a, b) for (_, a), (_, b) in zip(first.named_parameters(), other.named_parameters())):
        raise CheckFailed(
            "different seeds gave the same weights: your function ignores `rng`; make the generator from it."
        )
    same_shape = [
        (i, j)
        for i in dense
        for j in dense
        if i < j and first.layers[i].params["W"].shape == first.layers[j].params["W"].shape
    ]
    for i, j in same_shape:
        wi, wj = first.layers[i].params["W"], first.layers[j].params["W"]
        both = (wi != 0) & (wj != 0)
        if both.any() and np.array_equal(wi[both], wj[both]):
            raise CheckFailed(
                f"layers {i} and {j} got identical weights: you started a new generator from the same seed for "
                "each layer. Make ONE generator from `rng`, before the loop, and draw every layer from it."
            )
    feedback.passed("reinit: fresh weights under the same masks, pruned stay 0, same seed -> same weights")


# ------------------------------------------------------------------ task 3: compare_retraining


def _recipe(
    trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng, strategy, *, do_prune=True, do_retrain=True
):
    model = trained.copy()
    if do_prune:
        prune(model, sparsity=sparsity)
    if do_retrain:
        retrain(
            model,
            *train,
            strategy=strategy,
            epochs=epochs,
            optimizer_factory=optimizer_factory,
            snapshot=snapshot,
            rng=rng,
        )
    return evaluate(model, *val).accuracy


def check_compare_retraining(
    compare_retraining, trained, snapshot, train, val, sparsity: float = 0.8, epochs: int = 2, rng: int = 0
) -> None:
    """``compare_retraining(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng)``
    returns {"fine_tune": acc, "weight_rewind": acc, "reinit": acc}: for each
    strategy, a copy of ``trained`` pruned to ``sparsity`` (global magnitude),
    retrained with ``minnet.prune.retrain`` and evaluated on ``val``."""

    def optimizer_factory():
        return Adam(lr=3e-3)

    before = trained.state_dict()
    args = (trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng)
    got = feedback.call(compare_retraining, *args)
    after = trained.state_dict()
    if set(after) != set(before) or any(not np.array_equal(after[k], before[k]) for k in before):
        raise CheckFailed(
            "your function changed `trained`: it pruned (or trained) the trained model itself, so the next "
            "strategy started from an already pruned and retrained network. Work on a copy for each strategy: "
            "`model = trained.copy()`."
        )
    if not isinstance(got, dict):
        raise CheckFailed(f"return a dict {{strategy: accuracy}}, got {type(got).__name__}")
    if set(got) != set(STRATEGIES):
        raise CheckFailed(f"the dict should have exactly the keys {list(STRATEGIES)}, got {sorted(got)}")
    values = {}
    for key, value in got.items():
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"got[{key!r}] should be an accuracy (a number), got {type(value).__name__}")
        if not 0.0 <= value <= 1.0:
            hint = " (a percentage? return the fraction that `minnet.evaluate(...).accuracy` gives)" * (value > 1)
            raise CheckFailed(f"got[{key!r}] = {value} is not an accuracy in [0, 1]{hint}")
        values[key] = float(value)
    reference = {key: _recipe(*args, key) for key in STRATEGIES}
    wrong = [key for key in STRATEGIES if values[key] != reference[key]]
    if not wrong:
        text = ", ".join(f"{key} {value:.3f}" for key, value in values.items())
        feedback.passed(f"compare_retraining at sparsity {sparsity:g}: {text}")
        return
    key = wrong[0]
    for other in STRATEGIES:
        if other != key and values[key] == reference[other] != reference[key]:
            raise CheckFailed(
                f"got[{key!r}] is the accuracy the {other!r} strategy gives: the keys and the strategies are "
                f"mixed up. Use `retrain(..., strategy={key!r})` for the key {key!r}."
            )
    if values[key] == _recipe(*args, key, do_retrain=False):
        raise CheckFailed(
            f"got[{key!r}] is the accuracy of the pruned model before retraining: call `minnet.prune.retrain` "
            "on the pruned copy before evaluating it."
        )
    if values[key] == _recipe(*args, key, do_prune=False):
        raise CheckFailed(
            f"got[{key!r}] is what retraining gives WITHOUT pruning: prune the copy to the sparsity first, "
            "`minnet.prune.prune(model, sparsity=sparsity)`."
        )
    raise CheckFailed(
        f"got[{key!r}] = {values[key]:.4f}, the recipe of the task gives {reference[key]:.4f} (everything is "
        "seeded, so they must agree). Check, for this strategy: its own pruned copy of `trained`, the arguments "
        "passed on as given (epochs, optimizer_factory, snapshot, rng), and the VALIDATION data for the accuracy."
    )


feedback.guard_checks(globals())
