"""Layers: each one a small class with ``forward``, ``backward`` and dicts.

Every layer has
- ``params``: name -> array of trainable values (``{}`` for activations),
- ``grads``: the same names, filled by ``backward``,
- ``masks``: the same names, boolean arrays (True = kept) attached by pruning;
  ``backward`` multiplies the gradients by them,
- ``training``: True while training (changes Dropout and BatchNorm only).

Images are NCHW: (batch, channels, height, width). ``forward`` caches what
``backward`` needs, so call them in pairs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .utils import as_generator
from .validate import check_array, check_float_dtype, check_int, check_real


class InputShape(NamedTuple):
    """What a layer accepts for one example: its axes, as sizes or names
    (``(64,)``, ``(1, "H", "W")``), and a condition on them, if any."""

    axes: tuple
    condition: str = ""

    def for_batch(self) -> str:
        """``(N, 64)``: the shape of a batch."""
        return self._show(("N", *self.axes))

    def for_example(self) -> str:
        """``(64,)``: the shape of one example, written as Python writes a tuple."""
        return self._show(self.axes)

    def _show(self, axes: tuple) -> str:
        inner = ", ".join(str(a) for a in axes) + ("," if len(axes) == 1 else "")
        return f"({inner})" + (f" {self.condition}" if self.condition else "")


def show_shapes(alternatives, one_example: bool = False) -> str:
    """Every accepted shape, joined by "or"."""
    return " or ".join(s.for_example() if one_example else s.for_batch() for s in alternatives)


class Layer:
    """Base class: no parameters, identity bookkeeping."""

    # True where ``backward(grad_out, input_grad=False)`` can skip the gradient wrt the
    # input, which training never needs for the first layer (Dense, Conv2d)
    input_grad_optional = False

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.masks: dict[str, np.ndarray] = {}
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def __getattr__(self, name):
        # Only reached for a missing attribute: a cache that backward reads before any forward filled it.
        if name.startswith("_") and not name.startswith("__"):
            raise ForwardFirstError(
                f"{type(self).__name__}.backward needs the values of a forward pass: call forward(x) first"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state saved with the model (BatchNorm running stats)."""
        return {}

    def branches(self) -> dict:
        """Named sub-networks (a residual block's body and shortcut); none here."""
        return {}

    def reset_parameters(self, rng=None) -> None:
        """Fresh parameters, masks kept: nothing to draw here (layers with
        parameters override it); draws nothing from ``rng``."""

    def config(self) -> dict:
        """Constructor arguments, JSON-friendly, to rebuild the layer on load."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """The layer ``config()`` describes (weights drawn anew)."""
        return cls(**config)

    def output_shape(self, input_shape: tuple) -> tuple:
        """Shape of one example's output, given one example's input shape."""
        return tuple(input_shape)

    def expected_input(self, shape: tuple) -> tuple[InputShape, ...] | None:
        """None if one example of ``shape`` (no batch axis) fits this layer, else
        the shapes it accepts (``InputShape``; a BatchNorm accepts two)."""
        return None

    def _remember(self, out: np.ndarray) -> np.ndarray:
        """Note the shape of ``forward``'s output, which ``backward`` checks ``grad_out`` against."""
        self._out_shape = out.shape
        return out

    def _check_grad(self, grad_out) -> np.ndarray:
        if np.shape(grad_out) != self._out_shape:
            raise ValueError(
                f"{type(self).__name__}.backward: grad_out must have the shape of the last forward output "
                f"{self._out_shape}, got {np.shape(grad_out)}"
            )
        return grad_out

    def _mask_grads(self):
        for name, mask in self.masks.items():
            self.grads[name] *= mask

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "dtype")
        return f"{type(self).__name__}({args})"

    def label(self) -> str:
        """A short description for ``Sequential.summary``'s table (the repr, unless that is long)."""
        return repr(self)


class ForwardFirstError(ValueError, AttributeError):
    """``backward`` was called before ``forward`` (an AttributeError too, so ``hasattr`` works)."""


def check_layer_input(layer: Layer, x) -> np.ndarray:
    """``x`` as an array of real numbers, or an error naming the layer and both shapes."""
    x = check_array("x", x, finite=False, non_empty=False)
    expected = layer.expected_input(x.shape[1:]) if x.ndim else (InputShape(("...",)),)
    if expected is not None:
        raise ValueError(f"{layer!r} expects input of shape {show_shapes(expected)}, got shape {x.shape}")
    return x


