"""Correct and plausible wrong answers to exercise 07 (fine-tuning after pruning).

Each ``wrong_*`` function makes one mistake, named in its comment; the tests
assert that the check rejects it with the feedback meant for that mistake.
"""

import numpy as np

import minnet

# ------------------------------------------------------------------ task 1: rewind


def correct_rewind(model, snapshot_state):
    for i, layer in enumerate(model.layers):
        for key in layer.params:
            value = snapshot_state[f"{i}.{key}"].copy()
            if key in layer.masks:
                value = value * layer.masks[key]
            layer.params[key] = value


def wrong_rewind_load_state_dict(model, snapshot_state):
    # Mistake: loads the snapshot with its masks (none, or older ones): the current masks are lost.
    model.load_state_dict(snapshot_state)


def wrong_rewind_no_mask(model, snapshot_state):
    # Mistake: keeps the masks but does not multiply by them: pruned weights come back.
    for i, layer in enumerate(model.layers):
        for key in layer.params:
            layer.params[key] = snapshot_state[f"{i}.{key}"].copy()


def wrong_rewind_nothing(model, snapshot_state):
    # Mistake: re-applies the masks to the current weights; nothing is rewound.
    for layer in model.layers:
        for key, mask in layer.masks.items():
            layer.params[key] = layer.params[key] * mask


def wrong_rewind_weights_only(model, snapshot_state):
    # Mistake: rewinds the weights W but leaves the trained biases.
    for i, layer in enumerate(model.layers):
        if "W" in layer.params:
            layer.params["W"] = snapshot_state[f"{i}.W"] * layer.masks.get("W", True)


def wrong_rewind_aliases_snapshot(model, snapshot_state):
    # Mistake: stores the snapshot's own arrays where there is no mask, so training would change the snapshot.
    for i, layer in enumerate(model.layers):
        for key in layer.params:
            value = snapshot_state[f"{i}.{key}"]
            layer.params[key] = value * layer.masks[key] if key in layer.masks else value


def wrong_rewind_changes_snapshot(model, snapshot_state):
    # Mistake: masks the snapshot in place.
    for i, layer in enumerate(model.layers):
        for key in layer.params:
            name = f"{i}.{key}"
            if key in layer.masks:
                snapshot_state[name] *= layer.masks[key]
            layer.params[key] = snapshot_state[name].copy()


# ------------------------------------------------------------------ task 2: reinit


def correct_reinit(model, rng):
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters(gen)


def correct_reinit_by_hand(model, rng):
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        if isinstance(layer, minnet.Dense):
            W = gen.standard_normal(layer.params["W"].shape) * np.sqrt(2 / layer.in_features)
            layer.params["W"] = (W * layer.masks.get("W", True)).astype(layer.params["W"].dtype)
            layer.params["b"] = np.zeros_like(layer.params["b"])


def wrong_reinit_unmasked(model, rng):
    # Mistake: draws fresh weights everywhere, the pruned positions too.
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        if isinstance(layer, minnet.Dense):
            W = gen.standard_normal(layer.params["W"].shape) * np.sqrt(2 / layer.in_features)
            layer.params["W"] = W.astype(layer.params["W"].dtype)
            layer.params["b"] = np.zeros_like(layer.params["b"])


def wrong_reinit_unseeded(model, rng):
    # Mistake: a generator without the seed: not deterministic.
    gen = np.random.default_rng()
    for layer in model.layers:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters(gen)


def wrong_reinit_global_random(model, rng):
    # Mistake: draws from NumPy's global random state.
    for layer in model.layers:
        if isinstance(layer, minnet.Dense):
            W = np.random.randn(*layer.params["W"].shape) * np.sqrt(2 / layer.in_features)
            layer.params["W"] = (W * layer.masks.get("W", True)).astype(layer.params["W"].dtype)
            layer.params["b"] = np.zeros_like(layer.params["b"])


def wrong_reinit_seed_per_layer(model, rng):
    # Mistake: passes the int seed to every layer, so same-shaped layers get the same weights.
    for layer in model.layers:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters(rng)


def wrong_reinit_only_pruned_layers(model, rng):
    # Mistake: re-initialises only the layers that carry a mask; the output layer keeps its trained weights.
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        if layer.masks:
            layer.reset_parameters(gen)


def wrong_reinit_keeps_biases(model, rng):
    # Mistake: fresh weights, but the biases keep their trained values.
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        if isinstance(layer, minnet.Dense):
            W = gen.standard_normal(layer.params["W"].shape) * np.sqrt(2 / layer.in_features)
            layer.params["W"] = (W * layer.masks.get("W", True)).astype(layer.params["W"].dtype)


