"""A systematic probe: every public callable, each argument replaced by junk.

Whatever the junk, a call either works (much junk is valid somewhere: None,
0, an empty list) or raises ValueError, TypeError or FileNotFoundError, and
a call that raises changes nothing. The readable, message-checking table is
``test_bad_input.py``; this probe makes sure no argument was forgotten.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import warnings

import numpy as np
import pytest
from test_bad_input import fingerprint, world

import minnet
from minnet import data, gradcheck, losses, metrics, validate
from minnet import prune as P

JUNK = {
    "None": None,
    "str": "junk",
    "True": True,
    "negative": -3,
    "nan": float("nan"),
    "inf": float("inf"),
    "list": [],
    "dict": {},
    "empty array": np.array([]),
    "object": object(),
    "complex": 1 + 2j,
    "strings": np.array(["a", "b"]),
}


def valid_arguments(w) -> dict:
    """A valid value for each required parameter name of the public API."""
    return {
        "model": w["model"], "X": w["X"], "y": w["y"], "x": w["X"], "validation": (w["X"], w["y"]),
        "schedule": P.Iterative(0.3, 2), "epochs": 1, "amount": 0.5, "input_shape": (8,),
        "sparsities": [0.1, 0.5], "accuracies": [0.9, 0.8], "dense_accuracy": 0.9, "clean_accuracies": [0.9],
        "shifted_accuracies": [0.8], "dense_clean": 0.9, "dense_shifted": 0.85, "dense_predictions": w["y"],
        "pruned_predictions": w["y"], "labels": w["y"], "strategy": "fine_tune",
        "optimizer_factory": lambda: minnet.Adam(), "weight": np.ones((3, 4)), "axis": 0, "index": 0,
        "keep": np.ones(6, bool), "masks": {}, "state": w["model"].state_dict(), "current_sparsity": 0.1,
        "target_sparsity": 0.5, "fraction_per_round": 0.3, "rounds": 2, "final_sparsity": 0.5, "sparsity": 0.5,
        "initial_sparsity": 0.0, "begin_step": 0, "end_step": 10, "logits": np.zeros((2, 3)),
        "predictions": np.zeros(3), "targets": np.zeros(3), "a": np.ones(2), "b": np.ones(2), "kind": "blur",
        "severity": 1, "sizes": [4, 3], "n": 10, "fn_or_model": w["model"], "contenders": {"a": (w["model"], w["X"])},
        "path": "model.npz", "step_size": 2, "in_features": 3, "out_features": 2, "in_channels": 1,
        "out_channels": 2, "kernel_size": 3, "num_features": 3, "layer": minnet.Dense(3, 2, dtype=np.float64),
        "f": lambda: 0.0, "loss": losses.softmax_cross_entropy, "step": 3, "fn": lambda s: 0.5,
        "obj": P.OneShot(0.5), "n_examples": 40, "n_classes": 3, "scores": np.ones(5),
        "activations": np.ones((3, 4)), "grad": np.ones((3, 4)), "val_fraction": 0.15, "test_fraction": 0.2,
        "rng": 0, "name": "relu", "value": 3, "choices": ("a", "b"), "cls": int, "what": "an int",
        "ms": 1.0, "latency_input": w["X"][:4], "drop": 0.02, "count": 100, "macs": 100,
        "body": minnet.Sequential(minnet.ReLU()), "members": [("0.W", 1, 0), ("0.b", 0, 0)],
        "groups": P.dependency_groups(w["model"]),
    }  # fmt: skip


def public_callables():
    found, seen = [], set()
    for module in (minnet, P, metrics, data, gradcheck, losses, validate):
        for name in dir(module):
            obj = getattr(module, name)
            if name.startswith("_") or inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            if not getattr(obj, "__module__", "").startswith("minnet") or _is_record(obj):
                continue
            seen.add(id(obj))
            found.append((f"{module.__name__}.{name}", obj))
    return found


def _is_record(obj) -> bool:
    """Exceptions and result records (NamedTuple, dataclass): they hold what they are given."""
    if not isinstance(obj, type):
        return False
    return issubclass(obj, BaseException) or hasattr(obj, "_fields") or dataclasses.is_dataclass(obj)


def calls():
    for label, fn in public_callables():
        try:
            params = [
                p
                for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
        except (TypeError, ValueError):
            continue
        for param in params:
            yield pytest.param(fn, param.name, [p for p in params if p.default is p.empty], id=f"{label}({param.name})")


PRISTINE = None


@pytest.mark.parametrize("fn, target, required", list(calls()))
def test_junk_in_any_argument_is_refused_cleanly(fn, target, required, tmp_path, monkeypatch):
    global PRISTINE
    monkeypatch.chdir(tmp_path)  # functions that write files write here
    monkeypatch.setattr(minnet.data, "_fetch_openml", _offline)
    warnings.simplefilter("ignore")
    if PRISTINE is None:
        PRISTINE = world()
    table = valid_arguments(PRISTINE)
    unknown = [p.name for p in required if p.name != target and p.name not in table]
    assert not unknown, f"add a valid value for {unknown} to valid_arguments()"
    for junk_name, junk in JUNK.items():
        w = copy.deepcopy(PRISTINE)
        args = {p.name: valid_arguments(w)[p.name] for p in required if p.name != target}
        args[target] = copy.deepcopy(junk)
        before = fingerprint(w)
        try:
            fn(**args)
        except (ValueError, TypeError, FileNotFoundError):
            assert fingerprint(w) == before, f"{target}={junk_name}: raised after changing state"
        except Exception as exc:  # noqa: BLE001  (the point: no other exception type)
            pytest.fail(f"{target}={junk_name}: {type(exc).__name__}: {exc}")


def _offline(*args, **kwargs):
    raise OSError("offline")
