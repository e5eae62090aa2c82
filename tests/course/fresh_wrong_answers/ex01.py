"""Exercise 01: Dense forward/backward, softmax cross-entropy, loss_and_grads, gradient_check."""

WRONG = {
    "task1_check": {
        "bias_added_to_weights": "def dense_forward(x, W, b):\n    return x @ (W + b)\n",
        "bias_subtracted": "def dense_forward(x, W, b):\n    return x @ W - b\n",
        "mean_bias": "def dense_forward(x, W, b):\n    return x @ W + b.mean()\n",
        "float32_output": (
            "def dense_forward(x, W, b):\n"
            "    return x.astype(np.float32) @ W.astype(np.float32) + b.astype(np.float32)\n"
        ),
        "first_bias_only": "def dense_forward(x, W, b):\n    return x @ W + b[0]\n",
        "scaled_by_fan_in": "def dense_forward(x, W, b):\n    return (x @ W + b) / x.shape[1]\n",
    },
    "task2_check": {
        "grad_b_mean": (
            "def dense_backward(x, W, grad_out):\n    return grad_out @ W.T, x.T @ grad_out, grad_out.mean(axis=0)\n"
        ),
        "grad_x_not_transposed_back": (
            "def dense_backward(x, W, grad_out):\n    return W @ grad_out.T, x.T @ grad_out, grad_out.sum(axis=0)\n"
        ),
        "order_swapped": (
            "def dense_backward(x, W, grad_out):\n    return x.T @ grad_out, grad_out @ W.T, grad_out.sum(axis=0)\n"
        ),
        "grad_b_wrong_axis": (
            "def dense_backward(x, W, grad_out):\n    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(axis=1)\n"
        ),
        "outer_of_sums": (
            "def dense_backward(x, W, grad_out):\n"
            "    return grad_out @ W.T, np.outer(x.sum(axis=0), grad_out.sum(axis=0)), grad_out.sum(axis=0)\n"
        ),
        "relu_derivative_added": (
            "def dense_backward(x, W, grad_out):\n"
            "    return (grad_out @ W.T) * (x > 0), x.T @ grad_out, grad_out.sum(axis=0)\n"
        ),
        "grad_b_scalar": (
            "def dense_backward(x, W, grad_out):\n    return grad_out @ W.T, x.T @ grad_out, grad_out.sum()\n"
        ),
    },
    "task3_check": {
        "global_max_shift": (
            "def softmax_cross_entropy(logits, labels):\n"
            "    n = len(logits)\n"
            "    e = np.exp(logits - logits.max())\n"
            "    p = e / e.sum(axis=1, keepdims=True)\n"
            "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
            "    grad = p.copy()\n"
            "    grad[np.arange(n), labels] -= 1\n"
            "    return loss, grad / n\n"
        ),
        "column_fancy_index": (
            "def softmax_cross_entropy(logits, labels):\n"
            "    n = len(logits)\n"
            "    z = logits - logits.max(axis=1, keepdims=True)\n"
            "    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)\n"
            "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
            "    grad = p.copy()\n"
            "    grad[:, labels] -= 1\n"
            "    return loss, grad / n\n"
        ),
        "log_epsilon": (
            "def softmax_cross_entropy(logits, labels):\n"
            "    n = len(logits)\n"
            "    z = logits - logits.max(axis=1, keepdims=True)\n"
            "    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)\n"
            "    loss = -np.log(p[np.arange(n), labels] + 1e-12).mean()\n"
            "    grad = p.copy()\n"
            "    grad[np.arange(n), labels] -= 1\n"
            "    return loss, grad / n\n"
        ),
        "softmax_over_batch": (
            "def softmax_cross_entropy(logits, labels):\n"
            "    n = len(logits)\n"
            "    z = logits - logits.max(axis=0, keepdims=True)\n"
            "    p = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)\n"
            "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
            "    grad = p.copy()\n"
            "    grad[np.arange(n), labels] -= 1\n"
            "    return loss, grad / n\n"
        ),
        "loss_summed": (
            "def softmax_cross_entropy(logits, labels):\n"
            "    n = len(logits)\n"
            "    z = logits - logits.max(axis=1, keepdims=True)\n"
            "    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)\n"
            "    loss = -np.log(p[np.arange(n), labels]).sum()\n"
            "    grad = p.copy()\n"
            "    grad[np.arange(n), labels] -= 1\n"
            "    return loss, grad / n\n"
        ),
        "grad_not_averaged": (
            "def softmax_cross_entropy(logits, labels):\n"
            "    n = len(logits)\n"
            "    z = logits - logits.max(axis=1, keepdims=True)\n"
            "    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)\n"
            "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
            "    p[np.arange(n), labels] -= 1\n"
            "    return loss, p\n"
        ),
        "shift_in_place": (
            "def softmax_cross_entropy(logits, labels):\n"
            "    n = len(logits)\n"
            "    logits -= logits.max(axis=1, keepdims=True)\n"
            "    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)\n"
            "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
            "    p[np.arange(n), labels] -= 1\n"
            "    return loss, p / n\n"
        ),
    },
    "task4_check": {
        "logits_passed_as_gradient": (
            "def loss_and_grads(x, W, b, labels):\n"
            "    logits = dense_forward(x, W, b)\n"
            "    loss, _ = softmax_cross_entropy(logits, labels)\n"
            "    _, grad_W, grad_b = dense_backward(x, W, logits)\n"
            "    return loss, grad_W, grad_b\n"
        ),
        "returns_grad_x": (
            "def loss_and_grads(x, W, b, labels):\n"
            "    loss, g = softmax_cross_entropy(dense_forward(x, W, b), labels)\n"
            "    grad_x, grad_W, grad_b = dense_backward(x, W, g)\n"
            "    return loss, grad_x, grad_b\n"
        ),
        "forward_without_bias": (
            "def loss_and_grads(x, W, b, labels):\n"
            "    loss, g = softmax_cross_entropy(x @ W, labels)\n"
            "    _, grad_W, grad_b = dense_backward(x, W, g)\n"
            "    return loss, grad_W, grad_b\n"
        ),
        "grad_b_averaged_again": (
            "def loss_and_grads(x, W, b, labels):\n"
            "    loss, g = softmax_cross_entropy(dense_forward(x, W, b), labels)\n"
            "    _, grad_W, grad_b = dense_backward(x, W, g)\n"
            "    return loss, grad_W, grad_b / len(x)\n"
        ),
        "gradient_check_one_sided": (
            "def gradient_check(loss_and_grads, x, W, b, labels):\n"
            "    _, gW, gb = loss_and_grads(x, W, b, labels)\n"
            "    h = 1e-5\n"
            "    def numeric(P):\n"
            "        out = np.zeros_like(P)\n"
            "        base = loss_and_grads(x, W, b, labels)[0]\n"
            "        for i in np.ndindex(P.shape):\n"
            "            old = P[i]\n"
            "            P[i] = old + h\n"
            "            out[i] = (loss_and_grads(x, W, b, labels)[0] - base) / h\n"
            "            P[i] = old\n"
            "        return out\n"
            "    return rel_error(gW, numeric(W)), rel_error(gb, numeric(b))\n"
        ),
        "gradient_check_swapped": (
            "def gradient_check(loss_and_grads, x, W, b, labels):\n"
            "    _, gW, gb = loss_and_grads(x, W, b, labels)\n"
            "    f = lambda: loss_and_grads(x, W, b, labels)[0]\n"
            "    return rel_error(gb, numerical_gradient(f, b)), rel_error(gW, numerical_gradient(f, W))\n"
        ),
        "gradient_check_copied_weights": (
            "def gradient_check(loss_and_grads, x, W, b, labels):\n"
            "    _, gW, gb = loss_and_grads(x, W, b, labels)\n"
            "    W0, b0 = W.copy(), b.copy()\n"
            "    f = lambda: loss_and_grads(x, W0, b0, labels)[0]\n"
            "    return rel_error(gW, numerical_gradient(f, W)), rel_error(gb, numerical_gradient(f, b))\n"
        ),
        "gradient_check_max_error": (
            "def gradient_check(loss_and_grads, x, W, b, labels):\n"
            "    _, gW, gb = loss_and_grads(x, W, b, labels)\n"
            "    f = lambda: loss_and_grads(x, W, b, labels)[0]\n"
            "    e = max(rel_error(gW, numerical_gradient(f, W)), rel_error(gb, numerical_gradient(f, b)))\n"
            "    return e, e\n"
        ),
        "gradient_check_mean_abs_error": (
            "def gradient_check(loss_and_grads, x, W, b, labels):\n"
            "    _, gW, gb = loss_and_grads(x, W, b, labels)\n"
            "    f = lambda: loss_and_grads(x, W, b, labels)[0]\n"
            "    nW, nb = numerical_gradient(f, W), numerical_gradient(f, b)\n"
            "    return np.abs(gW - nW).mean(), np.abs(gb - nb).mean()\n"
        ),
    },
}
