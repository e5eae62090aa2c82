"""minnet to PyTorch and ONNX and back: the same network, the same masks.

    torch_model = to_torch(model)            # torch.nn.Sequential, masks as torch prune hooks
    model = from_torch(torch_model)          # and back, reading torch's own pruning too
    export_onnx(model, "net.onnx", (64,))    # one file onnxruntime can run

Layer by layer: Dense is ``nn.Linear`` (minnet's W is (in, out), torch's weight
(out, in): transposed), Conv2d, MaxPool2d, Flatten, Dropout, ReLU, Tanh and
Sigmoid are their torch namesakes, BatchNorm1d/2d too, running statistics
included. Three have no exact torch namesake and get a small module here:
``BatchNorm`` (minnet's takes (N, C) and (N, C, H, W) alike), ``Residual``
(body + shortcut) and ``GlobalAvgPool2d`` ((N, C, H, W) -> (N, C)).

A minnet mask becomes ``torch.nn.utils.prune.custom_from_mask``: the torch
module carries ``weight_orig`` and ``weight_mask`` and recomputes
``weight = weight_orig * weight_mask`` before each forward, so the pruned
weights stay zero while torch trains it, as if it had been pruned in torch.
Dtypes are kept (a float64 model stays float64 whatever torch's default).

Needs PyTorch (and onnx, onnxruntime for ONNX): ``pip install -e ".[torch]"``.
"""

import gzip
import os
import re
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .layers import (
    BatchNorm as _MinnetBatchNorm,
)
from .layers import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from .layers import (
    GlobalAvgPool2d as _MinnetGlobalAvgPool2d,
)
from .metrics import compare_latency, count_nonzero
from .model import Residual as _MinnetResidual
from .model import Sequential, check_sequential
from .validate import check_batch, check_int, check_path

try:
    import torch
    from torch import nn
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.utils import prune as torch_prune
except ImportError as missing:  # pragma: no cover - exercised in a subprocess without torch
    raise ImportError(
        "minnet.interop needs PyTorch, an optional extra of the course: "
        "pip install -e '.[torch]' (from the course folder), or pip install torch onnx onnxruntime"
    ) from missing

__all__ = [
    "BatchNorm",
    "Deployment",
    "GlobalAvgPool2d",
    "Residual",
    "compare_deployments",
    "export_onnx",
    "format_deployments",
    "from_torch",
    "onnx_runner",
    "to_torch",
]


class BatchNorm(_BatchNorm):
    """minnet's BatchNorm in torch: per channel (axis 1) for (N, C) and (N, C, H, W) inputs."""

    def _check_input_dim(self, input):
        if input.dim() not in (2, 4):
            raise ValueError(f"BatchNorm expects a 2-D (N, C) or 4-D (N, C, H, W) input, got {input.dim()}-D")


class GlobalAvgPool2d(nn.Module):
    """(N, C, H, W) -> (N, C): the mean over each channel's pixels."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Residual(nn.Module):
    """``body(x) + shortcut(x)``; the shortcut is ``nn.Identity`` for minnet's identity."""

    def __init__(self, body: nn.Sequential, shortcut: nn.Module | None = None):
        super().__init__()
        self.body = body
        self.shortcut = nn.Identity() if shortcut is None else shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


_ACTIVATIONS = {ReLU: nn.ReLU, Tanh: nn.Tanh, Sigmoid: nn.Sigmoid}
_TORCH_BATCHNORMS = {_MinnetBatchNorm: BatchNorm, BatchNorm1d: nn.BatchNorm1d, BatchNorm2d: nn.BatchNorm2d}
# minnet parameter -> torch attribute, per layer kind
_TORCH_NAMES = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, copy=True))


def _swap_layout(layer, key: str, array: np.ndarray) -> np.ndarray:
    """A parameter or mask from minnet's layout to torch's or back: only a Dense
    weight differs, (in, out) in minnet and (out, in) in torch."""
    return array.T if isinstance(layer, Dense) and key == "W" else array


# -- minnet -> torch ----------------------------------------------------------------------------
def to_torch(model) -> nn.Sequential:
    """An equivalent ``torch.nn.Sequential``, with every minnet mask attached as a
    ``torch.nn.utils.prune`` mask (``weight_orig``/``weight_mask``).

    Child ``i`` is minnet layer ``i``, so names match: minnet's ``"3.body.0.W"``
    is torch's ``"3.body.0.weight"``. The torch model is in the same mode
    (train or eval) as ``model`` and shares no memory with it.
    """
    check_sequential(model)
    torch_model = nn.Sequential(*(_layer_to_torch(layer, str(i)) for i, layer in enumerate(model.layers)))
    return torch_model.train(model.training)


