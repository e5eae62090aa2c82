"""The pruning loop, gradual pruning during fit, and the retraining strategies."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minnet
from minnet.prune.apply import prune
from minnet.prune.budgets import MaxAccuracyDrop, MaxLatency, MaxMACs, MaxNonzeroParams, TargetSparsity
from minnet.prune.finetune import reinitialize, retrain, rewind_weights
from minnet.prune.loops import GradualPruning, Round, Training, prune_loop
from minnet.prune.pruners import UnitPruner, WeightPruner
from minnet.prune.schedules import Iterative, OneShot, PolynomialDecay


@pytest.fixture(scope="module")
def digits():
    return minnet.data.load_digits(rng=0)


@pytest.fixture(scope="module")
def trained(digits):
    model = minnet.mlp([64, 64, 32, 10], rng=0)
    minnet.fit(model, digits.X_train, digits.y_train, epochs=15, optimizer=minnet.Adam(lr=3e-3), verbose=False)
    return model


def run_loop(model, digits, epochs_per_round, **options):
    """prune_loop retraining on the digits training split, validated on the validation split, quietly."""
    retrain = Training(digits.X_train, digits.y_train, epochs=epochs_per_round)
    return prune_loop(model, validation=(digits.X_val, digits.y_val), retrain=retrain, verbose=False, **options)


def hidden_sparsity(model):
    masks = [model.layers[i].masks["W"] for i in (0, 2)]
    return 1 - sum(m.sum() for m in masks) / sum(m.size for m in masks)


def test_iterative_loop_follows_the_schedule_and_records_rounds(digits, trained):
    model = trained.copy()
    schedule = Iterative.to_target(0.9, rounds=3)
    result = run_loop(model, digits, schedule=schedule, epochs_per_round=1)
    assert [r.round for r in result.rounds] == [1, 2, 3]
    for r in result.rounds:
        assert r.sparsity == pytest.approx(schedule.sparsity(r.round), abs=1e-3)
    assert hidden_sparsity(model) == pytest.approx(0.9, abs=1e-3)
    macs = [r.macs for r in result.rounds]
    assert macs == sorted(macs, reverse=True) and macs[-1] < minnet.metrics.flops(trained, (64,))
    assert "schedule finished" in result.stopped_because
    assert "round" in result.table() and len(result.as_dict()["rounds"]) == 3


def test_loop_stops_at_target_sparsity(digits, trained):
    model = trained.copy()
    result = run_loop(
        model, digits, schedule=Iterative(0.5, rounds=10), budgets=[TargetSparsity(0.8)], epochs_per_round=0
    )
    assert len(result.rounds) == 3  # 0.5, 0.75, 0.875
    assert result.stopped_because.startswith("target sparsity reached after round 3")


def test_loop_undoes_the_round_that_breaks_the_accuracy_budget(digits, trained):
    model = trained.copy()
    result = run_loop(
        model, digits, schedule=Iterative(0.3, rounds=12), epochs_per_round=0, budgets=[MaxAccuracyDrop(0.02)]
    )
    assert "undone" in result.stopped_because and len(result.rounds) >= 2
    last = result.rounds[-1]
    assert last.val_accuracy >= result.dense_accuracy - 0.02
    assert minnet.evaluate(model, digits.X_val, digits.y_val).accuracy == pytest.approx(last.val_accuracy)
    assert hidden_sparsity(model) == pytest.approx(last.sparsity)


def test_loop_stops_at_a_mac_budget(digits, trained):
    model = trained.copy()
    dense_macs = minnet.metrics.flops(trained, (64,))
    result = run_loop(
        model, digits, schedule=Iterative(0.3, rounds=10), epochs_per_round=0, budgets=[MaxMACs(dense_macs // 2)]
    )
    assert result.rounds[-1].macs <= dense_macs // 2 < result.rounds[-2].macs
    assert "MAC budget" in result.stopped_because


def test_structured_loop_prunes_units(digits, trained):
    model = trained.copy()
    result = run_loop(model, digits, schedule=OneShot(0.5), pruner=UnitPruner(), epochs_per_round=1)
    assert len(result.rounds) == 1
    assert model.layers[0].masks["b"].sum() == 32 and model.layers[2].masks["b"].sum() == 16


def test_gradual_pruning_with_polynomial_decay_during_fit(digits):
    model = minnet.mlp([64, 64, 32, 10], rng=0)
    schedule = PolynomialDecay(0.0, 0.8, begin_step=10, end_step=100, frequency=10)
    callback = GradualPruning(schedule)
    minnet.fit(model, digits.X_train, digits.y_train, epochs=8, callbacks=[callback], verbose=False)  # 152 steps
    steps = [s for s, _ in callback.history]
    assert steps[0] >= 10 and steps[-1] == 100 and all(s % 10 == 0 for s in steps)
    for step, sparsity in callback.history:
        assert sparsity == pytest.approx(schedule.sparsity(step), abs=2e-3)
    assert hidden_sparsity(model) == pytest.approx(0.8, abs=1e-3)
    assert minnet.evaluate(model, digits.X_test, digits.y_test).accuracy > 0.85


def test_rewind_weights_keeps_the_mask(trained):
    model = trained.copy()
    early = minnet.mlp([64, 64, 32, 10], rng=0).state_dict()
    prune(model, sparsity=0.7)
    mask = model.layers[0].masks["W"].copy()
    rewind_weights(model, early)
    np.testing.assert_array_equal(model.layers[0].masks["W"], mask)
    np.testing.assert_array_equal(model.layers[0].params["W"], early["0.W"] * mask)


def test_reinitialize_draws_new_weights_under_the_same_mask(trained):
    model = trained.copy()
    prune(model, sparsity=0.7)
    before = model.layers[0].params["W"].copy()
    reinitialize(model, rng=5)
    after = model.layers[0].params["W"]
    assert np.all(after[~model.layers[0].masks["W"]] == 0)
    assert not np.allclose(after[model.layers[0].masks["W"]], before[model.layers[0].masks["W"]])


@pytest.mark.parametrize("strategy", ["fine_tune", "lr_rewind", "weight_rewind", "reinit"])
def test_every_strategy_retrains_and_keeps_zeros(digits, trained, strategy):
    model = trained.copy()
    prune(model, sparsity=0.8)
    mask = model.layers[0].masks["W"].copy()
    history = retrain(
        model,
        digits.X_train,
        digits.y_train,
        strategy=strategy,
        epochs=2,
        optimizer_factory=lambda: minnet.Adam(lr=3e-3),
        snapshot=minnet.mlp([64, 64, 32, 10], rng=0).state_dict(),
        rng=0,
    )
    assert len(history) == 2
    expected_lr = 3e-4 if strategy == "fine_tune" else 3e-3
    assert history.lr == pytest.approx([expected_lr] * 2)
    assert np.all(model.layers[0].params["W"][~mask] == 0)
    assert minnet.evaluate(model, digits.X_val, digits.y_val).accuracy > 0.5


def test_retrain_errors(digits, trained):
    with pytest.raises(ValueError, match="strategy must be one of"):
        retrain(
            trained.copy(), digits.X_train, digits.y_train, strategy="magic", epochs=1, optimizer_factory=minnet.Adam
        )
    with pytest.raises(ValueError, match="needs snapshot"):
        retrain(
            trained.copy(),
            digits.X_train,
            digits.y_train,
            strategy="weight_rewind",
            epochs=1,
            optimizer_factory=minnet.Adam,
        )


def test_structured_loop_counts_the_macs_of_the_shrunk_model(digits, trained):
    model = trained.copy()
    result = run_loop(model, digits, schedule=OneShot(0.5), pruner=UnitPruner(), epochs_per_round=0)
    shrunk = minnet.prune.shrink(model)
    assert result.rounds[0].macs == minnet.metrics.flops(shrunk, (64,)) == 64 * 32 + 32 * 16 + 16 * 10
    assert result.rounds[0].macs < minnet.metrics.flops(model, (64,), effective=True)


def test_reinit_with_the_construction_seed_does_not_rewind_to_the_initial_weights(digits):
    model = minnet.mlp([64, 64, 32, 10], rng=0)
    initial = model.state_dict()
    minnet.fit(model, digits.X_train, digits.y_train, epochs=1, verbose=False)
    prune(model, sparsity=0.5)
    retrain(
        model,
        digits.X_train[:64],
        digits.y_train[:64],
        strategy="reinit",
        epochs=1,
        optimizer_factory=lambda: minnet.SGD(lr=0.0),
        rng=0,
    )
    kept = model.layers[0].masks["W"]
    assert not np.allclose(model.layers[0].params["W"][kept], initial["0.W"][kept])


def test_gradual_structured_pruning_of_chosen_layers(digits):
    model = minnet.mlp([64, 64, 32, 10], rng=0)
    callback = GradualPruning(
        PolynomialDecay(0.0, 0.5, begin_step=0, end_step=40, frequency=10), UnitPruner(layers=[2])
    )
    minnet.fit(model, digits.X_train, digits.y_train, epochs=3, callbacks=[callback], verbose=False)
    assert not model.layers[0].masks and model.layers[2].masks["b"].sum() == 16
    # step 0: target 0; 10, 20: partway; at 30 round(0.492 * 32) = 16 units already reach 0.5
    assert [s for s, _ in callback.history] == [10, 20, 30] and callback.history[-1][1] == 0.5
    with pytest.raises(TypeError, match="pruner"):
        GradualPruning(OneShot(0.5), [0])


# -- budgets and pruners, against their definitions ---------------------------------------------


def a_record(**values):
    fields = dict(round=3, target=0.5, sparsity=0.5, val_accuracy=0.9, nonzero_params=1000, macs=5000)
    fields.update(sparse_bytes=8000, latency_ms=1.0, dense_accuracy=0.95)
    fields.update(values)
    return Round(**fields)


@settings(max_examples=200, deadline=None)
@given(
    sparsity=st.floats(0, 1),
    goal=st.floats(0, 1),
    count=st.integers(0, 10**6),
    limit=st.integers(0, 10**6),
    accuracy=st.floats(0, 1),
    dense=st.floats(0, 1),
    drop=st.floats(0, 1),
    latency=st.floats(1e-3, 1e3),
    ms=st.floats(1e-3, 1e3),
)
def test_each_budget_is_met_exactly_by_its_definition(sparsity, goal, count, limit, accuracy, dense, drop, latency, ms):
    record = a_record(sparsity=sparsity, nonzero_params=count, macs=count, val_accuracy=accuracy, dense_accuracy=dense)
    record.latency_ms = latency
    assert TargetSparsity(goal).met(record) == (sparsity >= goal)
    assert MaxNonzeroParams(limit).met(record) == (count <= limit)
    assert MaxMACs(limit).met(record) == (count <= limit)
    assert MaxLatency(ms, latency_input=np.zeros((1, 64))).met(record) == (latency <= ms)
    assert MaxAccuracyDrop(drop).met(record) == (accuracy < dense - drop)
    assert MaxAccuracyDrop(drop).undo and not any(b.undo for b in (TargetSparsity(goal), MaxMACs(limit)))


def test_the_first_budget_met_stops_the_loop_and_names_itself(digits, trained):
    budgets = [MaxMACs(4000), TargetSparsity(0.5)]  # both first met in round 2 (sparsity 0.51, 3,331 MACs)
    result = run_loop(trained.copy(), digits, schedule=Iterative(0.3, rounds=5), budgets=budgets, epochs_per_round=0)
    assert [r.macs > 4000 for r in result.rounds] == [True, False] and result.rounds[1].sparsity >= 0.5
    assert result.stopped_because == "MAC budget reached after round 2"
    result = run_loop(
        trained.copy(), digits, schedule=Iterative(0.3, rounds=5), budgets=budgets[::-1], epochs_per_round=0
    )
    assert len(result.rounds) == 2 and result.stopped_because == "target sparsity reached after round 2"


def test_a_latency_budget_times_what_the_pruner_would_run(digits, trained):
    batch = digits.X_val[:32]
    result = run_loop(
        trained.copy(), digits, schedule=OneShot(0.5), pruner=UnitPruner(), epochs_per_round=0,
        budgets=[MaxLatency(1e6, latency_input=batch)],
    )  # fmt: skip
    assert result.rounds[0].latency_ms > 0 and result.stopped_because == "latency budget reached after round 1"
    with pytest.raises(ValueError, match="one latency budget"):
        run_loop(trained.copy(), digits, schedule=OneShot(0.5), epochs_per_round=0,
                 budgets=[MaxLatency(1.0, latency_input=batch), MaxLatency(2.0, latency_input=batch)])  # fmt: skip


def test_the_loop_with_a_pruner_is_the_pruner_called_round_by_round(digits, trained):
    """Without training, the loop's rounds are the pruner's calls at the schedule's targets."""
    schedule = Iterative(0.4, rounds=3)
    for pruner in (
        WeightPruner(scope="local"),
        UnitPruner(scores={2: np.random.default_rng(1).random(32)}, layers=[2]),
    ):
        looped, by_hand = trained.copy(), trained.copy()
        run_loop(looped, digits, schedule=schedule, pruner=pruner, epochs_per_round=0)
        for r in (1, 2, 3):
            pruner(by_hand, schedule.sparsity(r))
        state, expected = looped.state_dict(), by_hand.state_dict()
        assert state.keys() == expected.keys()
        assert all(np.array_equal(state[k], expected[k]) for k in state)
        assert pruner.pruned_fraction(looped) == pytest.approx(schedule.sparsity(3), abs=0.02)


def test_a_pruner_checks_its_selection_against_the_model_before_any_round(digits, trained):
    model = trained.copy()
    with pytest.raises(ValueError, match="9.W"):
        run_loop(model, digits, schedule=OneShot(0.5), pruner=WeightPruner(names=["9.W"]), epochs_per_round=0)
    with pytest.raises(ValueError, match="layer 5"):
        run_loop(model, digits, schedule=OneShot(0.5), pruner=UnitPruner(layers=[5]), epochs_per_round=0)
    assert not any(layer.masks for layer in model.layers)
