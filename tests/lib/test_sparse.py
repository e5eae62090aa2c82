"""minnet.sparse.CSRNetwork: the CSR forward pass of a pruned MLP against the model's own."""

import numpy as np
import pytest
import scipy.sparse

import minnet
from minnet.prune import prune
from minnet.sparse import CSRDense, CSRNetwork


def pruned_mlp():
    """Flatten, Dense, Tanh, Dropout, Dense, ReLU, Dense, Sigmoid: 80% of the weights masked, nonzero biases."""
    model = minnet.Sequential(
        minnet.Flatten(),
        minnet.Dense(12, 16, rng=1),
        minnet.Tanh(),
        minnet.Dropout(0.5, rng=2),
        minnet.Dense(16, 8, rng=3),
        minnet.ReLU(),
        minnet.Dense(8, 5, rng=4),
        minnet.Sigmoid(),
    )
    gen = np.random.default_rng(5)
    for layer in model.layers:
        if "b" in layer.params:
            layer.params["b"] += gen.normal(0, 0.5, layer.params["b"].shape).astype(np.float32)
    prune(model, sparsity=0.8, names=["1.W", "4.W", "6.W"])
    return model


def test_same_outputs_as_the_model_and_only_nonzero_weights_stored():
    model = pruned_mlp()
    x = np.random.default_rng(0).standard_normal((7, 3, 4))  # Flatten makes it (7, 12)
    net = CSRNetwork.from_model(model)
    out = net.inference(x)
    expected = model.inference(x)
    assert out.shape == (7, 5) and out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # independently: the layers written out with NumPy, Dropout off in eval mode
    W1, W2, W3 = (model.layers[i].params["W"] for i in (1, 4, 6))
    b1, b2, b3 = (model.layers[i].params["b"] for i in (1, 4, 6))
    h = np.maximum(np.tanh(x.reshape(7, 12).astype(np.float32) @ W1 + b1) @ W2 + b2, 0) @ W3 + b3
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-h)), rtol=1e-5, atol=1e-5)
    stored = [step.weight for step in net.steps if isinstance(step, CSRDense)]
    assert all(isinstance(csr, scipy.sparse.csr_matrix) for csr in stored)
    assert [csr.nnz for csr in stored] == [np.count_nonzero(W) for W in (W1, W2, W3)]
    assert [csr.shape for csr in stored] == [W.T.shape for W in (W1, W2, W3)]


def test_the_model_is_not_modified():
    model = pruned_mlp().train()
    before = {name: value.copy() for name, value in model.state_dict().items()}
    attributes = [dict(vars(layer)) for layer in model.layers]
    CSRNetwork.from_model(model).inference(np.ones((3, 12)))
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[name], after[name]) for name in before)
    assert model.training and all(layer.training for layer in model.layers)
    assert [set(vars(layer)) for layer in model.layers] == [set(a) for a in attributes]  # no caches written


def test_a_snapshot_later_pruning_is_not_seen():
    model = pruned_mlp()
    x = np.random.default_rng(1).standard_normal((4, 12))
    net = CSRNetwork.from_model(model)
    before = net.inference(x)
    prune(model, sparsity=0.95, names=["1.W", "4.W", "6.W"])
    np.testing.assert_array_equal(net.inference(x), before)


@pytest.mark.parametrize(
    "layer",
    [minnet.Conv2d(1, 2, 3, rng=0), minnet.BatchNorm1d(4), minnet.MaxPool2d(2)],
    ids=["Conv2d", "BatchNorm1d", "MaxPool2d"],
)
def test_unsupported_layer_is_named(layer):
    model = minnet.Sequential(minnet.Dense(4, 4, rng=0), minnet.ReLU(), layer)
    with pytest.raises(TypeError, match=rf"layer 2 is {type(layer).__name__}\("):
        CSRNetwork.from_model(model)


def test_bad_arguments():
    with pytest.raises(TypeError, match="model must be a minnet Sequential model, got list"):
        CSRNetwork.from_model([minnet.Dense(2, 2)])
    net = CSRNetwork.from_model(minnet.mlp([6, 4, 3], rng=0))
    with pytest.raises(ValueError, match=r"layer 0 \(Dense\) expects input of shape \(N, 6\), got shape \(2, 5\)"):
        net.inference(np.ones((2, 5)))
    with pytest.raises(ValueError, match="non-empty batch"):
        net.inference(np.ones(6))