def _layer_to_torch(layer, where: str) -> nn.Module:
    kind = type(layer)
    if isinstance(layer, _MinnetResidual):
        body = to_torch(layer.body)
        return Residual(body, None if layer.shortcut is None else to_torch(layer.shortcut))
    if kind in _ACTIVATIONS:
        return _ACTIVATIONS[kind]()
    if kind is Flatten:
        return nn.Flatten()
    if kind is _MinnetGlobalAvgPool2d:
        return GlobalAvgPool2d()
    if kind is Dropout:
        return nn.Dropout(layer.p)
    if kind is MaxPool2d:
        return nn.MaxPool2d(layer.kernel_size, stride=layer.stride)
    dtype = getattr(torch, layer.dtype.name) if hasattr(layer, "dtype") else None
    if kind is Dense:
        module = nn.Linear(layer.in_features, layer.out_features, dtype=dtype)
    elif kind is Conv2d:
        module = nn.Conv2d(
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            dtype=dtype,
        )
    elif kind in _TORCH_BATCHNORMS:
        module = _TORCH_BATCHNORMS[kind](layer.num_features, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
        module.running_mean.copy_(_tensor(layer.running_mean))
        module.running_var.copy_(_tensor(layer.running_var))
    else:
        raise TypeError(
            f"to_torch: layer {where} ({layer!r}) has no torch equivalent here; "
            "supported: Dense, Conv2d, BatchNorm, BatchNorm1d, BatchNorm2d, ReLU, Tanh, Sigmoid, "
            "MaxPool2d, Flatten, GlobalAvgPool2d, Dropout, Residual"
        )
    with torch.no_grad():
        for key, value in layer.params.items():
            getattr(module, _TORCH_NAMES[key]).copy_(_tensor(_swap_layout(layer, key, value)))
    for key, mask in layer.masks.items():
        torch_prune.custom_from_mask(module, _TORCH_NAMES[key], _tensor(_swap_layout(layer, key, mask)))
    return module


# -- torch -> minnet ----------------------------------------------------------------------------
def from_torch(module) -> Sequential:
    """The minnet ``Sequential`` that computes what ``module`` (a ``torch.nn.Sequential``) does.

    Pruned torch modules (``weight_orig`` and ``weight_mask``, from
    ``torch.nn.utils.prune`` or ``to_torch``) become minnet masks, and the
    minnet weights are ``weight_orig * weight_mask``: pruned entries exactly
    zero. A ``Linear`` or ``Conv2d`` without a bias gets a zero bias that a
    mask keeps at zero. A child minnet cannot represent gets a TypeError or
    ValueError naming it.
    """
    return _sequential_from_torch(module, "").train(module.training)


def _unsupported(where: str, child, why: str) -> ValueError:
    return ValueError(f"from_torch: module {where} ({child}) {why}")


def _one_size(where: str, child, name: str, value) -> int:
    """torch allows (h, w) pairs; minnet's layers are square."""
    pair = value if isinstance(value, tuple) else (value, value)
    if len(set(pair)) != 1:
        raise _unsupported(where, child, f"has {name}={value}; minnet supports square ones only")
    return int(pair[0])


def _torch_parameter(child, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(effective value, kept mask or None) of ``child.<name>``, pruned or not."""
    if hasattr(child, f"{name}_mask"):
        mask = getattr(child, f"{name}_mask").detach().cpu().numpy() != 0
        value = (getattr(child, f"{name}_orig") * getattr(child, f"{name}_mask")).detach().cpu().numpy()
        return value, mask
    return getattr(child, name).detach().cpu().numpy(), None


def _dtype(where: str, child) -> np.dtype:
    dtype = next(child.parameters()).dtype
    if dtype not in (torch.float32, torch.float64):
        raise _unsupported(where, child, f"has {dtype} weights; minnet supports float32 and float64")
    return np.dtype(str(dtype).removeprefix("torch."))


def _layer_from_torch(child, where: str):
    kind = type(child)
    if kind is Residual:
        body = _sequential_from_torch(child.body, f"{where}.body")
        shortcut = child.shortcut
        if isinstance(shortcut, nn.Identity):
            return _MinnetResidual(body)
        return _MinnetResidual(body, _sequential_from_torch(shortcut, f"{where}.shortcut"))
    if kind is nn.ReLU:
        return ReLU()
    if kind is nn.Tanh:
        return Tanh()
    if kind is nn.Sigmoid:
        return Sigmoid()
    if kind is GlobalAvgPool2d:
        return _MinnetGlobalAvgPool2d()
    if kind is nn.Flatten:
        if (child.start_dim, child.end_dim) != (1, -1):
            raise _unsupported(where, child, "flattens other axes than 1 to -1, which minnet's Flatten does")
        return Flatten()
    if kind is nn.Dropout:
        return Dropout(child.p)
    if kind is nn.MaxPool2d:
        padding, dilation = (_one_size(where, child, name, getattr(child, name)) for name in ("padding", "dilation"))
        if padding or dilation != 1:
            raise _unsupported(where, child, "has padding or dilation; minnet's MaxPool2d has neither")
        if child.ceil_mode or child.return_indices:
            raise _unsupported(where, child, "uses ceil_mode or return_indices, which minnet's MaxPool2d does not")
        size = _one_size(where, child, "kernel_size", child.kernel_size)
        return MaxPool2d(size, stride=_one_size(where, child, "stride", child.stride))
    layer = _weighted_layer_from_torch(child, where)
    _read_parameters(layer, child)
    return layer


def _weighted_layer_from_torch(child, where: str):
    """The minnet layer, weights not yet read, of a Linear, Conv2d or BatchNorm."""
    kind = type(child)
    if kind is nn.Linear:
        layer = Dense(child.in_features, child.out_features, dtype=_dtype(where, child))
    elif kind is nn.Conv2d:
        if child.groups != 1 or _one_size(where, child, "dilation", child.dilation) != 1:
            raise _unsupported(where, child, "is grouped or dilated; minnet's Conv2d is neither")
        if child.padding_mode != "zeros" or isinstance(child.padding, str):
            raise _unsupported(where, child, "pads otherwise than with a number of zeros, which minnet does")
        layer = Conv2d(
            child.in_channels,
            child.out_channels,
            _one_size(where, child, "kernel_size", child.kernel_size),
            stride=_one_size(where, child, "stride", child.stride),
            padding=_one_size(where, child, "padding", child.padding),
            dtype=_dtype(where, child),
        )
    elif kind in (BatchNorm, nn.BatchNorm1d, nn.BatchNorm2d):
        if not child.affine or not child.track_running_stats or child.momentum is None:
            raise _unsupported(
                where, child, "needs affine=True, track_running_stats=True and a momentum, as minnet's BatchNorm has"
            )
        minnet_kind = {BatchNorm: _MinnetBatchNorm, nn.BatchNorm1d: BatchNorm1d, nn.BatchNorm2d: BatchNorm2d}[kind]
        layer = minnet_kind(child.num_features, momentum=child.momentum, eps=child.eps, dtype=_dtype(where, child))
        layer.running_mean[...] = child.running_mean.detach().cpu().numpy()
        layer.running_var[...] = child.running_var.detach().cpu().numpy()
    else:
        raise TypeError(
            f"from_torch: module {where} ({child}) has no minnet equivalent; supported: Linear, Conv2d, "
            "BatchNorm1d, BatchNorm2d, ReLU, Tanh, Sigmoid, MaxPool2d, Flatten, Dropout, Sequential, "
            "and minnet.interop's BatchNorm, GlobalAvgPool2d and Residual"
        )
    return layer


def _sequential_from_torch(module, where: str) -> Sequential:
    """``module`` (a torch Sequential at path ``where``, "" for the top) as a minnet Sequential."""
    if not isinstance(module, nn.Sequential):
        what = f"module {where}" if where else "module"
        raise TypeError(f"from_torch: {what} must be a torch.nn.Sequential, got {type(module).__name__}")
    prefix = f"{where}." if where else ""
    return Sequential(*(_layer_from_torch(child, prefix + name) for name, child in module.named_children()))


def _read_parameters(layer, child) -> None:
    masks = {}
    for key in layer.params:
        name = _TORCH_NAMES[key]
        if getattr(child, name, None) is None and not hasattr(child, f"{name}_orig"):  # bias=False
            layer.params[key][...] = 0
            masks[key] = np.zeros(layer.params[key].shape, dtype=bool)
            continue
        value, mask = _torch_parameter(child, name)
        layer.params[key][...] = _swap_layout(layer, key, value)
        if mask is not None:
            masks[key] = _swap_layout(layer, key, mask)
    layer.masks = {key: np.ascontiguousarray(mask) for key, mask in masks.items()}


# -- ONNX ---------------------------------------------------------------------------------------
def export_onnx(model, path, input_shape) -> str:
    """Write ``model`` (eval mode, pruned weights baked in as zeros) to an ONNX file.

    input_shape: one example's shape, no batch axis, e.g. ``(64,)`` or
    ``(1, 28, 28)``; the file takes any batch size. Input ``"x"``, output
    ``"y"``, in the model's dtype. Returns the path written.

    A masked model keeps its full shapes (zeros are stored like any number);
    only ``minnet.prune.shrink`` makes the file and the work smaller.
    onnxruntime's CPU provider runs float64 Dense networks but has no float64
    convolution: export a float32 CNN.
    """
    check_sequential(model)
    path = check_path("path", path)
    model.output_shapes(input_shape)  # a clear error if one example of this shape does not fit
    shape = tuple(int(size) for size in input_shape)
    torch_model = to_torch(model).eval()
    for module in torch_model.modules():
        for name in ("weight", "bias"):
            if hasattr(module, f"{name}_mask"):
                torch_prune.remove(module, name)  # weight = weight_orig * mask, as a plain parameter
    dtype = getattr(torch, _model_dtype(model).name)
    example = torch.zeros((1, *shape), dtype=dtype)
    with warnings.catch_warnings():
        # The TorchScript exporter writes one self-contained file in ~50 ms; the newer
        # torch.export one takes seconds per model and splits the weights into a second file.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            torch_model,
            (example,),
            path,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            dynamo=False,
        )
    return os.fspath(path)


def _model_dtype(model) -> np.dtype:
    for _, value in model.named_parameters():
        return value.dtype
    return np.dtype(np.float32)


def onnx_runner(path, *, threads: int = 1):
    """``run(x) -> y``: the ONNX file at ``path`` under onnxruntime on the CPU.

    threads: onnxruntime's intra-op threads; one, like the course's BLAS, for
    steady timings on a small machine."""
    import onnxruntime  # part of the [torch] extra, and slow to import: only when an ONNX file runs

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = check_int("threads", threads, low=1)
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(os.fspath(check_path("path", path)), options)

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"x": x})[0]

    return run


class Deployment(NamedTuple):
    """One network as a deployed ONNX file: its size and its speed."""

    name: str
    path: str  # the ONNX file
    parameters: int  # stored in the file, zeros included
    nonzero: int
    file_bytes: int
    gzip_bytes: int  # the file compressed by gzip -9: zeros cost almost nothing here
    median_ms: float  # one batch through onnxruntime
    q1_ms: float
    q3_ms: float


def compare_deployments(models: dict, input_shape, x, *, folder, rounds: int = 5, repeats: int = 5) -> list:
    """Export each network of ``models`` (name -> Sequential) to an ONNX file in ``folder``
    and measure it: parameters, nonzero weights, file bytes raw and gzipped, and the
    time of one batch ``x`` (one example of ``input_shape`` each) under onnxruntime,
    the networks taking turns (``metrics.compare_latency``). A list of ``Deployment``."""
    if not isinstance(models, dict) or not models:
        raise TypeError(f"models must be a non-empty dict name -> Sequential, got {models!r:.80}")
    x = check_batch("x", x)
    folder = Path(check_path("folder", folder))
    folder.mkdir(parents=True, exist_ok=True)
    runners, files = {}, {}
    for name, model in models.items():
        files[name] = export_onnx(model, folder / (re.sub(r"[^\w-]+", "_", str(name)) + ".onnx"), input_shape)
        runners[name] = onnx_runner(files[name])
    batches = {name: x.astype(_model_dtype(model)) for name, model in models.items()}
    times = compare_latency(
        {name: (run, batches[name]) for name, run in runners.items()}, rounds=rounds, repeats=repeats
    )
    rows = []
    for name, model in models.items():
        data = Path(files[name]).read_bytes()
        rows.append(
            Deployment(
                name,
                files[name],
                model.num_parameters(),
                count_nonzero(model, [n for n, _ in model.named_parameters()]),
                len(data),
                len(gzip.compress(data, compresslevel=9, mtime=0)),
                *times[name][:3],
            )
        )
    return rows


def format_deployments(rows: list) -> str:
    """A table of ``compare_deployments``' rows, speed-ups against the first row."""
    base = rows[0]
    lines = [
        f"{'network':<12}{'params':>9}{'nonzero':>9}{'file KB':>9}{'gzip KB':>9}"
        f"{'ms/batch':>10}{'(q1-q3)':>16}{'speed-up':>9}"
    ]
    for row in rows:
        spread = f"({row.q1_ms:.3f}-{row.q3_ms:.3f})"
        lines.append(
            f"{row.name:<12}{row.parameters:>9,}{row.nonzero:>9,}{row.file_bytes / 1024:>9.1f}"
            f"{row.gzip_bytes / 1024:>9.1f}{row.median_ms:>10.3f}{spread:>16}{base.median_ms / row.median_ms:>8.2f}x"
        )
    return "\n".join(lines)
