"""Exercise 06: polynomial decay, iterative targets, prune until the accuracy drops."""

_HEAD = "def prune_until(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):\n"

WRONG = {
    "task1_check": {
        "no_clipping": (
            "def polynomial_decay(step, initial, final, begin, end, power=3):\n"
            "    p = (step - begin) / (end - begin)\n"
            "    return final + (initial - final) * (1 - p) ** power\n"
        ),
        "one_minus_p_power": (
            "def polynomial_decay(step, initial, final, begin, end, power=3):\n"
            "    p = min(1.0, max(0.0, (step - begin) / (end - begin)))\n"
            "    return final + (initial - final) * (1 - p ** power)\n"
        ),
        "p_to_the_power": (
            "def polynomial_decay(step, initial, final, begin, end, power=3):\n"
            "    p = min(1.0, max(0.0, (step - begin) / (end - begin)))\n"
            "    return initial + (final - initial) * p ** power\n"
        ),
        "integer_division": (
            "def polynomial_decay(step, initial, final, begin, end, power=3):\n"
            "    p = min(1, max(0, (step - begin) // (end - begin)))\n"
            "    return final + (initial - final) * (1 - p) ** power\n"
        ),
        "clipped_above_only": (
            "def polynomial_decay(step, initial, final, begin, end, power=3):\n"
            "    p = min(1.0, (step - begin) / (end - begin))\n"
            "    return final + (initial - final) * (1 - p) ** power\n"
        ),
        "cube_always": (
            "def polynomial_decay(step, initial, final, begin, end, power=3):\n"
            "    p = min(1.0, max(0.0, (step - begin) / (end - begin)))\n"
            "    return final + (initial - final) * (1 - p) ** 3\n"
        ),
    },
    "task2_check": {
        "linear": "def iterative_targets(fraction, rounds):\n    return [min(1.0, fraction * r) for r in range(1, rounds + 1)]\n",  # noqa: E501
        "starts_at_round_zero": (
            "def iterative_targets(fraction, rounds):\n    return [1 - (1 - fraction) ** r for r in range(rounds)]\n"
        ),
        "fraction_power": (
            "def iterative_targets(fraction, rounds):\n    return [1 - fraction ** r for r in range(1, rounds + 1)]\n"
        ),
        "one_round_short": (
            "def iterative_targets(fraction, rounds):\n    return [1 - (1 - fraction) ** r for r in range(1, rounds)]\n"
        ),
        "kept_share": (
            "def iterative_targets(fraction, rounds):\n    return [(1 - fraction) ** r for r in range(1, rounds + 1)]\n"
        ),
        "compounded_wrong": (
            "def iterative_targets(fraction, rounds):\n"
            "    out, s = [], 0.0\n"
            "    for _ in range(rounds):\n"
            "        s = s + fraction * s if s else fraction\n"
            "        out.append(s)\n"
            "    return out\n"
        ),
    },
    "task3_check": {
        "no_undo": (
            _HEAD + "    start = evaluate_fn(model, X_val, y_val)\n"
            "    kept = []\n"
            "    while True:\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        if acc < start - max_drop:\n"
            "            return kept\n"
            "        kept.append((1 - (1 - step_fraction) ** (len(kept) + 1), acc))\n"
        ),
        "keeps_failing_round": (
            _HEAD + "    start = evaluate_fn(model, X_val, y_val)\n"
            "    kept = []\n"
            "    while True:\n"
            "        state = model.state_dict()\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        kept.append((1 - (1 - step_fraction) ** (len(kept) + 1), acc))\n"
            "        if acc < start - max_drop:\n"
            "            model.load_state_dict(state)\n"
            "            return kept\n"
        ),
        "linear_sparsity": (
            _HEAD + "    start = evaluate_fn(model, X_val, y_val)\n"
            "    kept = []\n"
            "    while True:\n"
            "        state = model.state_dict()\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        if acc < start - max_drop:\n"
            "            model.load_state_dict(state)\n"
            "            return kept\n"
            "        kept.append((step_fraction * (len(kept) + 1), acc))\n"
        ),
        "compares_with_previous_round": (
            _HEAD + "    prev = evaluate_fn(model, X_val, y_val)\n"
            "    kept = []\n"
            "    while True:\n"
            "        state = model.state_dict()\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        if acc < prev - max_drop:\n"
            "            model.load_state_dict(state)\n"
            "            return kept\n"
            "        kept.append((1 - (1 - step_fraction) ** (len(kept) + 1), acc))\n"
            "        prev = acc\n"
        ),
        "undo_to_dense": (
            _HEAD + "    start = evaluate_fn(model, X_val, y_val)\n"
            "    dense = model.state_dict()\n"
            "    kept = []\n"
            "    while True:\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        if acc < start - max_drop:\n"
            "            model.load_state_dict(dense)\n"
            "            return kept\n"
            "        kept.append((1 - (1 - step_fraction) ** (len(kept) + 1), acc))\n"
        ),
        "pairs_swapped": (
            _HEAD + "    start = evaluate_fn(model, X_val, y_val)\n"
            "    kept = []\n"
            "    while True:\n"
            "        state = model.state_dict()\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        if acc < start - max_drop:\n"
            "            model.load_state_dict(state)\n"
            "            return kept\n"
            "        kept.append((acc, 1 - (1 - step_fraction) ** (len(kept) + 1)))\n"
        ),
        "relative_drop": (
            _HEAD + "    start = evaluate_fn(model, X_val, y_val)\n"
            "    kept = []\n"
            "    while True:\n"
            "        state = model.state_dict()\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        if acc < start * (1 - max_drop):\n"
            "            model.load_state_dict(state)\n"
            "            return kept\n"
            "        kept.append((1 - (1 - step_fraction) ** (len(kept) + 1), acc))\n"
        ),
    },
}
