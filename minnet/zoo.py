"""Ready-made models used across the course, all seeded."""

from __future__ import annotations

import numpy as np

from .layers import BatchNorm, BatchNorm2d, Conv2d, Dense, Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU
from .layers import activation as make_activation
from .model import Residual, Sequential
from .utils import as_generator
from .validate import check_bool, check_float_dtype, check_int, check_real


def mlp(
    sizes, *, activation: str = "relu", batchnorm: bool = False, dropout: float = 0.0, rng=0, dtype=np.float32
) -> Sequential:
    """A multi-layer perceptron: ``mlp([64, 128, 10])`` is 64 -> 128 -> 10.

    Between Dense layers: optional BatchNorm, then the activation, then
    optional Dropout. The last layer outputs logits (no activation).
    """
    if not isinstance(sizes, (list, tuple)):
        raise TypeError(f"sizes must be a list of layer widths such as [64, 128, 10], got {type(sizes).__name__}")
    sizes = [check_int(f"sizes[{i}]", s, low=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
    make_activation(activation)  # fails early on an unknown name
    batchnorm = check_bool("batchnorm", batchnorm)
    dropout = check_real("dropout", dropout, low=0, high=1, high_inclusive=False)
    dtype = check_float_dtype("dtype", dtype)
    gen = as_generator(rng)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, rng=gen, dtype=dtype))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(BatchNorm(n_out, dtype=dtype))
            layers.append(make_activation(activation))
            if dropout:
                layers.append(Dropout(dropout, rng=gen))
    return Sequential(*layers)


def small_cnn(
    *,
    in_channels: int = 1,
    image_size: int = 8,
    channels=(16, 32),
    hidden: int = 64,
    n_classes: int = 10,
    batchnorm: bool = False,
    rng=0,
    dtype=np.float32,
) -> Sequential:
    """Two 3x3 conv blocks (conv, [BatchNorm], ReLU, 2x2 max-pool after the
    second), then Dense -> ReLU -> Dense. Sized for 8x8 digits by default."""
    in_channels = check_int("in_channels", in_channels, low=1)
    image_size = check_int("image_size", image_size, low=2)  # the 2x2 pool needs at least 2x2
    if not isinstance(channels, (list, tuple)) or len(channels) != 2:
        raise TypeError(f"channels must be a pair (c1, c2) such as (16, 32), got {channels!r}")
    c1, c2 = (check_int(f"channels[{i}]", c, low=1) for i, c in enumerate(channels))
    hidden = check_int("hidden", hidden, low=1)
    n_classes = check_int("n_classes", n_classes, low=1)
    batchnorm = check_bool("batchnorm", batchnorm)
    dtype = check_float_dtype("dtype", dtype)
    gen = as_generator(rng)
    layers = [Conv2d(in_channels, c1, 3, padding=1, rng=gen, dtype=dtype)]
    layers += [BatchNorm(c1, dtype=dtype)] if batchnorm else []
    layers += [ReLU(), Conv2d(c1, c2, 3, padding=1, rng=gen, dtype=dtype)]
    layers += [BatchNorm(c2, dtype=dtype)] if batchnorm else []
    layers += [ReLU(), MaxPool2d(2), Flatten()]
    flat = c2 * (image_size // 2) ** 2
    layers += [Dense(flat, hidden, rng=gen, dtype=dtype), ReLU(), Dense(hidden, n_classes, rng=gen, dtype=dtype)]
    return Sequential(*layers)


def lenet5(*, in_channels: int = 1, image_size: int = 28, n_classes: int = 10, rng=0, dtype=np.float32) -> Sequential:
    """LeNet-5-like: conv5x5(6, pad 2) -> pool -> conv5x5(16) -> pool ->
    120 -> 84 -> n_classes, ReLU activations, for 28x28 inputs."""
    in_channels = check_int("in_channels", in_channels, low=1)
    image_size = check_int("image_size", image_size, low=12)  # two 5x5 convs and two 2x2 pools leave >= 1x1
    n_classes = check_int("n_classes", n_classes, low=1)
    dtype = check_float_dtype("dtype", dtype)
    gen = as_generator(rng)
    side = ((image_size // 2) - 4) // 2
    return Sequential(
        Conv2d(in_channels, 6, 5, padding=2, rng=gen, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Conv2d(6, 16, 5, rng=gen, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Dense(16 * side * side, 120, rng=gen, dtype=dtype),
        ReLU(),
        Dense(120, 84, rng=gen, dtype=dtype),
        ReLU(),
        Dense(84, n_classes, rng=gen, dtype=dtype),
    )


def residual_block(in_channels: int, out_channels: int, *, stride: int = 1, rng=0, dtype=np.float32) -> Residual:
    """The basic block of He et al. (2016): conv3x3 -> BatchNorm -> ReLU -> conv3x3 ->
    BatchNorm, added to the input. The shortcut is the identity when shape is
    kept, else a 1x1 convolution (with ``stride``) and its BatchNorm: a projection."""
    in_channels = check_int("in_channels", in_channels, low=1)
    out_channels = check_int("out_channels", out_channels, low=1)
    stride = check_int("stride", stride, low=1)
    gen = as_generator(rng)
    body = Sequential(
        Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, rng=gen, dtype=dtype),
        BatchNorm2d(out_channels, dtype=dtype),
        ReLU(),
        Conv2d(out_channels, out_channels, 3, padding=1, rng=gen, dtype=dtype),
        BatchNorm2d(out_channels, dtype=dtype),
    )
    if stride == 1 and in_channels == out_channels:
        return Residual(body)
    projection = Conv2d(in_channels, out_channels, 1, stride=stride, rng=gen, dtype=dtype)
    return Residual(body, Sequential(projection, BatchNorm2d(out_channels, dtype=dtype)))


def small_resnet(
    *, in_channels: int = 1, channels=(8, 16), blocks: int = 2, n_classes: int = 10, rng=0, dtype=np.float32
) -> Sequential:
    """A small ResNet for 8x8 digits: a stem (conv3x3, BatchNorm, ReLU), two stages
    of ``blocks`` basic blocks each with a ReLU after every block, the second
    stage widening to ``channels[1]`` and halving the image through a projection
    shortcut, then global average pooling and a Dense classifier."""
    in_channels = check_int("in_channels", in_channels, low=1)
    if not isinstance(channels, (list, tuple)) or len(channels) != 2:
        raise TypeError(f"channels must be a pair (c1, c2) such as (8, 16), got {channels!r}")
    c1, c2 = (check_int(f"channels[{i}]", c, low=1) for i, c in enumerate(channels))
    blocks = check_int("blocks", blocks, low=1)
    n_classes = check_int("n_classes", n_classes, low=1)
    dtype = check_float_dtype("dtype", dtype)
    gen = as_generator(rng)
    layers = [Conv2d(in_channels, c1, 3, padding=1, rng=gen, dtype=dtype), BatchNorm2d(c1, dtype=dtype), ReLU()]
    for stage, (c_in, c_out) in enumerate([(c1, c1), (c1, c2)]):
        for b in range(blocks):
            stride = 2 if stage == 1 and b == 0 else 1
            layers += [residual_block(c_in if b == 0 else c_out, c_out, stride=stride, rng=gen, dtype=dtype), ReLU()]
    layers += [GlobalAvgPool2d(), Dense(c2, n_classes, rng=gen, dtype=dtype)]
    return Sequential(*layers)
