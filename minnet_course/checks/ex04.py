"""Checks for exercise 04, unstructured pruning: a keep-mask with exact ``amount``
semantics, composing masks over pruning rounds, and a masked SGD-with-momentum
step that keeps pruned weights exactly 0.

The masks are checked against ``minnet.prune.masks.unstructured_mask`` (the
semantics of torch.nn.utils.prune), with ``common.diagnose_mask`` naming the
mistake; the optimizer step against plain momentum SGD (PyTorch's rule
``v = momentum * v + g; w = w - lr * v``) on the kept weights.
"""

from __future__ import annotations

import numpy as np

from minnet.prune.masks import prune_count, unstructured_mask

from .. import feedback
from ..feedback import CheckFailed
from .common import (
    RANDOM_CASES,
    agrees_on_random_cases,
    call_keeping_inputs,
    check_mask_array,
    diagnose_mask,
    matches,
    random_amount,
    random_scores,
    with_earlier_tasks,
)

# -- task 1: unstructured_mask -----------------------------------------------------------------------


def _scores(seed: int, shape, tied: bool = False) -> np.ndarray:
    gen = np.random.default_rng(seed)
    if tied:
        return gen.integers(0, 4, size=shape).astype(float)
    return np.abs(gen.standard_normal(shape))


def _mask_of(fn, scores, amount, what: str) -> np.ndarray:
    keep = call_keeping_inputs(fn, scores=scores.copy(), amount=amount)
    return check_mask_array(keep, scores.shape, what)


def _expect_value_error(fn, scores, amount, why: str) -> None:
    try:
        call_keeping_inputs(fn, scores=scores.copy(), amount=amount)
    except ValueError:
        return
    except feedback.NotDoneError:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything; name it
        raise CheckFailed(
            f"unstructured_mask(scores, {amount!r}) raised {type(exc).__name__}: {exc}. Raise a ValueError: {why}"
        ) from exc
    raise CheckFailed(
        f"unstructured_mask(scores, {amount!r}) returned a mask for {scores.size} scores: it should raise "
        f"ValueError, because {why}. Check the amount BEFORE computing the mask."
    )


_NUMPY_INT_HINT = (
    "unstructured_mask(scores, {call}) does not prune exactly {count} of the {n} entries: a NumPy int "
    "(np.int64, np.int32, ...) is a count like a Python int, but `isinstance(amount, int)` is False for it. "
    "Test `isinstance(amount, numbers.Integral)` (import numbers), or `not isinstance(amount, float)`."
)


def _numpy_int_hint(amount, n: int) -> str:
    return _NUMPY_INT_HINT.format(call=f"np.{type(amount).__name__}({int(amount)})", count=int(amount), n=n)


