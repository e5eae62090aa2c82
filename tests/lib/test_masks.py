"""Array-level masks against their definitions (torch.nn.utils.prune semantics)."""

import numpy as np
import pytest

from minnet.prune.masks import global_unstructured_masks, structured_mask, unstructured_mask

# A fixed 5x5 tensor: the values 1..25 laid out so that the ranking is known by hand.
W55 = np.array(
    [
        [13, 2, 25, 8, 19],
        [6, 21, 11, 16, 1],
        [24, 9, 3, 22, 14],
        [17, 12, 20, 5, 10],
        [4, 23, 7, 18, 15],
    ],
    dtype=float,
)


def test_75_percent_of_a_5x5_tensor_prunes_the_19_smallest():
    mask = unstructured_mask(W55, 0.75)
    assert mask.sum() == 25 - round(0.75 * 25) == 6
    # kept: the six largest values 20..25
    np.testing.assert_array_equal(np.sort(W55[mask]), [20, 21, 22, 23, 24, 25])
    expected = W55 >= 20
    np.testing.assert_array_equal(mask, expected)


def test_negative_scores_rank_by_value_not_magnitude():
    mask = unstructured_mask(np.array([-5.0, 1.0, 0.5]), 1)
    np.testing.assert_array_equal(mask, [False, True, True])


@pytest.mark.parametrize("amount, kept", [(0, 25), (0.0, 25), (1.0, 0), (1, 24), (25, 0), (0.5, 13), (0.02, 25)])
def test_amount_float_rounds_and_int_counts(amount, kept):
    # round(0.5 * 25) = round(12.5) = 12 pruned (banker's rounding, as Python and torch do);
    # round(0.02 * 25) = round(0.5) = 0
    assert unstructured_mask(W55, amount).sum() == kept


def test_ties_pruned_in_flat_index_order():
    scores = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(unstructured_mask(scores, 2), [[True, False, True], [False, True, True]])
    np.testing.assert_array_equal(unstructured_mask(scores, 4), [[False, False, True], [False, True, False]])


def test_composition_ranks_only_kept_entries():
    first = unstructured_mask(W55, 0.5)  # prunes round(12.5) = 12, keeps 13
    second = unstructured_mask(W55, 0.5, mask=first)  # prunes round(6.5) = 6 of the 13, keeps 7
    assert first.sum() == 13 and second.sum() == 7
    assert np.all(second <= first)  # the result is the prior AND the new mask
    np.testing.assert_array_equal(np.sort(W55[second]), np.arange(19, 26))
    # 0.5 twice on a 100-entry tensor: 25 left
    scores = np.arange(100.0)
    assert unstructured_mask(scores, 0.5, mask=unstructured_mask(scores, 0.5)).sum() == 25


def test_prior_mask_entries_never_come_back_even_with_high_scores():
    prior = np.ones(5, dtype=bool)
    prior[4] = False
    mask = unstructured_mask(np.array([1.0, 2, 3, 4, 100]), 0, mask=prior)
    np.testing.assert_array_equal(mask, prior)


def test_int_amount_is_bounded_by_the_kept_count():
    prior = unstructured_mask(W55, 20)
    with pytest.raises(ValueError, match=r"\[0, 5\].*got 6"):
        unstructured_mask(W55, 6, mask=prior)


@pytest.mark.parametrize(
    "amount, error, words",
    [
        (1.5, ValueError, ["[0, 1]", "1.5"]),
        (-0.1, ValueError, ["[0, 1]", "-0.1"]),
        (-1, ValueError, ["[0, 25]", "-1"]),
        (26, ValueError, ["[0, 25]", "26"]),
        (True, TypeError, ["amount", "bool"]),
        ("half", TypeError, ["amount", "str"]),
    ],
)
def test_bad_amounts(amount, error, words):
    with pytest.raises(error) as info:
        unstructured_mask(W55, amount)
    for word in words:
        assert word in str(info.value)


