"""Checks for exercise 06, the pruning loop and schedules: polynomial decay
(Zhu & Gupta 2017, as in TensorFlow Model Optimization), the targets of
iterative pruning, and a loop that stops at an accuracy budget.

The schedules are compared with ``minnet.prune.schedules`` (the reference).
The loop is run on a small model whose "validation accuracy" follows a
known curve (the check provides ``evaluate_fn``), so that the stopping round,
the undone round and the returned records are known exactly; hidden tests use
other curves, fractions and budgets.
"""

from __future__ import annotations

import numbers

import numpy as np

from minnet.anatomy import weight_names
from minnet.prune.apply import masked_fraction, prune
from minnet.prune.schedules import Iterative, PolynomialDecay
from minnet.zoo import mlp

from .. import feedback
from ..feedback import CheckFailed
from .common import RANDOM_CASES, agrees_on_random_cases, with_earlier_tasks


def _as_float(value, what: str) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise CheckFailed(f"{what} should be a number, got {type(value).__name__} {value!r:.60}")
    return float(value)


# ------------------------------------------------------------------ task 1: polynomial_decay


def _decay(step, initial, final, begin, end, power, clip=True, swap=False, rising=False, denominator=None, floor=False):
    """The polynomial decay formula and its usual misreadings (for diagnosis)."""
    if swap:
        initial, final = final, initial
    p = (step - begin) / (denominator if denominator is not None else end - begin)
    if floor:
        p = float(np.floor(p))
    if clip:
        p = min(1.0, max(0.0, p))
    if rising:
        return initial + (final - initial) * p**power
    return final + (initial - final) * (1.0 - p) ** power


