"""Importance scores: each against its definition, no mutation, masks, seeds, errors."""

import numpy as np
import pytest

import minnet
from minnet.gradcheck import numerical_gradient
from minnet.losses import mse, softmax_cross_entropy
from minnet.prune.scores import (
    UNIT_SCORES,
    WEIGHT_SCORES,
    apoz_scores,
    batchnorm_scale_scores,
    gradient_scores,
    lamp_scores,
    magnitude_scores,
    mean_activation_scores,
    obd_scores,
    random_scores,
    snip_scores,
    taylor_scores,
    taylor_unit_scores,
    unit_norm_scores,
)

F64 = np.float64
REGISTRIES = {"weight": WEIGHT_SCORES, "unit": UNIT_SCORES}
ALL_SCORES = [(kind, method) for kind, registry in REGISTRIES.items() for method in sorted(registry)]
N_DATA_ARGS = {  # how many of (X, y) a score takes after the model; the others take none
    ("weight", "gradient"): 2,
    ("weight", "taylor"): 2,
    ("weight", "snip"): 2,
    ("weight", "obd"): 2,
    ("unit", "mean_activation"): 1,
    ("unit", "apoz"): 1,
    ("unit", "taylor"): 2,
}


def run_score(kind, method, model, X, y, **kwargs):
    data = (X, y)[: N_DATA_ARGS.get((kind, method), 0)]
    return REGISTRIES[kind][method](model, *data, **kwargs)


def attach_mask(layer, key, mask):
    layer.masks[key] = mask
    layer.params[key] *= mask


def batch(shape, n_classes=3, seed=0):
    gen = np.random.default_rng(seed)
    return gen.standard_normal(shape), gen.integers(0, n_classes, shape[0])


def mlp_with_bn_dropout(dtype=F64):
    """Dense, BN, ReLU, Dropout, Dense, BN, ReLU, Dense; non-trivial BN stats."""
    model = minnet.mlp([4, 6, 5, 3], batchnorm=True, dropout=0.5, rng=1, dtype=dtype)
    gen = np.random.default_rng(7)
    for layer in model.layers:
        if isinstance(layer, minnet.BatchNorm):
            layer.params["gamma"][...] = gen.uniform(0.5, 1.5, layer.num_features)
            layer.params["beta"][...] = gen.normal(0, 0.3, layer.num_features)
            layer.running_mean[...] = gen.normal(0, 0.3, layer.num_features)
            layer.running_var[...] = gen.uniform(0.5, 2, layer.num_features)
    return model


def small_conv(dtype=F64, batchnorm=False):
    layers = [minnet.Conv2d(1, 3, 3, padding=1, rng=0, dtype=dtype)]
    layers += [minnet.BatchNorm2d(3, dtype=dtype)] if batchnorm else []
    layers += [minnet.ReLU(), minnet.MaxPool2d(2), minnet.Flatten(), minnet.Dense(12, 5, rng=1, dtype=dtype)]
    layers += [minnet.ReLU(), minnet.Dense(5, 3, rng=2, dtype=dtype)]
    return minnet.Sequential(*layers)


def eval_loss_gradient(model, X, y, name):
    """dL/dp by centred differences on an eval-mode copy: independent of backward."""
    ref = model.copy().eval()
    index, key = name.split(".")
    param = ref.layers[int(index)].params[key]
    return numerical_gradient(lambda: softmax_cross_entropy(ref.forward(X), y)[0], param)


# -- weight-level scores against their definitions ------------------------------------------


def test_magnitude_is_abs_w_or_w_squared():
    dense = minnet.Dense(3, 2, dtype=F64)
    W = np.array([[1.0, -2.0], [0.5, 0.0], [-3.0, 0.25]])
    dense.params["W"][...] = W
    model = minnet.Sequential(dense, minnet.ReLU(), minnet.Dense(2, 2))
    scores = magnitude_scores(model)
    assert list(scores) == ["0.W"]
    assert scores["0.W"].dtype == F64
    np.testing.assert_array_equal(scores["0.W"], np.abs(W))
    np.testing.assert_array_equal(magnitude_scores(model, ord=2)["0.W"], W**2)
    np.testing.assert_array_equal(magnitude_scores(model, names=["2.W"])["2.W"], np.abs(model.layers[2].params["W"]))


