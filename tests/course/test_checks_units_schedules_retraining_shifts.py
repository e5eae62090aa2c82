"""The checks of exercises 05-08 pass correct answers (on the visible and the
hidden variants the notebooks use), say "not done yet" for the stub, and reject
every plausible wrong answer in ``tests/course/wrong_answers`` with the feedback meant
for its mistake."""

from types import SimpleNamespace

import pytest
from test_feedback_display import all_reference_lines
from wrong_answers import ex05 as a05
from wrong_answers import ex06 as a06
from wrong_answers import ex07 as a07
from wrong_answers import ex08 as a08

import minnet
from minnet_course import feedback
from minnet_course.checks import ex05, ex06, ex07, ex08

REFERENCE = all_reference_lines()


@pytest.fixture(scope="module")
def ctx():
    """The digits, a small MLP trained on them and its weights after one epoch
    (the snapshot weight rewinding goes back to)."""
    data = minnet.data.load_digits(rng=0)
    model = minnet.mlp([64, 32, 10], rng=0)
    snap = minnet.Snapshot(epoch=1)
    minnet.fit(
        model,
        data.X_train,
        data.y_train,
        epochs=8,
        optimizer=minnet.Adam(lr=3e-3),
        callbacks=[snap],
        rng=0,
        verbose=False,
    )
    train, val = (data.X_train, data.y_train), (data.X_val, data.y_val)
    return SimpleNamespace(train=train, val=val, trained=model, snapshot=snap.state)


def run_compare(fn, c, **kw):
    ex07.check_compare_retraining(fn, c.trained.copy(), c.snapshot, c.train, c.val, epochs=1, **kw)


def run_shift(fn, c, **kw):
    ex08.check_accuracy_under_shift(fn, c.trained, c.val[0], c.val[1], **kw)


def run_potentials(fn, c, **kw):
    kw = {"sparsities": (0.5, 0.7, 0.8, 0.9, 0.95), "budget": 0.02, "severity": 4, **kw}
    ex08.check_clean_vs_shifted(fn, c.trained.copy(), c.train, c.val, **kw)


CHECKS = {
    "neuron_mask": lambda fn, c, **kw: ex05.check_neuron_mask(fn, **kw),
    "shrink_two_layer": lambda fn, c, **kw: ex05.check_shrink_two_layer(fn, **kw),
    "macs_two_layer": lambda fn, c, **kw: ex05.check_macs_two_layer(fn, **kw),
    "polynomial_decay": lambda fn, c, **kw: ex06.check_polynomial_decay(fn, **kw),
    "iterative_targets": lambda fn, c, **kw: ex06.check_iterative_targets(fn, **kw),
    "prune_until": lambda fn, c, **kw: ex06.check_prune_until(fn, **kw),
    "rewind": lambda fn, c, **kw: ex07.check_rewind(fn, **kw),
    "reinit": lambda fn, c, **kw: ex07.check_reinit(fn, **kw),
    "compare_retraining": run_compare,
    "prune_potential": lambda fn, c, **kw: ex08.check_prune_potential(fn, **kw),
    "accuracy_under_shift": run_shift,
    "clean_vs_shifted": run_potentials,
}

# The visible check ({}) and the hidden variants of each notebook's check cell.
VARIANTS = {
    "neuron_mask": [
        {},
        {"seed": 1, "shape": (5, 5), "amount": 0.4},
        {"seed": 2, "shape": (4, 7), "amount": 0.5, "ties": True},
        {"seed": 3, "shape": (3, 10), "amount": 0.66},
        {"seed": 4, "amount": 0.0},
        {"seed": 5, "amount": 1.0},
    ],
    "shrink_two_layer": [
        {},
        {"seed": 1, "sizes": (6, 5, 5), "n_pruned": 3},
        {"seed": 2, "sizes": (4, 8, 2), "n_pruned": 4},
    ],
    "macs_two_layer": [{}, {"sizes": ((784, 300, 10), (1, 1, 1))}],
    "polynomial_decay": [
        {},
        {"initial": 0.2, "final": 0.9, "begin": 0, "end": 50, "power": 2},
        {"initial": 0.1, "final": 0.5, "begin": 1000, "end": 3000, "power": 1.5},
    ],
    "iterative_targets": [{}, {"fraction": 0.5, "rounds": 1}, {"fraction": 0.3, "rounds": 8}],
    "prune_until": [
        {},
        {"seed": 1, "step_fraction": 0.3, "max_drop": 0.05},
        {"seed": 2, "curve": "immediate"},
        {"seed": 3, "curve": "recovers", "step_fraction": 0.1},
    ],
    "rewind": [{}, {"seed": 1, "snapshot_pruned": True}, {"seed": 2, "sizes": (6, 20, 3)}],
    "reinit": [{}, {"seed": 1}, {"seed": 2, "sizes": (8, 8, 8, 8, 3)}],
    "compare_retraining": [{}, {"sparsity": 0.9, "rng": 1}],
    "prune_potential": [{}, {"seed": 1}, {"seed": 2}],
    "accuracy_under_shift": [{}, {"kinds": ("blur", "rotation"), "severity": 2, "rng": 3}],
    "clean_vs_shifted": [{}, {"kind": "occlusion", "rng": 1}],
}

