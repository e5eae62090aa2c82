"""Model-level pruning: masks attached, zeros kept through training, errors leave the model alone."""

import numpy as np
import pytest

import minnet
from minnet.prune.apply import attach_masks, is_pruned, keep_units, prune, prune_units, remove


def states_equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture
def model():
    return minnet.mlp([6, 8, 5, 3], rng=0)


def test_global_magnitude_prunes_the_smallest_weights_of_the_hidden_layers(model):
    weights = np.concatenate([np.abs(model.layers[i].params["W"]).ravel() for i in (0, 2)])
    report = prune(model, sparsity=0.5)
    kept = np.concatenate([model.layers[i].masks["W"].ravel() for i in (0, 2)])
    assert kept.sum() == weights.size - round(0.5 * weights.size)
    assert weights[kept].min() >= weights[~kept].max()  # every kept weight outranks every pruned one
    assert "4.W" not in [r[0] for r in report.rows] and not model.layers[4].masks  # output layer untouched
    assert not any("b" in layer.masks for layer in model.layers)  # biases untouched
    assert report.sparsity == pytest.approx(0.5, abs=1 / weights.size)
    for i in (0, 2):
        layer = model.layers[i]
        assert np.all(layer.params["W"][~layer.masks["W"]] == 0)


def test_local_scope_gives_every_layer_the_same_sparsity(model):
    prune(model, sparsity=0.75, scope="local")
    for i, size in ((0, 48), (2, 40)):
        assert (~model.layers[i].masks["W"]).sum() == round(0.75 * size)


def test_amount_composes_and_sparsity_counts_earlier_pruning(model):
    prune(model, amount=0.5, scope="local", names=["0.W"])
    prune(model, amount=0.5, scope="local", names=["0.W"])
    assert model.layers[0].masks["W"].sum() == 48 - 24 - 12
    report = prune(model, sparsity=0.9, names=["0.W"])
    assert model.layers[0].masks["W"].sum() == 48 - round(0.9 * 48)
    assert report.rows[0][2] == 12 and report.pruned == 12 - (48 - round(0.9 * 48))
    with pytest.raises(ValueError, match="already at sparsity 0.8958.*above the target 0.5"):
        prune(model, sparsity=0.5, names=["0.W"])


def test_custom_scores_dict_and_callable(model):
    scores = {"0.W": np.arange(48.0).reshape(6, 8), "2.W": np.zeros((8, 5))}
    # ascending, ties in dict order: 0.W[0] = 0, then the 40 zeros of 2.W, then 0.W[1..7]
    prune(model, amount=48, scores=scores)
    np.testing.assert_array_equal(model.layers[0].masks["W"].ravel(), np.arange(48) >= 8)
    assert not model.layers[2].masks["W"].any()
    m2 = minnet.mlp([6, 8, 5, 3], rng=0)
    prune(m2, amount=10, scores=lambda m: {"0.W": np.arange(48.0).reshape(6, 8), "2.W": np.full((8, 5), 100.0)})
    np.testing.assert_array_equal(m2.layers[0].masks["W"].ravel(), np.arange(48) >= 10)
    assert m2.layers[2].masks["W"].all()


def test_random_scores_prune_a_different_set_than_magnitude(model):
    other = model.copy()
    prune(model, sparsity=0.5)
    prune(other, sparsity=0.5, scores="random")
    assert not np.array_equal(model.layers[0].masks["W"], other.layers[0].masks["W"])


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda: minnet.SGD(lr=0.1, momentum=0.9, weight_decay=1e-3),
        lambda: minnet.SGD(lr=0.1, momentum=0.9, nesterov=True),
        lambda: minnet.Adam(lr=1e-2, weight_decay=1e-4),
    ],
)
def test_pruned_weights_stay_exactly_zero_through_training(make_opt):
    data = minnet.data.load_digits(rng=0)
    model = minnet.mlp([64, 32, 16, 10], rng=0)
    opt = make_opt()
    minnet.fit(model, data.X_train, data.y_train, epochs=1, optimizer=opt, verbose=False)  # optimizer state exists
    prune(model, sparsity=0.8)
    prune_units(model, amount=0.25)
    masks = {i: dict(layer.masks) for i, layer in enumerate(model.layers)}
    minnet.fit(model, data.X_train, data.y_train, epochs=3, optimizer=opt, verbose=False)
    for i, layer in enumerate(model.layers):
        for key, mask in masks[i].items():
            assert np.all(layer.params[key][~mask] == 0.0), (i, key)
            assert np.any(layer.params[key][mask] != 0.0)


