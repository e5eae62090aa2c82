"""Residual blocks and global average pooling, against their definitions.

A residual block computes ``body(x) + shortcut(x)`` (the identity when there
is no shortcut); its parameters, gradients, masks and buffers are its
branches', named through it; it saves, loads, copies, switches mode and
trains like every layer.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minnet
from minnet import BatchNorm1d, BatchNorm2d, Conv2d, Dense, GlobalAvgPool2d, ReLU, Residual, Sequential
from minnet.gradcheck import check_layer, check_model
from minnet.losses import softmax_cross_entropy

F64 = np.float64


def conv_block(c_in, c_out, stride=1, rng=0):
    return minnet.residual_block(c_in, c_out, stride=stride, rng=rng, dtype=F64)


def dense_block(n_in, n_out, rng=0):
    """A residual block of Dense layers, with a projection when the width changes."""
    gen = np.random.default_rng(rng)
    body = Sequential(Dense(n_in, n_out, rng=gen, dtype=F64), BatchNorm1d(n_out, dtype=F64), ReLU(),
                      Dense(n_out, n_out, rng=gen, dtype=F64))  # fmt: skip
    shortcut = None if n_in == n_out else Sequential(Dense(n_in, n_out, rng=gen, dtype=F64))
    return Residual(body, shortcut)


def tiny_resnet(rng=0):
    gen = np.random.default_rng(rng)
    return Sequential(
        Conv2d(1, 3, 3, padding=1, rng=gen, dtype=F64), BatchNorm2d(3, dtype=F64), ReLU(),
        conv_block(3, 3, rng=gen), ReLU(), conv_block(3, 5, stride=2, rng=gen), ReLU(),
        GlobalAvgPool2d(), Dense(5, 4, rng=gen, dtype=F64),
    )  # fmt: skip


def images(n=6, seed=1):
    return np.random.default_rng(seed).standard_normal((n, 1, 8, 8))


# -- the definition ----------------------------------------------------------------------------


@pytest.mark.parametrize("stride, c_out", [(1, 3), (2, 5), (1, 5)])
def test_a_block_is_its_body_plus_its_shortcut(stride, c_out):
    block = conv_block(3, c_out, stride=stride, rng=2)
    x = np.random.default_rng(0).standard_normal((4, 3, 6, 6))
    skip = x if block.shortcut is None else block.shortcut.forward(x)
    expected = block.body.forward(x) + skip
    np.testing.assert_array_equal(block.forward(x), expected)
    assert (block.shortcut is None) == (stride == 1 and c_out == 3)


def test_global_average_pooling_is_the_mean_over_pixels():
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 2))
    np.testing.assert_allclose(GlobalAvgPool2d().forward(x), x.reshape(3, 4, -1).mean(axis=2), rtol=1e-12)
    assert GlobalAvgPool2d().output_shape((4, 5, 2)) == (4,)


@pytest.mark.parametrize("make", [lambda: conv_block(3, 3, rng=1), lambda: conv_block(3, 4, stride=2, rng=1)])
def test_gradients_of_a_conv_block_match_finite_differences(make):
    block = make()
    block.training = False  # BatchNorm on running statistics: every parameter, biases included, has a gradient
    errors = check_layer(block, np.random.default_rng(0).standard_normal((2, 3, 6, 6)))
    assert max(errors.values()) < 1e-6, errors
    assert set(errors) == {"x", *block.params}


@pytest.mark.parametrize("n_out", [6, 4])
def test_gradients_of_a_dense_block_match_finite_differences(n_out):
    block = dense_block(6, n_out, rng=3)
    block.training = False
    errors = check_layer(block, np.random.default_rng(0).standard_normal((5, 6)))
    assert max(errors.values()) < 1e-6, errors


def test_gradients_of_global_average_pooling_and_of_a_whole_resnet():
    assert check_layer(GlobalAvgPool2d(), np.random.default_rng(0).standard_normal((2, 3, 4, 5)))["x"] < 1e-8
    model = tiny_resnet()
    model.eval()
    errors = check_model(model, images(), np.arange(6) % 4, softmax_cross_entropy)
    assert max(errors.values()) < 1e-6, errors


def test_in_training_mode_the_batch_statistics_are_differentiated_too():
    model = tiny_resnet()
    errors = check_model(model, images(), np.arange(6) % 4, softmax_cross_entropy)
    # a bias right before a BatchNorm has no effect in training mode (the batch mean removes it)
    checked = {name: e for name, e in errors.items() if not name.endswith(".b") or name == "8.b"}
    assert max(checked.values()) < 1e-6, checked


# -- names, state, modes -------------------------------------------------------------------------


def test_parameters_are_named_through_the_block_and_alias_the_branches():
    model = tiny_resnet()
    names = [name for name, _ in model.named_parameters()]
    assert "3.body.0.W" in names and "5.shortcut.0.W" in names and "5.shortcut.1.gamma" in names
    assert not any(name.startswith("3.shortcut") for name in names)  # identity: nothing to name
    block = model.layers[5]
    assert block.params["body.3.W"] is block.body.layers[3].params["W"]
    block.params["body.3.b"] = np.full(5, 2.0)
    np.testing.assert_array_equal(block.body.layers[3].params["b"], 2.0)
    with pytest.raises(KeyError):
        block.params["body.9.W"]
    state = model.state_dict()
    assert {"5.shortcut.1.running_mean", "3.body.4.running_var"} <= set(state)


def test_save_load_and_copy_give_the_same_network_bit_for_bit(tmp_path):
    model = tiny_resnet()
    minnet.prune.prune(model, sparsity=0.5, names=["3.body.0.W", "5.shortcut.0.W"])
    minnet.fit(model, images(12), np.arange(12) % 4, epochs=1, batch_size=4, verbose=False)  # running stats move
    model.save(tmp_path / "resnet")
    for other in (minnet.load(tmp_path / "resnet"), model.copy()):
        state, expected = other.state_dict(), model.state_dict()
        assert state.keys() == expected.keys()
        assert all(np.array_equal(state[k], expected[k]) and state[k].dtype == expected[k].dtype for k in state)
        np.testing.assert_array_equal(other.inference(images()), model.inference(images()))
    assert minnet.load(tmp_path / "resnet").layers[5].masks.keys() == {"shortcut.0.W"}


def test_train_and_eval_reach_every_branch():
    model = tiny_resnet()
    model.eval()
    assert not any(layer.training for b in model.layers[5].branches().values() for layer in b.layers)
    model.train()
    assert all(layer.training for b in model.layers[5].branches().values() for layer in b.layers)


@pytest.mark.parametrize("optimizer", [lambda: minnet.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
                                       lambda: minnet.Adam(lr=1e-2)])  # fmt: skip
def test_pruned_weights_inside_blocks_stay_exactly_zero_under_every_optimizer(optimizer):
    model = tiny_resnet()
    minnet.prune.prune(model, sparsity=0.6, names=["3.body.0.W", "3.body.3.W", "5.shortcut.0.W", "8.W"])
    minnet.fit(model, images(24), np.arange(24) % 4, epochs=3, batch_size=6, optimizer=optimizer(), verbose=False)
    for name in ("3.body.0.W", "3.body.3.W", "5.shortcut.0.W", "8.W"):
        index, _, key = name.partition(".")
        layer = model.layers[int(index)]
        assert not layer.params[key][~layer.masks[key]].any(), name


def test_masks_can_be_replaced_as_a_whole():
    block = conv_block(3, 4, stride=2)
    block.masks = {"body.0.W": np.zeros((4, 3, 3, 3), bool)}
    assert set(block.masks) == {"body.0.W"} and not block.body.layers[0].masks["W"].any()
    block.masks = {}
    assert dict(block.masks) == {}


def test_summary_lists_the_layers_of_each_block_and_flops_counts_them():
    model = tiny_resnet()
    summary = model.summary((1, 8, 8))
    assert "3.body.3" in summary and "5.shortcut.0" in summary and f"{model.num_parameters():,}" in summary
    block_macs = minnet.metrics.flops_per_layer(model, (1, 8, 8))[5]
    by_hand = 5 * 3 * 9 * 16 + 5 * 5 * 9 * 16 + 5 * 3 * 1 * 16  # body convs and projection at 4x4
    assert block_macs == by_hand


def test_the_same_seed_builds_and_trains_the_same_resnet_bit_for_bit():
    data = minnet.data.load_digits(rng=0).as_images()
    runs = []
    for _ in range(2):
        model = minnet.small_resnet(rng=3)
        minnet.fit(model, data.X_train[:200], data.y_train[:200], epochs=1, batch_size=32, rng=1, verbose=False)
        runs.append(model.state_dict())
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 4), c_in=st.integers(1, 4), c_out=st.integers(1, 4), size=st.integers(2, 6),
    stride=st.sampled_from([1, 2]), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_random_blocks_keep_the_definition_and_their_shapes(n, c_in, c_out, size, stride, seed):
    block = conv_block(c_in, c_out, stride=stride, rng=seed)
    x = np.random.default_rng(seed).standard_normal((n, c_in, size, size))
    out = block.forward(x)
    assert out.shape == (n, *block.output_shape((c_in, size, size)))
    grad = np.random.default_rng(seed + 1).standard_normal(out.shape)
    dx = block.backward(grad)
    body_dx = block.body.backward(grad)
    skip_dx = grad if block.shortcut is None else block.shortcut.backward(grad)
    np.testing.assert_allclose(dx, body_dx + skip_dx, rtol=1e-12, atol=1e-12)


def test_the_library_s_other_tools_work_on_a_resnet(tmp_path):
    """Scores, the summary table, sparse files and remove see the weights inside blocks."""
    model = tiny_resnet()
    x, y = images(8), np.arange(8) % 4
    for scores in ("magnitude", "random", "lamp", minnet.prune.taylor_scores(model, x, y)):
        minnet.prune.prune(model.copy(), sparsity=0.5, scores=scores)
    minnet.prune.prune(model, sparsity=0.5)
    table = minnet.metrics.summary_table(model, input_shape=(1, 8, 8))
    assert "Residual" in table and f"{minnet.metrics.flops(model, (1, 8, 8)):,}" in table
    minnet.metrics.save_sparse(model, tmp_path / "sparse")
    np.testing.assert_array_equal(minnet.load(tmp_path / "sparse").inference(x), model.inference(x))
    assert minnet.prune.is_pruned(model) and not minnet.prune.is_pruned(minnet.prune.remove(model))
