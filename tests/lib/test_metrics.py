"""metrics: counts, MACs, bytes, latency, ShrinkBench ratios, sparse save/load, against hand counts."""

import os

import numpy as np
import pytest

import minnet
from minnet import metrics


def set_mask(layer, key, mask):
    """Attach a mask by hand (True = kept) and zero what it prunes, as pruning does."""
    layer.masks[key] = np.asarray(mask, dtype=bool)
    layer.params[key] = layer.params[key] * layer.masks[key]


def tiny_mlp():
    """Dense(4, 3) -> ReLU -> Dense(3, 2), every bias nonzero so that only masks make zeros."""
    model = minnet.mlp([4, 3, 2], rng=0)
    model[0].params["b"][:] = [0.1, 0.2, 0.3]
    model[2].params["b"][:] = [0.4, 0.5]
    return model


def tiny_conv():
    """Conv2d 2 -> 3, 3x3 kernel, no padding; bias nonzero."""
    model = minnet.Sequential(minnet.Conv2d(2, 3, 3, rng=0))
    model[0].params["b"][:] = 1.0
    return model


def test_counts_and_sparsity_by_hand():
    model = tiny_mlp()
    assert metrics.count_parameters(model) == 4 * 3 + 3 + 3 * 2 + 2 == 23
    assert metrics.count_nonzero(model) == 23
    set_mask(model[0], "W", np.arange(12).reshape(4, 3) % 2 == 0)  # prunes 6 of 12
    set_mask(model[2], "b", [True, False])
    assert metrics.count_nonzero(model) == 23 - 6 - 1
    assert metrics.count_parameters(model, ["0.W"]) == 12 and metrics.count_nonzero(model, "0.W") == 6
    assert metrics.sparsity(model) == pytest.approx(6 / 18)  # default: the two weights only
    assert metrics.sparsity(model, ["0.W", "0.b"]) == pytest.approx(6 / 15)
    assert metrics.sparsity_per_layer(model) == {"0.W": 0.5, "2.W": 0.0}
    assert metrics.sparsity_per_layer(model, ["2.b"]) == {"2.b": 0.5}


def test_an_unmasked_zero_counts_as_zero_and_a_masked_entry_never_counts():
    model = tiny_mlp()
    model[0].params["W"][0, 0] = 0.0  # zero by value, no mask
    model[2].masks["W"] = np.ones((3, 2), dtype=bool)
    model[2].masks["W"][1, 1] = False  # masked; the value is not zeroed on purpose
    assert metrics.count_nonzero(model, ["0.W", "2.W"]) == 18 - 2


def test_macs_by_hand():
    assert metrics.flops(tiny_mlp(), (4,)) == 4 * 3 + 3 * 2 == 18
    assert metrics.flops_per_layer(tiny_mlp(), (4,)) == {0: 12, 2: 6}
    assert metrics.flops(tiny_conv(), (2, 5, 5)) == 3 * 2 * 9 * 3 * 3 == 486
    strided = minnet.Sequential(minnet.Conv2d(2, 3, 3, stride=2, padding=1), minnet.ReLU(), minnet.MaxPool2d(2))
    assert metrics.flops(strided, (2, 8, 8)) == 3 * 2 * 9 * 4 * 4  # output 4x4; ReLU and pooling count 0
    cnn = minnet.small_cnn(batchnorm=True)  # conv 1->16 and 16->32 on 8x8 (pad 1), Dense 512->64->10
    assert metrics.flops_per_layer(cnn, (1, 8, 8)) == {0: 16 * 9 * 64, 3: 32 * 16 * 9 * 64, 8: 512 * 64, 10: 640}