def check_unstructured_mask(unstructured_mask_fn, seed: int = 0, shape=(4, 5)) -> None:
    """``unstructured_mask(scores, amount)``: float amount -> prune round(amount * size),
    int amount -> prune that many; the lowest scores, ties by flat index; ValueError for
    an amount outside [0, 1] (float) or [0, size] (int)."""
    fn = unstructured_mask_fn
    shape = tuple(shape)
    scores = _scores(seed, shape)
    n = scores.size
    # amounts whose k needs round (0.3 * 20 = 6: exact; others fractional both ways), counts, edges
    tied_shape = (2 * shape[0],) + shape[1:]
    cases = [(scores, 0.3), (scores, 0.62), (scores, 0.38), (scores, 3), (_scores(seed + 1, tied_shape, True), 0.45)]
    # whatever ``shape``: 20 * 0.125 = 2.5 rounds to 2 (halves go to the even neighbour), and
    # more than 16 equal scores (NumPy sorts up to 16 entries stably even without kind="stable")
    gen = np.random.default_rng(seed + 2)
    cases += [(np.abs(gen.standard_normal((4, 5))), 0.125), (gen.integers(0, 2, (6, 8)).astype(float), 0.3)]
    for s, amount in cases:
        keep = _mask_of(fn, s, amount, f"unstructured_mask(scores, {amount!r})")
        diagnose_mask(keep, s, amount, f"unstructured_mask(scores, {amount!r})")

    # int versus float: 1 is one entry, 1.0 is all; 0 and 0.0 prune nothing; size prunes all
    for amount, kept in ((1, n - 1), (1.0, 0), (0, n), (0.0, n), (n, 0)):
        keep = _mask_of(fn, scores, amount, f"unstructured_mask(scores, {amount!r})")
        if int(keep.sum()) != kept:
            if isinstance(amount, int) and amount == 1:
                raise CheckFailed(
                    f"unstructured_mask(scores, 1) keeps {int(keep.sum())} of {n}: an INT amount is a count, so "
                    "1 prunes exactly one entry (1.0, a float, would prune all). Test the type with "
                    "`isinstance(amount, numbers.Integral)`, which NumPy's ints pass too."
                )
            if isinstance(amount, float) and amount == 1.0:
                raise CheckFailed(
                    f"unstructured_mask(scores, 1.0) keeps {int(keep.sum())} of {n}: a FLOAT amount is a fraction, "
                    "so 1.0 prunes everything. Decide by the type of amount, not by its value."
                )
            raise CheckFailed(f"unstructured_mask(scores, {amount!r}) keeps {int(keep.sum())} of {n}, expected {kept}.")
        diagnose_mask(keep, scores, amount, f"unstructured_mask(scores, {amount!r})")

    for amount, why in (
        (1.5, "a float amount is a fraction in [0, 1]"),
        (-0.1, "a float amount is a fraction in [0, 1]"),
        (n + 1, f"an int amount counts entries, at most the {n} there are"),
        (-1, "an int amount counts entries, at least 0"),
    ):
        _expect_value_error(fn, scores, amount, why)

    # NumPy ints (what len(), argmax or the sum of a bool array give) are counts as well
    for amount in (np.int64(2), np.int32(1)):
        try:
            keep = _mask_of(fn, scores, amount, f"unstructured_mask(scores, {amount!r})")
        except ValueError:
            raise CheckFailed(_numpy_int_hint(amount, n)) from None
        if int(keep.sum()) != n - int(amount):
            raise CheckFailed(_numpy_int_hint(amount, n))
        diagnose_mask(keep, scores, amount, f"unstructured_mask(scores, {amount!r})")
    cases = agrees_on_random_cases(fn, unstructured_mask, _random_mask_cases(seed), "unstructured_mask")
    feedback.passed(
        f"unstructured_mask: exact counts, ties by index, ValueError out of range; scores {shape}; {cases} random cases"
    )


# -- task 2: compose ----------------------------------------------------------------------------------


@with_earlier_tasks({"unstructured_mask": unstructured_mask})
def check_compose(compose, seed: int = 0, shape=(4, 5)) -> None:
    """``compose(scores, amount, prior_mask)`` ranks only the entries ``prior_mask`` keeps,
    prunes ``amount`` of THEM, and returns prior AND new; two rounds of 0.5 keep 25%."""
    shape = tuple(shape)
    scores = _scores(seed, shape)
    n = scores.size
    tied = _scores(seed + 1, (2 * shape[0],) + shape[1:], tied=True)
    # a first round pruned the lowest scores (prior_amount); the second prunes `amount` of the rest
    for s, prior_amount, amount in ((scores, 0.4, 0.3), (scores, 0.4, 0.62), (scores, 0.25, 2), (tied, 0.3, 0.45)):
        prior = unstructured_mask(s, prior_amount)
        what = f"compose(scores, {amount!r}, prior_mask)"
        keep = call_keeping_inputs(compose, scores=s.copy(), amount=amount, prior_mask=prior)
        check_mask_array(keep, s.shape, what)
        expected = unstructured_mask(s, amount, mask=prior)
        if np.array_equal(keep, expected):
            continue
        revived = int(np.count_nonzero(keep & ~prior))
        if revived:
            raise CheckFailed(
                f"{what}: {revived} entries that prior_mask had pruned are kept again. A prior mask must be "
                "respected: pruned weights never come back. Return `prior_mask & new_mask`."
            )
        n_kept = int(prior.sum())
        k, k_total = prune_count(amount, n_kept), prune_count(amount, s.size)
        newly = int(np.count_nonzero(prior & ~keep))
        flat = s.ravel()
        ranked_all = (prior & unstructured_mask(s, amount), prior & unstructured_mask(s, k))
        if any(np.array_equal(keep, wrong) for wrong in ranked_all):
            raise CheckFailed(
                f"{what}: you ranked ALL entries, the already pruned ones too (they are among the lowest), so "
                f"only {newly} new entries were pruned instead of {k}. Rank only the entries prior_mask keeps: "
                "e.g. `scores[prior_mask]`."
            )
        if isinstance(amount, float) and newly == k_total != k:
            raise CheckFailed(
                f"{what}: you pruned {newly} more entries = round(amount * {s.size}), amount applied to ALL "
                f"entries. amount is a share of the {n_kept} entries still kept: k = round({amount} * {n_kept}) = {k}."
            )
        diagnose_mask(keep[prior], flat[prior.ravel()], amount, f"{what} (among the {n_kept} kept entries)")

    # a prior mask that is not the lowest scores, and two rounds of 0.5 keep a quarter
    prior = np.random.default_rng(seed + 2).random(shape) < 0.6
    keep = call_keeping_inputs(compose, scores=scores.copy(), amount=0.5, prior_mask=prior)
    check_mask_array(keep, shape, "compose(scores, 0.5, prior_mask)")
    feedback.expect(
        not np.any(keep & ~prior),
        "compose(scores, 0.5, prior_mask) keeps entries that prior_mask pruned: return `prior_mask & new_mask`.",
    )
    diagnose_mask(keep[prior], scores[prior], 0.5, "compose(scores, 0.5, prior_mask) (among the kept entries)")
    everything = np.ones(shape, dtype=bool)
    first = call_keeping_inputs(compose, scores=scores.copy(), amount=0.5, prior_mask=everything)
    second = call_keeping_inputs(compose, scores=scores.copy(), amount=0.5, prior_mask=first)
    expected = unstructured_mask(scores, 0.5, mask=unstructured_mask(scores, 0.5))
    feedback.expect(
        np.array_equal(second, expected),
        f"two rounds of compose(scores, 0.5, ...) keep {int(np.sum(second))} of {n}, expected {int(expected.sum())} "
        "(a quarter): the second round prunes half of what the first kept.",
    )
    cases = agrees_on_random_cases(compose, _reference_compose, _random_compose_cases(seed), "compose")
    feedback.passed(
        f"compose: only kept entries ranked, two rounds of 0.5 keep {int(expected.sum())} of {n}; {cases} random cases"
    )