@pytest.mark.parametrize("make", [mlp_with_bn_dropout, small_conv], ids=["mlp_bn_dropout", "conv"])
def test_gradient_taylor_snip_use_the_eval_mode_gradient(make):
    model = make()
    model.train()  # the scores must still use eval mode: BN running stats, no Dropout
    X, y = batch((6, 4) if make is mlp_with_bn_dropout else (6, 1, 4, 4))
    names = [n for n, _ in model.named_parameters() if n.endswith(".W")]
    g = {name: eval_loss_gradient(model, X, y, name) for name in names}
    w = {name: model.layers[int(name.split(".")[0])].params["W"] for name in names}
    grad, taylor, snip = (f(model, X, y, names=names) for f in (gradient_scores, taylor_scores, snip_scores))
    total = sum(np.abs(w[n] * g[n]).sum() for n in names)
    for name in names:
        np.testing.assert_allclose(grad[name], np.abs(g[name]), rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(taylor[name], np.abs(w[name] * g[name]), rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(snip[name], np.abs(w[name] * g[name]) / total, rtol=1e-6, atol=1e-12)
    assert sum(s.sum() for s in snip.values()) == pytest.approx(1.0, abs=1e-12)


def test_snip_default_names_sum_to_one():
    model = minnet.mlp([4, 8, 8, 3], rng=0)
    X, y = batch((10, 4))
    scores = snip_scores(model, X, y)
    assert list(scores) == ["0.W", "2.W"]
    assert sum(s.sum() for s in scores.values()) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("batch_size, splits", [(3, [(0, 3), (3, 6)]), (4, [(0, 4), (4, 6)])])
def test_obd_is_half_mean_squared_batch_gradient_times_w_squared(batch_size, splits):
    model = mlp_with_bn_dropout()
    X, y = batch((6, 4), seed=3)
    name = "0.W"
    w = model.layers[0].params["W"].copy()
    fisher = np.mean([eval_loss_gradient(model, X[a:b], y[a:b], name) ** 2 for a, b in splits], axis=0)
    scores = obd_scores(model, X, y, batch_size=batch_size, names=[name])
    np.testing.assert_allclose(scores[name], 0.5 * fisher * w**2, rtol=1e-6, atol=1e-14)


def test_obd_with_one_batch_is_half_squared_gradient_times_w_squared():
    model = minnet.mlp([4, 5, 3], rng=2, dtype=F64)
    X, y = batch((5, 4), seed=1)
    g = eval_loss_gradient(model, X, y, "0.W")
    expected = 0.5 * g**2 * model.layers[0].params["W"] ** 2
    np.testing.assert_allclose(obd_scores(model, X, y, batch_size=100)["0.W"], expected, rtol=1e-6, atol=1e-14)


def lamp_model(w):
    """Dense(1, len(w)) whose weight row is w, followed by a ReLU and an output layer."""
    first = minnet.Dense(1, len(w), dtype=F64)
    first.params["W"][...] = np.array(w, dtype=F64)[None, :]
    return minnet.Sequential(first, minnet.ReLU(), minnet.Dense(len(w), 2))


@pytest.mark.parametrize(
    "w, expected",
    [
        ([1, 2, 3], [1 / 14, 4 / 13, 9 / 9]),
        ([-3, 1, 2], [1, 1 / 14, 4 / 13]),
        ([2, -2, 1], [4 / 8, 1, 1 / 9]),  # tie: the lower flat index comes first, scores lower
        ([0, 0, 5], [0, 0, 1]),
    ],
)
def test_lamp_by_hand(w, expected):
    scores = lamp_scores(lamp_model(w))["0.W"]
    assert scores.shape == (1, 3)
    np.testing.assert_allclose(scores[0], expected, rtol=1e-15)


def test_lamp_breaks_many_ties_by_flat_index():
    w = np.r_[np.full(20, 2.0), np.full(20, -1.0)]  # w**2: twenty 4s, then twenty 1s
    scores = lamp_scores(lamp_model(w))["0.W"][0]
    k = np.arange(20)
    np.testing.assert_allclose(scores[20:], 1 / (100 - k), rtol=1e-15)  # 1s first: tails 100, 99, ...
    np.testing.assert_allclose(scores[:20], 1 / (20 - k), rtol=1e-15)  # then 4s: 4 / (4 * (20 - k))


def test_lamp_largest_weight_of_every_layer_scores_exactly_one():
    model = minnet.lenet5(image_size=12, rng=3)
    scores = lamp_scores(model)
    assert len(scores) == 4
    for name, s in scores.items():
        assert s.max() == 1.0
        index = int(name.split(".")[0])
        assert s.flat[np.argmax(np.abs(model.layers[index].params["W"]))] == 1.0
        assert np.all((s > 0) & (s <= 1))


def test_lamp_leaves_masked_entries_out_of_the_sums():
    model = lamp_model([1, 2, 5, 3])
    attach_mask(model.layers[0], "W", np.array([[True, True, False, True]]))
    scores = lamp_scores(model)["0.W"][0]
    np.testing.assert_allclose(scores, [1 / 14, 4 / 13, 0, 1], rtol=1e-15)
    model.layers[0].params["W"][0, 2] = 5.0  # even a masked weight that is not zero stays out of the sums
    np.testing.assert_allclose(lamp_scores(model)["0.W"][0], [1 / 14, 4 / 13, 0, 1], rtol=1e-15)


# -- unit-level scores against their definitions ----------------------------------------------


@pytest.mark.parametrize("ord", [1, 2])
def test_unit_norm_matches_columns_and_filters(ord):
    model = small_conv(dtype=np.float32)
    scores = unit_norm_scores(model, ord=ord)
    assert set(scores) == {0, 4}
    conv_w = model.layers[0].params["W"].astype(F64)
    np.testing.assert_allclose(scores[0], [np.linalg.norm(f.ravel(), ord) for f in conv_w], rtol=1e-12)
    dense_w = model.layers[4].params["W"].astype(F64)
    np.testing.assert_allclose(scores[4], np.linalg.norm(dense_w, ord=ord, axis=0), rtol=1e-12)
    assert scores[0].shape == (3,) and scores[4].shape == (5,) and scores[0].dtype == F64


def dead_neuron_model(between=()):
    """Dense(2, 3): neuron 0 always positive, neuron 1 always dead (negative weights,
    positive inputs), neuron 2 positive for some inputs only."""
    dense = minnet.Dense(2, 3, dtype=F64)
    dense.params["W"][...] = [[1.0, -1.0, 1.0], [2.0, -0.5, -1.0]]
    dense.params["b"][...] = [0.0, -0.1, 0.0]
    return minnet.Sequential(dense, *between, minnet.ReLU(), minnet.Dense(3, 2, dtype=F64))


DEAD_X = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 2.0], [3.0, 1.0]])


