"""Checks for exercise 11, structured pruning of a residual network: which layers
write each residual stream, every slice one channel of a stream owns, and the
network without that channel.

The networks are ``minnet.small_resnet`` of several widths and depths, float64.
The reference is ``minnet.prune.dependency_groups``; a wrong answer is
compared with it member by member, so the feedback names what is missing or
extra (the stem, a projection, BatchNorm entries, the readers, an axis).
"""

from __future__ import annotations

import numpy as np

from minnet.anatomy import leaf_layers, leaf_parameter, unit_axis
from minnet.layers import BatchNorm, Conv2d, Dense
from minnet.prune.apply import attach_masks
from minnet.prune.groups import Group, dependency_groups, group_keep_masks
from minnet.prune.surgery import shrink
from minnet.zoo import small_resnet

from .. import feedback
from ..feedback import CheckFailed

RESNETS = [((4, 6), 2, 0), ((3, 5), 1, 1), ((2, 4), 2, 2), ((5, 3), 1, 3), ((3, 3), 2, 4)]  # channels, blocks, seed


def resnet(channels=(4, 6), blocks: int = 2, seed: int = 0):
    """A float64 small ResNet whose BatchNorms have seen data (running statistics not 0 and 1)."""
    model = small_resnet(channels=channels, blocks=blocks, rng=seed, dtype=np.float64)
    x = np.random.default_rng(seed).standard_normal((6, 1, 8, 8))
    model.train()
    model.forward(x)  # one batch moves the running statistics
    for _, layer in leaf_layers(model):
        for key, value in layer.params.items():
            if isinstance(layer, BatchNorm):
                value += np.random.default_rng(seed + 1).uniform(-0.3, 0.3, value.shape)  # gamma and beta not 1, 0
            elif key == "b":
                value += np.random.default_rng(seed + 2).uniform(-0.3, 0.3, value.shape)
    return model.eval()


def reference_streams(model) -> list[list[str]]:
    """The layers that write each residual stream, in network order."""
    families = dict.fromkeys(group.producers for group in dependency_groups(model))
    return [list(producers) for producers in families if len(producers) > 1]


def reference_members(model, stream, channel) -> set:
    """Every (name, axis, index) that channel ``channel`` of the stream written by ``stream`` owns."""
    for group in dependency_groups(model):
        if group.producers and set(group.producers) == set(stream) and (f"{stream[0]}.W", 0, channel) in group:
            return {tuple(m) for m in group}
    raise ValueError(f"no channel {channel} in a stream written by {stream}")


# ------------------------------------------------------------------ task 1: residual_streams


def _as_streams(value, fn_name: str) -> list[list[str]]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in value):
        raise CheckFailed(
            f"`{fn_name}` should return a list of streams, each a list of layer names such as "
            f"[['0', '3.body.3'], ...]; got {type(value).__name__} {value!r:.80}"
        )
    if not all(isinstance(name, str) for stream in value for name in stream):
        raise CheckFailed(
            "write each layer as its name, a string such as '3.body.3' (the layer index, `.body.` and the "
            f"position in the body), not the layer object or an int; got {value!r:.100}"
        )
    return [list(stream) for stream in value]


