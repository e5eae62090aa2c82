"""Training: ``fit`` runs mini-batch training, ``evaluate`` measures a model.

history = fit(model, data.X_train, data.y_train, epochs=20,
              optimizer=Adam(lr=1e-3), validation=(data.X_val, data.y_val), rng=0)
evaluate(model, data.X_test, data.y_test).accuracy
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from . import parallel, plots
from .losses import check_labels, softmax_cross_entropy
from .model import check_sequential
from .optim import Adam, Optimizer
from .threads import batch_parts, blas_threads, recheck
from .utils import as_generator
from .validate import check_array, check_batch, check_bool, check_callable, check_choice, check_int, check_real


class DivergenceError(FloatingPointError, ValueError):
    """Training produced a NaN or infinite loss or weights; ``fit`` has put the
    model, the optimizer and the generators back as they were before it."""


class Evaluation(NamedTuple):
    """What ``evaluate`` returns: accuracy in [0, 1] (None for regression) and mean loss."""

    accuracy: float | None
    loss: float


@dataclass
class History:
    """Per-epoch records of one ``fit`` call (lists of equal length).

    ``step`` is the number of optimizer steps done at the end of each epoch;
    ``lr`` the learning rate used in it; val_* are None without validation data.
    """

    epoch: list = field(default_factory=list)
    step: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)

    def __len__(self):
        return len(self.epoch)

    def as_dict(self) -> dict:
        return {name: list(values) for name, values in self.__dict__.items()}

    def plot(self, ax=None, *, metric: str = "accuracy", title: str = "Learning curves"):
        """Plot train/validation ``metric`` ("accuracy" or "loss") per epoch."""
        metric = check_choice("metric", metric, ("accuracy", "loss"))
        train, validation = getattr(self, f"train_{metric}"), getattr(self, f"val_{metric}")
        return plots.learning_curves(self.epoch, train, validation, metric=metric, title=title, ax=ax)

    def __repr__(self):
        if not self.epoch:
            return "History(empty)"
        last = f"train loss {self.train_loss[-1]:.4f}"
        if self.val_accuracy[-1] is not None:
            last += f", val accuracy {self.val_accuracy[-1]:.4f}"
        return f"History({len(self)} epochs, last: {last})"


class Callback:
    """Hooks that ``fit`` calls. Return True from ``on_epoch_end`` to stop.
    ``needs_validation``: fit refuses to start without validation data."""

    needs_validation = False

    def on_train_begin(self, model, optimizer):
        pass

    def on_step_end(self, model, step: int):
        pass

    def on_epoch_end(self, model, epoch: int, history: History):
        return False

    def on_train_end(self, model):
        pass


class EarlyStopping(Callback):
    """Stop when the validation ``monitor`` has not improved by ``min_delta``
    for ``patience`` epochs; optionally put back the best weights at the end."""

    needs_validation = True

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0, restore_best: bool = True):
        self.monitor = check_choice("monitor", monitor, ("val_loss", "val_accuracy"))
        self.patience = check_int("patience", patience, low=1)
        self.min_delta = check_real("min_delta", min_delta, low=0)
        self.restore_best = check_bool("restore_best", restore_best)

    def on_train_begin(self, model, optimizer):
        self.best, self.best_epoch, self.best_state, self.wait = None, None, None, 0

    def on_epoch_end(self, model, epoch, history):
        value = getattr(history, self.monitor)[-1]
        if value is None:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which needs fit(..., validation=(X, y))")
        sign = -1 if self.monitor == "val_loss" else 1
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.best_state = model.state_dict() if self.restore_best else None
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self, model):
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


class Snapshot(Callback):
    """Keep a copy of the weights after ``epoch`` epochs or ``step`` optimizer
    steps (0 = before any training). Used by weight rewinding later:
    ``snap = Snapshot(epoch=1); fit(..., callbacks=[snap]); snap.state``."""

    def __init__(self, *, epoch: int | None = None, step: int | None = None):
        if (epoch is None) == (step is None):
            raise ValueError(f"give exactly one of epoch or step, got epoch={epoch!r}, step={step!r}")
        if step is None:
            epoch = check_int("epoch", epoch, low=0)
        else:
            step = check_int("step", step, low=0)
        self.epoch, self.step, self.state = epoch, step, None

    def on_train_begin(self, model, optimizer):
        if self.epoch == 0 or self.step == 0:
            self.state = model.state_dict()

    def on_step_end(self, model, step):
        if step == self.step:
            self.state = model.state_dict()

    def on_epoch_end(self, model, epoch, history):
        if epoch == self.epoch:
            self.state = model.state_dict()
        return False


def _check_data(X, y, name: str):
    X = check_batch(f"{name} inputs", X, min_ndim=2, finite=False)
    y = check_array(f"{name} labels", y, finite=False, non_empty=False)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"{name} inputs and labels must have the same length, got {len(X)} and {y.shape}")
    check_array(f"{name} inputs", X)  # NaN/inf named as such
    check_array(f"{name} labels", y)
    return X, y


def check_training_data(model, X, y, name: str, loss=softmax_cross_entropy):
    """(X, y) as arrays that fit ``model``: X a non-empty finite batch the model
    accepts, y one label per example (class ids within the model's outputs
    for the cross-entropy loss). Changes nothing."""
    check_sequential(model)
    X, y = _check_data(X, y, name)
    try:
        outputs = model.output_shapes(X.shape[1:])[-1]
    except ValueError as exc:
        raise ValueError(f"{name} inputs of shape {X.shape}: {exc}") from None
    if _is_classification(loss):
        check_labels(y, len(X), outputs[0])
    return X, y


def _is_classification(loss) -> bool:
    return getattr(loss, "classification", False)  # declared by the loss (losses.softmax_cross_entropy)


def evaluate(model, X, y, *, loss=softmax_cross_entropy, batch_size: int = 1024) -> Evaluation:
    """Accuracy and mean loss of ``model`` on (X, y), in eval mode."""
    check_callable("loss", loss, "a loss function (outputs, targets) -> (value, gradient)")
    batch_size = check_int("batch_size", batch_size, low=1)
    check_sequential(model)
    X, y = _check_data(X, y, "evaluate")
    outputs = model.inference(X, batch_size)
    classification = _is_classification(loss)
    if classification:
        check_labels(y, len(X), outputs.shape[1])
    value, _ = loss(outputs, y)
    accuracy = float(np.mean(outputs.argmax(axis=1) == y)) if classification else None
    return Evaluation(accuracy, value)


def fit(
    model,
    X,
    y,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer: Optimizer | None = None,
    loss=softmax_cross_entropy,
    validation=None,
    rng=0,
    callbacks=(),
    verbose: bool = True,
) -> History:
    """Train ``model`` in place with mini-batches; return a ``History``.

    X: (N, ...) inputs; y: (N,) int labels (or targets for ``loss=mse``).
    Each epoch visits the examples once in an order drawn from ``rng``.
    ``optimizer`` defaults to Adam(lr=1e-3); its schedule sees the epoch, which
    continues across calls with the same optimizer. ``validation=(X_val, y_val)``
    is evaluated after every epoch. Every argument is checked before training
    starts. If the loss or the weights become NaN or infinite, or anything else
    fails, the model, the optimizer and the generators are put back as they
    were before ``fit`` (a ``DivergenceError`` says where training diverged).
    """
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    verbose = check_bool("verbose", verbose)
    check_callable("loss", loss, "a loss function (outputs, targets) -> (value, gradient)")
    X, y = check_training_data(model, X, y, "training", loss)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError(f"validation must be a pair (X_val, y_val), got {type(validation).__name__}")
        validation = check_training_data(model, *validation, "validation", loss)
    optimizer = Adam(lr=1e-3) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a minnet Optimizer such as SGD or Adam, got {type(optimizer).__name__}")
    for epoch in range(optimizer.epoch, optimizer.epoch + epochs):
        optimizer.lr_at(epoch)  # a schedule that returns NaN or a negative factor fails now, not mid-training
    callbacks = [] if callbacks is None else list(callbacks) if isinstance(callbacks, (list, tuple)) else callbacks
    if not isinstance(callbacks, list) or not all(isinstance(cb, Callback) for cb in callbacks):
        raise TypeError(
            f"callbacks must be a list of minnet Callback objects (EarlyStopping, Snapshot...), got {callbacks!r:.80}"
        )
    for cb in callbacks:
        if cb.needs_validation and validation is None:
            raise ValueError(f"{type(cb).__name__} monitors validation data: pass fit(..., validation=(X_val, y_val))")
    gen = as_generator(rng)
    before = _TrainingState(model, optimizer, gen, callbacks)
    try:
        splits = parallel.most_parts(model, X.shape[1:], batch_size, loss)
        with blas_threads(model, X.shape[1:], batch_size, splits):
            options = _Options(epochs, batch_size, loss, validation, callbacks, verbose, splits)
            return _Loop(model, X, y, optimizer, options).run(gen)
    except Exception:
        before.restore()
        raise


class _TrainingState:
    """Everything ``fit`` changes, kept so that a failing ``fit`` can put it back:
    weights, masks and buffers, training flags, the optimizer's state and epoch,
    the shuffling generator and every layer's own generator (Dropout)."""

    def __init__(self, model, optimizer, gen, callbacks):
        self.model, self.optimizer, self.callbacks = model, optimizer, callbacks
        self.weights = model.state_dict()
        self.modes = [layer.training for layer in model.layers]
        self.optimizer_state = copy.deepcopy((optimizer.state, optimizer.epoch))
        self.generators = [g for g in [gen, *(getattr(layer, "rng", None) for layer in model.layers)] if g is not None]
        self.generator_states = [g.bit_generator.state for g in self.generators]
        self.callback_states = copy.deepcopy([cb.__dict__ for cb in callbacks])

    def restore(self):
        self.model.load_state_dict(self.weights)
        for layer, mode in zip(self.model.layers, self.modes):
            layer.training = mode
        self.optimizer.state, self.optimizer.epoch = self.optimizer_state
        for g, state in zip(self.generators, self.generator_states):
            g.bit_generator.state = state
        for cb, state in zip(self.callbacks, self.callback_states):
            cb.__dict__.clear()
            cb.__dict__.update(state)


