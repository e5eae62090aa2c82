"""A training step on several cores: helper processes each run the forward and
backward pass of one part of the batch, and the parts' gradients are summed.

Why: a convolutional network spends most of a step in NumPy's copies and
elementwise loops (im2col, col2im, pooling, ReLU), which run on one core
whatever BLAS's thread count. Threads of one Python process cannot share that
work well: they share one lock (the GIL), which NumPy lets go of inside each
loop, but a part of a LeNet-5 step makes about a hundred such calls, and on a
small virtual machine every hand-back of the lock cost tens of microseconds.
Two threads ran the step only 1.04-1.25x faster than one. Processes share no
lock: each helper is a fork of this process, made when ``fit`` first splits a
batch, and it meets this one twice per step (its part starts, its part is
done) through a pipe. The weights, its part of the batch and its gradients
pass through memory the processes share. The step then ran 1.6x faster than
on one core (``benchmarks/train_speed.py`` measures it).

An MLP's step is almost all matrix products, which BLAS's own threads share
better, so only networks with a convolution are split. A split step also needs
a training forward that treats every example on its own: minnet's own layers,
no BatchNorm (it normalizes by the statistics of the whole batch) and no
Dropout (it draws its masks in batch order). ``minnet/threads.py`` decides how
many parts a step gets; on one thread (the course's setting) nothing is split,
and no process is made. Only Linux forks safely under NumPy's libraries: on
other systems nothing is split either.

The parts' gradients sum to the batch's gradient up to float rounding: a
network trained on two cores ends with other last digits than on one, and
under the "auto" policy whether a step is split depends on the machine's load
at the time. For numbers that repeat exactly, ``minnet.set_num_threads(1)``
(the course's notebooks run so).
"""

from __future__ import annotations

import math
import mmap
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import warnings
import weakref

import numpy as np

from . import threads
from .layers import Conv2d, Dense, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU, Sigmoid, Tanh
from .model import Sequential

# layers whose training forward and backward treat each example on its own
PER_EXAMPLE = (Conv2d, Dense, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU, Sigmoid, Tanh)
# A part pays for its process when its largest layer output holds this many numbers. Measured on 2 cores
# (one BLAS thread, two parts against the whole batch, two runs): LeNet-5 at batch 16 (37,632 per part)
# ran 0.91-0.99x, at 32 (75,264) 1.12-1.31x, at 64 1.70-1.90x; the small CNN at 64 (65,536) 1.69-1.82x.
MIN_PART_NUMBERS = 60_000
# fork is how Linux starts the helpers; elsewhere system libraries (macOS's Accelerate) are not safe in a fork
CAN_FORK = sys.platform.startswith("linux")
SPIN_SECONDS = 0.002  # how long a process polls for the other's message before it sleeps until it comes
STOP_SECONDS = 5.0  # how long a helper may take to finish its part and stop before it is killed


