"""Checks for exercise 08, beyond test accuracy: prune potential, accuracy
under a distribution shift, and prune potential on clean versus shifted data.

Prune potential is defined as in ``minnet.prune.prune_potential`` (the
reference) and Liebenwein et al. 2021: the LARGEST sparsity of the grid whose
accuracy is at least ``dense_accuracy - budget`` (accuracies and budget as
fractions), 0.0 when none is. A later sparsity that recovers counts even after
an earlier one failed. ``check_clean_vs_shifted`` re-runs the recipe with the
library (everything is seeded, so it gives exactly the same numbers).
"""

from __future__ import annotations

import numbers

import numpy as np

from minnet.data import SHIFTS, shift
from minnet.optim import Adam
from minnet.prune.apply import prune
from minnet.prune.potential import prune_potential as reference_potential
from minnet.train import evaluate, fit

from .. import feedback
from ..feedback import CheckFailed
from .common import call_keeping_inputs, sole_explanation

# ------------------------------------------------------------------ task 1: prune_potential

# (sparsities, accuracies, dense accuracy, budget, what the case is about)
CASES = [
    ([0.5, 0.7, 0.8, 0.9, 0.95], [0.949, 0.947, 0.946, 0.938, 0.90], 0.95, 0.005, "a curve that falls"),
    ([0.5, 0.7, 0.8, 0.9, 0.95], [0.949, 0.930, 0.948, 0.935, 0.946], 0.95, 0.005, "a curve that recovers"),
    ([0.5, 0.7, 0.9], [0.90, 0.85, 0.80], 0.95, 0.01, "no sparsity within budget"),
    ([0.25, 0.5, 0.75], [0.75, 0.5, 0.25], 0.75, 0.25, "an accuracy exactly at the budget"),
    ([0.3, 0.6, 0.8], [0.953, 0.951, 0.93], 0.95, 0.005, "pruned networks more accurate than the dense one"),
    ([0.2, 0.4, 0.6], [0.85, 0.805, 0.7], 0.9, 0.1, "a budget of ten points"),
]


def _first_failure(s, a, dense, budget):
    bad = [x for x, acc in zip(s, a) if acc < dense - budget - 1e-12]
    return bad[0] if bad else None


def _last_before_failure(s, a, dense, budget):
    best = 0.0
    for x, acc in zip(s, a):
        if acc < dense - budget - 1e-12:
            return best
        best = x
    return best


def _strict(s, a, dense, budget):
    within = [x for x, acc in zip(s, a) if acc > dense - budget]
    return max(within) if within else 0.0


def _not_above_dense(s, a, dense, budget):
    within = [x for x, acc in zip(s, a) if dense - budget - 1e-12 <= acc <= dense]
    return max(within) if within else 0.0


def _random_cases(seed: int, n: int = 6):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        k = int(rng.integers(3, 9))
        s = np.sort(rng.choice(np.arange(1, 100), k, replace=False)) / 100
        dense = float(rng.uniform(0.8, 0.99))
        a = np.round(dense - np.abs(rng.normal(0, 0.02, k)) * rng.choice([-0.2, 1.0], k), 4)
        cases.append((s, a, dense, float(rng.choice([0.005, 0.01, 0.02])), f"random curve (seed {seed})"))
    return cases


def check_prune_potential(prune_potential, seed: int | None = None) -> None:
    """``prune_potential(sparsities, accuracies, dense_accuracy, budget)`` returns the
    largest sparsity whose accuracy >= dense_accuracy - budget, or 0.0 if none.
    Without ``seed`` designed curves (as lists); with ``seed`` random curves as
    NumPy arrays."""
    cases = CASES if seed is None else _random_cases(seed)
    answers = []
    for s, a, dense, budget, about in cases:
        expected = reference_potential(s, a, dense, budget)
        try:
            got = feedback.call(prune_potential, s, a, dense, budget)
        except ValueError as exc:
            if expected == 0.0:
                raise CheckFailed(
                    f"{_where(s, a, dense, budget, about)}, your function raised ValueError ({exc}): when no sparsity "
                    "is within budget, there is nothing to take the max of; return 0.0 (the dense network, no pruning)."
                ) from exc
            raise
        if got is None or isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
            hint = " When no sparsity is within budget, return 0.0." if expected == 0.0 else ""
            raise CheckFailed(f"{_where(s, a, dense, budget, about)}: return a sparsity (a float), got {got!r}.{hint}")
        got = float(got)
        if not any(np.isclose(got, x) for x in s) and got != 0.0:
            hint = "a prune potential is one of the sparsities of the grid (or 0.0 when none is within budget)"
            if any(np.isclose(got, x) for x in a):
                hint = "that is an accuracy; return the SPARSITY at which the accuracy is still within budget"
            where = _where(s, a, dense, budget, about)
            raise CheckFailed(f"{where}, you returned {got:g}, expected {expected:g}: {hint}")
        answers.append(got)
    wrong = [i for i, (got, case) in enumerate(zip(answers, cases)) if not _same(got, reference_potential(*case[:4]))]
    if wrong:
        _diagnose_potential(answers, cases, wrong[0])
    feedback.passed(f"prune_potential: right on {len(cases)} curves" + ("" if seed is None else f" (seed {seed})"))


