"""minnet.parallel: a training batch in parts, the first here and the others in
helper processes, computes the same step as the whole batch in one part."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import warnings

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


def gradients(model):
    return {f"{i}.{key}": g.copy() for i, layer in enumerate(model.layers) for key, g in layer.grads.items()}


def one_step(model, x, y, parts, loss=softmax_cross_entropy):
    """Outputs, mean loss and gradients of one training step run in ``parts`` parts."""
    out, value = parallel.training_step(model, x, y, loss, parts)
    return out, value, gradients(model)


@pytest.fixture(autouse=True)
def no_helpers_left():
    """Each test starts without helpers and stops the ones it made."""
    parallel.stop_helpers()
    yield
    parallel.stop_helpers()
    assert multiprocessing.active_children() == [] and threads._helpers == set()


def team():
    return parallel._team


def test_most_parts_by_hand():
    lenet, loss = minnet.lenet5(), softmax_cross_entropy  # lenet's largest output: conv1's 6 x 28 x 28 = 4,704
    assert parallel.MIN_PART_NUMBERS == 60_000
    assert parallel.most_parts(lenet, (1, 28, 28), 64, loss) == 64 * 4704 // 60_000 == 5
    assert parallel.most_parts(lenet, (1, 28, 28), 16, loss) == 1
    cnn = minnet.small_cnn()  # largest: conv2's 32 x 8 x 8 = 2,048
    assert parallel.most_parts(cnn, (1, 8, 8), 16, loss) == 1
    assert parallel.most_parts(cnn, (1, 8, 8), 64, loss) == 2
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


@pytest.fixture
def steps_seen(monkeypatch):
    """(number of layers, parts) of every training step fit runs."""
    seen = []
    real = parallel.training_step

    def recording(model, x, y, loss, parts=1):
        seen.append((len(model.layers), parts))
        return real(model, x, y, loss, parts)

    monkeypatch.setattr(parallel, "training_step", recording)
    return seen


def test_most_parts_needs_a_system_that_forks_safely(monkeypatch):
    assert parallel.most_parts(minnet.lenet5(), (1, 28, 28), 64, softmax_cross_entropy) == 5
    monkeypatch.setattr(parallel, "CAN_FORK", False)  # macOS, Windows: BLAS's threads instead
    assert parallel.most_parts(minnet.lenet5(), (1, 28, 28), 64, softmax_cross_entropy) == 1


def test_fit_splits_lenet_batches_and_gives_blas_one_thread(two_cores, steps_seen):
    X, y = lenet_data(128)
    minnet.fit(minnet.lenet5(rng=0), X, y, epochs=1, batch_size=64, rng=0, verbose=False)
    assert steps_seen == [(12, 2), (12, 2)]
    assert two_cores.asked[0] == 1  # the parts have the two cores: BLAS gets one thread
    steps_seen.clear()
    minnet.fit(minnet.mlp([784, 300, 10], rng=0), X.reshape(128, -1), y, epochs=1, batch_size=64, verbose=False)
    assert steps_seen == [(3, 1), (3, 1)] and two_cores.asked[-2] == 2  # an MLP keeps BLAS's two threads


def test_a_busy_machine_gets_no_split(two_cores, monkeypatch):
    monkeypatch.setattr(threads._LoadReading, "busy_elsewhere", lambda self: True)
    with threads.blas_threads(minnet.lenet5(), (1, 28, 28), 64, most_parts=3):
        assert threads.batch_parts() == 1 and two_cores.asked == [1]


def test_fit_on_two_cores_trains_as_on_one(two_cores):
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


def test_pruned_weights_stay_zero_when_pruning_between_split_steps(two_cores, steps_seen):
    X, y = lenet_data()
    model = minnet.lenet5(rng=0)
    gradual = P.GradualPruning(P.PolynomialDecay(0.0, 0.6, 0, 6, frequency=2), P.WeightPruner())
    minnet.fit(model, X, y, epochs=2, batch_size=64, optimizer=minnet.Adam(1e-2), callbacks=[gradual], rng=0,
               verbose=False)  # fmt: skip
    assert gradual.history and {parts for _, parts in steps_seen} == {2}  # it pruned while the steps ran in parts
    for i, layer in enumerate(model.layers):
        for name, mask in layer.masks.items():
            assert not layer.params[name][~mask].any(), f"{i}.{name}"
    assert P.masked_fraction(model) == pytest.approx(0.6, abs=0.01)


def test_helpers_see_the_weights_and_masks_of_each_step():
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    one_step(model, x, y, 2)  # the helper is forked with these weights
    conv = model.layers[0]
    conv.params["W"] *= 2  # in place
    model.layers[3].params["b"] = model.layers[3].params["b"] + 1  # a new array
    conv.masks["W"] = np.arange(conv.params["W"].size).reshape(conv.params["W"].shape) % 3 > 0  # a new mask
    conv.params["W"] *= conv.masks["W"]
    out, value, grads = one_step(model, x, y, 2)
    out_whole, value_whole, grads_whole = one_step(model, x, y, 1)
    np.testing.assert_allclose(out, out_whole, rtol=1e-5, atol=1e-6)
    assert value == pytest.approx(value_whole, rel=1e-5)
    for name in grads_whole:
        np.testing.assert_allclose(grads[name], grads_whole[name], rtol=1e-4, atol=1e-6, err_msg=name)
    assert not grads["0.W"][~conv.masks["W"]].any()


def surgery(model):
    """Half of the first convolution's filters, and the Dense layer after it shrunk to match (new layers)."""
    model.layers[0], model.layers[3] = Conv2d(1, 2, 3, rng=1), Dense(2 * 26 * 26, 10, rng=1)


