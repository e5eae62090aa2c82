"""Checks for exercise 05, structured pruning: a keep-mask over the output
neurons of a Dense weight, physically shrinking a two-layer network, and
counting its multiply-accumulates (MACs).

Every check builds its inputs from ``seed`` (hidden tests pass other seeds,
shapes and amounts), calls the learner's function through ``feedback.call``,
compares the result with the definition (``minnet.prune.masks`` is the
reference for the mask) and, when it differs, compares it with the usual
wrong answers to name the likely mistake.
"""

from __future__ import annotations

import numpy as np

from minnet.prune.masks import slice_norms, structured_mask

from .. import feedback
from ..feedback import CheckFailed
from .common import (
    RANDOM_CASES,
    agrees_on_random_cases,
    call_keeping_inputs,
    count_mistakes,
    random_amount,
    sole_explanation,
)

# ------------------------------------------------------------------ task 1: neuron_mask


def _lowest_k_kept(scores, k: int) -> np.ndarray:
    """Keep-mask over len(scores) entries without the k lowest (ties: lower index first)."""
    keep = np.ones(len(scores), dtype=bool)
    keep[np.argsort(scores, kind="stable")[:k]] = False
    return keep


def _neuron_weight(seed: int, shape, k: int, ties: bool) -> np.ndarray:
    """A Dense weight (in, out) whose columns have distinct L2 norms, built so that
    the usual mistakes give different masks: the strongest pruned column is "flat"
    (large L1 norm) and the weakest kept one "spiky" (small L1 norm), so ranking by
    L1 instead of L2 changes the answer. With ``ties`` those two columns are equal
    instead, and the lower index must be pruned."""
    rng = np.random.default_rng(seed)
    n_in, n_out = shape
    W = rng.standard_normal(shape)
    W /= np.linalg.norm(W, axis=0)
    norms = 1.0 + 0.3 * rng.permutation(n_out) / max(n_out - 1, 1)
    W *= norms
    if 1 <= k < n_out and n_in >= 2:
        order = np.argsort(norms)
        last_pruned, first_kept = order[k - 1], order[k]
        if ties:
            W[:, first_kept] = W[:, last_pruned]
        else:
            signs = rng.choice([-1.0, 1.0], n_in)
            W[:, last_pruned] = signs * norms[last_pruned] / np.sqrt(n_in)
            spike = np.zeros(n_in)
            spike[rng.integers(n_in)] = norms[first_kept]
            W[:, first_kept] = spike
    return W


def check_neuron_mask(neuron_mask, seed: int = 0, shape=(8, 6), amount: float = 0.3, ties: bool = False) -> None:
    """``neuron_mask(W, amount)`` keeps the output neurons (columns of W) except the
    k = round(amount * out) with the lowest L2 norm, ties pruned by lower index
    first; it returns a bool array of shape (out,), True = kept."""
    n_in, n_out = shape
    k = int(round(amount * n_out))
    W = _neuron_weight(seed, shape, k, ties)
    expected = _reference_neuron_mask(W, amount)
    attempt = 0
    while n_in == n_out and 0 < k < n_out and np.array_equal(_lowest_k_kept(slice_norms(W, 0), k), expected):
        attempt += 1  # a square W whose rows happen to rank like its columns cannot reveal a row/column mix-up
        W = _neuron_weight(seed + 1000 * attempt, shape, k, ties)
        expected = _reference_neuron_mask(W, amount)
    mask = call_keeping_inputs(neuron_mask, W=W, amount=amount)
    if isinstance(mask, np.ndarray) and mask.shape == (n_in,) and n_in != n_out:
        raise CheckFailed(
            f"your mask has shape ({n_in},): one entry per ROW of W. For a Dense weight of shape (in, out) = "
            f"{shape} the output neurons are the COLUMNS: score each column (norm over axis 0) and return "
            f"a mask of shape ({n_out},)."
        )
    if isinstance(mask, np.ndarray) and mask.dtype.kind in "iu":
        raise CheckFailed(
            f"you returned integers {mask.tolist()[:8]}: return a bool mask with one entry per neuron, True = kept "
            "(`keep = np.ones(out, dtype=bool)`, then `keep[pruned_indices] = False`), not indices."
        )
    feedback.expect_array(mask, "the mask", shape=(n_out,), dtype_kind="b")
    if not np.array_equal(mask, expected):
        _diagnose_neuron_mask(mask, expected, W, amount, k)
    for edge_W, edge_amount in _edge_cases(seed):
        edge_mask = call_keeping_inputs(neuron_mask, W=edge_W, amount=edge_amount)
        feedback.expect_array(edge_mask, f"the mask for W {edge_W.shape}", shape=(edge_W.shape[1],), dtype_kind="b")
        edge_expected = _reference_neuron_mask(edge_W, edge_amount)
        if not np.array_equal(edge_mask, edge_expected):
            _diagnose_neuron_mask(edge_mask, edge_expected, edge_W, edge_amount, round(edge_amount * edge_W.shape[1]))
    cases = agrees_on_random_cases(neuron_mask, _reference_neuron_mask, _random_neuron_cases(seed), "neuron_mask")
    feedback.passed(
        f"neuron_mask: the {k} weakest of {n_out} neurons pruned (W {shape}, amount {amount}); {cases} random cases"
    )


