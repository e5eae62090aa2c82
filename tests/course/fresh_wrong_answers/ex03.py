"""Exercise 03: magnitude, Taylor and 1 - APoZ scores; local and global masks."""


def _local(body):
    return "def local_masks(scores, amount):\n" + body


def _global(body):
    return "def global_masks(scores, amount):\n" + body


WRONG = {
    "task1_check": {
        "float32_scores": "def magnitude_scores(W):\n    return np.abs(W).astype(np.float32)\n",
        "normalised_by_sum": "def magnitude_scores(W):\n    return np.abs(W) / np.abs(W).sum()\n",
        "relu_not_abs": "def magnitude_scores(W):\n    return np.maximum(W, 0)\n",
        "per_column_mean": "def magnitude_scores(W):\n    return np.abs(W).mean(axis=0)\n",
        "sorted_scores": "def magnitude_scores(W):\n    return np.sort(np.abs(W), axis=None).reshape(W.shape)\n",
        "centred": "def magnitude_scores(W):\n    return np.abs(W - W.mean())\n",
    },
    "task2_check": {
        "float32_scores": "def taylor_scores(W, grad):\n    return np.abs(W * grad).astype(np.float32)\n",
        "sum_not_product": "def taylor_scores(W, grad):\n    return np.abs(W + grad)\n",
        "normalised_by_max": ("def taylor_scores(W, grad):\n    s = np.abs(W * grad)\n    return s / s.max()\n"),
        "second_order": "def taylor_scores(W, grad):\n    return 0.5 * (W * grad) ** 2\n",
        "in_place": "def taylor_scores(W, grad):\n    W *= grad\n    return np.abs(W)\n",
        "grad_transposed": "def taylor_scores(W, grad):\n    return np.abs(W * grad.T.reshape(W.shape))\n",
    },
    "task3_check": {
        "divided_by_units": (
            "def apoz_scores(activations):\n    return 1 - (activations == 0).sum(axis=0) / activations.shape[1]\n"
        ),
        "near_zero_threshold": ("def apoz_scores(activations):\n    return 1 - np.mean(activations < 1e-2, axis=0)\n"),
        "integer_division": (
            "def apoz_scores(activations):\n    return 1 - (activations == 0).sum(axis=0) // activations.shape[0]\n"
        ),
        "one_number": "def apoz_scores(activations):\n    return 1 - np.mean(activations == 0)\n",
        "rounded": "def apoz_scores(activations):\n    return np.round(1 - np.mean(activations == 0, axis=0), 2)\n",
        "float32": "def apoz_scores(activations):\n    return (1 - np.mean(activations == 0, axis=0)).astype(np.float32)\n",  # noqa: E501
    },
    "task4_check": {
        "local_quantile_threshold": _local("    return {n: s > np.quantile(s, amount) for n, s in scores.items()}\n"),
        "local_floor": _local(
            "    out = {}\n"
            "    for n, s in scores.items():\n"
            "        keep = np.ones(s.size, bool)\n"
            "        keep[np.argsort(s.ravel(), kind='stable')[: int(amount * s.size)]] = False\n"
            "        out[n] = keep.reshape(s.shape)\n"
            "    return out\n"
        ),
        "local_unstable_sort": _local(
            "    out = {}\n"
            "    for n, s in scores.items():\n"
            "        keep = np.ones(s.size, bool)\n"
            "        keep[np.argsort(s.ravel())[: round(amount * s.size)]] = False\n"
            "        out[n] = keep.reshape(s.shape)\n"
            "    return out\n"
        ),
        "local_flat_masks": _local(
            "    out = {}\n"
            "    for n, s in scores.items():\n"
            "        keep = np.ones(s.size, bool)\n"
            "        keep[np.argsort(s.ravel(), kind='stable')[: round(amount * s.size)]] = False\n"
            "        out[n] = keep\n"
            "    return out\n"
        ),
        "local_sorts_caller_scores": _local(
            "    out = {}\n"
            "    for n, s in scores.items():\n"
            "        flat = s.reshape(-1)\n"
            "        order = np.argsort(flat, kind='stable')\n"
            "        k = round(amount * s.size)\n"
            "        cut = np.sort(flat)[k - 1] if k else -np.inf\n"
            "        flat.sort()\n"
            "        keep = np.ones(s.size, bool)\n"
            "        keep[order[:k]] = False\n"
            "        out[n] = keep.reshape(s.shape)\n"
            "    return out\n"
        ),
        "global_sorted_names": _global(
            "    names = sorted(scores)\n"
            "    flat = np.concatenate([scores[n].ravel() for n in names])\n"
            "    keep = np.ones(flat.size, bool)\n"
            "    keep[np.argsort(flat, kind='stable')[: round(amount * flat.size)]] = False\n"
            "    out, i = {}, 0\n"
            "    for n in names:\n"
            "        out[n] = keep[i : i + scores[n].size].reshape(scores[n].shape)\n"
            "        i += scores[n].size\n"
            "    return out\n"
        ),
        "global_count_as_sum_of_local": _global(
            "    flat = np.concatenate([s.ravel() for s in scores.values()])\n"
            "    k = sum(round(amount * s.size) for s in scores.values())\n"
            "    keep = np.ones(flat.size, bool)\n"
            "    keep[np.argsort(flat, kind='stable')[:k]] = False\n"
            "    out, i = {}, 0\n"
            "    for n, s in scores.items():\n"
            "        out[n] = keep[i : i + s.size].reshape(s.shape)\n"
            "        i += s.size\n"
            "    return out\n"
        ),
        "global_threshold": _global(
            "    flat = np.concatenate([s.ravel() for s in scores.values()])\n"
            "    k = round(amount * flat.size)\n"
            "    if k == 0:\n"
            "        return {n: np.ones(s.shape, bool) for n, s in scores.items()}\n"
            "    cut = np.sort(flat)[k - 1]\n"
            "    return {n: s > cut for n, s in scores.items()}\n"
        ),
        "global_unstable_sort": _global(
            "    flat = np.concatenate([s.ravel() for s in scores.values()])\n"
            "    keep = np.ones(flat.size, bool)\n"
            "    keep[np.argsort(flat)[: round(amount * flat.size)]] = False\n"
            "    out, i = {}, 0\n"
            "    for n, s in scores.items():\n"
            "        out[n] = keep[i : i + s.size].reshape(s.shape)\n"
            "        i += s.size\n"
            "    return out\n"
        ),
        "global_ceil": _global(
            "    import math\n"
            "    flat = np.concatenate([s.ravel() for s in scores.values()])\n"
            "    keep = np.ones(flat.size, bool)\n"
            "    keep[np.argsort(flat, kind='stable')[: math.ceil(amount * flat.size)]] = False\n"
            "    out, i = {}, 0\n"
            "    for n, s in scores.items():\n"
            "        out[n] = keep[i : i + s.size].reshape(s.shape)\n"
            "        i += s.size\n"
            "    return out\n"
        ),
    },
}