CORRECT = [
    ("neuron_mask", a05.correct_neuron_mask),
    ("shrink_two_layer", a05.correct_shrink_two_layer),
    ("macs_two_layer", a05.correct_macs_two_layer),
    ("polynomial_decay", a06.correct_polynomial_decay),
    ("iterative_targets", a06.correct_iterative_targets),
    ("prune_until", a06.correct_prune_until),
    ("prune_until", a06.correct_prune_until_drop_form),  # the same rule, as start - accuracy > max_drop
    ("rewind", a07.correct_rewind),
    ("reinit", a07.correct_reinit),
    ("reinit", a07.correct_reinit_by_hand),
    ("compare_retraining", a07.correct_compare_retraining),
    ("prune_potential", a08.correct_prune_potential),
    ("accuracy_under_shift", a08.correct_accuracy_under_shift),
    ("clean_vs_shifted", a08.correct_clean_vs_shifted),
]

# (task, wrong answer, a phrase of the feedback meant for its mistake, check arguments)
WRONG = [
    ("neuron_mask", a05.wrong_neuron_mask_rows, "one entry per ROW of W", {}),
    ("neuron_mask", a05.wrong_neuron_mask_rows, "you scored the ROWS of W", {"shape": (5, 5), "amount": 0.4}),
    ("neuron_mask", a05.wrong_neuron_mask_strongest, "STRONGEST", {}),
    ("neuron_mask", a05.wrong_neuron_mask_l1, "L1 norm", {}),
    ("neuron_mask", a05.wrong_neuron_mask_floor, "floor or int()", {}),
    ("neuron_mask", a05.wrong_neuron_mask_off_by_one, "exactly k must go", {}),
    ("neuron_mask", a05.wrong_neuron_mask_pruned_is_true, "True must mean KEPT", {}),
    ("neuron_mask", a05.wrong_neuron_mask_ties, "equal norms (a tie)", {"seed": 2, "shape": (4, 7), "ties": True}),
    ("neuron_mask", a05.wrong_neuron_mask_indices, "not indices", {}),
    ("shrink_two_layer", a05.wrong_shrink_columns_of_w2, "ROWS of W2", {}),
    ("shrink_two_layer", a05.wrong_shrink_columns_of_w2, "you removed COLUMNS of W2", {"sizes": (6, 5, 5)}),
    ("shrink_two_layer", a05.wrong_shrink_forgot_bias, "forgot to remove the biases", {}),
    ("shrink_two_layer", a05.wrong_shrink_kept_pruned, "the number of PRUNED neurons", {}),
    (
        "shrink_two_layer",
        a05.wrong_shrink_kept_pruned,
        "you kept the PRUNED neurons",
        {"sizes": (4, 8, 2), "n_pruned": 4},
    ),
    ("shrink_two_layer", a05.wrong_shrink_zeroed, "does not remove them", {}),
    ("shrink_two_layer", a05.wrong_shrink_in_place, "in place", {}),
    ("shrink_two_layer", a05.wrong_shrink_reordered, "stay in their order", {}),
    ("macs_two_layer", a05.wrong_macs_flops, "FLOPs = 2 x MACs", {}),
    ("macs_two_layer", a05.wrong_macs_with_biases, "you counted the biases", {}),
    ("macs_two_layer", a05.wrong_macs_first_layer, "only the first layer", {}),
    ("macs_two_layer", a05.wrong_macs_product, "do not multiply all three", {}),
    ("polynomial_decay", a06.wrong_decay_no_clip, "before begin_step", {}),
    ("polynomial_decay", a06.wrong_decay_clip_only_top, "before begin_step", {}),
    ("polynomial_decay", a06.wrong_decay_clip_only_bottom, "after end_step", {}),
    ("polynomial_decay", a06.wrong_decay_linear, "linear (power 1)", {}),
    ("polynomial_decay", a06.wrong_decay_swapped, "swapped initial and final", {}),
    ("polynomial_decay", a06.wrong_decay_slow_start, "rises slowly at first", {}),
    ("polynomial_decay", a06.wrong_decay_hardcoded_power, "use the argument `power`", {"power": 2}),
    ("polynomial_decay", a06.wrong_decay_divides_by_end, "divided by end", {}),
    ("polynomial_decay", a06.wrong_decay_integer_division, "integer division", {}),
    ("iterative_targets", a06.wrong_targets_of_original, "ORIGINAL weights", {}),
    ("iterative_targets", a06.wrong_targets_kept, "fraction of weights KEPT", {}),
    ("iterative_targets", a06.wrong_targets_from_round_zero, "one round behind", {}),
    ("iterative_targets", a06.wrong_targets_includes_dense, "the dense model before any pruning", {}),
    ("iterative_targets", a06.wrong_targets_one_short, "off-by-one in the range", {}),
    ("prune_until", a06.wrong_until_no_undo, "still carries that round's pruning", {}),
    ("prune_until", a06.wrong_until_at_the_boundary, "stop only when accuracy < start - max_drop", {}),
    ("prune_until", a06.wrong_until_no_undo, "still carries that round's pruning", {"curve": "immediate"}),
    ("prune_until", a06.wrong_until_previous_round, "not with the previous round", {}),
    ("prune_until", a06.wrong_until_never_stops, "it never stops", {}),
    ("prune_until", a06.wrong_until_records_broken_round, "return only the rounds you kept", {}),
    ("prune_until", a06.wrong_until_cumulative_amount, "give it step_fraction", {}),
    ("prune_until", a06.wrong_until_rebinds_copy, "still carries that round's pruning", {}),
    ("rewind", a07.wrong_rewind_load_state_dict, "lost its masks", {}),
    ("rewind", a07.wrong_rewind_load_state_dict, "the snapshot's (older) masks", {"snapshot_pruned": True}),
    ("rewind", a07.wrong_rewind_no_mask, "pruned weights are not 0 after rewinding", {}),
    ("rewind", a07.wrong_rewind_nothing, "nothing was rewound", {}),
    ("rewind", a07.wrong_rewind_weights_only, "biases too", {}),
    ("rewind", a07.wrong_rewind_aliases_snapshot, "IS the snapshot's array", {}),
    ("rewind", a07.wrong_rewind_changes_snapshot, "changed the snapshot", {}),
    ("reinit", a07.wrong_reinit_unmasked, "re-initialised the pruned weights too", {}),
    ("reinit", a07.wrong_reinit_unseeded, "not deterministic", {}),
    ("reinit", a07.wrong_reinit_global_random, "hidden global state", {}),
    ("reinit", a07.wrong_reinit_xavier, "another initialisation scheme", {}),
    ("reinit", a07.wrong_reinit_fan_out, "fan-in", {}),
    ("reinit", a07.wrong_reinit_uniform, "uniformly distributed", {}),
    ("reinit", a07.wrong_reinit_float64, "keeps its dtype", {}),
    ("reinit", a07.wrong_reinit_seed_per_layer, "identical weights", {}),
    ("reinit", a07.wrong_reinit_only_pruned_layers, "an unpruned layer is re-initialised too", {}),
    ("reinit", a07.wrong_reinit_keeps_biases, "zero biases", {}),
    ("reinit", a07.wrong_reinit_ignores_seed, "ignores `rng`", {}),
    ("compare_retraining", a07.wrong_compare_swapped, "mixed up", {}),
    ("compare_retraining", a07.wrong_compare_no_copy, "changed `trained`", {}),
    ("compare_retraining", a07.wrong_compare_no_prune, "WITHOUT pruning", {}),
    ("compare_retraining", a07.wrong_compare_percent, "a percentage?", {}),
    ("compare_retraining", a07.wrong_compare_keys, "exactly the keys", {}),
    ("prune_potential", a08.wrong_potential_first_failure, "first sparsity whose accuracy is BELOW", {}),
    ("prune_potential", a08.wrong_potential_not_above_dense, "MORE accurate than the dense one", {}),
    ("prune_potential", a08.wrong_potential_stops_at_first_failure, "a larger sparsity whose accuracy recovers", {}),
    ("prune_potential", a08.wrong_potential_points, "divided the budget by 100", {}),
    ("prune_potential", a08.wrong_potential_strict, "not >", {}),
    ("prune_potential", a08.wrong_potential_empty_max, "return 0.0", {}),
    ("prune_potential", a08.wrong_potential_returns_accuracy, "that is an accuracy", {}),
    ("accuracy_under_shift", a08.wrong_shift_not_applied, "CLEAN data", {}),
    ("accuracy_under_shift", a08.wrong_shift_ignores_rng, "pass `rng=rng`", {}),
    ("accuracy_under_shift", a08.wrong_shift_error_rate, "error rate", {}),
    ("accuracy_under_shift", a08.wrong_shift_percent, "not percent", {}),
    ("accuracy_under_shift", a08.wrong_shift_fixed_severity, "that is severity 1", {}),
    ("clean_vs_shifted", a08.wrong_clean_vs_shifted_dense_clean, "dense network on CLEAN data", {}),
    ("clean_vs_shifted", a08.wrong_clean_vs_shifted_no_copy, "changed `trained`", {}),
    ("clean_vs_shifted", a08.wrong_clean_vs_shifted_swapped, "the order is (clean_potential", {}),
    ("clean_vs_shifted", a08.wrong_clean_vs_shifted_no_fine_tune, "WITHOUT fine-tuning", {}),
    ("clean_vs_shifted", a08.wrong_clean_vs_shifted_accuracies, "not one of the sparsities", {}),
]


