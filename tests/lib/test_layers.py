"""Layers: gradients against centred differences, conv against scipy, shapes and errors."""

import numpy as np
import pytest
from scipy.signal import correlate

import minnet
from minnet.gradcheck import check_layer, rel_error

F64 = np.float64


def away_from_zero(shape, rng=0):
    """Random values with |x| >= 0.1, so ReLU's kink never sits between x +/- eps."""
    x = np.random.default_rng(rng).standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.1 * np.sign(x) + 0.1 * (x == 0), x)


LAYER_CASES = {
    "dense": (lambda: minnet.Dense(5, 4, rng=1, dtype=F64), (3, 5)),
    "conv": (lambda: minnet.Conv2d(2, 3, 3, rng=1, dtype=F64), (2, 2, 5, 5)),
    "conv stride 2 pad 1": (lambda: minnet.Conv2d(2, 3, 3, stride=2, padding=1, rng=1, dtype=F64), (2, 2, 6, 5)),
    "conv 1x1": (lambda: minnet.Conv2d(3, 2, 1, rng=1, dtype=F64), (2, 3, 4, 4)),
    "maxpool": (lambda: minnet.MaxPool2d(2), (2, 3, 6, 6)),
    "maxpool overlapping": (lambda: minnet.MaxPool2d(3, stride=2), (2, 2, 7, 7)),
    "relu": (lambda: minnet.ReLU(), (4, 6)),
    "tanh": (lambda: minnet.Tanh(), (4, 6)),
    "sigmoid": (lambda: minnet.Sigmoid(), (4, 6)),
    "flatten": (lambda: minnet.Flatten(), (2, 3, 2, 2)),
    "batchnorm 1d": (lambda: minnet.BatchNorm1d(6, dtype=F64), (5, 6)),
    "batchnorm 2d": (lambda: minnet.BatchNorm2d(3, dtype=F64), (4, 3, 3, 3)),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_backward_matches_numerical_gradient(case):
    make, shape = LAYER_CASES[case]
    layer = make()
    for value in layer.params.values():  # non-trivial gamma/beta/bias
        value += np.random.default_rng(3).normal(0, 0.3, value.shape)
    errors = check_layer(layer, away_from_zero(shape))
    assert set(errors) == {"x", *layer.params}
    assert max(errors.values()) <= 1e-6, errors


def test_batchnorm_eval_mode_gradient():
    bn = minnet.BatchNorm2d(3, dtype=F64)
    bn.forward(away_from_zero((8, 3, 2, 2)))  # move the running stats away from 0/1
    bn.training = False
    errors = check_layer(bn, away_from_zero((4, 3, 2, 2), rng=5))
    assert max(errors.values()) <= 1e-6, errors


def test_dropout_gradient_uses_the_same_mask_as_forward():
    layer = minnet.Dropout(0.5, rng=0)
    x = np.ones((200, 10))
    out = layer.forward(x)
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, out)  # d(x*m)/dx = m, and x = 1
    assert set(np.unique(out)) == {0.0, 2.0}
    assert 0.4 < np.mean(out == 0) < 0.6
    layer.training = False
    np.testing.assert_array_equal(layer.forward(x), x)


def test_conv_matches_scipy_cross_correlation():
    rng = np.random.default_rng(0)
    conv = minnet.Conv2d(3, 4, 3, stride=2, padding=1, rng=0, dtype=F64)
    conv.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 7, 6))
    out = conv.forward(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.stack(
        [
            np.stack([correlate(xp[n], conv.params["W"][o], mode="valid")[0] + conv.params["b"][o] for o in range(4)])
            for n in range(2)
        ]
    )[:, :, ::2, ::2]
    assert out.shape == (2, 4, 4, 3) == expected.shape
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_maxpool_picks_the_window_maximum():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(minnet.MaxPool2d(2).forward(x)[0, 0], [[5, 7], [13, 15]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_end_to_end(dtype):
    model = minnet.small_cnn(batchnorm=True, dtype=dtype)
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))  # float64 input is cast
    out = model.forward(x)
    assert out.dtype == dtype
    model.backward(np.ones_like(out))
    assert all(layer.grads[k].dtype == dtype for layer in model.layers for k in layer.grads)


def test_output_shape_matches_forward():
    model = minnet.lenet5()
    x = np.zeros((2, 1, 28, 28), dtype=np.float32)
    shape = (1, 28, 28)
    for layer in model.layers:
        x = layer.forward(x)
        shape = layer.output_shape(shape)
        assert x.shape[1:] == shape


def test_dense_weight_layout_column_is_output_neuron():
    dense = minnet.Dense(3, 2, rng=0)
    dense.params["W"][:, 1] = 0
    dense.params["b"][1] = 0
    out = dense.forward(np.ones((4, 3), dtype=np.float32))
    assert np.all(out[:, 1] == 0) and np.any(out[:, 0] != 0)


def test_masked_gradients_are_zero():
    dense = minnet.Dense(4, 3, rng=0)
    dense.masks["W"] = np.array([[True, False, True]] * 4)
    dense.forward(np.ones((2, 4), dtype=np.float32))
    dense.backward(np.ones((2, 3), dtype=np.float32))
    assert np.all(dense.grads["W"][:, 1] == 0) and np.all(dense.grads["W"][:, 0] != 0)


@pytest.mark.parametrize(
    "make, x, words",
    [
        (lambda: minnet.Dense(4, 3), np.zeros((2, 5)), ["Dense(in_features=4, out_features=3)", "(N, 4)", "(2, 5)"]),
        (lambda: minnet.Dense(4, 3), np.zeros((2, 2, 2)), ["(N, 4)", "(2, 2, 2)"]),
        (lambda: minnet.Conv2d(3, 4, 3), np.zeros((2, 1, 8, 8)), ["in_channels=3", "(N, 3, H, W)", "(2, 1, 8, 8)"]),
        (lambda: minnet.Conv2d(1, 4, 5), np.zeros((2, 1, 3, 3)), ["H, W >= 5", "(2, 1, 3, 3)"]),
        (lambda: minnet.BatchNorm1d(4), np.zeros((2, 5)), ["(N, 4)", "(2, 5)"]),
        (lambda: minnet.MaxPool2d(2), np.zeros((2, 4)), ["(N, C, H, W)", "(2, 4)"]),
    ],
)
def test_wrong_input_shape_names_layer_and_both_shapes(make, x, words):
    with pytest.raises(ValueError) as info:
        make().forward(x)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: minnet.Dense(0, 3), ["in_features", "0"]),
        (lambda: minnet.Dense(3, 2.5), ["out_features", "2.5"]),
        (lambda: minnet.Conv2d(1, 2, 3, padding=-1), ["padding", "-1"]),
        (lambda: minnet.Dropout(1.0), ["p", "[0, 1)", "1.0"]),
        (lambda: minnet.Dense(3, 2, dtype=np.int32), ["dtype", "int32"]),
        (lambda: minnet.mlp([4, 3, 2], activation="gelu"), ["activation", "gelu", "relu"]),
    ],
)
def test_bad_constructor_arguments(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert rel_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
    with pytest.raises(ValueError, match="same shape"):
        rel_error([1.0], [1.0, 2.0])
