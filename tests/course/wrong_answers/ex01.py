"""Exercise 01: reference-correct answers (``correct_*``) and plausible wrong ones,
each with a comment naming the mistake its check must diagnose."""

import numpy as np

# -- task 1: dense_forward ---------------------------------------------------------------


def correct_dense_forward(x, W, b):
    return x @ W + b


def forward_no_bias(x, W, b):
    # forgot the bias
    return x @ W


def forward_uses_W_T(x, W, b):
    # used W.T (as if W were (out, in), like torch's Linear)
    return x @ W.T + b


def forward_with_relu(x, W, b):
    # applied an activation inside the Dense layer
    return np.maximum(x @ W + b, 0)


def forward_transposed(x, W, b):
    # one column per example instead of one row
    return W.T @ x.T + b[:, None]


def forward_in_place(x, W, b):
    # centres its input in place: the caller's x changes
    x -= x.mean(axis=0)
    return x @ W + b


# -- task 2: dense_backward --------------------------------------------------------------


def correct_dense_backward(x, W, grad_out):
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(axis=0)


def backward_grad_W_transposed(x, W, grad_out):
    # grad_W transposed: grad_out.T @ x has shape (out, in)
    return grad_out @ W.T, grad_out.T @ x, grad_out.sum(axis=0)


def backward_grad_b_not_summed(x, W, grad_out):
    # grad_b not summed over the batch: shape (N, out)
    return grad_out @ W.T, x.T @ grad_out, grad_out


def backward_grad_x_uses_W(x, W, grad_out):
    # grad_x with W instead of W.T (only runs when W is square)
    return grad_out @ W, x.T @ grad_out, grad_out.sum(axis=0)


def backward_divides_by_n(x, W, grad_out):
    # divided grad_W by the batch size although grad_out already carries 1/N
    return grad_out @ W.T, x.T @ grad_out / len(x), grad_out.sum(axis=0)


def backward_grad_b_mean(x, W, grad_out):
    # averaged grad_b over the batch instead of summing
    return grad_out @ W.T, x.T @ grad_out, grad_out.mean(axis=0)


# -- task 3: softmax_cross_entropy -------------------------------------------------------


