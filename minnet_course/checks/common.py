"""What the checks of several exercises share: calling the learner's function
without letting it change the caller's arrays, naming a mistake only when the
answer matches it, comparing with the reference on many random cases and saying
precisely what differs, and the diagnosis of a keep-mask (exercises 03-05)."""

from __future__ import annotations

import copy
import functools
import math
import numbers

import numpy as np

from minnet.prune.masks import prune_count, unstructured_mask

from .. import feedback
from ..feedback import CheckFailed


def call_keeping_inputs(fn, **args):
    """Call ``fn`` with ``args`` (by position, in order) through ``feedback.call``,
    with NumPy's float warnings silenced (an overflow is diagnosed by the check,
    not printed), and fail if the function changed one of its array arguments,
    or an array inside a dict, list or tuple argument."""
    before = {name: copy.deepcopy(value) for name, value in args.items() if _holds_arrays(value)}
    with np.errstate(all="ignore"):
        out = feedback.call(fn, *args.values())
    for name, value in before.items():
        if not _same_contents(args[name], value):
            inside = "" if isinstance(value, np.ndarray) else " (an array inside it)"
            raise CheckFailed(
                f"`{getattr(fn, '__name__', 'your function')}` changed its argument `{name}`{inside} in place "
                f"(`-=`, `*=`, `.sort()`, `[...] = ...` on it or on a view such as `.reshape(-1)`): the caller "
                "still needs the original. Compute a new array instead (`np.sort(a)`, `a - ...` make copies), "
                "or start from a `.copy()`."
            )
    return out


def _holds_arrays(value) -> bool:
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, dict):
        return any(_holds_arrays(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_arrays(v) for v in value)
    return False


def _same_contents(value, saved) -> bool:
    """``value`` still holds what ``saved`` (a deep copy taken before the call) holds."""
    if isinstance(saved, np.ndarray):
        return (
            isinstance(value, np.ndarray)
            and value.shape == saved.shape
            and value.dtype == saved.dtype
            and np.array_equal(value, saved, equal_nan=saved.dtype.kind in "fc")
        )
    if isinstance(saved, dict):
        return (
            isinstance(value, dict)
            and list(value) == list(saved)
            and all(_same_contents(value[k], saved[k]) for k in saved)
        )
    if isinstance(saved, (list, tuple)):
        return len(value) == len(saved) and all(_same_contents(v, w) for v, w in zip(value, saved))
    return True


def matches(value, candidate, atol: float = 1e-8, rtol: float = 1e-6) -> bool:
    """``value`` has ``candidate``'s shape and values (NaN never matches)."""
    value, candidate = np.asarray(value), np.asarray(candidate)
    if value.shape != candidate.shape or value.dtype.kind not in "fiub":
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(value, candidate, atol=atol, rtol=rtol))


def sole_explanation(mistakes, explains) -> str | None:
    """The hint of the one ``(mistake, hint)`` of ``mistakes`` for which
    ``explains(mistake)`` holds; None when none or several do, because then the
    answer does not say which mistake was made."""
    hints = {hint for mistake, hint in mistakes if explains(mistake)}
    return hints.pop() if len(hints) == 1 else None


def first_mistake(value, expected, mistakes) -> str | None:
    """The hint of the ``(candidate, hint)`` in ``mistakes`` that ``value`` matches,
    if only one does. A candidate that equals ``expected`` (a mistake that makes no
    difference on these inputs, such as dividing by N = 1) or is None is skipped;
    when two mistakes give the same value here, neither is named (None)."""
    return sole_explanation(
        mistakes,
        lambda candidate: candidate is not None and not matches(candidate, expected) and matches(value, candidate),
    )


# -- masks: shared diagnosis -------------------------------------------------------------------