def _stream_hint(got, expected, model) -> str:
    """What differs between the learner's streams and the right ones, in words."""
    wanted, given = [set(s) for s in expected], [set(s) for s in got]
    names = {name for s in given for name in s}
    every = {name for s in wanted for name in s}
    stem = expected[0][0]
    if any(name.endswith(".body.0") for name in names):
        return (
            "you listed the FIRST convolution of a block's body (`.body.0`). It writes channels that only the "
            "body's next layers read: free channels, inside the block. Only the body's LAST convolution "
            "(`.body.3`) writes into the stream, because its output is added to the shortcut's."
        )
    if any(
        isinstance(leaf_parameter(model, f"{name}.W")[0], BatchNorm) for name in names if _known(model, f"{name}.W")
    ):
        return "list the convolutions that write into a stream; their BatchNorms go with them (task 2 counts those)."
    if stem not in names:
        return (
            f"the stem ({stem!r}) is missing. Its output is the first block's input, which the identity shortcut "
            "adds to the block's output: the stem writes into the first stream."
        )
    projections = {name for name in every if ".shortcut." in name}
    if projections - names:
        return (
            f"the projection shortcut {sorted(projections - names)[0]!r} is missing. A block whose shortcut is a "
            "1x1 convolution adds that convolution's output, not its input: the projection writes into the new "
            "stream, beside the body's last convolution."
        )
    if len(given) < len(wanted):
        return (
            "you put layers of different streams into one. A projection shortcut changes the number of "
            "channels: the block that has one starts a NEW stream (its input's stream ends there)."
        )
    if len(given) > len(wanted):
        return (
            "you split a stream. An identity shortcut adds the block's INPUT, so a block without a projection "
            "writes into the same stream as the layers before it: consecutive identity blocks share one stream."
        )
    for g, w in zip(given, wanted):
        if g != w and names == every:
            moved = sorted(g - w) or sorted(w - g)
            return (
                f"{moved[0]!r} is in the wrong stream: a projection block's body and shortcut both write the "
                "NEW stream, and the blocks after it join that stream until the next projection."
            )
    return "compare your streams with the network's layers: walk the layers in order (`model.layers`)."


def _known(model, name: str) -> bool:
    """Whether ``name`` ('3.body.3.W') is a parameter of ``model``."""
    try:
        leaf_parameter(model, name)
    except (ValueError, KeyError, IndexError, AttributeError):
        return False
    return True


def check_residual_streams(residual_streams, channels=(4, 6), blocks: int = 2, seed: int = 0) -> None:
    """``residual_streams(model)``: for a small ResNet, the list of residual streams,
    each the list of layer names ('0', '3.body.3', '7.shortcut.0', ...) that write into it."""
    cases = [(channels, blocks, seed)] + [case for case in RESNETS if case != (channels, blocks, seed)]
    for case_channels, case_blocks, case_seed in cases:
        model = resnet(case_channels, case_blocks, case_seed)
        expected = reference_streams(model)
        got = _as_streams(feedback.call(residual_streams, model), "residual_streams")
        if [set(s) for s in got] != [set(s) for s in expected]:
            raise CheckFailed(
                f"for small_resnet(channels={case_channels}, blocks={case_blocks}) you returned {got}, expected "
                f"{expected} (order inside a stream does not matter): {_stream_hint(got, expected, model)}"
            )
    first = resnet(channels, blocks, seed)
    sizes = ", ".join(str(len(stream)) for stream in reference_streams(first))
    feedback.passed(
        f"residual_streams: the streams of {len(cases)} small ResNets (small_resnet(channels={channels}, "
        f"blocks={blocks}): {len(reference_streams(first))} streams of {sizes} writers)"
    )


# ------------------------------------------------------------------ task 2: channel_members


def _as_members(value) -> set:
    if not isinstance(value, (list, tuple, set)):
        raise CheckFailed(f"return a list of (name, axis, index) tuples, got {type(value).__name__} {value!r:.80}")
    members = set()
    for item in value:
        ok = isinstance(item, (list, tuple)) and len(item) == 3 and isinstance(item[0], str)
        if not ok or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) for v in item[1:]):
            raise CheckFailed(
                "each member should be a tuple (parameter name, axis, index) such as ('3.body.3.W', 0, 2), "
                f"got {item!r:.80}"
            )
        members.add((item[0], int(item[1]), int(item[2])))
    if len(members) != len(value):
        raise CheckFailed("a member appears twice in your list: list each (name, axis, index) once")
    return members


