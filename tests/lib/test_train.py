"""fit/evaluate: determinism, callbacks, divergence, accuracy on digits, bad input."""

import numpy as np
import pytest

import minnet
from minnet.data import load_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits(rng=0)


def train_mlp(digits, seed=0, epochs=3, **kwargs):
    model = minnet.mlp([64, 32, 10], dropout=0.1, rng=seed)
    history = minnet.fit(
        model,
        digits.X_train,
        digits.y_train,
        epochs=epochs,
        optimizer=minnet.SGD(lr=0.05, momentum=0.9),
        validation=(digits.X_val, digits.y_val),
        rng=seed,
        verbose=False,
        **kwargs,
    )
    return model, history


def test_same_seed_gives_bit_identical_runs_without_global_state(digits):
    np.random.seed(1)
    m1, h1 = train_mlp(digits)
    np.random.seed(2)  # perturb the global state between runs: nothing may depend on it
    np.random.random(1000)
    m2, h2 = train_mlp(digits)
    for (_, a), (_, b) in zip(m1.named_parameters(), m2.named_parameters()):
        np.testing.assert_array_equal(a, b)
    assert h1.as_dict() == h2.as_dict()
    np.testing.assert_array_equal(m1.predict(digits.X_test), m2.predict(digits.X_test))
    m3, h3 = train_mlp(digits, seed=1)
    assert h3.train_loss != h1.train_loss


def test_fit_leaves_global_random_state_alone(digits):
    np.random.seed(5)
    state = np.random.get_state()
    train_mlp(digits, epochs=1)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_history_records_every_epoch(digits):
    _, history = train_mlp(digits, epochs=4)
    assert history.epoch == [1, 2, 3, 4]
    n_batches = -(-len(digits.X_train) // 64)
    assert history.step == [n_batches * e for e in (1, 2, 3, 4)]
    assert all(len(v) == 4 for v in history.as_dict().values())
    assert history.train_loss[-1] < history.train_loss[0]
    assert 0.8 < history.val_accuracy[-1] <= 1
    assert repr(history).startswith("History(4 epochs")


def test_learning_rate_schedule_is_applied_per_epoch(digits):
    model = minnet.mlp([64, 10], rng=0)
    opt = minnet.SGD(lr=0.1, schedule=minnet.step_schedule(1, 0.5))
    history = minnet.fit(model, digits.X_train, digits.y_train, epochs=3, optimizer=opt, verbose=False)
    assert history.lr == [0.1, 0.05, 0.025]
    history = minnet.fit(model, digits.X_train, digits.y_train, epochs=1, optimizer=opt, verbose=False)
    assert history.lr == [0.0125]  # the schedule continues with the same optimizer


def test_early_stopping_stops_and_restores_best(digits):
    model = minnet.mlp([64, 32, 10], rng=0)
    stopper = minnet.EarlyStopping(monitor="val_accuracy", patience=2)
    # lr 0 never improves after the first epoch: stops after 1 + patience epochs
    history = minnet.fit(
        model,
        digits.X_train,
        digits.y_train,
        epochs=20,
        optimizer=minnet.SGD(lr=0.0),
        validation=(digits.X_val, digits.y_val),
        callbacks=[stopper],
        verbose=False,
    )
    assert len(history) == 3 and stopper.best_epoch == 1


def test_early_stopping_restores_best_weights(digits):
    model = minnet.mlp([64, 32, 10], rng=0)
    stopper = minnet.EarlyStopping(monitor="val_loss", patience=1)
    snaps = [minnet.Snapshot(epoch=e) for e in range(1, 4)]
    minnet.fit(
        model,
        digits.X_train,
        digits.y_train,
        epochs=3,
        optimizer=minnet.SGD(lr=0.3, momentum=0.9),
        validation=(digits.X_val, digits.y_val),
        callbacks=[stopper, *snaps],
        verbose=False,
    )
    best = snaps[stopper.best_epoch - 1].state
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, best[name])


def test_snapshot_at_epoch_and_step(digits):
    model = minnet.mlp([64, 32, 10], rng=0)
    initial = model.state_dict()
    at0, at_step, at_epoch = minnet.Snapshot(epoch=0), minnet.Snapshot(step=5), minnet.Snapshot(epoch=1)
    minnet.fit(model, digits.X_train, digits.y_train, epochs=2, callbacks=[at0, at_step, at_epoch], verbose=False)
    np.testing.assert_array_equal(at0.state["0.W"], initial["0.W"])
    assert not np.array_equal(at_step.state["0.W"], initial["0.W"])
    assert not np.array_equal(at_step.state["0.W"], at_epoch.state["0.W"])
    assert not np.array_equal(at_epoch.state["0.W"], model.state_dict()["0.W"])
    with pytest.raises(ValueError, match="exactly one of epoch or step"):
        minnet.Snapshot(epoch=1, step=2)


