"""Checks for exercise 03, importance scoring: magnitude |w|, first-order Taylor
|w * g|, 1 - APoZ per unit, and local versus global keep-masks from score dicts.

The scores are checked against their definitions, computed here; the masks
against ``minnet.prune.masks`` (exactly k = round(amount * n) lowest scores
pruned, ties by flat index, True = kept). ``common.diagnose_mask`` names the
usual mistakes of a keep-mask, for exercises 04 and 05 too.
"""

from __future__ import annotations

import numpy as np

from minnet.prune.masks import global_unstructured_masks, prune_count, unstructured_mask

from .. import feedback
from ..feedback import CheckFailed
from .common import (
    RANDOM_CASES,
    agrees_on_random_cases,
    call_keeping_inputs,
    check_mask_array,
    diagnose_mask,
    first_mistake,
    random_amount,
    random_scores,
)

# -- tasks 1 and 2: weight scores ------------------------------------------------------------------


def _weights(seed: int, shape) -> np.ndarray:
    """Normal weights with some exact zeros, so that every sign and 0 occur."""
    gen = np.random.default_rng(seed)
    W = gen.standard_normal(shape)
    W.flat[1::5] = 0.0
    return W


def check_magnitude_scores(magnitude_scores, seed: int = 0, shape=(5, 4)) -> None:
    """``magnitude_scores(W)`` is ``|W|``, of W's shape."""
    W = _weights(seed, tuple(shape))
    expected = np.abs(W)
    scores = call_keeping_inputs(magnitude_scores, W=W)
    hint = first_mistake(
        scores,
        expected,
        [
            (
                W,
                "The scores equal W itself: a large NEGATIVE weight would then score lowest and be pruned "
                "first, though it matters as much as a large positive one. Take the absolute value, |w|.",
            ),
            (-expected, "The scores are -|w|: higher must mean more important, so a large weight must score high."),
            (W**2, "The scores are w**2: the same ranking, but the task asks for |w| (np.abs)."),
            (
                expected / max(expected.max(), 1e-12),
                "The scores are |w| divided by its maximum: the task asks for |w| as it is.",
            ),
        ],
    )
    feedback.expect(hint is None, f"magnitude_scores is wrong. {hint}")
    if isinstance(scores, np.ndarray) and scores.size == W.size and scores.shape != W.shape:
        raise CheckFailed(f"the scores have shape {scores.shape}, W has {W.shape}: keep W's shape (no flatten).")
    feedback.expect_array(scores, "the scores", shape=W.shape, dtype_kind="f")
    feedback.expect_close(scores, expected, "the scores", "They should be |w|, entry by entry.")
    n = agrees_on_random_cases(magnitude_scores, np.abs, _random_weights(seed, with_grad=False), "magnitude_scores")
    feedback.passed(f"magnitude_scores: |w|, for W of shape {W.shape} and {n} random cases")


def check_taylor_scores(taylor_scores, seed: int = 0, shape=(5, 4)) -> None:
    """``taylor_scores(W, grad)`` is ``|W * grad|``, elementwise, of W's shape."""
    W = _weights(seed, tuple(shape))
    grad = np.random.default_rng(seed + 1).standard_normal(W.shape)
    expected = np.abs(W * grad)
    scores = call_keeping_inputs(taylor_scores, W=W, grad=grad)
    hint = first_mistake(
        scores,
        expected,
        [
            (
                W * grad,
                "The scores equal w * g without the absolute value: a weight whose removal would change "
                "the loss a lot in the NEGATIVE direction would score low and be pruned first. Use |w * g|.",
            ),
            (np.abs(grad), "The scores are |g|, the gradient magnitude alone: multiply by the weight, |w * g|."),
            (np.abs(W), "The scores are |w|, the magnitude alone: multiply by the gradient, |w * g|."),
            (np.abs(W) * grad, "The scores are |w| * g: the absolute value goes around the product, |w * g|."),
            (W * np.abs(grad), "The scores are w * |g|: the absolute value goes around the product, |w * g|."),
            ((W * grad) ** 2, "The scores are (w * g)**2: the same ranking, but the task asks for |w * g|."),
            (-expected, "The scores are -|w * g|: higher must mean more important."),
        ],
    )
    feedback.expect(hint is None, f"taylor_scores is wrong. {hint}")
    feedback.expect_array(scores, "the scores", shape=W.shape, dtype_kind="f")
    feedback.expect_close(scores, expected, "the scores", "They should be |w * g|, entry by entry.")
    n = agrees_on_random_cases(
        taylor_scores, lambda W, grad: np.abs(W * grad), _random_weights(seed, with_grad=True), "taylor_scores"
    )
    feedback.passed(f"taylor_scores: |w * g|, for W of shape {W.shape} and {n} random cases")