def _edge_cases(seed: int):
    """Cases every call also tries: more than 16 columns of equal norm (NumPy sorts
    up to 16 entries stably even without kind="stable"), and amount * out ending in
    exactly .5 with an even floor (round(2.5) = 2)."""
    rng = np.random.default_rng(seed + 500)
    tied = np.tile(rng.standard_normal((4, 1)), (1, 40))
    tied[:, ::5] *= 2.0  # eight stronger columns among 32 equal ones
    yield tied, 0.5
    yield rng.standard_normal((3, 5)), 0.5


def _diagnose_neuron_mask(mask, expected, W, amount, k) -> None:
    n_in, n_out = W.shape
    l2 = np.linalg.norm(W, axis=0)
    pruned, expected_pruned = np.flatnonzero(~mask).tolist(), np.flatnonzero(~expected).tolist()
    if np.array_equal(mask, ~expected):
        raise CheckFailed(
            "your mask is the exact opposite of the expected one: True must mean KEPT (as in every minnet mask), "
            f"so the {k} pruned neurons are the False entries. Flip it (`~mask`) or build it the other way round."
        )
    if np.array_equal(mask, _lowest_k_kept(-l2, k)):
        raise CheckFailed(
            f"you pruned the {k} STRONGEST neurons (largest L2 norm). Pruning removes the least important: "
            "sort the norms in increasing order and prune the first k."
        )
    if n_in == n_out and np.array_equal(mask, _lowest_k_kept(slice_norms(W, 0), k)):
        raise CheckFailed(
            "you scored the ROWS of W (input neurons). For a Dense weight (in, out) output neuron j is column j: "
            "take the norm over axis 0, `np.sqrt((W ** 2).sum(axis=0))`."
        )
    if np.array_equal(mask, _lowest_k_kept(np.abs(W).sum(axis=0), k)):
        raise CheckFailed(
            "you ranked the neurons by their L1 norm (sum of |w|); the task asks for the L2 norm, "
            "sqrt(sum of w**2) over each column, as torch's ln_structured(n=2) and minnet's structured_mask do."
        )
    if len(pruned) != k:
        mistakes = ((count, message) for message, count in count_mistakes(amount, n_out, k).items())
        hint = sole_explanation(mistakes, lambda count: count == len(pruned)) or "exactly k must go"
        raise CheckFailed(
            f"you pruned {len(pruned)} neuron(s), expected k = round(amount * out) = round({amount} * {n_out}) = {k}: "
            f"{hint}"
        )
    differing = np.flatnonzero(mask != expected)
    if np.all(np.isclose(l2[differing], l2[differing[0]], rtol=1e-12, atol=0)):
        raise CheckFailed(
            f"neurons {differing.tolist()} have equal norms (a tie) and you pruned the wrong one: ties go by "
            "index, the lower index pruned first. `np.argsort(norms, kind='stable')` keeps equal norms in index "
            "order (sorting the negated norms, or a non-stable sort, does not)."
        )
    raise CheckFailed(
        f"you pruned neurons {pruned}, expected {expected_pruned} (the {k} columns with the lowest L2 norm; "
        f"their norms are {np.round(l2[expected_pruned], 3).tolist()})."
    )


# ------------------------------------------------------------------ task 2: shrink_two_layer


