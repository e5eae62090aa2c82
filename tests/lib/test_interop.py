"""minnet.interop: the same network and the same masks in PyTorch, ONNX and back.

Round trips over random architectures (Hypothesis), outputs against torch in
train and eval mode, masks against torch.nn.utils.prune bit for bit, masks
surviving torch's own optimizers, and the ONNX file under onnxruntime."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="needs the [torch] extra: pip install -e '.[torch]'")

from torch.nn.utils import prune as torch_prune  # noqa: E402

import minnet  # noqa: E402
from minnet import interop  # noqa: E402
from minnet.prune import (  # noqa: E402
    global_unstructured_masks,
    prune_units,
    shrink,
    structured_mask,
    unstructured_mask,
)

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
# BatchNorm in training mode divides by a small batch's deviation, which scales rounding with the
# output: the two libraries agree to a few float32 ulps of the value, not to a fixed 1e-5
RELATIVE = {np.float32: 1e-4, np.float64: 1e-9}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- random networks ------------------------------------------------------------------------------
@st.composite
def mlps(draw):
    """An MLP with every kind of layer an MLP can hold, random masks, either dtype."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    widths = draw(st.lists(st.integers(1, 9), min_size=2, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        layers.append(minnet.Dense(n_in, n_out, rng=rng, dtype=dtype))
        if i < len(widths) - 2:
            norm = draw(st.sampled_from([None, minnet.BatchNorm, minnet.BatchNorm1d]))
            if norm is not None:
                layers.append(norm(n_out, momentum=draw(st.sampled_from([0.1, 0.3])), dtype=dtype))
            layers.append(draw(st.sampled_from([minnet.ReLU, minnet.Tanh, minnet.Sigmoid]))())
    model = minnet.Sequential(*layers)
    _randomise(model, rng, draw(st.booleans()))
    return model, (widths[0],)