# -- task 3: APoZ --------------------------------------------------------------------------------


def _activations(seed: int, shape) -> np.ndarray:
    """Post-ReLU activations (N, units) with a dead unit (always 0), an always
    active one, and the others active at different rates."""
    n, units = (int(s) for s in shape)
    gen = np.random.default_rng(seed)
    pre = gen.standard_normal((n, units)) + np.linspace(-1.5, 1.5, units)
    acts = np.maximum(pre, 0.0)
    acts[:, 0] = 0.0  # dead
    acts[:, -1] = gen.random(n) + 0.5  # always on
    return acts


def check_apoz_scores(apoz_scores, seed: int = 0, shape=(12, 5)) -> None:
    """``apoz_scores(activations)`` is 1 - (fraction of zeros of each unit over the batch), shape (units,)."""
    acts = _activations(seed, shape)
    n, units = acts.shape
    zeros = acts == 0
    expected = 1.0 - zeros.mean(axis=0)
    scores = call_keeping_inputs(apoz_scores, activations=acts)
    hint = first_mistake(
        scores,
        expected,
        [
            (
                zeros.mean(axis=0),
                "The scores are APoZ itself, the fraction of zeros: a dead unit (always 0) would "
                "score 1, the highest, and be kept. The score is 1 - APoZ.",
            ),
            (
                1.0 - zeros.mean(axis=1),
                f"The scores have shape ({n},), one per example: average over the batch "
                "(axis 0), to get one score per unit.",
            ),
            (
                zeros.mean(axis=1),
                f"The scores have shape ({n},), one per example, and are APoZ, not 1 - APoZ: "
                "average over axis 0 and take 1 - APoZ.",
            ),
            (
                (~zeros).sum(axis=0),
                f"The scores count the non-zero activations: divide by the batch size N = {n} to get a fraction.",
            ),
            (
                acts.mean(axis=0),
                "The scores are the mean activation: APoZ counts zeros, it ignores how large "
                "the non-zero values are. Use 1 - mean(activations == 0, axis=0).",
            ),
            (1.0 - zeros.mean(), "The score is one number for the whole layer: average over the batch only."),
        ],
    )
    feedback.expect(hint is None, f"apoz_scores is wrong. {hint}")
    feedback.expect_array(scores, "the scores", shape=(units,), dtype_kind="f")
    feedback.expect_close(scores, expected, "the scores", "They should be 1 - mean(activations == 0, axis=0).")
    n = agrees_on_random_cases(
        apoz_scores, lambda a: 1.0 - np.mean(a == 0, axis=0), _random_activations(seed), "apoz_scores"
    )
    feedback.passed(
        f"apoz_scores: 1 - APoZ per unit (a dead unit scores 0), activations {acts.shape} and {n} random cases"
    )


def _check_mask_dict(result, scores: dict, fn_name: str) -> dict:
    if not isinstance(result, dict):
        raise CheckFailed(f"`{fn_name}` should return a dict name -> bool mask, got {type(result).__name__}")
    feedback.expect(
        set(result) == set(scores),
        f"`{fn_name}` should return one mask per name of the scores {sorted(scores)}, got the names {sorted(result)}",
    )
    return {name: check_mask_array(result[name], scores[name].shape, f"the mask for {name!r}") for name in scores}


# -- task 4: local and global masks ------------------------------------------------------------


def _layer_scores(seed: int, shapes, tied: bool) -> dict[str, np.ndarray]:
    """Magnitude-like scores, one layer per shape, each layer 10x smaller than the
    next; ``tied``: few distinct values, so many ties."""
    gen = np.random.default_rng(seed)
    out = {}
    for i, shape in enumerate(shapes):
        scale = 10.0 ** (i - len(shapes) + 1)
        values = gen.integers(0, 4, size=shape).astype(float) if tied else np.abs(gen.standard_normal(shape))
        out[f"layer{i}"] = values * scale
    return out