def _where(s, a, dense, budget, about) -> str:
    return (
        f"for {about}: sparsities {np.round(np.asarray(s, float), 3).tolist()}, accuracies "
        f"{np.round(np.asarray(a, float), 4).tolist()}, dense {dense:.4g}, budget {budget}"
    )


def _same(x, y) -> bool:
    return bool(np.isclose(x, y, rtol=0, atol=1e-12))


# Known mistakes: (what the learner's function computes instead, the hint for it).
MISTAKES = [
    (
        lambda s, a, dense, budget: _first_failure(s, a, dense, budget),
        "that is the first sparsity whose accuracy is BELOW dense_accuracy - budget; the prune potential is the "
        "largest sparsity that is still within the budget",
    ),
    (
        lambda s, a, dense, budget: _last_before_failure(s, a, dense, budget),
        "you stopped at the first sparsity outside the budget. The prune potential is the LARGEST sparsity within "
        "budget over the whole grid: a larger sparsity whose accuracy recovers counts too",
    ),
    (
        lambda s, a, dense, budget: _strict(s, a, dense, budget),
        "an accuracy exactly at dense_accuracy - budget is still within budget: compare with >=, not >",
    ),
    (
        lambda s, a, dense, budget: reference_potential(s, a, dense, budget / 100),
        "you divided the budget by 100 (as if it were in percentage points). budget is a fraction, like the "
        "accuracies: 0.005 is half a point, so the threshold is dense_accuracy - budget",
    ),
    (
        lambda s, a, dense, budget: reference_potential(s, a, dense, min(budget * 100, 1.0)),
        "you multiplied the budget by 100: budget is already a fraction like the accuracies; the threshold is "
        "dense_accuracy - budget",
    ),
    (
        lambda s, a, dense, budget: reference_potential(s, a, dense, dense * budget),
        "you used a RELATIVE budget, accuracy >= dense_accuracy * (1 - budget); budget is in accuracy units: the "
        "threshold is dense_accuracy - budget",
    ),
    (
        lambda s, a, dense, budget: _not_above_dense(s, a, dense, budget),
        "a pruned network MORE accurate than the dense one is within budget too (pruning sometimes helps a little): "
        "the only bound is accuracy >= dense_accuracy - budget",
    ),
]


def _diagnose_potential(answers, cases, first_wrong: int) -> None:
    """Fail on the first wrong case, naming a known mistake only if it alone
    reproduces the learner's answers on every case."""
    hint = (
        sole_explanation(
            MISTAKES, lambda mistake: all(_same(got, mistake(*case[:4])) for got, case in zip(answers, cases))
        )
        or "the prune potential is the largest sparsity whose accuracy >= dense_accuracy - budget, else 0.0"
    )
    s, a, dense, budget, about = cases[first_wrong]
    raise CheckFailed(
        f"{_where(s, a, dense, budget, about)}, you returned {answers[first_wrong]:g}, expected "
        f"{reference_potential(s, a, dense, budget):g}: {hint}"
    )


# ------------------------------------------------------------------ task 2: accuracy_under_shift


def _accuracy_under_shift(model, X, y, kind, severity, rng) -> float:
    """The reference of task 2."""
    return evaluate(model, shift(X, kind, severity, rng=rng), y).accuracy


