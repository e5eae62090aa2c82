import numpy as np
import pytest

from minnet.gradcheck import numerical_gradient, rel_error
from minnet.losses import mse, softmax_cross_entropy


def test_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4))
    labels = np.array([0, 1, 2, 3, 1, 0])
    loss, grad = softmax_cross_entropy(logits, labels)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])), rel=1e-12)
    numeric = numerical_gradient(lambda: softmax_cross_entropy(logits, labels)[0], logits)
    assert rel_error(grad, numeric) <= 1e-6


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0], [0.0, -1000.0]], dtype=np.float32)
    loss, grad = softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isfinite(loss) and loss == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.isfinite(grad)) and grad.dtype == np.float32


def test_uniform_logits_give_log_c():
    assert softmax_cross_entropy(np.zeros((3, 10)), np.array([1, 2, 3]))[0] == pytest.approx(np.log(10))


def test_mse_value_and_gradient():
    rng = np.random.default_rng(1)
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss, grad = mse(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    assert rel_error(grad, numerical_gradient(lambda: mse(pred, target)[0], pred)) <= 1e-6


@pytest.mark.parametrize(
    "labels, error, words",
    [
        (np.array([0.0, 1.0]), TypeError, ["integer", "float64"]),
        (np.array([0, 3]), ValueError, ["[0, 3)", "3"]),
        (np.array([-1, 0]), ValueError, ["[0, 3)", "-1"]),
        (np.array([0, 1, 2]), ValueError, ["(2,)", "(3,)"]),
    ],
)
def test_bad_labels(labels, error, words):
    with pytest.raises(error) as info:
        softmax_cross_entropy(np.zeros((2, 3)), labels)
    for word in words:
        assert word in str(info.value)


def test_empty_batch_and_mismatched_mse():
    with pytest.raises(ValueError, match="N >= 1"):
        softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="same non-empty shape"):
        mse(np.zeros((2, 3)), np.zeros((3, 2)))
