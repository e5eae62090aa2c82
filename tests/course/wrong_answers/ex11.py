"""Correct and plausible wrong answers to exercise 11 (pruning a residual network).

Each ``wrong_*`` function makes one mistake, named in its comment; the tests
assert that the check rejects it with the feedback meant for that mistake.
"""

import numpy as np

import minnet
from minnet.anatomy import leaf_layers, leaf_parameter

# ------------------------------------------------------------------ task 1: residual_streams


def correct_residual_streams(model):
    streams = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, minnet.Conv2d):
            streams.append([str(i)])
        elif isinstance(layer, minnet.Residual):
            if layer.shortcut is not None:
                streams.append([f"{i}.body.3", f"{i}.shortcut.0"])
            else:
                streams[-1].append(f"{i}.body.3")
    return streams


def wrong_streams_without_stem(model):
    # Mistake: only the blocks write into a stream; the stem is left out.
    streams = correct_residual_streams(model)
    return [[name for name in stream if "." in name] for stream in streams]


def wrong_streams_without_projection(model):
    # Mistake: the projection shortcut's convolution is not counted as a writer.
    return [[name for name in stream if ".shortcut." not in name] for stream in correct_residual_streams(model)]


def wrong_streams_one_stream(model):
    # Mistake: a projection does not start a new stream: everything is one stream.
    return [[name for stream in correct_residual_streams(model) for name in stream]]


def wrong_streams_one_per_block(model):
    # Mistake: every block is its own stream (identity shortcuts do not join them).
    streams = [["0"]]
    for i, layer in enumerate(model.layers):
        if isinstance(layer, minnet.Residual):
            streams.append([f"{i}.body.3"] + ([f"{i}.shortcut.0"] if layer.shortcut is not None else []))
    return streams


def wrong_streams_first_convs(model):
    # Mistake: lists the first convolution of each body, which writes free channels.
    return [[name.replace("body.3", "body.0") for name in stream] for stream in correct_residual_streams(model)]


def wrong_streams_projection_in_old_stream(model):
    # Mistake: the projection block's writers are added to the stream it reads from.
    streams = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, minnet.Conv2d):
            streams.append([str(i)])
        elif isinstance(layer, minnet.Residual):
            streams[-1].append(f"{i}.body.3")
            if layer.shortcut is not None:
                streams[-1].append(f"{i}.shortcut.0")
                streams.append([])
    return [s for s in streams if s]


# ------------------------------------------------------------------ task 2: channel_members


def _writers_and_norms(stream, channel):
    members = []
    for name in stream:
        head, _, last = name.rpartition(".")
        norm = f"{head}.{int(last) + 1}" if head else str(int(last) + 1)
        members += [(f"{name}.W", 0, channel), (f"{name}.b", 0, channel)]
        members += [(f"{norm}.gamma", 0, channel), (f"{norm}.beta", 0, channel)]
    return members


def _readers(model, stream, channel, conv_axis=1, dense_axis=0, shortcut=True):
    readers, current = [], None
    for i, layer in enumerate(model.layers):
        if isinstance(layer, minnet.Conv2d):
            current = str(i)
        elif isinstance(layer, minnet.Residual):
            if current in stream:
                readers.append((f"{i}.body.0.W", conv_axis, channel))
                if layer.shortcut is not None and shortcut:
                    readers.append((f"{i}.shortcut.0.W", conv_axis, channel))
            if layer.shortcut is not None:
                current = f"{i}.body.3"
        elif isinstance(layer, minnet.Dense) and current in stream:
            readers.append((f"{i}.W", dense_axis, channel))
    return readers


def correct_channel_members(model, stream, channel):
    return _writers_and_norms(stream, channel) + _readers(model, stream, channel)


def wrong_members_no_batchnorm(model, stream, channel):
    # Mistake: the BatchNorm entries of the channel are left out.
    return [m for m in correct_channel_members(model, stream, channel) if not m[0].endswith(("gamma", "beta"))]


def wrong_members_no_readers(model, stream, channel):
    # Mistake: only what writes the channel; the layers that read it are forgotten.
    return _writers_and_norms(stream, channel)


def wrong_members_readers_axis_0(model, stream, channel):
    # Mistake: a convolution reads along axis 0 (that is its output axis).
    return _writers_and_norms(stream, channel) + _readers(model, stream, channel, conv_axis=0)


def wrong_members_no_biases(model, stream, channel):
    # Mistake: the writers' biases are left out.
    return [m for m in correct_channel_members(model, stream, channel) if not m[0].endswith(".b")]


def wrong_members_no_projection_reader(model, stream, channel):
    # Mistake: the projection shortcut does not read the old stream.
    return _writers_and_norms(stream, channel) + _readers(model, stream, channel, shortcut=False)


def wrong_members_running_stats(model, stream, channel):
    # Mistake: the running statistics listed as members.
    extra = [(m[0].replace("gamma", "running_mean"), 0, channel) for m in _writers_and_norms(stream, channel)
             if m[0].endswith("gamma")]  # fmt: skip
    return correct_channel_members(model, stream, channel) + extra


# ------------------------------------------------------------------ task 3: remove_channel


def correct_remove_channel(model, members):
    small = model.copy()
    for name, axis, index in members:
        layer, key = leaf_parameter(small, name)
        layer.params[key] = np.delete(layer.params[key], index, axis=axis)
        if key == "gamma":
            layer.running_mean = np.delete(layer.running_mean, index)
            layer.running_var = np.delete(layer.running_var, index)
    _resize(small)
    return small


def _resize(model):
    for _, layer in leaf_layers(model):
        if isinstance(layer, minnet.Conv2d):
            layer.out_channels, layer.in_channels = layer.params["W"].shape[:2]
        elif isinstance(layer, minnet.Dense):
            layer.in_features, layer.out_features = layer.params["W"].shape
        elif isinstance(layer, minnet.BatchNorm):
            layer.num_features = layer.params["gamma"].size


def wrong_remove_in_place(model, members):
    # Mistake: slices the caller's model instead of a copy.
    for name, axis, index in members:
        layer, key = leaf_parameter(model, name)
        layer.params[key] = np.delete(layer.params[key], index, axis=axis)
        if key == "gamma":
            layer.running_mean = np.delete(layer.running_mean, index)
            layer.running_var = np.delete(layer.running_var, index)
    _resize(model)
    return model


def wrong_remove_keeps_running_stats(model, members):
    # Mistake: gamma and beta are sliced, the running statistics are not.
    small = model.copy()
    for name, axis, index in members:
        layer, key = leaf_parameter(small, name)
        layer.params[key] = np.delete(layer.params[key], index, axis=axis)
    _resize(small)
    return small


def wrong_remove_no_resize(model, members):
    # Mistake: the arrays are sliced but the layers keep their old sizes.
    small = model.copy()
    for name, axis, index in members:
        layer, key = leaf_parameter(small, name)
        layer.params[key] = np.delete(layer.params[key], index, axis=axis)
        if key == "gamma":
            layer.running_mean = np.delete(layer.running_mean, index)
            layer.running_var = np.delete(layer.running_var, index)
    return small


def wrong_remove_zeroes(model, members):
    # Mistake: zeroes the slices instead of removing them (nothing gets smaller).
    small = model.copy()
    for name, axis, index in members:
        layer, key = leaf_parameter(small, name)
        np.moveaxis(layer.params[key], axis, 0)[index] = 0
    return small