def test_mean_activation_and_apoz_on_a_dead_neuron():
    model = dead_neuron_model()
    # pre-activations: neuron 0: [3, 3, 4.5, 5]; neuron 1: all < 0; neuron 2: [0, 1.5, -1.5, 2]
    mean = mean_activation_scores(model, DEAD_X)
    np.testing.assert_allclose(mean[0], [15.5 / 4, 0.0, 3.5 / 4], rtol=1e-15)
    apoz = apoz_scores(model, DEAD_X)
    np.testing.assert_array_equal(apoz[0], [1.0, 0.0, 0.5])  # neuron 2 is 0 for examples 0 and 2


def test_activation_scores_after_batchnorm_use_running_stats():
    bn = minnet.BatchNorm1d(3, dtype=F64)
    bn.params["gamma"][...] = [1.0, 2.0, 0.5]
    bn.params["beta"][...] = [0.0, -1.0, 0.1]
    bn.running_mean[...] = [3.0, -1.0, 0.0]
    bn.running_var[...] = [4.0, 1.0, 0.25]
    model = dead_neuron_model(between=[bn]).train()
    pre = DEAD_X @ model.layers[0].params["W"] + model.layers[0].params["b"]
    post = np.maximum(
        (pre - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) * bn.params["gamma"] + bn.params["beta"], 0
    )
    np.testing.assert_allclose(mean_activation_scores(model, DEAD_X)[0], post.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(apoz_scores(model, DEAD_X)[0], 1 - (post == 0).mean(axis=0), rtol=1e-12)


def test_mean_activation_tanh_and_raw_output():
    model = minnet.mlp([2, 3, 2], activation="tanh", rng=0, dtype=F64)
    W, b = model.layers[0].params["W"], model.layers[0].params["b"]
    scores = mean_activation_scores(model, DEAD_X, layers=[0, 2])
    np.testing.assert_allclose(scores[0], np.tanh(DEAD_X @ W + b).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scores[2], model.forward(DEAD_X).mean(axis=0), rtol=1e-12)  # no activation after


def test_conv_activation_scores_average_over_examples_and_positions():
    model = small_conv()
    X, _ = batch((5, 1, 4, 4))
    relu_out = np.maximum(model.layers[0].forward(X), 0)
    np.testing.assert_allclose(mean_activation_scores(model, X)[0], relu_out.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(apoz_scores(model, X)[0], 1 - (relu_out == 0).mean(axis=(0, 2, 3)), rtol=1e-12)


def scaled_unit_loss_derivative(model, X, y, index, unit, loss=softmax_cross_entropy):
    """d/dt of the eval-mode mean loss when unit's output a is scaled to (1 + t) a,
    which equals sum over examples and positions of a * dL/da. Scaling a unit's
    weights and bias scales its output; differentiate by centred differences."""
    t = np.zeros(1)

    def value():
        ref = model.copy().eval()
        layer = ref.layers[index]
        if isinstance(layer, minnet.Dense):
            layer.params["W"][:, unit] *= 1 + t[0]
        else:
            layer.params["W"][unit] *= 1 + t[0]
        layer.params["b"][unit] *= 1 + t[0]
        return loss(ref.forward(X), y)[0]

    return numerical_gradient(value, t)[0]


@pytest.mark.parametrize("make", [mlp_with_bn_dropout, small_conv], ids=["mlp_bn_dropout", "conv"])
def test_taylor_unit_is_abs_sum_of_activation_times_gradient(make):
    model = make().train()
    X, y = batch((6, 4) if make is mlp_with_bn_dropout else (6, 1, 4, 4), seed=4)
    for layer in model.layers:
        if isinstance(layer, (minnet.Dense, minnet.Conv2d)):
            layer.params["b"] += 0.1  # a non-zero bias, so scaling it matters
    scores = taylor_unit_scores(model, X, y)
    assert set(scores) == set(minnet.prune.prunable_layers(model))
    for index, s in scores.items():
        expected = [abs(scaled_unit_loss_derivative(model, X, y, index, j)) for j in range(len(s))]
        np.testing.assert_allclose(s, expected, rtol=1e-5, atol=1e-10)


def test_taylor_unit_with_mse_on_the_output_layer():
    model = minnet.mlp([3, 4, 2], activation="tanh", rng=0, dtype=F64)
    X = np.random.default_rng(0).standard_normal((5, 3))
    y = np.random.default_rng(1).standard_normal((5, 2))
    scores = taylor_unit_scores(model, X, y, loss=mse, layers=[2])
    expected = [abs(scaled_unit_loss_derivative(model, X, y, 2, j, loss=mse)) for j in range(2)]
    np.testing.assert_allclose(scores[2], expected, rtol=1e-6)


def test_batchnorm_scale_reads_abs_gamma():
    model = minnet.small_cnn(batchnorm=True, rng=0)
    model.layers[1].params["gamma"][...] = np.linspace(-1, 1, 16)
    scores = batchnorm_scale_scores(model)
    assert set(scores) == {0, 3}  # the two convs; the hidden Dense has no BatchNorm
    np.testing.assert_allclose(scores[0], np.abs(np.linspace(-1, 1, 16)), rtol=1e-6)
    np.testing.assert_array_equal(scores[3], np.abs(model.layers[4].params["gamma"]))


def test_conv_unit_scores_have_one_entry_per_filter():
    model = minnet.small_cnn(batchnorm=True, channels=(4, 6), hidden=7, rng=0)
    X, y = batch((3, 1, 8, 8))
    for method in UNIT_SCORES:
        scores = run_score("unit", method, model, X, y)
        expected = {0: (4,), 3: (6,)} if method == "bn_scale" else {0: (4,), 3: (6,), 8: (7,)}
        assert {i: s.shape for i, s in scores.items()} == expected, method
        assert all(s.dtype == F64 for s in scores.values())


# -- properties shared by every score ---------------------------------------------------------


def snapshot(model):
    return (
        model.state_dict(),
        [layer.training for layer in model.layers],
        {(i, k): g.copy() for i, layer in enumerate(model.layers) for k, g in layer.grads.items()},
        [layer.rng.bit_generator.state for layer in model.layers if isinstance(layer, minnet.Dropout)],
    )


def assert_same(before, after):
    (state0, modes0, grads0, rngs0), (state1, modes1, grads1, rngs1) = before, after
    assert state0.keys() == state1.keys()
    for key in state0:
        np.testing.assert_array_equal(state0[key], state1[key], err_msg=key)
    assert modes0 == modes1
    assert grads0.keys() == grads1.keys()
    for key in grads0:
        np.testing.assert_array_equal(grads0[key], grads1[key], err_msg=str(key))
    assert rngs0 == rngs1


def trained_looking_model(make):
    """A model in (mixed) training mode with masks, grads and moved BN stats."""
    model = make()
    X, y = batch((8, 4) if make is mlp_with_bn_dropout else (8, 1, 4, 4), seed=5)
    attach_mask(model.layers[0], "W", np.random.default_rng(0).random(model.layers[0].params["W"].shape) > 0.3)
    model.train()
    _, grad = softmax_cross_entropy(model.forward(X), y)  # moves BN running stats, fills grads
    model.backward(grad)
    model.layers[-1].training = False  # a mixed mode must come back as it was
    return model, X, y


@pytest.mark.parametrize("kind, method", ALL_SCORES, ids=[f"{k}-{m}" for k, m in ALL_SCORES])
@pytest.mark.parametrize("make", [mlp_with_bn_dropout, lambda: small_conv(batchnorm=True)], ids=["mlp", "conv"])
def test_scores_do_not_mutate_the_model(kind, method, make):
    model, X, y = trained_looking_model(make)
    before = snapshot(model)
    run_score(kind, method, model, X, y)
    assert_same(before, snapshot(model))


@pytest.mark.parametrize("method", sorted(WEIGHT_SCORES))
def test_masked_weights_score_zero(method):
    model = minnet.mlp([4, 6, 5, 3], rng=0, dtype=F64)
    masks = {i: np.random.default_rng(i).random(model.layers[i].params["W"].shape) > 0.4 for i in (0, 2)}
    for i, mask in masks.items():
        attach_mask(model.layers[i], "W", mask)
    X, y = batch((10, 4))
    scores = run_score("weight", method, model, X, y)
    for i, mask in masks.items():
        s = scores[f"{i}.W"]
        assert s.shape == mask.shape and s.dtype == F64
        assert np.all(s[~mask] == 0), method
        assert np.all(s >= 0) and s[mask].max() > 0


def test_random_scores_are_seeded_and_leave_the_global_state_alone():
    model = minnet.mlp([4, 6, 5, 3], rng=0)
    global_before = np.random.get_state()[1].copy()
    a, b, c = random_scores(model, rng=1), random_scores(model, rng=1), random_scores(model, rng=2)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
        assert not np.array_equal(a[name], c[name])
        assert np.all((a[name] >= 0) & (a[name] < 1))
    gen = np.random.default_rng(1)
    from_generator = random_scores(model, rng=gen)
    np.testing.assert_array_equal(from_generator["0.W"], a["0.W"])
    assert not np.array_equal(random_scores(model, rng=gen)["0.W"], a["0.W"])  # the stream continues
    np.testing.assert_array_equal(np.random.get_state()[1], global_before)


def test_no_score_touches_the_global_random_state():
    model, X, y = trained_looking_model(mlp_with_bn_dropout)
    before = np.random.get_state()[1].copy()
    for kind, method in ALL_SCORES:
        run_score(kind, method, model, X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_registries():
    assert set(WEIGHT_SCORES) == {"magnitude", "random", "gradient", "taylor", "snip", "obd", "lamp"}
    assert set(UNIT_SCORES) == {"norm", "mean_activation", "apoz", "taylor", "bn_scale"}


# -- errors -----------------------------------------------------------------------------------


def test_errors():
    model = minnet.mlp([4, 6, 3], rng=0)
    X, y = batch((5, 4))
    with pytest.raises(ValueError, match=r"unknown parameter name '9.W'.*'0.W'"):
        magnitude_scores(model, names=["9.W"])
    with pytest.raises(ValueError, match="unknown parameter name '0.gamma'"):
        taylor_scores(model, X, y, names=["0.gamma"])
    with pytest.raises(TypeError, match="names must be a list"):
        lamp_scores(model, names="0.W")
    for bad in (0, 3):
        with pytest.raises(ValueError, match=f"ord must be 1 or 2, got {bad!r}"):
            magnitude_scores(model, ord=bad)
    for bad in ("fro", True, 1.0):
        with pytest.raises(TypeError, match=f"ord must be 1 or 2, got {type(bad).__name__} {bad!r}"):
            magnitude_scores(model, ord=bad)
        with pytest.raises((ValueError, TypeError), match="ord must be 1 or 2"):
            unit_norm_scores(model, ord=bad)
    with pytest.raises(ValueError, match=r"y must have one entry per example of X \(5\), got shape \(4,\)"):
        gradient_scores(model, X, y[:4])
    with pytest.raises(ValueError, match="y must have one entry"):
        taylor_unit_scores(model, X, y[:4])
    with pytest.raises(ValueError, match="X must be a non-empty batch"):
        obd_scores(model, X[:0], y[:0])
    with pytest.raises(ValueError, match="X must be a non-empty batch"):
        mean_activation_scores(model, X[0])
    with pytest.raises(ValueError, match="layer 0"):
        apoz_scores(model, X[:, :3])  # the model's own shape error, naming the layer
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        obd_scores(model, X, y, batch_size=0)
    with pytest.raises(TypeError, match="loss must be a function"):
        snip_scores(model, X, y, loss="mse")
    with pytest.raises(ValueError, match=r"unknown layer 1 in layers; the model's Dense/Conv2d layers are \[0, 2\]"):
        unit_norm_scores(model, layers=[1])
    with pytest.raises(TypeError, match="layers must be a list"):
        unit_norm_scores(model, layers=0)
    with pytest.raises(ValueError, match=r"layer 0 \(Dense.*\) has no BatchNorm after it"):
        batchnorm_scale_scores(model, layers=[0])
    assert batchnorm_scale_scores(model) == {}  # no BatchNorm anywhere: nothing to score by default
    tanh = minnet.mlp([4, 6, 3], activation="tanh", rng=0)
    with pytest.raises(ValueError, match="apoz_scores needs a ReLU after layer 0.*Tanh"):
        apoz_scores(tanh, X)


def test_every_registered_score_declares_what_it_needs():
    """prune and prune_units read these declarations instead of sniffing signatures."""
    import inspect

    for registry in (WEIGHT_SCORES, UNIT_SCORES):
        for name, score_fn in registry.items():
            assert score_fn.needs_data == ("X" in inspect.signature(score_fn).parameters), name
            assert score_fn.default_layers is None or callable(score_fn.default_layers), name
    model = minnet.small_cnn(batchnorm=True, rng=0)
    assert UNIT_SCORES["bn_scale"].default_layers(model) == sorted(UNIT_SCORES["bn_scale"](model))
