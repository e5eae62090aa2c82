"""The findings of the chapters, one small experiment each (see ``registry``).

Several findings read one experiment (its numbers for one seed), so the experiments are
cached per seed; ``registry.run`` copies what they return."""

from __future__ import annotations

import functools
import statistics

import numpy as np

import minnet
from minnet import prune as P

from .registry import finding

FINE_TUNE_LR = 3e-3


def _digits(seed: int):
    return minnet.data.load_digits(rng=seed)  # the seed draws the split


def _fit(model, data, seed: int, epochs: int, *, lr=1e-3, weight_decay=0.0, batch_size=32, callbacks=()):
    """Train ``model`` in place on ``data``'s training split with Adam; the seed draws the batches."""
    minnet.fit(model, data.X_train, data.y_train, epochs=epochs, batch_size=batch_size, rng=seed, verbose=False,
               optimizer=minnet.Adam(lr=lr, weight_decay=weight_decay), callbacks=list(callbacks))  # fmt: skip
    return model


@functools.lru_cache(maxsize=None)
def _trained(sizes: tuple, seed: int, epochs: int, batchnorm: bool, weight_decay: float):
    # several findings start from the same trained network: train it once per seed
    return _fit(minnet.mlp(list(sizes), batchnorm=batchnorm, rng=seed), _digits(seed), seed, epochs,
                weight_decay=weight_decay)  # fmt: skip


def _trained_mlp(sizes, seed: int, epochs: int = 25, batchnorm: bool = False, weight_decay: float = 0.0):
    """A copy of the chapters' MLP trained on ``_digits(seed)`` with Adam (lr 1e-3, batch 32); the seed
    draws the split, the weights and the batches."""
    return _trained(tuple(sizes), seed, epochs, batchnorm, weight_decay).copy()


@functools.lru_cache(maxsize=None)
def _trained_cnn(seed: int):
    data = minnet.data.load_digits(as_images=True, rng=seed)
    return _fit(minnet.small_cnn(batchnorm=True, rng=seed), data, seed, 10)


def _trained_small_cnn(seed: int):
    """A copy of chapter 09's CNN (BatchNorm, 10 epochs of Adam) trained once per seed, as ``_trained_mlp``."""
    return _trained_cnn(seed).copy()


def _accuracy(model, data) -> float:
    return minnet.evaluate(model, data.X_test, data.y_test).accuracy


def _fine_tuned(model, data, seed: int, epochs: int):
    P.retrain(model, data.X_train, data.y_train, strategy="fine_tune", fine_tune_lr=FINE_TUNE_LR, epochs=epochs,
              batch_size=32, optimizer_factory=lambda: minnet.Adam(lr=FINE_TUNE_LR), rng=seed)  # fmt: skip
    return model


def _pruned_accuracy(model, data, seed, sparsity, *, scores=None, epochs=0):
    pruned = model.copy()
    P.prune(pruned, sparsity=sparsity, scores=scores)
    if epochs:
        _fine_tuned(pruned, data, seed, epochs)
    return _accuracy(pruned, data)


# -- chapter 04: unstructured pruning --------------------------------------------------------------
@finding(
    "ch04",
    "global magnitude pruning of 90% of a 64-128-64-10 MLP's hidden weights, then 4 epochs of "
    "fine-tuning, keeps test accuracy within 5 points of the dense network",
    holds=lambda o: o["pruned"] >= o["dense"] - 0.05,
    at_least=0.8,
    seeds=10,
)
def magnitude_90_fine_tuned(seed):
    data = _digits(seed)
    model = _trained_mlp([64, 128, 64, 10], seed)
    return {"dense": _accuracy(model, data), "pruned": _pruned_accuracy(model, data, seed, 0.9, epochs=4)}


@finding(
    "ch04",
    "at 90%, with the same 4 epochs of fine-tuning, magnitude pruning ends more accurate than a random mask",
    holds=lambda o: o["magnitude"] > o["random"],
    at_least=0.8,
    seeds=10,
)
def magnitude_beats_random_90(seed):
    data = _digits(seed)
    model = _trained_mlp([64, 128, 64, 10], seed)
    random = lambda m: P.random_scores(m, rng=seed)  # noqa: E731
    return {
        "magnitude": _pruned_accuracy(model, data, seed, 0.9, epochs=4),
        "random": _pruned_accuracy(model, data, seed, 0.9, scores=random, epochs=4),
    }


@functools.lru_cache(maxsize=None)
def _masks_04(seed):
    """Chapter 04, sections 1-3: the chapter's MLP (Adam with weight decay 0.01, 25 epochs); the share of its
    hidden weights below 0.02 in magnitude before and after training, and after 80% global magnitude
    pruning the share of first-layer connections kept by rarely inked pixels (< 10% of the digits) and
    by the others."""
    data = _digits(seed)
    init = minnet.mlp([64, 128, 64, 10], rng=seed)
    reference = _trained_mlp([64, 128, 64, 10], seed, weight_decay=1e-2)
    out = {}
    for label, model in (("small at initialisation", init), ("small after training", reference)):
        w = np.concatenate([model.layers[i].params["W"].ravel() for i in (0, 2)])
        out[label] = float(np.mean(np.abs(w) < 0.02))
    P.prune(reference, sparsity=0.8)
    mask = reference.layers[0].masks["W"]
    rare = (data.X_train > data.X_train.min()).mean(axis=0) < 0.1
    out["kept by rare pixels"], out["kept by the others"] = float(mask[rare].mean()), float(mask[~rare].mean())
    return out


@finding(
    "ch04",
    "training with weight decay more than triples the share of hidden weights below 0.02 in magnitude",
    holds=lambda o: o["small after training"] > 3 * o["small at initialisation"],
    at_least=0.8,
    seeds=10,
    sides=("small at initialisation", "small after training"),
)
def weight_decay_makes_weights_small(seed):
    return _masks_04(seed)


@finding(
    "ch04",
    "at 80%, pixels inked in fewer than 10% of the digits keep under 0.6 times the share of first-layer "
    "connections the other pixels keep",
    holds=lambda o: o["kept by rare pixels"] < 0.6 * o["kept by the others"],
    at_least=0.8,
    seeds=10,
    sides=("kept by rare pixels", "kept by the others"),
)
def rarely_inked_pixels_lose_most(seed):
    return _masks_04(seed)


# -- chapter 06: the pruning loop and schedules ----------------------------------------------------
@finding(
    "ch06",
    "at 95% (a 64-32-32-10 MLP, 8 epochs of training in all) iterative pruning in 4 rounds and one-shot "
    "pruning cannot be told apart: they end within 5 points of each other, either way round",
    holds=lambda o: abs(o["iterative"] - o["one-shot"]) < 0.05,
    at_least=0.5,
    seeds=10,
)
def iterative_vs_one_shot_95(seed):
    data = _digits(seed)
    model = _trained_mlp([64, 32, 32, 10], seed)
    one_shot = _pruned_accuracy(model, data, seed, 0.95, epochs=8)
    iterative = model.copy()
    retraining = P.Training(data.X_train, data.y_train, epochs=2, batch_size=32,
                            optimizer_factory=lambda: minnet.Adam(lr=FINE_TUNE_LR), rng=seed)  # fmt: skip
    P.prune_loop(iterative, schedule=P.Iterative.to_target(0.95, 4), validation=(data.X_val, data.y_val),
                 retrain=retraining, verbose=False)  # fmt: skip
    return {"one-shot": one_shot, "iterative": _accuracy(iterative, data)}


