"""Exercise 04: exact-amount unstructured mask, composing masks, masked momentum SGD."""


def _mask(k_rule, prelude=""):
    return (
        "def unstructured_mask(scores, amount):\n"
        "    scores = np.asarray(scores)\n"
        "    n = scores.size\n" + prelude + k_rule + "    keep = np.ones(n, dtype=bool)\n"
        "    keep[np.argsort(scores.ravel(), kind='stable')[:k]] = False\n"
        "    return keep.reshape(scores.shape)\n"
    )


_CHECKED = (
    "    if isinstance(amount, numbers.Integral):\n"
    "        if not 0 <= amount <= n:\n"
    "            raise ValueError('count out of range')\n"
    "        k = int(amount)\n"
    "    else:\n"
    "        if not 0.0 <= amount <= 1.0:\n"
    "            raise ValueError('fraction out of range')\n"
)

WRONG = {
    "task1_check": {
        "python_int_only": _mask(
            "    if isinstance(amount, int):\n"
            "        if not 0 <= amount <= n:\n"
            "            raise ValueError('count out of range')\n"
            "        k = amount\n"
            "    else:\n"
            "        if not 0.0 <= amount <= 1.0:\n"
            "            raise ValueError('fraction out of range')\n"
            "        k = round(amount * n)\n"
        ),
        "above_one_is_a_count": _mask(
            "    if amount < 0 or amount > n:\n"
            "        raise ValueError('bad amount')\n"
            "    k = int(amount) if amount > 1 else round(amount * n)\n"
        ),
        "no_validation": _mask("    k = int(amount) if isinstance(amount, numbers.Integral) else round(amount * n)\n"),
        "half_up": _mask(_CHECKED + "        k = int(amount * n + 0.5)\n"),
        "unstable_sort": (
            "def unstructured_mask(scores, amount):\n"
            "    scores = np.asarray(scores)\n"
            "    n = scores.size\n" + _CHECKED + "        k = round(amount * n)\n"
            "    keep = np.ones(n, dtype=bool)\n"
            "    keep[np.argsort(scores.ravel())[:k]] = False\n"
            "    return keep.reshape(scores.shape)\n"
        ),
        "int_mask": (
            "def unstructured_mask(scores, amount):\n"
            "    scores = np.asarray(scores)\n"
            "    n = scores.size\n" + _CHECKED + "        k = round(amount * n)\n"
            "    keep = np.ones(n, dtype=int)\n"
            "    keep[np.argsort(scores.ravel(), kind='stable')[:k]] = 0\n"
            "    return keep.reshape(scores.shape)\n"
        ),
        "type_error_for_range": _mask(
            "    if isinstance(amount, numbers.Integral):\n"
            "        if not 0 <= amount <= n:\n"
            "            raise TypeError('count out of range')\n"
            "        k = int(amount)\n"
            "    else:\n"
            "        if not 0.0 <= amount <= 1.0:\n"
            "            raise TypeError('fraction out of range')\n"
            "        k = round(amount * n)\n"
        ),
    },
    "task2_check": {
        "amount_of_all_entries": (
            "def compose(scores, amount, prior_mask):\n"
            "    mask = prior_mask.copy()\n"
            "    k = round(amount * prior_mask.size)\n"
            "    mask[prior_mask] = unstructured_mask(scores[prior_mask], k)\n"
            "    return mask\n"
        ),
        "forgets_prior": (
            "def compose(scores, amount, prior_mask):\n"
            "    mask = np.ones_like(prior_mask)\n"
            "    mask[prior_mask] = unstructured_mask(scores[prior_mask], amount)\n"
            "    return mask\n"
        ),
        "mutates_prior": (
            "def compose(scores, amount, prior_mask):\n"
            "    prior_mask[prior_mask] = unstructured_mask(scores[prior_mask], amount)\n"
            "    return prior_mask\n"
        ),
        "zeroed_scores_ranked": (
            "def compose(scores, amount, prior_mask):\n"
            "    n_pruned = int((~prior_mask).sum())\n"
            "    k = n_pruned + round(amount * prior_mask.sum())\n"
            "    return unstructured_mask(scores * prior_mask, k)\n"
        ),
        "len_instead_of_count": (
            "def compose(scores, amount, prior_mask):\n"
            "    mask = prior_mask.copy()\n"
            "    k = round(amount * len(prior_mask))\n"
            "    mask[prior_mask] = unstructured_mask(scores[prior_mask], k)\n"
            "    return mask\n"
        ),
        "fresh_mask_or_prior": (
            "def compose(scores, amount, prior_mask):\n    return unstructured_mask(scores, amount) & prior_mask\n"
        ),
    },
    "task3_check": {
        "only_grad_masked": (
            "def masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum):\n"
            "    velocity = momentum * velocity + grad * mask\n"
            "    return W - lr * velocity, velocity\n"
        ),
        "lr_inside_velocity": (
            "def masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum):\n"
            "    velocity = momentum * velocity + lr * grad\n"
            "    return (W - velocity) * mask, velocity\n"
        ),
        "nesterov": (
            "def masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum):\n"
            "    velocity = momentum * velocity + grad\n"
            "    return (W - lr * (grad + momentum * velocity)) * mask, velocity\n"
        ),
        "mask_before_update": (
            "def masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum):\n"
            "    velocity = momentum * velocity + grad\n"
            "    return W * mask - lr * velocity, velocity\n"
        ),
        "dampened": (
            "def masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum):\n"
            "    velocity = momentum * velocity + (1 - momentum) * grad\n"
            "    return (W - lr * velocity) * mask, velocity\n"
        ),
        "velocity_not_returned_updated": (
            "def masked_sgd_momentum_step(W, grad, velocity, mask, lr, momentum):\n"
            "    new_velocity = momentum * velocity + grad\n"
            "    return (W - lr * new_velocity) * mask, velocity\n"
        ),
    },
}
