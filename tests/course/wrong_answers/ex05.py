"""Correct and plausible wrong answers to exercise 05 (structured pruning).

Each ``wrong_*`` function makes one mistake, named in its comment; the tests
assert that the check rejects it with the feedback meant for that mistake.
"""

import numpy as np

# ------------------------------------------------------------------ task 1: neuron_mask


def correct_neuron_mask(W, amount):
    norms = np.sqrt((W**2).sum(axis=0))
    k = round(amount * W.shape[1])
    keep = np.ones(W.shape[1], dtype=bool)
    keep[np.argsort(norms, kind="stable")[:k]] = False
    return keep


def wrong_neuron_mask_rows(W, amount):
    # Mistake: scores the rows of W (input neurons) instead of the columns.
    norms = np.sqrt((W**2).sum(axis=1))
    k = round(amount * W.shape[0])
    keep = np.ones(W.shape[0], dtype=bool)
    keep[np.argsort(norms, kind="stable")[:k]] = False
    return keep


def wrong_neuron_mask_strongest(W, amount):
    # Mistake: prunes the k strongest neurons (sorted in decreasing order).
    norms = np.sqrt((W**2).sum(axis=0))
    k = round(amount * W.shape[1])
    keep = np.ones(W.shape[1], dtype=bool)
    keep[np.argsort(-norms, kind="stable")[:k]] = False
    return keep


def wrong_neuron_mask_l1(W, amount):
    # Mistake: ranks by the L1 norm, sum of |w|, where the L2 norm was asked.
    norms = np.abs(W).sum(axis=0)
    k = round(amount * W.shape[1])
    keep = np.ones(W.shape[1], dtype=bool)
    keep[np.argsort(norms, kind="stable")[:k]] = False
    return keep


def wrong_neuron_mask_floor(W, amount):
    # Mistake: int() truncates amount * out, so k is one short (0.3 * 6 = 1.8 -> 1).
    norms = np.sqrt((W**2).sum(axis=0))
    k = int(amount * W.shape[1])
    keep = np.ones(W.shape[1], dtype=bool)
    keep[np.argsort(norms, kind="stable")[:k]] = False
    return keep


def wrong_neuron_mask_off_by_one(W, amount):
    # Mistake: the slice takes one neuron too many.
    norms = np.sqrt((W**2).sum(axis=0))
    k = round(amount * W.shape[1])
    keep = np.ones(W.shape[1], dtype=bool)
    keep[np.argsort(norms, kind="stable")[: k + 1]] = False
    return keep


def wrong_neuron_mask_pruned_is_true(W, amount):
    # Mistake: returns True for the PRUNED neurons.
    norms = np.sqrt((W**2).sum(axis=0))
    k = round(amount * W.shape[1])
    pruned = np.zeros(W.shape[1], dtype=bool)
    pruned[np.argsort(norms, kind="stable")[:k]] = True
    return pruned


def wrong_neuron_mask_ties(W, amount):
    # Mistake: keeps the out - k largest by sorting the negated norms, so among equal
    # norms the HIGHER index is pruned.
    norms = np.sqrt((W**2).sum(axis=0))
    k = round(amount * W.shape[1])
    keep = np.zeros(W.shape[1], dtype=bool)
    keep[np.argsort(-norms, kind="stable")[: W.shape[1] - k]] = True
    return keep


def wrong_neuron_mask_indices(W, amount):
    # Mistake: returns the indices of the kept neurons instead of a bool mask.
    norms = np.sqrt((W**2).sum(axis=0))
    k = round(amount * W.shape[1])
    return np.sort(np.argsort(norms, kind="stable")[k:])


# ------------------------------------------------------------------ task 2: shrink_two_layer


def correct_shrink_two_layer(W1, b1, W2, keep):
    return W1[:, keep], b1[keep], W2[keep]


def wrong_shrink_columns_of_w2(W1, b1, W2, keep):
    # Mistake: removes columns of W2 (its outputs) instead of rows (its inputs).
    return W1[:, keep], b1[keep], W2[:, keep]


def wrong_shrink_forgot_bias(W1, b1, W2, keep):
    # Mistake: forgets to remove the biases of the pruned neurons.
    return W1[:, keep], b1, W2[keep]


def wrong_shrink_kept_pruned(W1, b1, W2, keep):
    # Mistake: reads keep as "pruned" and keeps the wrong neurons.
    return W1[:, ~keep], b1[~keep], W2[~keep]


def wrong_shrink_zeroed(W1, b1, W2, keep):
    # Mistake: zeroes the pruned neurons instead of removing them (shapes unchanged).
    return W1 * keep, b1 * keep, W2 * keep[:, None]


def wrong_shrink_in_place(W1, b1, W2, keep):
    # Mistake: zeroes the input arrays in place before slicing.
    W2[~keep] = 0
    return W1[:, keep], b1[keep], W2[keep]


def wrong_shrink_reordered(W1, b1, W2, keep):
    # Mistake: sorts the kept neurons' rows of W2 differently from W1's columns.
    return W1[:, keep], b1[keep], W2[keep][::-1]


# ------------------------------------------------------------------ task 3: macs_two_layer


def correct_macs_two_layer(n_in, hidden, n_out):
    return n_in * hidden + hidden * n_out


def wrong_macs_flops(n_in, hidden, n_out):
    # Mistake: counts FLOPs (a multiply and an add), twice the MACs.
    return 2 * (n_in * hidden + hidden * n_out)


def wrong_macs_with_biases(n_in, hidden, n_out):
    # Mistake: counts the biases too (that is the parameter count).
    return n_in * hidden + hidden + hidden * n_out + n_out


def wrong_macs_first_layer(n_in, hidden, n_out):
    # Mistake: forgets the second layer.
    return n_in * hidden


def wrong_macs_product(n_in, hidden, n_out):
    # Mistake: multiplies the three sizes.
    return n_in * hidden * n_out