@functools.lru_cache(maxsize=None)
def _schedules_at(final, seed):
    """Chapter 06, section 4: one-shot, iterative and gradual pruning of the chapter's MLP to
    ``final`` sparsity, each with 12 epochs of training; their test accuracies."""
    data = _digits(seed)
    X, y = data.X_train, data.y_train
    val = (data.X_val, data.y_val)
    dense = _trained_mlp([64, 128, 64, 10], seed, epochs=20)

    def optimizer():
        return minnet.Adam(lr=3e-3)

    one = dense.copy()
    P.prune_loop(one, schedule=P.OneShot(final), validation=val, verbose=False,
                 retrain=P.Training(X, y, epochs=12, optimizer_factory=optimizer, rng=seed))  # fmt: skip
    iterative = dense.copy()
    P.prune_loop(iterative, schedule=P.Iterative.to_target(final, rounds=4), validation=val, verbose=False,
                 retrain=P.Training(X, y, epochs=3, optimizer_factory=optimizer, rng=seed))  # fmt: skip
    gradual = dense.copy()
    decay = P.PolynomialDecay(0.0, final, begin_step=0, end_step=150, power=3, frequency=10)
    minnet.fit(gradual, X, y, epochs=12, batch_size=64, optimizer=optimizer(), rng=seed,
               callbacks=[P.GradualPruning(decay)], verbose=False)  # fmt: skip
    return {"one-shot": _accuracy(one, data), "iterative": _accuracy(iterative, data),
            "gradual": _accuracy(gradual, data)}  # fmt: skip


@finding(
    "ch06",
    "at 98% with the same 12 epochs of training, iterative pruning (4 rounds) ends more accurate than one-shot",
    holds=lambda o: o["iterative"] > o["one-shot"],
    at_least=0.8,
    seeds=10,
    sides=("iterative", "one-shot"),
)
def iterative_beats_one_shot_98(seed):
    return _schedules_at(0.98, seed)


@finding(
    "ch06",
    "at 98% with the same 12 epochs of training, gradual pruning (polynomial decay) ends more accurate than one-shot",
    holds=lambda o: o["gradual"] > o["one-shot"],
    at_least=0.8,
    seeds=10,
    sides=("gradual", "one-shot"),
)
def gradual_beats_one_shot_98(seed):
    return _schedules_at(0.98, seed)


@finding(
    "ch06",
    "at 90% with the same 12 epochs of training, one-shot, iterative and gradual pruning end within 3 points "
    "of each other",
    holds=lambda o: max(o.values()) - min(o.values()) < 0.03,
    at_least=0.8,
    seeds=10,
)
def schedules_close_at_90(seed):
    return _schedules_at(0.9, seed)


@finding(
    "ch06",
    "iterative pruning to 98% in 6 rounds ends higher with 3 epochs of training per round than with 1, and with 1 "
    "over 30 points higher than with none",
    holds=lambda o: o["3 epochs"] > o["1 epoch"] > o["0 epochs"] + 0.3,
    at_least=0.8,
    seeds=10,
)
def more_epochs_per_round_end_higher(seed):
    data = _digits(seed)
    dense = _trained_mlp([64, 128, 64, 10], seed, epochs=20)
    out = {}
    for epochs in (0, 1, 3):
        model = dense.copy()
        retraining = P.Training(data.X_train, data.y_train, epochs=epochs,
                                optimizer_factory=lambda: minnet.Adam(lr=3e-3), rng=seed)  # fmt: skip
        P.prune_loop(model, schedule=P.Iterative.to_target(0.98, rounds=6), validation=(data.X_val, data.y_val),
                     retrain=retraining, verbose=False)  # fmt: skip
        out[f"{epochs} epoch{'s' if epochs != 1 else ''}"] = _accuracy(model, data)
    return out


# -- chapter 03: importance scoring ----------------------------------------------------------------
UNIT_SCORES = ("unit norm", "mean activation", "APoZ", "Taylor per unit", "BN scale")


@functools.lru_cache(maxsize=None)
def _weight_scores_at_80(seed):
    """Chapter 03, section 3: validation accuracy of the chapter's MLP after one-shot global pruning of
    80% of its hidden weights by each weight score, no fine-tuning."""
    data = _digits(seed)
    model = _trained_mlp([64, 128, 64, 10], seed, epochs=20)
    X, y = data.X_train[:256], data.y_train[:256]
    scores = {
        "magnitude": P.magnitude_scores(model),
        "random": P.random_scores(model, rng=seed),
        "gradient": P.gradient_scores(model, X, y),
        "Taylor": P.taylor_scores(model, X, y),
        "OBD": P.obd_scores(model, X, y, batch_size=1),
        "LAMP": P.lamp_scores(model),
    }
    out = {}
    for label, score in scores.items():
        pruned = model.copy()
        P.prune(pruned, sparsity=0.8, scores=score, scope="global")
        out[label] = minnet.evaluate(pruned, data.X_val, data.y_val).accuracy
    return out


@functools.lru_cache(maxsize=None)
def _unit_scores_at(seed):
    """Chapter 03, section 5: validation accuracy of the chapter's BatchNorm MLP after removing 25% and
    50% of each hidden layer's neurons by each unit score (random: the mean of 5 draws), no fine-tuning."""
    data = _digits(seed)
    model = _trained_mlp([64, 128, 64, 10], seed, epochs=20, batchnorm=True)
    X, y = data.X_train[:256], data.y_train[:256]
    scores = {
        "unit norm": P.unit_norm_scores(model),
        "mean activation": P.mean_activation_scores(model, X),
        "APoZ": P.apoz_scores(model, X),
        "Taylor per unit": P.taylor_unit_scores(model, X, y),
        "BN scale": P.batchnorm_scale_scores(model),
    }
    gen = np.random.default_rng(seed)
    draws = [{i: gen.random(len(s)) for i, s in scores["unit norm"].items()} for _ in range(5)]

    def accuracy(score, fraction):
        pruned = model.copy()
        P.prune_units(pruned, amount=fraction, scores=score, scope="local")
        return minnet.evaluate(pruned, data.X_val, data.y_val).accuracy

    out = {}
    for fraction in (0.25, 0.5):
        for label, score in scores.items():
            out[f"{label} {fraction:.0%}"] = accuracy(score, fraction)
        out[f"random {fraction:.0%}"] = float(np.mean([accuracy(d, fraction) for d in draws]))
    return out


@finding(
    "ch03",
    "at 80% without fine-tuning, magnitude pruning keeps over 30 points more accuracy than random",
    holds=lambda o: o["magnitude"] > o["random"] + 0.3,
    at_least=0.8,
    seeds=10,
    sides=("magnitude", "random"),
)
def magnitude_beats_random_80(seed):
    return _weight_scores_at_80(seed)


@finding(
    "ch03",
    "at 80% without fine-tuning, magnitude beats Taylor, which beats the bare gradient",
    holds=lambda o: o["magnitude"] > o["Taylor"] > o["gradient"],
    at_least=0.8,
    seeds=10,
    sides=("magnitude", "Taylor", "gradient"),
)
def magnitude_taylor_gradient_order_80(seed):
    return _weight_scores_at_80(seed)