def check_shrink_two_layer(shrink_two_layer, seed: int = 0, sizes=(8, 6, 3), n_pruned: int = 2) -> None:
    """``shrink_two_layer(W1, b1, W2, keep)`` returns ``(W1[:, keep], b1[keep], W2[keep])``:
    the network Dense -> ReLU -> Dense without its pruned hidden neurons computes
    the same outputs as the masked one, with fewer parameters."""
    rng = np.random.default_rng(seed)
    n_in, hidden, n_out = sizes
    keep = np.ones(hidden, dtype=bool)
    keep[rng.choice(hidden, n_pruned, replace=False)] = False
    W1 = rng.standard_normal((n_in, hidden)) * keep  # pruned by a mask: their columns and biases are 0
    b1 = rng.uniform(0.1, 1.0, hidden) * keep
    W2 = rng.standard_normal((hidden, n_out))
    b2 = rng.standard_normal(n_out)
    X = rng.standard_normal((20, n_in))
    kept = int(keep.sum())
    try:
        out = call_keeping_inputs(shrink_two_layer, W1=W1, b1=b1, W2=W2, keep=keep)
    except IndexError as exc:
        raise CheckFailed(
            f"indexing with `keep` failed ({exc}). keep has one entry per HIDDEN neuron ({hidden}); the hidden "
            "neurons are the COLUMNS of W1 (`W1[:, keep]`), the entries of b1 (`b1[keep]`) and the ROWS of W2 "
            "(`W2[keep]`, the inputs of the next layer)."
        ) from exc
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailed(f"return the three arrays as a tuple `(W1_small, b1_small, W2_small)`, got {out!r:.80}")
    W1s, b1s, W2s = (np.asarray(a) for a in out)
    if W1s.shape == W1.shape and b1s.shape == b1.shape and W2s.shape == W2.shape:
        raise CheckFailed(
            "your arrays have the original shapes: that zeroes the pruned neurons (as the mask already does) but "
            "does not remove them. Slice them out with the bool mask: `W1[:, keep]`, `b1[keep]`, `W2[keep]`."
        )
    if W1s.shape == (n_in, hidden - kept) and hidden - kept != kept:
        raise CheckFailed(
            f"W1_small has {hidden - kept} columns, the number of PRUNED neurons: it holds the pruned ones. keep is "
            "True for the neurons to KEEP: select them with `W1[:, keep]` (`W1[:, ~keep]`, or np.delete with the "
            "keep mask, removes the kept ones instead)."
        )
    if W1s.shape != (n_in, kept):
        raise CheckFailed(
            f"W1_small should have shape {(n_in, kept)} (inputs x kept neurons), got {W1s.shape}: remove the "
            "COLUMNS of W1 of the pruned neurons, `W1[:, keep]`."
        )
    if b1s.shape != (kept,):
        raise CheckFailed(
            f"b1_small should have shape ({kept},), one bias per kept neuron, got {b1s.shape}: you forgot to remove "
            "the biases of the pruned neurons too (`b1[keep]`)."
        )
    if W2s.shape == (hidden, kept):
        raise CheckFailed(
            f"you removed COLUMNS of W2 (its outputs). A pruned hidden neuron is an INPUT of the second layer, and "
            f"the inputs of a Dense weight (in, out) are its ROWS: `W2[keep]`, shape {(kept, n_out)}."
        )
    if W2s.shape != (kept, n_out):
        raise CheckFailed(
            f"W2_small should have shape {(kept, n_out)} (kept neurons x outputs), got {W2s.shape}: remove the ROWS "
            "of W2 that the pruned neurons fed, `W2[keep]`."
        )
    expected = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    with np.errstate(all="ignore"):
        got = np.maximum(X @ W1s + b1s, 0) @ W2s + b2
    if not np.allclose(got, expected, atol=1e-9):
        if hidden - kept == kept and _equal(W1s, W1[:, ~keep]):
            raise CheckFailed(
                "you kept the PRUNED neurons and removed the kept ones: keep is True for the neurons to KEEP, "
                "so select `W1[:, keep]` (not `~keep`)."
            )
        raise CheckFailed(
            "the small network's outputs differ from the masked network's (by up to "
            f"{float(np.max(np.abs(got - expected))):.3g}): the kept neurons must stay in their order and keep "
            "their own weights, bias and outgoing row: use the same mask for all three, `W1[:, keep]`, "
            "`b1[keep]`, `W2[keep]`."
        )
    before = W1.size + b1.size + W2.size
    after = W1s.size + b1s.size + W2s.size
    cases = agrees_on_random_cases(
        shrink_two_layer,
        lambda W1, b1, W2, keep: (W1[:, keep], b1[keep], W2[keep]),
        _random_shrink_cases(seed),
        "shrink_two_layer",
    )
    feedback.passed(
        f"shrink_two_layer: {hidden} -> {kept} hidden neurons, same outputs, {before} -> {after} parameters; "
        f"{cases} random cases"
    )


