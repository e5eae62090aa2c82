"""Bad input to the public API: a clear error, and nothing changed.

Every case calls one public function with one bad argument, on a fresh set of
objects (models, an optimizer, a generator, data). It must raise ValueError,
TypeError or FileNotFoundError whose message names the argument (and, where
there is one, the bad value), and every object must be bit for bit as it was:
weights, masks, buffers, training flags, the optimizer's state and epoch, and
the generators' states.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import minnet
from minnet import metrics
from minnet import prune as P
from minnet.prune.schedules import Iterative, OneShot, PolynomialDecay

INF, NAN = float("inf"), float("nan")


def world():
    """Fresh objects for one case."""
    gen = np.random.default_rng(0)
    X = gen.standard_normal((40, 8)).astype(np.float32)
    y = np.arange(40) % 3
    model = minnet.mlp([8, 6, 5, 3], rng=0)
    bn = minnet.mlp([8, 6, 3], batchnorm=True, dropout=0.25, rng=0)
    cnn = minnet.small_cnn(channels=(2, 3), hidden=4, n_classes=3, rng=0)
    images = gen.standard_normal((6, 1, 8, 8)).astype(np.float32)
    opt = minnet.Adam(lr=1e-2)
    minnet.fit(model, X, y, epochs=1, optimizer=opt, verbose=False)  # the optimizer has state
    P.prune(model, sparsity=0.3)  # and the model masks
    return {"X": X, "y": y, "model": model, "bn": bn, "cnn": cnn, "images": images, "opt": opt, "gen": gen}


def fingerprint(w) -> list:
    """Everything a call may change, as plain values to compare."""
    out = []
    for key in ("model", "bn", "cnn"):
        m = w[key]
        out.append((key, sorted((k, v.dtype.str, v.tobytes()) for k, v in m.state_dict().items())))
        out.append((key, [layer.training for layer in m.layers]))
        out.append((key, [str(getattr(layer, "rng", None) and layer.rng.bit_generator.state) for layer in m.layers]))
    opt = w["opt"]
    state = [(n, k, np.asarray(v).tobytes()) for n, s in sorted(opt.state.items()) for k, v in sorted(s.items())]
    out.append(("opt", opt.epoch, opt.lr, state))
    out.append(("gen", str(w["gen"].bit_generator.state)))
    out.append(("data", w["X"].tobytes(), w["y"].tobytes(), w["images"].tobytes()))
    return out


CASES = []


def bad(name, call, error, *words):
    CASES.append(pytest.param(call, error, words, id=name))


# -- layers and models ---------------------------------------------------------------------------
bad("Residual body a layer", lambda w: minnet.Residual(minnet.Dense(8, 8)), TypeError, "body", "Dense")
bad("Residual shortcut a layer", lambda w: minnet.Residual(minnet.Sequential(minnet.ReLU()), minnet.Dense(8, 8)),
    TypeError, "shortcut", "Dense")  # fmt: skip
bad("Residual branches disagree", lambda w: minnet.Sequential(minnet.Residual(minnet.Sequential(minnet.Dense(8, 3))))
    .forward(w["X"]), ValueError, "(3,)", "(8,)")  # fmt: skip
bad("GlobalAvgPool2d on flat input", lambda w: minnet.GlobalAvgPool2d().forward(w["X"]), ValueError, "(N, C, H, W)",
    "(40, 8)")  # fmt: skip
bad("small_resnet channels triple", lambda w: minnet.small_resnet(channels=(8, 16, 32)), TypeError, "channels")
bad("small_resnet blocks 0", lambda w: minnet.small_resnet(blocks=0), ValueError, "blocks", "0")
bad("residual_block stride 0", lambda w: minnet.residual_block(4, 4, stride=0), ValueError, "stride", "0")
bad("residual_block out_channels float", lambda w: minnet.residual_block(4, 4.0), TypeError, "out_channels", "4.0")
bad("dependency_groups input_shape misfit", lambda w: P.dependency_groups(w["model"], (7,)), ValueError, "(7,)")
bad("dependency_groups a list", lambda w: P.dependency_groups([w["model"]]), TypeError, "model")
bad("prune_groups groups of junk", lambda w: P.prune_groups(w["model"], amount=0.5, groups=[[("0.W", 1)]]), TypeError,
    "(parameter name, axis, index)")  # fmt: skip
bad("prune_groups member out of range", lambda w: P.prune_groups(w["model"], amount=0.5, groups=[[("0.W", 1, 9)]]),
    ValueError, "0.W", "(8, 6)")  # fmt: skip
bad("prune_groups unknown name", lambda w: P.prune_groups(w["model"], amount=0.5, groups=[[("5.W", 1, 0)]]),
    ValueError, "5.W")  # fmt: skip
bad("prune_groups scores too short", lambda w: P.prune_groups(w["model"], amount=0.5, scores=np.ones(2)), ValueError,
    "scores", "(2,)")  # fmt: skip
bad("prune_groups reduce", lambda w: P.prune_groups(w["model"], amount=0.5, reduce="max"), ValueError, "reduce", "max")
bad("prune_groups scope", lambda w: P.prune_groups(w["model"], amount=0.5, scope="all"), ValueError, "scope", "all")
bad("prune_groups both targets", lambda w: P.prune_groups(w["model"], amount=0.5, sparsity=0.5), TypeError, "amount")
bad("group_importance ord 0", lambda w: P.group_importance(w["model"], P.dependency_groups(w["model"]), ord=0),
    ValueError, "ord", "0")  # fmt: skip
bad("group_alive groups empty", lambda w: P.group_alive(w["model"], []), TypeError, "groups")
bad("Group members of junk", lambda w: P.Group([("0.W", "1", 0)]), TypeError, "members")
bad("Member used as a group", lambda w: P.group_alive(w["model"], [P.Member("0.W", 1, 0)]), TypeError,
    "(parameter name, axis, index)")  # fmt: skip
bad("describe_groups a layer", lambda w: P.describe_groups(minnet.Dense(3, 2)), TypeError, "model", "Dense")
bad("plot_groups groups of junk", lambda w: P.plot_groups(w["model"], groups=[3]), TypeError, "group")
bad("Dense in_features 0", lambda w: minnet.Dense(0, 3), ValueError, "in_features", "0")
bad("Dense in_features float", lambda w: minnet.Dense(2.5, 3), TypeError, "in_features", "2.5")
bad("Dense dtype None", lambda w: minnet.Dense(2, 3, dtype=None), TypeError, "dtype", "None")
bad("Dense dtype int", lambda w: minnet.Dense(2, 3, dtype=np.int32), TypeError, "dtype")
bad("Dense rng negative", lambda w: minnet.Dense(2, 3, rng=-1), ValueError, "rng", "-1")
bad("Dense rng str", lambda w: minnet.Dense(2, 3, rng="0"), TypeError, "rng")
bad("Conv2d padding negative", lambda w: minnet.Conv2d(1, 2, 3, padding=-1), ValueError, "padding", "-1")
bad("Conv2d padding True", lambda w: minnet.Conv2d(1, 2, 3, padding=True), TypeError, "padding", "True")
bad("Conv2d stride 0", lambda w: minnet.Conv2d(1, 2, 3, stride=0), ValueError, "stride", "0")
bad("MaxPool2d kernel str", lambda w: minnet.MaxPool2d("2"), TypeError, "kernel_size")
bad("Dropout p 1", lambda w: minnet.Dropout(1.0), ValueError, "p", "1.0")
bad("Dropout p nan", lambda w: minnet.Dropout(NAN), ValueError, "p", "nan")
bad("Dropout p str", lambda w: minnet.Dropout("0.5"), TypeError, "p")
bad("BatchNorm momentum True", lambda w: minnet.BatchNorm(3, momentum=True), TypeError, "momentum", "True")
bad("BatchNorm eps inf", lambda w: minnet.BatchNorm(3, eps=INF), ValueError, "eps", "inf")
bad("BatchNorm eps 0", lambda w: minnet.BatchNorm(3, eps=0), ValueError, "eps", "0")
bad("Sequential non-layer", lambda w: minnet.Sequential(minnet.ReLU(), "relu"), TypeError, "Layer", "str")
bad("forward wrong width", lambda w: w["bn"].forward(np.zeros((4, 7))), ValueError, "layer 0", "(7,)")
bad("forward str", lambda w: w["model"].forward(np.array([["a"] * 8])), TypeError, "x", "<U1")
bad("forward empty", lambda w: w["model"].forward(np.zeros((0, 8))), ValueError, "x", "(0, 8)")
bad("forward complex", lambda w: w["model"].forward(np.zeros((2, 8), complex)), TypeError, "x", "complex")
bad(
    "training forward misfit after BatchNorm",
    lambda w: w["bn"].forward(np.zeros((4, 8))[:, :, None]),
    ValueError,
    "layer 0",
)
bad("Sequential of no layers", lambda w: minnet.Sequential(), ValueError, "at least one layer")
bad("Flatten forward scalar", lambda w: minnet.Flatten().forward(3.0), ValueError, "x", "axes")
bad("ReLU forward strings", lambda w: minnet.ReLU().forward(["a", "b"]), TypeError, "x", "<U1")
bad("Dropout forward object", lambda w: minnet.Dropout(0.5).forward([None]), TypeError, "x", "object")
bad("backward before forward", lambda w: minnet.mlp([3, 2]).backward(np.zeros((1, 2))), ValueError, "forward")
bad("layer backward before forward", lambda w: minnet.Dense(3, 2).backward(np.zeros((1, 2))), ValueError, "forward")
bad("Dense backward wrong shape", lambda w: _forwarded(minnet.Dense(3, 2)).backward(np.zeros((5, 5))), ValueError,
    "grad_out", "(5, 5)")  # fmt: skip
bad("ReLU backward broadcastable shape", lambda w: _forwarded(minnet.ReLU()).backward(np.zeros((1, 3))), ValueError,
    "grad_out", "(1, 3)")  # fmt: skip
bad("BatchNorm backward wrong shape", lambda w: _forwarded(minnet.BatchNorm1d(3)).backward(np.zeros((4, 2))),
    ValueError, "grad_out")  # fmt: skip
bad("backward wrong shape", lambda w: (w["cnn"].forward(w["images"]), w["cnn"].backward(np.zeros((6, 4)))), ValueError,
    "grad_out", "(6, 4)")  # fmt: skip
bad("inference batch_size 0", lambda w: w["model"].inference(w["X"], batch_size=0), ValueError, "batch_size", "0")
bad("predict batch_size float", lambda w: w["model"].predict(w["X"], batch_size=2.0), TypeError, "batch_size")
bad("inference NaN", lambda w: w["model"].inference(np.full((2, 8), NAN)), ValueError, "x", "NaN")
bad("train mode str", lambda w: w["bn"].train("no"), TypeError, "mode", "no")
bad("load_state_dict not dict", lambda w: w["model"].load_state_dict([1, 2]), TypeError, "state", "list")
bad("load_state_dict str value",
    lambda w: w["model"].load_state_dict({**w["model"].state_dict(), "4.b": np.array(["a", "b", "c"])}), TypeError,
    "'4.b'")  # fmt: skip
bad("load_state_dict None value", lambda w: w["model"].load_state_dict({**w["model"].state_dict(), "2.b": None}),
    TypeError, "'2.b'", "object")  # fmt: skip
bad("load_state_dict complex value",
    lambda w: w["model"].load_state_dict({**w["model"].state_dict(), "2.b": np.ones(5, complex)}), TypeError,
    "'2.b'", "complex")  # fmt: skip
bad("load_state_dict NaN value",
    lambda w: w["model"].load_state_dict({**w["model"].state_dict(), "4.b": np.full(3, NAN)}), ValueError, "'4.b'",
    "NaN")  # fmt: skip
bad("load_state_dict wrong shape", lambda w: w["model"].load_state_dict({**w["model"].state_dict(), "4.b": np.ones(4)}),
    ValueError, "'4.b'", "(4,)")  # fmt: skip
bad("load_state_dict int mask",
    lambda w: w["model"].load_state_dict({**w["model"].state_dict(), "0.W_mask": np.ones((8, 6), int)}), ValueError,
    "0.W_mask", "bool")  # fmt: skip
bad("load_state_dict missing", lambda w: w["model"].load_state_dict({"0.W": np.ones((8, 6))}), ValueError, "missing")
bad("summary bad shape", lambda w: w["model"].summary((7,)), ValueError, "input_shape", "(7,)")
bad("summary not a tuple", lambda w: w["model"].summary(8), ValueError, "input_shape", "8")
bad("save to a non-path", lambda w: w["model"].save(3), TypeError, "path", "int")
bad("load missing file", lambda w: minnet.load("no/such/model"), FileNotFoundError, "no/such/model")


def _forwarded(layer):
    layer.forward(np.ones((4, 3), dtype=np.float32))
    return layer


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- files: damaged or foreign ------------------------------------------------------------------
FILES = {
    "empty": b"",
    "text": b"hello, I am not a model\n",
    "truncated zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
}


@pytest.mark.parametrize("content", sorted(FILES))
@pytest.mark.parametrize("loader", [minnet.load, metrics.load_sparse], ids=["load", "load_sparse"])
def test_damaged_files_are_value_errors_naming_the_file(tmp_path, content, loader):
    path = _write(tmp_path, "model.npz", FILES[content])
    with pytest.raises(ValueError, match=re.escape(repr(str(path)))):
        loader(path)


def test_foreign_npy_pickle_and_truncated_model_files(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    minnet.mlp([3, 2]).save(tmp_path / "good.npz")
    data = (tmp_path / "good.npz").read_bytes()
    _write(tmp_path, "cut.npz", data[: len(data) // 2])
    for name in ("array.npy", "objects.npy", "other.npz", "cut.npz"):
        with pytest.raises(ValueError, match=re.escape(str(tmp_path / name))):
            minnet.load(tmp_path / name)


def test_save_and_load_agree_on_the_suffix(tmp_path):
    model = minnet.mlp([3, 2], rng=1)
    model.save(tmp_path / "m")
    assert (tmp_path / "m.npz").is_file()
    for loaded in (minnet.load(tmp_path / "m"), minnet.load(str(tmp_path / "m")), metrics.load_sparse(tmp_path / "m")):
        np.testing.assert_array_equal(loaded.layers[0].params["W"], model.layers[0].params["W"])


# -- optimizers and training ----------------------------------------------------------------------
bad("SGD lr inf", lambda w: minnet.SGD(lr=INF), ValueError, "lr", "inf")
bad("SGD weight_decay inf", lambda w: minnet.SGD(weight_decay=INF), ValueError, "weight_decay", "inf")
bad("SGD nesterov str", lambda w: minnet.SGD(momentum=0.9, nesterov="no"), TypeError, "nesterov", "no")
bad("SGD momentum 1", lambda w: minnet.SGD(momentum=1.0), ValueError, "momentum", "1.0")
bad("Adam eps inf", lambda w: minnet.Adam(eps=INF), ValueError, "eps", "inf")
bad("Adam weight_decay nan", lambda w: minnet.Adam(weight_decay=NAN), ValueError, "weight_decay", "nan")
bad("Adam betas float", lambda w: minnet.Adam(betas=0.9), TypeError, "betas", "0.9")
bad("Adam betas 1", lambda w: minnet.Adam(betas=(0.9, 1.0)), ValueError, "betas[1]", "1.0")
bad("Adam schedule not callable", lambda w: minnet.Adam(schedule=3), TypeError, "schedule", "int")
bad("step_schedule gamma inf", lambda w: minnet.step_schedule(2, gamma=INF), ValueError, "gamma", "inf")
bad("cosine_schedule final nan", lambda w: minnet.cosine_schedule(5, final_factor=NAN), ValueError, "final_factor")
bad("optimizer on a shrunk model", lambda w: w["opt"].step(_with_grads(_shrunk(w["model"]))), ValueError, "state",
    "reset")  # fmt: skip


def _shrunk(model):
    model = model.copy()
    P.prune_units(model, amount=0.5)
    return P.shrink(model)


bad("optimizer step on a non-model", lambda w: w["opt"].step("model"), TypeError, "model", "str")
bad("set_epoch negative", lambda w: w["opt"].set_epoch(-1), ValueError, "epoch", "-1")


def _with_grads(model):
    for layer in model.layers:
        layer.grads = {key: np.zeros_like(value) for key, value in layer.params.items()}
    return model


def fit(w, **kwargs):
    args = {"epochs": 2, "optimizer": w["opt"], "verbose": False, "rng": w["gen"]}
    args.update(kwargs)
    return minnet.fit(w["bn"], w["X"], w["y"], **args)


bad("fit epochs 0", lambda w: fit(w, epochs=0), ValueError, "epochs", "0")
bad("fit batch_size float", lambda w: fit(w, batch_size=8.0), TypeError, "batch_size", "8.0")
bad("fit verbose str", lambda w: fit(w, verbose="yes"), TypeError, "verbose", "yes")
bad("fit optimizer str", lambda w: fit(w, optimizer="adam"), TypeError, "optimizer", "str")
bad("fit loss str", lambda w: fit(w, loss="mse"), TypeError, "loss", "str")
bad("fit validation wrong width", lambda w: fit(w, validation=(np.zeros((3, 7)), np.zeros(3, int))), ValueError,
    "validation", "(7,)")  # fmt: skip
bad("fit validation bad labels", lambda w: fit(w, validation=(w["X"][:3], np.array([0, 1, 9]))), ValueError, "9")
bad("fit validation not a pair", lambda w: fit(w, validation=w["X"]), TypeError, "validation")
bad("fit NaN in X", lambda w: minnet.fit(w["bn"], np.full((4, 8), NAN), np.zeros(4, int), verbose=False), ValueError,
    "NaN")  # fmt: skip
bad("fit labels out of range", lambda w: minnet.fit(w["bn"], w["X"], w["y"] + 5, verbose=False), ValueError, "labels")
bad("fit float labels", lambda w: minnet.fit(w["bn"], w["X"], w["y"] * 1.0, verbose=False), TypeError, "labels")
bad("fit callbacks not callbacks", lambda w: fit(w, callbacks=[print]), TypeError, "callbacks")
bad("fit EarlyStopping without validation", lambda w: fit(w, callbacks=[minnet.EarlyStopping()]), ValueError,
    "EarlyStopping", "validation")  # fmt: skip
bad("fit schedule NaN", lambda w: fit(w, optimizer=minnet.SGD(schedule=lambda e: NAN)), ValueError, "schedule",
    "nan")  # fmt: skip
bad("fit schedule negative", lambda w: fit(w, optimizer=minnet.SGD(schedule=lambda e: -1.0 if e else 1.0)),
    ValueError, "schedule", "-1.0")  # fmt: skip
bad("fit diverges in the last step", lambda w: fit(w, epochs=1, batch_size=40, optimizer=minnet.SGD(lr=1e38)),
    ValueError, "restored")  # fmt: skip
bad("EarlyStopping min_delta negative", lambda w: minnet.EarlyStopping(min_delta=-1), ValueError, "min_delta", "-1")
bad("EarlyStopping monitor", lambda w: minnet.EarlyStopping(monitor="loss"), ValueError, "monitor", "loss")
bad("Snapshot epoch float", lambda w: minnet.Snapshot(epoch=1.5), TypeError, "epoch", "1.5")
bad("evaluate batch_size 0", lambda w: minnet.evaluate(w["model"], w["X"], w["y"], batch_size=0), ValueError,
    "batch_size")  # fmt: skip
bad("evaluate lengths", lambda w: minnet.evaluate(w["model"], w["X"], w["y"][:5]), ValueError, "same length")

# -- data and builders --------------------------------------------------------------------------
bad("load_digits fraction str", lambda w: minnet.data.load_digits(val_fraction="0.1"), TypeError, "val_fraction")
bad("load_digits fractions sum", lambda w: minnet.data.load_digits(val_fraction=0.5, test_fraction=0.5), ValueError,
    "val_fraction + test_fraction")  # fmt: skip
bad("load_digits as_images str", lambda w: minnet.data.load_digits(as_images="yes"), TypeError, "as_images")
bad("load_digits dtype int", lambda w: minnet.data.load_digits(dtype=int), TypeError, "dtype")
bad("load_mnist n_train negative (before any download)", lambda w: minnet.data.load_mnist(n_train=-5), ValueError,
    "n_train", "-5")  # fmt: skip
bad("split labels float", lambda w: minnet.data.split(w["X"], w["y"] * 1.5, val_fraction=0.2, test_fraction=0.2,
    rng=0), TypeError, "y")  # fmt: skip
bad("make_spirals noise nan", lambda w: minnet.data.make_spirals(noise=NAN), ValueError, "noise", "nan")
bad("make_moons n 0", lambda w: minnet.data.make_moons(0), ValueError, "n", "0")
bad("shift kind", lambda w: minnet.data.shift(w["images"], "zoom", 1), ValueError, "kind", "zoom")
bad("shift severity 6", lambda w: minnet.data.shift(w["images"], "blur", 6), ValueError, "severity", "6")
bad("shift severity float", lambda w: minnet.data.shift(w["images"], "noise", 2.0), TypeError, "severity", "2.0")
bad("shift NaN images", lambda w: minnet.data.shift(np.full((2, 1, 4, 4), NAN), "blur", 1), ValueError, "X", "NaN")
bad("shift bad rng", lambda w: minnet.data.shift(w["images"], "contrast", 1, rng="seed"), TypeError, "rng")
bad("mlp sizes str", lambda w: minnet.mlp("64,10"), TypeError, "sizes")
bad("mlp dropout 1", lambda w: minnet.mlp([4, 2], dropout=1.0), ValueError, "dropout", "1.0")
bad("mlp activation", lambda w: minnet.mlp([4, 3, 2], activation="gelu"), ValueError, "activation", "gelu")
bad("small_cnn image_size 1", lambda w: minnet.small_cnn(image_size=1), ValueError, "image_size", "1")
bad("small_cnn image_size -3", lambda w: minnet.small_cnn(image_size=-3), ValueError, "image_size", "-3")
bad("lenet5 image_size 8", lambda w: minnet.lenet5(image_size=8), ValueError, "image_size", "8")
bad("numerical_gradient list", lambda w: minnet.gradcheck.numerical_gradient(lambda: 0.0, [1.0, 2.0]), TypeError,
    "x", "list")  # fmt: skip
bad("numerical_gradient eps 0", lambda w: minnet.gradcheck.numerical_gradient(lambda: 0.0, np.ones(2), eps=0),
    ValueError, "eps")  # fmt: skip
bad("rel_error shapes", lambda w: minnet.gradcheck.rel_error(np.ones(2), np.ones(3)), ValueError, "shape")
bad("set_num_threads 0", lambda w: minnet.set_num_threads(0), ValueError, "n", "0")
bad("set_num_threads str", lambda w: minnet.set_num_threads("two"), ValueError, "n", "two")

# -- metrics -------------------------------------------------------------------------------------
bad("count_parameters not a model", lambda w: metrics.count_parameters("model"), TypeError, "model", "str")
bad("sparsity unknown name", lambda w: metrics.sparsity(w["model"], ["9.W"]), ValueError, "9.W")
bad("model_bytes fmt", lambda w: metrics.model_bytes(w["model"], "zip"), ValueError, "fmt", "zip")
bad("flops bad input shape", lambda w: metrics.flops(w["model"], (7,)), ValueError, "input_shape", "(7,)")
bad("measure_latency warmup -1", lambda w: metrics.measure_latency(w["model"], w["X"], warmup=-1), ValueError,
    "warmup", "-1")  # fmt: skip
bad("measure_latency not callable", lambda w: metrics.measure_latency(3, w["X"]), TypeError, "fn_or_model")
bad("compare_latency entry", lambda w: metrics.compare_latency({"a": w["model"]}), TypeError, "contenders")
bad("save_sparse path", lambda w: metrics.save_sparse(w["model"], None), TypeError, "path")
bad("CSRNetwork of a CNN", lambda w: minnet.sparse.CSRNetwork.from_model(w["cnn"]), TypeError, "Conv2d")

# -- pruning -------------------------------------------------------------------------------------
bad("unstructured_mask amount 1.5", lambda w: P.unstructured_mask(np.ones(4), 1.5), ValueError, "amount", "1.5")
bad("unstructured_mask amount count too big", lambda w: P.unstructured_mask(np.ones(4), 5), ValueError, "amount", "5")
bad("unstructured_mask amount True", lambda w: P.unstructured_mask(np.ones(4), True), TypeError, "amount", "True")
bad("unstructured_mask NaN scores", lambda w: P.unstructured_mask(np.array([1, NAN]), 1), ValueError, "scores",
    "nan")  # fmt: skip
bad("unstructured_mask int mask", lambda w: P.unstructured_mask(np.ones(4), 1, mask=np.ones(4, int)), TypeError,
    "mask", "bool")  # fmt: skip
bad("structured_mask axis", lambda w: P.structured_mask(np.ones((3, 4)), 1, axis=2), ValueError, "axis", "2")
bad("structured_mask ord str", lambda w: P.structured_mask(np.ones((3, 4)), 1, axis=0, ord="fro"), TypeError, "ord")
bad("global masks list", lambda w: P.global_unstructured_masks([np.ones(3)], 1), TypeError, "scores", "dict")
bad("prune names str", lambda w: P.prune(w["model"], 0.5, names="0.W"), TypeError, "names", "0.W")
bad("prune unknown name", lambda w: P.prune(w["model"], 0.5, names=["0.W", "7.W"]), ValueError, "7.W")
bad("prune repeated name", lambda w: P.prune(w["model"], 0.5, names=["0.W", "0.W"]), ValueError, "repeat")
bad("prune amount and sparsity", lambda w: P.prune(w["model"], 0.5, sparsity=0.5), TypeError, "amount", "sparsity")
bad("prune sparsity 2", lambda w: P.prune(w["model"], sparsity=2.0), ValueError, "sparsity", "2.0")
bad("prune sparsity below current", lambda w: P.prune(w["model"], sparsity=0.1), ValueError, "sparsity", "0.1")
bad("prune amount negative", lambda w: P.prune(w["model"], -0.5), ValueError, "amount", "-0.5")
bad("prune amount nan", lambda w: P.prune(w["model"], NAN), ValueError, "amount", "nan")
bad("prune scope", lambda w: P.prune(w["model"], 0.5, scope="layer"), ValueError, "scope", "layer")
bad("prune scores needing data", lambda w: P.prune(w["model"], 0.5, scores="taylor"), ValueError, "taylor")
bad("prune scores wrong shape", lambda w: P.prune(w["model"], 0.5, scores={"0.W": np.ones(3), "2.W": np.ones(3)}),
    ValueError, "0.W")  # fmt: skip
bad("prune not a model", lambda w: P.prune([1, 2], 0.5), TypeError, "model", "list")
bad("prune_units layers int", lambda w: P.prune_units(w["model"], 0.5, layers=0), TypeError, "layers", "int")
bad("prune_units layers True", lambda w: P.prune_units(w["model"], 0.5, layers=[True]), TypeError, "layers", "True")
bad("prune_units output-free layer", lambda w: P.prune_units(w["model"], 0.5, layers=[1]), ValueError, "layer", "1")
bad("prune_units empty a layer", lambda w: P.prune_units(w["model"], 1.0), ValueError, "every unit")
bad("keep_units index True", lambda w: P.keep_units(w["model"], True, np.ones(6, bool)), TypeError, "index", "True")
bad("keep_units all False", lambda w: P.keep_units(w["model"], 0, np.zeros(6, bool)), ValueError, "every unit")
bad("keep_units wrong length", lambda w: P.keep_units(w["model"], 0, np.ones(5, bool)), ValueError, "keep", "(5,)")
bad("attach_masks wrong shape", lambda w: P.attach_masks(w["model"], {"0.W": np.ones((2, 2), bool)}), ValueError,
    "0.W", "(2, 2)")  # fmt: skip
bad("remove a list", lambda w: P.remove([w["model"]]), TypeError, "model", "list")
bad("masked_fraction names str", lambda w: P.masked_fraction(w["model"], "0.W"), TypeError, "names")
bad("taylor_scores y short", lambda w: P.taylor_scores(w["model"], w["X"], w["y"][:3]), ValueError, "y", "(3,)")
bad("taylor_scores NaN X", lambda w: P.taylor_scores(w["model"], np.full((3, 8), NAN), w["y"][:3]), ValueError, "X",
    "NaN")  # fmt: skip
bad("random_scores rng", lambda w: P.random_scores(w["model"], rng=1.5), TypeError, "rng")
bad("obd batch_size 0", lambda w: P.obd_scores(w["model"], w["X"], w["y"], batch_size=0), ValueError, "batch_size")
bad("apoz layers unknown", lambda w: P.apoz_scores(w["model"], w["X"], layers=[3]), ValueError, "layer", "3")
bad("shrink a list", lambda w: P.shrink([w["model"]]), TypeError, "model")
bad("Iterative rounds 0", lambda w: Iterative(0.2, 0), ValueError, "rounds", "0")
bad("Iterative fraction 1", lambda w: Iterative(1.0, 3), ValueError, "fraction_per_round", "1.0")
bad("OneShot sparsity 1", lambda w: OneShot(1.0), ValueError, "sparsity", "1.0")
bad("PolynomialDecay power inf", lambda w: PolynomialDecay(0.0, 0.5, 0, 10, power=INF), ValueError, "power", "inf")
bad("PolynomialDecay step str", lambda w: PolynomialDecay(0.0, 0.5, 0, 10).sparsity("3"), TypeError, "step")
bad("GradualPruning never reaching its target", lambda w: P.GradualPruning(PolynomialDecay(0.0, 0.8, 0, 50)),
    ValueError, "frequency")  # fmt: skip
bad("amount_to_prune target < current", lambda w: P.amount_to_prune(0.5, 0.3), ValueError, "target_sparsity")


def loop(w, **kwargs):
    args = {"validation": (w["X"], w["y"]), "schedule": Iterative(0.3, 2), "verbose": False,
            "retrain": P.Training(w["X"], w["y"], rng=w["gen"])}  # fmt: skip
    args.update(kwargs)
    return P.prune_loop(w["model"], **args)


def train(w, **kwargs):
    return P.Training(w["X"], w["y"], **kwargs)


bad("TargetSparsity 2", lambda w: loop(w, budgets=[P.TargetSparsity(2.0)]), ValueError, "sparsity", "2.0")
bad("MaxMACs negative", lambda w: loop(w, budgets=[P.MaxMACs(-1)]), ValueError, "macs", "-1")
bad("MaxNonzeroParams negative", lambda w: loop(w, budgets=[P.MaxNonzeroParams(-5)]), ValueError, "count", "-5")
bad("MaxNonzeroParams float", lambda w: P.MaxNonzeroParams(2.5), TypeError, "count", "2.5")
bad("MaxAccuracyDrop negative", lambda w: loop(w, budgets=[P.MaxAccuracyDrop(-0.1)]), ValueError, "drop", "-0.1")
bad("MaxLatency without input", lambda w: P.MaxLatency(1.0), TypeError, "latency_input")
bad("MaxLatency 0 ms", lambda w: P.MaxLatency(0, latency_input=w["X"]), ValueError, "ms", "0")
bad("MaxLatency input misfit", lambda w: loop(w, budgets=[P.MaxLatency(1.0, latency_input=np.zeros((2, 7)))]),
    ValueError, "(7,)")  # fmt: skip
bad("prune_loop two latency budgets", lambda w: loop(w, budgets=[P.MaxLatency(1.0, latency_input=w["X"]),
    P.MaxLatency(2.0, latency_input=w["X"][:4])]), ValueError, "budgets", "latency")  # fmt: skip
bad("prune_loop budgets one budget", lambda w: loop(w, budgets=P.TargetSparsity(0.5)), TypeError, "budgets",
    "TargetSparsity")  # fmt: skip
bad("prune_loop budgets numbers", lambda w: loop(w, budgets=[0.9]), TypeError, "budgets", "0.9")
bad("prune_loop rounds 0", lambda w: loop(w, rounds=0), ValueError, "rounds", "0")
bad("prune_loop rounds negative", lambda w: loop(w, rounds=-2), ValueError, "rounds", "-2")
bad("Training epochs negative", lambda w: loop(w, retrain=train(w, epochs=-1)), ValueError, "epochs", "-1")
bad("Training batch_size 0", lambda w: loop(w, retrain=train(w, batch_size=0)), ValueError, "batch_size", "0")
bad("Training optimizer_factory not callable", lambda w: train(w, optimizer_factory=minnet.Adam()), TypeError,
    "optimizer_factory")  # fmt: skip
bad("Training optimizer_factory returns junk", lambda w: train(w, optimizer_factory=lambda: "adam"), TypeError,
    "optimizer_factory")  # fmt: skip
bad("Training optimizer_factory 0", lambda w: train(w, optimizer_factory=0), TypeError, "optimizer_factory")
bad("Training rng float", lambda w: train(w, rng=1.5), TypeError, "rng")
bad("prune_loop wrong input width", lambda w: loop(w, retrain=P.Training(np.zeros((4, 7)), np.zeros(4, int))),
    ValueError, "(7,)")  # fmt: skip
bad("prune_loop retrain a function", lambda w: loop(w, retrain=lambda m: None), TypeError, "retrain")
bad("prune_loop pruner a name", lambda w: loop(w, pruner="units"), TypeError, "pruner", "units")
bad("prune_loop pruner names unknown", lambda w: loop(w, pruner=P.WeightPruner(names=["7.W"])), ValueError, "7.W")
bad("prune_loop pruner layers unknown", lambda w: loop(w, pruner=P.UnitPruner(layers=[1])), ValueError, "layer", "1")
bad("prune_loop schedule that never prunes", lambda w: loop(w, schedule=PolynomialDecay(0.0, 0.5, 50, 60)), ValueError,
    "never prunes")  # fmt: skip
bad("prune_loop schedule junk", lambda w: loop(w, schedule=0.5), TypeError, "schedule")
bad("prune_loop validation single array", lambda w: loop(w, validation=w["X"]), TypeError, "validation")


def retrain(w, **kwargs):
    args = {"strategy": "reinit", "epochs": 1, "optimizer_factory": lambda: minnet.Adam(), "rng": w["gen"]}
    args.update(kwargs)
    return P.retrain(w["model"], w["X"], w["y"], **args)


bad("retrain epochs 0 after reinit", lambda w: retrain(w, epochs=0), ValueError, "epochs", "0")
bad("retrain batch_size 0 after rewind", lambda w: retrain(w, strategy="weight_rewind",
    snapshot=w["model"].state_dict(), batch_size=0), ValueError, "batch_size")  # fmt: skip
bad("retrain fine_tune_lr inf", lambda w: retrain(w, strategy="fine_tune", fine_tune_lr=INF), ValueError,
    "fine_tune_lr", "inf")  # fmt: skip
bad("retrain strategy", lambda w: retrain(w, strategy="magic"), ValueError, "strategy", "magic")
bad("retrain weight_rewind without snapshot", lambda w: retrain(w, strategy="weight_rewind"), ValueError, "snapshot")
bad("retrain diverging", lambda w: retrain(w, optimizer_factory=lambda: minnet.SGD(lr=1e38)), ValueError, "restored")
bad("prune_potential budget negative", lambda w: P.prune_potential([0.5], [0.9], 0.95, budget=-0.1), ValueError,
    "budget")  # fmt: skip
bad("prune_potential percentages", lambda w: P.prune_potential([0.5], [90.0], 0.95), ValueError, "accuracies")
bad("prune_potential dense inf", lambda w: P.prune_potential([0.5], [0.9], INF), ValueError, "dense_accuracy")
bad("excess_error shapes", lambda w: P.excess_error([0.9, 0.8], [0.9], 0.95, 0.9), ValueError, "shape")
bad("forgotten_examples str", lambda w: P.forgotten_examples(["a"], ["b"], ["c"]), TypeError, "dense_predictions")


# -- found by the systematic probe (tests/lib/test_probe.py) ----------------------------------------
bad("evaluate a string model", lambda w: minnet.evaluate("model", w["X"], w["y"]), TypeError, "model", "str")
bad("check_model of None", lambda w: minnet.gradcheck.check_model(None, w["X"], w["y"], minnet.losses.mse), TypeError,
    "model", "NoneType")  # fmt: skip
bad("softmax of None", lambda w: minnet.losses.softmax(None), TypeError, "logits", "object")
bad("check_labels n_examples str", lambda w: minnet.losses.check_labels(w["y"], "40", 3), TypeError, "n_examples")
bad("masked_fraction of no names", lambda w: P.masked_fraction(w["model"], []), ValueError, "names")
bad("dead_unit_fraction of no layers", lambda w: P.dead_unit_fraction(w["model"], []), ValueError, "layers")
bad("taylor_unit_scores of no layers", lambda w: P.taylor_unit_scores(w["model"], w["X"], w["y"], layers=[]),
    ValueError, "layers")  # fmt: skip
bad("mlp activation list", lambda w: minnet.mlp([4, 3, 2], activation=["relu"]), ValueError, "activation")
bad("GradualPruning pruner a dict", lambda w: P.GradualPruning(P.OneShot(0.5), {"names": ["0.W"]}), TypeError, "pruner")
bad("WeightPruner names str", lambda w: P.WeightPruner(names="0.W"), TypeError, "names")
bad("WeightPruner scope 0", lambda w: P.WeightPruner(scope=0), TypeError, "scope", "0")
bad("WeightPruner scope []", lambda w: P.WeightPruner(scope=[]), TypeError, "scope")
bad("UnitPruner scores True", lambda w: P.UnitPruner(scores=True), TypeError, "scores")
bad("UnitPruner scope bad", lambda w: P.UnitPruner(scope="everywhere"), ValueError, "scope", "everywhere")
bad("UnitPruner layers int", lambda w: P.UnitPruner(layers=2), TypeError, "layers")
bad("UnitPruner layers of str", lambda w: P.UnitPruner(layers=["0"]), TypeError, "layers", "'0'")
bad("retrain snapshot str", lambda w: retrain(w, strategy="fine_tune", snapshot="epoch 1"), TypeError, "snapshot")
bad("weight_names include_output str", lambda w: P.weight_names(w["model"], include_output="yes"), TypeError,
    "include_output")  # fmt: skip
bad("flops effective str", lambda w: metrics.flops(w["model"], (8,), effective="yes"), TypeError, "effective")
bad("unstructured_mask scalar scores", lambda w: P.unstructured_mask(3.0, 0.5), ValueError, "scores", "3.0")
bad("structured_mask empty weight", lambda w: P.structured_mask(np.ones((0, 3)), 0.5, axis=0), ValueError, "weight")
bad("as_schedule None", lambda w: P.as_schedule(None), TypeError, "obj", "NoneType")


def test_mnist_offline_is_a_file_not_found_error(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(minnet.data, "_fetch_openml", offline)
    with pytest.raises(FileNotFoundError, match="load_digits"):
        minnet.data.load_mnist()


@pytest.mark.parametrize("call, error, words", CASES)
def test_bad_input_is_a_clear_error_and_changes_nothing(call, error, words):
    w = world()
    before = copy.deepcopy(fingerprint(w))
    with pytest.raises((ValueError, TypeError, FileNotFoundError)) as info:
        call(w)
    assert isinstance(info.value, error), f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert fingerprint(w) == before, "the call raised after changing state"


def test_the_table_covers_the_public_api():
    """Every public callable of minnet, minnet.prune and minnet.metrics appears in a case or is exempt."""
    import inspect

    source = inspect.getsource(inspect.getmodule(test_the_table_covers_the_public_api))
    exempt = {"Layer", "Callback", "History", "Evaluation", "DivergenceError", "Flatten", "ReLU", "Tanh", "Sigmoid",
              "get_num_threads", "LoopResult", "Round", "PruneReport", "FromFunction", "ConstantSparsity",
              "is_pruned", "dead_unit_fraction", "prunable_layers", "weight_names", "unit_axis", "unit_keep_mask",
              "reinitialize", "rewind_weights", "as_schedule", "lamp_scores", "snip_scores", "gradient_scores",
              "magnitude_scores", "mean_activation_scores", "taylor_unit_scores", "unit_norm_scores",
              "batchnorm_scale_scores", "BatchNorm1d", "BatchNorm2d", "Latency", "summary_table",
              "sparsity_per_layer", "count_nonzero", "compression_ratio", "flops_per_layer", "theoretical_speedup",
              "bytes_per_layer", "load_sparse", "Sequential", "load", "EarlyStopping", "Snapshot",
              "Budget"}  # fmt: skip
    public = {n for n in minnet.__all__ if callable(getattr(minnet, n)) and not inspect.ismodule(getattr(minnet, n))}
    public |= {n for n in dir(P) if not n.startswith("_") and callable(getattr(P, n)) and not n.isupper()}
    public |= {n for n in dir(metrics) if getattr(getattr(metrics, n), "__module__", "") == "minnet.metrics"}
    public = {n for n in public if not n.startswith("_")}
    missing = sorted(n for n in public - exempt if not re.search(rf"\b{n}\b", source.split("def world")[1]))
    assert not missing, f"no bad-input case calls {missing}"
    assert len(CASES) >= 150
