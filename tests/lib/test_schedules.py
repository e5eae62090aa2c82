"""Pruning schedules: tfmot semantics of PolynomialDecay/ConstantSparsity, round-based
schedules, amount_to_prune for composing masks, validation, plots.

Expected values are literals computed by hand in the comments (or taken from tfmot's own
tests), never produced by the code under test.
"""

import matplotlib

matplotlib.use("Agg")

import re

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minnet.plots import SPARSITY_LABEL  # noqa: E402
from minnet.prune.schedules import (  # noqa: E402
    ConstantSparsity,
    FromFunction,
    Iterative,
    OneShot,
    PolynomialDecay,
    Schedule,
    amount_to_prune,
    as_schedule,
)

# --------------------------------------------------------------------------- PolynomialDecay values


@pytest.fixture
def poly():
    # initial 0, final 0.8, steps 100..500, power 3, frequency 100
    return PolynomialDecay(0.0, 0.8, begin_step=100, end_step=500, power=3, frequency=100)


@pytest.mark.parametrize(
    "step, expected",
    [
        (0, 0.0),  # before begin: p clipped to 0 -> initial
        (99, 0.0),
        (100, 0.0),  # begin: p = 0 -> initial
        (200, 0.4625),  # p = 1/4: 0.8 - 0.8 * 0.75**3 = 0.8 - 0.8 * 0.421875 = 0.8 - 0.3375
        (300, 0.7),  # midpoint, p = 1/2: 0.8 - 0.8 * 0.125 = 0.8 - 0.1
        (400, 0.7875),  # p = 3/4: 0.8 - 0.8 * 0.015625 = 0.8 - 0.0125
        (500, 0.8),  # end: p = 1 -> final
        (501, 0.8),  # after end: p clipped to 1 -> final
        (10**6, 0.8),
    ],
)
def test_polynomial_decay_matches_the_formula(poly, step, expected):
    assert poly.sparsity(step) == pytest.approx(expected, abs=1e-12)


def test_polynomial_decay_hits_initial_and_final_exactly(poly):
    s = PolynomialDecay(0.2, 0.8, 0, 10)
    assert s.sparsity(0) == 0.2  # not 0.8 + (0.2 - 0.8) = 0.19999999999999996
    assert s.sparsity(10) == 0.8
    assert poly.sparsity(500) == 0.8


def test_polynomial_decay_matches_tfmot_test_values():
    # tensorflow/model-optimization, sparsity/keras/pruning_schedule_test.py,
    # testPolynomialDecay_PrunesCorrectly: PolynomialDecay(0.2, 0.8, 100, 110, 3, 2)
    # step 102: p = 0.2, 0.8 - 0.6 * 0.8**3 = 0.8 - 0.6 * 0.512 = 0.4928
    # step 105: p = 0.5, 0.8 - 0.6 * 0.125 = 0.725
    s = PolynomialDecay(0.2, 0.8, 100, 110, 3, 2)
    assert s.sparsity(100) == pytest.approx(0.2)
    assert s.sparsity(102) == pytest.approx(0.4928)
    assert s.sparsity(105) == pytest.approx(0.725)
    assert s.sparsity(110) == pytest.approx(0.8)


def test_power_one_is_linear():
    s = PolynomialDecay(0.1, 0.5, 0, 100, power=1)
    # 0.5 - 0.4 * (1 - p): p = 0.25 -> 0.2, p = 0.5 -> 0.3
    assert s.sparsity(25) == pytest.approx(0.2)
    assert s.sparsity(50) == pytest.approx(0.3)
    values = np.array([s.sparsity(t) for t in range(0, 101)])
    np.testing.assert_allclose(np.diff(values), 0.004, atol=1e-12)  # 0.4 / 100 per step


@pytest.mark.parametrize(
    "args",
    [(0.0, 0.8, 100, 500, 3, 100), (0.2, 0.95, 0, 1000, 3, 1), (0.5, 0.6, 7, 19, 1, 3), (0.0, 0.9, 0, 40, 0.5, 1)],
)
def test_polynomial_decay_is_monotone_non_decreasing(args):
    s = PolynomialDecay(*args)
    values = np.array([s.sparsity(t) for t in range(-5, args[3] + 50)])
    assert np.all(np.diff(values) >= 0)
    assert values[0] == args[0] and values[-1] == args[1]


# --------------------------------------------------------------------------- should_prune (tfmot rule)


