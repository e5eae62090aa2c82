"""Invariants over many random shapes and values (Hypothesis).

- the argument checks: any value is either accepted as what it stands for
  (NumPy scalars like Python numbers) or refused with a ValueError/TypeError
  that names the argument and shows the value;
- masks prune exactly round(amount * n) of the kept entries, the lowest first;
- pruned weights stay exactly 0 through every optimizer;
- save/load round-trips parameters, masks and buffers bit for bit;
- a call that raises leaves the model as it was (load_state_dict, forward).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minnet
from minnet import prune as P
from minnet.validate import check_int, check_real

ANY_SCALAR = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.integers(-100, 100).map(np.int64),
    st.integers(0, 100).map(np.uint8),
    st.floats(-1e3, 1e3).map(np.float32),
    st.floats(allow_nan=True).map(np.float64),
    st.just(np.bool_(True)),
    st.just(1 + 2j),
)


@settings(max_examples=400, deadline=None)
@given(value=ANY_SCALAR, low=st.one_of(st.none(), st.integers(-5, 5)), span=st.one_of(st.none(), st.integers(0, 9)))
def test_check_int_accepts_exactly_the_ints_in_range(value, low, span):
    high = None if span is None or low is None else low + span
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    in_range = is_int and (low is None or value >= low) and (high is None or value <= high)
    if in_range:
        result = check_int("count", value, low=low, high=high)
        assert result == value and type(result) is int
    else:
        with pytest.raises(ValueError if is_int else TypeError) as info:
            check_int("count", value, low=low, high=high)
        assert str(info.value).startswith("count must be ")
        assert repr(value)[:60] in str(info.value) or str(value) in str(info.value)


@settings(max_examples=400, deadline=None)
@given(value=ANY_SCALAR, low=st.sampled_from([None, 0.0, -1.0]), high=st.sampled_from([None, 1.0]),
       low_inclusive=st.booleans(), high_inclusive=st.booleans())  # fmt: skip
def test_check_real_accepts_exactly_the_finite_numbers_in_range(value, low, high, low_inclusive, high_inclusive):
    is_real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    finite = is_real and math.isfinite(float(value))
    inside = finite and (
        (low is None or (value >= low if low_inclusive else value > low))
        and (high is None or (value <= high if high_inclusive else value < high))
    )
    kwargs = dict(low=low, high=high, low_inclusive=low_inclusive, high_inclusive=high_inclusive)
    if inside:
        result = check_real("rate", value, **kwargs)
        assert result == float(value) and type(result) is float
    else:
        with pytest.raises(ValueError if is_real else TypeError) as info:
            check_real("rate", value, **kwargs)
        assert str(info.value).startswith("rate must be a finite number")


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    levels=st.integers(1, 5),
    amount=st.one_of(st.floats(0, 1), st.integers(0, 300), st.integers(0, 300).map(np.int64)),
    prior_density=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_unstructured_mask_prunes_exactly_k_of_the_kept_lowest_first(shape, levels, amount, prior_density, seed):
    gen = np.random.default_rng(seed)
    scores = gen.integers(0, levels, shape).astype(float)  # few levels: many ties
    prior = gen.random(shape) < prior_density
    kept = int(prior.sum())
    integral = isinstance(amount, (int, np.integer))
    assume(not integral or amount <= kept)
    k = int(amount) if integral else round(amount * kept)
    mask = P.unstructured_mask(scores, amount, prior)
    assert mask.dtype == bool and mask.shape == scores.shape
    assert not (mask & ~prior).any()  # never un-prunes
    pruned = prior & ~mask
    assert int(pruned.sum()) == k
    if k and mask.any():  # everything pruned scores <= everything kept, ties by flat index
        assert scores[pruned].max() <= scores[mask].min()
        flat_pruned, flat_kept = np.flatnonzero(pruned.ravel()), np.flatnonzero(mask.ravel())
        top = scores[pruned].max()
        if (scores[mask] == top).any():
            flat = scores.ravel()
            assert flat_pruned[flat[flat_pruned] == top].max() < flat_kept[flat[flat_kept] == top].min()


OPTIMIZERS = [
    lambda: minnet.SGD(lr=0.1),
    lambda: minnet.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: minnet.Adam(lr=1e-2, weight_decay=1e-2),
]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 7), min_size=2, max_size=4),
    sparsity=st.floats(0, 0.95),
    which=st.integers(0, len(OPTIMIZERS) - 1),
    batchnorm=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_pruned_weights_stay_exactly_zero_through_every_optimizer(sizes, sparsity, which, batchnorm, seed):
    model = minnet.mlp(sizes, batchnorm=batchnorm and len(sizes) > 2, rng=seed)
    P.prune(model, sparsity=sparsity, names=P.weight_names(model, include_output=True))
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((12, sizes[0])).astype(np.float32)
    y = gen.integers(0, sizes[-1], 12)
    minnet.fit(model, X, y, epochs=2, batch_size=4, optimizer=OPTIMIZERS[which](), rng=seed, verbose=False)
    for layer in model.layers:
        for key, mask in layer.masks.items():
            assert np.all(layer.params[key][~mask] == 0)


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    sparsity=st.floats(0, 0.9),
    batchnorm=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_save_and_load_round_trip_bit_for_bit(tmp_path_factory, sizes, sparsity, batchnorm, seed):
    model = minnet.mlp(sizes, batchnorm=batchnorm and len(sizes) > 2, rng=seed)
    P.prune(model, sparsity=sparsity, names=P.weight_names(model, include_output=True))
    for layer in model.layers:
        for value in layer.buffers().values():
            value += np.random.default_rng(seed).standard_normal(value.shape).astype(value.dtype)
    path = tmp_path_factory.mktemp("models") / "m"
    model.save(path)
    for loaded in (minnet.load(path), minnet.metrics.load_sparse(path)):
        a, b = model.state_dict(), loaded.state_dict()
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].dtype == b[name].dtype and a[name].tobytes() == b[name].tobytes(), name


BAD_VALUES = st.one_of(
    st.just(None),
    st.just("text"),
    st.just(np.ones(2, complex)),
    st.just(np.full(3, np.nan)),
    st.just(np.ones(7)),
    st.just(np.ones((2, 2), dtype=int)),
)


@settings(max_examples=60, deadline=None)
@given(bad=BAD_VALUES, which=st.integers(0, 100), seed=st.integers(0, 100))
def test_load_state_dict_is_all_or_nothing(bad, which, seed):
    model = minnet.mlp([4, 5, 3], batchnorm=True, rng=seed)
    P.prune(model, sparsity=0.5)
    before = model.state_dict()
    state = {name: value + 1 for name, value in before.items() if not name.endswith("_mask")}
    names = sorted(state)
    state[names[which % len(names)]] = bad  # one bad entry; the others would all change the model
    with pytest.raises((ValueError, TypeError)):
        model.load_state_dict(state)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(before[n].tobytes() == after[n].tobytes() for n in before)


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 12), extra_axes=st.integers(0, 2), seed=st.integers(0, 100))
def test_a_batch_that_does_not_fit_changes_no_running_statistics(width, extra_axes, seed):
    model = minnet.Sequential(minnet.Dense(6, 4), minnet.BatchNorm1d(4), minnet.ReLU(), minnet.Dense(4, 3))
    shape = (5, width) + (2,) * extra_axes
    assume(shape != (5, 6))
    before = model.state_dict()
    with pytest.raises(ValueError, match="does not fit the model"):
        model.forward(np.random.default_rng(seed).standard_normal(shape))
    assert all(before[n].tobytes() == v.tobytes() for n, v in model.state_dict().items())
