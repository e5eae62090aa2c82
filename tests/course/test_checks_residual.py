"""Exercise 11's checks: a right answer passes with one line, a stub is "not done",
and every plausible wrong answer in ``tests/course/wrong_answers/ex11.py`` is
rejected with the feedback meant for its mistake, without reference code."""

import pytest
from test_feedback_display import all_reference_lines
from wrong_answers import ex11 as a11

from minnet_course import feedback
from minnet_course.checks import ex11

CHECKS = {
    "residual_streams": ex11.check_residual_streams,
    "channel_members": ex11.check_channel_members,
    "remove_channel": ex11.check_remove_channel,
}
VARIANTS = {task: [{}, {"channels": (3, 5), "blocks": 1, "seed": 1}] for task in CHECKS}

CORRECT = [
    ("residual_streams", a11.correct_residual_streams),
    ("channel_members", a11.correct_channel_members),
    ("remove_channel", a11.correct_remove_channel),
]

# (task, wrong answer, a phrase of the feedback meant for its mistake)
WRONG = [
    ("residual_streams", a11.wrong_streams_without_stem, "the stem ('0') is missing"),
    ("residual_streams", a11.wrong_streams_without_projection, "the projection shortcut"),
    ("residual_streams", a11.wrong_streams_one_stream, "starts a NEW stream"),
    ("residual_streams", a11.wrong_streams_one_per_block, "you split a stream"),
    ("residual_streams", a11.wrong_streams_first_convs, "FIRST convolution of a block's body"),
    ("residual_streams", a11.wrong_streams_projection_in_old_stream, "in the wrong stream"),
    ("channel_members", a11.wrong_members_no_batchnorm, "the BatchNorm entries are missing"),
    ("channel_members", a11.wrong_members_no_readers, "the readers are missing"),
    ("channel_members", a11.wrong_members_readers_axis_0, "writing is axis 0, reading axis 1"),
    ("channel_members", a11.wrong_members_no_biases, "the biases are missing"),
    ("channel_members", a11.wrong_members_no_projection_reader, "the readers are missing (here 7.shortcut.0.W)"),
    ("channel_members", a11.wrong_members_running_stats, "running statistics are buffers"),
    ("remove_channel", a11.wrong_remove_in_place, "changed `model` itself"),
    ("remove_channel", a11.wrong_remove_keeps_running_stats, "remove the channel from running_mean"),
    ("remove_channel", a11.wrong_remove_no_resize, "set the layer's sizes"),
    ("remove_channel", a11.wrong_remove_zeroes, "still has the shape it had before"),
]

REFERENCE = all_reference_lines()


def stub(*args, **kwargs):
    raise NotImplementedError("Task: write your code here")


def test_every_task_has_a_correct_answer_and_four_wrong_ones():
    assert {task for task, _ in CORRECT} == set(CHECKS)
    for task in CHECKS:
        assert len({fn for t, fn, _ in WRONG if t == task}) >= 4, task


@pytest.mark.parametrize("task, answer", CORRECT, ids=[t for t, _ in CORRECT])
def test_a_correct_answer_passes_every_variant_with_one_line(task, answer, capsys):
    for kwargs in VARIANTS[task]:
        CHECKS[task](answer, **kwargs)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(VARIANTS[task]) and all(line.startswith(feedback.PASS_MARK) for line in lines), lines


@pytest.mark.parametrize("task", sorted(CHECKS))
def test_a_stub_is_reported_as_not_done(task):
    with pytest.raises(feedback.NotDoneError, match="not implemented yet"):
        CHECKS[task](stub)


@pytest.mark.parametrize("task, answer, phrase", WRONG, ids=[f"{t}-{fn.__name__}" for t, fn, _ in WRONG])
def test_a_wrong_answer_gets_the_feedback_for_its_mistake(task, answer, phrase, capsys):
    with pytest.raises(AssertionError) as info:
        CHECKS[task](answer)
    assert not isinstance(info.value, feedback.NotDoneError)
    assert phrase in str(info.value), str(info.value)
    assert not [line for line in REFERENCE if line in str(info.value)], "the feedback shows reference code"
    assert feedback.PASS_MARK not in capsys.readouterr().out


@pytest.mark.parametrize("task", sorted(CHECKS))
def test_each_diagnosis_fires_only_for_its_own_mistake(task):
    entries = [(answer, phrase) for t, answer, phrase in WRONG if t == task]
    messages = {}
    for answer, _ in entries:
        try:
            CHECKS[task](answer)
            messages[answer] = ""
        except AssertionError as exc:
            messages[answer] = str(exc)
    for answer, phrase in entries:
        for other, other_phrase in entries:
            if other is not answer and other_phrase != phrase and not other_phrase.startswith(phrase):
                assert phrase not in messages[other], f"{other.__name__} is told {phrase!r}: {messages[other]}"
