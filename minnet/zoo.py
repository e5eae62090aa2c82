"""Ready-made models used across the course, all seeded."""

from __future__ import annotations

import numpy as np

from .layers import BatchNorm, Conv2d, Dense, Dropout, Flatten, MaxPool2d, ReLU
from .layers import activation as make_activation
from .model import Sequential
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