@finding(
    "ch03",
    "at 80% without fine-tuning, the bare gradient prunes no better than random: within 15 points",
    holds=lambda o: abs(o["gradient"] - o["random"]) < 0.15,
    at_least=0.5,
    seeds=10,
    sides=("gradient", "random"),
)
def gradient_like_random_80(seed):
    return _weight_scores_at_80(seed)


@finding(
    "ch03",
    "at 80% without fine-tuning, OBD and LAMP end within 20 points of magnitude, either way",
    holds=lambda o: max(abs(o["OBD"] - o["magnitude"]), abs(o["LAMP"] - o["magnitude"])) < 0.2,
    at_least=0.6,
    seeds=10,
    sides=("magnitude", "OBD", "LAMP"),
)
def obd_lamp_near_magnitude_80(seed):
    return _weight_scores_at_80(seed)


@finding(
    "ch03",
    "removing 25% of a BatchNorm MLP's neurons by BN scale keeps more accuracy than random ones",
    holds=lambda o: o["BN scale 25%"] > o["random 25%"],
    at_least=0.6,
    seeds=10,
    sides=("BN scale 25%", "random 25%"),
)
def bn_scale_beats_random_units_25(seed):
    return _unit_scores_at(seed)


@finding(
    "ch03",
    "at 25% of the neurons, BN scale is the best of the five unit scores",
    holds=lambda o: all(o["BN scale 25%"] >= o[f"{s} 25%"] for s in UNIT_SCORES),
    at_least=0.3,
    seeds=10,
    sides=tuple(f"{s} 25%" for s in UNIT_SCORES),
)
def bn_scale_best_units_25(seed):
    return _unit_scores_at(seed)


@finding(
    "ch03",
    "at 50% of the neurons, BN scale keeps more accuracy than random ones",
    holds=lambda o: o["BN scale 50%"] > o["random 50%"],
    at_least=0.5,
    seeds=10,
    sides=("BN scale 50%", "random 50%"),
)
def bn_scale_beats_random_units_50(seed):
    return _unit_scores_at(seed)


@finding(
    "ch03",
    "at 25% of the neurons, unit norm, mean activation and Taylor per unit are not distinguishable "
    "from random: within 10 points of it",
    at_least=0.6,
    seeds=10,
    holds=lambda o: all(
        abs(o[f"{s} 25%"] - o["random 25%"]) < 0.1 for s in ("unit norm", "mean activation", "Taylor per unit")
    ),
    sides=("unit norm 25%", "mean activation 25%", "Taylor per unit 25%", "random 25%"),
)
def unit_scores_like_random_25(seed):
    return _unit_scores_at(seed)


@finding(
    "ch03",
    "at 25% of the neurons, APoZ keeps less accuracy than random ones",
    holds=lambda o: o["APoZ 25%"] < o["random 25%"],
    at_least=0.6,
    seeds=10,
    sides=("APoZ 25%", "random 25%"),
)
def apoz_below_random_25(seed):
    return _unit_scores_at(seed)


@finding(
    "ch03",
    "a mask chosen by SNIP at initialisation (95% of the hidden weights) trains in 10 epochs to no better than a "
    "random mask of the same sparsity: at most 2 points above it",
    holds=lambda o: o["SNIP"] <= o["random"] + 0.02,
    at_least=0.6,
    seeds=10,
)
def snip_no_better_than_random(seed):
    data = _digits(seed)
    out = {}
    for label in ("SNIP", "random"):
        fresh = minnet.mlp([64, 128, 64, 10], rng=seed)
        X, y = data.X_train[:256], data.y_train[:256]
        scores = P.snip_scores(fresh, X, y) if label == "SNIP" else P.random_scores(fresh, rng=seed)
        P.prune(fresh, sparsity=0.95, scores=scores)
        _fit(fresh, data, seed, 10)
        out[label] = minnet.evaluate(fresh, data.X_val, data.y_val).accuracy
    return out


@functools.lru_cache(maxsize=None)
def _ranking_at_90(seed):
    """Chapter 03, section 6: validation accuracy of the chapter's MLP pruned to 90% of all its weights
    (output layer included, no fine-tuning) by global magnitude, local magnitude and global LAMP."""
    data = _digits(seed)
    model = _trained_mlp([64, 128, 64, 10], seed, epochs=20)
    names = P.weight_names(model, include_output=True)
    ways = {
        "global magnitude": (P.magnitude_scores(model, names=names), "global"),
        "local magnitude": (P.magnitude_scores(model, names=names), "local"),
        "global LAMP": (P.lamp_scores(model, names=names), "global"),
    }
    out = {}
    for label, (scores, scope) in ways.items():
        pruned = model.copy()
        P.prune(pruned, sparsity=0.9, names=names, scores=scores, scope=scope)
        out[label] = minnet.evaluate(pruned, data.X_val, data.y_val).accuracy
    return out


@finding(
    "ch03",
    "at 90% of all the weights (output layer included, no fine-tuning), global LAMP keeps more accuracy than "
    "global and local magnitude",
    holds=lambda o: o["global LAMP"] > max(o["global magnitude"], o["local magnitude"]),
    at_least=0.6,
    seeds=20,
)
def lamp_keeps_most_at_90(seed):
    return _ranking_at_90(seed)


@finding(
    "ch03",
    "at 90% of all the weights, local magnitude is not always the worse of the two magnitude rankings: it does "
    "at least as well as global magnitude",
    holds=lambda o: o["local magnitude"] >= o["global magnitude"],
    at_least=0.1,
    seeds=20,
    sides=("global magnitude", "local magnitude"),
)
def local_magnitude_not_always_worst(seed):
    return _ranking_at_90(seed)


# -- chapter 10: trade-offs in practice ------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _tradeoffs(seed):
    """Chapter 10: the dense MLP (25 epochs), the same pruned early (half of the neurons after 3 epochs,
    shrunk, 22 more epochs) and unstructured (90% global magnitude, 4 epochs of fine-tuning); test
    accuracy clean and under noise and rotation at severity 3, and each pruned network's excess error."""
    data = _digits(seed)
    dense = _trained_mlp([64, 128, 64, 10], seed)
    early = _trained_mlp([64, 128, 64, 10], seed, epochs=3)
    P.prune_units(early, sparsity=0.5)
    early = P.shrink(early)
    _fit(early, data, seed + 1, 22)
    unstructured = dense.copy()
    P.prune(unstructured, sparsity=0.9)
    _fit(unstructured, data, seed + 2, 4)
    tests = {"clean": data.X_test} | {
        kind: minnet.data.shift(data.X_test, kind, 3, rng=seed + 1) for kind in ("noise", "rotation")
    }
    out = {}
    for name, model in (("dense", dense), ("early", early), ("unstructured", unstructured)):
        for kind, X in tests.items():
            out[f"{name} {kind}"] = minnet.evaluate(model, X, data.y_test).accuracy
    for name in ("early", "unstructured"):
        for kind in ("noise", "rotation"):
            out[f"{name} excess {kind}"] = float(
                P.excess_error(
                    [out[f"{name} clean"]], [out[f"{name} {kind}"]], out["dense clean"], out[f"dense {kind}"]
                )[0]
            )
    return out