def _mask_cases(seed: int, shapes):
    """(scores, amount) pairs: continuous scores at amounts whose k needs round (not
    floor, not ceil), heavily tied scores, and the edge amounts 0.0 and 1.0."""
    continuous = _layer_scores(seed, shapes, tied=False)
    tied = _layer_scores(seed + 1, [(2 * s[0],) + tuple(s[1:]) for s in shapes], tied=True)
    for amount in (0.3, 0.7):
        yield continuous, amount
    yield tied, 0.45
    yield continuous, 0.0
    yield continuous, 1.0
    # Fixed sizes for the edge cases, whatever ``shapes``: names not in sorted order, amount * n
    # ending in exactly .5 with an even floor (round(4.5) = 4, but 4.5 rounded up is 5), and more
    # than 16 equal scores (NumPy sorts up to 16 entries stably even without kind="stable").
    gen = np.random.default_rng(seed + 2)
    halves = {"layer_b": gen.standard_normal((3, 4)) ** 2, "layer_a": 0.1 * gen.standard_normal((2, 4)) ** 2}
    yield halves, 0.375  # per layer: 12 * 0.375 = 4.5
    yield halves, 0.125  # all together: 20 * 0.125 = 2.5
    ties = {"layer_b": gen.integers(0, 2, (6, 8)).astype(float), "layer_a": gen.integers(0, 2, (5, 8)).astype(float)}
    yield ties, 0.3


def _scope_cases(fn, fn_name: str, seed: int, shapes) -> list:
    """The learner's masks on every case, as (scores, amount, the learner's masks,
    the reference local masks, the reference global masks). The learner's function
    gets copies; changing them in place fails at once."""
    cases = []
    for scores, amount in _mask_cases(seed, shapes):
        copies = {name: s.copy() for name, s in scores.items()}
        result = _check_mask_dict(call_keeping_inputs(fn, scores=copies, amount=amount), scores, fn_name)
        local = _reference_local(scores, amount)
        cases.append((scores, amount, result, local, global_unstructured_masks(scores, amount)))
    return cases


def _same_masks(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[name], b[name]) for name in a)


def _always(cases, got, hypothesis, reference) -> bool:
    """The learner's masks ``got(case)`` equal ``hypothesis(case)`` on every case,
    and the hypothesis differs from the ``reference(case)`` on at least one: a
    mistake is named only when it explains every answer, not one coincidence."""
    differs = False
    for case in cases:
        if not _same_masks(got(case), hypothesis(case)):
            return False
        differs = differs or not _same_masks(hypothesis(case), reference(case))
    return differs


def check_local_masks(local_masks, seed: int = 0, shapes=((3, 4), (5, 6))) -> None:
    """``local_masks(scores, amount)`` prunes round(amount * n) lowest entries of EACH array."""
    cases = _scope_cases(local_masks, "local_masks", seed, shapes)
    if _always(cases, lambda c: c[2], lambda c: c[4], lambda c: c[3]):
        raise CheckFailed(
            "local_masks ranked all layers together (that is global_masks): local pruning ranks each layer on "
            "its own and prunes round(amount * n) of each layer's n entries."
        )
    for scores, amount, result, _, _ in cases:
        for name, s in scores.items():
            diagnose_mask(result[name], s, amount, f"local_masks: the mask for {name!r}")
    n = agrees_on_random_cases(local_masks, _reference_local, _random_score_dicts(seed), "local_masks")
    feedback.passed(
        f"local_masks: round(amount * n) lowest of each layer, ties by index; shapes {tuple(shapes)}; {n} random cases"
    )