@st.composite
def cnns(draw):
    """A CNN: convs with stride and padding, BatchNorm, max pooling (overlapping too), a
    residual block, and a Flatten or global-average head."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    c_in, c = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    side = draw(st.integers(6, 10))
    k = draw(st.sampled_from([1, 3]))
    layers = [
        minnet.Conv2d(c_in, c, k, stride=draw(st.integers(1, 2)), padding=k // 2, rng=rng, dtype=dtype),
        draw(st.sampled_from([minnet.BatchNorm, minnet.BatchNorm2d]))(c, dtype=dtype),
        minnet.ReLU(),
    ]
    if draw(st.booleans()):
        body = minnet.Sequential(
            minnet.Conv2d(c, c, 3, padding=1, rng=rng, dtype=dtype), minnet.BatchNorm2d(c, dtype=dtype), minnet.ReLU()
        )
        shortcut = draw(st.sampled_from([None, "projection"]))
        if shortcut:
            shortcut = minnet.Sequential(minnet.Conv2d(c, c, 1, rng=rng, dtype=dtype))
        layers.append(minnet.Residual(body, shortcut))
    layers.append(minnet.MaxPool2d(2, stride=draw(st.sampled_from([1, 2]))))
    if draw(st.booleans()):
        layers.append(minnet.GlobalAvgPool2d())
        features = c
    else:
        layers.append(minnet.Flatten())
        features = int(np.prod(minnet.Sequential(*layers).output_shapes((c_in, side, side))[-1]))
    layers.append(minnet.Dense(features, 3, rng=rng, dtype=dtype))
    model = minnet.Sequential(*layers)
    _randomise(model, rng, draw(st.booleans()))
    return model, (c_in, side, side)


def _randomise(model, rng, with_masks):
    """Non-trivial BatchNorm parameters and statistics; random masks on weights and biases."""
    for layer in _leaves(model):
        if isinstance(layer, minnet.BatchNorm):
            layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.num_features)
            layer.params["beta"][...] = rng.normal(size=layer.num_features)
            layer.running_mean[...] = rng.normal(size=layer.num_features)
            layer.running_var[...] = rng.uniform(0.5, 2, layer.num_features)
        if "b" in layer.params:
            layer.params["b"][...] = rng.normal(size=layer.params["b"].shape)
        if with_masks:
            for key in ("W", "b"):
                if key in layer.params:
                    layer.masks[key] = rng.random(layer.params[key].shape) < 0.6
                    layer.params[key] *= layer.masks[key]


def _leaves(model):
    for layer in model.layers:
        if isinstance(layer, minnet.Residual):
            for branch in layer.branches().values():
                yield from _leaves(branch)
        else:
            yield layer


def _batch(model, shape, n=6, seed=0):
    dtype = next(value for _, value in model.named_parameters()).dtype
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(dtype)


def _torch_forward(torch_model, x):
    with torch.no_grad():
        return torch_model(torch.from_numpy(x)).numpy()


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa) == sorted(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)


# -- round trips and outputs ----------------------------------------------------------------------
@SETTINGS
@given(st.one_of(mlps(), cnns()))
def test_round_trip_gives_back_the_same_model(case):
    model, _ = case
    back = interop.from_torch(interop.to_torch(model))
    assert back.architecture() == model.architecture()
    _assert_same_state(model, back)


@SETTINGS
@given(st.one_of(mlps(), cnns()), st.booleans())
def test_torch_computes_what_minnet_computes_in_both_modes(case, training):
    model, shape = case
    model.train(training)
    torch_model = interop.to_torch(model)
    assert torch_model.training is training
    x = _batch(model, shape)
    y = model.forward(x)
    y_torch = _torch_forward(torch_model, x)
    assert y_torch.dtype == y.dtype
    np.testing.assert_allclose(y_torch, y, rtol=RELATIVE[y.dtype.type], atol=TOLERANCE[y.dtype.type])
    if training:  # both updated their running statistics the same way (momentum, unbiased variance)
        back = interop.from_torch(torch_model)
        for mine, theirs in zip(_leaves(model), _leaves(back)):
            for key, value in mine.buffers().items():
                np.testing.assert_allclose(
                    theirs.buffers()[key], value, rtol=RELATIVE[y.dtype.type], atol=TOLERANCE[y.dtype.type]
                )


def test_dtype_is_kept_whatever_torch_default():
    model = minnet.mlp([4, 3, 2], rng=0, dtype=np.float64)
    default = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float32)
        torch_model = interop.to_torch(model)
    finally:
        torch.set_default_dtype(default)
    assert {p.dtype for p in torch_model.parameters()} == {torch.float64}
    assert interop.from_torch(torch_model).layers[0].params["W"].dtype == np.float64


def test_dropout_has_the_same_convention_in_train_and_eval():
    """Inverted dropout in both: kept inputs scaled by 1/(1-p) in training, identity in eval."""
    model = minnet.Sequential(minnet.Dropout(0.25, rng=0))
    torch_model = interop.to_torch(model)
    x = np.full((200, 50), 3.0)
    y = _torch_forward(torch_model, x)
    assert set(np.unique(y)) == {0.0, 4.0}
    assert set(np.unique(model.forward(x))) == {0.0, 4.0}
    np.testing.assert_array_equal(_torch_forward(torch_model.eval(), x), x)
    assert interop.from_torch(torch_model).layers[0].p == 0.25


def test_masks_are_real_prune_hooks_with_torch_names():
    model = minnet.small_resnet(rng=0)
    minnet.prune.prune(model, 0.5)
    torch_model = interop.to_torch(model)
    pruned = {name.removesuffix("_mask") for name, _ in torch_model.named_buffers() if name.endswith("_mask")}
    expected = {name.replace(".W", ".weight") for name, mask in _named_masks(model)}
    assert pruned == expected
    for module in torch_model.modules():
        if hasattr(module, "weight_mask"):
            assert torch_prune.is_pruned(module)
            assert hasattr(module, "weight_orig")


def _named_masks(model):
    for i, layer in enumerate(model.layers):
        for key, mask in layer.masks.items():
            yield f"{i}.{key}", mask


# -- masks survive torch's training ---------------------------------------------------------------
@pytest.mark.parametrize("make_optimizer", ["sgd", "adam"])
def test_masks_stay_zero_through_torch_training_and_come_back(make_optimizer):
    model = minnet.small_cnn(rng=0)
    minnet.prune.prune(model, 0.7)
    before = dict(_named_masks(model))
    torch_model = interop.to_torch(model).train()
    params = list(torch_model.parameters())
    optimizer = (
        torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3)
        if make_optimizer == "sgd"
        else torch.optim.Adam(params, lr=0.01, weight_decay=1e-3)
    )
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        x = torch.randn(16, 1, 8, 8, generator=gen)
        y = torch.randint(0, 10, (16,), generator=gen)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(torch_model(x), y).backward()
        optimizer.step()
    back = interop.from_torch(torch_model)
    changed = False
    for name, mask in before.items():
        i, key = name.split(".")
        np.testing.assert_array_equal(back.layers[int(i)].masks[key], mask)
        assert not back.layers[int(i)].params[key][~mask].any()
        changed |= not np.allclose(back.layers[int(i)].params[key], model.layers[int(i)].params[key])
    assert changed, "torch's optimizer did not move the weights: the test proves nothing"
    x = _batch(model, (1, 8, 8))
    np.testing.assert_allclose(back.eval().forward(x), _torch_forward(torch_model.eval(), x), atol=1e-5)


# -- the same masks as torch.nn.utils.prune -------------------------------------------------------
AMOUNTS = st.one_of(st.floats(0, 1), st.integers(0, 12))


@SETTINGS
@given(st.integers(0, 2**16), AMOUNTS, st.sampled_from([1, 2, np.inf]))
def test_l1_and_ln_structured_masks_are_torchs(seed, amount, norm):
    rng = np.random.default_rng(seed)
    conv = minnet.Conv2d(3, 4, 3, rng=rng)
    dense = minnet.Dense(5, 4, rng=rng)
    for layer in (conv, dense):
        module = interop.to_torch(minnet.Sequential(layer))[0]
        weight = layer.params["W"]
        count = amount if isinstance(amount, float) else min(amount, weight.size)
        torch_prune.l1_unstructured(module, "weight", count)
        mine = unstructured_mask(np.abs(weight), count)
        np.testing.assert_array_equal(_minnet_layout(layer, module.weight_mask), mine)
        torch_prune.remove(module, "weight")
        for dim in range(weight.ndim):
            axis = dim if layer is conv else 1 - dim  # torch's Linear weight is minnet's transposed
            module = interop.to_torch(minnet.Sequential(layer))[0]
            slices = weight.shape[axis]
            count = amount if isinstance(amount, float) else min(amount, slices)
            torch_prune.ln_structured(module, "weight", count, n=norm, dim=dim)
            mine = structured_mask(weight, count, axis=axis, ord=norm)
            np.testing.assert_array_equal(_minnet_layout(layer, module.weight_mask), mine)


def _minnet_layout(layer, torch_mask):
    mask = torch_mask.numpy() != 0
    return mask.T if isinstance(layer, minnet.Dense) else mask


@SETTINGS
@given(st.integers(0, 2**16), st.floats(0, 1), st.floats(0, 1))
def test_global_and_iterative_masks_are_torchs(seed, first, second):
    model = minnet.mlp([6, 5, 4, 3], rng=seed)
    torch_model = interop.to_torch(model)
    linears = [(torch_model[i], "weight") for i in (0, 2, 4)]
    names = ["0.W", "2.W", "4.W"]
    masks = None
    for amount in (first, second):  # the second call ranks only what the first kept, in both
        torch_prune.global_unstructured(linears, pruning_method=torch_prune.L1Unstructured, amount=amount)
        scores = {name: np.abs(model.layers[int(name[0])].params["W"]) for name in names}
        masks = global_unstructured_masks(scores, amount, masks)
        for (module, _), name in zip(linears, names):
            np.testing.assert_array_equal(module.weight_mask.numpy().T != 0, masks[name])
    # and minnet's model-level call gives the same masks
    minnet.prune.prune(model, first, names=names)
    minnet.prune.prune(model, second, names=names)
    for name in names:
        np.testing.assert_array_equal(model.layers[int(name[0])].masks["W"], masks[name])


def test_iterative_l1_unstructured_composes_like_torch():
    weight_model = minnet.Sequential(minnet.Dense(10, 10, rng=3))
    module = interop.to_torch(weight_model)[0]
    weight = weight_model.layers[0].params["W"]
    mask = None
    for amount in (0.3, 0.3, 7, 0.5):
        torch_prune.l1_unstructured(module, "weight", amount)
        mask = unstructured_mask(np.abs(weight), amount, mask=mask)
        np.testing.assert_array_equal(module.weight_mask.numpy().T != 0, mask)


def test_from_torch_reads_torchs_own_structured_pruning():
    """Pruned in torch, read by minnet: the same masks, and minnet's shrink then removes the units."""
    model = minnet.mlp([8, 6, 4], rng=1)
    torch_model = interop.to_torch(model)
    torch_prune.ln_structured(torch_model[0], "weight", amount=2, n=2, dim=0)
    back = interop.from_torch(torch_model)
    expected = structured_mask(model.layers[0].params["W"], 2, axis=1, ord=2)
    np.testing.assert_array_equal(back.layers[0].masks["W"], expected)
    minnet_pruned = model.copy()
    prune_units(minnet_pruned, 2, layers=[0])
    np.testing.assert_array_equal(minnet_pruned.layers[0].masks["W"], expected)
    x = _batch(model, (8,))
    np.testing.assert_allclose(back.forward(x), _torch_forward(torch_model, x), atol=1e-6)


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module, words",
    [
        (torch.nn.GELU(), ["module 1", "GELU", "no minnet equivalent"]),
        (torch.nn.Conv2d(4, 4, 3, groups=2), ["module 1", "grouped"]),
        (torch.nn.Conv2d(4, 4, (3, 1)), ["module 1", "kernel_size=(3, 1)", "square"]),
        (torch.nn.MaxPool2d(2, padding=1), ["module 1", "padding"]),
        (torch.nn.BatchNorm2d(4, affine=False), ["module 1", "affine=True"]),
        (torch.nn.Flatten(0), ["module 1", "axes"]),
        (torch.nn.Linear(4, 4, dtype=torch.float16), ["module 1", "float16"]),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, list) else "",
)
def test_from_torch_names_what_it_cannot_convert(module, words):
    with pytest.raises((TypeError, ValueError)) as error:
        interop.from_torch(torch.nn.Sequential(torch.nn.ReLU(), module))
    for word in words:
        assert word in str(error.value)