@finding(
    "ch10",
    "half of the neurons removed after 3 of 25 epochs costs at most 2 points of test accuracy",
    holds=lambda o: o["early clean"] >= o["dense clean"] - 0.02,
    at_least=0.8,
    seeds=10,
    sides=("dense clean", "early clean"),
)
def early_pruning_keeps_accuracy(seed):
    return _tradeoffs(seed)


@finding(
    "ch10",
    "90% unstructured pruning with 4 epochs of fine-tuning loses between 2 and 7 points of test accuracy",
    holds=lambda o: 0.02 <= o["dense clean"] - o["unstructured clean"] <= 0.07,
    at_least=0.8,
    seeds=10,
    sides=("dense clean", "unstructured clean"),
)
def unstructured_90_loss(seed):
    return _tradeoffs(seed)


@finding(
    "ch10",
    "the 90% unstructured network's excess error under noise (severity 3) is positive",
    holds=lambda o: o["unstructured excess noise"] > 0,
    at_least=0.8,
    seeds=10,
    sides=("unstructured excess noise",),
)
def unstructured_excess_noise(seed):
    return _tradeoffs(seed)


@finding(
    "ch10",
    "the 90% unstructured network's excess error under rotation (severity 3) is positive",
    holds=lambda o: o["unstructured excess rotation"] > 0,
    at_least=0.4,
    seeds=10,
    sides=("unstructured excess rotation",),
)
def unstructured_excess_rotation(seed):
    return _tradeoffs(seed)


@finding(
    "ch10",
    "the network pruned early has a small excess error under noise and rotation: within 7 points of zero",
    holds=lambda o: max(abs(o["early excess noise"]), abs(o["early excess rotation"])) < 0.07,
    at_least=0.8,
    seeds=10,
    sides=("early excess noise", "early excess rotation"),
)
def early_excess_small(seed):
    return _tradeoffs(seed)


# -- chapter 04, section 5: how many weights can go -------------------------------------------------
SPARSITIES_04 = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


@functools.lru_cache(maxsize=None)
def _sparsity_curve(seed):
    """Chapter 04, section 5: test accuracy of the chapter's MLP (Adam with weight decay, 25 epochs) after
    global magnitude pruning to each sparsity, right after pruning and after a 5-epoch fine-tune; and how
    far each stays within one point of the unpruned network ("reach", on this grid of sparsities)."""
    data = _digits(seed)
    reference = _trained_mlp([64, 128, 64, 10], seed, weight_decay=1e-2)
    out = {"dense": _accuracy(reference, data)}
    for s in SPARSITIES_04:
        pruned = reference.copy()
        P.prune(pruned, sparsity=s)
        out[f"one-shot {s:.0%}"] = _accuracy(pruned, data)
        P.retrain(pruned, data.X_train, data.y_train, strategy="fine_tune", epochs=5, fine_tune_lr=3e-4,
                  optimizer_factory=lambda: minnet.Adam(lr=1e-3, weight_decay=1e-2), batch_size=32,
                  rng=seed)  # fmt: skip
        out[f"fine-tuned {s:.0%}"] = _accuracy(pruned, data)
    for kind in ("one-shot", "fine-tuned"):
        within = [s for s in SPARSITIES_04 if out[f"{kind} {s:.0%}"] >= out["dense"] - 0.01]
        out[f"{kind} reach"] = max(within, default=0.0)
    return out


@finding(
    "ch04",
    "with a 5-epoch fine-tune, 80% or more of the hidden weights can go for at most one point of test accuracy",
    holds=lambda o: o["fine-tuned reach"] >= 0.8,
    at_least=0.3,
    seeds=10,
    sides=("fine-tuned reach", "one-shot reach"),
)
def fine_tuned_reach_80(seed):
    return _sparsity_curve(seed)


@finding(
    "ch04",
    "a 5-epoch fine-tune lets more weights go within one point than pruning alone",
    holds=lambda o: o["fine-tuned reach"] > o["one-shot reach"],
    at_least=0.5,
    seeds=10,
    sides=("fine-tuned reach", "one-shot reach"),
)
def fine_tuning_reaches_further(seed):
    return _sparsity_curve(seed)


@finding(
    "ch04",
    "from 90% on, the fine-tuned network beats the one only pruned, and both fall off a cliff: one-shot loses "
    "over 10 points at 95%, the fine-tuned one at 98%",
    holds=lambda o: (
        all(o[f"fine-tuned {s:.0%}"] >= o[f"one-shot {s:.0%}"] for s in (0.9, 0.95, 0.98))
        and o["one-shot 95%"] < o["dense"] - 0.1
        and o["fine-tuned 98%"] < o["dense"] - 0.1
    ),
    at_least=0.8,
    seeds=10,
    sides=("dense", "one-shot 95%", "fine-tuned 95%", "fine-tuned 98%"),
)
def the_cliff(seed):
    return _sparsity_curve(seed)


# -- chapter 07: retraining after pruning ----------------------------------------------------------
SPARSITIES_07 = (0.8, 0.9, 0.95, 0.98)


@functools.lru_cache(maxsize=None)
def _strategies(seed):
    """Chapter 07: the chapter's MLP (64-64-32-10, SGD with a cosine schedule, 10 epochs, snapshots after
    epochs 0, 1, 2) pruned to each sparsity and retrained 10 epochs by each strategy (rewinding to epoch
    1); at 98% also weight rewinding to epochs 0 and 2. Test accuracies."""
    data = _digits(seed)

    def optimizer():
        return minnet.SGD(lr=0.05, momentum=0.9, schedule=minnet.cosine_schedule(10))

    trained = minnet.mlp([64, 64, 32, 10], rng=seed)
    snapshots = {k: minnet.Snapshot(epoch=k) for k in (0, 1, 2)}
    minnet.fit(trained, data.X_train, data.y_train, epochs=10, batch_size=64, optimizer=optimizer(), rng=seed,
               callbacks=list(snapshots.values()), verbose=False)  # fmt: skip

    def retrained(sparsity, strategy, snapshot):
        model = trained.copy()
        P.prune(model, sparsity=sparsity)
        P.retrain(model, data.X_train, data.y_train, strategy=strategy, epochs=10, optimizer_factory=optimizer,
                  snapshot=snapshot, rng=seed + 1)  # fmt: skip
        return _accuracy(model, data)

    out = {
        f"{strategy} {s:.0%}": retrained(s, strategy, snapshots[1].state)
        for s in SPARSITIES_07
        for strategy in P.STRATEGIES
    }
    for k in (0, 2):
        out[f"weight_rewind to epoch {k} 98%"] = retrained(0.98, "weight_rewind", snapshots[k].state)
    return out


def _strategy_spread(o, sparsity):
    values = [o[f"{name} {sparsity}"] for name in P.STRATEGIES]
    return max(values) - min(values)


@finding(
    "ch07",
    "at 95% and 98%, learning-rate rewinding ends above fine-tuning, and weight rewinding above re-initialisation",
    holds=lambda o: all(
        o[f"lr_rewind {s}"] > o[f"fine_tune {s}"] and o[f"weight_rewind {s}"] > o[f"reinit {s}"] for s in ("95%", "98%")
    ),
    at_least=0.8,
    seeds=10,
    sides=("lr_rewind 98%", "fine_tune 98%", "weight_rewind 98%", "reinit 98%"),
)
def rewinding_beats_its_control(seed):
    return _strategies(seed)


