"""Exercise 11: residual streams, the members of one channel, removing it.

Written after the checks (the other exercises' second sets were written before
re-reading theirs); each is a mistake of a kind the first set does not make."""

_STREAMS = (
    "def residual_streams(model):\n"
    "    streams = []\n"
    "    for i, layer in enumerate(model.layers):\n"
    "        if isinstance(layer, minnet.Conv2d):\n"
    "            streams.append([{stem}])\n"
    "        elif isinstance(layer, minnet.Residual):\n"
    "            if layer.shortcut is not None:\n"
    "                streams.append([{projection}])\n"
    "            else:\n"
    "                streams[-1].append({identity})\n"
    "    return streams\n"
)


def _streams(stem="str(i)", projection='f"{i}.body.3", f"{i}.shortcut.0"', identity='f"{i}.body.3"'):
    return _STREAMS.format(stem=stem, projection=projection, identity=identity)


_MEMBERS = (
    "def channel_members(model, stream, channel):\n"
    "    members = []\n"
    "    for name in stream:\n"
    "        head, _, position = name.rpartition('.')\n"
    "        norm = f'{{head}}.{{int(position) + {step}}}' if head else str(int(position) + {step})\n"
    "        members += [(f'{{name}}.W', {write_axis}, channel), (f'{{name}}.b', 0, channel)]\n"
    "        members += [(f'{{norm}}.gamma', 0, channel), (f'{{norm}}.beta', 0, channel)]\n"
    "    current = None\n"
    "    for i, layer in enumerate(model.layers):\n"
    "        if isinstance(layer, minnet.Conv2d):\n"
    "            current = str(i)\n"
    "        elif isinstance(layer, minnet.Residual):\n"
    "            if current in stream:\n"
    "                members.append((f'{{i}}.body.{reader}.W', 1, channel))\n"
    "                if layer.shortcut is not None:\n"
    "                    members.append((f'{{i}}.shortcut.0.W', 1, channel))\n"
    "            if layer.shortcut is not None:\n"
    "                current = f'{{i}}.body.3'\n"
    "        elif isinstance(layer, minnet.Dense) and current in stream:\n"
    "            members.append((f'{{i}}.W', {dense_axis}, {index}))\n"
    "    return members\n"
)


def _members(step=1, write_axis=0, reader=0, dense_axis=0, index="channel"):
    return _MEMBERS.format(step=step, write_axis=write_axis, reader=reader, dense_axis=dense_axis, index=index)


_REMOVE = (
    "def remove_channel(model, members):\n"
    "    small = {copy}\n"
    "    for name, axis, index in members:\n"
    "        layer, key = leaf_parameter(small, name)\n"
    "        layer.params[key] = np.delete(layer.params[key], index, axis={axis})\n"
    "        if key == {stat_key}:\n"
    "            layer.running_mean = np.delete(layer.running_mean, index)\n"
    "            layer.running_var = np.delete(layer.running_var, index)\n"
    "    for _, layer in leaf_layers(small):\n"
    "        if isinstance(layer, minnet.Conv2d):\n"
    "            layer.out_channels, layer.in_channels = layer.params['W'].shape[:2]\n"
    "        elif isinstance(layer, minnet.Dense):\n"
    "            layer.in_features, layer.out_features = layer.params['W'].shape\n"
    "        elif isinstance(layer, minnet.BatchNorm):\n"
    "            layer.num_features = {num_features}\n"
    "    return small\n"
)


def _remove(copy="model.copy()", axis="axis", stat_key="'gamma'", num_features="layer.params['gamma'].size"):
    return _REMOVE.format(copy=copy, axis=axis, stat_key=stat_key, num_features=num_features)


WRONG = {
    "task1_check": {
        "stem_as_int": _streams(stem="i"),
        "projection_body_only": _streams(projection='f"{i}.body.3"'),
        "body_index_4": _streams(projection='f"{i}.body.4", f"{i}.shortcut.0"', identity='f"{i}.body.4"'),
        "shortcut_batchnorm": _streams(projection='f"{i}.body.3", f"{i}.shortcut.1"'),
        "projection_joins_old": _streams(projection='f"{i}.body.3"').replace(
            '                streams.append([f"{i}.body.3"])\n',
            '                streams[-1].append(f"{i}.shortcut.0")\n                streams.append([f"{i}.body.3"])\n',
        ),
    },
    "task2_check": {
        "norm_same_position": _members(step=0),
        "writer_axis_1": _members(write_axis=1),
        "reader_last_conv": _members(reader=3),
        "dense_axis_1": _members(dense_axis=1),
        "dense_first_entry": _members(index="0"),
    },
    "task3_check": {
        "no_copy": _remove(copy="model"),
        "always_axis_0": _remove(axis="0"),
        "stats_removed_twice": _remove(stat_key="'gamma' or key == 'beta'"),
        "num_features_unchanged": _remove(num_features="layer.num_features"),
        "shallow_copy": _remove(copy="__import__('copy').copy(model)"),
    },
}