def check_polynomial_decay(
    polynomial_decay, initial: float = 0.0, final: float = 0.8, begin: int = 100, end: int = 1100, power=3
) -> None:
    """``polynomial_decay(step, initial, final, begin, end, power)`` equals
    ``PolynomialDecay(initial, final, begin, end, power).sparsity(step)`` at steps
    before, inside and after [begin, end]."""
    span = end - begin
    steps = sorted({int(s) for s in np.linspace(max(0, begin - span // 2), end + span // 2, 41)} | {begin, end})
    reference = PolynomialDecay(initial, final, begin, end, power=power)
    expected = np.array([reference.sparsity(s) for s in steps])
    got = np.array(
        [
            _as_float(
                feedback.call(polynomial_decay, s, initial, final, begin, end, power), f"the sparsity at step {s}"
            )
            for s in steps
        ]
    )
    if np.allclose(got, expected, atol=1e-9):
        cases = agrees_on_random_cases(polynomial_decay, _decay, _random_schedules(begin), "polynomial_decay")
        feedback.passed(
            f"polynomial_decay: {initial:g} -> {final:g} over steps {begin}-{end}, power {power:g}, "
            f"right at {len(steps)} steps and {cases} random schedules"
        )
        return
    steps = np.array(steps)

    def variant(power=power, **kw):
        return np.array([_decay(s, initial, final, begin, end, power, **kw) for s in steps])

    def same(**kw):
        with np.errstate(all="ignore"):
            return np.allclose(got, variant(**kw), atol=1e-9)

    inside = (steps >= begin) & (steps <= end)
    where = f"(e.g. at step {int(steps[np.argmax(~np.isclose(got, expected, atol=1e-9))])})"
    if same(swap=True):
        raise CheckFailed(
            f"you swapped initial and final: your schedule starts at {final:g} and ends at {initial:g}. "
            "sparsity = final + (initial - final) * (1 - p) ** power starts at initial (p = 0) and ends at final."
        )
    if np.allclose(got[inside], expected[inside], atol=1e-9):
        before, after = steps < begin, steps > end
        if before.any() and not np.allclose(got[before], expected[before], atol=1e-9):
            raise CheckFailed(
                f"before begin_step your sparsity is {got[before][0]:.4g} at step {steps[before][0]}, expected "
                f"initial = {initial:g}: you forgot to clip. p = (step - begin) / (end - begin) is negative "
                "there; clip it to [0, 1] (`min(1, max(0, p))`) so the schedule stays at initial until begin."
            )
        raise CheckFailed(
            f"after end_step your sparsity is {got[after][-1]:.4g} at step {steps[after][-1]}, expected "
            f"final = {final:g}: you forgot to clip. p goes above 1 after end_step; clip it to [0, 1] "
            "(`min(1, max(0, p))`) so the schedule stays at final."
        )
    if same(power=1):
        raise CheckFailed(
            "your schedule is linear (power 1): the formula raises (1 - p) to the power `power` (3 by default), "
            "so the sparsity rises fast at first, when there are many redundant weights, then levels off."
        )
    if power != 3 and same(power=3):
        raise CheckFailed(f"you used power 3 where the caller asked for power={power}: use the argument `power`.")
    if same(rising=True):
        raise CheckFailed(
            "your schedule rises slowly at first and fast at the end: it uses p ** power. Zhu & Gupta's formula "
            "is final + (initial - final) * (1 - p) ** power, which prunes fast first and levels off at final."
        )
    if begin != 0 and same(denominator=end):
        raise CheckFailed(
            "p should run from 0 at begin_step to 1 at end_step: p = (step - begin) / (end - begin); "
            "you divided by end instead of (end - begin)."
        )
    if same(floor=True):
        raise CheckFailed(
            "your sparsity jumps from initial to final at end_step: p = (step - begin) // (end - begin) is an "
            "integer division; use / so p goes smoothly from 0 to 1."
        )
    raise CheckFailed(
        f"your sparsity differs from Zhu & Gupta's formula {where}: with p = clip((step - begin) / (end - begin), "
        "0, 1), sparsity = final + (initial - final) * (1 - p) ** power."
    )


# ------------------------------------------------------------------ task 2: iterative_targets


def check_iterative_targets(iterative_targets, fraction: float = 0.2, rounds: int = 5) -> None:
    """``iterative_targets(fraction, rounds)`` lists the sparsity after each of the
    rounds r = 1..rounds when each round prunes ``fraction`` of the weights that
    remain: 1 - (1 - fraction) ** r (``minnet.prune.Iterative``)."""
    expected = np.array(_reference_targets(fraction, rounds))
    got = feedback.call(iterative_targets, fraction, rounds)
    if isinstance(got, np.ndarray):
        got = got.tolist()
    if not isinstance(got, (list, tuple)):
        raise CheckFailed(f"return a list of {rounds} sparsities, got {type(got).__name__} {got!r:.60}")
    values = np.array([_as_float(v, f"entry {i} of your list") for i, v in enumerate(got)])
    r = np.arange(1, rounds + 1)
    f = fraction
    if len(values) == rounds + 1 and np.isclose(values[0], 0.0) and np.allclose(values[1:], expected):
        raise CheckFailed(
            "your list starts with 0.0, the dense model before any pruning (round 0): list only the rounds "
            f"r = 1..{rounds}, so the first entry is the sparsity after round 1, {fraction:g}."
        )
    if len(values) != rounds:
        raise CheckFailed(
            f"return one sparsity per round: {rounds} values for rounds={rounds}, got {len(values)} "
            f"(an off-by-one in the range? `range(1, rounds + 1)` gives r = 1..{rounds})."
        )
    if np.allclose(values, expected, atol=1e-9):
        cases = agrees_on_random_cases(
            iterative_targets,
            _reference_targets,
            _random_rounds(rounds),
            "iterative_targets",
        )
        feedback.passed(
            f"iterative_targets: {rounds} round(s) of {fraction:g} of the rest reach sparsity {expected[-1]:.4f}; "
            f"{cases} random cases agree"
        )
        return
    if np.allclose(values, r * f):
        raise CheckFailed(
            f"you added {f:g} of the ORIGINAL weights each round (r * fraction, which would reach 1 after "
            f"{1 / f:g} rounds). Each round prunes {f:g} of the weights that REMAIN, so after r rounds "
            f"(1 - fraction) ** r are kept and the sparsity is 1 - (1 - fraction) ** r."
        )
    if np.allclose(values, (1 - f) ** r):
        raise CheckFailed(
            "(1 - fraction) ** r is the fraction of weights KEPT after r rounds; the sparsity (fraction pruned) is "
            "1 - (1 - fraction) ** r."
        )
    if np.allclose(values, 1 - (1 - f) ** (r - 1)):
        raise CheckFailed(
            "your list is one round behind: it starts at 0.0 (round 0). The first entry is the sparsity after "
            f"round 1, {f:g}: use r = 1..rounds."
        )
    if np.allclose(values, 1 - (1 - f) ** (r + 1)):
        raise CheckFailed(
            f"your list is one round ahead: the first entry should be the sparsity after round 1, {f:g}; "
            "use r = 1..rounds."
        )
    raise CheckFailed(
        f"expected {np.round(expected, 4).tolist()}, got {np.round(values, 4).tolist()}: after r rounds that each "
        "prune fraction of the remaining weights, the sparsity is 1 - (1 - fraction) ** r."
    )


# ------------------------------------------------------------------ task 3: prune_until

START_ACCURACY = 0.9


def _curve(name: str, max_drop: float, length: int) -> list[float]:
    """Accuracy after r = 0..length-1 rounds, in units of ``max_drop`` below the start.

    "gradual": -0.3 per round, so round 4 is the first beyond the budget; each
        round loses less than max_drop to the previous one, so a loop that compares
        with the previous round goes on, until the cliff at round 6;
    "immediate": round 1 is already beyond the budget;
    "recovers": round 2 breaks the budget, round 3 is back at the start: the loop
        must stop at the first round beyond the budget anyway.
    """
    if name == "gradual":
        drops = [0.3 * r for r in range(6)] + [5.0 + 0.3 * r for r in range(length)]
    elif name == "immediate":
        drops = [0.0] + [2.0 + 0.3 * r for r in range(length)]
    elif name == "recovers":
        drops = [0.0, 0.5, 1.5] + [0.0] * length
    else:
        raise ValueError(f"curve must be 'gradual', 'immediate' or 'recovers', got {name!r}")
    return [round(START_ACCURACY - d * max_drop, 10) for d in drops[:length]]


class _Scripted:
    """A model, a prune_fn and an evaluate_fn for the learner's loop: the model's
    accuracy is read off the curve at the number of rounds its weights show."""

    def __init__(self, seed, step_fraction, max_drop, curve, max_rounds):
        self.model = mlp([12, 16, 16, 4], rng=seed)
        self.names = weight_names(self.model)
        self.step_fraction, self.max_drop, self.curve, self.max_rounds = step_fraction, max_drop, curve, max_rounds
        self.X_val = np.random.default_rng(seed).standard_normal((30, 12)).astype(np.float32)
        self.y_val = np.arange(30) % 4
        # kept weights and sparsity after r = 0, 1, ... rounds of prune(model, amount=step_fraction)
        self.kept, self.sparsities = [self._kept_count(self.model.state_dict())], [0.0]
        reference = self.model.copy()
        for _ in range(max_rounds + 1):
            prune(reference, amount=step_fraction)
            self.kept.append(self._kept_count(reference.state_dict()))
            self.sparsities.append(masked_fraction(reference))
        self.prune_calls, self.evaluations = 0, []  # rounds seen at each evaluate_fn call

    def _kept_count(self, state) -> int:
        """How many of the prunable weights the masks of ``state`` keep."""
        return sum(int(state[f"{n}_mask"].sum()) if f"{n}_mask" in state else state[n].size for n in self.names)

    def rounds_of(self, model) -> int:
        kept = self._kept_count(model.state_dict())
        if kept not in self.kept:
            raise CheckFailed(
                "the model's weights do not match any number of rounds of `prune_fn(model, step_fraction)`: "
                "prune with the prune_fn you are given, once per round, and restore the state you saved."
            )
        return self.kept.index(kept)

    def prune_fn(self, model, amount):
        if not np.isclose(amount, self.step_fraction):
            raise CheckFailed(
                f"prune_fn got amount={amount!r}: give it step_fraction={self.step_fraction} every round. Masks "
                "compose, so pruning step_fraction of what is left each round already reaches 1 - (1 - f) ** r."
            )
        self.prune_calls += 1
        if self.prune_calls > self.max_rounds:
            raise CheckFailed(
                f"your loop has pruned {self.prune_calls} rounds and goes on, although round "
                f"{self.first_break()} already lost more than max_drop: it never stops. After each round, "
                "evaluate and stop (after undoing the round) as soon as accuracy < start_accuracy - max_drop."
            )
        prune(model, amount=amount)

    def evaluate_fn(self, model, X, y):
        if X is not self.X_val or y is not self.y_val:
            raise CheckFailed("evaluate on the validation data you were given: evaluate_fn(model, X_val, y_val)")
        r = self.rounds_of(model)
        self.evaluations.append(r)
        return self.curve[r]

    def first_break(self) -> int:
        """The first round whose accuracy is more than max_drop below the start."""
        limit = self.curve[0] - self.max_drop
        return next(r for r in range(1, len(self.curve)) if self.curve[r] < limit)


def _reference_targets(fraction, rounds):
    schedule = Iterative(fraction, max(rounds, 1))  # 0 rounds: an empty list
    return [schedule.sparsity(r) for r in range(1, rounds + 1)]


@with_earlier_tasks({"iterative_targets": _reference_targets, "polynomial_decay": _decay})
def check_prune_until(
    prune_until, seed: int = 0, step_fraction: float = 0.2, max_drop: float = 0.02, curve: str = "gradual"
) -> None:
    """``prune_until(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn)``
    prunes ``step_fraction`` of the remaining weights per round, stops at the first
    round whose accuracy is more than ``max_drop`` below the starting accuracy,
    undoes that round, and returns [(sparsity, accuracy)] of the kept rounds."""
    max_rounds = 10
    s = _Scripted(seed, step_fraction, max_drop, _curve(curve, max_drop, max_rounds + 2), max_rounds)
    stop, formula = _check_scenario(prune_until, s, step_fraction, max_drop)
    # and, whatever the arguments: a round that loses EXACTLY max_drop (numbers exact in binary, so
    # every way of writing the comparison agrees) is within the budget; the next one is not
    exact = [BOUNDARY_START - d * BOUNDARY_DROP for d in (0, 0.5, 1.0, 1.5, 2.0, 2.5)]
    exact += [exact[-1]] * (max_rounds + 2 - len(exact))
    _check_scenario(
        prune_until, _Scripted(seed, step_fraction, BOUNDARY_DROP, exact, max_rounds), step_fraction, BOUNDARY_DROP
    )
    feedback.passed(
        f"prune_until: kept {stop - 1} round(s) up to sparsity {formula[-1] if formula else 0.0:.3f}, "
        f"stopped and undid round {stop}"
    )


BOUNDARY_START, BOUNDARY_DROP = 0.875, 0.0625


def _check_scenario(prune_until, s, step_fraction: float, max_drop: float):
    """Run the learner's loop on the scripted model ``s``; fail naming the mistake.
    Returns the round that breaks the budget and the sparsities of the kept rounds."""
    stop = s.first_break()
    result = feedback.call(prune_until, s.model, s.X_val, s.y_val, step_fraction, max_drop, s.prune_fn, s.evaluate_fn)
    if not s.evaluations:
        raise CheckFailed(
            "your loop never called evaluate_fn: measure the accuracy with evaluate_fn(model, X_val, y_val), "
            "once before pruning (the start) and after every round."
        )
    if s.evaluations[0] != 0:
        raise CheckFailed(
            "the first accuracy you measured was after pruning: evaluate the unpruned model first, before the "
            "loop; that is the start accuracy every round is compared with."
        )
    if not isinstance(result, (list, tuple)) or not all(isinstance(e, (list, tuple)) and len(e) == 2 for e in result):
        raise CheckFailed(f"return a list of (sparsity, accuracy) pairs, one per kept round, got {result!r:.80}")
    records = [(_as_float(a, "a sparsity"), _as_float(b, "an accuracy")) for a, b in result]
    limit = s.curve[0] - max_drop
    targets = _reference_targets(step_fraction, len(records))
    if (
        records
        and np.allclose([a for a, _ in records], s.curve[1 : len(records) + 1])
        and np.allclose([b for _, b in records], targets, atol=0.005)
        and not np.allclose(targets, s.curve[1 : len(records) + 1])
    ):
        raise CheckFailed(
            "your pairs are (accuracy, sparsity): return (sparsity, accuracy) for each kept round, sparsity first."
        )
    final_rounds = s.rounds_of(s.model)
    if final_rounds == stop:
        raise CheckFailed(
            f"round {stop} lost more than max_drop and your loop stopped, but the model still carries that "
            "round's pruning: keep a copy of the model's state (`state_dict`) from before each round, and load "
            "it back (`load_state_dict`) when the round breaks the budget."
        )
    below = [r + 1 for r, (_, acc) in enumerate(records) if acc < limit]
    if len(records) == stop and below == [stop]:
        raise CheckFailed(
            f"your list ends with round {stop}, the round that broke the budget and was undone: return only the "
            "rounds you kept."
        )
    if below:
        hint = "a round is kept only while its accuracy >= start - max_drop, the START measured once before the loop"
        if len(records) + 1 == _first_break(s.curve, lambda r: s.curve[r - 1] - max_drop):
            hint = (
                "compare every round with the accuracy of the unpruned model (measured once before the loop), "
                "not with the previous round's"
            )
        raise CheckFailed(
            f"you kept round(s) {below}, whose accuracy is more than max_drop = {max_drop} below the START accuracy "
            f"{s.curve[0]}: {hint}."
        )
    if len(records) < stop - 1:
        hint = "stop only when accuracy < start - max_drop"
        stopped_at = len(records) + 1
        relative = _first_break(s.curve, lambda r: s.curve[0] * (1 - max_drop))
        at_the_limit = next((r for r in range(1, len(s.curve)) if s.curve[r] <= limit), None)  # `<=` for `<`
        if stopped_at == relative and stopped_at != at_the_limit:
            hint = (
                "you stopped when accuracy < start * (1 - max_drop), a RELATIVE drop; max_drop is in accuracy "
                "units: stop when accuracy < start - max_drop"
            )
        raise CheckFailed(
            f"you stopped after round {len(records) + 1}, but rounds 1..{stop - 1} stay within the budget "
            f"(accuracy >= start - max_drop = {limit:.4f}): {hint}."
        )
    if final_rounds != stop - 1:
        raise CheckFailed(
            f"after your loop the model carries {final_rounds} rounds of pruning, expected {stop - 1} (the kept "
            "ones): restore the state saved just before the round that broke the budget."
        )
    expected_acc = s.curve[1:stop]
    if len(records) != stop - 1 or not np.allclose([a for _, a in records], expected_acc):
        raise CheckFailed(
            f"expected the accuracies of the kept rounds {expected_acc}, got {[a for _, a in records]}: record "
            "(sparsity, accuracy) once per kept round, in order."
        )
    formula = _reference_targets(step_fraction, stop - 1)
    measured = s.sparsities[1:stop]
    sparsities = [sp for sp, _ in records]
    if not (np.allclose(sparsities, formula, atol=0.005) or np.allclose(sparsities, measured, atol=0.005)):
        raise CheckFailed(
            f"expected the sparsities {np.round(formula, 4).tolist()} (after r rounds of step_fraction of the rest: "
            f"1 - (1 - f) ** r, as in task 2), got {np.round(sparsities, 4).tolist()}."
        )
    return stop, formula


def _first_break(curve, threshold) -> int | None:
    """The first round r >= 1 whose accuracy ``curve[r]`` is below ``threshold(r)``."""
    return next((r for r in range(1, len(curve)) if curve[r] < threshold(r)), None)


# -- random cases ---------------------------------------------------------------------------------


def _random_schedules(seed: int):
    """Steps before, inside and after random [begin, end] windows, with rising
    targets and powers 1 to 4 (fractional too)."""
    gen = np.random.default_rng([seed, 601])
    for _ in range(RANDOM_CASES):
        begin = int(gen.integers(0, 2000))
        end = begin + int(gen.integers(1, 3000))
        initial = float(gen.uniform(0.0, 0.5))
        yield {
            "step": int(gen.integers(max(0, begin - 300), end + 500)),
            "initial": initial,
            "final": float(gen.uniform(initial, 0.99)),
            "begin": begin,
            "end": end,
            "power": float(gen.choice([1, 1.5, 2, 3, 4])),
        }


def _random_rounds(seed: int):
    gen = np.random.default_rng([seed, 602])
    for _ in range(RANDOM_CASES):
        yield {"fraction": float(gen.uniform(0.01, 0.95)), "rounds": int(gen.integers(1, 13))}


feedback.guard_checks(globals())