@finding(
    "ch07",
    "at 98%, re-initialisation ends over 10 points below both rewinding strategies, and over 15 below weight "
    "rewinding to epoch 0, 1 or 2",
    holds=lambda o: (
        o["reinit 98%"] < min(o["lr_rewind 98%"], o["weight_rewind 98%"]) - 0.1
        and min(o["weight_rewind 98%"], o["weight_rewind to epoch 0 98%"], o["weight_rewind to epoch 2 98%"])
        > o["reinit 98%"] + 0.15
    ),
    at_least=0.6,
    seeds=10,
    sides=("reinit 98%", "weight_rewind to epoch 0 98%", "weight_rewind 98%", "weight_rewind to epoch 2 98%"),
)
def reinit_falls_behind_at_98(seed):
    return _strategies(seed)


@finding(
    "ch07",
    "at 98%, fine-tuning ends above re-initialisation",
    holds=lambda o: o["fine_tune 98%"] > o["reinit 98%"],
    at_least=0.6,
    seeds=10,
    sides=("fine_tune 98%", "reinit 98%"),
)
def fine_tune_above_reinit_98(seed):
    return _strategies(seed)


@finding(
    "ch07",
    "at 80% the four strategies end within 5 points of each other; at 98% they are further apart",
    holds=lambda o: _strategy_spread(o, "80%") < 0.05 < _strategy_spread(o, "98%"),
    at_least=0.6,
    seeds=10,
    sides=tuple(f"{name} 80%" for name in ("fine_tune", "lr_rewind", "weight_rewind", "reinit")),
)
def strategies_close_at_80(seed):
    return _strategies(seed)


@finding(
    "ch07",
    "at 95% and 98%, both learning-rate rewinding and weight rewinding end above fine-tuning",
    holds=lambda o: all(
        min(o[f"lr_rewind {s}"], o[f"weight_rewind {s}"]) > o[f"fine_tune {s}"] for s in ("95%", "98%")
    ),
    at_least=0.8,
    seeds=10,
    sides=(
        "fine_tune 95%",
        "lr_rewind 95%",
        "weight_rewind 95%",
        "fine_tune 98%",
        "lr_rewind 98%",
        "weight_rewind 98%",
    ),
)
def both_rewinds_beat_fine_tuning(seed):
    return _strategies(seed)


# -- chapter 05: structured against unstructured at equal parameters -------------------------------
FRACTIONS_05 = (0.25, 0.5, 0.625, 0.75, 0.875)


@functools.lru_cache(maxsize=None)
def _equal_parameters(seed):
    """Chapter 05, section 4: the chapter's MLP with a fraction of its hidden neurons removed and shrunk,
    against the same MLP with as many single weights pruned (global magnitude), both fine-tuned 5 epochs.
    Test accuracies, and the dense network's."""
    data = _digits(seed)
    reference = _trained_mlp([64, 128, 64, 10], seed, weight_decay=1e-2)
    total = minnet.metrics.count_nonzero(reference)
    out = {"dense": _accuracy(reference, data)}
    for f in FRACTIONS_05:
        structured = reference.copy()
        P.prune_units(structured, amount=f)
        structured = P.shrink(structured)
        unstructured = reference.copy()
        P.prune(unstructured, amount=total - minnet.metrics.count_parameters(structured))
        for kind, model in (("structured", structured), ("unstructured", unstructured)):
            P.retrain(model, data.X_train, data.y_train, strategy="fine_tune", epochs=5, fine_tune_lr=3e-4,
                      batch_size=32, optimizer_factory=lambda: minnet.Adam(lr=1e-3, weight_decay=1e-2),
                      rng=seed)  # fmt: skip
            out[f"{kind} {f:.1%}"] = _accuracy(model, data)
    return out


def _gap(o, fraction):
    return o[f"unstructured {fraction:.1%}"] - o[f"structured {fraction:.1%}"]


@finding(
    "ch05",
    "at equal parameters after fine-tuning, unstructured pruning is at least as accurate as structured at every "
    "fraction of the neurons from 50% on, and its lead grows: larger at 87.5% than at 50%",
    holds=lambda o: all(_gap(o, f) >= 0 for f in FRACTIONS_05[1:]) and _gap(o, 0.875) > _gap(o, 0.5),
    at_least=0.5,
    seeds=10,
    sides=("structured 50.0%", "unstructured 50.0%", "structured 87.5%", "unstructured 87.5%"),
)
def unstructured_never_worse_from_50(seed):
    return _equal_parameters(seed)


@finding(
    "ch05",
    "with 87.5% of the neurons removed, unstructured pruning at equal parameters leads by over 10 points",
    holds=lambda o: _gap(o, 0.875) > 0.1,
    at_least=0.6,
    seeds=10,
    sides=("structured 87.5%", "unstructured 87.5%"),
)
def unstructured_far_ahead_at_87(seed):
    return _equal_parameters(seed)


@finding(
    "ch05",
    "half of the neurons removed and fine-tuned 5 epochs costs at most 3 points of test accuracy",
    holds=lambda o: o["structured 50.0%"] >= o["dense"] - 0.03,
    at_least=0.8,
    seeds=10,
    sides=("dense", "structured 50.0%"),
)
def half_the_neurons_cost_little(seed):
    return _equal_parameters(seed)


# -- chapter 09: the capstone's sensitivity scan ---------------------------------------------------
WEIGHT_FRACTIONS_09 = (0.25, 0.5, 0.7, 0.8, 0.9, 0.95)
UNIT_FRACTIONS_09 = (0.25, 0.5, 0.625, 0.75, 0.875)
LAYERS_09 = {0: "conv 0", 3: "conv 3", 8: "dense 8", 10: "output 10"}


@functools.lru_cache(maxsize=None)
def _sensitivity(seed):
    """Chapter 09, section 2: the small CNN with BatchNorm (10 epochs), one layer pruned at a time without
    fine-tuning: validation accuracy per fraction of its weights (every layer) or of its units (filters
    ranked by BatchNorm scale, Dense neurons by L2 norm; not the output layer)."""
    data = minnet.data.load_digits(as_images=True, rng=seed)
    dense = _trained_small_cnn(seed)

    def val(model):
        return minnet.evaluate(model, data.X_val, data.y_val).accuracy

    out = {"dense": val(dense)}
    for i, name in LAYERS_09.items():
        for f in WEIGHT_FRACTIONS_09:
            model = dense.copy()
            P.prune(model, sparsity=f, names=[f"{i}.W"])
            out[f"{name} weights {f:.0%}"] = val(model)
        if i == 10:
            continue
        for f in UNIT_FRACTIONS_09:
            model = dense.copy()
            P.prune_units(model, sparsity=f, layers=[i], scores="bn_scale" if i in (0, 3) else None)
            out[f"{name} units {f:.1%}"] = val(model)
    return out


