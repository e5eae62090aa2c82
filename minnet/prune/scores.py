"""Importance scores: how much each weight, neuron or filter matters.

HIGHER SCORE = MORE IMPORTANT = kept; pruning removes the lowest scores.

Weight-level scores return ``{"0.W": array}``: one float64 array per
parameter name, of the parameter's shape. By default they cover
``weight_names(model)``, the Dense/Conv2d weights except the output layer;
``names=[...]`` picks any parameters (``"0.b"``, ``"2.gamma"`` too).

Unit-level scores return ``{0: array}``: one float64 array of shape (units,)
per Dense/Conv2d layer index (units = output neurons or filters). By default
they cover ``prunable_layers(model)``.

No score changes the model: parameters, masks, BatchNorm running statistics,
gradients and the training/eval mode of every layer stay as they were. The
scores that run the model (gradients, activations) work on a copy in eval
mode, so BatchNorm uses its running statistics and Dropout is off: the score
describes the network that will be evaluated, not one random training pass.

Already pruned weights (``layer.masks[key]`` False) score exactly 0 in every
weight-level score, so a pruned weight never outranks a kept one (the mask
functions rank kept entries only anyway).

    scores = magnitude_scores(model)                    # |w|
    scores = taylor_scores(model, X[:256], y[:256])     # |w * dL/dw|

What each score needs after the model: nothing (magnitude, random, lamp,
unit_norm, batchnorm_scale), a batch X (mean_activation, apoz), or X and
labels y (gradient, taylor, snip, obd, taylor_unit). ``WEIGHT_SCORES`` and
``UNIT_SCORES`` map short names to the functions.
"""

from __future__ import annotations

import numpy as np

from ..anatomy import check_layers, check_parameter_names, parse_name, prunable_layers, tied_batchnorm, unit_axis
from ..layers import ACTIVATIONS, BatchNorm, ReLU
from ..losses import softmax_cross_entropy
from ..utils import as_generator
from ..validate import check_array, check_batch, check_callable, check_int, is_int
from .masks import slice_norms

ACTIVATION_TYPES = tuple(ACTIVATIONS.values())

# -- argument checks ------------------------------------------------------------


def _check_ord(ord) -> int:
    if not is_int(ord):
        raise TypeError(f"ord must be 1 or 2, got {type(ord).__name__} {ord!r}")
    if ord not in (1, 2):
        raise ValueError(f"ord must be 1 or 2, got {ord!r}")
    return int(ord)


def _check_batch(X, y=None):
    """X as a non-empty (N, ...) array of finite real numbers; y, if given, of length N."""
    X = check_batch("X", X, min_ndim=2)
    if y is None:
        return X
    y = check_array("y", y, non_empty=False)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"y must have one entry per example of X ({len(X)}), got shape {y.shape}")
    return X, y


def _check_loss(loss):
    return check_callable("loss", loss, "a function (outputs, targets) -> (value, gradient)")


# -- shared pieces ----------------------------------------------------------------


def _weights(model, names) -> dict[str, np.ndarray]:
    """float64 copies of the named parameters."""
    out = {}
    for name in names:
        _, layer, key = parse_name(model, name)
        out[name] = layer.params[key].astype(np.float64)
    return out


