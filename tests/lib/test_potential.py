import numpy as np
import pytest

from minnet.prune.potential import excess_error, forgotten_examples, prune_potential

S = [0.0, 0.5, 0.8, 0.9, 0.95]


def test_prune_potential_is_the_largest_sparsity_within_budget():
    acc = [0.970, 0.972, 0.966, 0.958, 0.90]
    assert prune_potential(S, acc, dense_accuracy=0.970, budget=0.005) == 0.8
    assert prune_potential(S, acc, dense_accuracy=0.970, budget=0.015) == 0.9
    # not "the first failure": a later sparsity that recovers still counts
    assert prune_potential(S, [0.97, 0.90, 0.97, 0.5, 0.5], 0.97, 0.0) == 0.8
    assert prune_potential(S[1:], [0.5, 0.5, 0.5, 0.5], 0.97, 0.005) == 0.0


def test_prune_potential_errors():
    with pytest.raises(ValueError, match="increase strictly"):
        prune_potential([0.5, 0.2], [0.9, 0.9], 0.9)
    with pytest.raises(ValueError, match="equal non-zero length"):
        prune_potential([0.5], [0.9, 0.9], 0.9)
    with pytest.raises(ValueError, match="budget.*-0.1"):
        prune_potential(S, [0.9] * 5, 0.9, budget=-0.1)


def test_excess_error_compares_the_damage_on_shifted_and_clean_data():
    # clean: dense 0.97, pruned 0.96 (1 point lost); shifted: dense 0.80, pruned 0.74 (6 points lost)
    np.testing.assert_allclose(excess_error([0.96], [0.74], 0.97, 0.80), [0.05])


def test_forgotten_examples():
    labels = np.array([0, 1, 2, 3])
    np.testing.assert_array_equal(forgotten_examples([0, 1, 0, 3], [0, 2, 2, 1], labels), [1, 3])
    with pytest.raises(ValueError, match="one shape"):
        forgotten_examples([0, 1], [0], [0, 1])
