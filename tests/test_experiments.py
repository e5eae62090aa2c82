"""The pruning experiments the course reports, on digits with fixed seeds.

These assert orderings and budgets, not exact figures; the figures are printed
by benchmarks/prune_experiments.py.
"""

import pytest

import minnet
from minnet.prune.apply import prune
from minnet.prune.finetune import retrain
from minnet.prune.loops import prune_loop
from minnet.prune.schedules import Iterative

EPOCHS_FINE_TUNE = 6


@pytest.fixture(scope="module")
def setup():
    data = minnet.data.load_digits(rng=0)
    model = minnet.mlp([64, 128, 64, 10], rng=0)
    minnet.fit(
        model, data.X_train, data.y_train, epochs=25, batch_size=32, optimizer=minnet.Adam(lr=1e-3), verbose=False
    )
    return data, model, minnet.evaluate(model, data.X_test, data.y_test).accuracy


def one_shot(data, model, sparsity, scores=None):
    pruned = model.copy()
    prune(pruned, sparsity=sparsity, scores=scores)
    retrain(
        pruned,
        data.X_train,
        data.y_train,
        strategy="fine_tune",
        epochs=EPOCHS_FINE_TUNE,
        optimizer_factory=lambda: minnet.Adam(lr=1e-3),
        rng=0,
    )
    return minnet.evaluate(pruned, data.X_test, data.y_test).accuracy


def test_global_magnitude_90_loses_at_most_one_point_and_random_loses_clearly_more(setup):
    data, model, dense = setup
    assert dense >= 0.97
    magnitude = one_shot(data, model, 0.9)
    random = one_shot(data, model, 0.9, scores="random")
    assert magnitude >= dense - 0.01
    assert random < magnitude - 0.01


def test_iterative_is_at_least_as_good_as_one_shot_at_95(setup):
    data, model, _ = setup
    shot = one_shot(data, model, 0.95)
    iterative = model.copy()
    rounds = 3
    prune_loop(
        iterative,
        data.X_train,
        data.y_train,
        validation=(data.X_val, data.y_val),
        schedule=Iterative.to_target(0.95, rounds),
        epochs_per_round=EPOCHS_FINE_TUNE // rounds,
        optimizer_factory=lambda: minnet.Adam(lr=1e-4),
        verbose=False,
    )
    assert minnet.evaluate(iterative, data.X_test, data.y_test).accuracy >= shot