def _members_hint(got: set, expected: set, model, channel: int) -> str:
    missing, extra = expected - got, got - expected

    def kind(member):
        name, axis, _ = member
        layer, key = leaf_parameter(model, name) if _known(model, name) else (None, name.rsplit(".", 1)[-1])
        if key in ("gamma", "beta"):
            return "norm"
        if key == "b":
            return "bias"
        writes = isinstance(layer, (Dense, Conv2d)) and axis == unit_axis(layer)
        return "write" if writes else "read"

    if any(not _known(model, name) for name, _, _ in extra):
        unknown = sorted(name for name, _, _ in extra if not _known(model, name))[0]
        return (
            f"{unknown!r} is not a parameter of the network: names are the layer's name, a dot and the "
            "parameter key ('3.body.4.gamma'); running statistics are buffers, not members."
        )
    if any(index != channel for _, _, index in got):
        return f"every member is at index {channel}, the channel being removed, whatever the layer."
    for name, axis, index in extra:
        if (name, 1 - axis if axis in (0, 1) else axis, index) in missing:
            layer, _ = leaf_parameter(model, name)
            right = 0 if isinstance(layer, Dense) else 1
            return (
                f"{name} is listed along axis {axis}, expected {1 - axis}. A Conv2d weight is (out, in, kh, kw): "
                "writing is axis 0, reading axis 1. A Dense weight is (in, out): reading is axis 0"
                + (f" (here {name} reads: axis {right})." if kind((name, right, index)) == "read" else ".")
            )
    if extra:
        name = sorted(extra)[0][0]
        return (
            f"{name} does not belong to this channel: members of a stream are its writers (W along its outputs "
            "and b), their BatchNorms, and the layers that read the stream. The channels a block makes inside its "
            "body are free: they are not part of the stream."
        )
    kinds = {kind(m) for m in missing}
    if "norm" in kinds:
        return (
            "the BatchNorm entries are missing: the BatchNorm after each writer normalises this channel, so its "
            "gamma and beta entries (axis 0, this index) go with it."
        )
    if "bias" in kinds:
        return "the biases are missing: every writer's bias entry for this channel goes with its weight slice."
    if "write" in kinds:
        name = sorted(m[0] for m in missing if kind(m) == "write")[0]
        return f"the writer {name} is missing: every layer of the stream writes this channel."
    name = sorted(m[0] for m in missing)[0]
    return (
        f"the readers are missing (here {name}): every layer whose input is the stream reads this channel: the "
        "first convolution of each block it enters (axis 1), a projection shortcut (axis 1), and the Dense "
        "layer after the pooling (axis 0)."
    )


def check_channel_members(channel_members, channels=(4, 6), blocks: int = 2, seed: int = 0) -> None:
    """``channel_members(model, stream, channel)``: every (name, axis, index) that
    channel ``channel`` of the stream written by the layers ``stream`` owns."""
    cases = [(channels, blocks, seed)] + [case for case in RESNETS if case != (channels, blocks, seed)]
    count = 0
    for case_channels, case_blocks, case_seed in cases:
        model = resnet(case_channels, case_blocks, case_seed)
        for number, stream in enumerate(reference_streams(model)):
            width = leaf_parameter(model, f"{stream[0]}.W")[0].params["W"].shape[0]
            for channel in sorted({0, width - 1, (case_seed + number) % width}):
                expected = reference_members(model, stream, channel)
                got = _as_members(feedback.call(channel_members, model, list(stream), channel))
                count += 1
                if got != expected:
                    raise CheckFailed(
                        f"channel {channel} of the stream written by {stream} in small_resnet("
                        f"channels={case_channels}, blocks={case_blocks}): {len(got)} members, expected "
                        f"{len(expected)}. {_members_hint(got, expected, model, channel)}"
                    )
    feedback.passed(f"channel_members: {count} channels of {len(cases)} networks, every member found")


# ------------------------------------------------------------------ task 3: remove_channel


