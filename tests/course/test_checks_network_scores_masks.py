"""The checks of exercises 01, 03 and 04: they pass a correct answer (also in the
hidden variants the notebooks run), report a stub as not done, and reject every
plausible wrong answer in tests/course/wrong_answers with the feedback meant for it."""

import inspect

import numpy as np
import pytest
from test_feedback_display import all_reference_lines
from wrong_answers import ex01 as w01
from wrong_answers import ex03 as w03
from wrong_answers import ex04 as w04

from minnet_course import feedback
from minnet_course.checks import ex01, ex03, ex04

REFERENCE = all_reference_lines()


def check_gradient_check(gradient_check, **kwargs):
    """ex01's gradient_check check, run on the correct loss_and_grads."""
    ex01.check_gradient_check(gradient_check, w01.correct_loss_and_grads, **kwargs)


# (check, correct answer, keyword arguments of the hidden variants in the solution notebooks)
CORRECT = [
    (
        ex01.check_dense_forward,
        w01.correct_dense_forward,
        [{"seed": 7, "shape": (5, 13, 4)}, {"seed": 8, "shape": (1, 3, 2)}],
    ),
    (
        ex01.check_dense_backward,
        w01.correct_dense_backward,
        [{"seed": 7, "shape": (6, 3, 8)}, {"seed": 8, "shape": (1, 2, 5)}],
    ),
    (
        ex01.check_softmax_cross_entropy,
        w01.correct_softmax_cross_entropy,
        [{"seed": 7, "shape": (9, 10)}, {"seed": 8, "shape": (1, 2)}],
    ),
    (ex01.check_loss_and_grads, w01.correct_loss_and_grads, [{"seed": 7, "shape": (5, 3, 4)}]),
    (check_gradient_check, w01.correct_gradient_check, [{"seed": 7, "shape": (5, 3, 4)}]),
    (
        ex03.check_magnitude_scores,
        w03.correct_magnitude_scores,
        [{"seed": 7, "shape": (4, 3, 3, 3)}, {"seed": 8, "shape": (7,)}],
    ),
    (
        ex03.check_taylor_scores,
        w03.correct_taylor_scores,
        [{"seed": 7, "shape": (4, 3, 3, 3)}, {"seed": 8, "shape": (6, 9)}],
    ),
    (ex03.check_apoz_scores, w03.correct_apoz_scores, [{"seed": 7, "shape": (50, 8)}, {"seed": 8, "shape": (3, 7)}]),
    (ex03.check_local_masks, w03.correct_local_masks, [{"seed": 7, "shapes": ((8, 6), (6, 3), (3, 2))}]),
    (ex03.check_global_masks, w03.correct_global_masks, [{"seed": 7, "shapes": ((8, 6), (6, 3), (3, 2))}]),
    (
        ex04.check_unstructured_mask,
        w04.correct_unstructured_mask,
        [{"seed": 7, "shape": (4, 3, 3, 3)}, {"seed": 8, "shape": (9,)}],
    ),
    (ex04.check_compose, w04.correct_compose, [{"seed": 7, "shape": (8, 6)}, {"seed": 8, "shape": (2, 3, 4)}]),
    (
        ex04.check_masked_sgd_momentum_step,
        w04.correct_masked_sgd_momentum_step,
        [{"seed": 7, "shape": (6, 3, 2), "lr": 0.05, "momentum": 0.99, "steps": 100}],
    ),
    # other correct ways to write the step: in place, or masking the velocity instead of re-masking W
    (ex04.check_masked_sgd_momentum_step, w04.correct_step_in_place, []),
    (ex04.check_masked_sgd_momentum_step, w04.correct_step_masks_velocity, []),
]

