"""Training: ``fit`` runs mini-batch training, ``evaluate`` measures a model.

history = fit(model, data.X_train, data.y_train, epochs=20,
              optimizer=Adam(lr=1e-3), validation=(data.X_val, data.y_val), rng=0)
evaluate(model, data.X_test, data.y_test).accuracy
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .losses import check_labels, softmax_cross_entropy
from .optim import Adam, Optimizer
from .utils import as_generator
from .validate import check_int


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
        import matplotlib.pyplot as plt

        if metric not in ("accuracy", "loss"):
            raise ValueError(f"metric must be 'accuracy' or 'loss', got {metric!r}")
        ax = ax or plt.subplots(figsize=(5, 3.5))[1]
        ax.plot(self.epoch, getattr(self, f"train_{metric}"), marker=".", label="train")
        if any(v is not None for v in getattr(self, f"val_{metric}")):
            ax.plot(self.epoch, getattr(self, f"val_{metric}"), marker=".", label="validation")
        ax.set(title=title, xlabel="epoch", ylabel=metric if metric == "accuracy" else "loss (nats)")
        ax.legend()
        return ax

    def __repr__(self):
        if not self.epoch:
            return "History(empty)"
        last = f"train loss {self.train_loss[-1]:.4f}"
        if self.val_accuracy[-1] is not None:
            last += f", val accuracy {self.val_accuracy[-1]:.4f}"
        return f"History({len(self)} epochs, last: {last})"


class Callback:
    """Hooks that ``fit`` calls. Return True from ``on_epoch_end`` to stop."""

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

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0, restore_best: bool = True):
        if monitor not in ("val_loss", "val_accuracy"):
            raise ValueError(f"monitor must be 'val_loss' or 'val_accuracy', got {monitor!r}")
        self.monitor, self.patience, self.min_delta = monitor, check_int("patience", patience, low=1), min_delta
        self.restore_best = restore_best

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
        at = epoch if step is None else step
        if isinstance(at, bool) or not isinstance(at, (int, np.integer)) or at < 0:
            raise ValueError(f"{'epoch' if step is None else 'step'} must be an int >= 0, got {at!r}")
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
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"{name} inputs must be a non-empty batch of shape (N, ...), got shape {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"{name} inputs and labels must have the same length, got {len(X)} and {len(y)}")
    return X, y


def _is_classification(loss) -> bool:
    return loss is softmax_cross_entropy


def evaluate(model, X, y, *, loss=softmax_cross_entropy, batch_size: int = 1024) -> Evaluation:
    """Accuracy and mean loss of ``model`` on (X, y), in eval mode."""
    X, y = _check_data(X, y, "evaluate")
    outputs = model.inference(X, batch_size)
    if _is_classification(loss):
        check_labels(y, len(X), outputs.shape[1])
    value, _ = loss(outputs, y)
    accuracy = float(np.mean(outputs.argmax(axis=1) == y)) if _is_classification(loss) else None
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
    is evaluated after every epoch. If the loss becomes NaN or infinite, the
    model is put back as it was before ``fit`` and FloatingPointError says where.
    """
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    X, y = _check_data(X, y, "training")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("validation must be a pair (X_val, y_val)")
        validation = _check_data(*validation, "validation")
    if _is_classification(loss):
        n_classes = model.inference(X[:1]).shape[1]  # also checks the input shape
        check_labels(y, len(X), n_classes)
        if validation is not None:
            check_labels(validation[1], len(validation[0]), n_classes)
    optimizer = Adam(lr=1e-3) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a minnet Optimizer such as SGD or Adam, got {type(optimizer).__name__}")
    gen = as_generator(rng)

    from tqdm.auto import tqdm

    n_batches = math.ceil(len(X) / batch_size)
    history, initial_state = History(), model.state_dict()
    first_epoch, step = optimizer.epoch, 0
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.on_train_begin(model, optimizer)
    bar = tqdm(total=epochs * n_batches, disable=not verbose, unit="batch", desc="training")
    try:
        model.train()
        for epoch in range(1, epochs + 1):
            optimizer.set_epoch(first_epoch + epoch - 1)
            order = gen.permutation(len(X))
            loss_sum, correct = 0.0, 0
            for b in range(n_batches):
                idx = order[b * batch_size : (b + 1) * batch_size]
                xb, yb = X[idx], y[idx]
                out = model.forward(xb)
                value, grad = loss(out, yb)
                if not math.isfinite(value):
                    model.load_state_dict(initial_state)
                    raise FloatingPointError(
                        f"the loss became {value} at epoch {epoch}, batch {b + 1} of {n_batches} "
                        f"(learning rate {optimizer.current_lr:g}); the model was restored to its weights "
                        "before fit. Try a smaller learning rate."
                    )
                model.backward(grad, input_grad=False)
                optimizer.step(model)
                step += 1
                loss_sum += value * len(idx)
                if _is_classification(loss):
                    correct += int((out.argmax(axis=1) == yb).sum())
                for cb in callbacks:
                    cb.on_step_end(model, step)
                bar.update()
            history.epoch.append(epoch)
            history.step.append(step)
            history.lr.append(optimizer.current_lr)
            history.train_loss.append(loss_sum / len(X))
            history.train_accuracy.append(correct / len(X) if _is_classification(loss) else None)
            val = evaluate(model, *validation, loss=loss) if validation is not None else Evaluation(None, None)
            history.val_loss.append(val.loss)
            history.val_accuracy.append(val.accuracy)
            postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
            if val.accuracy is not None:
                postfix["val_acc"] = f"{val.accuracy:.4f}"
            bar.set_postfix(postfix, refresh=False)
            stop = [cb.on_epoch_end(model, epoch, history) for cb in callbacks]
            if any(stop):
                break
        optimizer.set_epoch(first_epoch + len(history))
    finally:
        bar.close()
    for cb in callbacks:
        cb.on_train_end(model)
    return history