def correct_softmax_cross_entropy(logits, labels):
    n = len(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    loss = np.mean(log_sum - shifted[np.arange(n), labels])
    grad = np.exp(shifted - log_sum[:, None])
    grad[np.arange(n), labels] -= 1
    return loss, grad / n


def _loss_from_probabilities(p, labels):
    """-mean log p[label] and (p - onehot) / N: right for a right p, as long as no p underflows."""
    n = len(p)
    loss = -np.mean(np.log(p[np.arange(n), labels]))
    grad = p.copy()
    grad[np.arange(n), labels] -= 1
    return loss, grad / n


def loss_unstable(logits, labels):
    # not numerically stable: exp of the raw logits overflows for logits ~1000
    e = np.exp(logits)
    return _loss_from_probabilities(e / e.sum(axis=1, keepdims=True), labels)


def loss_global_max(logits, labels):
    # subtracted one maximum for the whole batch instead of each row's
    e = np.exp(logits - logits.max())
    return _loss_from_probabilities(e / e.sum(axis=1, keepdims=True), labels)


def loss_log_of_softmax(logits, labels):
    # stable softmax, but log(p) of a probability that underflows to 0
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return _loss_from_probabilities(e / e.sum(axis=1, keepdims=True), labels)


def loss_not_divided_by_n(logits, labels):
    # forgot to divide by N: summed loss and gradient
    n = len(logits)
    loss, grad = correct_softmax_cross_entropy(logits, labels)
    return loss * n, grad * n


def loss_grad_not_divided_by_n(logits, labels):
    # the loss is a mean, but the gradient forgot the 1/N
    n = len(logits)
    loss, grad = correct_softmax_cross_entropy(logits, labels)
    return loss, grad * n


def loss_wrong_sign_grad(logits, labels):
    # gradient with the wrong sign: (onehot - softmax) / N
    loss, grad = correct_softmax_cross_entropy(logits, labels)
    return loss, -grad


def loss_no_onehot(logits, labels):
    # forgot to subtract the one-hot labels from softmax
    n = len(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss, _ = correct_softmax_cross_entropy(logits, labels)
    return loss, p / n


def loss_wrong_indexing(logits, labels):
    # logits[:, labels] picks an (N, N) block instead of one entry per row
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    loss = np.mean(log_sum - shifted[:, labels])
    _, grad = correct_softmax_cross_entropy(logits, labels)
    return loss, grad


def loss_per_example(logits, labels):
    # returned the per-example losses instead of their mean
    n = len(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    _, grad = correct_softmax_cross_entropy(logits, labels)
    return log_sum - shifted[np.arange(n), labels], grad


def loss_in_place(logits, labels):
    # shifts the caller's logits in place
    logits -= logits.max(axis=1, keepdims=True)
    return correct_softmax_cross_entropy(logits, labels)


# -- task 4: loss_and_grads (gradient check) ---------------------------------------------


def correct_loss_and_grads(x, W, b, labels):
    loss, grad_logits = correct_softmax_cross_entropy(correct_dense_forward(x, W, b), labels)
    _, grad_W, grad_b = correct_dense_backward(x, W, grad_logits)
    return loss, grad_W, grad_b


def grads_divided_twice(x, W, b, labels):
    # divided by N again after the loss already did
    loss, grad_W, grad_b = correct_loss_and_grads(x, W, b, labels)
    return loss, grad_W / len(x), grad_b / len(x)


def grads_wrong_sign(x, W, b, labels):
    # returned the descent step -gradient instead of the gradient
    loss, grad_W, grad_b = correct_loss_and_grads(x, W, b, labels)
    return loss, -grad_W, -grad_b


def grads_from_logits(x, W, b, labels):
    # passed the logits (not the loss's gradient wrt the logits) into dense_backward
    logits = correct_dense_forward(x, W, b)
    loss, _ = correct_softmax_cross_entropy(logits, labels)
    _, grad_W, grad_b = correct_dense_backward(x, W, logits)
    return loss, grad_W, grad_b


def grads_transposed(x, W, b, labels):
    # returned grad_W transposed
    loss, grad_W, grad_b = correct_loss_and_grads(x, W, b, labels)
    return loss, grad_W.T, grad_b


def correct_gradient_check(loss_and_grads, x, W, b, labels):
    from minnet.gradcheck import numerical_gradient, rel_error

    _, grad_W, grad_b = loss_and_grads(x, W, b, labels)

    def loss():
        return loss_and_grads(x, W, b, labels)[0]

    return rel_error(grad_W, numerical_gradient(loss, W)), rel_error(grad_b, numerical_gradient(loss, b))


def gradcheck_ignores_argument(loss_and_grads, x, W, b, labels):
    # checks a global function instead of the loss_and_grads it is given
    return correct_gradient_check(correct_loss_and_grads, x, W, b, labels)


def gradcheck_swapped(loss_and_grads, x, W, b, labels):
    # returns (err_b, err_W)
    err_W, err_b = correct_gradient_check(loss_and_grads, x, W, b, labels)
    return err_b, err_W


def gradcheck_against_itself(loss_and_grads, x, W, b, labels):
    # compares the analytic gradients with themselves: a check that can never fail
    from minnet.gradcheck import rel_error

    _, grad_W, grad_b = loss_and_grads(x, W, b, labels)
    return rel_error(grad_W, grad_W), rel_error(grad_b, grad_b)


def gradcheck_absolute_error(loss_and_grads, x, W, b, labels):
    # the largest ABSOLUTE difference: it scales with the gradients, so a small loss hides any bug
    from minnet.gradcheck import numerical_gradient

    _, grad_W, grad_b = loss_and_grads(x, W, b, labels)

    def loss():
        return loss_and_grads(x, W, b, labels)[0]

    return (
        float(np.max(np.abs(grad_W - numerical_gradient(loss, W)))),
        float(np.max(np.abs(grad_b - numerical_gradient(loss, b)))),
    )


def gradcheck_analytic_twice(loss_and_grads, x, W, b, labels):
    # compares the analytic gradients with themselves (a second call), never with centred differences
    from minnet.gradcheck import rel_error

    _, grad_W, grad_b = loss_and_grads(x, W, b, labels)
    _, again_W, again_b = loss_and_grads(x, W, b, labels)
    return rel_error(grad_W, again_W), rel_error(grad_b, again_b)