# (check, wrong answer, a distinctive part of the feedback meant for its mistake)
WRONG = [
    (ex01.check_dense_forward, w01.forward_no_bias, "forgot to add the bias"),
    (ex01.check_dense_forward, w01.forward_uses_W_T, "It equals `x @ W.T + b`"),
    (ex01.check_dense_forward, w01.forward_with_relu, "has no activation"),
    (ex01.check_dense_forward, w01.forward_transposed, "the transpose of"),
    (ex01.check_dense_forward, w01.forward_in_place, "changed its argument `x` in place"),
    (ex01.check_dense_backward, w01.backward_grad_W_transposed, "grad_W is transposed"),
    (ex01.check_dense_backward, w01.backward_grad_b_not_summed, "not summed over the batch"),
    (ex01.check_dense_backward, w01.backward_grad_x_uses_W, "grad_x uses W where it needs W.T"),
    (ex01.check_dense_backward, w01.backward_divides_by_n, "grad_W is divided by N"),
    (ex01.check_dense_backward, w01.backward_grad_b_mean, "grad_b is the mean over the batch"),
    (ex01.check_softmax_cross_entropy, w01.loss_unstable, "np.exp(1000) overflows"),
    (ex01.check_softmax_cross_entropy, w01.loss_global_max, "ONE maximum for the whole batch"),
    (ex01.check_softmax_cross_entropy, w01.loss_log_of_softmax, "underflowed to 0"),
    (ex01.check_softmax_cross_entropy, w01.loss_not_divided_by_n, "the loss is N = 6 times too big"),
    (ex01.check_softmax_cross_entropy, w01.loss_grad_not_divided_by_n, "the gradient is N = 6 times too big"),
    (ex01.check_softmax_cross_entropy, w01.loss_wrong_sign_grad, "the gradient has the wrong sign"),
    (ex01.check_softmax_cross_entropy, w01.loss_no_onehot, "forgot to subtract the one-hot labels"),
    (ex01.check_softmax_cross_entropy, w01.loss_wrong_indexing, "logits[np.arange(N), labels]"),
    (ex01.check_softmax_cross_entropy, w01.loss_per_example, "one loss per example"),
    (ex01.check_softmax_cross_entropy, w01.loss_in_place, "changed its argument `logits` in place"),
    (ex01.check_loss_and_grads, w01.grads_divided_twice, "divided by N twice"),
    (ex01.check_loss_and_grads, w01.grads_wrong_sign, "grad_W has the wrong sign"),
    (ex01.check_loss_and_grads, w01.grads_from_logits, "gradient of the loss wrt the LOGITS"),
    (ex01.check_loss_and_grads, w01.grads_transposed, "grad_W is transposed"),
    (check_gradient_check, w01.gradcheck_ignores_argument, "it does not notice the bug"),
    (check_gradient_check, w01.gradcheck_swapped, "the two errors are swapped"),
    (check_gradient_check, w01.gradcheck_against_itself, "compares the analytic gradients with themselves"),
    (check_gradient_check, w01.gradcheck_absolute_error, "it is an ABSOLUTE error"),
    (check_gradient_check, w01.gradcheck_analytic_twice, "compares the analytic gradients with themselves"),
    (ex03.check_magnitude_scores, w03.magnitude_signed, "The scores equal W itself"),
    (ex03.check_magnitude_scores, w03.magnitude_negated, "The scores are -|w|"),
    (ex03.check_magnitude_scores, w03.magnitude_flattened, "keep W's shape"),
    (ex03.check_magnitude_scores, w03.magnitude_in_place, "changed its argument `W` in place"),
    (ex03.check_taylor_scores, w03.taylor_no_abs, "w * g without the absolute value"),
    (ex03.check_taylor_scores, w03.taylor_gradient_only, "the gradient magnitude alone"),
    (ex03.check_taylor_scores, w03.taylor_abs_of_w_only, "The scores are |w| * g"),
    (ex03.check_taylor_scores, w03.taylor_matmul, "should have shape (5, 4)"),
    (ex03.check_apoz_scores, w03.apoz_not_complemented, "The score is 1 - APoZ"),
    (ex03.check_apoz_scores, w03.apoz_wrong_axis, "average over the batch (axis 0)"),
    (ex03.check_apoz_scores, w03.apoz_counts, "divide by the batch size"),
    (ex03.check_apoz_scores, w03.apoz_mean_activation, "The scores are the mean activation"),
    (ex03.check_local_masks, w03.local_largest, "it prunes the LARGEST scores"),
    (ex03.check_local_masks, w03.local_floor, "you rounded with floor or int()"),
    (ex03.check_local_masks, w03.local_inverted, "the mask of the PRUNED entries"),
    (ex03.check_local_masks, w03.local_unstable_ties, "among EQUAL scores"),
    (ex03.check_local_masks, w03.local_threshold, "a threshold cannot cut at exactly k"),
    (ex03.check_local_masks, w03.local_is_global, "local_masks ranked all layers together"),
    (ex03.check_global_masks, w03.global_is_local, "global_masks ranked each layer on its own"),
    (ex03.check_global_masks, w03.global_ceil, "you rounded with ceil"),
    (ex03.check_global_masks, w03.global_keeps_amount, "the share to PRUNE, not the share to keep"),
    (ex03.check_global_masks, w03.global_descending_tail, "among EQUAL scores"),
    (ex03.check_local_masks, w03.local_half_up, "You rounded the .5 up"),
    (ex03.check_global_masks, w03.global_half_up, "You rounded the .5 up"),
    (ex03.check_global_masks, w03.global_sorted_names, "sorted-name order"),
    (ex03.check_global_masks, w03.global_unstable_ties, "among EQUAL scores"),
    (ex04.check_unstructured_mask, w04.mask_floor, "you rounded with floor or int()"),
    (ex04.check_unstructured_mask, w04.mask_k_plus_one, "1 more than k"),
    (ex04.check_unstructured_mask, w04.mask_largest, "it prunes the LARGEST scores"),
    (ex04.check_unstructured_mask, w04.mask_true_pruned, "the mask of the PRUNED entries"),
    (ex04.check_unstructured_mask, w04.mask_int_as_fraction, "int amount is a count"),
    (ex04.check_unstructured_mask, w04.mask_type_by_value, "Decide by the type of amount"),
    (ex04.check_unstructured_mask, w04.mask_no_validation, "it should raise ValueError"),
    (ex04.check_unstructured_mask, w04.mask_unstable_ties, "among EQUAL scores"),
    (ex04.check_unstructured_mask, w04.mask_int_dtype, "should be a bool array"),
    (ex04.check_unstructured_mask, w04.mask_python_int_only, "isinstance(amount, numbers.Integral)"),
    (ex04.check_unstructured_mask, w04.mask_half_up, "You rounded the .5 up"),
    (ex04.check_compose, w04.compose_ignores_prior, "pruned weights never come back"),
    (ex04.check_compose, w04.compose_ranks_all, "the already pruned ones too"),
    (ex04.check_compose, w04.compose_amount_of_total, "amount applied to ALL entries"),
    (ex04.check_compose, w04.compose_in_place, "changed its argument `prior_mask` in place"),
    (ex04.check_masked_sgd_momentum_step, w04.step_grad_only, "you masked only the gradient"),
    (ex04.check_masked_sgd_momentum_step, w04.step_mask_before, "Mask the gradient, update, then multiply W"),
    (ex04.check_masked_sgd_momentum_step, w04.step_W_only, "the velocity of pruned weights grows"),
    (ex04.check_masked_sgd_momentum_step, w04.step_dampened, "dampened momentum"),
]