def test_prune_units_masks_weights_bias_and_tied_batchnorm():
    model = minnet.mlp([6, 8, 4], batchnorm=True, rng=0)  # Dense, BatchNorm, ReLU, Dense
    norms = np.linalg.norm(model.layers[0].params["W"], axis=0)
    report = prune_units(model, amount=3)
    keep = model.layers[0].masks["b"]
    np.testing.assert_array_equal(keep, norms > np.sort(norms)[2])
    np.testing.assert_array_equal(model.layers[0].masks["W"], np.broadcast_to(keep, (6, 8)))
    np.testing.assert_array_equal(model.layers[1].masks["gamma"], keep)
    np.testing.assert_array_equal(model.layers[1].masks["beta"], keep)
    assert report.kind == "units" and report.rows[0][1:] == (8, 8, 5)
    out = model.eval().forward(np.random.default_rng(0).standard_normal((4, 6)))
    assert out.shape == (4, 4)
    hidden = model.layers[2].forward(model.layers[1].forward(model.layers[0].forward(np.ones((2, 6), np.float32))))
    assert np.all(hidden[:, ~keep] == 0)  # pruned neurons output exactly zero


def test_prune_units_on_conv_filters_and_global_scope():
    model = minnet.small_cnn(rng=0)
    report = prune_units(model, sparsity=0.5, layers=[0, 2])
    for i, total in ((0, 16), (2, 32)):
        assert model.layers[i].masks["b"].sum() == total // 2
        filters = model.layers[i].masks["W"].reshape(total, -1)
        assert np.all(filters.all(1) == filters.any(1))  # whole filters
    assert report.sparsity == pytest.approx(0.5)
    model2 = minnet.small_cnn(rng=0)
    prune_units(model2, amount=10, layers=[0, 2], scope="global", scores={0: np.arange(16.0), 2: np.arange(32.0) + 5})
    # values 0..15 (layer 0) and 5..36 (layer 2); the 10 lowest, ties in dict order:
    # 0 1 2 3 4 5 5' 6 6' 7 -> layer 0 loses units 0..7, layer 2 loses units 0 and 1
    np.testing.assert_array_equal(model2.layers[0].masks["b"], np.arange(16) >= 8)
    np.testing.assert_array_equal(model2.layers[2].masks["b"], np.arange(32) >= 2)


def test_structured_pruning_refuses_to_empty_a_layer(model):
    before = model.state_dict()
    with pytest.raises(ValueError, match="every unit of layer 0"):
        prune_units(model, amount=1.0)
    assert states_equal(model.state_dict(), before) and not is_pruned(model)
    prune_units(model, amount=7, layers=[0])
    with pytest.raises(ValueError, match="every unit of layer 0"):
        prune_units(model, amount=1, layers=[0])


def test_keep_units_and_attach_masks_validate_first(model):
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        keep_units(model, 0, np.ones(7, dtype=bool))
    with pytest.raises(TypeError, match="only Dense and Conv2d"):
        keep_units(model, 1, np.ones(8, dtype=bool))
    with pytest.raises(ValueError, match="unknown parameter name '9.W'"):
        attach_masks(model, {"0.W": np.zeros((6, 8), dtype=bool), "9.W": np.zeros(3, dtype=bool)})
    assert states_equal(model.state_dict(), before)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"amount": 1.5}, ValueError, ["[0, 1]", "1.5"]),
        ({"amount": -3}, ValueError, ["amount", "-3"]),
        ({"amount": 10_000}, ValueError, ["[0, 88]", "10000"]),
        ({"amount": 0.5, "sparsity": 0.5}, TypeError, ["exactly one"]),
        ({}, TypeError, ["exactly one"]),
        ({"sparsity": 1.2}, ValueError, ["sparsity", "1.2"]),
        ({"amount": 0.5, "scope": "layer"}, ValueError, ["scope", "layer", "global"]),
        ({"amount": 0.5, "names": ["7.W"]}, ValueError, ["unknown parameter name '7.W'"]),
        ({"amount": 0.5, "scores": "taylor"}, ValueError, ["need data", "taylor_scores"]),
        ({"amount": 0.5, "scores": "psychic"}, ValueError, ["scores must be one of", "psychic"]),
        ({"amount": 0.5, "scores": {"0.W": np.ones((6, 8))}}, ValueError, ["no entry for '2.W'"]),
        (
            {"amount": 0.5, "scores": {"0.W": np.ones((8, 6)), "2.W": np.ones((8, 5))}},
            ValueError,
            ["scores['0.W']", "(6, 8)", "(8, 6)"],
        ),
        (
            {"amount": 0.5, "scores": {"0.W": np.full((6, 8), np.nan), "2.W": np.ones((8, 5))}},
            ValueError,
            ["finite", "nan"],
        ),
    ],
)
def test_bad_prune_calls_leave_the_model_unchanged(model, kwargs, error, words):
    before = model.state_dict()
    with pytest.raises(error) as info:
        prune(model, **kwargs)
    for word in words:
        assert word in str(info.value)
    assert states_equal(model.state_dict(), before) and not is_pruned(model)


def test_remove_bakes_the_zeros_in(model):
    prune(model, sparsity=0.5)
    zeros = model.layers[0].params["W"] == 0
    remove(model)
    assert not is_pruned(model)
    assert np.all(model.layers[0].params["W"][zeros] == 0)


def test_report_table_lists_rows_and_total(model):
    text = repr(prune(model, sparsity=0.5))
    assert "0.W" in text and "2.W" in text and "50.0%" in text.splitlines()[-1]