def stub(*args, **kwargs):
    raise NotImplementedError("Task: write your code here")


def test_every_task_has_a_correct_answer_and_two_wrong_ones():
    assert {task for task, _ in CORRECT} == set(CHECKS) == set(VARIANTS)
    for task in CHECKS:
        assert len({fn for t, fn, _, _ in WRONG if t == task}) >= 2, task


@pytest.mark.parametrize("task, answer", CORRECT, ids=[f"{t}-{fn.__name__}" for t, fn in CORRECT])
def test_correct_answer_passes_every_variant(task, answer, ctx, capsys):
    for kwargs in VARIANTS[task]:
        CHECKS[task](answer, ctx, **kwargs)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(VARIANTS[task])
    assert all(line.startswith(feedback.PASS_MARK) for line in lines), lines


@pytest.mark.parametrize("task", sorted(CHECKS))
def test_stub_is_reported_as_not_done(task, ctx):
    with pytest.raises(feedback.NotDoneError, match="not implemented yet"):
        CHECKS[task](stub, ctx)


@pytest.mark.parametrize(
    "task, answer, phrase, kwargs", WRONG, ids=[f"{t}-{fn.__name__}-{i}" for i, (t, fn, _, _) in enumerate(WRONG)]
)
def test_wrong_answer_gets_the_feedback_for_its_mistake(task, answer, phrase, kwargs, ctx, capsys):
    with pytest.raises(AssertionError) as info:
        CHECKS[task](answer, ctx, **kwargs)
    assert not isinstance(info.value, feedback.NotDoneError)
    assert phrase in str(info.value), str(info.value)
    assert not [line for line in REFERENCE if line in str(info.value)], "the feedback shows reference code"
    assert feedback.PASS_MARK not in capsys.readouterr().out


