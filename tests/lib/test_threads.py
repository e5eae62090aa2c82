"""minnet.threads: how many BLAS threads minnet's own work uses."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import minnet
from minnet import threads


class FakeController:
    """Records the limits minnet asks for, on a BLAS that started with 2 threads."""

    def __init__(self, num_threads=2):
        self.num_threads, self.asked = num_threads, []
        self.lib_controllers = [self]
        self.user_api, self.filepath = "blas", "libfake.so"

    def info(self):
        return [{"user_api": "blas", "num_threads": self.num_threads, "filepath": "libfake.so"}]

    def limit(self, *, limits, user_api):
        self.asked.append(limits)

    def set_num_threads(self, n):
        self.asked.append(("restored", n))


@pytest.fixture
def fake(monkeypatch):
    controller = FakeController()
    monkeypatch.setattr(threads, "_get_controller", lambda: controller)
    monkeypatch.setattr(threads, "_setting", "auto")
    return controller


def busy(monkeypatch, value: bool):
    monkeypatch.setattr(threads._LoadReading, "busy_elsewhere", lambda self: value)


def test_largest_product_by_hand():
    mlp = minnet.mlp([784, 300, 100, 10])
    assert threads.largest_product(mlp, (784,), 64) == 784 * 300 * 64
    cnn = minnet.lenet5()  # conv1: 6 filters of 1x5x5 at 28x28 positions; conv2: 16 of 6x5x5 at 10x10
    assert threads.largest_product(cnn, (1, 28, 28), 8) == max(6 * 25 * 784, 16 * 150 * 100, 400 * 120) * 8


@pytest.mark.parametrize(
    "sizes, batch, machine_busy, expected",
    [
        ([64, 128, 10], 32, False, 1),  # 262k MACs: a second thread does not pay
        ([784, 300, 10], 64, False, 2),  # 15M MACs on an idle machine: both threads
        ([784, 300, 10], 64, True, 1),  # the same beside a busy process: one
    ],
)
def test_auto_policy(fake, monkeypatch, sizes, batch, machine_busy, expected):
    busy(monkeypatch, machine_busy)
    with threads.blas_threads(minnet.mlp(sizes), (sizes[0],), batch):
        assert fake.asked[-1] == expected
    assert fake.asked[-1] == ("restored", 2)  # BLAS is left as minnet found it


def test_a_fixed_setting_and_none(fake, monkeypatch):
    busy(monkeypatch, False)
    model = minnet.mlp([784, 300, 10])
    minnet.set_num_threads(1)
    with threads.blas_threads(model, (784,), 64):
        assert fake.asked == [1]
    minnet.set_num_threads(5)  # never more than BLAS started with
    with threads.blas_threads(model, (784,), 64):
        assert fake.asked[-1] == 2
    minnet.set_num_threads(None)
    fake.asked.clear()
    with threads.blas_threads(model, (784,), 64):
        assert fake.asked == []
    assert minnet.get_num_threads() is None


def test_nested_calls_limit_once(fake, monkeypatch):
    busy(monkeypatch, False)
    model = minnet.mlp([784, 300, 10])
    with threads.blas_threads(model, (784,), 64):
        with threads.blas_threads(model, (784,), 1):
            pass
        assert fake.asked == [2]


def test_the_load_is_rechecked_while_training(fake, monkeypatch):
    busy(monkeypatch, False)
    with threads.blas_threads(minnet.mlp([784, 300, 10]), (784,), 64):
        assert fake.asked[-1] == 2
        busy(monkeypatch, True)
        threads.recheck()  # within a second: nothing happens
        assert fake.asked[-1] == 2
        monkeypatch.setattr(threads, "RECHECK_SECONDS", 0.0)
        threads.recheck()
        assert fake.asked[-1] == 1


@pytest.mark.parametrize("value, expected", [("auto", "auto"), ("3", 3), ("default", None), (" 1 ", 1)])
def test_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv("MINNET_NUM_THREADS", value)
    assert threads._from_environment() == expected


def test_bad_environment_variable(monkeypatch):
    monkeypatch.setenv("MINNET_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="MINNET_NUM_THREADS must be 'auto', a positive int or 'default', got 'two'"):
        threads._from_environment()


def test_the_load_reading_sees_another_busy_process():
    import subprocess
    import sys
    import time

    reading = threads._LoadReading()
    if reading.last is None:
        pytest.skip("no /proc/stat on this system")
    time.sleep(0.2)
    assert not reading.busy_elsewhere() or _others_busy()
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        reading.busy_elsewhere()  # start a window while the loop spins
        time.sleep(0.3)
        assert reading.busy_elsewhere()
    finally:
        loop.kill()
        loop.wait()


def _others_busy() -> bool:
    """Whether something else on this machine (a parallel test run) keeps a core busy anyway."""
    reading = threads._LoadReading()
    import time

    time.sleep(0.3)
    return reading.busy_elsewhere()


def test_fit_leaves_blas_as_it_found_it():
    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    model = minnet.mlp([784, 300, 10], rng=0)
    X = np.random.default_rng(0).standard_normal((64, 784)).astype(np.float32)
    minnet.fit(model, X, np.arange(64) % 10, epochs=1, verbose=False)
    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == before