def check_global_masks(global_masks, seed: int = 0, shapes=((3, 4), (5, 6))) -> None:
    """``global_masks(scores, amount)`` ranks all entries of all arrays together and prunes
    round(amount * total) lowest (ties: in the order of the dict, then by flat index)."""
    cases = _scope_cases(global_masks, "global_masks", seed, shapes)
    if _always(cases, lambda c: c[2], lambda c: c[3], lambda c: c[4]):
        raise CheckFailed(
            "global_masks ranked each layer on its own (that is local_masks): global pruning puts the scores of "
            "all layers in one ranking (np.concatenate the flattened arrays) and prunes round(amount * total)."
        )

    def by_sorted_name(case):
        scores, amount = case[0], case[1]
        return global_unstructured_masks({name: scores[name] for name in sorted(scores)}, amount)

    if _always(cases, lambda c: c[2], by_sorted_name, lambda c: c[4]):
        raise CheckFailed(
            "global_masks ranked the layers in sorted-name order: the ranking must follow the order of the "
            "dict (iterate scores.items() as given): among equal scores, the earlier layer's entries go first."
        )

    def pruned(case):
        return sum(int(np.count_nonzero(~case[2][name])) for name in case[0])

    def per_layer(case):
        return sum(prune_count(case[1], s.size) for s in case[0].values())

    def total(case):
        return prune_count(case[1], sum(s.size for s in case[0].values()))

    if all(pruned(c) == per_layer(c) for c in cases) and any(per_layer(c) != total(c) for c in cases):
        case = next(c for c in cases if per_layer(c) != total(c))
        raise CheckFailed(
            f"global_masks (amount={case[1]!r}) prunes {pruned(case)} entries, the sum of round(amount * n) over the "
            f"layers: global pruning rounds once, over all entries: k = round(amount * total) = {total(case)}."
        )
    for scores, amount, result, _, _ in cases:
        flat_keep = np.concatenate([result[name].ravel() for name in scores])
        flat_scores = np.concatenate([s.ravel() for s in scores.values()])
        diagnose_mask(flat_keep, flat_scores, amount, "global_masks (all layers ranked together, in dict order)")
    n = agrees_on_random_cases(global_masks, global_unstructured_masks, _random_score_dicts(seed), "global_masks")
    feedback.passed(
        f"global_masks: round(amount * total) lowest of all layers; shapes {tuple(shapes)}; {n} random cases"
    )


# -- random cases ---------------------------------------------------------------------------------


def _random_weights(seed: int, with_grad: bool):
    """Weights of 1 to 4 dimensions (sizes 1..5, some exact zeros), float64 and
    float32 alternately, and a gradient of the same shape and dtype."""
    gen = np.random.default_rng([seed, 301])
    for i in range(RANDOM_CASES):
        shape = tuple(int(v) for v in gen.integers(1, 6, size=int(gen.integers(1, 5))))
        dtype = (np.float64, np.float32)[i % 2]
        W = gen.standard_normal(shape) * (gen.random(shape) > 0.2)
        case = {"W": W.astype(dtype)}
        if with_grad:
            case["grad"] = gen.standard_normal(shape).astype(dtype)
        yield case


def _random_activations(seed: int):
    """Post-ReLU activations (N, units), N and units 1..10, some units dead."""
    gen = np.random.default_rng([seed, 302])
    for _ in range(RANDOM_CASES):
        n, units = int(gen.integers(1, 11)), int(gen.integers(1, 9))
        acts = np.maximum(gen.standard_normal((n, units)) + gen.normal(0, 1, units), 0.0)
        acts[:, gen.random(units) < 0.2] = 0.0
        yield {"activations": acts}  # float64 only: a fraction of counts has no dtype of its own to keep


def _random_score_dicts(seed: int):
    """1 to 4 layers under names in no particular order, continuous or heavily tied
    scores, at fractions that include exact halves of amount * n."""
    gen = np.random.default_rng([seed, 303])
    names = ["fc", "conv2", "out", "a", "hidden", "b0", "z"]
    for _ in range(RANDOM_CASES):
        chosen = [str(name) for name in gen.permutation(names)[: int(gen.integers(1, 5))]]
        scores = {name: random_scores(gen, tuple(int(v) for v in gen.integers(1, 7, size=2))) for name in chosen}
        sizes = [s.size for s in scores.values()]
        yield {"scores": scores, "amount": random_amount(gen, int(gen.choice(sizes + [sum(sizes)])), counts=False)}


def _reference_local(scores, amount):
    return {name: unstructured_mask(s, amount) for name, s in scores.items()}


feedback.guard_checks(globals())