def test_from_torch_wants_a_sequential_and_names_a_nested_culprit():
    with pytest.raises(TypeError, match="torch.nn.Sequential, got Linear"):
        interop.from_torch(torch.nn.Linear(2, 2))
    block = interop.Residual(torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3, padding=1), torch.nn.SiLU()))
    with pytest.raises(TypeError, match=r"module 0\.body\.1 \(SiLU\(\)\)"):
        interop.from_torch(torch.nn.Sequential(block))


def test_a_layer_without_bias_gets_a_zero_bias_kept_at_zero():
    torch_model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, bias=False), torch.nn.Flatten())
    model = interop.from_torch(torch_model)
    assert not model.layers[0].params["b"].any() and not model.layers[0].masks["b"].any()
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(model.forward(x), _torch_forward(torch_model, x), atol=1e-6)


def test_to_torch_refuses_what_is_not_a_model():
    with pytest.raises(TypeError, match="minnet Sequential"):
        interop.to_torch(torch.nn.Linear(2, 2))


def test_without_torch_the_error_names_the_extra():
    code = "import sys; sys.modules['torch'] = None\nimport minnet\nimport minnet.interop"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "ImportError: minnet.interop needs PyTorch" in result.stderr
    assert "pip install -e '.[torch]'" in result.stderr