def retype(model):
    model.layers[1] = minnet.layers.Tanh()  # no parameters: only the layer's kind tells


def restride(model):
    model.layers[0].stride = 2  # a setting changed in place: the shapes of the parameters stay
    model.layers[3] = Dense(4 * 13 * 13, 10, rng=1)


@pytest.mark.parametrize("change", [surgery, retype, restride])
def test_helpers_start_anew_when_the_model_changes_structure(change):
    model = minnet.Sequential(Conv2d(1, 4, 3, rng=0), ReLU(), Flatten(), Dense(4 * 26 * 26, 10, rng=0))
    x, y = lenet_data(8)
    one_step(model, x, y, 2)
    first = team()
    change(model)
    out, value, grads = one_step(model, x, y, 2)
    assert team() is not first and not first.helpers  # the old helpers were stopped
    out_whole, value_whole, grads_whole = one_step(model, x, y, 1)
    np.testing.assert_allclose(out, out_whole, rtol=1e-5, atol=1e-6)
    for name in grads_whole:
        np.testing.assert_allclose(grads[name], grads_whole[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_helpers_are_kept_for_the_same_model_and_replaced_for_another():
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(16)
    y = np.minimum(y, 8)  # no nine: fails_on_a_nine below is only another loss
    one_step(model, x, y, 2)
    kept = team()
    one_step(model, x[:12], y[:12], 2)  # a smaller batch fits the same helpers
    assert team() is kept
    changes = {
        "another model": (minnet.lenet5(rng=1), x, y, softmax_cross_entropy),
        "another loss": (model, x, y, fails_on_a_nine),
        "another input dtype": (model, x.astype(np.float64), y, softmax_cross_entropy),
        "another label dtype": (model, x, y.astype(np.int32), softmax_cross_entropy),
        "a larger batch": (model, np.concatenate([x, x]), np.concatenate([y, y]), softmax_cross_entropy),
        "more parts": (model, x, y, softmax_cross_entropy, 3),
    }
    for what, (m, xx, yy, loss, *parts) in changes.items():
        one_step(m, xx, yy, *(parts or [2]), loss)
        assert team() is not kept and not kept.helpers, what
        kept = team()
    parallel.stop_helpers()
    assert team() is None and multiprocessing.active_children() == []


def fails_on_a_nine(out, y):
    if (y == 9).any():
        raise ValueError("a nine in this part")
    return softmax_cross_entropy(out, y)


@pytest.mark.parametrize("nine_at", [6, 1], ids=["in a helper's part", "in this process's part"])
def test_an_error_in_any_part_is_raised_here_after_every_part_has_finished(nine_at):
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    y_nine = np.where(np.arange(8) == nine_at, 9, 0)
    with pytest.raises(ValueError, match="a nine in this part") as raised:
        one_step(model, x, y_nine, 2, fails_on_a_nine)
    if nine_at >= 4:  # the helper's traceback is the error's cause
        assert "fails_on_a_nine" in str(raised.value.__cause__)
    kept = team()
    out, value, grads = one_step(model, x, np.minimum(y, 8), 2, fails_on_a_nine)  # no reply is left over
    assert team() is kept
    out_whole, value_whole, grads_whole = one_step(model, x, np.minimum(y, 8), 1)
    np.testing.assert_allclose(out, out_whole, rtol=1e-5, atol=1e-6)
    for name in grads_whole:
        np.testing.assert_allclose(grads[name], grads_whole[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_a_step_interrupted_while_a_helper_works_is_not_mistaken_for_the_next(monkeypatch):
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    one_step(model, x, y, 2)
    interrupted = team()

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel._Helper, "reply", interrupt)  # Ctrl-C while waiting for the helper's part
    with pytest.raises(KeyboardInterrupt):
        one_step(model, x, y, 2)
    monkeypatch.undo()
    out, value, grads = one_step(model, x + 1, y, 2)
    assert team() is not interrupted  # new helpers: the old one's late reply is never read
    out_whole, value_whole, grads_whole = one_step(model, x + 1, y, 1)
    np.testing.assert_allclose(out, out_whole, rtol=1e-5, atol=1e-6)
    for name in grads_whole:
        np.testing.assert_allclose(grads[name], grads_whole[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_a_helper_that_dies_stops_the_step_with_a_clear_error():
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    one_step(model, x, y, 2)
    helper = team().helpers[0].process
    os.kill(helper.pid, signal.SIGKILL)
    helper.join(10)
    with pytest.raises(parallel.HelperError, match=r"helper process .* stopped \(exit code -9\)"):
        one_step(model, x, y, 2)
    assert team() is None and helper.pid not in threads._helpers
    out, _, _ = one_step(model, x, y, 2)  # the next split step has new helpers
    assert out.shape == (8, 10)


def test_a_busy_team_leaves_another_threads_step_whole():
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    with parallel._team_lock:  # another thread's step holds the helpers
        out, value, grads = one_step(model, x, y, 2)
        assert team() is None
    np.testing.assert_allclose(out, one_step(model, x, y, 1)[0], rtol=0, atol=0)


def test_fit_keeps_its_helper_for_the_next_fit_of_the_model(two_cores):
    X, y = lenet_data(128)
    model = minnet.lenet5(rng=0)
    minnet.fit(model, X, y, epochs=1, batch_size=64, verbose=False)
    kept = team()
    assert kept is not None and [h.process.pid for h in kept.helpers] == sorted(threads._helpers)
    minnet.fit(model, X, y, epochs=1, batch_size=64, verbose=False)
    assert team() is kept
    del model, kept
    gc.collect()
    minnet.fit(minnet.lenet5(rng=0), X, y, epochs=1, batch_size=64, verbose=False)
    assert len(multiprocessing.active_children()) == 1  # the first model's helper was stopped


def test_no_helper_outlives_this_process(tmp_path):
    script = (
        "import numpy as np, minnet\n"
        "from minnet import parallel, threads\n"
        "x = np.zeros((8, 1, 28, 28), np.float32)\n"
        "parallel.training_step(minnet.lenet5(), x, np.zeros(8, int), minnet.losses.softmax_cross_entropy, 2)\n"
        "print(*threads._helpers)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    for _ in range(50):  # a daemon helper is stopped as the process exits
        if threads._process_seconds(pid) == 0.0 and not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}")


def test_helpers_cpu_time_counts_as_this_processs(monkeypatch):
    busy_before = threads._cpu_times()[2]
    monkeypatch.setattr(threads, "_process_seconds", lambda pid: 100.0 if pid == 12345 else 0.0)
    threads.add_helper(12345)
    try:
        assert threads._cpu_times()[2] >= busy_before + 100.0
    finally:
        threads.remove_helper(12345)
    assert threads._cpu_times()[2] < busy_before + 100.0


def test_a_helpers_cpu_time_is_read_from_the_system():
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(64)
    for _ in range(20):
        one_step(model, x, y, 2)
    pid = team().helpers[0].process.pid
    assert pid in threads._helpers and threads._process_seconds(pid) > 0
    parallel.stop_helpers()
    assert threads._process_seconds(pid) == 0.0  # gone


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
    out, _, _ = one_step(model, x, y, 2)  # with helpers of its own, not its parent's
    queue.put((out.shape, [h.process.pid for h in team().helpers]))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system")
def test_a_forked_child_splits_with_helpers_of_its_own():
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    one_step(model, x, y, 2)
    parents = [h.process.pid for h in team().helpers]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_split_in_a_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    shape, childs = queue.get(timeout=5)
    assert child.exitcode == 0 and shape == (8, 10) and childs and set(childs).isdisjoint(parents)
    out, _, grads = one_step(model, x, y, 2)  # the parent's helper still serves the parent
    assert [h.process.pid for h in team().helpers] == parents
    np.testing.assert_allclose(grads["0.W"], one_step(model, x, y, 1)[2]["0.W"], rtol=1e-4, atol=1e-6)


def test_a_fit_inside_another_fit_splits_only_what_it_may(two_cores, steps_seen):
    inner = minnet.small_cnn(image_size=28, batchnorm=True, rng=0)  # BatchNorm: never split
    X, y = lenet_data(64)

    class TrainAnotherModel(minnet.Callback):
        def on_step_end(self, model, step):
            minnet.fit(inner, X[:32], y[:32], epochs=1, batch_size=32, verbose=False)

    minnet.fit(minnet.lenet5(rng=0), X, y, epochs=1, batch_size=64, callbacks=[TrainAnotherModel()], verbose=False)
    assert steps_seen == [(12, 2), (len(inner.layers), 1)]  # the outer LeNet-5 in two parts, the inner network whole


def test_a_system_that_refuses_a_helper_trains_unsplit_with_one_warning(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")  # fork's EAGAIN: too many processes

    monkeypatch.setattr(parallel._Helper, "start", refuse)
    monkeypatch.setattr(parallel, "_cannot_start", False)
    model = minnet.lenet5(rng=0)
    x, y = lenet_data(8)
    with pytest.warns(RuntimeWarning, match=r"could not start a helper process .*Resource temporarily unavailable"):
        out, value, grads = one_step(model, x, y, 2)
    out_whole, value_whole, grads_whole = one_step(model, x, y, 1)
    np.testing.assert_array_equal(out, out_whole)  # the step ran whole
    assert value == value_whole and team() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only
        one_step(model, x, y, 2)
