"""Optimizers and learning-rate schedules.

An optimizer is created on its own (``SGD(lr=0.1, momentum=0.9)``) and
updates a model in place with ``step(model)``, reading the gradients that
``model.backward`` left in each layer. Its state (momentum, Adam moments) is
keyed by parameter name (``"0.W"``). After every update it multiplies each
masked parameter by its mask again: masking the gradient alone is not
enough, because momentum and Adam's moments would keep moving pruned weights.

A schedule is any callable ``epoch -> factor``; the learning rate used in an
epoch is ``lr * schedule(epoch)``. ``fit`` tells the optimizer the epoch.
"""

from __future__ import annotations

import math

import numpy as np

from .validate import check_bool, check_callable, check_int, check_real, is_real


def constant_schedule():
    """Factor 1 in every epoch."""
    return lambda epoch: 1.0


def step_schedule(step_size: int, gamma: float = 0.1):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""
    step_size = check_int("step_size", step_size, low=1)
    gamma = check_real("gamma", gamma, low=0)
    return lambda epoch: gamma ** (epoch // step_size)


def cosine_schedule(epochs: int, final_factor: float = 0.0):
    """Cosine decay from factor 1 at epoch 0 to ``final_factor`` at ``epochs``."""
    epochs = check_int("epochs", epochs, low=1)
    final_factor = check_real("final_factor", final_factor, low=0)

    def schedule(epoch):
        t = min(epoch, epochs) / epochs
        return final_factor + (1 - final_factor) * 0.5 * (1 + math.cos(math.pi * t))

    return schedule


class Optimizer:
    """Base class: learning rate, schedule, state by name, re-masking."""

    def __init__(self, lr: float, schedule=None):
        self.lr = check_real("lr", lr, low=0)
        if schedule is not None:
            check_callable("schedule", schedule, "a callable epoch -> factor")
        self.schedule = schedule or constant_schedule()
        self.epoch = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    @property
    def current_lr(self) -> float:
        """The learning rate used now: ``lr * schedule(epoch)``."""
        return self.lr_at(self.epoch)

    def lr_at(self, epoch: int) -> float:
        """``lr * schedule(epoch)``; a ValueError when the schedule's factor is
        not a finite number >= 0 (it would make the weights NaN or reverse learning)."""
        factor = self.schedule(epoch)
        if not is_real(factor) or not math.isfinite(factor) or factor < 0:
            raise ValueError(
                f"the schedule must return a finite factor >= 0 for every epoch, got {factor!r} at epoch {epoch}"
            )
        return self.lr * float(factor)

    def use_constant_lr(self, lr: float) -> None:
        """From now on ``lr`` every epoch, without the schedule (fine-tuning after pruning)."""
        self.lr = check_real("lr", lr, low=0)
        self.schedule = constant_schedule()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = check_int("epoch", epoch, low=0)

    def step(self, model) -> None:
        """Update every parameter of ``model`` from its gradient, in place.
        Everything is checked before the first parameter moves: the gradients'
        shapes, and that the state kept for each name still fits (a model
        shrunk since needs ``reset()`` or a new optimizer)."""
        lr = self.current_lr
        slots = _slots(model)
        for name, layer, key in slots:
            grad, param = layer.grads.get(key), layer.params[key]
            if grad is not None and np.shape(grad) != param.shape:
                raise ValueError(f"the gradient of {name!r} has shape {np.shape(grad)}, the parameter {param.shape}")
            for buffer in self.state.get(name, {}).values():
                if isinstance(buffer, np.ndarray) and buffer.shape != param.shape:
                    raise ValueError(
                        f"this optimizer's state for {name!r} has shape {buffer.shape}, but the parameter now has "
                        f"shape {param.shape} (was the model shrunk?); call optimizer.reset() or make a new optimizer"
                    )
        for name, layer, key in slots:
            grad = layer.grads.get(key)
            if grad is None:
                continue
            self._update(name, layer.params[key], grad, lr)
            if key in layer.masks:
                layer.params[key] *= layer.masks[key]

    def reset(self) -> None:
        """Forget momentum/moments and go back to epoch 0."""
        self.state.clear()
        self.epoch = 0

    def _update(self, name, param, grad, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum
    and L2 weight decay, with PyTorch's update rule:
    ``g = grad + wd*p; v = mu*v + g; p -= lr * (g + mu*v if nesterov else v)``.
    """

    def __init__(
        self,
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        schedule=None,
    ):
        super().__init__(lr, schedule)
        self.momentum = check_real("momentum", momentum, low=0, high=1, high_inclusive=False)
        self.nesterov = check_bool("nesterov", nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0, got momentum=0")
        self.weight_decay = check_real("weight_decay", weight_decay, low=0)

    def _update(self, name, param, grad, lr):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            if name not in self.state:
                self.state[name] = {"velocity": np.zeros_like(param)}
            v = self.state[name]["velocity"]
            v *= self.momentum
            v += grad
            grad = grad + self.momentum * v if self.nesterov else v
        param -= (lr * grad).astype(param.dtype, copy=False)

    def __repr__(self):
        return (
            f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, weight_decay={self.weight_decay})"
        )


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction and optional L2 weight
    decay added to the gradient, as PyTorch's Adam does."""

    def __init__(
        self, lr: float = 1e-3, *, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0, schedule=None
    ):
        super().__init__(lr, schedule)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2) of numbers in [0, 1), got {betas!r}")
        self.betas = tuple(
            check_real(f"betas[{i}]", b, low=0, high=1, high_inclusive=False) for i, b in enumerate(betas)
        )
        self.eps = check_real("eps", eps, low=0, low_inclusive=False)
        self.weight_decay = check_real("weight_decay", weight_decay, low=0)

    def _update(self, name, param, grad, lr):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        b1, b2 = self.betas
        if name not in self.state:
            self.state[name] = {"m": np.zeros_like(param), "v": np.zeros_like(param), "t": 0}
        state = self.state[name]
        state["t"] += 1
        m, v, t = state["m"], state["v"], state["t"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        step = (lr / (1 - b1**t)) * m / (np.sqrt(v / (1 - b2**t)) + self.eps)
        param -= step.astype(param.dtype, copy=False)

    def __repr__(self):
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"


def _slots(model) -> list:
    """``model.parameter_slots()`` as a list, or a TypeError for something that is not a model."""
    slots = getattr(model, "parameter_slots", None)
    if not callable(slots):
        raise TypeError(f"model must be a minnet Sequential, got {type(model).__name__}")
    return list(slots())