def _zero_pruned(model, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Set the scores of masked (pruned) entries to 0, in place; return ``scores``."""
    for name, score in scores.items():
        _, layer, key = parse_name(model, name)
        if key in layer.masks:
            score[~layer.masks[key]] = 0.0
    return scores


def _eval_copy(model):
    """A copy of ``model`` in eval mode: runs on it leave ``model`` untouched."""
    return model.copy().eval()


def _gradients(model, X, y, loss, names) -> dict[str, np.ndarray]:
    """dL/dp (float64, shape of p) for each named parameter, L = loss(model(X), y)
    (the mean over the batch for minnet's losses). One forward and one backward
    pass; ``model`` must be a throwaway copy (see ``_eval_copy``)."""
    _, grad_out = loss(model.forward(X), y)
    model.backward(grad_out, input_grad=False)
    grads = {}
    for name in names:
        index, _, key = parse_name(model, name)
        grads[name] = model.layers[index].grads[key].astype(np.float64)
    return grads


def _backward(model, grad_out, keep) -> dict[int, np.ndarray]:
    """Backpropagate dL/d(output) after ``model.forward_keeping``; return dL/d(output of
    layer i) for every i in ``keep``, stopping at the earliest one."""
    grads, first = {}, min(keep)
    for j in range(len(model.layers) - 1, first - 1, -1):
        if j in keep:
            grads[j] = grad_out
        if j > first:
            grad_out = model.layers[j].backward(grad_out)  # now dL/d(output of layer j - 1)
    return grads


def _per_unit(a, reduce) -> np.ndarray:
    """Reduce an (N, units) or (N, units, H, W) array over every axis but 1."""
    return reduce(a, axis=tuple(ax for ax in range(a.ndim) if ax != 1)).astype(np.float64)


def _activation_index(model, index: int) -> int:
    """Index of the activation layer that follows layer ``index`` (after an
    optional BatchNorm), or ``index`` itself if no activation follows."""
    j = index + 1
    if j < len(model.layers) and isinstance(model.layers[j], BatchNorm):
        j += 1
    if j < len(model.layers) and isinstance(model.layers[j], ACTIVATION_TYPES):
        return j
    return index


# -- weight-level scores ------------------------------------------------------------


def declares(*, data: bool, default_layers=None):
    """Mark a score function with what it needs, for ``prune`` and ``prune_units``
    to read instead of guessing: ``data``, whether it takes a batch (X, and y for
    the loss-based ones); ``default_layers``, a function model -> the layers it
    scores when none are named (None: the usual prunable layers)."""

    def mark(score_fn):
        score_fn.needs_data = data
        score_fn.default_layers = default_layers
        return score_fn

    return mark


def batchnorm_layers(model) -> list[int]:
    """The prunable layers a BatchNorm normalises (``tied_batchnorm``)."""
    return [i for i in prunable_layers(model) if tied_batchnorm(model, i) is not None]


@declares(data=False)
def magnitude_scores(model, *, ord=1, names=None) -> dict[str, np.ndarray]:
    """|w| (``ord=1``) or w**2 (``ord=2``), for each named weight. Same ranking
    either way; ord=2 is the form OBD and LAMP build on."""
    ord = _check_ord(ord)
    weights = _weights(model, check_parameter_names(model, names))
    return _zero_pruned(model, {name: np.abs(w) ** ord for name, w in weights.items()})


@declares(data=False)
def random_scores(model, *, rng=0, names=None) -> dict[str, np.ndarray]:
    """Uniform draws in [0, 1) from ``rng``, one per weight, in the order of
    ``names``: the baseline every other score must beat."""
    gen, weights = as_generator(rng), _weights(model, check_parameter_names(model, names))
    return _zero_pruned(model, {name: gen.random(w.shape) for name, w in weights.items()})


@declares(data=True)
def gradient_scores(model, X, y, *, loss=softmax_cross_entropy, names=None) -> dict[str, np.ndarray]:
    """|dL/dw| of the mean loss on the batch X (N, ...), y (N,), in eval mode."""
    names = check_parameter_names(model, names)
    X, y = _check_batch(X, y)
    grads = _gradients(_eval_copy(model), X, y, _check_loss(loss), names)
    return _zero_pruned(model, {name: np.abs(g) for name, g in grads.items()})


@declares(data=True)
def taylor_scores(model, X, y, *, loss=softmax_cross_entropy, names=None) -> dict[str, np.ndarray]:
    """First-order Taylor |w * dL/dw| (Molchanov et al. 2017, 2019): the
    predicted change of the mean loss on (X, y) if w is set to 0. Eval mode."""
    names = check_parameter_names(model, names)
    X, y = _check_batch(X, y)
    grads = _gradients(_eval_copy(model), X, y, _check_loss(loss), names)
    return _zero_pruned(model, {name: np.abs(w * grads[name]) for name, w in _weights(model, names).items()})


@declares(data=True)
def snip_scores(model, X, y, *, loss=softmax_cross_entropy, names=None) -> dict[str, np.ndarray]:
    """SNIP connection sensitivity (Lee et al. 2019): |w * dL/dw| divided by its
    sum over all selected weights, so the scores sum to 1 (all zeros if every
    product is 0). Meant for a freshly initialised model and one batch. Eval mode."""
    scores = taylor_scores(model, X, y, loss=loss, names=names)
    total = sum(float(s.sum()) for s in scores.values())
    return {name: s / total for name, s in scores.items()} if total > 0 else scores


@declares(data=True)
def obd_scores(model, X, y, *, loss=softmax_cross_entropy, batch_size=32, names=None) -> dict[str, np.ndarray]:
    """Optimal Brain Damage saliency 0.5 * H_ii * w**2 (LeCun et al. 1990).

    The Hessian diagonal H_ii is approximated by the empirical Fisher: the
    mean over mini-batches of the squared mini-batch gradient g_b**2, with the
    batches taken in order, ``X[0:batch_size]``, ``X[batch_size:2*batch_size]``,
    ... (a shorter last batch counts as much as the others). ``batch_size=1``
    gives the exact empirical Fisher diagonal (mean of per-example squared
    gradients); larger batches are cheaper but average the examples' gradients
    before squaring, which shrinks the values and can change their balance.
    OBD assumes a trained model (gradient ~ 0), so that the second-order term
    dominates. Eval mode.
    """
    names = check_parameter_names(model, names)
    X, y = _check_batch(X, y)
    batch_size = check_int("batch_size", batch_size, low=1)
    loss, work = _check_loss(loss), _eval_copy(model)
    starts = range(0, len(X), batch_size)
    fisher = {name: 0.0 for name in names}
    for start in starts:
        grads = _gradients(work, X[start : start + batch_size], y[start : start + batch_size], loss, names)
        for name in names:
            fisher[name] = fisher[name] + grads[name] ** 2 / len(starts)
    return _zero_pruned(model, {name: 0.5 * fisher[name] * w**2 for name, w in _weights(model, names).items()})


@declares(data=False)
def lamp_scores(model, *, names=None) -> dict[str, np.ndarray]:
    """LAMP (Lee et al. 2021): within each weight, sort w**2 ascending; entry u
    scores w_u**2 / sum of w_v**2 over the entries v at or after u in that order
    (equal values ordered by flat index, so the lower index scores lower and is
    pruned first). The largest weight of each layer scores exactly 1, so a
    global ranking of LAMP scores is layer-adaptive. Masked entries score 0 and
    are left out of the sums; an entry whose sum is 0 (an all-zero layer) scores 0.
    """
    scores = {}
    for name, w in _weights(model, check_parameter_names(model, names)).items():
        _, layer, key = parse_name(model, name)
        squares = np.where(layer.masks.get(key, True), w**2, 0.0).ravel()
        order = np.argsort(squares, kind="stable")
        ascending = squares[order]
        tails = np.cumsum(ascending[::-1])[::-1]  # tails[k] = sum of ascending[k:]
        score = np.zeros_like(squares)
        score[order] = np.divide(ascending, tails, out=np.zeros_like(tails), where=tails > 0)
        scores[name] = score.reshape(w.shape)
    return _zero_pruned(model, scores)


# -- unit-level scores --------------------------------------------------------------


@declares(data=False)
def unit_norm_scores(model, *, ord=2, layers=None) -> dict[int, np.ndarray]:
    """The ``ord``-norm of each unit's weights (a column of a Dense W, a filter
    W[j] of a Conv2d), over all axes but the unit axis: the ranking of torch's
    ``ln_structured`` and of ``structured_mask``. Biases are not included."""
    ord = _check_ord(ord)
    layers = check_layers(model, layers)
    return {i: slice_norms(model.layers[i].params["W"], unit_axis(model.layers[i]), ord) for i in layers}


@declares(data=True)
def mean_activation_scores(model, X, *, layers=None) -> dict[int, np.ndarray]:
    """Mean over the examples of X (and over spatial positions for Conv2d) of each
    unit's output after the layer's activation: the first activation layer after
    it, past an optional BatchNorm; the layer's raw output if no activation
    follows. Eval mode, one forward pass."""
    layers = check_layers(model, layers)
    X = _check_batch(X)
    at = {index: _activation_index(model, index) for index in layers}
    _, outputs = _eval_copy(model).forward_keeping(X, set(at.values()))
    return {index: _per_unit(outputs[at[index]], np.mean) for index in layers}


@declares(data=True)
def apoz_scores(model, X, *, layers=None) -> dict[int, np.ndarray]:
    """1 - APoZ (Hu et al. 2016), where APoZ is the Average Percentage of Zeros
    of a unit's ReLU output over the examples of X (and spatial positions): a
    unit that is almost always 0 scores near 0. Each layer must be followed by a
    ReLU (past an optional BatchNorm). Eval mode, one forward pass."""
    layers = check_layers(model, layers)
    X = _check_batch(X)
    at = {index: _activation_index(model, index) for index in layers}
    for index, j in at.items():
        if not isinstance(model.layers[j], ReLU):
            found = "nothing" if j == index else repr(model.layers[j])
            raise ValueError(
                f"apoz_scores needs a ReLU after layer {index} (optionally after a BatchNorm), found {found}"
            )
    _, outputs = _eval_copy(model).forward_keeping(X, set(at.values()))
    return {index: 1.0 - _per_unit(outputs[at[index]] == 0, np.mean) for index in layers}


@declares(data=True)
def taylor_unit_scores(model, X, y, *, loss=softmax_cross_entropy, layers=None) -> dict[int, np.ndarray]:
    """Molchanov et al. 2017 per unit: |sum over examples and spatial positions of
    a * dL/da|, where a is the layer's own output (before BatchNorm and the
    activation) and L the mean loss on (X, y); equivalently |mean over examples
    of sum over positions of a * dl_n/da| with l_n the loss of example n. It is
    the predicted change of the mean loss if the unit's output is set to 0.
    Eval mode."""
    layers = check_layers(model, layers)
    X, y = _check_batch(X, y)
    loss, work = _check_loss(loss), _eval_copy(model)
    out, acts = work.forward_keeping(X, set(layers))
    _, grad_out = loss(out, y)
    grads = _backward(work, grad_out, set(layers))
    return {index: np.abs(_per_unit(acts[index] * grads[index], np.sum)) for index in layers}


@declares(data=False, default_layers=batchnorm_layers)
def batchnorm_scale_scores(model, *, layers=None) -> dict[int, np.ndarray]:
    """Network slimming (Liu et al. 2017): |gamma| of the BatchNorm tied to each
    layer (``tied_batchnorm``). Default: the prunable layers that have one."""
    layers = batchnorm_layers(model) if layers is None else check_layers(model, layers)
    scores = {}
    for index in layers:
        bn = tied_batchnorm(model, index)
        if bn is None:
            raise ValueError(f"layer {index} ({model.layers[index]!r}) has no BatchNorm after it, so no gamma to score")
        scores[index] = np.abs(model.layers[bn].params["gamma"].astype(np.float64))
    return scores


WEIGHT_SCORES = {
    "magnitude": magnitude_scores,
    "random": random_scores,
    "gradient": gradient_scores,
    "taylor": taylor_scores,
    "snip": snip_scores,
    "obd": obd_scores,
    "lamp": lamp_scores,
}

UNIT_SCORES = {
    "norm": unit_norm_scores,
    "mean_activation": mean_activation_scores,
    "apoz": apoz_scores,
    "taylor": taylor_unit_scores,
    "bn_scale": batchnorm_scale_scores,
}
