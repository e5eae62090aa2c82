"""Correct and plausible wrong answers to exercise 08 (beyond test accuracy).

Each ``wrong_*`` function makes one mistake, named in its comment; the tests
assert that the check rejects it with the feedback meant for that mistake.
"""

import minnet

# ------------------------------------------------------------------ task 1: prune_potential


def correct_prune_potential(sparsities, accuracies, dense_accuracy, budget):
    within = [s for s, a in zip(sparsities, accuracies) if a >= dense_accuracy - budget]
    return max(within) if within else 0.0


def wrong_potential_first_failure(sparsities, accuracies, dense_accuracy, budget):
    # Mistake: returns the first sparsity that FAILS the budget.
    for s, a in zip(sparsities, accuracies):
        if a < dense_accuracy - budget:
            return s
    return sparsities[-1]


def wrong_potential_stops_at_first_failure(sparsities, accuracies, dense_accuracy, budget):
    # Mistake: the last sparsity within budget before the first failure (ignores later recoveries).
    best = 0.0
    for s, a in zip(sparsities, accuracies):
        if a < dense_accuracy - budget:
            break
        best = s
    return best


def wrong_potential_points(sparsities, accuracies, dense_accuracy, budget):
    # Mistake: reads the budget as percentage points and divides it by 100.
    within = [s for s, a in zip(sparsities, accuracies) if a >= dense_accuracy - budget / 100]
    return max(within) if within else 0.0


def wrong_potential_strict(sparsities, accuracies, dense_accuracy, budget):
    # Mistake: > instead of >=: an accuracy exactly at the budget is excluded.
    within = [s for s, a in zip(sparsities, accuracies) if a > dense_accuracy - budget]
    return max(within) if within else 0.0


def wrong_potential_empty_max(sparsities, accuracies, dense_accuracy, budget):
    # Mistake: max() of an empty list when nothing is within budget.
    return max(s for s, a in zip(sparsities, accuracies) if a >= dense_accuracy - budget)


def wrong_potential_returns_accuracy(sparsities, accuracies, dense_accuracy, budget):
    # Mistake: returns the accuracy at the prune potential instead of the sparsity.
    within = [(s, a) for s, a in zip(sparsities, accuracies) if a >= dense_accuracy - budget]
    return max(within)[1] if within else 0.0


# ------------------------------------------------------------------ task 2: accuracy_under_shift


def correct_accuracy_under_shift(model, X, y, kind, severity, rng):
    X_shifted = minnet.data.shift(X, kind, severity, rng=rng)
    return minnet.evaluate(model, X_shifted, y).accuracy


def wrong_shift_not_applied(model, X, y, kind, severity, rng):
    # Mistake: shifts the data but evaluates on the clean X.
    minnet.data.shift(X, kind, severity, rng=rng)
    return minnet.evaluate(model, X, y).accuracy


def wrong_shift_ignores_rng(model, X, y, kind, severity, rng):
    # Mistake: does not pass rng, so the shift is always drawn with seed 0.
    return minnet.evaluate(model, minnet.data.shift(X, kind, severity), y).accuracy


def wrong_shift_error_rate(model, X, y, kind, severity, rng):
    # Mistake: returns the error rate.
    return 1 - minnet.evaluate(model, minnet.data.shift(X, kind, severity, rng=rng), y).accuracy


def wrong_shift_percent(model, X, y, kind, severity, rng):
    # Mistake: returns a percentage.
    return 100 * minnet.evaluate(model, minnet.data.shift(X, kind, severity, rng=rng), y).accuracy


def wrong_shift_fixed_severity(model, X, y, kind, severity, rng):
    # Mistake: always severity 1.
    return minnet.evaluate(model, minnet.data.shift(X, kind, 1, rng=rng), y).accuracy


# ------------------------------------------------------------------ task 3: clean_vs_shifted


def correct_clean_vs_shifted(trained, train, val, sparsities, kind, severity, budget, rng):
    X_val, y_val = val
    dense_clean = minnet.evaluate(trained, X_val, y_val).accuracy
    dense_shifted = correct_accuracy_under_shift(trained, X_val, y_val, kind, severity, rng)
    clean, shifted = [], []
    for s in sparsities:
        model = trained.copy()
        minnet.prune.prune(model, sparsity=s)
        minnet.fit(model, *train, epochs=1, optimizer=minnet.Adam(lr=1e-3), rng=rng, verbose=False)
        clean.append(minnet.evaluate(model, X_val, y_val).accuracy)
        shifted.append(correct_accuracy_under_shift(model, X_val, y_val, kind, severity, rng))
    return (
        correct_prune_potential(sparsities, clean, dense_clean, budget),
        correct_prune_potential(sparsities, shifted, dense_shifted, budget),
    )


