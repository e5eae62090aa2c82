"""Optimizers: the update rules against their formulas, schedules, masks stay zero."""

import numpy as np
import pytest

import minnet
from minnet.optim import SGD, Adam, constant_schedule, cosine_schedule, step_schedule


def one_param_model(w, g):
    dense = minnet.Dense(len(w), 1, dtype=np.float64)
    dense.params["W"][:, 0] = w
    dense.grads = {"W": np.array(g, dtype=np.float64).reshape(-1, 1), "b": np.zeros(1)}
    return minnet.Sequential(dense), dense


def test_sgd_momentum_nesterov_weight_decay_formula():
    w0, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    for nesterov in (False, True):
        model, dense = one_param_model(w0, g)
        opt = SGD(lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=0.01)
        w, v = w0.copy(), np.zeros(2)
        for _ in range(3):
            opt.step(model)
            d = g + 0.01 * w
            v = 0.9 * v + d
            w = w - 0.1 * (d + 0.9 * v if nesterov else v)
        np.testing.assert_allclose(dense.params["W"][:, 0], w, rtol=1e-12)


def test_adam_formula():
    w0, g = np.array([1.0, -2.0]), np.array([0.5, -0.25])
    model, dense = one_param_model(w0, g)
    opt = Adam(lr=0.01, betas=(0.8, 0.9))
    w, m, v = w0.copy(), 0, 0
    for t in range(1, 4):
        opt.step(model)
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        w = w - 0.01 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.9**t)) + 1e-8)
    np.testing.assert_allclose(dense.params["W"][:, 0], w, rtol=1e-12)


@pytest.mark.parametrize(
    "opt",
    [
        SGD(lr=0.1, momentum=0.9, weight_decay=1e-3),
        SGD(lr=0.1, momentum=0.9, nesterov=True),
        Adam(lr=1e-2, weight_decay=1e-3),
    ],
    ids=["sgd-momentum-wd", "nesterov", "adam"],
)
def test_masked_weights_stay_exactly_zero(opt):
    rng = np.random.default_rng(0)
    model = minnet.mlp([6, 8, 3], rng=0)
    x, y = rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    # train unmasked first so that momentum / moments are non-zero everywhere
    for _ in range(5):
        model.backward(minnet.losses.softmax_cross_entropy(model.forward(x), y)[1])
        opt.step(model)
    mask = rng.random((6, 8)) > 0.5
    model.layers[0].masks["W"] = mask
    model.layers[0].params["W"] *= mask
    for _ in range(50):
        model.backward(minnet.losses.softmax_cross_entropy(model.forward(x), y)[1])
        opt.step(model)
    assert np.all(model.layers[0].params["W"][~mask] == 0.0)
    assert np.all(model.layers[0].params["W"][mask] != 0.0)


def test_momentum_revives_weights_if_only_gradients_are_masked():
    """The pitfall the course warns about: a gradient mask alone is not enough."""
    model, dense = one_param_model(np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step(model)  # builds velocity on both weights
    dense.params["W"][0] = 0
    dense.grads["W"][0] = 0  # gradient masked, but no mask attached
    opt.step(model)
    assert dense.params["W"][0, 0] != 0


def test_schedules():
    assert constant_schedule()(7) == 1
    s = step_schedule(2, 0.5)
    assert [s(e) for e in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    c = cosine_schedule(10, final_factor=0.1)
    assert (
        c(0) == pytest.approx(1)
        and c(5) == pytest.approx(0.55)
        and c(10) == pytest.approx(0.1)
        and c(20) == pytest.approx(0.1)
    )
    opt = SGD(lr=0.2, schedule=s)
    opt.set_epoch(2)
    assert opt.current_lr == pytest.approx(0.1)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: SGD(lr=-0.1), ["lr", "-0.1"]),
        (lambda: SGD(lr=float("nan")), ["lr", "nan"]),
        (lambda: SGD(lr=0.1, momentum=1.5), ["momentum", "1.5"]),
        (lambda: SGD(lr=0.1, nesterov=True), ["nesterov", "momentum"]),
        (lambda: SGD(lr=0.1, weight_decay=-1), ["weight_decay", "-1"]),
        (lambda: Adam(betas=(0.9, 1.0)), ["betas", "1.0"]),
        (lambda: SGD(lr=0.1, momentun=0.9), ["momentun"]),
        (lambda: step_schedule(0), ["step_size", "0"]),
    ],
)
def test_bad_options(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    for word in words:
        assert word in str(info.value)
