"""Exercise 05: neuron mask by column norm, shrinking two layers, MACs."""


def _neuron(norms, k="round(amount * W.shape[1])", kind=", kind='stable'", order="norms"):
    return (
        "def neuron_mask(W, amount):\n"
        f"    norms = {norms}\n"
        f"    k = {k}\n"
        "    keep = np.ones(W.shape[1], dtype=bool)\n"
        f"    keep[np.argsort({order}{kind})[:k]] = False\n"
        "    return keep\n"
    )


L2 = "np.sqrt((W ** 2).sum(axis=0))"

WRONG = {
    "task1_check": {
        "row_norms": _neuron("np.sqrt((W ** 2).sum(axis=1))", k="round(amount * W.shape[0])").replace(
            "W.shape[1], dtype", "W.shape[0], dtype"
        ),
        "l1_norms": _neuron("np.abs(W).sum(axis=0)"),
        "floor_count": _neuron(L2, k="int(amount * W.shape[1])"),
        "unstable_sort": _neuron(L2, kind=""),
        "prunes_largest": _neuron(L2, order="-norms"),
        "max_abs_norm": _neuron("np.abs(W).max(axis=0)"),
    },
    "task2_check": {
        "w2_columns": ("def shrink_two_layer(W1, b1, W2, keep):\n    return W1[:, keep], b1[keep], W2[:, keep]\n"),
        "bias_kept_whole": "def shrink_two_layer(W1, b1, W2, keep):\n    return W1[:, keep], b1, W2[keep]\n",
        "w1_rows": "def shrink_two_layer(W1, b1, W2, keep):\n    return W1[keep], b1[keep], W2[keep]\n",
        "removes_kept": ("def shrink_two_layer(W1, b1, W2, keep):\n    return W1[:, ~keep], b1[~keep], W2[~keep]\n"),
        "zeroes_instead_of_removing": (
            "def shrink_two_layer(W1, b1, W2, keep):\n    return W1 * keep, b1 * keep, W2 * keep[:, None]\n"
        ),
        "np_delete_with_mask": (
            "def shrink_two_layer(W1, b1, W2, keep):\n"
            "    return np.delete(W1, keep, axis=1), np.delete(b1, keep), np.delete(W2, keep, axis=0)\n"
        ),
    },
    "task3_check": {
        "with_biases": (
            "def macs_two_layer(n_in, hidden, n_out):\n    return n_in * hidden + hidden + hidden * n_out + n_out\n"
        ),
        "flops_doubled": "def macs_two_layer(n_in, hidden, n_out):\n    return 2 * (n_in * hidden + hidden * n_out)\n",
        "product_of_all": "def macs_two_layer(n_in, hidden, n_out):\n    return n_in * hidden * n_out\n",
        "first_layer_only": "def macs_two_layer(n_in, hidden, n_out):\n    return n_in * hidden\n",
        "wrong_grouping": "def macs_two_layer(n_in, hidden, n_out):\n    return (n_in + hidden) * n_out\n",
        "params_count": (
            "def macs_two_layer(n_in, hidden, n_out):\n    return (n_in + 1) * hidden + (hidden + 1) * n_out\n"
        ),
    },
}