class Dense(Layer):
    """Fully connected layer ``y = x @ W + b``.

    W has shape (in_features, out_features): output neuron j is column j.
    Input (N, in_features), output (N, out_features). He-normal init.
    """

    input_grad_optional = True

    def __init__(self, in_features, out_features, *, rng=None, dtype=np.float32):
        super().__init__()
        self.in_features = check_int("in_features", in_features, low=1)
        self.out_features = check_int("out_features", out_features, low=1)
        self.dtype = check_float_dtype("dtype", dtype)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """Draw fresh weights (He normal) and zero biases; masks are re-applied."""
        gen = as_generator(rng)
        std = np.sqrt(2.0 / self.in_features)
        self.params["W"] = (gen.standard_normal((self.in_features, self.out_features)) * std).astype(self.dtype)
        self.params["b"] = np.zeros(self.out_features, dtype=self.dtype)
        for name, mask in self.masks.items():
            self.params[name] *= mask

    def expected_input(self, shape):
        return None if tuple(shape) == (self.in_features,) else (InputShape((self.in_features,)),)

    def forward(self, x):
        x = check_layer_input(self, x)
        self._x = x.astype(self.dtype, copy=False)
        return self._remember(self._x @ self.params["W"] + self.params["b"])

    def backward(self, grad_out, input_grad=True):
        """Store dL/dW, dL/db; return dL/dx, or None if ``input_grad`` is False."""
        grad_out = self._check_grad(grad_out)
        self.grads["W"] = self._x.T @ grad_out
        self.grads["b"] = grad_out.sum(axis=0)
        self._mask_grads()
        return grad_out @ self.params["W"].T if input_grad else None

    def config(self):
        return {"in_features": self.in_features, "out_features": self.out_features, "dtype": self.dtype.name}

    def output_shape(self, input_shape):
        return (self.out_features,)


class Conv2d(Layer):
    """2-D cross-correlation, like PyTorch's conv2d, by im2col and one matmul.

    W has shape (out_channels, in_channels, kh, kw), b (out_channels,).
    Input (N, C, H, W); output (N, out_channels, OH, OW) with
    OH = (H + 2*padding - kh) // stride + 1 (likewise OW). Zero padding.
    """

    input_grad_optional = True

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0, rng=None, dtype=np.float32):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, low=1)
        self.out_channels = check_int("out_channels", out_channels, low=1)
        self.kernel_size = check_int("kernel_size", kernel_size, low=1)
        self.stride = check_int("stride", stride, low=1)
        self.padding = check_int("padding", padding, low=0)
        self.dtype = check_float_dtype("dtype", dtype)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """Draw fresh weights (He normal) and zero biases; masks are re-applied."""
        gen = as_generator(rng)
        k = self.kernel_size
        std = np.sqrt(2.0 / (self.in_channels * k * k))
        shape = (self.out_channels, self.in_channels, k, k)
        self.params["W"] = (gen.standard_normal(shape) * std).astype(self.dtype)
        self.params["b"] = np.zeros(self.out_channels, dtype=self.dtype)
        for name, mask in self.masks.items():
            self.params[name] *= mask

    def output_shape(self, input_shape):
        _, h, w = input_shape
        k, s, p = self.kernel_size, self.stride, self.padding
        return (self.out_channels, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)

    def expected_input(self, shape):
        side = max(self.kernel_size - 2 * self.padding, 1)
        if len(shape) == 3 and shape[0] == self.in_channels and min(shape[1:]) >= side:
            return None
        return (InputShape((self.in_channels, "H", "W"), f"with H, W >= {side}"),)

    def forward(self, x):
        x = check_layer_input(self, x)
        n, c, h, w = x.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        x = x.astype(self.dtype, copy=False)
        if p:  # zeros and one copy: a third of np.pad's time
            padded = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=self.dtype)
            padded[:, :, p : p + h, p : p + w] = x
            x = padded
        _, oh, ow = self.output_shape((c, h, w))
        windows = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, : s * oh : s, : s * ow : s]
        # im2col per example: (N, C*k*k, OH*OW), each row a run of contiguous output pixels.
        # Then one product per example, W (O, C*k*k) @ cols[n], lands in NCHW order as it is:
        # no transpose copy after, and the next layers read contiguous memory.
        self._cols = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, oh * ow)
        self._padded_shape = x.shape
        out = np.matmul(self.params["W"].reshape(self.out_channels, -1), self._cols)
        out += self.params["b"][:, None]
        return self._remember(out.reshape(n, self.out_channels, oh, ow))

    def backward(self, grad_out, input_grad=True):
        """Store dL/dW, dL/db; return dL/dx, or None if ``input_grad`` is False."""
        n, o, oh, ow = self._check_grad(grad_out).shape
        k, s, p = self.kernel_size, self.stride, self.padding
        g = grad_out.reshape(n, o, oh * ow)  # a view when grad_out is contiguous NCHW
        # dL/dW sums the examples' products g[n] @ cols[n].T: N small products, then one sum. Written
        # as the transpose of cols[n] @ g[n].T: the same sums, but OpenBLAS's kernel for that operand
        # order runs these shapes up to twice as fast (benchmarks/train_speed.py, per-layer table)
        grad_w_t = np.matmul(self._cols, g.transpose(0, 2, 1)).sum(axis=0)  # (C*k*k, O)
        self.grads["W"] = grad_w_t.T.reshape(self.params["W"].shape)
        self.grads["b"] = g.sum(axis=(0, 2))
        self._mask_grads()
        if not input_grad:
            return None
        # col2im with the batch innermost, (C, k, k, OH, OW, N): each kernel offset then adds
        # blocks of OW*N contiguous numbers, instead of runs of OW, to the padded gradient
        g_last = np.ascontiguousarray(grad_out.transpose(1, 2, 3, 0)).reshape(o, oh * ow * n)
        c, (_, _, hp, wp) = self.in_channels, self._padded_shape
        dcols = (self.params["W"].reshape(o, -1).T @ g_last).reshape(c, k, k, oh, ow, n)
        dx = np.zeros((c, hp, wp, n), dtype=dcols.dtype)
        for i in range(k):  # one strided add per kernel offset
            for j in range(k):
                dx[:, i : i + s * oh : s, j : j + s * ow : s] += dcols[:, i, j]
        return np.ascontiguousarray(dx[:, p : hp - p, p : wp - p].transpose(3, 0, 1, 2))

    def label(self):
        k, s, p = self.kernel_size, self.stride, self.padding
        return f"Conv2d({self.in_channels}->{self.out_channels}, {k}x{k}, stride={s}, padding={p})"

    def config(self):
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dtype": self.dtype.name,
        }


