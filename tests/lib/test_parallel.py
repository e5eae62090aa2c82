"""minnet.parallel: a training batch in parts on several threads computes the
same step as the whole batch on one."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_threads import FakeController

import minnet
from minnet import parallel, threads
from minnet import prune as P
from minnet.layers import Conv2d, Dense, Dropout, Flatten, MaxPool2d, ReLU
from minnet.losses import softmax_cross_entropy


def one_step(model, x, y, parts):
    """Outputs, mean loss and gradients of one training step run in ``parts`` parts."""
    out, value = parallel.training_step(model, x, y, softmax_cross_entropy, parts)
    return (
        out,
        value,
        {f"{i}.{key}": g.copy() for i, layer in enumerate(model.layers) for key, g in layer.grads.items()},
    )


def test_most_parts_by_hand():
    lenet, loss = minnet.lenet5(), softmax_cross_entropy  # lenet's largest output: conv1's 6 x 28 x 28 = 4,704
    assert parallel.most_parts(lenet, (1, 28, 28), 64, loss) == 64 * 4704 // 100_000 == 3
    assert parallel.most_parts(lenet, (1, 28, 28), 16, loss) == 1
    cnn = minnet.small_cnn()  # largest: conv2's 32 x 8 x 8 = 2,048
    assert parallel.most_parts(cnn, (1, 8, 8), 64, loss) == 1
    assert parallel.most_parts(cnn, (1, 8, 8), 128, loss) == 2
    assert parallel.most_parts(lenet, (1, 28, 28), 64, lambda out, y: softmax_cross_entropy(out, y)) == 1  # not a mean


@pytest.mark.parametrize(
    "model, shape",
    [
        (minnet.mlp([784, 300, 10]), (784,)),  # products only: BLAS's threads share them better
        (minnet.small_cnn(image_size=28, batchnorm=True), (1, 28, 28)),  # BatchNorm normalizes by the whole batch
        (minnet.Sequential(Conv2d(1, 8, 3), Dropout(0.5, rng=0), Flatten(), Dense(8 * 26 * 26, 10)), (1, 28, 28)),
        (minnet.small_resnet(), (1, 8, 8)),  # a Residual block and its BatchNorms
        (minnet.Sequential(type("MyConv", (Conv2d,), {})(1, 8, 3), Flatten(), Dense(8 * 26 * 26, 10)), (1, 28, 28)),
    ],
    ids=["mlp", "batchnorm", "dropout", "residual", "subclass"],
)
def test_what_is_never_split(model, shape):
    assert parallel.most_parts(model, shape, 4096, softmax_cross_entropy) == 1


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 9),
    parts=st.integers(2, 4),
    channels=st.integers(1, 3),
    filters=st.integers(1, 4),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    pool=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_parts_compute_the_step_of_the_whole_batch(
    batch, parts, channels, filters, kernel, stride, padding, pool, seed
):
    gen = np.random.default_rng(seed)
    conv = Conv2d(channels, filters, kernel, stride=stride, padding=padding, rng=gen)
    layers = [conv, ReLU()] + ([MaxPool2d(2)] if pool else [])
    body = minnet.Sequential(*layers)
    features = int(np.prod(body.output_shapes((channels, 7, 7))[-1]))
    model = minnet.Sequential(*layers, Flatten(), Dense(features, 5, rng=gen))
    conv.masks["W"] = gen.random(conv.params["W"].shape) < 0.7
    conv.params["W"] *= conv.masks["W"]
    x = gen.standard_normal((batch, channels, 7, 7)).astype(np.float32)
    y = gen.integers(0, 5, batch)
    out_whole, value_whole, grads_whole = one_step(model, x, y, 1)
    out_parts, value_parts, grads_parts = one_step(model, x, y, parts)
    assert value_parts == pytest.approx(value_whole, rel=1e-5)
    # BLAS may take another kernel for fewer rows (a matrix-vector product for one): float32 rounding apart
    np.testing.assert_allclose(out_parts, out_whole, rtol=1e-5, atol=1e-6)
    assert grads_parts.keys() == grads_whole.keys()
    for name in grads_whole:  # sums in another order: equal up to float32 rounding
        np.testing.assert_allclose(grads_parts[name], grads_whole[name], rtol=1e-4, atol=1e-6, err_msg=name)
    assert not grads_parts["0.W"][~conv.masks["W"]].any()  # pruned weights get no gradient in any part
    assert all(g.dtype == np.float32 for g in grads_parts.values()) and out_parts.dtype == np.float32


def lenet_data(n=256, seed=0):
    gen = np.random.default_rng(seed)
    return gen.standard_normal((n, 1, 28, 28)).astype(np.float32), gen.integers(0, 10, n)


@pytest.fixture
def two_cores(monkeypatch):
    """fit on a machine with two idle cores, whatever this one is doing."""
    controller = FakeController(num_threads=2)
    monkeypatch.setattr(threads, "_get_controller", lambda: controller)
    monkeypatch.setattr(threads, "_setting", "auto")
    monkeypatch.setattr(threads._LoadReading, "busy_elsewhere", lambda self: False)
    return controller


def test_fit_splits_lenet_batches_and_gives_blas_one_thread(two_cores, monkeypatch):
    seen = []
    real = parallel.training_step
    monkeypatch.setattr(parallel, "training_step", lambda m, x, y, loss, p: (seen.append(p), real(m, x, y, loss, p))[1])
    X, y = lenet_data(128)
    minnet.fit(minnet.lenet5(rng=0), X, y, epochs=1, batch_size=64, rng=0, verbose=False)
    assert seen == [2, 2]
    assert two_cores.asked[0] == 1  # the parts' threads are the two cores: BLAS gets one
    seen.clear()
    minnet.fit(minnet.mlp([784, 300, 10], rng=0), X.reshape(128, -1), y, epochs=1, batch_size=64, verbose=False)
    assert seen == [1, 1] and two_cores.asked[-2] == 2  # an MLP keeps BLAS's two threads


def test_a_busy_machine_gets_no_split(two_cores, monkeypatch):
    monkeypatch.setattr(threads._LoadReading, "busy_elsewhere", lambda self: True)
    with threads.blas_threads(minnet.lenet5(), (1, 28, 28), 64, most_parts=3):
        assert threads.batch_parts() == 1 and two_cores.asked == [1]


def test_fit_on_two_threads_trains_as_on_one(two_cores):
    X, y = lenet_data()
    models = {}
    for setting in ("auto", 1):
        minnet.set_num_threads(setting)
        models[setting] = minnet.lenet5(rng=0)
        history = minnet.fit(models[setting], X, y, epochs=2, batch_size=64, optimizer=minnet.SGD(0.05), rng=1,
                             verbose=False)  # fmt: skip
        models[setting].history = history
    minnet.set_num_threads("auto")
    for (name, split), (_, whole) in zip(models["auto"].named_parameters(), models[1].named_parameters()):
        np.testing.assert_allclose(split, whole, rtol=1e-3, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(models["auto"].history.train_accuracy, models[1].history.train_accuracy, atol=2 / 256)


def test_pruned_weights_stay_zero_when_pruning_between_split_steps(two_cores):
    X, y = lenet_data()
    model = minnet.lenet5(rng=0)
    gradual = P.GradualPruning(P.PolynomialDecay(0.0, 0.6, 0, 6, frequency=2), P.WeightPruner())
    minnet.fit(model, X, y, epochs=2, batch_size=64, optimizer=minnet.Adam(1e-2), callbacks=[gradual], rng=0,
               verbose=False)  # fmt: skip
    assert gradual.history  # it pruned while the steps ran in parts
    for i, layer in enumerate(model.layers):
        for name, mask in layer.masks.items():
            assert not layer.params[name][~mask].any(), f"{i}.{name}"
    assert P.masked_fraction(model) == pytest.approx(0.6, abs=0.01)


def test_an_error_in_any_part_is_raised_after_every_part_has_stopped():
    finished = []

    def slow_then_done():
        threading.Event().wait(0.05)
        finished.append("worker")
        return 2

    def fails():
        raise ValueError("part 0 failed")

    with pytest.raises(ValueError, match="part 0 failed"):
        parallel._run_together([fails, slow_then_done])
    assert finished == ["worker"]  # the other part had finished before the error reached the caller
    with pytest.raises(ZeroDivisionError):
        parallel._run_together([lambda: 1, lambda: 1 / 0])
    assert parallel._run_together([lambda: 1, lambda: 2, lambda: 3]) == [1, 2, 3]


def test_the_copies_share_the_models_weights_and_masks_but_not_its_gradients(monkeypatch):
    made = []
    monkeypatch.setattr(parallel, "_copy", lambda m, real=parallel._copy: made.append(real(m)) or made[-1])
    model = minnet.lenet5(rng=0)
    out, _, _ = one_step(model, *lenet_data(8), 2)
    assert out.shape == (8, 10) and len(made) == 1
    for layer, twin in zip(model.layers, made[0].layers):
        assert twin.params is layer.params and twin.masks is layer.masks and twin.grads is not layer.grads


def test_a_loss_that_diverges_in_one_part_stops_fit_and_restores_the_model(two_cores):
    def nan_where_a_nine_is(out, y):
        value, grad = softmax_cross_entropy(out, y)
        return (float("nan") if (y == 9).any() else value), grad

    nan_where_a_nine_is.classification = nan_where_a_nine_is.mean_over_examples = True
    X, _ = lenet_data(128)
    y = np.zeros(128, dtype=int)
    y[77] = 9  # one example: one part of one batch has a NaN loss, the other parts do not
    model = minnet.lenet5(rng=0)
    before = model.state_dict()
    with pytest.raises(minnet.DivergenceError, match="the loss became nan"):
        minnet.fit(model, X, y, epochs=1, batch_size=64, loss=nan_where_a_nine_is, verbose=False)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def _split_in_a_child(queue):
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    out, _, _ = one_step(model, x, y, 2)
    queue.put(out.shape)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system")
def test_a_forked_child_can_split_after_its_parent_did():
    one_step(minnet.lenet5(rng=0), *lenet_data(8), 2)  # the parent's worker thread exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_split_in_a_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0 and queue.get(timeout=5) == (8, 10)


def test_a_fit_inside_another_fit_splits_only_what_it_may(two_cores, monkeypatch):
    seen = []
    real = parallel.training_step
    monkeypatch.setattr(
        parallel, "training_step", lambda m, x, y, loss, p: (seen.append((len(m.layers), p)), real(m, x, y, loss, p))[1]
    )
    inner = minnet.small_cnn(image_size=28, batchnorm=True, rng=0)  # BatchNorm: never split
    X, y = lenet_data(64)

    class TrainAnotherModel(minnet.Callback):
        def on_step_end(self, model, step):
            minnet.fit(inner, X[:32], y[:32], epochs=1, batch_size=32, verbose=False)

    minnet.fit(minnet.lenet5(rng=0), X, y, epochs=1, batch_size=64, callbacks=[TrainAnotherModel()], verbose=False)
    assert seen == [(12, 2), (len(inner.layers), 1)]  # the outer LeNet-5 in two parts, the inner network whole