def _id(value):
    return getattr(value, "__name__", None)


@pytest.mark.parametrize("check, answer, hidden", CORRECT, ids=_id)
def test_a_correct_answer_passes_with_one_line(check, answer, hidden, capsys):
    for kwargs in [{}, *hidden]:
        check(answer, **kwargs)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(hidden)
    assert all(line.startswith(feedback.PASS_MARK + " ") for line in lines)


@pytest.mark.parametrize("check", sorted({c for c, _, _ in CORRECT}, key=_id), ids=_id)
def test_a_stub_is_reported_as_not_done(check):
    def stub(*args):
        raise NotImplementedError("replace this line with your code")

    with pytest.raises(feedback.NotDoneError, match="is not implemented yet"):
        check(stub)


@pytest.mark.parametrize("check, answer, message", WRONG, ids=_id)
def test_a_wrong_answer_is_rejected_with_its_feedback(check, answer, message):
    with pytest.raises(AssertionError) as info:
        check(answer)
    assert not isinstance(info.value, feedback.NotDoneError)
    assert message in str(info.value)
    assert not [line for line in REFERENCE if line in str(info.value)], "the feedback shows reference code"


def test_every_wrong_answer_is_tested_and_every_task_has_at_least_two():
    tested = {answer for _, answer, _ in WRONG}
    for module in (w01, w03, w04):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith(("correct_", "_")):
                assert fn in tested, f"{module.__name__}.{name} is not in WRONG"
    per_check = {}
    for check, _, _ in WRONG:
        per_check[check] = per_check.get(check, 0) + 1
    assert set(per_check) == {c for c, _, _ in CORRECT}
    assert min(per_check.values()) >= 2