def test_divergence_names_epoch_and_batch_and_restores_model(digits):
    model = minnet.mlp([64, 32, 10], rng=0)
    before = model.state_dict()
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch \d+ of \d+.*restored"):
        with np.errstate(all="ignore"):
            minnet.fit(
                model,
                digits.X_train,
                digits.y_train,
                epochs=2,
                optimizer=minnet.SGD(lr=1e6, momentum=0.9),
                verbose=False,
            )
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_mlp_and_cnn_reach_97_percent(digits):
    mlp = minnet.mlp([64, 128, 64, 10], rng=0)
    minnet.fit(
        mlp, digits.X_train, digits.y_train, epochs=25, batch_size=32, optimizer=minnet.Adam(lr=1e-3), verbose=False
    )
    assert minnet.evaluate(mlp, digits.X_test, digits.y_test).accuracy >= 0.97
    images = digits.as_images()
    cnn = minnet.small_cnn(rng=0)
    minnet.fit(
        cnn, images.X_train, images.y_train, epochs=10, batch_size=32, optimizer=minnet.Adam(lr=1e-3), verbose=False
    )
    assert minnet.evaluate(cnn, images.X_test, images.y_test).accuracy >= 0.97


def test_the_small_resnet_reaches_98_percent(digits):
    images = digits.as_images()
    model = minnet.small_resnet(rng=0)
    minnet.fit(model, images.X_train, images.y_train, epochs=10, batch_size=32, optimizer=minnet.Adam(lr=3e-3),
               rng=0, verbose=False)  # fmt: skip
    assert minnet.evaluate(model, images.X_test, images.y_test).accuracy >= 0.98


def test_evaluate_returns_accuracy_and_loss(digits):
    model = minnet.mlp([64, 10], rng=0)
    result = minnet.evaluate(model, digits.X_test, digits.y_test)
    acc, loss = result
    assert acc == pytest.approx(np.mean(model.predict(digits.X_test) == digits.y_test))
    assert loss == pytest.approx(minnet.losses.softmax_cross_entropy(model.inference(digits.X_test), digits.y_test)[0])


def test_regression_with_mse():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32)
    model = minnet.Sequential(minnet.Dense(3, 1, rng=0))
    history = minnet.fit(model, X, y, epochs=30, loss=minnet.losses.mse, optimizer=minnet.SGD(lr=0.05), verbose=False)
    assert history.train_accuracy[-1] is None
    np.testing.assert_allclose(model.layers[0].params["W"][:, 0], [1, -2, 0.5], atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"y": np.arange(10) % 3 + 0.5}, TypeError, ["integer", "float64"]),
        ({"y": np.arange(10) + 5}, ValueError, ["[0, 10)", "10"]),
        ({"y": np.arange(9)}, ValueError, ["same length", "10", "9"]),
        ({"X": np.zeros((0, 64))}, ValueError, ["non-empty"]),
        ({"X": np.zeros((10, 63))}, ValueError, ["(64,)", "(63,)", "layer 0"]),
        ({"epochs": 0}, ValueError, ["epochs", "0"]),
        ({"batch_size": -1}, ValueError, ["batch_size", "-1"]),
        ({"optimizer": "adam"}, TypeError, ["Optimizer", "str"]),
        ({"rng": "seed"}, TypeError, ["rng", "str"]),
    ],
)
def test_fit_rejects_bad_input_before_changing_the_model(kwargs, error, words):
    model = minnet.mlp([64, 10], rng=0)
    before = model.state_dict()
    args = {"X": np.zeros((10, 64), dtype=np.float32), "y": np.arange(10)}
    args.update({k: kwargs.pop(k) for k in ("X", "y") if k in kwargs})
    with pytest.raises(error) as info:
        minnet.fit(model, args["X"], args["y"], verbose=False, **kwargs)
    for word in words:
        assert word in str(info.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_progress_bar_without_ipywidgets_is_the_text_bar(monkeypatch):
    """tqdm.auto in a kernel without ipywidgets warns 'IProgress not found' on every fit; minnet avoids it."""
    import sys

    from tqdm.std import tqdm as text_bar

    from minnet.train import _progress_bar

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    assert _progress_bar() is text_bar