class MaxPool2d(Layer):
    """Max over k x k windows (stride defaults to k). Input (N, C, H, W).

    The gradient flows to the first maximum of each window (in row-major
    order) only, as in PyTorch.
    """

    def __init__(self, kernel_size=2, stride=None):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, low=1)
        self.stride = self.kernel_size if stride is None else check_int("stride", stride, low=1)

    def output_shape(self, input_shape):
        c, h, w = input_shape
        k, s = self.kernel_size, self.stride
        return (c, (h - k) // s + 1, (w - k) // s + 1)

    def expected_input(self, shape):
        if len(shape) == 3 and min(shape[1:]) >= self.kernel_size:
            return None
        return (InputShape(("C", "H", "W"), f"with H, W >= {self.kernel_size}"),)

    def forward(self, x):
        x = check_layer_input(self, x)
        self._x_shape = x.shape
        if self.stride == self.kernel_size:
            return self._remember(self._forward_tiled(x))
        n, c, h, w = x.shape
        k, s = self.kernel_size, self.stride
        _, oh, ow = self.output_shape((c, h, w))
        # overlapping windows: a running max over the k*k window positions, k*k whole-batch ops
        out = x[:, :, : s * oh : s, : s * ow : s].copy()
        self._argmax = np.zeros(out.shape, dtype=np.int8 if k * k < 128 else np.int32)
        for pos in range(1, k * k):
            i, j = divmod(pos, k)
            candidate = x[:, :, i : i + s * oh : s, j : j + s * ow : s]
            self._argmax += (pos - self._argmax) * (candidate > out)  # strict: ties keep the first maximum
            np.maximum(out, candidate, out=out)
        return self._remember(out)

    def _forward_tiled(self, x):
        """Windows that tile the image (stride == kernel): the max along the width
        within each window, then along the height, each a running max over k
        slices. Two small reductions instead of one over k*k strided views; the
        first maximum of a window is the first along its first row holding one."""
        n, c, h, w = x.shape
        k = self.kernel_size
        _, oh, ow = self.output_shape((c, h, w))
        rows, self._argmax_w = _running_max(x[:, :, : oh * k, : ow * k].reshape(n, c, oh * k, ow, k), axis=4)
        out, self._argmax_h = _running_max(rows.reshape(n, c, oh, k, ow), axis=3)
        return out

    def backward(self, grad_out):
        grad_out = self._check_grad(grad_out)
        if self.stride == self.kernel_size:
            return self._backward_tiled(grad_out)
        k, s = self.kernel_size, self.stride
        oh, ow = grad_out.shape[2:]
        dx = np.zeros(self._x_shape, dtype=grad_out.dtype)
        for pos in range(k * k):  # one strided add per window position
            i, j = divmod(pos, k)
            dx[:, :, i : i + s * oh : s, j : j + s * ow : s] += grad_out * (self._argmax == pos)
        return dx

    def _backward_tiled(self, grad_out):
        n, c, oh, ow = grad_out.shape
        k = self.kernel_size
        rows = _route(grad_out, self._argmax_h, k, axis=3).reshape(n, c, oh * k, ow)
        tiles = _route(rows, self._argmax_w, k, axis=4).reshape(n, c, oh * k, ow * k)
        if tiles.shape == self._x_shape:
            return tiles
        dx = np.zeros(self._x_shape, dtype=grad_out.dtype)  # rows/columns no window covers get 0
        dx[:, :, : oh * k, : ow * k] = tiles
        return dx

    def config(self):
        return {"kernel_size": self.kernel_size, "stride": self.stride}


def _running_max(x: np.ndarray, axis: int):
    """Max of ``x`` along ``axis`` and the index of its first maximum (int8)."""
    size, at = x.shape[axis], (slice(None),) * axis
    if size == 1:
        out = x[at + (0,)].copy()
        return out, np.zeros(out.shape, dtype=np.int8)
    later = x[at + (1,)] > x[at + (0,)]  # strict: ties keep the first maximum
    out = np.maximum(x[at + (0,)], x[at + (1,)])
    first = later.view(np.int8) if size < 128 else later.astype(np.int32)  # True is index 1
    for i in range(2, size):
        candidate = x[at + (i,)]
        later = candidate > out
        first += (i - first) * later  # arithmetic: several times faster than np.where/copyto here
        np.maximum(out, candidate, out=out)
    return out, first


def _route(grad: np.ndarray, index: np.ndarray, size: int, axis: int) -> np.ndarray:
    """The inverse of ``_running_max``: ``grad`` placed at ``index`` along a new ``axis`` of ``size``."""
    routed = np.empty(grad.shape[:axis] + (size,) + grad.shape[axis:], dtype=grad.dtype)
    for i in range(size):  # writes every slot: no need to zero it first
        np.multiply(grad, index == i, out=routed[(slice(None),) * axis + (i,)])
    return routed


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W); any (N, ...) works."""

    def forward(self, x):
        x = check_array("x", x, min_ndim=1, finite=False, non_empty=False)
        self._shape = x.shape
        return self._remember(x.reshape(x.shape[0], -1))

    def backward(self, grad_out):
        return self._check_grad(grad_out).reshape(self._shape)

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)


class GlobalAvgPool2d(Layer):
    """The mean over every pixel of each channel: (N, C, H, W) -> (N, C).

    The usual head of a residual network: a Dense layer after it sees one
    input per channel, whatever the image size."""

    def forward(self, x):
        x = check_layer_input(self, x)
        self._x_shape = x.shape
        return self._remember(x.mean(axis=(2, 3)))

    def backward(self, grad_out):
        n, c, h, w = self._x_shape
        grad = self._check_grad(grad_out) / (h * w)
        return np.broadcast_to(grad[:, :, None, None], self._x_shape).copy()

    def output_shape(self, input_shape):
        return (input_shape[0],)

    def expected_input(self, shape):
        if len(shape) == 3:
            return None
        return (InputShape(("C", "H", "W")),)


class ReLU(Layer):
    """max(x, 0), elementwise."""

    def forward(self, x):
        x = _elementwise_input(x)
        self._positive = x > 0
        return self._remember(np.maximum(x, 0))

    def backward(self, grad_out):
        return self._check_grad(grad_out) * self._positive


class Tanh(Layer):
    """tanh(x), elementwise."""

    def forward(self, x):
        self._out = np.tanh(_elementwise_input(x))
        return self._remember(self._out)

    def backward(self, grad_out):
        return self._check_grad(grad_out) * (1 - self._out**2)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)), elementwise, computed without overflow."""

    def forward(self, x):
        x = _elementwise_input(x)
        e = np.exp(-np.abs(x))
        self._out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self._remember(self._out)

    def backward(self, grad_out):
        return self._check_grad(grad_out) * self._out * (1 - self._out)