def test_polynomial_decay_should_prune_on_the_frequency_grid_within_begin_end(poly):
    on = [100, 200, 300, 400, 500]  # begin, begin + k * frequency, end (500 - 100 is a multiple of 100)
    off = [0, 99, 101, 150, 199, 499]  # before begin or off the grid
    after_end = [501, 600, 700, 10**6]  # 600, 700 are on the grid but after end_step: tfmot does not prune
    assert all(poly.should_prune(t) for t in on)
    assert not any(poly.should_prune(t) for t in off + after_end)
    assert poly.pruning_steps(0, 10_000) == on
    assert poly.last_pruning_step == 500


def test_frequency_grid_counts_from_begin_step_not_from_zero():
    s = PolynomialDecay(0.0, 0.5, begin_step=50, end_step=250, frequency=100)
    assert [t for t in range(0, 400) if s.should_prune(t)] == [50, 150, 250]
    assert not s.should_prune(100) and not s.should_prune(200)


def test_end_step_is_not_a_pruning_step_when_off_the_grid():
    # tfmot: (step - begin) % frequency == 0 is required at end_step too, so with
    # end - begin = 250 and frequency 100 the last pruning is at 200 and the final
    # sparsity 0.9 is never applied: sparsity(200) = 0.9 - 0.9 * 0.2**3 = 0.9 - 0.0072 = 0.8928
    s = PolynomialDecay(0.0, 0.9, 0, 250, frequency=100)
    assert not s.should_prune(250)
    assert s.pruning_steps(0, 1000) == [0, 100, 200]
    assert s.last_pruning_step == 200
    assert s.sparsity(s.last_pruning_step) == pytest.approx(0.8928)
    assert s.sparsity(250) == 0.9  # the schedule's value is still final at end_step


def test_call_returns_should_prune_and_sparsity_like_tfmot(poly):
    assert poly(300) == (True, pytest.approx(0.7))
    assert poly(301) == (False, pytest.approx(0.8 - 0.8 * (1 - 201 / 400) ** 3))


def test_numpy_integer_steps_are_accepted(poly):
    assert poly.should_prune(np.int64(200)) is True
    assert poly.sparsity(np.int32(300)) == pytest.approx(0.7)


@pytest.mark.parametrize("step", [1.5, 100.0, "100", None, True])
def test_non_integer_steps_are_rejected(poly, step):
    with pytest.raises(TypeError, match="step must be an int"):
        poly.sparsity(step)
    with pytest.raises(TypeError, match="step must be an int"):
        poly.should_prune(step)


# --------------------------------------------------------------------------- ConstantSparsity


def test_constant_sparsity_like_tfmot_tests():
    # tfmot testPrunesOnlyInBeginEndStepRange / testOnlyPrunesAtValidFrequencySteps
    s = ConstantSparsity(0.5, 100, 200, 10)
    assert [s.should_prune(t) for t in (90, 99, 100, 109, 110, 111, 200, 201, 210)] == [
        False,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        False,  # 210 is on the grid but after end_step
    ]
    # the sparsity is the target at every step (before begin too, as in tfmot)
    assert [s.sparsity(t) for t in (0, 100, 110, 200, 5000)] == [0.5] * 5


@pytest.mark.parametrize("end_step", [None, -1])
def test_constant_sparsity_prunes_forever_without_end_step(end_step):
    s = ConstantSparsity(0.5, 0, end_step, 10)
    assert s.end_step is None
    assert s.should_prune(10_000) and s.should_prune(100_000_000) and not s.should_prune(100_000_001)
    assert s.last_pruning_step is None
    assert s.sparsity(100_000_000) == 0.5


def test_constant_sparsity_defaults_and_single_step():
    s = ConstantSparsity(0.3)
    assert (s.begin_step, s.end_step, s.frequency) == (0, None, 100)
    assert s.pruning_steps(0, 350) == [0, 100, 200, 300]
    once = ConstantSparsity(0.3, begin_step=40, end_step=40)  # tfmot allows end_step == begin_step
    assert once.pruning_steps(0, 1000) == [40]
    assert once.last_pruning_step == 40


# --------------------------------------------------------------------------- round-based schedules


