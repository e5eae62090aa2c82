"""prune.surgery: shrink removes structurally pruned units and computes the same outputs."""

import numpy as np
import pytest

import minnet
from minnet import metrics
from minnet.anatomy import tied_batchnorm, unit_axis
from minnet.layers import Layer
from minnet.prune.surgery import shrink, unit_keep_mask


def mask_units(model, index, units, *, bias=True, batchnorm=True, weights=None):
    """Hand-made pruning of layer ``index``: mask the weight slices of ``units``, and
    unless told otherwise their bias entries and the gamma/beta of the BatchNorm
    that normalises this layer; ``weights`` (bool, W's shape) masks more weights,
    unstructured. Masks AND into any mask already there; values are zeroed."""
    layer = model.layers[index]
    axis = unit_axis(layer)
    keep = np.ones(layer.params["W"].shape[axis], dtype=bool)
    keep[list(units)] = False
    w_keep = np.expand_dims(keep, [a for a in range(layer.params["W"].ndim) if a != axis])
    targets = [(layer, "W", w_keep if weights is None else w_keep & weights)]
    targets += [(layer, "b", keep)] if bias else []
    bn = tied_batchnorm(model, index) if batchnorm else None
    targets += [(model.layers[bn], key, keep) for key in ("gamma", "beta")] if bn is not None else []
    for target, key, kept in targets:
        old = target.masks.get(key, np.ones(target.params[key].shape, dtype=bool))
        target.masks[key] = old & kept
        target.params[key] = target.params[key] * target.masks[key]


def randomize(model, rng=0):
    """Nonzero biases and BatchNorm parameters/statistics, so that nothing vanishes by luck."""
    gen = np.random.default_rng(rng)
    for layer in model.layers:
        for key, value in [*layer.params.items(), *layer.buffers().items()]:
            if key != "W":
                value[...] = (
                    gen.uniform(0.5, 1.5, value.shape)
                    if key in ("gamma", "running_var")
                    else gen.normal(0, 0.5, value.shape)
                )
    return model


def mlp():
    return minnet.mlp([6, 8, 7, 5, 3], rng=0)  # 0 Dense(6,8) 2 Dense(8,7) 4 Dense(7,5) 6 Dense(5,3)


def mlp_bn_dropout():  # 0 Dense(6,8) 1 BN 2 ReLU 3 Dropout 4 Dense(8,5) 5 BN 6 ReLU 7 Dropout 8 Dense(5,3)
    return minnet.mlp([6, 8, 5, 3], batchnorm=True, dropout=0.3, rng=0)


def conv_conv():  # (2, 6, 6) -> conv (4, 6, 6) -> conv (5, 4, 4) -> 80 -> 3
    C, D = minnet.Conv2d, minnet.Dense
    return minnet.Sequential(C(2, 4, 3, padding=1, rng=0), minnet.ReLU(), C(4, 5, 3, rng=1), minnet.ReLU(),
                             minnet.Flatten(), D(80, 3, rng=2))  # fmt: skip


def conv_bn_pool_conv():  # (1, 8, 8) -> conv (4, 8, 8) -> BN, ReLU, pool (4, 4, 4) -> conv (3, 4, 4) -> 48 -> 2
    return minnet.Sequential(
        minnet.Conv2d(1, 4, 3, padding=1, rng=0),
        minnet.BatchNorm2d(4),
        minnet.ReLU(),
        minnet.MaxPool2d(2),
        minnet.Conv2d(4, 3, 3, padding=1, rng=1),
        minnet.ReLU(),
        minnet.Flatten(),
        minnet.Dense(48, 2, rng=2),
    )


def conv_pool_flatten_dense():  # (2, 6, 6) -> conv (4, 4, 4) -> pool (4, 2, 2) -> 16 -> 5 -> 3
    return minnet.Sequential(
        minnet.Conv2d(2, 4, 3, rng=0),
        minnet.ReLU(),
        minnet.MaxPool2d(2),
        minnet.Flatten(),
        minnet.Dense(16, 5, rng=1),
        minnet.ReLU(),
        minnet.Dense(5, 3, rng=2),
    )


