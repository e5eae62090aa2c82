"""What a (pruned) model costs: the numbers a notebook prints.

- counts: ``count_parameters``, ``count_nonzero``, ``sparsity``, ``sparsity_per_layer``;
- compute: ``flops``, ``flops_per_layer`` (multiply-accumulates), ``theoretical_speedup``;
- storage: ``model_bytes``, ``bytes_per_layer``, ``compression_ratio``,
  ``save_sparse`` / ``load_sparse``;
- time: ``measure_latency`` -> ``Latency``;
- all of it at once: ``summary_table``.

Parameters are named ``"0.W"`` (layer index, dot, key); per-layer results are
keyed by layer index. A parameter counts as nonzero when its mask (if any)
keeps it and its value is not 0. ``compression_ratio`` and
``theoretical_speedup`` follow ShrinkBench (Blalock et al. 2020).
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple

import numpy as np

from . import io
from .anatomy import parse_name, prunable_layers, unit_axis, unit_keep_mask, weight_names
from .layers import Conv2d
from .model import Sequential, check_sequential
from .validate import check_batch, check_bool, check_choice, check_int, check_path

FORMATS = ("dense", "csr", "bitmask")


# -- counts ------------------------------------------------------------------------------------
def _nonzero(layer, key: str) -> np.ndarray:
    """Bool array: entries of ``layer.params[key]`` that are kept and not 0."""
    value = layer.params[key]
    mask = layer.masks.get(key)
    return value != 0 if mask is None else (value != 0) & mask


def _selected(model, names, default: list[str]) -> list[tuple[str, object, str]]:
    """(name, layer, key) for each of ``names`` (a list of "0.W" names, one name, or None: ``default``)."""
    check_sequential(model)
    if names is not None and not isinstance(names, (str, list, tuple)):
        raise TypeError(f"names must be a parameter name such as '0.W', a list of them, or None, got {names!r}")
    names = default if names is None else [names] if isinstance(names, str) else list(names)
    if len(set(names)) != len(names):
        raise ValueError(f"names must not repeat a parameter, got {names}")
    return [(name, *parse_name(model, name)[1:]) for name in names]


def _all_names(model) -> list[str]:
    return [name for name, _ in check_sequential(model).named_parameters()]


def count_parameters(model, names=None) -> int:
    """Number of entries in the parameters ``names`` (default: all parameters,
    biases and BatchNorm included; pruned entries count too)."""
    return sum(layer.params[key].size for _, layer, key in _selected(model, names, _all_names(model)))


def count_nonzero(model, names=None) -> int:
    """Number of kept (unmasked), nonzero entries in ``names`` (default: all parameters)."""
    return sum(int(_nonzero(layer, key).sum()) for _, layer, key in _selected(model, names, _all_names(model)))


def sparsity_per_layer(model, names=None) -> dict[str, float]:
    """name -> fraction of zero (masked or exactly 0) entries of that parameter.
    Default names: the weights of all Dense/Conv2d layers, output layer included."""
    selected = _selected(model, names, weight_names(model, include_output=True))
    return {name: 1 - float(_nonzero(layer, key).mean()) for name, layer, key in selected}


def sparsity(model, names=None) -> float:
    """Fraction of zero entries over all of ``names`` together (default: the
    weights of all Dense/Conv2d layers, output layer included), in [0, 1]."""
    selected = _selected(model, names, weight_names(model, include_output=True))
    if not selected:
        raise ValueError("names must list at least one parameter (the model has no Dense/Conv2d weights), got none")
    total = sum(layer.params[key].size for _, layer, key in selected)
    return 1 - sum(int(_nonzero(layer, key).sum()) for _, layer, key in selected) / total


def compression_ratio(model) -> float:
    """ShrinkBench's compression ratio: all parameters / nonzero parameters
    (biases and BatchNorm included). 1.0 for a dense model; inf if all are 0."""
    nonzero = count_nonzero(model)
    return count_parameters(model) / nonzero if nonzero else float("inf")


# -- compute -----------------------------------------------------------------------------------
def flops_per_layer(model, input_shape, *, effective: bool = False) -> dict[int, int]:
    """Multiply-accumulates (MACs) per Dense/Conv2d layer (and residual block) for ONE example: layer index -> MACs.

    Dense: in * out; Conv2d: out * in * kh * kw * OH * OW (one MAC per weight per
    output position). Biases, BatchNorm, activations and pooling count 0, as in
    ShrinkBench. ``effective=True`` counts only nonzero (kept, != 0) weights,
    i.e. what a sparse kernel would have to compute. A FLOP count is 2x MACs.
    ``input_shape`` is one example's shape, e.g. (784,) or (1, 28, 28).
    """
    effective = check_bool("effective", effective)
    shapes = check_sequential(model).output_shapes(input_shape)
    inputs = [tuple(input_shape), *shapes]
    macs = {}
    for i in prunable_layers(model, include_output=True):
        layer = model.layers[i]
        weights = int(_nonzero(layer, "W").sum()) if effective else layer.params["W"].size
        positions = int(np.prod(shapes[i][1:])) if isinstance(layer, Conv2d) else 1
        macs[i] = weights * positions
    for i, layer in enumerate(model.layers):  # a residual block costs what its branches cost
        if layer.branches():
            macs[i] = sum(flops(branch, inputs[i], effective=effective) for branch in layer.branches().values())
    return dict(sorted(macs.items()))


def flops(model, input_shape, *, effective: bool = False) -> int:
    """Multiply-accumulates (MACs) of the whole model for ONE example of
    ``input_shape``: the sum of ``flops_per_layer`` (see there). Named flops as
    ShrinkBench and most pruning papers do; the FLOP count is 2x this.

    ``effective=True`` counts only nonzero weights, as ShrinkBench does. After
    structured pruning that still counts the next layer's weights that read a
    removed unit's zeros; ``flops(shrink(model), ...)`` counts what the
    smaller network really computes."""
    return sum(flops_per_layer(model, input_shape, effective=effective).values())


def theoretical_speedup(model, input_shape) -> float:
    """ShrinkBench's theoretical speed-up: dense MACs / effective MACs
    (1.0 for a dense model; inf if no weight is left)."""
    effective = flops(model, input_shape, effective=True)
    return flops(model, input_shape) / effective if effective else float("inf")


# -- storage -----------------------------------------------------------------------------------
def _param_bytes(layer, key: str, fmt: str, sparse: bool, dtype_bytes: int, index_bytes: int) -> int:
    """Bytes to store ``layer.params[key]``; ``sparse`` says whether ``fmt`` applies to it."""
    size = layer.params[key].size
    if fmt == "dense" or not sparse:
        return size * dtype_bytes
    nnz = int(_nonzero(layer, key).sum())
    if fmt == "bitmask":
        return -(-size // 8) + nnz * dtype_bytes
    rows = layer.params[key].shape[unit_axis(layer)]  # CSR of (units, inputs): conv W viewed as (out, in*kh*kw)
    return nnz * (dtype_bytes + index_bytes) + (rows + 1) * index_bytes


def bytes_per_layer(model, fmt: str = "dense", *, dtype_bytes: int = 4, index_bytes: int = 4) -> dict[int, int]:
    """Storage of each layer's parameters in bytes: layer index -> bytes (layers with parameters).

    fmt: "dense" (every entry, ``dtype_bytes`` each), or, for Dense/Conv2d
    weights seen as 2-D (units, inputs) (conv (out, in*kh*kw), Dense W.T):
    "csr": nnz * (dtype_bytes + index_bytes) + (units + 1) * index_bytes
    (values, column indices, row pointers), or "bitmask": ceil(size / 8) +
    nnz * dtype_bytes (one bit per entry plus the kept values). Biases and
    BatchNorm parameters are stored dense in every format; buffers (BatchNorm
    running statistics) are not parameters and not counted.
    """
    check_sequential(model)
    check_choice("fmt", fmt, FORMATS)
    dtype_bytes, index_bytes = (
        check_int("dtype_bytes", dtype_bytes, low=1),
        check_int("index_bytes", index_bytes, low=1),
    )
    weighted = set(prunable_layers(model, include_output=True))
    return {
        i: sum(
            _param_bytes(layer, key, fmt, i in weighted and key == "W", dtype_bytes, index_bytes)
            for key in layer.params
        )
        for i, layer in enumerate(model.layers)
        if layer.params
    }


def model_bytes(model, fmt: str = "dense", *, dtype_bytes: int = 4, index_bytes: int = 4) -> int:
    """Storage of all parameters in bytes, in format ``fmt`` ("dense", "csr" or
    "bitmask"; see ``bytes_per_layer``). dtype_bytes=4 means float32 values."""
    return sum(bytes_per_layer(model, fmt, dtype_bytes=dtype_bytes, index_bytes=index_bytes).values())


def save_sparse(model, path: str | os.PathLike) -> None:
    """Write ``model`` to one ``.npz`` file (no pickle), like ``Sequential.save``, but
    each masked parameter as its kept values plus its mask packed 8 entries a byte
    (the format is ``minnet.io``'s). Read it back with ``load_sparse`` or ``minnet.load``."""
    path = check_path("path", path)
    model = check_sequential(model)
    io.write_model_file(path, model.architecture(), model.state_dict(), sparse=True)


def load_sparse(path: str | os.PathLike) -> Sequential:
    """Rebuild a model written by ``save_sparse`` (or by ``Sequential.save``):
    parameters, masks and buffers exactly as saved (``Sequential.load`` reads both)."""
    return Sequential.load(path)


# -- time --------------------------------------------------------------------------------------
class Latency(NamedTuple):
    """Wall-clock time of one call, in milliseconds: median and quartiles of ``samples``."""

    median_ms: float
    q1_ms: float
    q3_ms: float
    samples: tuple  # every timed call, ms, in order


def measure_latency(fn_or_model, x, *, warmup: int = 3, repeats: int = 20) -> Latency:
    """Time ``fn(x)`` (or ``model.inference(x)`` in one batch, for a Sequential)
    with ``time.perf_counter``: ``warmup`` untimed calls, then ``repeats`` timed ones."""
    warmup = check_int("warmup", warmup, low=0)
    repeats = check_int("repeats", repeats, low=1)
    if isinstance(fn_or_model, Sequential):
        x = check_batch("x", x, finite=False)
        model = fn_or_model

        def call():
            return model.inference(x, batch_size=len(x))
    elif callable(fn_or_model):

        def call():
            return fn_or_model(x)
    else:
        raise TypeError(f"fn_or_model must be a callable or a Sequential, got {type(fn_or_model).__name__}")
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return _latency(samples)


def _latency(samples) -> Latency:
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Latency(float(median), float(q1), float(q3), tuple(samples))


def compare_latency(
    contenders: dict, *, rounds: int = 5, repeats: int = 3, warmup: int = 1, warmup_every_turn: bool = False
) -> dict:
    """Time several contenders fairly: name -> (fn_or_model, x) in, name -> Latency out.

    After ``warmup`` untimed calls each, the contenders take turns for
    ``rounds`` rounds of ``repeats`` timed calls, so that load from elsewhere
    on the machine (another program, a turbo clock fading) hits all of them
    alike instead of whichever ran last. Compare medians, or their ratios.
    ``warmup_every_turn``: the untimed calls come before every turn instead,
    for long calls (a training epoch) whose caches, or whose spinning BLAS
    threads left by the previous contender, would otherwise be timed.
    """
    warmup_every_turn = check_bool("warmup_every_turn", warmup_every_turn)
    if not isinstance(contenders, dict) or not contenders:
        raise TypeError(f"contenders must be a non-empty dict name -> (fn_or_model, x), got {contenders!r}")
    rounds = check_int("rounds", rounds, low=1)
    repeats = check_int("repeats", repeats, low=1)
    warmup = check_int("warmup", warmup, low=0)
    for name, entry in contenders.items():
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise TypeError(f"contenders[{name!r}] must be a pair (fn_or_model, x), got {entry!r:.80}")
    samples = {name: [] for name in contenders}
    if warmup and not warmup_every_turn:
        for fn, x in contenders.values():
            measure_latency(fn, x, warmup=warmup - 1, repeats=1)  # ``warmup`` untimed calls in all
    for _ in range(rounds):
        for name, (fn, x) in contenders.items():
            untimed = warmup if warmup_every_turn else 0
            samples[name] += measure_latency(fn, x, warmup=untimed, repeats=repeats).samples
    return {name: _latency(s) for name, s in samples.items()}


# -- everything at once ------------------------------------------------------------------------
def summary_table(model, input_shape) -> str:
    """A table for notebooks: per layer with parameters, its index, type, units
    kept/total (Dense/Conv2d), parameters, nonzero, sparsity, MACs dense and
    effective (one example of ``input_shape``); then totals, ShrinkBench's
    compression ratio and theoretical speed-up."""
    dense, effective = flops_per_layer(model, input_shape), flops_per_layer(model, input_shape, effective=True)
    header = (
        f"{'#':>3}  {'layer':<12}{'units':>12}{'params':>12}{'nonzero':>12}{'sparsity':>10}"
        f"{'MACs':>14}{'eff. MACs':>14}"
    )
    lines = [header]
    for i, layer in enumerate(model.layers):
        if not layer.params:
            continue
        keep = unit_keep_mask(model, i) if i in dense and not layer.branches() else None  # a block: no units
        units = "" if keep is None else f"{int(keep.sum())}/{keep.size}"
        names = [f"{i}.{key}" for key in layer.params]
        n, nz = count_parameters(model, names), count_nonzero(model, names)
        macs = "" if i not in dense else f"{dense[i]:,}"
        eff = "" if i not in dense else f"{effective[i]:,}"
        lines.append(
            f"{i:>3}  {type(layer).__name__:<12}{units:>12}{n:>12,}{nz:>12,}{1 - nz / n:>10.1%}{macs:>14}{eff:>14}"
        )
    n, nz = count_parameters(model), count_nonzero(model)
    total_dense, total_eff = sum(dense.values()), sum(effective.values())
    lines.append(
        f"{'':>3}  {'total':<12}{'':>12}{n:>12,}{nz:>12,}{1 - nz / n if n else 0:>10.1%}"
        f"{total_dense:>14,}{total_eff:>14,}"
    )
    lines.append(
        f"compression ratio {compression_ratio(model):.2f}x, "
        f"theoretical speed-up {theoretical_speedup(model, input_shape):.2f}x (MACs per example)"
    )
    return "\n".join(lines)