def check_remove_channel(remove_channel, channels=(4, 6), blocks: int = 2, seed: int = 0) -> None:
    """``remove_channel(model, members)`` returns a new network without the slices
    ``members`` lists (one channel of a stream), computing what the network with
    those slices masked computes; ``model`` is left unchanged."""
    cases = [(channels, blocks, seed)] + [case for case in RESNETS if case != (channels, blocks, seed)][:3]
    x = np.random.default_rng(seed).standard_normal((5, 1, 8, 8))
    for case_channels, case_blocks, case_seed in cases:
        model = resnet(case_channels, case_blocks, case_seed)
        for stream in reference_streams(model):
            width = leaf_parameter(model, f"{stream[0]}.W")[0].params["W"].shape[0]
            channel = case_seed % width
            members = sorted(reference_members(model, stream, channel))
            _check_one_removal(remove_channel, model, stream, channel, members, x)
    feedback.passed(f"remove_channel: {len(cases)} networks, each stream without one channel computes the same")


def _check_one_removal(remove_channel, model, stream, channel, members, x) -> None:
    before = model.state_dict()
    masked = model.copy()
    attach_masks(masked, group_keep_masks(masked, [Group(members)], [True]))
    expected = masked.inference(x)
    small = feedback.call(remove_channel, model, [tuple(m) for m in members])
    after = model.state_dict()
    if set(after) != set(before) or any(not np.array_equal(after[k], before[k]) for k in before):
        raise CheckFailed(
            "your function changed `model` itself. Work on a copy (`small = model.copy()`) and return it: the "
            "caller keeps the original network."
        )
    if type(small).__name__ != "Sequential":
        raise CheckFailed(f"return the smaller network, a minnet Sequential, got {type(small).__name__}")
    problem = _size_problem(small, members)
    if problem:
        raise CheckFailed(problem)
    shrunk = shrink(masked)
    kept_whole = sorted(
        name
        for name, _, _ in members
        if leaf_parameter(small, name)[0].params[name.rsplit(".", 1)[1]].shape
        != leaf_parameter(shrunk, name)[0].params[name.rsplit(".", 1)[1]].shape
    )
    if kept_whole:
        raise CheckFailed(
            f"{kept_whole[0]} still has the shape it had before: the channel's slice is still there (zeroed?), "
            "so nothing got smaller. Remove it: `np.delete(array, index, axis=axis)` returns the array without it."
        )
    try:
        got = small.inference(x)
    except ValueError as exc:
        raise CheckFailed(
            f"the smaller network does not run: {exc}. After slicing a weight, set the layer's sizes to match "
            "(Conv2d `in_channels`/`out_channels`, Dense `in_features`, BatchNorm `num_features`)."
        ) from None
    if not np.allclose(got, expected, rtol=0, atol=1e-8):
        raise CheckFailed(
            f"removing channel {channel} of the stream written by {stream} changed the outputs (by up to "
            f"{float(np.max(np.abs(got - expected))):.3g}): a removed channel must be exactly the one that "
            "`members` lists in every layer, with the BatchNorm's running statistics (running_mean, running_var) "
            "removed at the same index as its gamma and beta."
        )


def _size_problem(small, members) -> str | None:
    """What is inconsistent in the smaller network, in words (None when nothing is)."""
    for name, _, _ in members:
        try:
            layer, key = leaf_parameter(small, name)
        except (ValueError, KeyError, IndexError, AttributeError):
            return f"the smaller network has no parameter {name!r}: keep every layer, remove only slices"
        if isinstance(layer, BatchNorm):
            stats = {"running_mean": layer.running_mean.size, "running_var": layer.running_var.size}
            if any(size != layer.params["gamma"].size for size in stats.values()):
                return (
                    f"{name.rsplit('.', 1)[0]} has {layer.params['gamma'].size} gamma entries but running "
                    f"statistics of sizes {stats}: remove the channel from running_mean and running_var too (they "
                    "are buffers, not members, but they belong to the channel)."
                )
    return None