# -- task 3: masked SGD with momentum ---------------------------------------------------------------


def _plain_step(W, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return W - lr * velocity, velocity


def _step_mistakes(W, grad, velocity, mask, lr, momentum):
    """One step's (W_new, hint) for the usual wrong answers."""
    grad_only = _plain_step(W, grad * mask, velocity, lr, momentum)[0]
    mask_before = _plain_step(W * mask, grad, velocity, lr, momentum)[0]
    damped = (W - lr * (momentum * velocity + (1 - momentum) * grad * mask)) * mask
    nesterov = (W - lr * (grad * mask + momentum * (momentum * velocity + grad * mask))) * mask
    sutskever = (W + momentum * velocity - lr * grad * mask) * mask
    return [
        (
            grad_only,
            "pruned weights moved: you masked only the gradient. The velocity still holds momentum from "
            "before pruning, so `W - lr * velocity` revives pruned weights. Re-apply the mask to W after the update.",
        ),
        (
            mask_before,
            "pruned weights moved: the update used the full gradient and was not masked afterwards "
            "(masking W BEFORE the update, or not at all, is plain momentum SGD). Mask the gradient, update, then "
            "multiply W by the mask.",
        ),
        (
            damped,
            "the kept weights use dampened momentum v = momentum * v + (1 - momentum) * g: use "
            "v = momentum * v + g (PyTorch's rule).",
        ),
        (nesterov, "the kept weights take a Nesterov step: use plain momentum, v = momentum * v + g; W = W - lr * v."),
        (
            sutskever,
            "the velocity follows the convention v = momentum * v - lr * g; W = W + v. Use "
            "v = momentum * v + g and W = W - lr * v (PyTorch's rule), with the velocity given.",
        ),
    ]


def _step_inputs(seed: int, shape):
    """A pruned layer mid-training: W zero where the mask prunes, a velocity that
    is non-zero everywhere (momentum from before pruning), gradients everywhere."""
    gen = np.random.default_rng(seed)
    W = gen.standard_normal(shape)
    mask = unstructured_mask(np.abs(W), 0.5)
    W = W * mask
    velocity = 0.5 * gen.standard_normal(shape)
    return W, velocity, mask, gen


def check_masked_sgd_momentum_step(
    step, seed: int = 0, shape=(4, 5), lr: float = 0.1, momentum: float = 0.9, steps: int = 50
) -> None:
    """``masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum) -> (W_new, velocity_new)``:
    over ``steps`` steps with random gradients, pruned weights stay exactly 0, kept weights
    and their velocity follow plain momentum SGD exactly, and the velocity of pruned weights
    takes in none of their gradient."""
    shape = tuple(shape)
    W, velocity, mask, gen = _step_inputs(seed, shape)
    ref_W, ref_v = W.copy(), velocity.copy()
    pruned_v0 = np.abs(velocity[~mask])
    for t in range(1, steps + 1):
        grad = gen.standard_normal(shape)
        what = f"step {t} of {steps}"
        # W and velocity may be updated in place (optimizers do): pass copies; the mask must stay as it is
        mask_before = mask.copy()
        with np.errstate(all="ignore"):
            result = feedback.call(step, W.copy(), grad.copy(), velocity.copy(), mask, lr, momentum)
        feedback.expect(
            np.array_equal(mask, mask_before),
            "masked_sgd_momentum_step changed the mask in place: the mask is fixed while training, leave it as it is.",
        )
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed(
                f"masked_sgd_momentum_step should return (W_new, velocity_new), got {type(result).__name__}"
            )
        W_new, v_new = result
        feedback.expect_array(W_new, "W_new", shape=shape, dtype_kind="f")
        feedback.expect_array(v_new, "velocity_new", shape=shape, dtype_kind="f")
        ref_W, ref_v = _plain_step(ref_W, grad * mask, ref_v, lr, momentum)
        ref_W = ref_W * mask
        if not (np.all(W_new[~mask] == 0) and matches(W_new[mask], ref_W[mask], atol=1e-12, rtol=1e-10)):
            mistakes = _step_mistakes(W, grad, velocity, mask, lr, momentum)
            hint = next((h for cand, h in mistakes if matches(W_new, cand, atol=1e-12, rtol=1e-10)), None)
            if hint is None and not np.all(W_new[~mask] == 0):
                worst = float(np.max(np.abs(W_new[~mask])))
                hint = (
                    f"pruned weights are not exactly 0 (up to |w| = {worst:.3g}): multiply W by the mask "
                    "after the update."
                )
            if hint is None:
                hint = "the kept weights do not follow momentum SGD: v = momentum * v + g; W = W - lr * v."
            raise CheckFailed(f"masked_sgd_momentum_step, {what}: {hint}")
        if not matches(v_new[mask], ref_v[mask], atol=1e-12, rtol=1e-10):
            raise CheckFailed(
                f"masked_sgd_momentum_step, {what}: velocity_new of the kept weights should be "
                "momentum * velocity + grad, as in plain momentum SGD."
            )
        allowed = momentum**t * pruned_v0 + 1e-12
        if np.any(np.abs(v_new[~mask]) > allowed):
            raise CheckFailed(
                f"masked_sgd_momentum_step, {what}: the velocity of pruned weights grows with their gradients. "
                "Re-masking W hides it for now, but the optimizer state is no longer clean (lift the mask, or "
                "score by it, and it is there): mask the gradient too, `grad * mask`, before it enters the velocity."
            )
        W, velocity = W_new, v_new
    feedback.passed(
        f"masked_sgd_momentum_step: pruned weights exactly 0 over {steps} steps, the rest momentum SGD "
        f"(lr={lr}, momentum={momentum})"
    )


# -- random cases ---------------------------------------------------------------------------------


def _random_shape(gen: np.random.Generator) -> tuple:
    return tuple(int(v) for v in gen.integers(1, 6, size=int(gen.integers(1, 4))))


def _random_mask_cases(seed: int):
    """Scores of 1 to 3 dimensions (continuous or tied, float64 or float32) and
    amounts as fractions (exact halves of amount * n included), Python ints and
    NumPy ints."""
    gen = np.random.default_rng([seed, 401])
    for i in range(RANDOM_CASES):
        scores = random_scores(gen, _random_shape(gen)).astype((np.float64, np.float32)[i % 2])
        yield {"scores": scores, "amount": random_amount(gen, scores.size, counts=True)}


def _random_compose_cases(seed: int):
    gen = np.random.default_rng([seed, 402])
    for _ in range(RANDOM_CASES):
        scores = random_scores(gen, _random_shape(gen))
        prior = gen.random(scores.shape) < gen.uniform(0.3, 1.0)
        yield {"scores": scores, "amount": random_amount(gen, int(prior.sum()), counts=False), "prior_mask": prior}


def _reference_compose(scores, amount, prior_mask):
    return unstructured_mask(scores, amount, mask=prior_mask)


feedback.guard_checks(globals())