def test_one_shot_prunes_in_round_one_only():
    s = OneShot(0.9)
    assert [s.sparsity(r) for r in (0, 1, 2, 10)] == [0.0, 0.9, 0.9, 0.9]
    assert [s.should_prune(r) for r in (0, 1, 2)] == [False, True, False]
    assert s.pruning_steps(0, 10) == [1]
    assert s.target_sparsity == 0.9


def test_iterative_sparsity_after_each_round():
    s = Iterative(0.2, 3)
    # 1 - 0.8**r: r=0 -> 0, r=1 -> 0.2, r=2 -> 1 - 0.64 = 0.36, r=3 -> 1 - 0.512 = 0.488
    expected = [0.0, 0.2, 0.36, 0.488]
    np.testing.assert_allclose([s.sparsity(r) for r in range(4)], expected, atol=1e-12)
    assert s.sparsity(7) == pytest.approx(0.488)  # held after the last round
    assert s.sparsity(-2) == 0.0
    assert s.final_sparsity == pytest.approx(0.488)
    assert [s.should_prune(r) for r in range(5)] == [False, True, True, True, False]


@pytest.mark.parametrize("target, rounds", [(0.9, 5), (0.5, 1), (0.99, 20), (0.2, 3), (0.8, 7)])
def test_iterative_to_target_reaches_the_target_at_the_last_round(target, rounds):
    s = Iterative.to_target(target, rounds)
    assert s.rounds == rounds
    assert abs(s.sparsity(rounds) - target) <= 1e-12
    assert s.sparsity(rounds - 1) < target


def test_iterative_to_target_fraction_for_a_known_case():
    # 0.75 in 2 rounds: 1 - 0.25**(1/2) = 1 - 0.5 = 0.5 per round
    assert Iterative.to_target(0.75, 2).fraction_per_round == pytest.approx(0.5)


def test_two_rounds_of_half_the_remaining_leave_a_quarter():
    s = Iterative(0.5, 2)
    assert s.sparsity(1) == 0.5 and s.sparsity(2) == 0.75
    assert amount_to_prune(0.0, s.sparsity(1)) == 0.5
    assert amount_to_prune(s.sparsity(1), s.sparsity(2)) == 0.5
    # the same with composing masks on 1000 weights: each round ranks only kept entries
    weights = np.random.default_rng(0).normal(size=1000)
    mask = np.ones(1000, dtype=bool)
    previous = 0.0
    for r in (1, 2):
        amount = amount_to_prune(previous, s.sparsity(r))
        kept = np.flatnonzero(mask)
        k = round(amount * kept.size)
        mask[kept[np.argsort(np.abs(weights[kept]), kind="stable")[:k]]] = False
        previous = s.sparsity(r)
    assert mask.sum() == 250


def test_amount_to_prune_per_round_of_iterative_is_the_fraction():
    s = Iterative(0.2, 6)
    for r in range(1, 7):
        assert amount_to_prune(s.sparsity(r - 1), s.sparsity(r)) == pytest.approx(0.2)


def test_amount_to_prune_values():
    assert amount_to_prune(0.0, 0.3) == pytest.approx(0.3)
    assert amount_to_prune(0.5, 0.8) == pytest.approx(0.6)  # (0.8 - 0.5) / 0.5
    assert amount_to_prune(0.2, 1.0) == 1.0
    assert amount_to_prune(0.4, 0.4) == 0.0
    assert amount_to_prune(0.5, 0.5 - 1e-15) == 0.0  # float rounding, not un-pruning


# --------------------------------------------------------------------------- FromFunction / as_schedule


def test_from_function():
    def ramp(step):
        return min(0.9, step / 1000)

    s = FromFunction(ramp, frequency=10)
    assert s.sparsity(500) == 0.5 and s.sparsity(5000) == 0.9
    assert [s.should_prune(t) for t in (0, 5, 10, 20, -10)] == [True, False, True, True, False]
    assert repr(s) == "FromFunction(ramp, frequency=10)"
    windowed = FromFunction(ramp, 5, begin_step=10, end_step=20)
    assert windowed.pruning_steps(0, 100) == [10, 15, 20]
    assert FromFunction(lambda t: np.float32(0.25)).sparsity(3) == 0.25
    assert FromFunction(lambda t: np.array(0.5)).sparsity(3) == 0.5