def diagnose_mask(keep, scores, amount, what: str = "the mask", other_counts: dict | None = None) -> None:
    """Fail, naming the likely mistake, unless ``keep`` is the keep-mask that prunes
    exactly the k lowest ``scores`` (k from ``amount`` and ``scores.size``), ties by
    flat index. ``keep`` must already be a bool array of ``scores``' shape.

    A wrong count is blamed on a mistake only when that mistake alone explains it:
    ``other_counts`` maps further known mistakes (their message) to the count they
    give; when two of them give the same count the message says only what differs."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    keep = np.asarray(keep).ravel()
    expected = unstructured_mask(scores, amount)
    if np.array_equal(keep, expected):
        return
    n, k, pruned = scores.size, prune_count(amount, scores.size), int(np.count_nonzero(~keep))
    ascending = np.sort(scores)

    def fail(message: str):
        raise CheckFailed(f"{what} is wrong (amount={amount!r}, {n} entries): {message}")

    if np.array_equal(keep, ~expected):
        fail("it is the mask of the PRUNED entries. True must mean KEPT: return the opposite (`~mask`).")
    if 0 < k and pruned != k and np.array_equal(keep, scores > ascending[k - 1]):
        fail(
            f"it prunes every score <= the k-th smallest ({pruned} entries instead of k = {k}): with ties, a "
            "threshold cannot cut at exactly k. Sort with np.argsort(..., kind='stable') and prune the first k."
        )
    if k < n and pruned != k and np.array_equal(keep, scores >= ascending[k]):
        fail(
            f"it prunes only the scores < the (k+1)-th smallest ({pruned} entries instead of k = {k}): with "
            "ties, a threshold cannot cut at exactly k. Sort with np.argsort(..., kind='stable') and prune the first k."
        )
    if pruned != k:
        known = {**count_mistakes(amount, n, k), **(other_counts or {})}
        hint = sole_explanation(((count, message) for message, count in known.items()), lambda c: c == pruned != k)
        if hint:
            fail(f"it prunes {pruned} entries. {hint}")
        exact = "" if isinstance(amount, numbers.Integral) else f" (amount * n = {amount} * {n} = {amount * n:.4g})"
        more = "more" if pruned > k else "fewer"
        fail(f"it prunes {pruned} entries, {abs(pruned - k)} {more} than k = {k}: exactly k must go{exact}.")
    pruned_values = np.sort(scores[~keep])
    if k and np.array_equal(pruned_values, ascending[n - k :]) and not np.array_equal(pruned_values, ascending[:k]):
        fail("it prunes the LARGEST scores. Pruning removes the least important entries: the k lowest scores.")
    if np.array_equal(pruned_values, ascending[:k]):
        fail(
            "it prunes the right number of lowest scores, but picks other entries among EQUAL scores: ties go "
            "by flat index, the lower index pruned first. Use np.argsort(flat, kind='stable') on the flattened scores."
        )
    fail(f"it prunes the right number ({k}) but not the k lowest scores: the pruned ones are not all <= the kept ones.")


def count_mistakes(amount, n: int, k: int) -> dict[str, int]:
    """The usual wrong counts for ``amount`` of ``n`` entries: message -> count."""
    if isinstance(amount, numbers.Integral):
        as_fraction = min(round(float(amount) * n), n)
        return {f"An int amount is a count: prune exactly {k}, not round(amount * n).": as_fraction}
    exact = amount * n
    mistakes = {
        f"amount is the share to PRUNE, not the share to keep: k = round(amount * n) = {k}.": n - k,
        f"amount * n = {amount} * {n} = {exact:.4g}, and k = round({exact:.4g}) = {k}: you rounded with floor "
        "or int().": math.floor(exact),
    }
    if exact % 1 == 0.5:  # ceil and int(x + 0.5) agree here: both round the half up
        mistakes[
            f"amount * n = {exact:g} ends in .5, and Python's round() rounds halves to the even neighbour: "
            f"k = round({exact:g}) = {k}. You rounded the .5 up (ceil, or int(x + 0.5)): use round()."
        ] = math.floor(exact) + 1
    else:
        ceil = f"amount * n = {amount} * {n} = {exact:.4g}, and k = round({exact:.4g}) = {k}: you rounded with ceil."
        mistakes[ceil] = math.ceil(exact)
    return mistakes


def check_mask_array(keep, shape, what: str) -> np.ndarray:
    """``keep`` is a bool array of ``shape``, else fail naming what it is."""
    feedback.expect_array(keep, what, dtype_kind=None)
    if keep.dtype != bool:
        kind = "0/1 numbers" if keep.dtype.kind in "iuf" else f"dtype {keep.dtype}"
        raise CheckFailed(f"{what} should be a bool array (True = kept), got {kind}: compare, or use dtype=bool.")
    feedback.expect_array(keep, what, shape=shape)
    return keep


# -- many random cases -----------------------------------------------------------------------------

RANDOM_CASES = 25  # per check call: enough to meet ties, halves, sizes 1 and dtypes, still instant


def agrees_on_random_cases(fn, reference, cases, what: str) -> int:
    """Call the learner's ``fn`` and the ``reference`` on every case (a dict of
    arguments, passed by position in order) and fail on the first case where they
    differ, saying what the case was and what differs. Returns the number of cases."""
    cases = list(cases)
    for number, args in enumerate(cases, start=1):
        expected = reference(*copy.deepcopy(list(args.values())))
        got = call_keeping_inputs(fn, **args)
        difference = describe_difference(got, expected)
        if difference:
            raise CheckFailed(
                f"{what} differs from the definition on random case {number} of {len(cases)} "
                f"({describe_arguments(args)}): {difference}"
            )
    return len(cases)


def describe_arguments(args: dict) -> str:
    """``x`` (3, 5) float32, ``amount`` = 0.25, ... : what a case was, in one line."""

    def one(value) -> str:
        if isinstance(value, np.ndarray):
            return f"array {value.shape} {value.dtype}"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {one(v)}" for k, v in value.items()) + "}"
        if isinstance(value, (np.integer, np.floating)):
            return f"np.{type(value).__name__}({value})"
        return repr(value)

    return ", ".join(f"{name} = {one(value)}" for name, value in args.items())


def describe_difference(got, expected, where: str = "") -> str | None:
    """None when ``got`` equals ``expected`` (arrays: same shape and dtype, values
    within float tolerance, bools exactly); else what differs, precisely: type,
    length, keys, shape, dtype, or which entries and by how much."""
    it = f"{where} " if where else ""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{it}should be a tuple of {len(expected)} values, got {_kind(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            found = describe_difference(g, e, f"{where}[{i}]" if where else f"value {i + 1} of {len(expected)}")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{it}should be a dict, got {_kind(got)}"
        if set(got) != set(expected):
            return f"{it}should have the keys {sorted(expected)}, got {sorted(got)}"
        for key in expected:
            found = describe_difference(got[key], expected[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(got, (list, tuple, np.ndarray)) or len(got) != len(expected):
            return f"{it}should be a list of {len(expected)} numbers, got {_kind(got)}"
        return describe_difference(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), where)
    if isinstance(expected, np.ndarray):
        return _array_difference(got, expected, it)
    if isinstance(expected, numbers.Real):
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got[()]  # a 0-d array is a number too
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
            return f"{it}should be a number, got {_kind(got)}"
        if isinstance(expected, numbers.Integral):
            return None if got == expected else f"{it}is {got!r}, expected {expected!r}"
        if not np.isclose(float(got), float(expected), rtol=1e-6, atol=1e-9):
            return f"{it}is {float(got):.6g}, expected {float(expected):.6g}"
        return None
    return None if got == expected else f"{it}is {got!r:.60}, expected {expected!r:.60}"


def _kind(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array {value.shape} {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"{type(value).__name__} {value!r:.40}"


def _array_difference(got, expected: np.ndarray, it: str) -> str | None:
    if not isinstance(got, np.ndarray):
        return f"{it}should be a NumPy array {expected.shape} {expected.dtype}, got {_kind(got)}"
    if got.shape != expected.shape:
        return f"{it}has shape {got.shape}, expected {expected.shape}"
    if (got.dtype == bool) != (expected.dtype == bool) or (
        got.dtype.kind in "fc" and expected.dtype.kind in "fc" and got.dtype != expected.dtype
    ):
        return f"{it}has dtype {got.dtype}, expected {expected.dtype}"
    if expected.dtype == bool:
        wrong = np.argwhere(got != expected)
        if not len(wrong):
            return None
        first = tuple(int(i) for i in wrong[0])
        return (
            f"{it}has {len(wrong)} of {expected.size} entries different, the first at index {first} "
            f"({bool(got[first])} where {bool(expected[first])} was expected)"
        )
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if expected.dtype == np.float32 else {"rtol": 1e-6, "atol": 1e-9}
    with np.errstate(all="ignore"):
        close = np.isclose(got.astype(np.float64), expected.astype(np.float64), equal_nan=False, **tolerance)
    if close.all():
        return None
    wrong = np.argwhere(~close)
    with np.errstate(all="ignore"):
        gap = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    gap = np.where(np.isnan(gap), np.inf, gap)
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(np.where(close, -np.inf, gap)), gap.shape))
    return (
        f"{it}has {len(wrong)} of {expected.size} entries off, the worst at index {worst}: "
        f"{got[worst]:.6g} where {expected[worst]:.6g} was expected"
    )


def random_scores(gen: np.random.Generator, shape) -> np.ndarray:
    """Scores of ``shape``: continuous, or (one case in three) few distinct values,
    so that ties, and for 17+ entries more ties than NumPy sorts stably anyway, occur."""
    if gen.random() < 1 / 3:
        return gen.integers(0, 3, size=shape).astype(float)
    return np.abs(gen.standard_normal(shape))


def random_amount(gen: np.random.Generator, n: int, counts: bool):
    """An amount for ``n`` entries: a fraction, often one whose amount * n ends in
    exactly .5; with ``counts`` also Python and NumPy int counts in [0, n]."""
    kind = int(gen.integers(0, 5 if counts else 3))
    if n == 0:
        return 0.0
    if kind == 0:
        return float(gen.random())
    if kind in (1, 2):
        return float(gen.integers(0, 2 * n + 1)) / (2 * n)  # halves of a count
    count = int(gen.integers(0, n + 1))
    return count if kind == 3 else (np.int64, np.int32)[int(gen.integers(0, 2))](count)


def with_earlier_tasks(references: dict):
    """Decorate a check of a task that may call functions of earlier tasks: while
    it runs, the learner's versions of those names mean ``references``, so a
    mistake in an earlier task costs that task only."""

    def decorate(check):
        @functools.wraps(check)
        def run(fn, *args, **kwargs):
            with feedback.earlier_tasks_replaced(fn, references):
                return check(fn, *args, **kwargs)

        return run

    return decorate