def test_checks_do_not_touch_the_global_random_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    ex04.check_compose(w04.correct_compose)
    ex03.check_global_masks(w03.correct_global_masks)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_a_non_function_is_named():
    with pytest.raises(AssertionError, match="pass the function itself"):
        ex01.check_dense_forward(w01.correct_dense_forward(np.ones((1, 1)), np.ones((1, 1)), np.ones(1)))


def test_task_4_of_exercise_01_costs_nothing_for_a_mistake_in_tasks_1_to_3():
    """loss_and_grads calls the learner's earlier functions by name; its check runs it with the
    reference ones, and puts the learner's back afterwards."""
    namespace = {"np": np}
    exec(  # a notebook where dense_backward (task 2) is wrong and loss_and_grads (task 4) right
        "def dense_forward(x, W, b):\n    return x @ W + b\n"
        "def dense_backward(x, W, grad_out):\n    return grad_out @ W.T, 2 * x.T @ grad_out, grad_out.sum(0)\n"
        "def softmax_cross_entropy(logits, labels):\n    return (0.0, logits)\n"
        "def loss_and_grads(x, W, b, labels):\n"
        "    loss, g = softmax_cross_entropy(dense_forward(x, W, b), labels)\n"
        "    _, gW, gb = dense_backward(x, W, g)\n"
        "    return loss, gW, gb\n",
        namespace,
    )
    wrong_backward = namespace["dense_backward"]
    ex01.check_loss_and_grads(namespace["loss_and_grads"])
    ex01.check_gradient_check(w01.correct_gradient_check, namespace["loss_and_grads"])
    assert namespace["dense_backward"] is wrong_backward  # the learner's own function is back


def _message(check, answer) -> str:
    try:
        check(answer)
    except AssertionError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("check", sorted({c for c, _, _ in WRONG}, key=_id), ids=_id)
def test_each_diagnosis_fires_only_for_its_own_mistake(check):
    """A phrase meant for one wrong answer appears in no other wrong answer's feedback
    (of the same check) that is meant to get a different phrase."""
    entries = [(answer, phrase) for c, answer, phrase in WRONG if c is check]
    messages = {answer: _message(check, answer) for answer, _ in entries}
    for answer, phrase in entries:
        for other, other_phrase in entries:
            if other is not answer and other_phrase != phrase and phrase not in other_phrase:
                assert phrase not in messages[other], f"{other.__name__} is told {phrase!r}: {messages[other]}"