@pytest.mark.parametrize("value", [1.0, 1.2, -0.1, float("nan"), float("inf")])
def test_from_function_validates_values_naming_step_and_value(value):
    s = FromFunction(lambda t: value if t == 7 else 0.1)
    assert s.sparsity(6) == 0.1
    with pytest.raises(ValueError, match=r"returned .* at step 7; a sparsity must be in \[0, 1\)") as err:
        s.sparsity(7)
    assert repr(value) in str(err.value)


@pytest.mark.parametrize("value", ["0.5", None, True, np.array([0.1, 0.2])])
def test_from_function_rejects_non_numbers(value):
    with pytest.raises(TypeError, match="at step 3"):
        FromFunction(lambda t: value).sparsity(3)


def test_as_schedule():
    poly = PolynomialDecay(0.0, 0.5, 0, 10)
    assert as_schedule(poly) is poly
    wrapped = as_schedule(lambda t: 0.1)
    assert isinstance(wrapped, FromFunction) and isinstance(wrapped, Schedule)
    assert wrapped(4) == (True, 0.1)
    with pytest.raises(TypeError, match="got float"):
        as_schedule(0.5)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: PolynomialDecay(-0.1, 0.8, 0, 10), r"initial_sparsity must be a finite number in \[0, 1\), got -0.1"),
        (lambda: PolynomialDecay(0.0, 1.0, 0, 10), r"final_sparsity must be a finite number in \[0, 1\), got 1.0"),
        (
            lambda: PolynomialDecay(0.0, True, 0, 10),
            r"final_sparsity must be a finite number in \[0, 1\), got bool True",
        ),
        (
            lambda: PolynomialDecay(0.0, "0.5", 0, 10),
            r"final_sparsity must be a finite number in \[0, 1\), got str '0.5'",
        ),
        (lambda: PolynomialDecay(0.0, 0.5, -1, 10), r"begin_step must be an int >= 0, got -1"),
        (lambda: PolynomialDecay(0.0, 0.5, 1.5, 10), r"begin_step must be an int >= 0, got float 1.5"),
        (lambda: PolynomialDecay(0.0, 0.5, 0, 10.0), r"end_step must be an int, got float 10.0"),
        (
            lambda: PolynomialDecay(0.0, 0.5, 100, 100),
            r"end_step must be greater than begin_step, got begin_step=100, end_step=100",
        ),
        (
            lambda: PolynomialDecay(0.0, 0.5, 100, 50),
            r"end_step must be greater than begin_step, got begin_step=100, end_step=50",
        ),
        (
            lambda: PolynomialDecay(0.0, 0.5, 0, -1),  # tfmot: 'end_step cannot be -1.'
            r"end_step must be greater than begin_step, got begin_step=0, end_step=-1",
        ),
        (lambda: PolynomialDecay(0.0, 0.5, 0, 10, power=0), r"power must be a finite number > 0, got 0"),
        (lambda: PolynomialDecay(0.0, 0.5, 0, 10, power=-2), r"power must be a finite number > 0, got -2"),
        (lambda: PolynomialDecay(0.0, 0.5, 0, 10, power=float("inf")), r"power must be a finite number > 0"),
        (lambda: PolynomialDecay(0.0, 0.5, 0, 10, frequency=0), r"frequency must be a positive int, got 0"),
        (lambda: ConstantSparsity(1.0), r"target_sparsity must be a finite number in \[0, 1\), got 1.0"),
        (lambda: ConstantSparsity(0.5, begin_step=-5), r"begin_step must be an int >= 0, got -5"),
        (lambda: ConstantSparsity(0.5, 0, -5), r"end_step must be None or -1 \(prune forever\) or an int >= 0, got -5"),
        (
            lambda: ConstantSparsity(0.5, 10, 5),
            r"end_step must be greater than or equal to begin_step, got begin_step=10, end_step=5",
        ),
        (lambda: ConstantSparsity(0.5, frequency=-1), r"frequency must be a positive int, got -1"),
        (lambda: OneShot(1.0), r"sparsity must be a finite number in \[0, 1\), got 1.0"),
        (lambda: OneShot(-0.5), r"sparsity must be a finite number in \[0, 1\), got -0.5"),
        (lambda: Iterative(0.0, 3), r"fraction_per_round must be a finite number in \(0, 1\), got 0.0"),
        (lambda: Iterative(1.0, 3), r"fraction_per_round must be a finite number in \(0, 1\), got 1.0"),
        (lambda: Iterative(0.2, 0), r"rounds must be a positive int, got 0"),
        (lambda: Iterative.to_target(1.0, 3), r"final_sparsity must be a finite number in \(0, 1\), got 1.0"),
        (lambda: Iterative.to_target(0.0, 3), r"final_sparsity must be a finite number in \(0, 1\), got 0.0"),
        (lambda: Iterative.to_target(0.9, -1), r"rounds must be a positive int, got -1"),
        (lambda: FromFunction(lambda t: 0.1, frequency=0), r"frequency must be a positive int, got 0"),
        (lambda: FromFunction(lambda t: 0.1, begin_step=-1), r"begin_step must be an int >= 0, got -1"),
        (
            lambda: FromFunction(lambda t: 0.1, begin_step=10, end_step=5),
            r"end_step must be None or >= begin_step, got begin_step=10, end_step=5",
        ),
        (lambda: amount_to_prune(1.0, 1.0), r"current_sparsity must be a finite number in \[0, 1\), got 1.0"),
        (lambda: amount_to_prune(-0.1, 0.5), r"current_sparsity must be a finite number in \[0, 1\), got -0.1"),
        (lambda: amount_to_prune(0.2, 1.5), r"target_sparsity must be a finite number in \[0, 1\], got 1.5"),
        (lambda: amount_to_prune(0.2, None), r"target_sparsity must be a finite number in \[0, 1\], got NoneType None"),
        (
            lambda: amount_to_prune(0.5, 0.3),
            r"target_sparsity must be >= current_sparsity \(pruning cannot bring weights back\), "
            r"got current_sparsity=0.5, target_sparsity=0.3",
        ),
    ],
)
def test_invalid_arguments_raise_value_error_naming_argument_and_value(make, message):
    # a wrong value is a ValueError, a wrong type (bool, str, float for an int, None) a TypeError
    with pytest.raises(
        TypeError if re.search(r"got (bool|str|float|NoneType) ", message) else ValueError, match=message
    ):
        make()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: PolynomialDecay(0.0, 0.5, 0, 10, frequency=2.5), r"frequency must be a positive int, got float 2.5"),
        (lambda: Iterative(0.2, 2.0), r"rounds must be a positive int, got float 2.0"),
    ],
)
def test_a_wrong_type_is_a_type_error_naming_argument_and_value(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_from_function_needs_a_callable():
    with pytest.raises(TypeError, match="fn must be a callable step -> sparsity, got float"):
        FromFunction(0.5)


# --------------------------------------------------------------------------- repr and plot

SCHEDULES = [
    PolynomialDecay(0.0, 0.8, 100, 500, power=3, frequency=100),
    PolynomialDecay(0.1, 0.5, 0, 100_000, power=2, frequency=1),  # long: sampled, still fast
    ConstantSparsity(0.5, 100, 200, 10),
    ConstantSparsity(0.5),
    OneShot(0.9),
    Iterative(0.2, 5),
    FromFunction(lambda t: min(0.9, t / 100), frequency=10),
]


@pytest.mark.parametrize("schedule", SCHEDULES[:-1], ids=lambda s: type(s).__name__)
def test_repr_round_trips(schedule):
    again = eval(repr(schedule))
    assert type(again) is type(schedule) and again.__dict__ == schedule.__dict__


@pytest.fixture
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_plot_returns_labelled_axes(schedule, close_figures):
    ax = schedule.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_title()
    assert ax.get_xlabel() == ("round" if isinstance(schedule, (OneShot, Iterative)) else "step")
    assert ax.get_ylabel() == SPARSITY_LABEL == "sparsity (fraction of weights pruned)"


def test_plot_marks_pruning_steps_and_uses_given_axes(poly, close_figures):
    fig, given = plt.subplots()
    ax = poly.plot(ax=given, steps=range(0, 701, 50), title="my schedule")
    assert ax is given and ax.get_title() == "my schedule"
    curve, held, markers = ax.get_lines()
    assert list(markers.get_xdata()) == [100, 200, 300, 400, 500]
    np.testing.assert_allclose(markers.get_ydata(), [0.0, 0.4625, 0.7, 0.7875, 0.8])
    # the model's sparsity only changes at pruning steps: at 250 it still has the value of step 200
    held_at = dict(zip(held.get_xdata(), held.get_ydata()))
    assert held_at[250] == pytest.approx(0.4625) and held_at[50] == 0.0 and held_at[700] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="steps must contain at least one int step"):
        poly.plot(steps=[])