@finding(
    "ch09",
    "dense 8 takes weight pruning best: 70% of its weights cost at most 3 points without fine-tuning, and at "
    "90% it keeps the most accuracy of the four layers",
    holds=lambda o: (
        o["dense 8 weights 70%"] >= o["dense"] - 0.03
        and o["dense 8 weights 90%"] >= max(o[f"{name} weights 90%"] for name in LAYERS_09.values())
    ),
    at_least=0.6,
    seeds=10,
    sides=("dense", "dense 8 weights 70%", "dense 8 weights 90%", "conv 3 weights 90%"),
)
def dense_8_takes_weight_pruning_best(seed):
    return _sensitivity(seed)


@finding(
    "ch09",
    "with 80% of one layer's weights pruned, the layer whose loss is largest is conv 0 or the output layer",
    holds=lambda o: min(LAYERS_09.values(), key=lambda name: o[f"{name} weights 80%"]) in ("conv 0", "output 10"),
    at_least=0.8,
    seeds=10,
    sides=tuple(f"{name} weights 80%" for name in LAYERS_09.values()),
)
def first_layer_or_output_most_sensitive(seed):
    return _sensitivity(seed)


@finding(
    "ch09",
    "removing half of the filters costs less accuracy in conv 3 (ranked by BatchNorm scale) than in conv 0",
    holds=lambda o: o["conv 3 units 50.0%"] > o["conv 0 units 50.0%"],
    at_least=0.8,
    seeds=10,
    sides=("conv 3 units 50.0%", "conv 0 units 50.0%"),
)
def conv_3_filters_gentler_than_conv_0(seed):
    return _sensitivity(seed)


@functools.lru_cache(maxsize=None)
def _capstone(seed):
    """Chapter 09, sections 3-6: the capstone's pipeline on the small CNN (10 epochs). Filters in two rounds
    (a quarter of conv 0, half of conv 3, by BatchNorm scale, one epoch after each), 90% of dense 8's
    weights pruned gradually over 3 epochs, 2 more epochs at a lower rate, then shrunk. Test accuracies."""
    data = minnet.data.load_digits(as_images=True, rng=seed)
    dense = _trained_small_cnn(seed)
    pruned = dense.copy()
    schedules = {0: P.Iterative.to_target(0.25, rounds=2), 3: P.Iterative.to_target(0.5, rounds=2)}
    for r in (1, 2):
        for i, schedule in schedules.items():
            P.prune_units(pruned, sparsity=schedule.sparsity(r), layers=[i], scores="bn_scale")
        _fit(pruned, data, seed + r, 1)
    decay = P.PolynomialDecay(0.0, 0.9, begin_step=0, end_step=70, frequency=10)
    _fit(pruned, data, seed + 3, 3, callbacks=[P.GradualPruning(decay, P.WeightPruner(names=["8.W"]))])
    _fit(pruned, data, seed + 4, 2, lr=3e-4)
    small = P.shrink(pruned)
    return {"dense": _accuracy(dense, data), "shrunk": _accuracy(small, data)}


@finding(
    "ch09",
    "the capstone's pipeline (filters in two rounds, gradual weight pruning of dense 8, fine-tuning, surgery) "
    "ends within 2 points of the dense CNN's test accuracy",
    holds=lambda o: o["shrunk"] >= o["dense"] - 0.02,
    at_least=0.8,
    seeds=10,
)
def capstone_within_2_points(seed):
    return _capstone(seed)


# -- chapter 02: the accuracy-cost trade-off -------------------------------------------------------
WIDTHS_02 = (2, 4, 8, 16, 32, 64, 128, 256, 512)


@functools.lru_cache(maxsize=None)
def _widths(seed):
    """Chapter 02, section 5: mlp([64, w, 10]) for each width (Adam 3e-3, 20 epochs): validation and test
    accuracy; and the MAC saving of the cheapest width within 2 validation points of the best one."""
    data = _digits(seed)
    out = {}
    for w in WIDTHS_02:
        model = minnet.mlp([64, w, 10], rng=seed)
        _fit(model, data, seed, 20, lr=3e-3)
        out[f"val {w}"] = minnet.evaluate(model, data.X_val, data.y_val).accuracy
        out[f"test {w}"] = _accuracy(model, data)
    best = max(WIDTHS_02, key=lambda w: out[f"val {w}"])
    cheapest = min(w for w in WIDTHS_02 if out[f"val {w}"] >= out[f"val {best}"] - 0.02)
    out["best width"], out["cheapest width"] = best, cheapest
    out["MAC saving"] = best / cheapest  # MACs grow linearly with the width: 64 w + 10 w
    return out


@finding(
    "ch02",
    "width matters a lot at first and little after 32: from 2 to 512 neurons test accuracy rises by over 30 "
    "points, from 32 to 512 by less than 2",
    holds=lambda o: o["test 512"] - o["test 2"] > 0.3 and o["test 512"] - o["test 32"] < 0.02,
    at_least=0.8,
    seeds=10,
    sides=("test 2", "test 32", "test 512"),
)
def accuracy_saturates_with_width(seed):
    return _widths(seed)


@finding(
    "ch02",
    "the cheapest width within 2 validation points of the most accurate one needs at least 2 times fewer MACs",
    holds=lambda o: o["MAC saving"] >= 2,
    at_least=0.6,
    seeds=10,
    sides=("best width", "cheapest width", "MAC saving"),
)
def a_smaller_width_is_nearly_as_good(seed):
    return _widths(seed)


# -- chapter 01: training --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _training(seed):
    """Chapter 01, section 6: the chapter's MLP trained 15 epochs by SGD, SGD with momentum and Adam (final
    training loss, test accuracy), and by Adam in one full batch (validation accuracy, against the
    mini-batch run's)."""
    data = _digits(seed)
    optimizers = {
        "SGD": lambda: minnet.SGD(lr=0.01),
        "momentum": lambda: minnet.SGD(lr=0.01, momentum=0.9),
        "Adam": lambda: minnet.Adam(lr=1e-3),
    }
    out = {}
    for name, make in optimizers.items():
        model = minnet.mlp([64, 128, 64, 10], rng=seed)
        history = minnet.fit(model, data.X_train, data.y_train, epochs=15, batch_size=32, optimizer=make(),
                             validation=(data.X_val, data.y_val), rng=seed, verbose=False)  # fmt: skip
        out[f"{name} loss"], out[f"{name} test"] = history.train_loss[-1], _accuracy(model, data)
        if name == "Adam":
            out["mini-batch val"] = history.val_accuracy[-1]
    full = minnet.mlp([64, 128, 64, 10], rng=seed)
    history = minnet.fit(full, data.X_train, data.y_train, epochs=15, batch_size=len(data.X_train),
                         optimizer=minnet.Adam(lr=1e-3), validation=(data.X_val, data.y_val), rng=seed,
                         verbose=False)  # fmt: skip
    out["full-batch val"] = history.val_accuracy[-1]
    return out


@finding(
    "ch01",
    "after 15 epochs at learning rate 0.01, momentum and Adam (lr 0.001) reach a training loss over 5 times "
    "lower than plain SGD, and all three exceed 90% test accuracy",
    holds=lambda o: (
        max(o["momentum loss"], o["Adam loss"]) < o["SGD loss"] / 5
        and min(o["SGD test"], o["momentum test"], o["Adam test"]) > 0.9
    ),
    at_least=0.8,
    seeds=10,
    sides=("SGD loss", "momentum loss", "Adam loss", "SGD test"),
)
def momentum_and_adam_beat_sgd(seed):
    return _training(seed)


