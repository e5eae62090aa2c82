"""Checks for exercise 01, a network from scratch: a Dense layer's forward and
backward pass, softmax cross-entropy, and a gradient check of the three together.

Every check builds float64 inputs from ``seed``, calls the learner's function,
compares it with ``minnet`` (the reference) and, when it differs, compares it with
the usual wrong answers to name the likely mistake. ``shape`` lets a hidden test
run the same check on other sizes.

``call_keeping_inputs``, ``matches`` and ``first_mistake`` are shared with the
checks of exercises 03 and 04.
"""

from __future__ import annotations

import numpy as np

from minnet.gradcheck import norm_rel_error, numerical_gradient
from minnet.layers import Dense
from minnet.losses import softmax
from minnet.losses import softmax_cross_entropy as reference_loss

from .. import feedback
from ..feedback import CheckFailed
from .common import RANDOM_CASES, agrees_on_random_cases, call_keeping_inputs, first_mistake, with_earlier_tasks

GRADIENT_TOLERANCE = 1e-6  # the check's own comparison, whole arrays
# what the learner's gradient_check must report: elementwise rel_error is noisier (an entry near 0
# turns rounding noise into a ratio), so "small" has a margin; a real bug gives ~0.3 or more
REPORTED_SMALL, REPORTED_LARGE = 1e-5, 1e-2


