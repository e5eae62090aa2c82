"""The pruning findings the README reports, on digits with fixed seeds.

These assert orderings and budgets, not exact figures; ``python
tests/lib/findings.py`` prints the figures from the same code.
"""

import pytest
from findings import iterative_vs_one_shot, magnitude_vs_random


@pytest.fixture(scope="module")
def magnitude_random():
    return magnitude_vs_random()


def test_global_magnitude_90_loses_at_most_one_point(magnitude_random):
    dense, magnitude, _ = magnitude_random
    assert dense >= 0.97
    assert magnitude >= dense - 0.01


def test_random_pruning_at_90_loses_clearly_more(magnitude_random):
    dense, magnitude, random = magnitude_random
    for accuracy in random:  # every random mask we try, not a lucky one
        assert accuracy <= magnitude - 0.01
        assert dense - accuracy >= 2 * max(dense - magnitude, 0.005)


def test_iterative_is_at_least_as_good_as_one_shot_at_95():
    for one_shot, iterative in iterative_vs_one_shot(seeds=(0, 1)):
        assert iterative >= one_shot