# -- ONNX -----------------------------------------------------------------------------------------
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is part of the optional [torch] extra")


# onnxruntime's CPU provider has no float64 Conv: the float64 case is an MLP
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: minnet.small_resnet(rng=0), (1, 8, 8)),
        (lambda: minnet.small_cnn(rng=0), (1, 8, 8)),
        (lambda: minnet.mlp([64, 32, 16, 10], rng=0, dtype=np.float64, batchnorm=True), (64,)),
    ],
    ids=["resnet", "cnn", "mlp-float64"],
)
def test_onnx_of_a_shrunk_network_computes_what_minnet_does(tmp_path, make, shape):
    model = make()
    prune_units(model, 0.5)
    minnet.prune.prune(model, 0.5)
    small = shrink(model).eval()
    dtype = small.layers[0].params["W"].dtype
    path = interop.export_onnx(small, tmp_path / "small.onnx", shape)
    x = _batch(small, shape, n=9)
    session = ort.InferenceSession(path)
    (y,) = session.run(None, {"x": x})
    assert y.dtype == dtype
    np.testing.assert_allclose(y, small.forward(x), rtol=0, atol=1e-5)
    assert small.training is False and model.layers[0].masks  # exporting changed neither


def test_onnx_bakes_the_zeros_in_and_keeps_the_model(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    model = minnet.mlp([8, 6, 3], rng=0)
    minnet.prune.prune(model, 0.5)
    state = model.state_dict()
    interop.export_onnx(model, tmp_path / "m.onnx", (8,))
    _assert_same_state(model, _restored(model, state))
    weights = [numpy_helper.to_array(t) for t in onnx.load(tmp_path / "m.onnx").graph.initializer]
    zeros = sum(int((w == 0).sum()) for w in weights if w.ndim == 2)
    assert zeros == sum(int((~mask).sum()) for _, mask in _named_masks(model))


def _restored(model, state):
    copy = model.copy()
    copy.load_state_dict(state)
    return copy


@pytest.mark.parametrize("shape", [(7,), (1, 8, 8), "8", (0,), None])
def test_export_onnx_checks_the_input_shape(tmp_path, shape):
    with pytest.raises(ValueError, match="input_shape"):
        interop.export_onnx(minnet.mlp([8, 3], rng=0), tmp_path / "m.onnx", shape)
    assert not (tmp_path / "m.onnx").exists()


def test_export_onnx_checks_the_path():
    with pytest.raises(TypeError, match="path"):
        interop.export_onnx(minnet.mlp([8, 3], rng=0), 3, (8,))