def wrong_clean_vs_shifted_dense_clean(trained, train, val, sparsities, kind, severity, budget, rng):
    # Mistake: judges the pruned networks on shifted data against the dense accuracy on CLEAN data.
    X_val, y_val = val
    dense_clean = minnet.evaluate(trained, X_val, y_val).accuracy
    clean, shifted = [], []
    for s in sparsities:
        model = trained.copy()
        minnet.prune.prune(model, sparsity=s)
        minnet.fit(model, *train, epochs=1, optimizer=minnet.Adam(lr=1e-3), rng=rng, verbose=False)
        clean.append(minnet.evaluate(model, X_val, y_val).accuracy)
        shifted.append(correct_accuracy_under_shift(model, X_val, y_val, kind, severity, rng))
    return (
        correct_prune_potential(sparsities, clean, dense_clean, budget),
        correct_prune_potential(sparsities, shifted, dense_clean, budget),
    )


def wrong_clean_vs_shifted_no_copy(trained, train, val, sparsities, kind, severity, budget, rng):
    # Mistake: prunes `trained` in place, so every sparsity starts from the previous pruned network.
    X_val, y_val = val
    dense_clean = minnet.evaluate(trained, X_val, y_val).accuracy
    dense_shifted = correct_accuracy_under_shift(trained, X_val, y_val, kind, severity, rng)
    clean, shifted = [], []
    for s in sparsities:
        minnet.prune.prune(trained, sparsity=s)
        minnet.fit(trained, *train, epochs=1, optimizer=minnet.Adam(lr=1e-3), rng=rng, verbose=False)
        clean.append(minnet.evaluate(trained, X_val, y_val).accuracy)
        shifted.append(correct_accuracy_under_shift(trained, X_val, y_val, kind, severity, rng))
    return (
        correct_prune_potential(sparsities, clean, dense_clean, budget),
        correct_prune_potential(sparsities, shifted, dense_shifted, budget),
    )


def wrong_clean_vs_shifted_swapped(trained, train, val, sparsities, kind, severity, budget, rng):
    # Mistake: returns (shifted, clean).
    clean, shifted = correct_clean_vs_shifted(trained, train, val, sparsities, kind, severity, budget, rng)
    return shifted, clean


def wrong_clean_vs_shifted_no_fine_tune(trained, train, val, sparsities, kind, severity, budget, rng):
    # Mistake: skips the 1 epoch of fine-tuning after pruning.
    X_val, y_val = val
    dense_clean = minnet.evaluate(trained, X_val, y_val).accuracy
    dense_shifted = correct_accuracy_under_shift(trained, X_val, y_val, kind, severity, rng)
    clean, shifted = [], []
    for s in sparsities:
        model = trained.copy()
        minnet.prune.prune(model, sparsity=s)
        clean.append(minnet.evaluate(model, X_val, y_val).accuracy)
        shifted.append(correct_accuracy_under_shift(model, X_val, y_val, kind, severity, rng))
    return (
        correct_prune_potential(sparsities, clean, dense_clean, budget),
        correct_prune_potential(sparsities, shifted, dense_shifted, budget),
    )


def wrong_clean_vs_shifted_accuracies(trained, train, val, sparsities, kind, severity, budget, rng):
    # Mistake: returns the accuracies of the most pruned network instead of prune potentials.
    X_val, y_val = val
    model = trained.copy()
    minnet.prune.prune(model, sparsity=sparsities[-1])
    return (
        minnet.evaluate(model, X_val, y_val).accuracy,
        correct_accuracy_under_shift(model, X_val, y_val, kind, severity, rng),
    )


def wrong_potential_not_above_dense(sparsities, accuracies, dense_accuracy, budget):
    # Mistake: a band around the dense accuracy: networks that beat the dense one are left out.
    within = [s for s, a in zip(sparsities, accuracies) if dense_accuracy - budget <= a <= dense_accuracy]
    return max(within) if within else 0.0