# (general diagnosis, specific one that states it too): "not deterministic" is true of both
REFINEMENTS = {("not deterministic", "hidden global state")}


@pytest.mark.parametrize("task", sorted({t for t, _, _, _ in WRONG}))
def test_each_diagnosis_fires_only_for_its_own_mistake(task, ctx):
    """A phrase meant for one wrong answer appears in no other wrong answer's feedback
    (of the same task, same variant) that is meant to get a different phrase."""
    entries = [(answer, phrase, kwargs) for t, answer, phrase, kwargs in WRONG if t == task]
    messages = {}
    for answer, _, kwargs in entries:
        key = (answer, tuple(sorted(kwargs.items())))
        try:
            CHECKS[task](answer, ctx, **kwargs)
            messages[key] = ""
        except AssertionError as exc:
            messages[key] = str(exc)
    for answer, phrase, kwargs in entries:
        for other, other_phrase, other_kwargs in entries:
            same_variant = kwargs == other_kwargs
            refines = (phrase, other_phrase) in REFINEMENTS  # the other's diagnosis is this one plus its cause
            if other is not answer and same_variant and other_phrase != phrase and not refines:
                message = messages[(other, tuple(sorted(other_kwargs.items())))]
                assert phrase not in message, f"{other.__name__} is told {phrase!r}: {message}"
