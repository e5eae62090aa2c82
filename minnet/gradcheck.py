"""Numerical gradient checks (centred differences in float64), CS231n style.

    rel_error(analytic, numeric) < 1e-6   # backprop agrees with calculus

Two relative errors: ``rel_error`` compares element by element (CS231n's),
``norm_rel_error`` compares whole arrays. ``check_layer``/``check_model``
report the latter: some gradients are exactly zero in theory (BatchNorm's
input gradient sums to zero per channel), so an element can be ~1e-7 where
centred differences carry ~1e-9 of rounding noise, and an elementwise ratio
then measures the noise, not the backprop.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer
from .model import check_sequential
from .utils import as_generator
from .validate import check_array, check_callable, check_real


def rel_error(a, b) -> float:
    """Largest elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)``."""
    a, b = _pair(a, b)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def norm_rel_error(a, b) -> float:
    """Relative error of whole arrays: ``||a - b|| / max(1e-12, ||a|| + ||b||)``."""
    a, b = _pair(a, b)
    return float(np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b)))


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d x by centred differences ``(f(x+eps) - f(x-eps)) / (2 eps)``.

    ``f`` takes no argument and returns a scalar computed from ``x``, which is
    changed in place one entry at a time and restored. Use float64 arrays:
    in float32 the rounding error swamps the difference.
    """
    check_callable("f", f, "a function of no arguments returning a number")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float64 array (changed in place) for a meaningful gradient check, got {got}")
    eps = check_real("eps", eps, low=0, low_inclusive=False)
    grad = np.zeros_like(x)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)  # views into x and grad
    for i in range(flat.size):  # one entry at a time, by definition of a partial derivative
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def check_layer(layer, x: np.ndarray, *, rng=0, eps: float = 1e-6) -> dict[str, float]:
    """Relative errors of ``layer``'s backward against numerical gradients.

    Uses the scalar loss ``sum(forward(x) * R)`` with a fixed random R, so
    every output element matters. Returns ``{"x": err, "W": err, ...}``.
    The layer and ``x`` must be float64.
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"layer must be a minnet Layer, got {type(layer).__name__}")
    check_real("eps", eps, low=0, low_inclusive=False)
    x = np.array(check_array("x", x), dtype=np.float64)
    out = layer.forward(x)
    weights = as_generator(rng).standard_normal(out.shape)

    def loss():
        return float(np.sum(layer.forward(x) * weights))

    layer.forward(x)
    errors = {"x": norm_rel_error(layer.backward(weights), numerical_gradient(loss, x, eps))}
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    for key, param in layer.params.items():
        errors[key] = norm_rel_error(analytic[key], numerical_gradient(loss, param, eps))
    return errors


def check_model(model, x: np.ndarray, y: np.ndarray, loss, *, eps: float = 1e-6) -> dict[str, float]:
    """Relative errors of the gradients of ``loss(model(x), y)`` wrt every
    parameter (by name) and the input ``"x"``. The model must be float64."""
    check_sequential(model)
    check_callable("loss", loss, "a loss function (outputs, targets) -> (value, gradient)")
    check_real("eps", eps, low=0, low_inclusive=False)
    x = np.array(check_array("x", x), dtype=np.float64)

    def value():
        return loss(model.forward(x), y)[0]

    _, grad = loss(model.forward(x), y)
    errors = {"x": norm_rel_error(model.backward(grad), numerical_gradient(value, x, eps))}
    analytic = {name: layer.grads[key].copy() for name, layer, key in model.parameter_slots()}
    for name, layer, key in model.parameter_slots():
        errors[name] = norm_rel_error(analytic[name], numerical_gradient(value, layer.params[key], eps))
    return errors


def _pair(a, b):
    a = check_array("a", a, finite=False, non_empty=False).astype(np.float64)
    b = check_array("b", b, finite=False, non_empty=False).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return a, b
