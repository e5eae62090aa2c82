"""The pruning loop, round by round, and gradual pruning during training.

    score -> rank -> remove the least important -> retrain -> go on?

``prune_loop`` runs rounds given by a schedule (``OneShot``, ``Iterative``,
or any schedule whose ``sparsity(round)`` gives the target after a round) and
stops at the first termination condition that holds: the schedule is done
or the target sparsity reached, validation accuracy fell more than a budget
below the dense model (the last round is then undone), or a cost budget
(nonzero parameters, MACs, latency) is met. Every round is recorded for
plotting. ``GradualPruning`` is the ``fit`` callback that prunes along a
step-based schedule (``PolynomialDecay``) while the network trains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .. import metrics, plots
from ..anatomy import check_layers, check_parameter_names, check_sequential, restored_on_error
from ..optim import Adam, Optimizer
from ..train import Callback, check_training_data, evaluate, fit
from ..utils import as_generator
from ..validate import check_array, check_bool, check_callable, check_choice, check_int, check_names, check_real
from .apply import SCOPES, check_scores_argument, dead_unit_fraction, masked_fraction, prune, prune_units
from .schedules import PolynomialDecay
from .surgery import shrink


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


def _measure(model, input_shape, latency_input, structured: bool):
    """Costs after a round. With structured pruning, MACs and latency are those
    of ``shrink(model)``: the masked model still multiplies by the removed
    units' zeros, the shrunk one does not."""
    runnable = shrink(model) if structured else model
    latency = None
    if latency_input is not None:
        latency = metrics.measure_latency(runnable, latency_input).median_ms
    return (
        metrics.count_nonzero(model),
        metrics.flops(runnable, input_shape, effective=True),
        metrics.model_bytes(model, "csr"),
        latency,
    )


def prune_loop(
    model,
    X,
    y,
    *,
    validation,
    schedule,
    rounds: int | None = None,
    scores=None,
    scope=None,
    structured: bool = False,
    epochs_per_round: int = 1,
    optimizer_factory=None,
    batch_size: int = 64,
    target_sparsity: float | None = None,
    max_accuracy_drop: float | None = None,
    max_nonzero_params: int | None = None,
    max_macs: int | None = None,
    max_latency_ms: float | None = None,
    latency_input=None,
    rng=0,
    verbose: bool = True,
) -> LoopResult:
    """Prune ``model`` in place round after round; return the records.

    schedule: round r = 1, 2, ... prunes to ``schedule.sparsity(r)`` when
        ``schedule.should_prune(r)``; ``rounds`` caps the number of rounds
        (default: the schedule's own ``rounds`` attribute, else 10).
    scores: as in ``prune`` / ``prune_units``; a callable is called again each
        round, on the current weights.
    structured: prune whole units with ``prune_units`` instead of weights.
    scope: "global" or "local"; default global for weights and local for
        units (unit norms of different layers are not comparable).
    epochs_per_round: training epochs after each pruning step (0: none),
        each round with a fresh optimizer from ``optimizer_factory``
        (default Adam(lr=1e-3)).
    Termination: target_sparsity reached; validation accuracy more than
    max_accuracy_drop (a fraction, 0.01 = one point) below the dense model,
    in which case that round is undone; nonzero parameters, effective MACs or
    latency (ms, measured on ``latency_input``) at or under their budget. With
    ``structured=True``, MACs and latency are measured on ``shrink(model)``.
    Every argument is checked before the first round, and if anything fails
    during the loop the model is put back as it was before it.
    """
    check_sequential(model)
    X, y = check_training_data(model, X, y, "training")
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise TypeError(f"validation must be a pair (X_val, y_val), got {type(validation).__name__}")
    X_val, y_val = check_training_data(model, *validation, "validation")
    _check_schedule(schedule)
    rounds = check_int("rounds", rounds if rounds is not None else getattr(schedule, "rounds", None) or 10, low=1)
    if not any(schedule.should_prune(r) for r in range(1, rounds + 1)):
        raise ValueError(f"the schedule {schedule!r} never prunes in rounds 1..{rounds}; nothing would happen")
    structured = check_bool("structured", structured)
    scope = check_choice("scope", _default_scope(scope, structured), SCOPES)
    check_scores_argument(scores)
    epochs_per_round = check_int("epochs_per_round", epochs_per_round, low=0)
    batch_size = check_int("batch_size", batch_size, low=1)
    if optimizer_factory is None:
        optimizer_factory = lambda: Adam(lr=1e-3)  # noqa: E731  (the documented default)
    check_callable("optimizer_factory", optimizer_factory, "a callable returning a fresh optimizer")
    if not isinstance(optimizer_factory(), Optimizer):
        raise TypeError("optimizer_factory must return a minnet Optimizer such as Adam(lr=1e-3)")
    if target_sparsity is not None:
        check_real("target_sparsity", target_sparsity, low=0, high=1)
    if max_accuracy_drop is not None:
        check_real("max_accuracy_drop", max_accuracy_drop, low=0, high=1)
    if max_nonzero_params is not None:
        check_int("max_nonzero_params", max_nonzero_params, low=0)
    if max_macs is not None:
        check_int("max_macs", max_macs, low=0)
    if max_latency_ms is not None:
        check_real("max_latency_ms", max_latency_ms, low=0, low_inclusive=False)
        if latency_input is None:
            raise ValueError("max_latency_ms needs latency_input=<a batch to time the model on>")
    if latency_input is not None:
        latency_input = check_array("latency_input", latency_input, min_ndim=2)
        model.output_shapes(latency_input.shape[1:])
    as_generator(rng)
    verbose = check_bool("verbose", verbose)
    with restored_on_error(model):
        input_shape = tuple(X.shape[1:])
        result = LoopResult(dense_accuracy=evaluate(model, X_val, y_val).accuracy)
        prune_fn = prune_units if structured else prune
        for r in range(1, rounds + 1):
            if not schedule.should_prune(r):
                continue
            previous = model.state_dict()
            report = prune_fn(model, sparsity=schedule.sparsity(r), scores=scores, scope=scope)
            if epochs_per_round:
                fit(
                    model,
                    X,
                    y,
                    epochs=epochs_per_round,
                    optimizer=optimizer_factory(),
                    batch_size=batch_size,
                    rng=rng,
                    verbose=False,
                )
            accuracy = evaluate(model, X_val, y_val).accuracy
            if max_accuracy_drop is not None and accuracy < result.dense_accuracy - max_accuracy_drop:
                model.load_state_dict(previous)
                result.stopped_because = (
                    f"round {r} lost {result.dense_accuracy - accuracy:.4f} accuracy, more than "
                    f"the budget {max_accuracy_drop}; round {r} undone"
                )
                break
            record = Round(
                r,
                schedule.sparsity(r),
                report.sparsity,
                accuracy,
                *_measure(model, input_shape, latency_input, structured),
            )
            result.rounds.append(record)
            if verbose:
                print(f"round {r}: sparsity {record.sparsity:.3f}, validation accuracy {accuracy:.4f}")
            budgets = [
                ("target sparsity", target_sparsity, record.sparsity, True),
                ("nonzero parameter budget", max_nonzero_params, record.nonzero_params, False),
                ("MAC budget", max_macs, record.macs, False),
                ("latency budget", max_latency_ms, record.latency_ms, False),
            ]
            met = [
                name
                for name, limit, value, at_least in budgets
                if limit is not None and value is not None and (value >= limit if at_least else value <= limit)
            ]
            if met:
                result.stopped_because = f"{met[0]} reached after round {r}"
                break
        else:
            result.stopped_because = f"schedule finished after {rounds} rounds"
        return result


