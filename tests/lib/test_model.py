"""Sequential: whole-model gradients, modes, copies, state dicts, save/load."""

import numpy as np
import pytest

import minnet
from minnet.gradcheck import check_model
from minnet.losses import mse, softmax_cross_entropy


def test_model_gradients_cnn_with_batchnorm_and_pooling():
    model = minnet.Sequential(
        # an activation before each BatchNorm, so that no bias has a zero gradient by construction
        minnet.Conv2d(1, 3, 3, stride=2, padding=1, rng=0, dtype=np.float64),
        minnet.Tanh(),
        minnet.BatchNorm2d(3, dtype=np.float64),
        minnet.MaxPool2d(2),
        minnet.Flatten(),
        minnet.Dense(12, 5, rng=1, dtype=np.float64),
        minnet.Sigmoid(),
        minnet.BatchNorm1d(5, dtype=np.float64),
        minnet.Dense(5, 3, rng=2, dtype=np.float64),
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 8, 8))
    errors = check_model(model, x, np.array([0, 1, 2, 1]), softmax_cross_entropy)
    assert len(errors) == 1 + 2 + 2 + 2 + 2 + 2
    assert max(errors.values()) <= 1e-6, errors


def test_model_gradients_mlp_with_mse():
    model = minnet.mlp([3, 4, 2], activation="tanh", rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((5, 3))
    errors = check_model(model, x, np.random.default_rng(2).standard_normal((5, 2)), mse)
    assert max(errors.values()) <= 1e-6, errors


def test_named_parameters_and_predict():
    model = minnet.mlp([4, 3, 2], batchnorm=True, rng=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.W", "0.b", "1.gamma", "1.beta", "3.W", "3.b"]
    x = np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)
    pred = model.predict(x)
    assert pred.shape == (7,) and pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, model.inference(x).argmax(1))
    assert model.training  # predict restores the mode


def test_train_eval_switch_dropout_and_batchnorm():
    model = minnet.mlp([4, 8, 2], batchnorm=True, dropout=0.5, rng=0)
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    model.eval()
    a, b = model.forward(x), model.forward(x)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(model.forward(x[:1]), a[:1], rtol=1e-5)  # eval: no batch statistics
    model.train()
    assert not np.array_equal(model.forward(x), model.forward(x))  # dropout draws


def test_copy_is_deep():
    model = minnet.mlp([4, 3, 2], rng=0)
    clone = model.copy()
    clone.layers[0].params["W"][:] = 0
    assert np.any(model.layers[0].params["W"] != 0)


def test_state_dict_round_trip_and_copies():
    model = minnet.mlp([4, 3, 2], batchnorm=True, rng=0)
    model.layers[0].masks["W"] = np.ones((4, 3), dtype=bool)
    model.layers[0].masks["W"][0] = False
    model.layers[0].params["W"][0] = 0
    state = model.state_dict()
    assert {"0.W", "0.b", "1.gamma", "1.beta", "1.running_mean", "1.running_var", "3.W", "3.b", "0.W_mask"} == set(
        state
    )
    state["0.W"][:] = 7  # a copy, not a view
    assert not np.any(model.layers[0].params["W"] == 7)
    other = minnet.mlp([4, 3, 2], batchnorm=True, rng=1)
    other.load_state_dict(model.state_dict())
    for (_, p1), (_, p2) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(other.layers[0].masks["W"], model.layers[0].masks["W"])


def test_load_state_dict_rejects_mismatch_without_changing_anything():
    model = minnet.mlp([4, 3, 2], rng=0)
    before = model.state_dict()
    bad = minnet.mlp([4, 5, 2], rng=1).state_dict()
    with pytest.raises(ValueError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert "'0.W'" in message and "(4, 5)" in message and "(4, 3)" in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(ValueError, match=r"missing \['2.b'\]"):
        model.load_state_dict({k: v for k, v in before.items() if k != "2.b"})
    with pytest.raises(ValueError, match="mask '0.W_mask' must be a bool array"):
        model.load_state_dict({**before, "0.W_mask": np.ones((4, 3))})


@pytest.mark.parametrize(
    "make", [lambda: minnet.small_cnn(batchnorm=True, rng=3), lambda: minnet.mlp([64, 32, 10], dropout=0.2)]
)
def test_save_and_load_npz_without_pickle(tmp_path, make):
    model = make()
    model.layers[0].masks["W"] = np.random.default_rng(0).random(model.layers[0].params["W"].shape) > 0.5
    model.layers[0].params["W"] *= model.layers[0].masks["W"]
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert "0.W" in data.files
    loaded = minnet.load(path)
    assert loaded.architecture() == model.architecture()
    x = (
        np.random.default_rng(1)
        .standard_normal((3, *((1, 8, 8) if isinstance(model.layers[0], minnet.Conv2d) else (64,))))
        .astype(np.float32)
    )
    np.testing.assert_array_equal(loaded.inference(x), model.inference(x))
    np.testing.assert_array_equal(loaded.layers[0].masks["W"], model.layers[0].masks["W"])


def test_load_rejects_other_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a minnet model file"):
        minnet.load(path)


def test_forward_errors():
    model = minnet.mlp([4, 3, 2])
    with pytest.raises(ValueError, match="non-empty batch"):
        model.forward(np.zeros((0, 4)))
    with pytest.raises(
        ValueError,
        match=r"x of shape \(2, 5\) does not fit the model: layer 0 \(Dense\(in_features=4, out_features=3\)\) "
        r"expects one example of shape \(4,\), got \(5,\)",
    ):
        model.forward(np.zeros((2, 5)))
    with pytest.raises(TypeError, match="real numbers"):
        model.forward(np.array([["a"] * 4]))
    with pytest.raises(TypeError, match="Layer objects"):
        minnet.Sequential(minnet.Dense(2, 2), "relu")


def test_summary_lists_layers_and_total():
    text = minnet.mlp([64, 32, 10]).summary((64,))
    assert "Dense(in_features=64, out_features=32)" in text and "2,080" in text and "2,410" in text


def test_output_shapes_and_summary_check_the_input_shape():
    model = minnet.small_cnn(rng=0)
    assert model.output_shapes((1, 8, 8))[-1] == (10,)
    with pytest.raises(
        ValueError, match=r"layer 0 .*expects one example of shape \(1, H, W\) with H, W >= 1, got \(64,\)"
    ):
        model.summary((64,))
    with pytest.raises(ValueError, match=r"layer 0 .*shape \(64,\), got \(63,\)"):
        minnet.mlp([64, 10]).output_shapes((63,))