def check_accuracy_under_shift(
    accuracy_under_shift, model, X, y, kinds=("noise", "occlusion"), severity: int = 3, rng: int = 1
) -> None:
    """``accuracy_under_shift(model, X, y, kind, severity, rng)`` is
    ``minnet.evaluate(model, minnet.data.shift(X, kind, severity, rng=rng), y).accuracy``."""
    clean = evaluate(model, X, y).accuracy

    def reference(kind, sev=severity, seed=rng):
        return _accuracy_under_shift(model, X, y, kind, sev, seed)

    answers = {}
    for current in kinds:
        got = call_keeping_inputs(accuracy_under_shift, model=model, X=X, y=y, kind=current, severity=severity, rng=rng)
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got[()]
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
            raise CheckFailed(f"return the accuracy (a float), got {type(got).__name__} {got!r:.60}")
        answers[current] = float(got)
    wrong = [kind for kind in kinds if not np.isclose(answers[kind], reference(kind), rtol=0, atol=1e-12)]
    if wrong:
        first = wrong[0]
        what = (
            f"for kind={first!r}, severity={severity}, rng={rng} you returned {answers[first]:.4f}, "
            f"expected {reference(first):.4f}"
        )
        if answers[first] > 1:
            raise CheckFailed(f"{what}: return a fraction in [0, 1] (`minnet.evaluate(...).accuracy`), not percent")
        # (what the learner's function computes instead, its hint): named only if it alone
        # reproduces the answers for every kind
        mistakes = [
            (lambda kind: 1 - reference(kind), "that is the error rate, 1 - accuracy; return the accuracy"),
            (
                lambda kind: clean,
                "that is the accuracy on the CLEAN data; evaluate on the shifted inputs "
                "`minnet.data.shift(X, kind, severity, rng=rng)` instead of X",
            ),
            (
                lambda kind: reference(kind, seed=0),
                "you drew the shift with seed 0; pass `rng=rng` to minnet.data.shift",
            ),
        ]
        mistakes += [
            (lambda kind, sev=sev: reference(kind, sev=sev), f"that is severity {sev}; pass the `severity` argument")
            for sev in range(1, 6)
            if sev != severity
        ]
        mistakes += [
            (lambda kind, other=other: reference(other), f"that is the {other!r} shift; pass the `kind` argument")
            for other in SHIFTS
        ]
        hint = sole_explanation(
            mistakes, lambda mistake: all(np.isclose(answers[k], mistake(k), rtol=0, atol=1e-12) for k in kinds)
        ) or (
            "shift the inputs with minnet.data.shift, passing kind, severity and rng as given, and return the "
            "accuracy of the model on them"
        )
        raise CheckFailed(f"{what}: {hint}")
    feedback.passed(f"accuracy_under_shift: right for {', '.join(kinds)} at severity {severity}")


# ------------------------------------------------------------------ task 3: clean_vs_shifted


def _curves(trained, train, val, sparsities, kind, severity, rng, *, fine_tune=True):
    """Accuracies of the pruned (and fine-tuned) copies on clean and shifted val data,
    and the dense model's: (clean, shifted, dense_clean, dense_shifted)."""
    X_val, y_val = val
    X_shifted = shift(X_val, kind, severity, rng=rng)
    clean, shifted = [], []
    for s in sparsities:
        model = trained.copy()
        prune(model, sparsity=s)
        if fine_tune:
            fit(model, *train, epochs=1, optimizer=Adam(lr=1e-3), rng=rng, verbose=False)
        clean.append(evaluate(model, X_val, y_val).accuracy)
        shifted.append(evaluate(model, X_shifted, y_val).accuracy)
    return clean, shifted, evaluate(trained, X_val, y_val).accuracy, evaluate(trained, X_shifted, y_val).accuracy


