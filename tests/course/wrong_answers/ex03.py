"""Exercise 03: reference-correct answers (``correct_*``) and plausible wrong ones,
each with a comment naming the mistake its check must diagnose."""

import numpy as np

# -- task 1: magnitude_scores ------------------------------------------------------------


def correct_magnitude_scores(W):
    return np.abs(W)


def magnitude_signed(W):
    # returned w instead of |w|: negative weights score low
    return W.copy()


def magnitude_negated(W):
    # -|w|: the most important weights score lowest
    return -np.abs(W)


def magnitude_flattened(W):
    # flattened the scores
    return np.abs(W).ravel()


def magnitude_in_place(W):
    # np.abs into W itself: the caller's weights lose their signs
    return np.abs(W, out=W)


# -- task 2: taylor_scores ----------------------------------------------------------------


def correct_taylor_scores(W, grad):
    return np.abs(W * grad)


def taylor_no_abs(W, grad):
    # w * g without the absolute value
    return W * grad


def taylor_gradient_only(W, grad):
    # gradient magnitude only
    return np.abs(grad)


def taylor_abs_of_w_only(W, grad):
    # absolute value of w only, not of the product
    return np.abs(W) * grad


def taylor_matmul(W, grad):
    # a matrix product instead of the elementwise product
    return np.abs(W @ grad.T)


# -- task 3: apoz_scores ------------------------------------------------------------------


def correct_apoz_scores(activations):
    return 1.0 - np.mean(activations == 0, axis=0)


def apoz_not_complemented(activations):
    # APoZ instead of 1 - APoZ: dead units score high
    return np.mean(activations == 0, axis=0)


def apoz_wrong_axis(activations):
    # averaged over the units instead of the batch
    return 1.0 - np.mean(activations == 0, axis=1)


def apoz_counts(activations):
    # counted the non-zeros instead of taking a fraction
    return np.sum(activations != 0, axis=0).astype(float)


def apoz_mean_activation(activations):
    # mean activation, not the fraction of non-zeros
    return activations.mean(axis=0)


# -- task 4: local_masks and global_masks -----------------------------------------------


def _prune_lowest(flat, k):
    keep = np.ones(flat.size, dtype=bool)
    keep[np.argsort(flat, kind="stable")[:k]] = False
    return keep


def correct_local_masks(scores, amount):
    return {name: _prune_lowest(s.ravel(), round(amount * s.size)).reshape(s.shape) for name, s in scores.items()}


def correct_global_masks(scores, amount):
    flat = np.concatenate([s.ravel() for s in scores.values()])
    keep = _prune_lowest(flat, round(amount * flat.size))
    out, start = {}, 0
    for name, s in scores.items():
        out[name] = keep[start : start + s.size].reshape(s.shape)
        start += s.size
    return out


def local_largest(scores, amount):
    # pruned the largest scores instead of the smallest
    return {name: _prune_lowest(-s.ravel(), round(amount * s.size)).reshape(s.shape) for name, s in scores.items()}


def local_floor(scores, amount):
    # k = int(amount * n): floor instead of round
    return {name: _prune_lowest(s.ravel(), int(amount * s.size)).reshape(s.shape) for name, s in scores.items()}


def local_inverted(scores, amount):
    # returned the mask of pruned entries (True = pruned)
    return {name: ~m for name, m in correct_local_masks(scores, amount).items()}


def local_unstable_ties(scores, amount):
    # default argsort: ties are not broken by flat index
    out = {}
    for name, s in scores.items():
        keep = np.ones(s.size, dtype=bool)
        keep[np.argsort(s.ravel())[: round(amount * s.size)]] = False
        out[name] = keep.reshape(s.shape)
    return out


def local_threshold(scores, amount):
    # a threshold at the k-th smallest score prunes every tie with it
    out = {}
    for name, s in scores.items():
        k = round(amount * s.size)
        out[name] = s > np.sort(s.ravel())[k - 1] if k else np.ones(s.shape, dtype=bool)
    return out


def local_is_global(scores, amount):
    # ranked all layers together although local was asked
    return correct_global_masks(scores, amount)


def global_is_local(scores, amount):
    # ranked each layer on its own although global was asked
    return correct_local_masks(scores, amount)


def global_ceil(scores, amount):
    # k = ceil(amount * total)
    flat = np.concatenate([s.ravel() for s in scores.values()])
    keep = _prune_lowest(flat, int(np.ceil(amount * flat.size)))
    sizes = np.cumsum([s.size for s in scores.values()])[:-1]
    return {name: part.reshape(s.shape) for (name, s), part in zip(scores.items(), np.split(keep, sizes))}


def global_keeps_amount(scores, amount):
    # kept the share amount instead of pruning it
    flat = np.concatenate([s.ravel() for s in scores.values()])
    keep = _prune_lowest(flat, flat.size - round(amount * flat.size))
    sizes = np.cumsum([s.size for s in scores.values()])[:-1]
    return {name: part.reshape(s.shape) for (name, s), part in zip(scores.items(), np.split(keep, sizes))}


def global_descending_tail(scores, amount):
    # sorted descending and pruned the tail: among ties, the HIGHER index goes first
    flat = np.concatenate([s.ravel() for s in scores.values()])
    k = round(amount * flat.size)
    keep = np.ones(flat.size, dtype=bool)
    if k:
        keep[np.argsort(-flat, kind="stable")[-k:]] = False
    sizes = np.cumsum([s.size for s in scores.values()])[:-1]
    return {name: part.reshape(s.shape) for (name, s), part in zip(scores.items(), np.split(keep, sizes))}


def local_half_up(scores, amount):
    # k = int(amount * n + 0.5): rounds 4.5 up to 5, where round(4.5) = 4
    return {name: _prune_lowest(s.ravel(), int(amount * s.size + 0.5)).reshape(s.shape) for name, s in scores.items()}


def global_half_up(scores, amount):
    # k = floor(amount * total + 0.5): rounds 2.5 up to 3, where round(2.5) = 2
    flat = np.concatenate([s.ravel() for s in scores.values()])
    keep = _prune_lowest(flat, int(np.floor(amount * flat.size + 0.5)))
    sizes = np.cumsum([s.size for s in scores.values()])[:-1]
    return {name: part.reshape(s.shape) for (name, s), part in zip(scores.items(), np.split(keep, sizes))}


def global_sorted_names(scores, amount):
    # concatenated the layers in sorted-name order (right masks per name, wrong order among ties)
    names = sorted(scores)
    flat = np.concatenate([scores[n].ravel() for n in names])
    keep = _prune_lowest(flat, round(amount * flat.size))
    out, start = {}, 0
    for n in names:
        out[n] = keep[start : start + scores[n].size].reshape(scores[n].shape)
        start += scores[n].size
    return out


def global_unstable_ties(scores, amount):
    # default argsort on the concatenated scores: ties beyond 16 entries are not broken by index
    flat = np.concatenate([s.ravel() for s in scores.values()])
    keep = np.ones(flat.size, dtype=bool)
    keep[np.argsort(flat)[: round(amount * flat.size)]] = False
    sizes = np.cumsum([s.size for s in scores.values()])[:-1]
    return {name: part.reshape(s.shape) for (name, s), part in zip(scores.items(), np.split(keep, sizes))}