def conv_flatten_bn_dense():  # (1, 6, 6) -> conv (3, 4, 4) -> 48 -> BatchNorm1d(48) -> 2; BN left unmasked
    C, F, B, D = minnet.Conv2d, minnet.Flatten, minnet.BatchNorm1d, minnet.Dense
    return minnet.Sequential(C(1, 3, 3, rng=0), minnet.ReLU(), F(), B(48), D(48, 2, rng=1))


# builder, one example's shape, {layer: units to prune}, mask tied BatchNorm?, (params, MACs) before and after,
# counted by hand from the layer sizes
CASES = {
    "mlp": (mlp, (6,), {0: [1, 4], 2: [0], 4: [2, 3]}, True, (177, 154), (117, 99)),
    "mlp+bn+dropout": (mlp_bn_dropout, (6,), {0: [0, 7], 4: [1]}, True, (145, 103), (105, 72)),
    "conv->conv": (conv_conv, (2, 6, 6), {0: [1, 2], 2: [0, 3]}, True, (504, 5712), (242, 2304)),
    "conv->bn->relu->pool->conv": (conv_bn_pool_conv, (1, 8, 8), {0: [0, 3]}, True, (257, 4128), (179, 2112)),
    "conv->pool->flatten->dense": (
        conv_pool_flatten_dense,
        (2, 6, 6),
        {0: [1, 2], 4: [3]},
        True,
        (179, 1247),
        (89, 620),
    ),  # fmt: skip
    "conv->flatten->bn1d->dense, folded": (conv_flatten_bn_dense, (1, 6, 6), {0: [1]}, False, (224, 528), (150, 352)),
}


@pytest.mark.parametrize("case", CASES)
def test_shrink_matches_the_masked_model_and_counts_drop_exactly(case):
    build, shape, prune, mask_bn, before, after = CASES[case]
    model = randomize(build())
    for index, units in prune.items():
        mask_units(model, index, units, batchnorm=mask_bn)
    unstructured = np.random.default_rng(1).random(model.layers[0].params["W"].shape) > 0.3  # to be carried over
    mask_units(model, 0, [], bias=False, batchnorm=False, weights=unstructured)
    state, arch = model.state_dict(), model.architecture()
    model.train()

    small = shrink(model)

    x = np.random.default_rng(2).standard_normal((7, *shape)).astype(np.float32)
    np.testing.assert_allclose(small.inference(x), model.inference(x), rtol=0, atol=1e-5)
    assert (metrics.count_parameters(model), metrics.flops(model, shape)) == before
    assert (metrics.count_parameters(small), metrics.flops(small, shape)) == after
    assert model.architecture() == arch and model.state_dict().keys() == state.keys()  # original untouched
    assert all(np.array_equal(value, state[name]) for name, value in model.state_dict().items())
    assert small.training and [type(a) for a in small.layers] == [type(b) for b in model.layers]
    for big, little in zip(model.layers, small.layers):
        assert little.masks.keys() == big.masks.keys()
        for key, mask in little.masks.items():
            assert mask.shape == little.params[key].shape and not np.any(little.params[key][~mask])
        for key, value in little.params.items():
            assert value.dtype == big.params[key].dtype
    # sizes recorded in the configs agree with the arrays: the architecture rebuilds the shrunk model
    rebuilt = minnet.Sequential(*(minnet.layers.LAYER_TYPES[s["type"]](**s["config"]) for s in small.architecture()))
    rebuilt.load_state_dict(small.state_dict())
    np.testing.assert_array_equal(rebuilt.inference(x), small.inference(x))