def _inputs(seed: int, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x (N, in), W (in, out), b (out,) and grad_out (N, out), float64."""
    n, n_in, n_out = (int(s) for s in shape)
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((n, n_in))
    W = gen.standard_normal((n_in, n_out))
    b = gen.standard_normal(n_out) + 1.0  # clearly non-zero, so a missing bias shows
    grad_out = gen.standard_normal((n, n_out))
    return x, W, b, grad_out


def _shapes_to_try(shape) -> list[tuple[int, int, int]]:
    """A square (N, in, in) first, where a W/W.T mix-up runs without a shape error
    and can be recognised by its values, then the requested (N, in, out)."""
    n, n_in, _ = (int(s) for s in shape)
    return [(n, n_in, n_in), tuple(int(s) for s in shape)]


def _reference_layer(W, b, x) -> Dense:
    """A float64 ``minnet.Dense`` holding W and b, after a forward pass on x."""
    layer = Dense(W.shape[0], W.shape[1], dtype=np.float64)
    layer.params["W"], layer.params["b"] = W, b
    layer.forward(x)
    return layer


def _call_layer_fn(fn, shape_hint: str, **args):
    """``call_keeping_inputs``, with a matmul's shape error turned into a hint."""
    try:
        return call_keeping_inputs(fn, **args)
    except ValueError as exc:
        raise CheckFailed(
            f"`{getattr(fn, '__name__', 'your function')}` raised ValueError: {exc}. {shape_hint}"
        ) from exc


# -- task 1 ------------------------------------------------------------------------------------------


def check_dense_forward(dense_forward, seed: int = 0, shape=(4, 5, 3)) -> None:
    """``dense_forward(x, W, b)`` equals ``x @ W + b`` for x (N, in), W (in, out), b (out,)."""
    for n, n_in, n_out in _shapes_to_try(shape):
        x, W, b, _ = _inputs(seed, (n, n_in, n_out))
        expected = _reference_layer(W, b, x).forward(x)
        y = _call_layer_fn(
            dense_forward,
            f"With x of shape {x.shape} and W of shape {W.shape}, `x @ W` has shape ({n}, {n_out}); "
            "`W @ x`, `x @ W.T` or `x.T @ W` do not line up.",
            x=x,
            W=W,
            b=b,
        )
        if isinstance(y, np.ndarray) and n != n_out and y.shape == (n_out, n):
            raise CheckFailed(
                f"the output has shape {y.shape}, the transpose of ({n}, {n_out}): one row per example, "
                "so compute `x @ W + b` (not `W.T @ x.T`)."
            )
        feedback.expect_array(y, "the output of dense_forward", shape=(n, n_out), dtype_kind="f")
        hint = first_mistake(
            y,
            expected,
            [
                (x @ W, "It equals `x @ W`: you forgot to add the bias b."),
                (
                    x @ W.T + b if n_in == n_out else None,
                    "It equals `x @ W.T + b`: W has shape (in, out) already, use it as it is.",
                ),
                (x @ W - b, "It equals `x @ W - b`: add the bias, do not subtract it."),
                (np.maximum(expected, 0), "It equals ReLU(x @ W + b): a Dense layer has no activation, leave it out."),
            ],
        )
        feedback.expect(hint is None, f"dense_forward gives the wrong values. {hint}")
        feedback.expect_close(y, expected, "the output of dense_forward", "It should be `x @ W + b`.")
    n = agrees_on_random_cases(dense_forward, _reference_dense_forward, _random_layers(seed, "b"), "dense_forward")
    feedback.passed(f"dense_forward: right for (N, in, out) = {tuple(shape)}, a square W and {n} random cases")


# -- task 2 ------------------------------------------------------------------------------------------


def _unpack(result, fn_name: str, names: tuple[str, ...]):
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"a {type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise CheckFailed(f"`{fn_name}` should return a tuple ({', '.join(names)}), got {got}")
    return result


def check_dense_backward(dense_backward, seed: int = 0, shape=(4, 5, 3)) -> None:
    """``dense_backward(x, W, grad_out)`` returns ``(grad_out @ W.T, x.T @ grad_out, grad_out.sum(axis=0))``."""
    for n, n_in, n_out in _shapes_to_try(shape):
        x, W, b, g = _inputs(seed, (n, n_in, n_out))
        layer = _reference_layer(W, b, x)
        exp_x = layer.backward(g)
        exp_W, exp_b = layer.grads["W"], layer.grads["b"]
        result = _call_layer_fn(
            dense_backward,
            f"Shapes: x {x.shape}, W {W.shape}, grad_out {g.shape}. grad_x = grad_out @ W.T ({n}, {n_in}), "
            f"grad_W = x.T @ grad_out ({n_in}, {n_out}), grad_b = grad_out summed over the batch ({n_out},).",
            x=x,
            W=W,
            grad_out=g,
        )
        grad_x, grad_W, grad_b = _unpack(result, "dense_backward", ("grad_x", "grad_W", "grad_b"))

        hint = first_mistake(
            grad_W,
            exp_W,
            [
                (exp_W.T, "grad_W is transposed: use `x.T @ grad_out`, which has W's shape (in, out)."),
                (
                    exp_W / n,
                    "grad_W is divided by N: grad_out is already the gradient of the MEAN loss, so "
                    "`x.T @ grad_out` is all there is (the 1/N lives in the loss).",
                ),
                (-exp_W, "grad_W has the wrong sign: it is `x.T @ grad_out`, no minus."),
                (x @ g.T if n_in == n_out else None, "grad_W = x @ grad_out.T is not it: use `x.T @ grad_out`."),
            ],
        )
        feedback.expect(hint is None, hint or "")
        feedback.expect_array(grad_W, "grad_W", shape=W.shape, dtype_kind="f")
        feedback.expect_close(grad_W, exp_W, "grad_W", "It should be `x.T @ grad_out` (shape (in, out), like W).")

        hint = first_mistake(
            grad_b,
            exp_b,
            [
                (
                    g,
                    f"grad_b has shape {g.shape}: it is not summed over the batch. Every example adds to the "
                    "bias gradient: `grad_out.sum(axis=0)`.",
                ),
                (
                    g.sum(),
                    "grad_b is one number: you summed over everything. Sum over the batch axis only: "
                    "`grad_out.sum(axis=0)`, one entry per output.",
                ),
                (g.sum(axis=1), "grad_b is summed over the wrong axis (the outputs): use `grad_out.sum(axis=0)`."),
                (
                    exp_b / n,
                    "grad_b is the mean over the batch: use the sum, `grad_out.sum(axis=0)` "
                    "(the 1/N is already in grad_out).",
                ),
            ],
        )
        feedback.expect(hint is None, hint or "")
        feedback.expect_array(grad_b, "grad_b", shape=(n_out,), dtype_kind="f")
        feedback.expect_close(grad_b, exp_b, "grad_b", "It should be `grad_out.sum(axis=0)`.")

        hint = first_mistake(
            grad_x,
            exp_x,
            [
                (g @ W if n_in == n_out else None, "grad_x uses W where it needs W.T: `grad_out @ W.T`."),
                (exp_x.T, "grad_x is transposed: `grad_out @ W.T` has x's shape (N, in)."),
                (-exp_x, "grad_x has the wrong sign: it is `grad_out @ W.T`, no minus."),
                (exp_x / n, "grad_x is divided by N: `grad_out @ W.T` is all there is."),
            ],
        )
        feedback.expect(hint is None, hint or "")
        feedback.expect_array(grad_x, "grad_x", shape=x.shape, dtype_kind="f")
        feedback.expect_close(grad_x, exp_x, "grad_x", "It should be `grad_out @ W.T` (shape (N, in), like x).")
    n = agrees_on_random_cases(
        dense_backward, _reference_dense_backward, _random_layers(seed, "grad_out"), "dense_backward"
    )
    feedback.passed(
        f"dense_backward: grad_x, grad_W, grad_b right for (N, in, out) = {tuple(shape)} and {n} random cases"
    )


# -- task 3 ------------------------------------------------------------------------------------------


def _loss_inputs(seed: int, shape) -> tuple[np.ndarray, np.ndarray]:
    n, c = (int(s) for s in shape)
    gen = np.random.default_rng(seed)
    return 2.0 * gen.standard_normal((n, c)), gen.integers(0, c, size=n)


def _check_loss_on(fn, logits: np.ndarray, labels: np.ndarray, case: str) -> None:
    """One batch: the learner's (loss, grad) against the library, with diagnoses."""
    n, c = logits.shape
    expected_loss, expected_grad = reference_loss(logits, labels)
    result = call_keeping_inputs(fn, logits=logits, labels=labels)
    loss, grad = _unpack(result, "softmax_cross_entropy", ("loss", "grad"))
    if np.ndim(loss) != 0:
        shape = np.shape(loss)
        hint = "one loss per example: return their mean, a single number" if shape == (n,) else "a single number"
        raise CheckFailed(f"the loss should be a single number (the mean over the batch), got shape {shape}: {hint}.")
    loss = float(np.asarray(loss))
    feedback.expect_array(grad, "grad", dtype_kind="f")

    if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
        if case == "large":
            raise CheckFailed(
                f"with logits around 1000 ({case} logits) you get loss={loss} and NaN/inf in the gradient: "
                "np.exp(1000) overflows. Subtract each row's maximum first (softmax does not change "
                "when you shift a row): `shifted = logits - logits.max(axis=1, keepdims=True)`."
            )
        if case == "mixed":
            raise CheckFailed(
                f"one row of logits near 0 and one near 1000 give loss={loss} and NaN/inf: you subtracted ONE "
                "maximum for the whole batch, so the small row underflows to exp(-1000) = 0. Subtract each "
                "row's own maximum: `logits.max(axis=1, keepdims=True)`."
            )
        if case == "far":
            raise CheckFailed(
                f"when the true class's logit is 1000 below the best one you get loss={loss} (expected "
                f"{expected_loss:.1f}): log(softmax) takes the log of a probability that underflowed to 0. "
                "Use log-sum-exp: loss_i = log(sum_j exp(shifted_ij)) - shifted_i,label."
            )
        raise CheckFailed(f"loss={loss} and NaN/inf in the gradient for ordinary logits: check the formula.")

    rows = np.arange(n)
    onehot = np.zeros_like(logits)
    onehot[rows, labels] = 1.0
    p = softmax(logits)
    with np.errstate(all="ignore"):
        logp = np.log(p)
    loss_mistakes = [
        (expected_loss * n, f"the loss is N = {n} times too big: you summed over the batch; take the mean."),
        (-expected_loss, "the loss has the wrong sign: cross-entropy is -log p[label], a positive number."),
        (
            float(-np.mean(logp[:, labels])),
            "the loss indexes `logits[:, labels]`, an (N, N) block: pick one "
            "entry per row with `logits[np.arange(N), labels]`.",
        ),
        (
            float(-np.mean(np.sum(logp, axis=1))),
            "the loss sums log p over every class: take only the true class's, `-log p[i, labels[i]]`.",
        ),
    ]
    grad_mistakes = [
        (
            expected_grad * n,
            f"the gradient is N = {n} times too big: divide (softmax - onehot) by N, because the loss is a mean.",
        ),
        (-expected_grad, "the gradient has the wrong sign: it is (softmax - onehot) / N, not (onehot - softmax) / N."),
        (
            p / n,
            "the gradient is softmax / N: you forgot to subtract the one-hot labels, "
            "`grad[np.arange(N), labels] -= 1` (before dividing by N).",
        ),
        (p, "the gradient is softmax: subtract the one-hot labels and divide by N."),
        (expected_grad / n, f"the gradient is divided by N twice (N = {n}): divide once."),
        (
            (p - onehot) / c if c != n else None,
            "the gradient is divided by the number of classes C: divide by the batch size N.",
        ),
    ]
    hint = first_mistake(
        np.asarray(loss), np.asarray(expected_loss), [(np.asarray(cand), h) for cand, h in loss_mistakes]
    )
    feedback.expect(hint is None, hint or "")
    feedback.expect(
        np.isclose(loss, expected_loss, rtol=1e-6, atol=1e-8),
        f"the loss is {loss:.6g}, expected {expected_loss:.6g} ({case} logits): "
        "the mean over examples of -log softmax(logits)[label].",
    )
    hint = first_mistake(grad, expected_grad, grad_mistakes)
    feedback.expect(hint is None, hint or "")
    feedback.expect_array(grad, "grad", shape=logits.shape, dtype_kind="f")
    feedback.expect_close(grad, expected_grad, "grad", "It should be (softmax(logits) - onehot(labels)) / N.")


def check_softmax_cross_entropy(softmax_cross_entropy, seed: int = 0, shape=(6, 4)) -> None:
    """``softmax_cross_entropy(logits, labels)`` returns the mean loss and its gradient,
    also for huge logits (ordinary, all near 1000, rows of different scale, true class far below)."""
    fn = softmax_cross_entropy
    logits, labels = _loss_inputs(seed, shape)
    n, c = logits.shape
    _check_loss_on(fn, logits, labels, "ordinary")
    _check_loss_on(fn, logits + 1000.0, labels, "large")
    mixed = logits.copy()
    mixed[::2] += 1000.0
    _check_loss_on(fn, mixed, labels, "mixed")
    far = logits.copy()
    far[np.arange(n), labels] -= 1000.0
    _check_loss_on(fn, far, labels, "far")
    cases = agrees_on_random_cases(fn, reference_loss, _random_logits(seed), "softmax_cross_entropy")
    feedback.passed(
        f"softmax_cross_entropy: right and stable for logits ~1000, (N, C) = {(n, c)}, and {cases} random cases"
    )


# -- task 4 ------------------------------------------------------------------------------------------


def _classifier_inputs(seed: int, shape):
    """x (N, in), W (in, C), b (C,) and labels (N,) of a one-layer softmax classifier."""
    n, n_in, c = (int(s) for s in shape)
    x, W, b, _ = _inputs(seed, (n, n_in, c))
    return x, W, b, np.random.default_rng(seed + 1).integers(0, c, size=n)


def _reference_dense_forward(x, W, b):
    return x @ W + b


def _reference_dense_backward(x, W, grad_out):
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(axis=0)


# Task 4 builds on tasks 1-3: its checks run the learner's loss_and_grads with the
# reference versions of those three, so a mistake in an earlier task costs that task only.
EARLIER_TASKS = {
    "dense_forward": _reference_dense_forward,
    "dense_backward": _reference_dense_backward,
    "softmax_cross_entropy": reference_loss,
}


def _correct_loss_and_grads(x, W, b, labels):
    loss, grad_logits = reference_loss(_reference_dense_forward(x, W, b), labels)
    _, grad_W, grad_b = _reference_dense_backward(x, W, grad_logits)
    return loss, grad_W, grad_b


@with_earlier_tasks(EARLIER_TASKS)
def check_loss_and_grads(loss_and_grads, seed: int = 0, shape=(3, 4, 5)) -> None:
    """``loss_and_grads(x, W, b, labels)`` returns the loss of softmax cross-entropy on
    ``x @ W + b`` and its gradients wrt W and b; they must agree with centred differences
    of the learner's own loss to a relative error of at most 1e-6. The relative error is
    taken over whole arrays (``norm_rel_error``), so that a gradient entry that happens to
    be ~0 cannot turn rounding noise into a large ratio."""
    n, n_in, c = (int(s) for s in shape)
    x, W, b, labels = _classifier_inputs(seed, shape)
    result = call_keeping_inputs(loss_and_grads, x=x, W=W, b=b, labels=labels)
    loss, grad_W, grad_b = _unpack(result, "loss_and_grads", ("loss", "grad_W", "grad_b"))
    expected_loss = reference_loss(x @ W + b, labels)[0]
    feedback.expect(
        np.ndim(loss) == 0 and np.isclose(float(np.asarray(loss)), expected_loss, rtol=1e-6, atol=1e-8),
        f"the loss is {loss}, expected {expected_loss:.6g}: loss_and_grads should return "
        "softmax_cross_entropy(dense_forward(x, W, b), labels)[0].",
    )

    def value():
        return float(np.asarray(call_keeping_inputs(loss_and_grads, x=x, W=W, b=b, labels=labels)[0]))

    errors = {}
    for name, param, grad in (("grad_W", W, grad_W), ("grad_b", b, grad_b)):
        numeric = numerical_gradient(value, param)
        hint = first_mistake(
            grad,
            numeric,
            [
                (
                    numeric.T if numeric.ndim == 2 else None,
                    f"{name} is transposed: it must have the shape of the parameter.",
                ),
                (
                    numeric * n,
                    f"{name} is N = {n} times too big: the loss is a mean, so divide by N once "
                    "(in softmax_cross_entropy's gradient).",
                ),
                (
                    numeric / n,
                    f"{name} is N = {n} times too small: you divided by N twice (the loss's gradient "
                    "already has the 1/N; dense_backward must not divide again).",
                ),
                (-numeric, f"{name} has the wrong sign: return the gradient itself, not the step -gradient."),
            ],
        )
        feedback.expect(hint is None, f"the gradient check fails. {hint}")
        feedback.expect_array(grad, name, shape=param.shape, dtype_kind="f")
        errors[name] = norm_rel_error(grad, numeric)
        feedback.expect(
            errors[name] <= GRADIENT_TOLERANCE,
            f"the gradient check fails for {name}: relative error {errors[name]:.1e} > {GRADIENT_TOLERANCE:g} "
            "against centred differences of your own loss. Pass the gradient of the loss wrt the LOGITS "
            "(the second thing softmax_cross_entropy returns) into dense_backward.",
        )
    cases = agrees_on_random_cases(loss_and_grads, _correct_loss_and_grads, _random_classifiers(seed), "loss_and_grads")
    feedback.passed(
        f"loss_and_grads: gradients agree with centred differences (<= {GRADIENT_TOLERANCE:g}), "
        f"(N, in, C) = {(n, n_in, c)}; {cases} random cases"
    )


def check_gradient_check(gradient_check, loss_and_grads=None, seed: int = 0, shape=(3, 4, 5)) -> None:
    """``gradient_check(loss_and_grads, x, W, b, labels) -> (err_W, err_b)``: the relative
    errors between ``loss_and_grads``'s gradients and centred differences. Small for a
    correct ``loss_and_grads``, large when the check breaks grad_W (twice too big) or
    grad_b (wrong sign). The loss_and_grads it is given is the reference one whatever
    the learner passes (the argument stays for the notebooks' calls): a mistake in the
    learner's loss_and_grads is the other check's to report."""
    loss_and_grads = _correct_loss_and_grads
    x, W, b, labels = _classifier_inputs(seed, shape)

    def errors_for(fn, label: str) -> tuple[float, float]:
        result = call_keeping_inputs(gradient_check, loss_and_grads=fn, x=x, W=W, b=b, labels=labels)
        err_W, err_b = _unpack(result, "gradient_check", ("err_W", "err_b"))
        for name, err in (("err_W", err_W), ("err_b", err_b)):
            feedback.expect(
                np.ndim(err) == 0 and np.isfinite(float(np.asarray(err))),
                f"gradient_check should return two numbers (err_W, err_b); {name} is {err!r} ({label})",
            )
        return float(np.asarray(err_W)), float(np.asarray(err_b))

    def broken_W(x, W, b, labels):
        loss, grad_W, grad_b = loss_and_grads(x, W, b, labels)
        return loss, 2 * np.asarray(grad_W), grad_b

    def broken_b(x, W, b, labels):
        loss, grad_W, grad_b = loss_and_grads(x, W, b, labels)
        return loss, grad_W, -np.asarray(grad_b)

    err_W, err_b = errors_for(loss_and_grads, "your loss_and_grads")
    feedback.expect(
        max(err_W, err_b) <= REPORTED_SMALL,
        f"gradient_check reports err_W = {err_W:.1e}, err_b = {err_b:.1e} for a correct loss_and_grads: compare "
        "the analytic gradients with `numerical_gradient(f, W)` (f takes no argument and returns the loss as a "
        "float; x, W, b are float64) using `rel_error(analytic, numeric)`.",
    )
    catch = "Compute the analytic gradients with the `loss_and_grads` passed in (the first argument), not a global one."
    for fn, broken, fine, what in (
        (broken_W, 0, 1, "grad_W twice too big"),
        (broken_b, 1, 0, "grad_b with the wrong sign"),
    ):
        errs = errors_for(fn, what)
        if errs == (0.0, 0.0):
            raise CheckFailed(
                f"given a loss_and_grads with {what}, gradient_check reports exactly 0 for both: it compares the "
                "analytic gradients with themselves. Compare them with the NUMERICAL gradients, "
                "`numerical_gradient(f, W)` and `numerical_gradient(f, b)` (centred differences of the loss)."
            )
        if errs[broken] <= REPORTED_LARGE and errs[fine] > REPORTED_LARGE:
            raise CheckFailed(
                f"given a loss_and_grads with {what}, gradient_check reports (err_W, err_b) = ({errs[0]:.1e}, "
                f"{errs[1]:.1e}): the two errors are swapped. Return (err_W, err_b) in that order."
            )
        feedback.expect(
            errs[broken] > REPORTED_LARGE,
            f"given a loss_and_grads with {what}, gradient_check reports (err_W, err_b) = ({errs[0]:.1e}, "
            f"{errs[1]:.1e}): it does not notice the bug. {catch}",
        )
        feedback.expect(
            errs[fine] <= REPORTED_SMALL,
            f"given a loss_and_grads with {what} only, gradient_check also reports a large error for the other "
            f"gradient: (err_W, err_b) = ({errs[0]:.1e}, {errs[1]:.1e}). Each error compares one gradient with "
            "the numerical gradient wrt the same parameter.",
        )

    # the same broken gradient on a loss a million times smaller: a RELATIVE error does not change
    def small_broken_W(x, W, b, labels):
        loss, grad_W, grad_b = broken_W(x, W, b, labels)
        return 1e-6 * loss, 1e-6 * np.asarray(grad_W), 1e-6 * np.asarray(grad_b)

    small = errors_for(small_broken_W, "grad_W twice too big, on a loss scaled by 1e-6")
    if small[0] <= REPORTED_LARGE:
        raise CheckFailed(
            f"on the same loss scaled by 1e-6, a grad_W twice too big gets err_W = {small[0]:.1e}: your error "
            "shrinks with the size of the gradients, so it is an ABSOLUTE error. Divide by their size: "
            "rel_error(a, b) = max |a - b| / (|a| + |b|)."
        )
    feedback.passed("gradient_check: tiny errors for your gradients, large ones for a broken grad_W or grad_b")


# -- random cases ---------------------------------------------------------------------------------


def _random_layers(seed: int, third: str):
    """x (N, in), W (in, out) and a third array: the bias b (out,) or grad_out (N, out);
    sizes 1..7, float64 and float32 alternately."""
    gen = np.random.default_rng([seed, 101])
    for i in range(RANDOM_CASES):
        n, n_in, n_out = (int(v) for v in gen.integers(1, 8, size=3))
        dtype = (np.float64, np.float32)[i % 2]
        last = gen.standard_normal(n_out if third == "b" else (n, n_out))
        yield {
            "x": gen.standard_normal((n, n_in)).astype(dtype),
            "W": gen.standard_normal((n_in, n_out)).astype(dtype),
            third: last.astype(dtype),
        }


def _random_logits(seed: int):
    """Logits (N, C) whose rows sit at different heights (0 or +-1000) and scales."""
    gen = np.random.default_rng([seed, 102])
    for _ in range(RANDOM_CASES):
        n, c = int(gen.integers(1, 9)), int(gen.integers(2, 8))
        heights = gen.choice([0.0, 1000.0, -1000.0], size=(n, 1))
        logits = gen.standard_normal((n, c)) * gen.choice([0.1, 1.0, 10.0]) + heights
        yield {"logits": logits, "labels": gen.integers(0, c, n)}


def _random_classifiers(seed: int):
    gen = np.random.default_rng([seed, 103])
    for _ in range(RANDOM_CASES):
        n, n_in, c = int(gen.integers(1, 7)), int(gen.integers(1, 6)), int(gen.integers(2, 6))
        yield {
            "x": gen.standard_normal((n, n_in)),
            "W": gen.standard_normal((n_in, c)),
            "b": gen.standard_normal(c),
            "labels": gen.integers(0, c, n),
        }


feedback.guard_checks(globals())
