"""Correct and plausible wrong answers to exercise 06 (the pruning loop and schedules).

Each ``wrong_*`` function makes one mistake, named in its comment; the tests
assert that the check rejects it with the feedback meant for that mistake.
"""

# ------------------------------------------------------------------ task 1: polynomial_decay


def correct_polynomial_decay(step, initial, final, begin, end, power=3):
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return final + (initial - final) * (1 - p) ** power


def wrong_decay_no_clip(step, initial, final, begin, end, power=3):
    # Mistake: forgets to clip p to [0, 1].
    p = (step - begin) / (end - begin)
    return final + (initial - final) * (1 - p) ** power


def wrong_decay_clip_only_top(step, initial, final, begin, end, power=3):
    # Mistake: clips p at 1 but not at 0, so the sparsity goes negative before begin.
    p = min(1.0, (step - begin) / (end - begin))
    return final + (initial - final) * (1 - p) ** power


def wrong_decay_clip_only_bottom(step, initial, final, begin, end, power=3):
    # Mistake: clips p at 0 but not at 1, so the sparsity overshoots final after end.
    p = max(0.0, (step - begin) / (end - begin))
    return final + (initial - final) * (1 - p) ** power


def wrong_decay_linear(step, initial, final, begin, end, power=3):
    # Mistake: linear interpolation, the power is ignored.
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return final + (initial - final) * (1 - p)


def wrong_decay_swapped(step, initial, final, begin, end, power=3):
    # Mistake: initial and final swapped.
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return initial + (final - initial) * (1 - p) ** power


def wrong_decay_slow_start(step, initial, final, begin, end, power=3):
    # Mistake: p ** power instead of (1 - p) ** power: rises slowly first.
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return initial + (final - initial) * p**power


def wrong_decay_hardcoded_power(step, initial, final, begin, end, power=3):
    # Mistake: always uses power 3, whatever the argument.
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return final + (initial - final) * (1 - p) ** 3


def wrong_decay_divides_by_end(step, initial, final, begin, end, power=3):
    # Mistake: p = (step - begin) / end.
    p = min(1.0, max(0.0, (step - begin) / end))
    return final + (initial - final) * (1 - p) ** power


def wrong_decay_integer_division(step, initial, final, begin, end, power=3):
    # Mistake: // makes p jump from 0 to 1 at end_step.
    p = min(1, max(0, (step - begin) // (end - begin)))
    return final + (initial - final) * (1 - p) ** power


# ------------------------------------------------------------------ task 2: iterative_targets


def correct_iterative_targets(fraction, rounds):
    return [1 - (1 - fraction) ** r for r in range(1, rounds + 1)]


def wrong_targets_of_original(fraction, rounds):
    # Mistake: prunes fraction of the ORIGINAL weights each round: r * fraction.
    return [r * fraction for r in range(1, rounds + 1)]


def wrong_targets_kept(fraction, rounds):
    # Mistake: returns the fraction kept, (1 - f) ** r, not the sparsity.
    return [(1 - fraction) ** r for r in range(1, rounds + 1)]


def wrong_targets_from_round_zero(fraction, rounds):
    # Mistake: off by one, r = 0..rounds-1.
    return [1 - (1 - fraction) ** r for r in range(rounds)]


def wrong_targets_includes_dense(fraction, rounds):
    # Mistake: includes round 0 (the dense model): rounds + 1 values.
    return [1 - (1 - fraction) ** r for r in range(rounds + 1)]


def wrong_targets_one_short(fraction, rounds):
    # Mistake: range(1, rounds) stops one round early.
    return [1 - (1 - fraction) ** r for r in range(1, rounds)]


# ------------------------------------------------------------------ task 3: prune_until


def correct_prune_until(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    start = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        state = model.state_dict()
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if accuracy < start - max_drop:
            model.load_state_dict(state)
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))


def wrong_until_no_undo(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # Mistake: stops at the right round but does not undo it.
    start = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if accuracy < start - max_drop:
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))


def wrong_until_previous_round(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # Mistake: compares each round with the previous round instead of the start.
    previous = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        state = model.state_dict()
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if accuracy < previous - max_drop:
            model.load_state_dict(state)
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))
        previous = accuracy


def wrong_until_never_stops(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # Mistake: compares the accuracy itself with max_drop, so the loop never stops.
    kept, rounds = [], 0
    evaluate_fn(model, X_val, y_val)
    while True:
        state = model.state_dict()
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if accuracy < max_drop:
            model.load_state_dict(state)
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))


def wrong_until_records_broken_round(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # Mistake: appends the round to the list before testing it, so the undone round is reported.
    start = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        state = model.state_dict()
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))
        if accuracy < start - max_drop:
            model.load_state_dict(state)
            return kept


def wrong_until_cumulative_amount(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # Mistake: passes the cumulative target r * step_fraction as the amount, although masks compose.
    start = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        state = model.state_dict()
        prune_fn(model, (rounds + 1) * step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if accuracy < start - max_drop:
            model.load_state_dict(state)
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))


def wrong_until_rebinds_copy(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # Mistake: "undoes" the round by rebinding a local name to a saved copy; the caller's model keeps the round.
    start = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        saved = model.copy()
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if accuracy < start - max_drop:
            model = saved  # noqa: F841 - the mistake: the caller never sees this
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))


def wrong_until_at_the_boundary(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # Mistake: `<=` - a round that loses exactly max_drop (still within the budget) also stops the loop.
    start = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        state = model.state_dict()
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if accuracy <= start - max_drop:
            model.load_state_dict(state)
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))


def correct_prune_until_drop_form(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):
    # The same rule written the other way round: stop when start - accuracy > max_drop.
    start = evaluate_fn(model, X_val, y_val)
    kept, rounds = [], 0
    while True:
        state = model.state_dict()
        prune_fn(model, step_fraction)
        accuracy = evaluate_fn(model, X_val, y_val)
        if start - accuracy > max_drop:
            model.load_state_dict(state)
            return kept
        rounds += 1
        kept.append((1 - (1 - step_fraction) ** rounds, accuracy))
