"""Budgets: when the pruning loop stops.

A budget reads the record of a round (``Round``: sparsity, validation
accuracy, nonzero parameters, MACs, latency) and says whether it is met.
A goal (``TargetSparsity``, ``MaxNonzeroParams``, ``MaxMACs``,
``MaxLatency``) stops the loop after the round that meets it. A limit
(``MaxAccuracyDrop``) stops the loop too, but undoes the round that broke it.
"""

from __future__ import annotations

from ..validate import check_array, check_int, check_real


class Budget:
    """``met(record)`` says whether the loop stops after this round."""

    name = "budget"
    undo = False  # a limit: the round that meets it is undone
    latency_input = None  # a batch to time every round on, for a budget on latency

    def met(self, record) -> bool:
        raise NotImplementedError

    def check(self, model) -> None:
        """Fail before the first round if the budget cannot apply to ``model``."""

    def reason(self, record) -> str:
        return f"{self.name} reached after round {record.round}"


class TargetSparsity(Budget):
    """Met once the pruned fraction reaches ``sparsity`` (in [0, 1])."""

    name = "target sparsity"

    def __init__(self, sparsity: float):
        self.sparsity = check_real("sparsity", sparsity, low=0, high=1)

    def met(self, record) -> bool:
        return record.sparsity >= self.sparsity

    def __repr__(self) -> str:
        return f"TargetSparsity({self.sparsity})"


class MaxNonzeroParams(Budget):
    """Met once the model holds at most ``count`` nonzero parameters."""

    name = "nonzero parameter budget"

    def __init__(self, count: int):
        self.count = check_int("count", count, low=0)

    def met(self, record) -> bool:
        return record.nonzero_params <= self.count

    def __repr__(self) -> str:
        return f"MaxNonzeroParams({self.count})"


class MaxMACs(Budget):
    """Met once one example costs at most ``macs`` effective multiply-accumulates."""

    name = "MAC budget"

    def __init__(self, macs: int):
        self.macs = check_int("macs", macs, low=0)

    def met(self, record) -> bool:
        return record.macs <= self.macs

    def __repr__(self) -> str:
        return f"MaxMACs({self.macs})"


class MaxLatency(Budget):
    """Met once the median latency on ``latency_input`` (a batch) is at most ``ms`` milliseconds."""

    name = "latency budget"

    def __init__(self, ms: float, latency_input):
        self.ms = check_real("ms", ms, low=0, low_inclusive=False)
        self.latency_input = check_array("latency_input", latency_input, min_ndim=2)

    def check(self, model) -> None:
        model.output_shapes(self.latency_input.shape[1:])  # names the misfit shape

    def met(self, record) -> bool:
        return record.latency_ms <= self.ms

    def __repr__(self) -> str:
        return f"MaxLatency({self.ms}, latency_input of shape {self.latency_input.shape})"


class MaxAccuracyDrop(Budget):
    """A limit: met when validation accuracy falls more than ``drop`` (a fraction,
    0.01 = one point) below the dense model's; that round is undone."""

    name = "accuracy budget"
    undo = True

    def __init__(self, drop: float):
        self.drop = check_real("drop", drop, low=0, high=1)

    def met(self, record) -> bool:
        return record.val_accuracy < record.dense_accuracy - self.drop

    def reason(self, record) -> str:
        r, lost = record.round, record.dense_accuracy - record.val_accuracy
        return f"round {r} lost {lost:.4f} accuracy, more than the budget {self.drop}; round {r} undone"

    def __repr__(self) -> str:
        return f"MaxAccuracyDrop({self.drop})"