@finding(
    "ch01",
    "in 15 epochs, Adam with batches of 32 ends over 20 points more accurate than with one full batch",
    holds=lambda o: o["full-batch val"] < o["mini-batch val"] - 0.2,
    at_least=0.6,
    seeds=10,
    sides=("mini-batch val", "full-batch val"),
)
def mini_batches_beat_one_full_batch(seed):
    return _training(seed)


@finding(
    "ch01",
    "on three noisy spirals a linear model stays below 70% test accuracy; two hidden layers of 64 exceed 90%",
    holds=lambda o: o["linear test"] < 0.7 and o["deep test"] > 0.9 and o["deep train"] > 0.95,
    at_least=0.8,
    seeds=10,
)
def hidden_layers_separate_spirals(seed):
    X, y = minnet.data.make_spirals(n_per_class=100, n_classes=3, noise=0.2, rng=seed)
    spirals = minnet.data.split(X, y, val_fraction=0.2, test_fraction=0.2, rng=seed, name="spirals")
    out = {}
    for name, sizes in (("linear", [2, 3]), ("deep", [2, 64, 64, 3])):
        model = minnet.mlp(sizes, rng=seed)
        minnet.fit(model, spirals.X_train, spirals.y_train, epochs=80, batch_size=32,
                   optimizer=minnet.Adam(lr=1e-2), rng=seed, verbose=False)  # fmt: skip
        out[f"{name} train"] = minnet.evaluate(model, spirals.X_train, spirals.y_train).accuracy
        out[f"{name} test"] = minnet.evaluate(model, spirals.X_test, spirals.y_test).accuracy
    return out


# -- chapter 11: structured pruning of a ResNet ----------------------------------------------------
@functools.lru_cache(maxsize=None)
def _resnet_groups(seed):
    """Chapter 11, section 4: the small ResNet (16-32 channels, 6 epochs) with half of every dependency
    group removed, or only of the groups inside the blocks, shrunk and fine-tuned 3 epochs. Test accuracies."""
    data = _digits(seed).as_images()
    dense = _fit(minnet.small_resnet(channels=(16, 32), rng=seed), data, seed, 6, lr=3e-3, batch_size=64)
    every = dense.copy()
    P.prune_units(every, amount=0.5)
    inside = dense.copy()
    P.prune_groups(inside, amount=0.5, groups=[g for g in P.dependency_groups(inside) if not g.coupled])
    out = {"dense": _accuracy(dense, data)}
    for name, model in (("every group", every), ("inside the blocks", inside)):
        small = P.shrink(model)
        _fit(small, data, seed, 3)
        out[name] = _accuracy(small, data)
    return out


@finding(
    "ch11",
    "after 3 epochs of fine-tuning, removing half of every group (the residual streams too) loses more test "
    "accuracy than removing half of the units inside the blocks",
    holds=lambda o: o["every group"] < o["inside the blocks"],
    at_least=0.8,
    seeds=5,
)
def streams_cost_more_after_3_epochs(seed):
    return _resnet_groups(seed)


@finding(
    "ch11",
    "after 3 epochs of fine-tuning, the ResNet with half of the units inside its blocks removed is within 5 "
    "points of the dense one",
    holds=lambda o: o["inside the blocks"] >= o["dense"] - 0.05,
    at_least=0.8,
    seeds=5,
)
def inside_the_blocks_costs_little(seed):
    return _resnet_groups(seed)


# -- chapter 08: beyond test accuracy --------------------------------------------------------------
SPARSITIES_08 = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97)
PHOTOMETRIC = ("noise", "blur", "contrast")


def _augmented(X, y, kinds, rng):
    """Chapter 08's augmentation: the training set plus one shifted copy, each digit of the copy
    under a random kind (from ``kinds``) at a random severity 1-5. Returns (2N, D) images and (2N,) labels."""
    gen = np.random.default_rng(rng)
    kind_of = gen.integers(len(kinds), size=len(X))
    severity_of = gen.integers(1, 6, size=len(X))
    copy = X.copy()
    for k, kind in enumerate(kinds):
        for severity in range(1, 6):
            rows = (kind_of == k) & (severity_of == severity)
            copy[rows] = minnet.data.shift(X[rows], kind, severity, rng=gen)
    return np.concatenate([X, copy]), np.concatenate([y, y])


@functools.lru_cache(maxsize=None)
def _beyond_accuracy(seed):
    """Chapter 08: the MLP trained on clean digits, pruned (global magnitude) to each of SPARSITIES_08 and
    fine-tuned (the same number of Adam steps) on clean, photometric-augmented or all-shift-augmented
    digits; judged on the 630 held-out digits, clean and in five shifted copies per kind at severity 3.
    Returns recipe -> data name -> predictions, (sparsities, N); and the held-out sets by name."""
    data = _digits(seed)
    X_held = np.concatenate([data.X_val, data.X_test])
    y_held = np.concatenate([data.y_val, data.y_test])
    tests = {"clean": (X_held, y_held)}
    X_tiled, y_tiled = np.concatenate([X_held] * 5), np.concatenate([y_held] * 5)
    for kind in minnet.data.SHIFTS:
        tests[kind] = (minnet.data.shift(X_tiled, kind, 3, rng=seed + 1), y_tiled)
    dense = _trained_mlp([64, 128, 64, 10], seed)
    recipes = {
        "clean": (data.X_train, data.y_train),
        "photometric": _augmented(data.X_train, data.y_train, PHOTOMETRIC, rng=seed + 1),
        "all shifts": _augmented(data.X_train, data.y_train, tuple(minnet.data.SHIFTS), rng=seed + 1),
    }
    predictions = {}
    for recipe, (X, y) in recipes.items():
        epochs = round(6 * len(data.X_train) / len(X))
        per_data = {name: [] for name in tests}
        for sparsity in SPARSITIES_08:
            model = dense.copy()
            if sparsity > 0:
                P.prune(model, sparsity=sparsity)
                minnet.fit(model, X, y, epochs=epochs, batch_size=32, optimizer=minnet.Adam(lr=5e-4), rng=seed,
                           verbose=False)  # fmt: skip
            for name, (X_test, _) in tests.items():
                per_data[name].append(model.predict(X_test))
        predictions[recipe] = {name: np.array(p) for name, p in per_data.items()}
    logits = np.sort(dense.inference(X_held), axis=1)
    return predictions, tests, logits[:, -1] - logits[:, -2]


def _cost_at_80(seed, recipe):
    """data name -> accuracy points the recipe's 80%-sparse network lost against the dense one, on that data."""
    predictions, tests, _ = _beyond_accuracy(seed)
    i = SPARSITIES_08.index(0.8)
    dense = predictions["clean"]  # row 0 of every recipe is the same unpruned network
    return {name: 100 * float(np.mean(dense[name][0] == y) - np.mean(predictions[recipe][name][i] == y))
            for name, (_, y) in tests.items()}  # fmt: skip


def _shift_gap(cost):
    return statistics.fmean(cost[k] for k in minnet.data.SHIFTS) - cost["clean"]