def _equal(a, b) -> bool:
    return a.shape == b.shape and np.allclose(a, b)


# ------------------------------------------------------------------ task 3: macs_two_layer


def check_macs_two_layer(macs_two_layer, sizes=((64, 32, 10), (64, 24, 10), (5, 3, 2)), seed: int = 0) -> None:
    """``macs_two_layer(n_in, hidden, n_out)`` = n_in * hidden + hidden * n_out, the
    multiply-accumulates of one example through Dense -> ReLU -> Dense (biases and
    ReLU count 0, as in ShrinkBench and ``minnet.metrics.flops``)."""
    for n_in, hidden, n_out in sizes:
        got = feedback.call(macs_two_layer, n_in, hidden, n_out)
        expected = n_in * hidden + hidden * n_out
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"return a number (the MAC count), got {type(got).__name__} {got!r:.60}")
        if got == expected:
            continue
        sizes_text = f"for sizes ({n_in}, {hidden}, {n_out}) you returned {got}, expected {expected}"
        if got == 2 * expected:
            hint = "that is twice the MACs: a MAC is one multiply AND one add; FLOPs = 2 x MACs, count MACs"
        elif got == expected + hidden + n_out:
            hint = "you counted the biases: adding a bias is not a multiply-accumulate (and you counted parameters)"
        elif got == n_in * hidden:
            hint = "you counted only the first layer; the second layer costs hidden * n_out more"
        elif got == hidden * n_out:
            hint = "you counted only the second layer; the first layer costs n_in * hidden more"
        elif got == n_in * hidden * n_out:
            hint = "each layer costs (its inputs x its outputs) MACs; add the two layers, do not multiply all three"
        else:
            hint = "one example through Dense (in, out) costs in * out MACs; add the two layers"
        raise CheckFailed(f"{sizes_text}: {hint}.")
    cases = agrees_on_random_cases(
        macs_two_layer,
        lambda n_in, hidden, n_out: n_in * hidden + hidden * n_out,
        _random_sizes(seed),
        "macs_two_layer",
    )
    feedback.passed(f"macs_two_layer: right for {len(sizes)} network sizes and {cases} random ones")


# -- random cases ---------------------------------------------------------------------------------


def _random_neuron_cases(seed: int):
    """Dense weights (in 1..6, out 1..40), one case in three with many columns of
    equal norm, at fractions that include exact halves of amount * out."""
    gen = np.random.default_rng([seed, 501])
    for _ in range(RANDOM_CASES):
        n_in, n_out = int(gen.integers(1, 7)), int(gen.integers(1, 41))
        W = gen.standard_normal((n_in, n_out))
        if gen.random() < 1 / 3:
            W = np.tile(gen.standard_normal((n_in, 1)), (1, n_out)) * gen.integers(1, 3, n_out)
        yield {"W": W, "amount": random_amount(gen, n_out, counts=False)}


def _reference_neuron_mask(W, amount):
    return structured_mask(W, float(amount), axis=1).any(axis=0)


def _random_shrink_cases(seed: int):
    gen = np.random.default_rng([seed, 502])
    for _ in range(RANDOM_CASES):
        n_in, hidden, n_out = (int(v) for v in gen.integers(1, 9, size=3))
        yield {
            "W1": gen.standard_normal((n_in, hidden)),
            "b1": gen.standard_normal(hidden),
            "W2": gen.standard_normal((hidden, n_out)),
            "keep": gen.random(hidden) < 0.6,
        }


def _random_sizes(seed: int):
    gen = np.random.default_rng([seed, 503])
    for i in range(RANDOM_CASES):
        sizes = (int(v) for v in gen.integers(1, 1000, size=3))
        yield dict(zip(("n_in", "hidden", "n_out"), sizes if i % 2 else (np.int64(v) for v in sizes)))


feedback.guard_checks(globals())