def _default_scope(scope, structured: bool):
    """Global for weights, local for units (unit norms of different layers are not comparable)."""
    if scope is None:
        return "local" if structured else "global"
    return scope


def _check_layer_list(layers):
    if layers is not None and not isinstance(layers, (list, tuple, range)):
        raise TypeError(f"layers must be a list of layer indices such as [0, 2], got {type(layers).__name__}")
    return layers


def _check_schedule(schedule) -> None:
    if not (callable(getattr(schedule, "sparsity", None)) and callable(getattr(schedule, "should_prune", None))):
        raise TypeError(
            f"schedule must have sparsity(r) and should_prune(r), like minnet.prune.Iterative, "
            f"got {type(schedule).__name__}"
        )


class GradualPruning(Callback):
    """Prune during ``fit`` along a step-based schedule (e.g. ``PolynomialDecay``).

    At every optimizer step where ``schedule.should_prune(step)``, the model
    is pruned to ``schedule.sparsity(step)`` (masks compose, so each step
    only removes the difference). ``scores``, ``scope`` and ``names`` are
    passed to ``prune``; ``structured=True`` uses ``prune_units`` instead, on
    ``layers`` (default: all but the output layer). ``scope`` defaults to
    global for weights and local for units. ``history`` records (step,
    sparsity) pairs.
    """

    def __init__(
        self, schedule, *, scores=None, scope: str | None = None, names=None, structured: bool = False, layers=None
    ):
        _check_schedule(schedule)
        if isinstance(schedule, PolynomialDecay) and schedule.frequency > schedule.end_step - schedule.begin_step:
            raise ValueError(
                f"the schedule prunes every {schedule.frequency} steps but spans only "
                f"{schedule.end_step - schedule.begin_step} (begin_step {schedule.begin_step} to end_step "
                f"{schedule.end_step}): it would prune once, at begin_step, and never reach final_sparsity "
                f"{schedule.final_sparsity}; use a smaller frequency"
            )
        structured = check_bool("structured", structured)
        if layers is not None and not structured:
            raise ValueError("layers selects units for structured=True; to choose weights, pass names=[...]")
        self.schedule, self.scores, self.names, self.layers = schedule, scores, names, layers
        self.structured = structured
        self.scope = check_choice("scope", _default_scope(scope, structured), SCOPES)
        check_scores_argument(scores)
        if structured:
            layers = _check_layer_list(layers)
        else:
            names = check_names("names", names)
        self.history: list[tuple[int, float]] = []

    def on_train_begin(self, model, optimizer):
        if self.structured:
            self.layers = check_layers(model, self.layers)
        else:
            self.names = check_parameter_names(model, self.names)
        self._prune_at(model, 0)  # fit counts steps from 1; a schedule may begin at step 0

    def on_step_end(self, model, step):
        self._prune_at(model, step)

    def _prune_at(self, model, step):
        if not self.schedule.should_prune(step):
            return
        target = self.schedule.sparsity(step)
        now = dead_unit_fraction(model, self.layers) if self.structured else masked_fraction(model, self.names)
        if target <= now:
            return
        if self.structured:
            report = prune_units(model, sparsity=target, scores=self.scores, scope=self.scope, layers=self.layers)
        else:
            report = prune(model, sparsity=target, scores=self.scores, scope=self.scope, names=self.names)
        self.history.append((step, report.sparsity))