def test_effective_macs_theoretical_speedup_and_compression_ratio():
    model, conv = tiny_mlp(), tiny_conv()
    assert metrics.theoretical_speedup(model, (4,)) == 1.0 and metrics.compression_ratio(model) == 1.0
    set_mask(model[0], "W", np.arange(12).reshape(4, 3) < 3)  # keeps 3 of 12
    assert metrics.flops(model, (4,), effective=True) == 3 + 6
    assert metrics.flops_per_layer(model, (4,), effective=True) == {0: 3, 2: 6}
    assert metrics.theoretical_speedup(model, (4,)) == pytest.approx(18 / 9)
    assert metrics.compression_ratio(model) == pytest.approx(23 / (23 - 9))
    set_mask(conv[0], "W", np.arange(54).reshape(3, 2, 3, 3) % 3 == 0)  # keeps 18 of 54
    assert metrics.flops(conv, (2, 5, 5), effective=True) == 18 * 9
    assert metrics.theoretical_speedup(conv, (2, 5, 5)) == pytest.approx(3.0)


def test_bytes_formulas_by_hand():
    model = minnet.Sequential(minnet.Dense(4, 3, rng=0))
    model[0].params["b"][:] = 1.0
    keep = np.zeros((4, 3), dtype=bool)
    keep.flat[[0, 4, 5, 9, 11]] = True  # nnz 5 of 12
    set_mask(model[0], "W", keep)
    assert metrics.model_bytes(model) == (12 + 3) * 4
    # CSR of the (units, inputs) = (3, 4) view: 5 values + 5 column indices + 4 row pointers; bias dense
    assert metrics.model_bytes(model, "csr") == 5 * (4 + 4) + (3 + 1) * 4 + 3 * 4 == 68
    assert metrics.model_bytes(model, "bitmask") == 2 + 5 * 4 + 3 * 4 == 34  # ceil(12 / 8) = 2 mask bytes
    assert metrics.model_bytes(model, "csr", dtype_bytes=2, index_bytes=2) == 5 * 4 + 4 * 2 + 3 * 2
    conv = tiny_conv()  # W (3, 2, 3, 3) as CSR of (3, 18), all 54 nonzero
    assert metrics.model_bytes(conv, "csr") == 54 * 8 + 4 * 4 + 3 * 4
    assert metrics.model_bytes(conv, "bitmask") == 7 + 54 * 4 + 3 * 4
    bn = minnet.mlp([4, 3, 2], batchnorm=True)  # BatchNorm gamma/beta dense in every format
    assert metrics.bytes_per_layer(bn, "bitmask") == {0: 2 + 12 * 4 + 12, 1: 24, 3: 1 + 6 * 4 + 8}


def test_latency_returns_ordered_positive_times_for_functions_and_models():
    model, x = tiny_mlp(), np.ones((8, 4), dtype=np.float32)
    for target in (model, lambda batch: batch @ np.ones((4, 4))):
        lat = metrics.measure_latency(target, x, warmup=1, repeats=5)
        assert isinstance(lat, metrics.Latency) and len(lat.samples) == 5
        assert 0 < lat.q1_ms <= lat.median_ms <= lat.q3_ms
        assert min(lat.samples) > 0
    assert model.training  # inference restored the mode


def test_summary_table_lists_layers_units_and_totals():
    model = tiny_mlp()
    set_mask(model[0], "W", np.arange(12).reshape(4, 3) % 3 != 1)  # column 1 pruned...
    set_mask(model[0], "b", [True, False, True])  # ...with its bias: a structurally pruned unit
    lines = metrics.summary_table(model, (4,)).splitlines()
    assert lines[1].split() == ["0", "Dense", "2/3", "15", "10", "33.3%", "12", "8"]
    assert lines[2].split() == ["2", "Dense", "2/2", "8", "8", "0.0%", "6", "6"]
    assert lines[3].split() == ["total", "23", "18", "21.7%", "18", "14"]
    assert "compression ratio 1.28x" in lines[4] and "speed-up 1.29x" in lines[4]


