"""Pruning schedules: how sparse the model should be, and when to prune.

Every schedule answers two questions about an integer ``step``:

- ``sparsity(step) -> float``: the target sparsity, i.e. the fraction of the
  *original* weights that are pruned after pruning at ``step``;
- ``should_prune(step) -> bool``: whether a pruning happens at ``step``.

``schedule(step)`` returns both, ``(should_prune, sparsity)``, in the order of
TensorFlow Model Optimization's ``PruningSchedule.__call__``.

Two families:

- step based (gradual pruning during training; ``step`` is an optimizer step):
  ``PolynomialDecay`` (Zhu & Gupta 2017) and ``ConstantSparsity``, with the
  semantics of tfmot, and ``FromFunction`` for any ``step -> sparsity``;
- round based (prune, fine-tune, repeat; ``step`` is a round index, rounds are
  numbered 1..n and round 0 is the dense model before any pruning):
  ``OneShot`` and ``Iterative`` (a constant fraction of the remaining weights
  per round, Han et al. 2015).

Masks in minnet compose (pruning again ranks only the entries still kept), so
going from one target to the next means pruning
``amount_to_prune(current, target)`` of the remaining weights::

    previous = 0.0
    for step in range(1, n_steps + 1):
        if schedule.should_prune(step):
            target = schedule.sparsity(step)
            amount = amount_to_prune(previous, target)
            ...  # unstructured_mask(scores, amount, mask=mask)
            previous = target
"""

from __future__ import annotations

import math

import numpy as np

from .. import plots
from ..validate import check_int, check_real, is_real

__all__ = [
    "ConstantSparsity",
    "FromFunction",
    "Iterative",
    "OneShot",
    "PolynomialDecay",
    "Schedule",
    "amount_to_prune",
    "as_schedule",
]


# Tolerance for "target < current" in amount_to_prune: differences this small
# are float rounding (e.g. 1 - (1 - s) != s), not a request to un-prune.
_ATOL = 1e-12


# --------------------------------------------------------------------------- checks


def _check_step(step) -> int:
    return check_int("step", step)


def _check_sparsity(name: str, value) -> float:
    """A sparsity in [0, 1), as tfmot's ``_validate_sparsity`` requires."""
    return check_real(name, value, low=0, high=1, high_inclusive=False)


def _should_prune_in_step(step: int, begin_step: int, end_step: int | None, frequency: int) -> bool:
    """tfmot's ``PruningSchedule._should_prune_in_step``: prune when
    ``begin_step <= step <= end_step`` (no upper bound if ``end_step`` is None,
    tfmot's -1) and ``(step - begin_step) % frequency == 0`` (tf.math.floormod,
    which is Python's %). Nothing is pruned after ``end_step``, and ``end_step``
    itself is a pruning step only if ``end_step - begin_step`` is a multiple of
    ``frequency``."""
    in_range = begin_step <= step and (end_step is None or step <= end_step)
    return in_range and (step - begin_step) % frequency == 0


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- base


class Schedule:
    """Base class: subclasses define ``sparsity(step)`` and ``should_prune(step)``.

    ``step_label`` names what a step is ("step" for optimizer steps, "round"
    for round-based schedules); ``plot`` uses it for the x axis.
    """

    step_label = "step"

    def sparsity(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def should_prune(self, step: int) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, step: int) -> tuple[bool, float]:
        """``(should_prune(step), sparsity(step))``, like tfmot's ``schedule(step)``."""
        return self.should_prune(step), self.sparsity(step)

    def pruning_steps(self, start: int, stop: int) -> list[int]:
        """The steps in ``[start, stop]`` (both included) at which pruning happens."""
        start, stop = _check_step(start), _check_step(stop)
        return [s for s in range(start, stop + 1) if self.should_prune(s)]

    # -- plotting
    def _default_steps(self) -> list[int]:  # pragma: no cover - overridden
        return list(range(0, 101))

    def _title(self) -> str:
        return type(self).__name__

    def plot(self, ax=None, steps=None, *, title: str | None = None):
        """Draw ``sparsity(step)`` against ``step``, with markers on pruning steps.

        ``steps``: the int steps to evaluate (default: a range that shows the
        whole schedule). Besides the schedule's curve, a dashed staircase shows
        the sparsity the model actually has when it is pruned only at the
        marked steps (0 before the first one). Returns the Axes.
        """
        if steps is None:
            steps = self._default_steps()
        else:
            steps = sorted({_check_step(s) for s in steps})
            if not steps:
                raise ValueError("steps must contain at least one int step, got an empty collection")
        values = [self.sparsity(s) for s in steps]
        pruning = {s for s in steps if self.should_prune(s)}
        title = self._title() if title is None else title
        return plots.schedule(steps, values, pruning, title=title, step_label=self.step_label, ax=ax)


