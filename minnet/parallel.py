"""A training step on several cores: each thread runs the forward and backward
pass of one part of the batch, and the parts' gradients are summed.

Why: a convolutional network spends most of a step in NumPy's copies and
elementwise loops (im2col, col2im, pooling, ReLU), which run on one core
whatever BLAS's thread count. NumPy lets go of Python's lock (the GIL) inside
those loops, so two Python threads can each run half the batch at the same
time. Waking a thread costs about 0.1 ms on a small virtual machine, as much
as a small layer's whole work, so the batch is split once per step rather than
inside each layer, and the threads meet once per step.

An MLP's step is almost all matrix products, which BLAS's own threads share
better, so only networks with a convolution are split
(``benchmarks/train_speed.py`` measures both ways). A split step also needs a
training forward that treats every example on its own: minnet's own layers, no
BatchNorm (it normalizes by the statistics of the whole batch) and no Dropout
(it draws its masks in batch order). ``minnet/threads.py`` decides how many
parts a step gets; on one thread (the course's setting) nothing is split.

The parts' gradients sum to the batch's gradient up to float rounding: a
network trained on two threads ends with other last digits than on one, and
under the "auto" policy whether a step is split depends on the machine's load
at the time. For numbers that repeat exactly, ``minnet.set_num_threads(1)``
(the course's notebooks run so).
"""

from __future__ import annotations

import copy
import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .layers import Conv2d, Dense, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU, Sigmoid, Tanh
from .model import Sequential

# layers whose training forward and backward treat each example on its own
PER_EXAMPLE = (Conv2d, Dense, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU, Sigmoid, Tanh)
# A part pays for its thread when its largest layer output holds this many numbers. Measured on 2 cores
# (one BLAS thread, parts against the whole batch): 65,000-75,000 per part lost 3-9% (the small CNN at
# batch 64, LeNet-5 at 32); 130,000-150,000 gained 17-21% (LeNet-5 at 64, the small CNN at 128).
MIN_PART_NUMBERS = 100_000
_pools: dict[int, ThreadPoolExecutor] = {}


def most_parts(model, example_shape: tuple, batch_size: int, loss) -> int:
    """Into how many parts ``fit`` may split a batch of ``batch_size`` examples
    of ``example_shape``: 1 unless the model is a Sequential of minnet's
    per-example layers (exact types: a subclass may keep state a copy would not
    share) with a Conv2d and the loss is a mean over examples
    (``loss.mean_over_examples``), and then as many as keep ``MIN_PART_NUMBERS``
    in each part."""
    if type(model) is not Sequential or not getattr(loss, "mean_over_examples", False):
        return 1
    kinds = [type(layer) for layer in model.layers]
    if Conv2d not in kinds or not all(kind in PER_EXAMPLE for kind in kinds):
        return 1
    largest = max(math.prod(shape) for shape in model.output_shapes(tuple(example_shape)))
    return max(1, batch_size * largest // MIN_PART_NUMBERS)


def training_step(model: Sequential, x: np.ndarray, y: np.ndarray, loss, parts: int = 1) -> tuple[np.ndarray, float]:
    """Forward pass, loss and backward pass of the training batch ``(x, y)`` in
    ``parts`` parts at the same time, one per thread (the threads meet once, at
    the end): the outputs (N, ...) and the mean loss; fills the model's
    ``grads`` (no input gradient: training never uses it). The first part runs
    on ``model`` itself (its layers keep that part's cached values), the others
    on shallow copies that share its parameters and masks but keep their own
    caches and gradients. A part whose loss is not finite skips its backward
    pass: the caller stops."""
    parts = min(parts, len(x))
    if parts == 1:  # the course's case, and a small network's: no copies, no threads, nothing to sum
        return _step(model, x, y, loss, 1)
    models = [model] + [_copy(model) for _ in range(parts - 1)]
    # Python ints: a NumPy float share would make the gradients float64
    bounds = [len(x) * i // parts for i in range(parts + 1)]
    tasks = [
        functools.partial(_step, m, x[a:b], y[a:b], loss, (b - a) / len(x))
        for m, a, b in zip(models, bounds[:-1], bounds[1:])
    ]
    results = _run_together(tasks)
    value = sum(value for _, value in results)
    if math.isfinite(value):  # else the caller stops (a part that skipped its backward has no gradients)
        _sum_gradients(models)
    return np.concatenate([out for out, _ in results]), value


def _step(model: Sequential, x: np.ndarray, y: np.ndarray, loss, share: float) -> tuple[np.ndarray, float]:
    """One part's outputs and its ``share`` of the batch's mean loss: the part's
    mean loss and gradient weighted by the part's fraction of the batch."""
    out = model.forward(x)
    value, grad = loss(out, y)
    if math.isfinite(value):
        model.backward(grad * share, input_grad=False)
    return out, value * share


def _sum_gradients(models: list) -> None:
    """Add the copies' gradients to the first model's, in part order (the same sums on every run)."""
    for layer, *copies in zip(*(m.layers for m in models)):
        for name in layer.grads:
            for other in copies:
                layer.grads[name] = layer.grads[name] + other.grads[name]


def _copy(model: Sequential) -> Sequential:
    """A Sequential of shallow copies of ``model``'s layers: the same ``params``
    and ``masks`` dicts (made anew each step, so they follow any pruning or
    loading since), their own ``grads``."""
    layers = [copy.copy(layer) for layer in model.layers]
    for layer in layers:
        layer.grads = {}
    return Sequential(*layers)


def _run_together(tasks: list) -> list:
    """Results of the zero-argument ``tasks``: the first in this thread, the
    others in worker threads at the same time. Waits for all before raising
    the first error, so no thread still writes once this returns."""
    pool = _pools.get(len(tasks) - 1)
    if pool is None:
        pool = _pools[len(tasks) - 1] = ThreadPoolExecutor(len(tasks) - 1, thread_name_prefix="minnet-batch-part")
    futures = [pool.submit(task) for task in tasks[1:]]
    try:
        first = tasks[0]()
    finally:
        for future in futures:
            future.exception()  # wait, whatever happens here
    return [first] + [future.result() for future in futures]


def _forget_pools() -> None:
    # A forked child has none of its parent's threads: a pool inherited from it would never run a task.
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools)