class _Options(NamedTuple):
    """The keywords of ``fit``, checked."""

    epochs: int
    batch_size: int
    loss: object
    validation: tuple | None
    callbacks: list
    verbose: bool
    most_parts: int  # 1, or into how many parts a batch may split (minnet/parallel.py)


class _Loop:
    """The mini-batch loop of one ``fit`` call, over its checked arguments."""

    def __init__(self, model, X, y, optimizer, options: _Options):
        self.model, self.X, self.y, self.optimizer, self.options = model, X, y, optimizer, options
        self.n_batches = math.ceil(len(X) / options.batch_size)
        self.classification = _is_classification(options.loss)  # asked once, not per batch
        self.step = 0

    def run(self, gen) -> History:
        model, optimizer, options = self.model, self.optimizer, self.options
        history, first_epoch = History(), optimizer.epoch
        for cb in options.callbacks:
            cb.on_train_begin(model, optimizer)
        total = options.epochs * self.n_batches
        bar = _progress_bar()(total=total, disable=not options.verbose, unit="batch", desc="training")
        try:
            model.train()
            for epoch in range(1, options.epochs + 1):
                optimizer.set_epoch(first_epoch + epoch - 1)
                loss_sum, correct = self._epoch(epoch, gen.permutation(len(self.X)), bar)
                _check_finite(model, self.X[: options.batch_size], epoch, optimizer)
                self._record(history, epoch, loss_sum, correct, bar)
                if any([cb.on_epoch_end(model, epoch, history) for cb in options.callbacks]):
                    break
            optimizer.set_epoch(first_epoch + len(history))
        finally:
            bar.close()
        for cb in options.callbacks:
            cb.on_train_end(model)
        return history

    def _epoch(self, epoch: int, order, bar) -> tuple[float, int]:
        """One pass over the examples in ``order``; returns (summed loss, correct predictions)."""
        model, optimizer, loss, batch_size = self.model, self.optimizer, self.options.loss, self.options.batch_size
        loss_sum, correct = 0.0, 0
        for b in range(self.n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb, yb = self.X[idx], self.y[idx]
            # forward, loss and backward; in parts on several cores when the machine has them
            # (the min: a fit inside another one's thread limit, from a callback, gets that limit's parts)
            parts = min(batch_parts(), self.options.most_parts)
            out, value = parallel.training_step(model, xb, yb, loss, parts)
            if not math.isfinite(value):
                raise DivergenceError(
                    f"the loss became {value} at epoch {epoch}, batch {b + 1} of {self.n_batches} "
                    f"(learning rate {optimizer.current_lr:g}); the model was restored to its weights "
                    "before fit. Try a smaller learning rate."
                )
            optimizer.step(model)
            self.step += 1
            loss_sum += value * len(idx)
            if self.classification:
                correct += int((out.argmax(axis=1) == yb).sum())
            for cb in self.options.callbacks:
                cb.on_step_end(model, self.step)
            bar.update()
            recheck()  # the machine may have become busy (or idle) since training started
        return loss_sum, correct

    def _record(self, history: History, epoch: int, loss_sum: float, correct: int, bar) -> None:
        """Append the epoch's figures to ``history`` (validation evaluated now) and to the bar."""
        n, validation = len(self.X), self.options.validation
        history.epoch.append(epoch)
        history.step.append(self.step)
        history.lr.append(self.optimizer.current_lr)
        history.train_loss.append(loss_sum / n)
        history.train_accuracy.append(correct / n if self.classification else None)
        val = Evaluation(None, None)
        if validation is not None:
            val = evaluate(self.model, *validation, loss=self.options.loss)
        history.val_loss.append(val.loss)
        history.val_accuracy.append(val.accuracy)
        postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
        if val.accuracy is not None:
            postfix["val_acc"] = f"{val.accuracy:.4f}"
        bar.set_postfix(postfix, refresh=False)


def _progress_bar():
    """tqdm's notebook widget where ipywidgets is installed, else its text bar:
    ``tqdm.auto`` would print "IProgress not found" on every ``fit`` in a kernel
    without ipywidgets."""
    try:
        import ipywidgets  # noqa: F401  (optional: only to know whether the widget can show)
    except ImportError:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm


def _check_finite(model, X_sample, epoch: int, optimizer) -> None:
    """Divergence in an epoch's last step leaves no NaN loss to notice: look at
    the weights, and at the outputs for a few training examples (weights can
    be finite and still overflow a layer's output)."""
    with np.errstate(all="ignore"):
        bad = [name for name, value in model.named_parameters() if not np.isfinite(value).all()]
        if not bad and not np.isfinite(model.inference(X_sample)).all():
            bad = ["the outputs"]
    if bad:
        raise DivergenceError(
            f"{bad[0]!s} became NaN or infinite in epoch {epoch} (learning rate {optimizer.current_lr:g}); "
            "the model was restored to its weights before fit. Try a smaller learning rate."
        )