def _elementwise_input(x) -> np.ndarray:
    # only the dtype is checked: an elementwise layer takes any shape
    return x if isinstance(x, np.ndarray) and x.dtype.kind == "f" else check_array("x", x, finite=False)


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def activation(name: str) -> Layer:
    """A fresh activation layer by name: 'relu', 'tanh' or 'sigmoid'."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability p and
    scale the rest by 1/(1-p); identity in eval mode. Draws from its own rng."""

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        self.p = check_real("p", p, low=0, high=1, high_inclusive=False)
        self.rng = as_generator(rng)

    def forward(self, x):
        x = _elementwise_input(x)
        if not self.training or self.p == 0:
            self._scale = None
            return self._remember(x)
        keep = self.rng.random(x.shape) >= self.p
        self._scale = (keep / (1 - self.p)).astype(x.dtype)
        return self._remember(x * self._scale)

    def backward(self, grad_out):
        grad_out = self._check_grad(grad_out)
        return grad_out if self._scale is None else grad_out * self._scale

    def config(self):
        return {"p": self.p}


class BatchNorm(Layer):
    """Batch normalisation over every axis but the channel axis 1.

    Works on (N, C) Dense outputs and on (N, C, H, W) conv outputs (per
    channel). Parameters ``gamma`` (scale) and ``beta`` (shift), shape (C,);
    buffers ``running_mean`` and ``running_var`` are used in eval mode and
    updated in training with ``momentum`` as in PyTorch (unbiased variance).
    """

    input_ndims = (2, 4)

    def __init__(self, num_features, *, momentum=0.1, eps=1e-5, dtype=np.float32):
        super().__init__()
        self.num_features = check_int("num_features", num_features, low=1)
        self.momentum = check_real("momentum", momentum, low=0, high=1)
        self.eps = check_real("eps", eps, low=0, low_inclusive=False)
        self.dtype = check_float_dtype("dtype", dtype)
        self.params["gamma"] = np.ones(num_features, dtype=self.dtype)
        self.params["beta"] = np.zeros(num_features, dtype=self.dtype)
        self.running_mean = np.zeros(num_features, dtype=self.dtype)
        self.running_var = np.ones(num_features, dtype=self.dtype)

    def reset_parameters(self, rng=None):
        """Back to gamma = 1, beta = 0 (masks re-applied); running stats reset."""
        self.params["gamma"][...] = 1
        self.params["beta"][...] = 0
        self.running_mean[...] = 0
        self.running_var[...] = 1
        for name, mask in self.masks.items():
            self.params[name] *= mask

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def expected_input(self, shape):
        if len(shape) + 1 in self.input_ndims and shape[0] == self.num_features:
            return None
        forms = {2: InputShape((self.num_features,)), 4: InputShape((self.num_features, "H", "W"))}
        return tuple(forms[d] for d in self.input_ndims)

    def forward(self, x):
        x = check_layer_input(self, x)
        x = x.astype(self.dtype, copy=False)
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
        if self.training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            m = x.size // self.num_features
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mean
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var * m / max(m - 1, 1)
        else:
            mean, var = self.running_mean, self.running_var
        self._inv_std = (1 / np.sqrt(var + self.eps)).reshape(shape)
        self._xhat = (x - mean.reshape(shape)) * self._inv_std
        self._axes, self._shape, self._batch_stats = axes, shape, self.training
        return self._remember(self.params["gamma"].reshape(shape) * self._xhat + self.params["beta"].reshape(shape))

    def backward(self, grad_out):
        grad_out = self._check_grad(grad_out)
        axes, shape, xhat = self._axes, self._shape, self._xhat
        self.grads["gamma"] = (grad_out * xhat).sum(axis=axes)
        self.grads["beta"] = grad_out.sum(axis=axes)
        self._mask_grads()
        dxhat = grad_out * self.params["gamma"].reshape(shape)
        if not self._batch_stats:  # eval mode: mean and var are constants
            return dxhat * self._inv_std
        m = grad_out.size // self.num_features
        return (self._inv_std / m) * (
            m * dxhat - dxhat.sum(axis=axes).reshape(shape) - xhat * (dxhat * xhat).sum(axis=axes).reshape(shape)
        )

    def label(self):
        return f"{type(self).__name__}({self.num_features})"

    def config(self):
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps, "dtype": self.dtype.name}


class BatchNorm1d(BatchNorm):
    """BatchNorm for Dense outputs, input (N, C)."""

    input_ndims = (2,)


class BatchNorm2d(BatchNorm):
    """BatchNorm per channel for conv outputs, input (N, C, H, W)."""

    input_ndims = (4,)


LAYER_TYPES = {
    cls.__name__: cls
    for cls in (
        Dense,
        Conv2d,
        MaxPool2d,
        GlobalAvgPool2d,
        Flatten,
        ReLU,
        Tanh,
        Sigmoid,
        Dropout,
        BatchNorm,
        BatchNorm1d,
        BatchNorm2d,
    )
}
