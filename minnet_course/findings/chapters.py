"""The findings of the chapters, one small experiment each (see ``registry``)."""

from __future__ import annotations

import functools

import minnet
from minnet import prune as P

from .registry import finding

FINE_TUNE_LR = 3e-3


def _digits(seed: int):
    return minnet.data.load_digits(rng=seed)  # the seed draws the split


def _trained_mlp(sizes, data, seed: int, epochs: int = 25):
    model = minnet.mlp(sizes, rng=seed)
    minnet.fit(model, data.X_train, data.y_train, epochs=epochs, batch_size=32, optimizer=minnet.Adam(lr=1e-3),
               rng=seed, verbose=False)  # fmt: skip
    return model


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
    seeds=10,
)
def magnitude_90_fine_tuned(seed):
    data = _digits(seed)
    model = _trained_mlp([64, 128, 64, 10], data, seed)
    return {"dense": _accuracy(model, data), "pruned": _pruned_accuracy(model, data, seed, 0.9, epochs=4)}


@finding(
    "ch04",
    "at 90%, with the same 4 epochs of fine-tuning, magnitude pruning ends more accurate than a random mask",
    holds=lambda o: o["magnitude"] > o["random"],
    seeds=10,
)
def magnitude_beats_random_90(seed):
    data = _digits(seed)
    model = _trained_mlp([64, 128, 64, 10], data, seed)
    random = lambda m: P.random_scores(m, rng=seed)  # noqa: E731
    return {
        "magnitude": _pruned_accuracy(model, data, seed, 0.9, epochs=4),
        "random": _pruned_accuracy(model, data, seed, 0.9, scores=random, epochs=4),
    }


# -- chapter 06: the pruning loop and schedules ----------------------------------------------------
@finding(
    "ch06",
    "at 95% (a 64-32-32-10 MLP, 8 epochs of training in all) iterative pruning in 4 rounds and one-shot "
    "pruning cannot be told apart: they end within 5 points of each other, either way round",
    holds=lambda o: abs(o["iterative"] - o["one-shot"]) < 0.05,
    seeds=10,
)
def iterative_vs_one_shot_95(seed):
    data = _digits(seed)
    model = _trained_mlp([64, 32, 32, 10], data, seed)
    one_shot = _pruned_accuracy(model, data, seed, 0.95, epochs=8)
    iterative = model.copy()
    retraining = P.Training(data.X_train, data.y_train, epochs=2, batch_size=32,
                            optimizer_factory=lambda: minnet.Adam(lr=FINE_TUNE_LR), rng=seed)  # fmt: skip
    P.prune_loop(iterative, schedule=P.Iterative.to_target(0.95, 4), validation=(data.X_val, data.y_val),
                 retrain=retraining, verbose=False)  # fmt: skip
    return {"one-shot": one_shot, "iterative": _accuracy(iterative, data)}


@functools.lru_cache(maxsize=None)  # two findings read the same runs
def _schedules_at(final, seed):
    """Chapter 06, section 4: one-shot, iterative and gradual pruning of the chapter's MLP to
    ``final`` sparsity, each with 12 epochs of training; their test accuracies."""
    data = _digits(seed)
    X, y = data.X_train, data.y_train
    val = (data.X_val, data.y_val)
    dense = minnet.mlp([64, 128, 64, 10], rng=seed)
    minnet.fit(dense, X, y, epochs=20, batch_size=32, optimizer=minnet.Adam(lr=1e-3), rng=seed, verbose=False)

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
)
def iterative_beats_one_shot_98(seed):
    return dict(_schedules_at(0.98, seed))


@finding(
    "ch06",
    "at 98% with the same 12 epochs of training, gradual pruning (polynomial decay) ends more accurate than one-shot",
    holds=lambda o: o["gradual"] > o["one-shot"],
    at_least=0.8,
    seeds=10,
)
def gradual_beats_one_shot_98(seed):
    return dict(_schedules_at(0.98, seed))


@finding(
    "ch06",
    "at 90% with the same 12 epochs of training, one-shot, iterative and gradual pruning end within 3 points "
    "of each other",
    holds=lambda o: max(o.values()) - min(o.values()) < 0.03,
    seeds=10,
)
def schedules_close_at_90(seed):
    return dict(_schedules_at(0.9, seed))