def most_parts(model, example_shape: tuple, batch_size: int, loss) -> int:
    """Into how many parts ``fit`` may split a batch of ``batch_size`` examples
    of ``example_shape``: 1 unless the system can fork, the model is a
    Sequential of minnet's per-example layers (exact types: a subclass may
    keep state of its own) with a Conv2d and the loss is a mean over examples
    (``loss.mean_over_examples``), and then as many as keep
    ``MIN_PART_NUMBERS`` in each part."""
    if not CAN_FORK or type(model) is not Sequential or not getattr(loss, "mean_over_examples", False):
        return 1
    kinds = [type(layer) for layer in model.layers]
    if Conv2d not in kinds or not all(kind in PER_EXAMPLE for kind in kinds):
        return 1
    largest = max(math.prod(shape) for shape in model.output_shapes(tuple(example_shape)))
    return max(1, batch_size * largest // MIN_PART_NUMBERS)


def training_step(model: Sequential, x: np.ndarray, y: np.ndarray, loss, parts: int = 1) -> tuple[np.ndarray, float]:
    """Forward pass, loss and backward pass of the training batch ``(x, y)`` in
    ``parts`` parts at the same time, the first here and each other one in a
    helper process: the outputs (N, ...) and the mean loss; fills the model's
    ``grads`` (no input gradient: training never uses it). The model's layers
    keep the first part's cached values. A part whose loss is not finite skips
    its backward pass: the caller stops.

    The helpers are forked on the first split step and kept for the next ones,
    also those of a later ``fit`` of the same model; they start anew when
    another model, loss or batch shape needs them, or when the model's
    structure changed (a callback pruned a layer for the first time, surgery
    replaced one). ``stop_helpers()`` stops them; so does the end of this
    process. ``loss`` runs in the helpers too, so it must depend on its
    arguments alone (minnet's losses do). A step run while another thread's
    step holds the helpers is not split."""
    global _team
    parts = min(parts, len(x))
    if parts == 1 or _cannot_start or not _team_lock.acquire(blocking=False):  # unsplit, or the helpers are busy
        return _step(model, x, y, loss, 1)
    try:
        if _team is None or not _team.can_run(model, loss, x, y, parts):
            _stop_team()
            _team = _start_team(model, loss, x, y, parts - 1)
            if _team is None:
                return _step(model, x, y, loss, 1)
        return _team.training_step(model, x, y, parts)
    except HelperError:
        _stop_team()  # the others too; the next split step starts new ones
        raise
    finally:
        _team_lock.release()


def _start_team(model: Sequential, loss, x: np.ndarray, y: np.ndarray, n_helpers: int):
    """New helpers, or None if this system will not start them (a limit on
    processes or memory): then no step is split again, and a warning says so once."""
    global _cannot_start
    try:
        return _Team(model, loss, x, y, n_helpers)
    except OSError as error:
        _cannot_start = True
        warnings.warn(
            f"minnet could not start a helper process to train part of each batch ({error}); "
            "training goes on in this process alone",
            RuntimeWarning,
            stacklevel=4,
        )
        return None


def stop_helpers() -> None:
    """Stop the helper processes ``training_step`` keeps (each finishes a part it is working on first)."""
    with _team_lock:
        _stop_team()


def _stop_team() -> None:
    global _team
    team, _team = _team, None
    if team is not None:
        team.stop()


def _forget_team() -> None:
    # A forked child has none of its parent's threads, and its parent's helpers are not its own.
    global _team, _team_lock
    _team, _team_lock = None, threading.Lock()


_team = None  # the helpers of the latest split step, kept for the next one
_cannot_start = False  # the system refused a helper once: split no more
_team_lock = threading.Lock()  # one step at a time uses them
os.register_at_fork(after_in_child=_forget_team)


class HelperError(RuntimeError):
    """A helper process stopped without finishing its part of a batch."""


class _HelperTraceback(Exception):
    """Where an error happened in a helper process: the cause of the error re-raised here."""

    def __str__(self):
        return "\n\nin the helper process:\n" + self.args[0]


def _step(model: Sequential, x: np.ndarray, y: np.ndarray, loss, share: float) -> tuple[np.ndarray, float]:
    """One part's outputs and its ``share`` of the batch's mean loss: the part's
    mean loss and gradient weighted by the part's fraction of the batch."""
    out = model.forward(x)
    value, grad = loss(out, y)
    if math.isfinite(value):
        model.backward(grad * share, input_grad=False)
    return out, value * share


def _structure(model: Sequential) -> tuple:
    """What a helper's copy of ``model`` must have in common with it: the
    layers' kinds and settings, and their parameters' and masks' names,
    shapes and dtypes (their values are sent at every step)."""
    return tuple(
        (type(layer), tuple(layer.config().values()), _shapes(layer.params), _shapes(layer.masks))
        for layer in model.layers
    )


def _shapes(arrays: dict) -> tuple:
    return tuple((name, value.shape, value.dtype.str) for name, value in arrays.items())


def _shared_arrays(specs: dict) -> dict[object, np.ndarray]:
    """Zero-filled arrays, name -> (shape, dtype) in ``specs``, in one block of
    memory that this process shares with the processes it forks afterwards."""
    offsets, size = {}, 0
    for key, (shape, dtype) in specs.items():
        size = -(-size // 64) * 64  # each array on a cache line, as NumPy's own allocations are
        offsets[key] = size
        size += math.prod(shape) * np.dtype(dtype).itemsize
    block = mmap.mmap(-1, max(size, 1))  # anonymous and shared: a child forked later sees the same pages
    return {
        key: np.frombuffer(block, dtype, math.prod(shape), offsets[key]).reshape(shape)
        for key, (shape, dtype) in specs.items()
    }


class _Team:
    """Helper processes forked from this one for one model structure and
    batches of at most one size: the shared memory they read the weights and
    their parts from and write their gradients to, and a pipe to each."""

    def __init__(self, model: Sequential, loss, x: np.ndarray, y: np.ndarray, n_helpers: int):
        # the model weakly: a team kept for later steps must not keep a model alive
        self.model, self.loss = weakref.ref(model), loss
        self.structure, self.rows, self.unanswered = _structure(model), len(x), False
        self.example = (x.shape[1:], x.dtype, y.shape[1:], y.dtype)
        slots = {("params", i, name): p for i, layer in enumerate(model.layers) for name, p in layer.params.items()}
        slots.update({("masks", i, name): m for i, layer in enumerate(model.layers) for name, m in layer.masks.items()})
        self.weights = _shared_arrays({key: (value.shape, value.dtype) for key, value in slots.items()})
        self.helpers = []
        try:
            for _ in range(n_helpers):
                self.helpers.append(_Helper.start(model, loss, self.weights, x, y, self.helpers))
        except BaseException:
            self.stop()  # the ones that did start
            raise

    def can_run(self, model: Sequential, loss, x: np.ndarray, y: np.ndarray, parts: int) -> bool:
        return (
            self.model() is model
            and self.loss is loss
            and not self.unanswered  # a step was interrupted: a helper may still be working on it
            and parts - 1 <= len(self.helpers)
            and len(x) <= self.rows
            and (x.shape[1:], x.dtype, y.shape[1:], y.dtype) == self.example
            and _structure(model) == self.structure
        )

    def training_step(self, model: Sequential, x: np.ndarray, y: np.ndarray, parts: int) -> tuple[np.ndarray, float]:
        n = len(x)
        for (kind, i, name), shared in self.weights.items():
            np.copyto(shared, getattr(model.layers[i], kind)[name])
        bounds = [n * i // parts for i in range(parts + 1)]  # Python ints: a NumPy float share would make float64
        helpers = self.helpers[: parts - 1]
        self.unanswered = True
        for helper, start, stop in zip(helpers, bounds[1:], bounds[2:]):
            helper.give(x[start:stop], y[start:stop], (stop - start) / n)
        try:
            first = _step(model, x[: bounds[1]], y[: bounds[1]], self.loss, bounds[1] / n)
        finally:
            replies = [helper.reply() for helper in helpers]  # wait for every part, whatever happened here
            self.unanswered = False
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        results = [first] + replies
        value = sum(value for _, value in results)
        if math.isfinite(value):  # else the caller stops (a part that skipped its backward has no gradients)
            for i, layer in enumerate(model.layers):
                for name in layer.grads:  # in part order: the same sums on every run
                    for helper in helpers:
                        layer.grads[name] = layer.grads[name] + helper.grads[i, name]
        return np.concatenate([out for out, _ in results]), value

    def stop(self) -> None:
        for helper in self.helpers:
            helper.stop()
        self.helpers = []


class _Helper:
    """One helper process, the pipe to it, and its part's inputs and gradients in shared memory."""

    def __init__(self, process, pipe, inbox: dict):
        self.process, self.pipe, self.inbox = process, pipe, inbox
        self.grads = _gradients(inbox)

    @classmethod
    def start(cls, model: Sequential, loss, weights: dict, x: np.ndarray, y: np.ndarray, others: list) -> _Helper:
        """A helper forked now, for parts of up to ``len(x)`` examples like ``x`` and ``y``."""
        specs = {"x": (x.shape, x.dtype), "y": (y.shape, y.dtype)}
        specs.update({("grads", *key[1:]): (v.shape, v.dtype) for key, v in weights.items() if key[0] == "params"})
        inbox = _shared_arrays(specs)
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        args = (theirs, model, loss, weights, inbox, [other.pipe for other in others] + [ours])
        process = context.Process(target=_serve, args=args, name="minnet-batch-part", daemon=True)
        process.start()
        theirs.close()
        threads.add_helper(process.pid)  # its CPU time is ours, not a sign of a busy machine
        return cls(process, ours, inbox)

    def give(self, x: np.ndarray, y: np.ndarray, share: float) -> None:
        self.inbox["x"][: len(x)] = x
        self.inbox["y"][: len(y)] = y
        try:
            self.pipe.send((len(x), share))
        except OSError:
            pass  # it has stopped: reply() says so

    def reply(self):
        """The part's (outputs, loss share), or the error to raise for it."""
        _spin_until_ready(self.pipe)
        try:
            reply = self.pipe.recv()
        except (EOFError, OSError):
            self.process.join(STOP_SECONDS)
            return HelperError(
                f"the helper process that trained part of the batch stopped (exit code {self.process.exitcode}), "
                "so this training step could not finish. To train without helpers: minnet.set_num_threads(1)"
            )
        outcome, *result = reply
        if outcome == "failed":
            error, where = result
            error.__cause__ = _HelperTraceback(where)
            return error
        return tuple(result)

    def stop(self) -> None:
        try:
            self.pipe.send(None)
        except OSError:
            pass  # already gone
        self.pipe.close()
        self.process.join(STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        threads.remove_helper(self.process.pid)  # after join: its time is now counted as a finished child's


def _serve(pipe, model: Sequential, loss, weights: dict, inbox: dict, inherited: list) -> None:
    """A helper's life: for every part it is given, run the part's step on the
    weights the parent has just written to shared memory (its layers read them
    there) and send back ``("done", outputs, loss share)``, its gradients going
    to shared memory, or ``("failed", error, traceback)``; stop when told, or
    when the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which then stops us
    for other in inherited:  # the parent's ends of other pipes: held here, they would hide the parent's death
        other.close()
    parent = os.getppid()
    for (kind, i, name), shared in weights.items():  # the parent writes them there before every part
        getattr(model.layers[i], kind)[name] = shared
    grads = _gradients(inbox)
    while True:
        _spin_until_ready(pipe)  # the next part comes as soon as the parent has updated the weights
        while not pipe.poll(1.0):
            if os.getppid() != parent:
                return
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        rows, share = message
        try:
            out, value = _step(model, inbox["x"][:rows], inbox["y"][:rows], loss, share)
            if math.isfinite(value):
                for (i, name), grad in grads.items():
                    np.copyto(grad, model.layers[i].grads[name])
            reply = ("done", out, value)
        except BaseException as error:
            reply = ("failed", _picklable(error), traceback.format_exc())
        try:
            pipe.send(reply)
        except OSError:
            return


def _gradients(inbox: dict) -> dict:
    """(layer index, parameter name) -> the shared array a helper writes that gradient to."""
    return {key[1:]: value for key, value in inbox.items() if key[0] == "grads"}


def _spin_until_ready(pipe) -> None:
    """Poll ``pipe`` for up to ``SPIN_SECONDS`` (then the caller sleeps until a
    message comes): a sleeping process is woken 0.05-0.2 ms after the message
    arrives on a small virtual machine, and the message seldom takes longer."""
    deadline = time.monotonic() + SPIN_SECONDS
    while not pipe.poll() and time.monotonic() < deadline:
        pass


def _picklable(error: BaseException) -> BaseException:
    """``error`` if it can be sent to the parent, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