def check_clean_vs_shifted(
    clean_vs_shifted,
    trained,
    train,
    val,
    sparsities=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
    kind: str = "noise",
    severity: int = 3,
    budget: float = 0.01,
    rng: int = 0,
) -> None:
    """``clean_vs_shifted(trained, train, val, sparsities, kind, severity, budget, rng)``
    returns ``(clean_potential, shifted_potential)``: for each sparsity, a copy of
    ``trained`` pruned by global magnitude and fine-tuned for 1 epoch (Adam, lr 1e-3,
    seed ``rng``) is evaluated on val and on val shifted with (kind, severity, rng);
    each potential compares the pruned networks with the DENSE network on the same
    data. Both values are sparsities of the grid (or 0.0)."""
    sparsities = list(sparsities)
    before = trained.state_dict()
    shift_calls, budgets = [], []

    # Tasks 1 and 2 are replaced by the reference (a mistake there costs those tasks
    # only), recording how the learner calls them.
    def recorded_accuracy_under_shift(model, X, y, kind, severity, rng):
        shift_calls.append((kind, severity, rng))
        return _accuracy_under_shift(model, X, y, kind, severity, rng)

    def recorded_prune_potential(sparsities, accuracies, dense_accuracy, budget):
        budgets.append(budget)
        return reference_potential(sparsities, accuracies, dense_accuracy, budget)

    earlier = {"accuracy_under_shift": recorded_accuracy_under_shift, "prune_potential": recorded_prune_potential}
    with feedback.earlier_tasks_replaced(clean_vs_shifted, earlier):
        got = feedback.call(clean_vs_shifted, trained, train, val, sparsities, kind, severity, budget, rng)
    after = trained.state_dict()
    if set(after) != set(before) or any(not np.array_equal(after[k], before[k]) for k in before):
        raise CheckFailed(
            "your function changed `trained` (it pruned or trained it in place), so each sparsity started from the "
            "previous pruned network and the dense accuracy changed. Prune and fine-tune `trained.copy()`."
        )
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"return a pair (clean_potential, shifted_potential), got {got!r:.80}")
    values = []
    for name, value in zip(("clean_potential", "shifted_potential"), got):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise CheckFailed(f"{name} should be a sparsity (a float), got {type(value).__name__} {value!r:.60}")
        if float(value) != 0.0 and not any(np.isclose(float(value), s) for s in sparsities):
            raise CheckFailed(
                f"{name} = {value} is not one of the sparsities {sparsities} (nor 0.0): a prune potential is a "
                "sparsity of the grid, the largest one within budget."
            )
        values.append(float(value))
    other_shifts = sorted({c for c in shift_calls if c != (kind, severity, rng)}, key=repr)
    if other_shifts:
        raise CheckFailed(
            f"you called accuracy_under_shift with (kind, severity, rng) = {other_shifts[0]!r} for some network, "
            f"but the caller asked for {(kind, severity, rng)!r}: measure the dense network and every pruned one on "
            "the same shifted data, with the arguments as given."
        )
    other_budgets = [b for b in budgets if not (isinstance(b, numbers.Real) and np.isclose(float(b), budget))]
    if other_budgets:
        raise CheckFailed(
            f"you passed budget={other_budgets[0]!r} to prune_potential, but the caller's budget is {budget}: pass "
            "it on as given (a fraction, like the accuracies)."
        )
    clean, shifted, dense_clean, dense_shifted = _curves(trained, train, val, sparsities, kind, severity, rng)
    expected = (
        reference_potential(sparsities, clean, dense_clean, budget),
        reference_potential(sparsities, shifted, dense_shifted, budget),
    )
    if np.allclose(values, expected):
        verdict = "lower" if expected[1] < expected[0] else "not lower"
        feedback.passed(
            f"clean_vs_shifted: prune potential {expected[0]:g} on clean data, {expected[1]:g} under "
            f"{kind} (severity {severity}): {verdict} under the shift"
        )
        return
    curves = (
        f" (reference accuracies: dense {dense_clean:.4f} clean / {dense_shifted:.4f} shifted; pruned clean "
        f"{np.round(clean, 4).tolist()}, pruned shifted {np.round(shifted, 4).tolist()})"
    )
    if expected[0] != expected[1] and np.allclose(values, expected[::-1]):
        raise CheckFailed(
            f"you returned {tuple(values)}, expected {expected}: the order is (clean_potential, shifted_potential)"
        )
    if np.isclose(values[0], expected[0]):
        if np.isclose(values[1], reference_potential(sparsities, shifted, dense_clean, budget)):
            raise CheckFailed(
                f"your shifted potential {values[1]:g} compares the pruned networks on SHIFTED data with the dense "
                "network on CLEAN data. Prune potential measures what pruning costs on one distribution: compare "
                f"with the dense network's accuracy on the same shifted data (expected {expected[1]:g}){curves}."
            )
        raise CheckFailed(
            f"your clean potential is right, but the shifted one is {values[1]:g}, expected {expected[1]:g}: shift "
            "the validation inputs once with `minnet.data.shift(X_val, kind, severity, rng=rng)` (or use your "
            f"accuracy_under_shift) and evaluate the dense and every pruned network on them{curves}."
        )
    no_tune = _curves(trained, train, val, sparsities, kind, severity, rng, fine_tune=False)
    untuned = (
        reference_potential(sparsities, no_tune[0], no_tune[2], budget),
        reference_potential(sparsities, no_tune[1], no_tune[3], budget),
    )
    if np.allclose(values, untuned) and not np.isclose(values[0], expected[0]):
        raise CheckFailed(
            f"your clean potential {values[0]:g} is what pruning WITHOUT fine-tuning gives (expected {expected[0]:g}): "
            "after pruning each copy, fine-tune it for 1 epoch, `minnet.fit(model, X, y, epochs=1, "
            "optimizer=minnet.Adam(lr=1e-3), rng=rng, verbose=False)`."
        )
    raise CheckFailed(
        f"you returned {tuple(values)}, the recipe of the task gives {expected} (everything is seeded, so they "
        "must agree). Check: a pruned copy per sparsity, one epoch of fine-tuning as the task says, the arguments "
        f"passed on as given, and the dense accuracies measured on `trained` itself{curves}."
    )


feedback.guard_checks(globals())