def _sampled_range(lo: int, hi: int, extra=(), n: int = 400) -> list[int]:
    """Ints from lo to hi: all of them if few, else ~n evenly spaced plus ``extra``."""
    if hi - lo <= 2 * n:
        grid = set(range(lo, hi + 1))
    else:
        grid = set(np.linspace(lo, hi, n).round().astype(int).tolist())
    return sorted(grid | {int(e) for e in extra if lo <= e <= hi})


class _StepSchedule(Schedule):
    """Shared by the tfmot-style schedules: begin_step, end_step, frequency."""

    begin_step: int
    end_step: int | None
    frequency: int

    def should_prune(self, step: int) -> bool:
        return _should_prune_in_step(_check_step(step), self.begin_step, self.end_step, self.frequency)

    @property
    def last_pruning_step(self) -> int | None:
        """The last step at which pruning happens (None if pruning never ends).
        It is ``end_step`` only if ``end_step - begin_step`` is a multiple of
        ``frequency``; otherwise the last pruning uses ``sparsity(last_pruning_step)``,
        and the value at ``end_step`` is never applied (as in tfmot)."""
        if self.end_step is None:
            return None
        return self.begin_step + (self.end_step - self.begin_step) // self.frequency * self.frequency

    def pruning_steps(self, start: int, stop: int) -> list[int]:
        start, stop = _check_step(start), _check_step(stop)
        if self.end_step is not None:
            stop = min(stop, self.end_step)
        first = self.begin_step + max(0, -((self.begin_step - start) // self.frequency)) * self.frequency
        return list(range(first, stop + 1, self.frequency)) if first <= stop else []

    def _plot_end(self) -> int:
        if self.end_step is None:
            return self.begin_step + max(10 * self.frequency, 100)
        return self.end_step + max(self.frequency, (self.end_step - self.begin_step) // 5)

    def _default_steps(self) -> list[int]:
        hi = self._plot_end()
        grid = self.pruning_steps(0, hi)
        if len(grid) > 400:  # too many to mark one by one: an even subset, and the last one
            grid = grid[:: math.ceil(len(grid) / 400)] + grid[-1:]
        return _sampled_range(0, hi, extra=grid)


# --------------------------------------------------------------------------- step based


class PolynomialDecay(_StepSchedule):
    """Gradual pruning of Zhu & Gupta 2017 ("To prune, or not to prune"),
    with the semantics of tfmot's ``PolynomialDecay``.

    ``sparsity(step) = final + (initial - final) * (1 - p) ** power`` with
    ``p = clip((step - begin_step) / (end_step - begin_step), 0, 1)``: the
    sparsity rises fast at first, then levels off at ``final_sparsity``. It is
    ``initial_sparsity`` up to ``begin_step`` and ``final_sparsity`` from
    ``end_step`` on.

    ``should_prune(step)`` is True when ``begin_step <= step <= end_step`` and
    ``(step - begin_step) % frequency == 0``. No pruning after ``end_step``.
    ``end_step`` itself is a pruning step only when ``end_step - begin_step``
    is a multiple of ``frequency``; otherwise ``final_sparsity`` is never
    reached (tfmot behaves the same), see ``last_pruning_step``.

    Source: tensorflow/model-optimization,
    tensorflow_model_optimization/python/core/sparsity/keras/pruning_schedule.py
    (``PruningSchedule._should_prune_in_step``, ``_validate_step``,
    ``_validate_sparsity``, ``PolynomialDecay.__call__``).

    Differences from tfmot, on purpose: ``end_step`` must be greater than
    ``begin_step`` (tfmot accepts ``end_step == begin_step`` and then divides
    by zero); ``power`` must be a number > 0 (tfmot does not check it).
    Like tfmot, ``initial_sparsity > final_sparsity`` is accepted, but minnet's
    masks compose and cannot un-prune, so such a schedule cannot be followed.
    """

    def __init__(self, initial_sparsity, final_sparsity, begin_step, end_step, power=3, frequency=100):
        initial = _check_sparsity("initial_sparsity", initial_sparsity)
        final = _check_sparsity("final_sparsity", final_sparsity)
        begin = check_int("begin_step", begin_step, low=0)
        end = check_int("end_step", end_step)
        if end <= begin:
            raise ValueError(f"end_step must be greater than begin_step, got begin_step={begin}, end_step={end}")
        check_real("power", power, low=0, low_inclusive=False)
        self.initial_sparsity, self.final_sparsity = initial, final
        self.begin_step, self.end_step = begin, end
        self.power = power
        self.frequency = check_int("frequency", frequency, low=1)

    def sparsity(self, step: int) -> float:
        step = _check_step(step)
        # tfmot: p = min(1, max(0, (step - begin) / (end - begin)));
        #        sparsity = (initial - final) * (1 - p) ** power + final
        p = min(1.0, max(0.0, (step - self.begin_step) / (self.end_step - self.begin_step)))
        if p == 0.0:  # same value as the formula, without the rounding of final + (initial - final)
            return self.initial_sparsity
        return self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * (1.0 - p) ** self.power

    def _title(self) -> str:
        return (
            f"Polynomial decay: {_fmt(self.initial_sparsity)} to {_fmt(self.final_sparsity)}, "
            f"steps {self.begin_step}-{self.end_step}, power {_fmt(self.power)}"
        )

    def __repr__(self):
        return (
            f"PolynomialDecay(initial_sparsity={self.initial_sparsity!r}, final_sparsity={self.final_sparsity!r}, "
            f"begin_step={self.begin_step}, end_step={self.end_step}, power={self.power!r}, "
            f"frequency={self.frequency})"
        )


class ConstantSparsity(_StepSchedule):
    """Prune to the same ``target_sparsity`` every ``frequency`` steps from
    ``begin_step`` to ``end_step`` (tfmot's ``ConstantSparsity``).

    ``end_step=None`` (or -1, tfmot's spelling, stored as None) prunes forever.
    ``sparsity(step)`` is ``target_sparsity`` at every step, before
    ``begin_step`` too, as in tfmot: it is the value applied at the steps where
    ``should_prune`` is True. ``end_step == begin_step`` is allowed (a single
    pruning step), as in tfmot. Unlike tfmot, ``begin_step`` defaults to 0.
    """

    def __init__(self, target_sparsity, begin_step=0, end_step=None, frequency=100):
        target = _check_sparsity("target_sparsity", target_sparsity)
        begin = check_int("begin_step", begin_step, low=0)
        if end_step is not None:
            end_step = check_int("end_step", end_step)
            if end_step == -1:
                end_step = None
            elif end_step < 0:
                raise ValueError(f"end_step must be None or -1 (prune forever) or an int >= 0, got {end_step}")
            elif end_step < begin:
                raise ValueError(
                    f"end_step must be greater than or equal to begin_step, got begin_step={begin}, end_step={end_step}"
                )
        self.target_sparsity = target
        self.begin_step, self.end_step = begin, end_step
        self.frequency = check_int("frequency", frequency, low=1)

    def sparsity(self, step: int) -> float:
        _check_step(step)
        return self.target_sparsity

    def _title(self) -> str:
        until = "on" if self.end_step is None else f"to {self.end_step}"
        every = f"every {self.frequency} steps from {self.begin_step} {until}"
        return f"Constant sparsity {_fmt(self.target_sparsity)}, {every}"

    def __repr__(self):
        return (
            f"ConstantSparsity(target_sparsity={self.target_sparsity!r}, begin_step={self.begin_step}, "
            f"end_step={self.end_step}, frequency={self.frequency})"
        )


class FromFunction(_StepSchedule):
    """Any callable ``step -> sparsity`` as a schedule.

    Pruning happens every ``frequency`` steps from ``begin_step`` (default 0)
    to ``end_step`` (default None: forever), by the tfmot rule. Each value
    ``fn`` returns is checked when ``sparsity(step)`` is called: it must be a
    number in [0, 1), else a ValueError names the step and the value.
    """

    def __init__(self, fn, frequency=1, *, begin_step=0, end_step=None):
        if not callable(fn):
            raise TypeError(f"fn must be a callable step -> sparsity, got {type(fn).__name__}")
        begin = check_int("begin_step", begin_step, low=0)
        if end_step is not None:
            end_step = check_int("end_step", end_step)
            if end_step < begin:
                raise ValueError(f"end_step must be None or >= begin_step, got begin_step={begin}, end_step={end_step}")
        self.fn = fn
        self.begin_step, self.end_step = begin, end_step
        self.frequency = check_int("frequency", frequency, low=1)

    def sparsity(self, step: int) -> float:
        step = _check_step(step)
        value = self.fn(step)
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if not is_real(value):
            raise TypeError(f"the sparsity function returned {value!r} at step {step}; expected a number in [0, 1)")
        if not 0.0 <= value < 1.0:
            raise ValueError(f"the sparsity function returned {value!r} at step {step}; a sparsity must be in [0, 1)")
        return float(value)

    def _name(self) -> str:
        return getattr(self.fn, "__name__", type(self.fn).__name__)

    def _title(self) -> str:
        return f"Sparsity from {self._name()}(step)"

    def __repr__(self):
        extra = "" if self.begin_step == 0 else f", begin_step={self.begin_step}"
        extra += "" if self.end_step is None else f", end_step={self.end_step}"
        return f"FromFunction({self._name()}, frequency={self.frequency}{extra})"


# --------------------------------------------------------------------------- round based


class _RoundSchedule(Schedule):
    """Rounds are numbered 1..rounds; round 0 is the dense model (sparsity 0).
    Steps before 0 count as 0, steps after the last round as the last round."""

    step_label = "round"
    rounds: int

    def should_prune(self, step: int) -> bool:
        return 1 <= _check_step(step) <= self.rounds

    def _default_steps(self) -> list[int]:
        return list(range(0, self.rounds + 1))


class OneShot(_RoundSchedule):
    """Prune to ``sparsity`` at once, in round 1 (the only pruning round).

    ``sparsity(0) == 0`` (dense), ``sparsity(r) == sparsity`` for r >= 1;
    ``should_prune(r)`` is True only for r == 1. The target is stored as
    ``target_sparsity`` (``sparsity`` is the method).
    """

    rounds = 1

    def __init__(self, sparsity):
        self.target_sparsity = _check_sparsity("sparsity", sparsity)

    def sparsity(self, step: int) -> float:
        return 0.0 if _check_step(step) < 1 else self.target_sparsity

    def _title(self) -> str:
        return f"One shot to sparsity {_fmt(self.target_sparsity)}"

    def __repr__(self):
        return f"OneShot(sparsity={self.target_sparsity!r})"


class Iterative(_RoundSchedule):
    """Prune ``fraction_per_round`` of the weights that remain, in each of
    ``rounds`` rounds (Han et al. 2015; the lottery-ticket papers use 0.2).

    After round r (0 <= r <= rounds) the sparsity is ``1 - (1 - f) ** r``;
    it stays at ``final_sparsity`` after the last round. ``should_prune(r)``
    is True for 1 <= r <= rounds. Since minnet's masks compose, the amount to
    pass to the mask functions in every round is ``fraction_per_round``.
    ``Iterative.to_target(final_sparsity, rounds)`` picks the fraction.
    """

    def __init__(self, fraction_per_round, rounds):
        f = fraction_per_round
        self.fraction_per_round = check_real(
            "fraction_per_round", f, low=0, high=1, low_inclusive=False, high_inclusive=False
        )
        self.rounds = check_int("rounds", rounds, low=1)

    @classmethod
    def to_target(cls, final_sparsity, rounds) -> Iterative:
        """The schedule whose round ``rounds`` reaches ``final_sparsity``:
        ``f = 1 - (1 - final_sparsity) ** (1 / rounds)``."""
        s = check_real("final_sparsity", final_sparsity, low=0, high=1, low_inclusive=False, high_inclusive=False)
        rounds = check_int("rounds", rounds, low=1)
        return cls(1.0 - (1.0 - float(s)) ** (1.0 / rounds), rounds)

    @property
    def final_sparsity(self) -> float:
        return self.sparsity(self.rounds)

    def sparsity(self, step: int) -> float:
        r = min(max(_check_step(step), 0), self.rounds)
        return 1.0 - (1.0 - self.fraction_per_round) ** r

    def _title(self) -> str:
        return (
            f"Iterative: {self.fraction_per_round:.3g} of the rest x {self.rounds} rounds, to {self.final_sparsity:.3g}"
        )

    def __repr__(self):
        return f"Iterative(fraction_per_round={self.fraction_per_round!r}, rounds={self.rounds})"


# --------------------------------------------------------------------------- helpers


def as_schedule(obj) -> Schedule:
    """A Schedule as is; any other callable ``step -> sparsity`` wrapped in
    ``FromFunction`` (pruning at every step)."""
    if isinstance(obj, Schedule):
        return obj
    if callable(obj):
        return FromFunction(obj)
    raise TypeError(
        f"obj must be a pruning schedule (PolynomialDecay, ConstantSparsity, OneShot, Iterative, ...) or a callable "
        f"step -> sparsity, got {type(obj).__name__}"
    )


def amount_to_prune(current_sparsity, target_sparsity) -> float:
    """The fraction of the still-kept weights to prune to go from
    ``current_sparsity`` to ``target_sparsity`` (both fractions of the original
    total): ``(target - current) / (1 - current)``.

    That is the ``amount`` to give the mask functions when masks compose (a
    prior mask makes them rank only the kept entries). ``current_sparsity``
    must be in [0, 1), ``target_sparsity`` in [0, 1] and not smaller than
    ``current_sparsity`` (pruning cannot bring weights back); a shortfall
    below 1e-12, float rounding, counts as equal and gives 0.
    """
    c, t = current_sparsity, target_sparsity
    c = check_real("current_sparsity", c, low=0, high=1, high_inclusive=False)
    t = check_real("target_sparsity", t, low=0, high=1)
    if t < c - _ATOL:
        raise ValueError(
            f"target_sparsity must be >= current_sparsity (pruning cannot bring weights back), "
            f"got current_sparsity={c!r}, target_sparsity={t!r}"
        )
    return min(1.0, max(0.0, (float(t) - float(c)) / (1.0 - float(c))))