def wrong_reinit_ignores_seed(model, rng):
    # Mistake: always seed 0, whatever rng says.
    gen = np.random.default_rng(0)
    for layer in model.layers:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters(gen)


# ------------------------------------------------------------------ task 3: compare_retraining


def correct_compare_retraining(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng):
    results = {}
    for strategy in ("fine_tune", "weight_rewind", "reinit"):
        model = trained.copy()
        minnet.prune.prune(model, sparsity=sparsity)
        minnet.prune.retrain(
            model,
            *train,
            strategy=strategy,
            epochs=epochs,
            optimizer_factory=optimizer_factory,
            snapshot=snapshot,
            rng=rng,
        )
        results[strategy] = minnet.evaluate(model, *val).accuracy
    return results


def wrong_compare_swapped(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng):
    # Mistake: the strategies for "weight_rewind" and "reinit" are swapped.
    results = {}
    for key, strategy in (("fine_tune", "fine_tune"), ("weight_rewind", "reinit"), ("reinit", "weight_rewind")):
        model = trained.copy()
        minnet.prune.prune(model, sparsity=sparsity)
        minnet.prune.retrain(
            model,
            *train,
            strategy=strategy,
            epochs=epochs,
            optimizer_factory=optimizer_factory,
            snapshot=snapshot,
            rng=rng,
        )
        results[key] = minnet.evaluate(model, *val).accuracy
    return results


def wrong_compare_no_copy(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng):
    # Mistake: prunes and retrains `trained` itself, so each strategy starts from the previous one's result.
    results = {}
    for strategy in ("fine_tune", "weight_rewind", "reinit"):
        minnet.prune.prune(trained, sparsity=sparsity)
        minnet.prune.retrain(
            trained,
            *train,
            strategy=strategy,
            epochs=epochs,
            optimizer_factory=optimizer_factory,
            snapshot=snapshot,
            rng=rng,
        )
        results[strategy] = minnet.evaluate(trained, *val).accuracy
    return results


def wrong_compare_no_prune(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng):
    # Mistake: forgets to prune before retraining.
    results = {}
    for strategy in ("fine_tune", "weight_rewind", "reinit"):
        model = trained.copy()
        minnet.prune.retrain(
            model,
            *train,
            strategy=strategy,
            epochs=epochs,
            optimizer_factory=optimizer_factory,
            snapshot=snapshot,
            rng=rng,
        )
        results[strategy] = minnet.evaluate(model, *val).accuracy
    return results


def wrong_compare_percent(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng):
    # Mistake: reports percentages instead of fractions.
    return {
        k: 100 * v
        for k, v in correct_compare_retraining(
            trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng
        ).items()
    }


def wrong_compare_keys(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng):
    # Mistake: uses its own key names.
    out = correct_compare_retraining(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng)
    return {"finetune": out["fine_tune"], "rewind": out["weight_rewind"], "reinit": out["reinit"]}


def _reinit_with(model, rng, draw):
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        if isinstance(layer, minnet.Dense):
            W = draw(gen, layer)
            layer.params["W"] = (W * layer.masks.get("W", True)).astype(layer.params["W"].dtype)
            layer.params["b"] = np.zeros_like(layer.params["b"])


def wrong_reinit_xavier(model, rng):
    # Mistake: Glorot/Xavier normal, std sqrt(2 / (in + out)), not the layer's He normal.
    _reinit_with(
        model,
        rng,
        lambda g, layer: (
            g.standard_normal(layer.params["W"].shape) * np.sqrt(2 / (layer.in_features + layer.out_features))
        ),
    )


def wrong_reinit_fan_out(model, rng):
    # Mistake: std sqrt(2 / out_features) (fan-out) instead of sqrt(2 / in_features).
    _reinit_with(
        model, rng, lambda g, layer: g.standard_normal(layer.params["W"].shape) * np.sqrt(2 / layer.out_features)
    )


def wrong_reinit_uniform(model, rng):
    # Mistake: He UNIFORM (same std, limit sqrt(6 / in)), not He normal.
    _reinit_with(
        model, rng, lambda g, layer: g.uniform(-1, 1, layer.params["W"].shape) * np.sqrt(6 / layer.in_features)
    )


def wrong_reinit_float64(model, rng):
    # Mistake: the fresh weights stay float64 (no cast back to the layer's dtype).
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        if isinstance(layer, minnet.Dense):
            W = gen.standard_normal(layer.params["W"].shape) * np.sqrt(2 / layer.in_features)
            layer.params["W"] = W * layer.masks.get("W", True)
            layer.params["b"] = np.zeros(layer.params["b"].shape)
