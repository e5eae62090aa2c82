"""Dependency groups, group pruning and the shrinking of residual networks.

The groups of four architectures are derived here by hand from the rule (a
producer's output slice and bias, the BatchNorm entries, the consumers' input
slices; a residual block joins its body's and its shortcut's channels) and
compared with ``dependency_groups``. Shrinking a network pruned by groups must
compute the masked network's outputs, for many random residual networks.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minnet
from minnet import BatchNorm2d, Conv2d, Dense, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU, Residual, Sequential
from minnet import prune as P
from minnet.prune.groups import dependency_groups, group_alive, group_importance

F64 = np.float64


def as_sets(groups):
    return {frozenset(map(tuple, group)) for group in groups}


def unit(producer, j, out_axis, consumers=(), norms=()):
    """The members of unit j written by ``producer`` (a Dense: out_axis 1, a Conv2d: 0)."""
    members = {(f"{producer}.W", out_axis, j), (f"{producer}.b", 0, j)}
    members |= {(f"{bn}.{key}", 0, j) for bn in norms for key in ("gamma", "beta")}
    return members | {(name, axis, index) for name, axis, index in consumers}


def test_groups_of_an_mlp_are_its_hidden_neurons():
    model = minnet.mlp([4, 3, 2], rng=0)
    expected = {frozenset(unit("0", j, 1, [("2.W", 0, j)])) for j in range(3)}
    assert as_sets(dependency_groups(model, (4,))) == expected


def test_groups_of_a_cnn_with_a_flatten_own_each_channel_s_pixels():
    model = minnet.small_cnn(channels=(2, 3), hidden=4, n_classes=2, image_size=4, rng=0)  # pool -> 2x2 = 4 inputs
    expected = {frozenset(unit("0", j, 0, [("2.W", 1, j)])) for j in range(2)}
    expected |= {frozenset(unit("2", j, 0, [("6.W", 0, 4 * j + q) for q in range(4)])) for j in range(3)}
    expected |= {frozenset(unit("6", j, 1, [("8.W", 0, j)])) for j in range(4)}
    assert as_sets(dependency_groups(model, (1, 4, 4))) == expected


def tiny_resnet(dtype=F64, rng=0):
    """stem (1 -> 2) + BN, an identity block, a projection block (2 -> 3, stride 2), pooling, Dense."""
    gen = np.random.default_rng(rng)
    return Sequential(
        Conv2d(1, 2, 3, padding=1, rng=gen, dtype=dtype), BatchNorm2d(2, dtype=dtype), ReLU(),
        minnet.residual_block(2, 2, rng=gen, dtype=dtype), ReLU(),
        minnet.residual_block(2, 3, stride=2, rng=gen, dtype=dtype), ReLU(),
        GlobalAvgPool2d(), Dense(3, 2, rng=gen, dtype=dtype),
    )  # fmt: skip


def test_groups_of_a_resnet_couple_each_residual_stream_and_free_the_block_interiors():
    stream1 = [
        unit("0", j, 0, [("3.body.0.W", 1, j), ("5.body.0.W", 1, j), ("5.shortcut.0.W", 1, j)], norms=["1"])
        | unit("3.body.3", j, 0, norms=["3.body.4"])
        for j in range(2)
    ]
    free1 = [unit("3.body.0", j, 0, [("3.body.3.W", 1, j)], norms=["3.body.1"]) for j in range(2)]
    free2 = [unit("5.body.0", j, 0, [("5.body.3.W", 1, j)], norms=["5.body.1"]) for j in range(3)]
    stream2 = [
        unit("5.body.3", j, 0, [("8.W", 0, j)], norms=["5.body.4"]) | unit("5.shortcut.0", j, 0, norms=["5.shortcut.1"])
        for j in range(3)
    ]
    groups = dependency_groups(tiny_resnet(), (1, 8, 8))
    assert as_sets(groups) == {frozenset(g) for g in stream1 + free1 + free2 + stream2}
    by_members = {frozenset(map(tuple, g)): g for g in groups}
    assert by_members[frozenset(stream1[0])].producers == ("0", "3.body.3")
    assert by_members[frozenset(stream2[0])].producers == ("5.body.3", "5.shortcut.0")
    assert by_members[frozenset(free1[0])].producers == ("3.body.0",) and not by_members[frozenset(free1[0])].coupled


def test_groups_of_a_dense_residual_network():
    gen = np.random.default_rng(0)
    body = Sequential(Dense(3, 5, rng=gen), ReLU(), Dense(5, 3, rng=gen))
    model = Sequential(Dense(4, 3, rng=gen), ReLU(), Residual(body), ReLU(), Dense(3, 2, rng=gen))
    expected = {frozenset(unit("0", j, 1, [("2.body.0.W", 0, j), ("4.W", 0, j)]) | unit("2.body.2", j, 1))
                for j in range(3)}  # fmt: skip
    expected |= {frozenset(unit("2.body.0", j, 1, [("2.body.2.W", 0, j)])) for j in range(5)}
    assert as_sets(dependency_groups(model, (4,))) == expected


def test_units_joined_to_the_input_or_the_output_form_no_group():
    gen = np.random.default_rng(0)
    # the identity block right at the input: its output channels are the input's, so they cannot go
    model = Sequential(Residual(Sequential(Conv2d(1, 2, 1, rng=gen), ReLU(), Conv2d(2, 1, 1, rng=gen))),
                       Flatten(), Dense(16, 2, rng=gen))  # fmt: skip
    groups = dependency_groups(model, (1, 4, 4))
    assert [g.producers for g in groups] == [("0.body.0",), ("0.body.0",)]


# -- pruning by groups, and shrinking ------------------------------------------------------------


def test_group_importance_is_the_sum_or_mean_of_its_members_norms():
    model = tiny_resnet()
    groups = dependency_groups(model)
    group = groups[0]
    norms = []
    for name, axis, index in group:
        layer, key = minnet.anatomy.leaf_parameter(model, name)
        norms.append(np.linalg.norm(np.take(layer.params[key], index, axis=axis)))
    assert group_importance(model, groups)[0] == pytest.approx(sum(norms), rel=1e-12)
    assert group_importance(model, groups, reduce="mean")[0] == pytest.approx(np.mean(norms), rel=1e-12)


def test_prune_units_on_a_resnet_prunes_whole_groups_and_shrink_removes_them_everywhere():
    model = tiny_resnet()
    minnet.fit(model, np.random.default_rng(0).standard_normal((8, 1, 8, 8)), np.arange(8) % 2, epochs=1,
               batch_size=4, verbose=False)  # fmt: skip
    report = P.prune_units(model, amount=0.5)
    assert report.kind == "groups" and [r.total for r in report.rows] == [2, 2, 3, 3]  # stream, free, free, stream
    assert [r.kept_after for r in report.rows] == [r.total - round(0.5 * r.total) for r in report.rows]
    groups = dependency_groups(model)
    alive = group_alive(model, groups)
    for group, kept in zip(groups, alive):
        for name, axis, index in group:  # every member of a pruned group is masked, and no other
            layer, key = minnet.anatomy.leaf_parameter(model, name)
            assert np.take(layer.masks.get(key, np.ones(layer.params[key].shape, bool)), index, axis).any() == kept
    small = P.shrink(model)
    x = np.random.default_rng(1).standard_normal((5, 1, 8, 8))
    np.testing.assert_allclose(small.inference(x), model.inference(x), rtol=0, atol=1e-10)
    assert small.layers[0].out_channels == 1 and small.layers[5].body.layers[0].in_channels == 1
    assert small.layers[8].in_features == 1 and len(dependency_groups(small)) == alive.sum() == 4
    assert P.dead_unit_fraction(model) == pytest.approx(1 - alive.mean())


def test_pruning_one_layer_of_a_residual_stream_is_refused_with_the_coupled_layers_named():
    model = tiny_resnet()
    mask_w = np.ones((2, 2, 3, 3), bool)
    mask_w[1] = False
    P.attach_masks(model, {"3.body.3.W": mask_w, "3.body.3.b": np.array([True, False])})
    with pytest.raises(ValueError, match=r"pruned in layer 3\.body\.3 but kept in layer 0") as info:
        P.shrink(model)
    assert "prune_groups" in str(info.value)
    with pytest.raises(ValueError, match="residual blocks"):
        P.prune_units(model, amount=0.5, layers=[0])


def test_a_removed_unit_with_its_batchnorm_left_unmasked_is_refused():
    model = tiny_resnet()
    groups = dependency_groups(model)
    free = next(g for g in groups if g.producers == ("3.body.0",))
    masks = minnet.prune.groups.group_keep_masks(model, [free], [True])
    del masks["3.body.1.beta"]
    P.attach_masks(model, masks)
    with pytest.raises(ValueError, match=r"BatchNorm entry 3\.body\.1\.beta"):
        P.shrink(model)


def test_prune_groups_reaches_a_target_globally_and_never_empties_a_family():
    model = tiny_resnet()
    groups = dependency_groups(model)
    firsts = [next(g for g, group in enumerate(groups) if group.producers == p) for p in dict.fromkeys(
        group.producers for group in groups)]  # fmt: skip
    scores = np.full(len(groups), 10.0)
    scores[firsts] = np.arange(len(firsts))  # the lowest four: one group of each family
    report = P.prune_groups(model, sparsity=0.4, scores=scores, scope="global")
    assert report.pruned == 4 and np.flatnonzero(~group_alive(model, groups)).tolist() == sorted(firsts)
    with pytest.raises(ValueError, match="every unit of 0 \\+1 coupled"):
        P.prune_groups(tiny_resnet(), amount=1.0)
    before = tiny_resnet().state_dict()
    untouched = tiny_resnet()
    with pytest.raises(ValueError, match="one entry per group"):
        P.prune_groups(untouched, amount=0.5, scores=np.ones(3))
    assert all(np.array_equal(untouched.state_dict()[k], before[k]) for k in before)


def test_the_pruning_loop_and_gradual_pruning_work_on_groups():
    data = minnet.data.load_digits(rng=0).as_images()
    model = minnet.small_resnet(rng=0)
    result = P.prune_loop(model, schedule=P.Iterative(0.25, rounds=2), validation=(data.X_val, data.y_val),
                          pruner=P.UnitPruner(), verbose=False)  # fmt: skip
    sizes = [8, 8, 8, 16, 16, 16]  # the families: stream 1, two free, the projection's stream, two free
    for r in result.rounds:  # local scope: the target reached in each family, rounded there
        target = P.Iterative(0.25, rounds=2).sparsity(r.round)
        assert r.sparsity == pytest.approx(sum(round(target * n) for n in sizes) / sum(sizes))
    assert result.rounds[-1].macs == minnet.metrics.flops(P.shrink(model), (1, 8, 8))
    gradual = P.GradualPruning(P.PolynomialDecay(0.0, 0.5, 0, 20, frequency=10), P.UnitPruner())
    other = minnet.small_resnet(rng=0)
    minnet.fit(other, data.X_train[:320], data.y_train[:320], epochs=4, callbacks=[gradual], verbose=False)  # 20 steps
    assert P.dead_unit_fraction(other) == pytest.approx(0.5, abs=0.03)


# -- many random residual networks -----------------------------------------------------------------


@st.composite
def residual_networks(draw):
    seed = draw(st.integers(0, 2**16))
    gen = np.random.default_rng(seed)
    width = draw(st.integers(1, 4))
    batchnorm = draw(st.booleans())

    def norm(c):
        return [BatchNorm2d(c, dtype=F64)] if batchnorm else []

    layers = [Conv2d(2, width, 3, padding=1, rng=gen, dtype=F64), *norm(width), ReLU()]
    for _ in range(draw(st.integers(1, 3))):
        inner, out = draw(st.integers(1, 4)), draw(st.sampled_from([width, draw(st.integers(1, 4))]))
        stride = draw(st.sampled_from([1, 2])) if out != width else 1
        body = Sequential(Conv2d(width, inner, 3, stride=stride, padding=1, rng=gen, dtype=F64), *norm(inner), ReLU(),
                          Conv2d(inner, out, 3, padding=1, rng=gen, dtype=F64), *norm(out))  # fmt: skip
        shortcut = None
        if out != width or stride != 1:
            shortcut = Sequential(Conv2d(width, out, 1, stride=stride, rng=gen, dtype=F64), *norm(out))
        layers += [Residual(body, shortcut), ReLU()]
        width = out
        if draw(st.booleans()):
            layers.append(MaxPool2d(1))  # a pass-through the channels cross
    head = draw(st.sampled_from(["pool", "flatten"]))
    if head == "pool":
        layers += [GlobalAvgPool2d(), Dense(width, 3, rng=gen, dtype=F64)]
    else:
        side = layers_side(layers, 8)
        layers += [
            Flatten(),
            Dense(width * side * side, 4, rng=gen, dtype=F64),
            ReLU(),
            Dense(4, 3, rng=gen, dtype=F64),
        ]
    return Sequential(*layers), seed


def layers_side(layers, side):
    return Sequential(*layers).output_shapes((2, side, side))[-1][1]


@settings(max_examples=40, deadline=None)
@given(net=residual_networks(), fraction=st.floats(0.0, 0.9))
def test_shrink_computes_the_masked_networks_outputs_for_random_residual_networks(net, fraction):
    model, seed = net
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((6, 2, 8, 8))
    minnet.fit(model, x, np.arange(6) % 3, epochs=1, batch_size=3, verbose=False, rng=seed)  # BN statistics move
    groups = dependency_groups(model, (2, 8, 8))
    members = [tuple(m) for g in groups for m in g]
    assert len(members) == len(set(members))  # each (name, axis, index) in one group at most
    remove = gen.random(len(groups)) < fraction  # random group pruning, one unit left in every family
    for producers in {group.producers for group in groups}:
        family = [g for g, group in enumerate(groups) if group.producers == producers]
        remove[family[gen.integers(len(family))]] = False
    P.attach_masks(model, minnet.prune.groups.group_keep_masks(model, groups, remove))
    small = P.shrink(model)
    np.testing.assert_allclose(small.inference(x), model.inference(x), rtol=0, atol=1e-10)
    assert (~group_alive(model, groups) == remove).all()
    assert len(dependency_groups(small, (2, 8, 8))) == len(groups) - remove.sum()


def test_the_families_are_described_and_drawn_in_the_network_s_order():
    import matplotlib

    matplotlib.use("Agg")
    model = tiny_resnet()
    lines = P.describe_groups(model).splitlines()
    assert len(lines) == 1 + 4  # a header, then stream 1, the two free families, stream 2
    assert lines[1].split()[:3] == ["coupled", "2", "11"] and "0, 3.body.3 ->" in lines[1]
    assert lines[2].split()[:3] == ["free", "2", "5"]
    ax = P.plot_groups(model)
    rows = [tick.get_text() for tick in ax.get_yticklabels()]
    assert rows == [name for name, layer in minnet.anatomy.leaf_layers(model) if layer.params]
    assert len(ax.get_xticklabels()) == 4 and ax.get_title()


def test_a_block_inside_a_block_joins_its_stream_to_the_outer_one():
    gen = np.random.default_rng(0)
    inner = minnet.residual_block(3, 3, rng=gen, dtype=F64)
    last = Conv2d(3, 3, 3, padding=1, rng=gen, dtype=F64)
    outer = Residual(Sequential(inner, ReLU(), last, BatchNorm2d(3, dtype=F64)))
    model = Sequential(Conv2d(1, 3, 3, padding=1, rng=gen, dtype=F64), BatchNorm2d(3, dtype=F64), ReLU(), outer,
                       ReLU(), GlobalAvgPool2d(), Dense(3, 2, rng=gen, dtype=F64))  # fmt: skip
    groups = dependency_groups(model, (1, 6, 6))
    assert [g.producers for g in groups[::3]] == [("0", "3.body.0.body.3", "3.body.2"), ("3.body.0.body.0",)]
    x = gen.standard_normal((4, 1, 6, 6))
    minnet.fit(model, x, np.array([0, 1, 0, 1]), epochs=1, batch_size=2, verbose=False)
    P.prune_units(model, amount=0.34)  # one of the three units of each family
    np.testing.assert_allclose(P.shrink(model).inference(x), model.inference(x), rtol=0, atol=1e-10)


def test_a_chain_with_global_pooling_shrinks_like_any_chain():
    gen = np.random.default_rng(0)
    model = Sequential(Conv2d(1, 4, 3, rng=gen, dtype=F64), BatchNorm2d(4, dtype=F64), ReLU(), GlobalAvgPool2d(),
                       Dense(4, 3, rng=gen, dtype=F64))  # fmt: skip
    P.prune_units(model, amount=0.5)
    small = P.shrink(model)
    x = gen.standard_normal((5, 1, 6, 6))
    assert small.layers[0].out_channels == 2 and small.layers[4].in_features == 2
    np.testing.assert_allclose(small.inference(x), model.inference(x), rtol=0, atol=1e-10)