def test_bad_scores_and_masks():
    with pytest.raises(ValueError, match="finite.*nan.*flat index 1"):
        unstructured_mask(np.array([1.0, np.nan, 2.0]), 1)
    with pytest.raises(ValueError, match="finite.*inf"):
        unstructured_mask(np.array([1.0, np.inf]), 1)
    with pytest.raises(ValueError, match=r"shape \(5, 5\).*\(5,\)"):
        unstructured_mask(W55, 1, mask=np.ones(5, dtype=bool))
    with pytest.raises(TypeError, match="bool array.*float64"):
        unstructured_mask(W55, 1, mask=np.ones((5, 5)))


def test_structured_mask_prunes_whole_slices_by_norm():
    # Dense weight (in=3, out=4): column norms 1, 4, 2, 3 -> prune 2 columns: 0 and 2
    W = np.array([[1.0, 0, 2, 0], [0, 4, 0, 3], [0, 0, 0, 0]])
    mask = structured_mask(W, 2, axis=1)
    np.testing.assert_array_equal(mask.all(axis=0), [False, True, False, True])
    np.testing.assert_array_equal(mask.any(axis=0), mask.all(axis=0))  # whole columns
    assert mask.shape == W.shape


def test_structured_mask_ord_changes_the_ranking():
    # column 0: [3, 3] (L1 6, L2 4.24); column 1: [5, 0] (L1 5, L2 5)
    W = np.array([[3.0, 5.0], [3.0, 0.0]])
    np.testing.assert_array_equal(structured_mask(W, 1, axis=1, ord=1).all(0), [True, False])
    np.testing.assert_array_equal(structured_mask(W, 1, axis=1, ord=2).all(0), [False, True])


def test_structured_mask_conv_filters_and_composition():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((8, 3, 3, 3)) * np.arange(1, 9)[:, None, None, None]  # filter i has scale i+1
    first = structured_mask(W, 0.5, axis=0)
    np.testing.assert_array_equal(first.reshape(8, -1).all(1), np.arange(8) >= 4)
    second = structured_mask(W, 0.5, axis=0, mask=first)  # half of the 4 kept filters
    np.testing.assert_array_equal(second.reshape(8, -1).all(1), np.arange(8) >= 6)
    with pytest.raises(ValueError, match=r"axis must be an int in -4..3, got 4"):
        structured_mask(W, 1, axis=4)


def test_global_masks_rank_across_arrays_and_compose():
    scores = {"a": np.array([1.0, 5.0, 9.0]), "b": np.array([[2.0, 3.0], [10.0, 4.0]])}
    masks = global_unstructured_masks(scores, 3)  # prunes 1, 2, 3
    np.testing.assert_array_equal(masks["a"], [False, True, True])
    np.testing.assert_array_equal(masks["b"], [[False, False], [True, True]])
    again = global_unstructured_masks(scores, 0.5, masks)  # 4 kept -> prune 2 more: 4 and 5
    np.testing.assert_array_equal(again["a"], [False, False, True])
    np.testing.assert_array_equal(again["b"], [[False, False], [True, False]])


def test_global_ties_follow_dict_order_then_index():
    masks = global_unstructured_masks({"x": np.zeros(2), "y": np.zeros(2)}, 3)
    np.testing.assert_array_equal(masks["x"], [False, False])
    np.testing.assert_array_equal(masks["y"], [False, True])


def test_global_can_starve_a_layer_that_local_would_keep():
    """Why global magnitude can starve a layer: small-scale layers lose everything."""
    scores = {"big": np.arange(10.0) + 100, "small": np.arange(10.0) * 0.01}
    masks = global_unstructured_masks(scores, 0.5)
    assert masks["small"].sum() == 0 and masks["big"].sum() == 10


def test_global_errors():
    with pytest.raises(TypeError, match="non-empty dict"):
        global_unstructured_masks({}, 0.5)
    with pytest.raises(ValueError, match="masks has names that scores lacks"):
        global_unstructured_masks({"a": np.zeros(2)}, 1, {"b": np.ones(2, dtype=bool)})
    with pytest.raises(ValueError, match=r"scores\['a'\] must be finite"):
        global_unstructured_masks({"a": np.array([np.nan])}, 1)
