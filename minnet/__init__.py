"""minnet: a tiny NumPy neural-network library for learning to prune.

import minnet
data = minnet.data.load_digits()
model = minnet.mlp([64, 128, 10], rng=0)
minnet.fit(model, data.X_train, data.y_train, epochs=20, validation=(data.X_val, data.y_val))
"""

from . import data, gradcheck, losses, metrics, optim, prune, sparse
from .layers import (
    BatchNorm,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Layer,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from .model import Residual, Sequential
from .optim import SGD, Adam, cosine_schedule, step_schedule
from .threads import get_num_threads, set_num_threads
from .train import Callback, DivergenceError, EarlyStopping, Evaluation, History, Snapshot, evaluate, fit
from .zoo import lenet5, mlp, residual_block, small_cnn, small_resnet

load = Sequential.load

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "BatchNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "Callback",
    "Conv2d",
    "Dense",
    "DivergenceError",
    "Dropout",
    "EarlyStopping",
    "Evaluation",
    "Flatten",
    "GlobalAvgPool2d",
    "History",
    "Layer",
    "MaxPool2d",
    "ReLU",
    "SGD",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Snapshot",
    "Tanh",
    "cosine_schedule",
    "data",
    "evaluate",
    "fit",
    "get_num_threads",
    "gradcheck",
    "lenet5",
    "load",
    "losses",
    "mlp",
    "optim",
    "set_num_threads",
    "residual_block",
    "small_cnn",
    "small_resnet",
    "sparse",
    "step_schedule",
]