def test_save_sparse_round_trips_exactly_and_is_smaller(tmp_path):
    rng = np.random.default_rng(0)
    model = minnet.small_cnn(batchnorm=True, rng=0)
    model[1].running_mean[:] = rng.standard_normal(16)  # buffers must survive too
    for i in (0, 3, 8, 10):
        w = model[i].params["W"]
        set_mask(model[i], "W", np.abs(w) > np.quantile(np.abs(w), 0.9))  # 90% sparse
    set_mask(model[0], "b", rng.random(16) > 0.5)
    dense_path, sparse_path = os.fspath(tmp_path / "dense.npz"), os.fspath(tmp_path / "sparse.npz")
    model.save(dense_path)
    metrics.save_sparse(model, sparse_path)
    loaded = metrics.load_sparse(sparse_path)
    assert loaded.architecture() == model.architecture()
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for name, value in original.items():
        assert restored[name].dtype == value.dtype and np.array_equal(restored[name], value), name
    x = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(loaded.inference(x), model.inference(x))
    dense_size, sparse_size = os.path.getsize(dense_path), os.path.getsize(sparse_path)
    print(
        f"\n90% sparse small_cnn: save {dense_size:,} B, save_sparse {sparse_size:,} B ({sparse_size / dense_size:.0%})"
    )
    assert sparse_size < 0.3 * dense_size
    assert metrics.load_sparse(dense_path).architecture() == model.architecture()  # reads dense files too
    # one format (minnet.io): minnet.load reads the sparse file too, parameters and masks exactly
    again = minnet.load(sparse_path).state_dict()
    assert all(np.array_equal(again[name], value) for name, value in original.items())


def test_errors_name_the_argument_and_the_value(tmp_path):
    model = tiny_mlp()
    with pytest.raises(ValueError, match="unknown parameter name '5.W'"):
        metrics.count_parameters(model, ["5.W"])
    with pytest.raises(ValueError, match="look like '0.W'"):
        metrics.sparsity(model, ["W"])
    with pytest.raises(ValueError, match="must not repeat"):
        metrics.sparsity(model, ["0.W", "0.W"])
    with pytest.raises(ValueError, match="at least one parameter"):
        metrics.sparsity(model, [])
    with pytest.raises(ValueError, match=r"layer 0 .*expects one example of shape \(4,\), got \(8, 4\)"):
        metrics.flops(model, (8, 4))
    with pytest.raises(ValueError, match=r"expects one example of shape \(2, H, W\) with H, W >= 3, got \(2, 2, 2\)"):
        metrics.flops(tiny_conv(), (2, 2, 2))
    with pytest.raises(ValueError, match="input_shape must be"):
        metrics.flops(model, 4)
    with pytest.raises(ValueError, match="fmt must be one of"):
        metrics.model_bytes(model, "coo")
    with pytest.raises(ValueError, match="repeats must be a positive int, got 0"):
        metrics.measure_latency(model, np.ones((1, 4)), repeats=0)
    with pytest.raises(TypeError, match="fn_or_model must be"):
        metrics.measure_latency("model", np.ones((1, 4)))
    path = os.fspath(tmp_path / "other.npz")
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a minnet model file"):
        metrics.load_sparse(path)


def test_compare_latency_interleaves_contenders_and_reports_each():
    import minnet
    from minnet.metrics import compare_latency

    calls = []
    model = minnet.mlp([4, 3, 2], rng=0)
    x = np.zeros((2, 4), dtype=np.float32)
    result = compare_latency(
        {"a": (lambda v: calls.append("a"), x), "b": (lambda v: calls.append("b"), x), "model": (model, x)},
        rounds=2,
        repeats=2,
        warmup=1,
    )
    assert set(result) == {"a", "b", "model"}
    assert all(len(r.samples) == 4 and r.q1_ms <= r.median_ms <= r.q3_ms for r in result.values())
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 2  # warm-up each, then turns
    with pytest.raises(TypeError, match="non-empty dict"):
        compare_latency({})


def test_compare_latency_warms_up_before_every_turn_when_asked():
    calls = {"a": [], "b": []}
    contenders = {name: (lambda x, name=name: calls[name].append(x), name) for name in calls}
    timed = metrics.compare_latency(contenders, rounds=3, repeats=2, warmup=1, warmup_every_turn=True)
    assert all(len(c) == 3 * (1 + 2) for c in calls.values())  # one untimed call before each turn's two
    assert all(len(latency.samples) == 6 for latency in timed.values())
    calls = {"a": [], "b": []}
    metrics.compare_latency(contenders, rounds=3, repeats=2, warmup=1)
    assert all(len(c) == 1 + 3 * 2 for c in calls.values())  # one untimed call in all