@finding(
    "ch08",
    "fine-tuned on clean digits, an 80%-sparse network loses more accuracy under noise than on clean digits "
    "(a positive excess error)",
    holds=lambda o: o["noise"] > o["clean"],
    at_least=0.9,
    seeds=20,
)
def noise_costs_more_at_80(seed):
    cost = _cost_at_80(seed, "clean")
    return {"clean": cost["clean"], "noise": cost["noise"]}


@finding(
    "ch08",
    "fine-tuned on clean digits, an 80%-sparse network loses more accuracy on the six shifts (their mean) than "
    "on clean digits",
    holds=lambda o: o["shifts - clean"] > 0,
    at_least=0.6,
    seeds=20,
)
def shifts_cost_more_at_80(seed):
    return {"shifts - clean": _shift_gap(_cost_at_80(seed, "clean"))}


@finding(
    "ch08",
    "at a budget of half a point, the mean prune potential over the six shifts is below the clean potential "
    "(fine-tuned on clean digits)",
    holds=lambda o: o["shifts"] < o["clean"],
    at_least=0.6,
    seeds=20,
)
def shift_potential_below_clean(seed):
    predictions, tests, _ = _beyond_accuracy(seed)
    potential = {}
    for name, (_, y) in tests.items():
        accuracy = (predictions["clean"][name] == y).mean(axis=1)
        potential[name] = P.prune_potential(SPARSITIES_08, accuracy, accuracy[0], budget=0.005)
    return {"clean": potential["clean"], "shifts": statistics.fmean(potential[k] for k in minnet.data.SHIFTS)}


@finding(
    "ch08",
    "at 80%, the share of the dense network's correct digits that pruning forgets is more than twice the clean "
    "share under noise and more than three times under rotation",
    holds=lambda o: o["noise"] > 2 * o["clean"] and o["rotation"] > 3 * o["clean"],
    at_least=0.9,
    seeds=20,
)
def shifted_digits_forgotten_more(seed):
    predictions, tests, _ = _beyond_accuracy(seed)
    i = SPARSITIES_08.index(0.8)
    out = {}
    for name in ("clean", "noise", "rotation"):
        p, y = predictions["clean"][name], tests[name][1]
        out[name] = len(P.forgotten_examples(p[0], p[i], y)) / np.count_nonzero(p[0] == y)
    return out


@finding(
    "ch08",
    "the clean digits pruning to 80% forgets are ones the dense network was unsure of: their median margin "
    "(top logit minus runner-up) is under half the median over all the digits it gets right",
    holds=lambda o: o["forgotten"] < 0.5 * o["right"],
    at_least=0.9,
    seeds=20,
)
def forgotten_digits_have_small_margins(seed):
    predictions, tests, margin = _beyond_accuracy(seed)
    p, y = predictions["clean"]["clean"], tests["clean"][1]
    forgotten = P.forgotten_examples(p[0], p[SPARSITIES_08.index(0.8)], y)
    return {"forgotten": float(np.median(margin[forgotten])), "right": float(np.median(margin[p[0] == y]))}


@finding(
    "ch08",
    "at 80%, more clean predictions change than the net accuracy change shows",
    holds=lambda o: o["changed"] > o["net change"],
    at_least=0.8,
    seeds=20,
)
def accuracy_hides_changed_predictions(seed):
    predictions, tests, _ = _beyond_accuracy(seed)
    p, y = predictions["clean"]["clean"], tests["clean"][1]
    i = SPARSITIES_08.index(0.8)
    return {"changed": np.count_nonzero(p[0] != p[i]), "net change": abs(np.sum(p[0] == y) - np.sum(p[i] == y))}


@finding(
    "ch08",
    "fine-tuning on photometric-augmented digits makes the 80%-sparse network lose less under blur than "
    "fine-tuning on clean digits",
    holds=lambda o: o["photometric"] < o["clean"],
    at_least=0.6,
    seeds=20,
)
def photometric_helps_blur(seed):
    return {recipe: _cost_at_80(seed, recipe)["blur"] for recipe in ("clean", "photometric")}


@finding(
    "ch08",
    "photometric augmentation does not measurably change what the 80%-sparse network loses under noise: "
    "within 1.5 points either way",
    holds=lambda o: abs(o["photometric"] - o["clean"]) < 1.5,
    at_least=0.9,
    seeds=20,
)
def photometric_leaves_noise(seed):
    return {recipe: _cost_at_80(seed, recipe)["noise"] for recipe in ("clean", "photometric")}


@finding(
    "ch08",
    "fine-tuning on all-shift-augmented digits makes the 80%-sparse network lose less under rotation than "
    "fine-tuning on clean digits",
    holds=lambda o: o["all shifts"] < o["clean"],
    at_least=0.9,
    seeds=20,
)
def all_shift_augmentation_helps_rotation(seed):
    return {recipe: _cost_at_80(seed, recipe)["rotation"] for recipe in ("clean", "all shifts")}


@finding(
    "ch08",
    "with all shifts in the fine-tuning data, the extra loss of the 80%-sparse network on the shifts (their "
    "mean, over the clean loss) is smaller than with clean fine-tuning",
    holds=lambda o: o["all shifts"] < o["clean"],
    at_least=0.8,
    seeds=20,
)
def all_shift_augmentation_closes_the_gap(seed):
    return {recipe: _shift_gap(_cost_at_80(seed, recipe)) for recipe in ("clean", "all shifts")}


@finding(
    "ch08",
    "augmentation has a price on clean digits: the 80%-sparse network fine-tuned on all shifts loses more "
    "clean accuracy than the one fine-tuned on clean digits",
    holds=lambda o: o["all shifts"] > o["clean"],
    at_least=0.5,
    seeds=20,
)
def augmentation_costs_clean_accuracy(seed):
    return {recipe: _cost_at_80(seed, recipe)["clean"] for recipe in ("clean", "all shifts")}


# -- chapter 12: deployment ------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _deployed(seed):
    """Chapter 12, section 5: the 64-256-256-10 MLP (10 epochs), masked 90% or shrunk to a quarter of its
    hidden units, each fine-tuned 3 epochs; test accuracies."""
    data = _digits(seed)
    dense = _trained_mlp([64, 256, 256, 10], seed, epochs=10)
    masked = dense.copy()
    P.prune(masked, 0.9)
    shrunk = dense.copy()
    P.prune_units(shrunk, 0.75)
    return {
        "dense": _accuracy(dense, data),
        "masked 90%": _accuracy(_fit(masked, data, seed, 3), data),
        "shrunk 75%": _accuracy(_fit(P.shrink(shrunk), data, seed, 3), data),
    }


@finding(
    "ch12",
    "after 3 epochs of fine-tuning, the MLP with three quarters of its hidden units removed (8,970 parameters) "
    "has lost more test accuracy than the one with 90% of its weights masked (about 11,300 nonzero)",
    holds=lambda o: o["shrunk 75%"] < o["masked 90%"],
    at_least=0.6,
    seeds=10,
)
def shrunk_loses_more_than_masked(seed):
    return _deployed(seed)


@finding(
    "ch12",
    "after 3 epochs of fine-tuning, the MLP with 90% of its weights masked is within 3 points of the dense one",
    holds=lambda o: o["masked 90%"] >= o["dense"] - 0.03,
    at_least=0.8,
    seeds=10,
    sides=("dense", "masked 90%"),
)
def masked_90_within_3_points(seed):
    return _deployed(seed)