def test_shrink_slices_the_remaining_masks_exactly():
    model = randomize(mlp())
    mask_units(model, 0, [1, 4])
    mask_units(model, 2, [0], weights=np.random.default_rng(0).random((8, 7)) > 0.5)
    w2 = model.layers[2]
    small = shrink(model)
    rows, cols = [0, 2, 3, 5, 6, 7], [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(small.layers[2].masks["W"], w2.masks["W"][np.ix_(rows, cols)])
    np.testing.assert_array_equal(small.layers[2].params["W"], w2.params["W"][np.ix_(rows, cols)])
    np.testing.assert_array_equal(small.layers[2].masks["b"], w2.masks["b"][cols])
    assert "W" not in small.layers[4].masks  # layer 4 had none; its inputs are sliced all the same
    assert small.layers[4].params["W"].shape == (6, 5) and small.layers[4].in_features == 6


def test_a_column_zeroed_by_unstructured_pruning_keeps_its_unit():
    model = randomize(mlp())
    mask_units(model, 0, [3], bias=False)  # whole column masked, bias kept: the neuron still outputs relu(b)
    assert unit_keep_mask(model, 0).all()
    small = shrink(model)
    assert small.layers[0].params["W"].shape == (6, 8)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_array_equal(small.inference(x), model.inference(x))


def test_output_units_are_never_removed():
    model = randomize(mlp())
    mask_units(model, 6, [0])
    assert shrink(model).layers[6].params["W"].shape == (5, 3)


def test_constants_from_removed_units_are_folded_into_the_next_bias():
    model = randomize(minnet.mlp([4, 6, 3], activation="sigmoid", rng=0))  # a removed neuron sends sigmoid(0) = 0.5
    mask_units(model, 0, [2, 5])
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    small = shrink(model)
    np.testing.assert_allclose(small.inference(x), model.inference(x), atol=1e-6)
    assert not np.allclose(small.layers[2].params["b"], model.layers[2].params["b"])
    # through a BatchNorm whose entries stay unmasked: exact for an unpadded conv, refused for a padded one
    for padding in (0, 1):
        cnn = randomize(
            minnet.Sequential(
                minnet.Conv2d(1, 4, 3, rng=0), minnet.BatchNorm2d(4), minnet.ReLU(),
                minnet.Conv2d(4, 2, 3, padding=padding, rng=1),
            )
        )  # fmt: skip
        cnn.layers[1].params["beta"][1] = 2.0  # channel 1 sends relu(BN(0)) > 0 once its filter is gone
        mask_units(cnn, 0, [1], batchnorm=False)
        if padding:
            with pytest.raises(ValueError, match="padded Conv2d"):
                shrink(cnn)
        else:
            images = np.random.default_rng(0).standard_normal((3, 1, 7, 7)).astype(np.float32)
            small = shrink(cnn)
            np.testing.assert_allclose(small.inference(images), cnn.inference(images), atol=1e-5)
            assert not np.allclose(small.layers[3].params["b"], cnn.layers[3].params["b"])


def test_every_unit_pruned_is_an_error_naming_the_layer():
    model = mlp()
    mask_units(model, 2, range(7))
    with pytest.raises(ValueError, match=r"every unit of layer 2 \(Dense\(in_features=8, out_features=7\)\)"):
        shrink(model)


def test_unsupported_pattern_is_a_type_error():
    class Shuffle(Layer):
        """Reverses the feature order: unit j no longer maps to input j."""

        def forward(self, x):
            return x[:, ::-1]

    model = minnet.Sequential(minnet.Dense(4, 5, rng=0), Shuffle(), minnet.Dense(5, 2, rng=1))
    shrink(model)  # nothing pruned: nothing to check
    mask_units(model, 0, [1])
    with pytest.raises(TypeError, match=r"layer 1 \(Shuffle\(\)\) lies between it and the next Dense/Conv2d layer 2"):
        shrink(model)
    with pytest.raises(TypeError, match="model must be a minnet Sequential"):
        shrink([minnet.Dense(2, 2)])
