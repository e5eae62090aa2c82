"""Exercise 04: reference-correct answers (``correct_*``) and plausible wrong ones,
each with a comment naming the mistake its check must diagnose."""

import numpy as np

# -- task 1: unstructured_mask ------------------------------------------------------------


def _count(amount, n):
    if isinstance(amount, (int, np.integer)):
        if not 0 <= amount <= n:
            raise ValueError(f"amount must be an int count in [0, {n}], got {amount}")
        return int(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be a float in [0, 1], got {amount}")
    return round(amount * n)


def _prune_lowest(scores, k):
    keep = np.ones(scores.size, dtype=bool)
    keep[np.argsort(scores.ravel(), kind="stable")[:k]] = False
    return keep.reshape(scores.shape)


def correct_unstructured_mask(scores, amount):
    return _prune_lowest(scores, _count(amount, scores.size))


def mask_floor(scores, amount):
    # k = int(amount * n) truncates instead of rounding
    k = amount if isinstance(amount, int) else int(amount * scores.size)
    _count(amount, scores.size)
    return _prune_lowest(scores, k)


def mask_k_plus_one(scores, amount):
    # off by one: prunes k + 1 entries (argsort(...)[:k + 1])
    k = _count(amount, scores.size)
    return _prune_lowest(scores, min(k + 1, scores.size))


def mask_largest(scores, amount):
    # pruned the largest scores
    return _prune_lowest(-scores, _count(amount, scores.size))


def mask_true_pruned(scores, amount):
    # True marks the pruned entries
    return ~correct_unstructured_mask(scores, amount)


def mask_int_as_fraction(scores, amount):
    # every amount treated as a fraction: an int count goes through round(amount * n)
    if not 0 <= amount <= scores.size:
        raise ValueError(f"amount out of range: {amount}")
    return _prune_lowest(scores, min(round(amount * scores.size), scores.size))


def mask_type_by_value(scores, amount):
    # decides "fraction or count" by the value (< 1 -> fraction), so 1.0 prunes one entry
    n = scores.size
    if amount < 0 or amount > n or (not isinstance(amount, int) and amount > 1):
        raise ValueError(f"bad amount {amount}")
    k = round(amount * n) if amount < 1 else int(amount)
    return _prune_lowest(scores, k)


def mask_no_validation(scores, amount):
    # no range check: 1.5 silently prunes everything
    k = int(amount) if isinstance(amount, int) else round(amount * scores.size)
    return _prune_lowest(scores, int(np.clip(k, 0, scores.size)))


def mask_unstable_ties(scores, amount):
    # default argsort: ties not broken by flat index
    keep = np.ones(scores.size, dtype=bool)
    keep[np.argsort(scores.ravel())[: _count(amount, scores.size)]] = False
    return keep.reshape(scores.shape)


def mask_int_dtype(scores, amount):
    # a 0/1 float mask instead of a bool one
    return correct_unstructured_mask(scores, amount).astype(float)


# -- task 2: compose ------------------------------------------------------------------------


def correct_compose(scores, amount, prior_mask):
    new = correct_unstructured_mask(scores[prior_mask], amount)
    mask = prior_mask.copy()
    mask[prior_mask] = new
    return mask


def compose_ignores_prior(scores, amount, prior_mask):
    # prior mask not respected: pruned weights come back
    return correct_unstructured_mask(scores, amount)


def compose_ranks_all(scores, amount, prior_mask):
    # ranks every entry, the already pruned ones too, then ANDs with the prior
    return prior_mask & correct_unstructured_mask(scores, amount)


def compose_amount_of_total(scores, amount, prior_mask):
    # ranks the kept entries but takes k from the total size
    k = amount if isinstance(amount, int) else round(amount * scores.size)
    kept = np.flatnonzero(prior_mask)
    mask = prior_mask.copy().ravel()
    mask[kept[np.argsort(scores.ravel()[kept], kind="stable")[:k]]] = False
    return mask.reshape(scores.shape)


def compose_in_place(scores, amount, prior_mask):
    # writes the new pruning into the caller's prior_mask
    prior_mask[prior_mask] = correct_unstructured_mask(scores[prior_mask], amount)
    return prior_mask


# -- task 3: masked_sgd_momentum_step ----------------------------------------------------------


def correct_masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum):
    velocity = momentum * velocity + grad * mask
    return (W - lr * velocity) * mask, velocity


def step_grad_only(W, grad, velocity, mask, lr, momentum):
    # masks only the gradient: momentum from before pruning revives pruned weights
    velocity = momentum * velocity + grad * mask
    return W - lr * velocity, velocity


def step_mask_before(W, grad, velocity, mask, lr, momentum):
    # masks W before the update (and not the gradient)
    velocity = momentum * velocity + grad
    return W * mask - lr * velocity, velocity


def step_W_only(W, grad, velocity, mask, lr, momentum):
    # re-masks W after the update but feeds the full gradient into the velocity
    velocity = momentum * velocity + grad
    return (W - lr * velocity) * mask, velocity


def step_dampened(W, grad, velocity, mask, lr, momentum):
    # dampened momentum v = mu v + (1 - mu) g
    velocity = momentum * velocity + (1 - momentum) * grad * mask
    return (W - lr * velocity) * mask, velocity


def correct_step_in_place(W, grad, velocity, mask, lr, momentum):
    # correct, updating W and velocity in place (allowed, like a real optimizer)
    grad = grad * mask
    velocity *= momentum
    velocity += grad
    W -= lr * velocity
    W *= mask
    return W, velocity


def correct_step_masks_velocity(W, grad, velocity, mask, lr, momentum):
    # correct too: masks the velocity instead of re-masking W; pruned weights stay 0
    velocity = (momentum * velocity + grad) * mask
    return W - lr * velocity, velocity


def mask_python_int_only(scores, amount):
    # isinstance(amount, int): a NumPy int count is taken for a fraction (and refused as > 1)
    if isinstance(amount, int) and not isinstance(amount, bool):
        if not 0 <= amount <= scores.size:
            raise ValueError("count out of range")
        return _prune_lowest(scores, amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be a float in [0, 1], got {amount}")
    return _prune_lowest(scores, round(amount * scores.size))


def mask_half_up(scores, amount):
    # k = int(amount * n + 0.5): 2.5 becomes 3, where round(2.5) = 2
    if isinstance(amount, (int, np.integer)):
        return _prune_lowest(scores, _count(amount, scores.size))
    _count(amount, scores.size)
    return _prune_lowest(scores, int(amount * scores.size + 0.5))
