"""The random cases every check runs after its designed ones: they catch what a
handful of examples lets through, and say precisely what differs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minnet_course.checks import common, ex01, ex03, ex04, ex05, ex06


def magnitude_wrong_in_1d(W):
    # right for the designed 2-d and 4-d weights, wrong for a bias-like vector
    return np.abs(W) if W.ndim > 1 else W.copy()


def mask_numpy_int32_as_fraction(scores, amount):
    # np.int64 is handled, np.int32 is not
    scores = np.asarray(scores)
    if isinstance(amount, (int, np.int64)):
        if not 0 <= amount <= scores.size:
            raise ValueError("count out of range")
        k = int(amount)
    else:
        if not 0 <= amount <= 1:
            raise ValueError("fraction out of range")
        k = round(amount * scores.size)
    keep = np.ones(scores.size, dtype=bool)
    keep[np.argsort(scores.ravel(), kind="stable")[: min(k, scores.size)]] = False
    return keep.reshape(scores.shape)


def forward_wrong_for_one_example(x, W, b):
    out = x @ W + b
    return out if len(x) > 1 or W.shape[0] != W.shape[1] else out + 1.0


def macs_wrong_for_large_layers(n_in, hidden, n_out):
    total = n_in * hidden + hidden * n_out
    return total if total < 100_000 else total - 1


def targets_wrong_after_ten_rounds(fraction, rounds):
    return [1 - (1 - fraction) ** min(r, 10) for r in range(1, rounds + 1)]


@pytest.mark.parametrize(
    "check, answer, phrase",
    [
        (ex03.check_magnitude_scores, magnitude_wrong_in_1d, "random case"),
        (ex04.check_unstructured_mask, mask_numpy_int32_as_fraction, "np.int32"),
        (ex01.check_dense_forward, forward_wrong_for_one_example, "random case"),
        (ex05.check_macs_two_layer, macs_wrong_for_large_layers, "random case"),
        (ex06.check_iterative_targets, targets_wrong_after_ten_rounds, "random case"),
    ],
)
def test_a_mistake_outside_the_designed_cases_is_caught_and_described(check, answer, phrase):
    with pytest.raises(AssertionError) as info:
        check(answer)
    assert phrase in str(info.value), str(info.value)


def test_the_difference_says_which_entry_and_by_how_much():
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] += 0.5
    message = common.describe_difference(got, expected)
    assert "1 of 6 entries off" in message and "(1, 2)" in message and "5.5" in message
    assert "dtype float32" in common.describe_difference(expected.astype(np.float32), expected)
    assert "shape (3, 2)" in common.describe_difference(expected.T, expected)
    assert common.describe_difference({"b": 1, "a": 2}, {"a": 2, "b": 1}) is None  # a dict has no order
    assert "keys" in common.describe_difference({"a": 2}, {"a": 2, "b": 1})
    assert "tuple of 2" in common.describe_difference(expected, (expected, expected))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([np.float64, np.float32, np.bool_]), hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), st.data()
)
def test_an_array_equals_itself_and_no_changed_entry_goes_unnoticed(dtype, shape, data):
    elements = st.booleans() if dtype is np.bool_ else st.floats(-1e6, 1e6, width=32)
    array = data.draw(hnp.arrays(dtype=dtype, shape=shape, elements=elements))
    assert common.describe_difference(array.copy(), array) is None
    index = data.draw(st.tuples(*(st.integers(0, side - 1) for side in array.shape)))
    changed = array.copy()
    if array.dtype == bool:
        changed[index] = not changed[index]
    else:
        changed[index] = changed[index] + max(1.0, 2 * abs(float(changed[index])))
    message = common.describe_difference(changed, array)
    assert message is not None and str(tuple(int(i) for i in index)) in message
