"""Exercise 08: prune potential, accuracy under shift, clean versus shifted potential."""

_POT = "def prune_potential(sparsities, accuracies, dense_accuracy, budget):\n"
_SHIFT = "def accuracy_under_shift(model, X, y, kind, severity, rng):\n"
_CVS = "def clean_vs_shifted(trained, train, val, sparsities, kind, severity, budget, rng):\n"


def _cvs(body_loop, dense_shifted="accuracy_under_shift(trained, *val, kind, severity, rng)", ret=None):
    ret = ret or (
        "    return (prune_potential(sparsities, clean, dense_clean, budget),\n"
        "            prune_potential(sparsities, shifted, dense_shifted, budget))\n"
    )
    return (
        _CVS + "    dense_clean = minnet.evaluate(trained, *val).accuracy\n"
        f"    dense_shifted = {dense_shifted}\n"
        "    clean, shifted = [], []\n" + body_loop + ret
    )


_LOOP = (
    "    for s in sparsities:\n"
    "        pruned = trained.copy()\n"
    "        minnet.prune.prune(pruned, sparsity=s)\n"
    "        minnet.fit(pruned, *train, epochs=1, optimizer=minnet.Adam(lr=1e-3), rng=rng, verbose=False)\n"
    "        clean.append(minnet.evaluate(pruned, *val).accuracy)\n"
    "        shifted.append(accuracy_under_shift(pruned, *val, kind, severity, rng))\n"
)

WRONG = {
    "task1_check": {
        "strict_comparison": (
            _POT + "    ok = [s for s, a in zip(sparsities, accuracies) if a > dense_accuracy - budget]\n"
            "    return max(ok) if ok else 0.0\n"
        ),
        "stops_at_first_failure": (
            _POT + "    best = 0.0\n"
            "    for s, a in zip(sparsities, accuracies):\n"
            "        if a < dense_accuracy - budget:\n"
            "            break\n"
            "        best = s\n"
            "    return best\n"
        ),
        "relative_budget": (
            _POT + "    ok = [s for s, a in zip(sparsities, accuracies) if a >= dense_accuracy * (1 - budget)]\n"
            "    return max(ok) if ok else 0.0\n"
        ),
        "returns_accuracy": (
            _POT + "    ok = [(s, a) for s, a in zip(sparsities, accuracies) if a >= dense_accuracy - budget]\n"
            "    return max(ok)[1] if ok else 0.0\n"
        ),
        "none_when_empty": (
            _POT + "    ok = [s for s, a in zip(sparsities, accuracies) if a >= dense_accuracy - budget]\n"
            "    return max(ok) if ok else None\n"
        ),
    },
    "task2_check": {
        "ignores_rng": (
            _SHIFT + "    return minnet.evaluate(model, minnet.data.shift(X, kind, severity), y).accuracy\n"
        ),
        "unshifted": _SHIFT + "    return minnet.evaluate(model, X, y).accuracy\n",
        "severity_off_by_one": (
            _SHIFT + "    Xs = minnet.data.shift(X, kind, max(1, severity - 1), rng=rng)\n"
            "    return minnet.evaluate(model, Xs, y).accuracy\n"
        ),
        "error_rate": (
            _SHIFT + "    Xs = minnet.data.shift(X, kind, severity, rng=rng)\n"
            "    return 1 - minnet.evaluate(model, Xs, y).accuracy\n"
        ),
        "percent": (
            _SHIFT + "    Xs = minnet.data.shift(X, kind, severity, rng=rng)\n"
            "    return 100 * minnet.evaluate(model, Xs, y).accuracy\n"
        ),
        "shifts_in_place": (
            _SHIFT + "    X[...] = minnet.data.shift(X, kind, severity, rng=rng)\n"
            "    return minnet.evaluate(model, X, y).accuracy\n"
        ),
    },
    "task3_check": {
        "clean_dense_for_both": _cvs(_LOOP, dense_shifted="dense_clean"),
        "swapped": _cvs(
            _LOOP,
            ret=(
                "    return (prune_potential(sparsities, shifted, dense_shifted, budget),\n"
                "            prune_potential(sparsities, clean, dense_clean, budget))\n"
            ),
        ),
        "prunes_in_place": _cvs(
            "    for s in sparsities:\n"
            "        minnet.prune.prune(trained, sparsity=s)\n"
            "        minnet.fit(trained, *train, epochs=1, optimizer=minnet.Adam(lr=1e-3), rng=rng, verbose=False)\n"
            "        clean.append(minnet.evaluate(trained, *val).accuracy)\n"
            "        shifted.append(accuracy_under_shift(trained, *val, kind, severity, rng))\n"
        ),
        "no_fine_tune": _cvs(
            "    for s in sparsities:\n"
            "        pruned = trained.copy()\n"
            "        minnet.prune.prune(pruned, sparsity=s)\n"
            "        clean.append(minnet.evaluate(pruned, *val).accuracy)\n"
            "        shifted.append(accuracy_under_shift(pruned, *val, kind, severity, rng))\n"
        ),
        "other_shift_seed_for_pruned": _cvs(
            "    for s in sparsities:\n"
            "        pruned = trained.copy()\n"
            "        minnet.prune.prune(pruned, sparsity=s)\n"
            "        minnet.fit(pruned, *train, epochs=1, optimizer=minnet.Adam(lr=1e-3), rng=rng, verbose=False)\n"
            "        clean.append(minnet.evaluate(pruned, *val).accuracy)\n"
            "        shifted.append(accuracy_under_shift(pruned, *val, kind, severity, rng + 1))\n"
        ),
        "budget_in_points": _cvs(
            _LOOP,
            ret=(
                "    return (prune_potential(sparsities, clean, dense_clean, budget / 100),\n"
                "            prune_potential(sparsities, shifted, dense_shifted, budget / 100))\n"
            ),
        ),
    },
}
