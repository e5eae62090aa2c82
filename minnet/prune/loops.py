"""The pruning loop, round by round, and gradual pruning during training.

    prune (a pruner) -> retrain (a Training) -> evaluate -> stop? (budgets)

``prune_loop`` runs the rounds of a schedule (``OneShot``, ``Iterative``, or
any schedule whose ``sparsity(round)`` gives the target after a round). Each
round the pruner prunes to the target, ``retrain`` trains the network again,
the round is measured and recorded, and the budgets decide whether to stop:
a goal met (sparsity, nonzero parameters, MACs, latency) stops after the
round; a limit broken (``MaxAccuracyDrop``) stops and undoes it.
``GradualPruning`` is the ``fit`` callback that prunes along a step-based
schedule (``PolynomialDecay``) while the network trains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .. import metrics, plots
from ..anatomy import check_sequential, restored_on_error
from ..optim import Adam, Optimizer
from ..train import Callback, check_training_data, evaluate, fit
from ..utils import as_generator
from ..validate import check_bool, check_callable, check_instance, check_int
from .budgets import Budget
from .pruners import check_pruner
from .schedules import PolynomialDecay


@dataclass
class Round:
    """One round of the loop, measured after retraining."""

    round: int
    target: float  # the schedule's sparsity for this round
    sparsity: float  # fraction pruned of the selected weights (or units)
    val_accuracy: float
    nonzero_params: int
    macs: int  # effective multiply-accumulates per example
    sparse_bytes: int  # CSR storage of all parameters
    latency_ms: float | None = None
    dense_accuracy: float = 0.0  # the validation accuracy before the first round


@dataclass
class LoopResult:
    """The records of ``prune_loop`` and why it stopped."""

    dense_accuracy: float
    rounds: list = field(default_factory=list)
    stopped_because: str = ""

    def as_dict(self) -> dict:
        return {
            "dense_accuracy": self.dense_accuracy,
            "stopped_because": self.stopped_because,
            "rounds": [asdict(r) for r in self.rounds],
        }

    def table(self) -> str:
        lines = [f"{'round':>5}{'target':>8}{'sparsity':>10}{'val acc':>9}{'nonzero':>9}{'MACs':>9}{'CSR bytes':>11}"]
        for r in self.rounds:
            lines.append(
                f"{r.round:>5}{r.target:>8.3f}{r.sparsity:>10.3f}{r.val_accuracy:>9.4f}"
                f"{r.nonzero_params:>9,}{r.macs:>9,}{r.sparse_bytes:>11,}"
            )
        lines.append(f"dense accuracy {self.dense_accuracy:.4f}; stopped: {self.stopped_because}")
        return "\n".join(lines)

    def plot(self, ax=None, *, label: str | None = None, title: str = "Accuracy as pruning proceeds"):
        """Validation accuracy against sparsity, round by round."""
        xs = [0.0] + [r.sparsity for r in self.rounds]
        ys = [self.dense_accuracy] + [r.val_accuracy for r in self.rounds]
        return plots.accuracy_vs_sparsity(xs, ys, label=label, title=title, ax=ax)


class Training:
    """The training between two rounds: ``fit(model, X, y, epochs=..., ...)``
    with a fresh optimizer from ``optimizer_factory`` (default Adam(lr=1e-3))
    each time. ``epochs=0`` trains not at all."""

    def __init__(self, X, y, *, epochs: int = 1, optimizer_factory=None, batch_size: int = 64, rng=0):
        self.X, self.y = X, y
        self.epochs = check_int("epochs", epochs, low=0)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        if optimizer_factory is None:
            optimizer_factory = lambda: Adam(lr=1e-3)  # noqa: E731  (the documented default)
        check_callable("optimizer_factory", optimizer_factory, "a callable returning a fresh optimizer")
        if not isinstance(optimizer_factory(), Optimizer):
            raise TypeError("optimizer_factory must return a minnet Optimizer such as Adam(lr=1e-3)")
        self.optimizer_factory = optimizer_factory
        as_generator(rng)
        self.rng = rng

    def check(self, model) -> None:
        """Fail before the first round if the data do not fit ``model``."""
        self.X, self.y = check_training_data(model, self.X, self.y, "training")

    def __call__(self, model) -> None:
        if self.epochs:
            optimizer = self.optimizer_factory()
            fit(
                model,
                self.X,
                self.y,
                epochs=self.epochs,
                optimizer=optimizer,
                batch_size=self.batch_size,
                rng=self.rng,
                verbose=False,
            )

    def __repr__(self) -> str:
        return f"Training(epochs={self.epochs}, batch_size={self.batch_size}, rng={self.rng!r})"


def prune_loop(
    model,
    *,
    schedule,
    validation,
    retrain: Training | None = None,
    pruner=None,
    budgets=(),
    rounds: int | None = None,
    verbose: bool = True,
) -> LoopResult:
    """Prune ``model`` in place round after round; return the records.

    schedule: round r = 1, 2, ... prunes to ``schedule.sparsity(r)`` when
        ``schedule.should_prune(r)``; ``rounds`` caps the number of rounds
        (default: the schedule's own ``rounds`` attribute, else 10).
    validation: (X_val, y_val), evaluated after every round.
    retrain: a ``Training`` run after every pruning step; None: no training.
    pruner: ``WeightPruner()`` (the default: global magnitude) or ``UnitPruner()``;
        with units, MACs and latency are measured on ``shrink(model)``.
    budgets: ``TargetSparsity``, ``MaxNonzeroParams``, ``MaxMACs``,
        ``MaxLatency`` (goals) and ``MaxAccuracyDrop`` (a limit whose round
        is undone); the loop stops at the first one met.
    Every argument is checked before the first round, and if anything fails
    during the loop the model is put back as it was before it.
    """
    check_sequential(model)
    pruner, budgets = _check_loop_arguments(model, schedule, validation, retrain, pruner, budgets)
    X_val, y_val = check_training_data(model, *validation, "validation")
    rounds = check_int("rounds", rounds if rounds is not None else getattr(schedule, "rounds", None) or 10, low=1)
    if not any(schedule.should_prune(r) for r in range(1, rounds + 1)):
        raise ValueError(f"the schedule {schedule!r} never prunes in rounds 1..{rounds}; nothing would happen")
    verbose = check_bool("verbose", verbose)
    latency_input = next((b.latency_input for b in budgets if b.latency_input is not None), None)
    with restored_on_error(model):
        result = LoopResult(dense_accuracy=evaluate(model, X_val, y_val).accuracy)
        for r in range(1, rounds + 1):
            if not schedule.should_prune(r):
                continue
            before = model.state_dict()
            report = pruner(model, schedule.sparsity(r))
            if retrain is not None:
                retrain(model)
            record = _measure(model, pruner, r, schedule.sparsity(r), report.sparsity, (X_val, y_val), latency_input)
            record.dense_accuracy = result.dense_accuracy
            met = next((budget for budget in budgets if budget.met(record)), None)
            if met is not None and met.undo:
                model.load_state_dict(before)
            else:
                result.rounds.append(record)
                if verbose:
                    print(f"round {r}: sparsity {record.sparsity:.3f}, validation accuracy {record.val_accuracy:.4f}")
            if met is not None:
                result.stopped_because = met.reason(record)
                break
        else:
            result.stopped_because = f"schedule finished after {rounds} rounds"
        return result


def _check_loop_arguments(model, schedule, validation, retrain, pruner, budgets):
    """Check what ``prune_loop`` was given against ``model``; returns (pruner, budgets)."""
    _check_schedule(schedule)
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise TypeError(f"validation must be a pair (X_val, y_val), got {type(validation).__name__}")
    if retrain is not None:
        check_instance("retrain", retrain, Training, "a Training(X, y, epochs=...) or None")
        retrain.check(model)
    pruner = check_pruner(pruner)
    pruner.check(model)
    example = "a list of budgets such as [TargetSparsity(0.9)]"
    if isinstance(budgets, Budget) or not isinstance(budgets, (list, tuple)):
        raise TypeError(f"budgets must be {example}, got {type(budgets).__name__} {budgets!r:.60}")
    for budget in budgets:
        check_instance("budgets", budget, Budget, example)
        budget.check(model)
    timed = [budget for budget in budgets if budget.latency_input is not None]
    if len(timed) > 1:
        raise ValueError(f"budgets may hold one latency budget (every round is timed on its batch), got {timed}")
    return pruner, list(budgets)


def _measure(model, pruner, r, target, sparsity, validation, latency_input) -> Round:
    """The record of round ``r``. MACs and latency are those of what would run:
    for pruned units ``shrink(model)``, since masked units still cost their multiplications."""
    runnable = pruner.runnable(model)
    X_val, y_val = validation
    return Round(
        round=r,
        target=target,
        sparsity=sparsity,
        val_accuracy=evaluate(model, X_val, y_val).accuracy,
        nonzero_params=metrics.count_nonzero(model),
        macs=metrics.flops(runnable, X_val.shape[1:], effective=True),
        sparse_bytes=metrics.model_bytes(model, "csr"),
        latency_ms=None if latency_input is None else metrics.measure_latency(runnable, latency_input).median_ms,
    )


def _check_schedule(schedule) -> None:
    if not (callable(getattr(schedule, "sparsity", None)) and callable(getattr(schedule, "should_prune", None))):
        raise TypeError(
            f"schedule must have sparsity(r) and should_prune(r), like minnet.prune.Iterative, "
            f"got {type(schedule).__name__}"
        )


class GradualPruning(Callback):
    """Prune during ``fit`` along a step-based schedule (e.g. ``PolynomialDecay``).

    At every optimizer step where ``schedule.should_prune(step)``, ``pruner``
    (default ``WeightPruner()``: global magnitude; ``UnitPruner()`` for whole
    units) prunes the model to ``schedule.sparsity(step)`` (masks compose, so
    each step only removes the difference). ``history`` records (step,
    sparsity) pairs.
    """

    def __init__(self, schedule, pruner=None):
        _check_schedule(schedule)
        if isinstance(schedule, PolynomialDecay) and schedule.frequency > schedule.end_step - schedule.begin_step:
            raise ValueError(
                f"the schedule prunes every {schedule.frequency} steps but spans only "
                f"{schedule.end_step - schedule.begin_step} (begin_step {schedule.begin_step} to end_step "
                f"{schedule.end_step}): it would prune once, at begin_step, and never reach final_sparsity "
                f"{schedule.final_sparsity}; use a smaller frequency"
            )
        self.schedule = schedule
        self.pruner = check_pruner(pruner)
        self.history: list[tuple[int, float]] = []

    def on_train_begin(self, model, optimizer):
        self.pruner.check(model)
        self._prune_at(model, 0)  # fit counts steps from 1; a schedule may begin at step 0

    def on_step_end(self, model, step):
        self._prune_at(model, step)

    def _prune_at(self, model, step):
        if not self.schedule.should_prune(step):
            return
        target = self.schedule.sparsity(step)
        if target <= self.pruner.pruned_fraction(model):
            return
        report = self.pruner(model, target)
        self.history.append((step, report.sparsity))
