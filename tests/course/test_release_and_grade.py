"""Course tools: ``release`` (student copies) and ``grade`` (autograding), on the
synthetic exercise tests/course/fixtures/solutions/01_arith.ipynb (3 tasks worth
1, 2 and 3 points), so they do not depend on the real exercises."""

import copy
import csv
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from minnet_course.__main__ import main
from minnet_course.grade import grade
from minnet_course.notebooks import CourseError
from minnet_course.release import CODE_STUB, TEXT_STUB, release, student_cell
from minnet_course.report import format_table

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "course" / "fixtures" / "solutions" / "01_arith.ipynb"
CHECKS = {"task1_check": 1, "task2_check": 2, "task3_check": 3}


def make_course(root: Path) -> Path:
    """``root/exercises/solutions/01_arith.ipynb``; returns ``root``."""
    sources = root / "exercises" / "solutions"
    sources.mkdir(parents=True)
    shutil.copy(FIXTURE, sources)
    return root


def cell_by_id(nb, grade_id):
    return next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def edited(nb, answers=(), drop=()):
    """A copy of ``nb`` with some cells' sources replaced and some cells deleted (by grade_id)."""
    nb = copy.deepcopy(nb)
    for grade_id, source in dict(answers).items():
        cell_by_id(nb, grade_id).source = source
    nb.cells = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") not in drop]
    return nb


@pytest.fixture
def course(tmp_path):
    return make_course(tmp_path)


@pytest.fixture
def released(course):
    release(course / "exercises" / "solutions", course / "exercises")
    return nbformat.read(course / "exercises" / "01_arith.ipynb", as_version=4)


# --- release ----------------------------------------------------------------------------------------------------


def test_release_replaces_each_solution_with_a_stub_indented_like_its_begin_line(released):
    assert cell_by_id(released, "task1_code").source.splitlines()[-1] == "    " + CODE_STUB
    assert cell_by_id(released, "task2_code").source.splitlines() == [
        "def scale(values, factor):",
        "    result = []",
        "    for value in values:",
        "        " + CODE_STUB,
        "    return result",
    ]
    assert cell_by_id(released, "task3_code").source == CODE_STUB
    text = nbformat.writes(released)
    for leaked in ("SOLUTION", "return a + b", "value * factor", "sqrt"):
        assert leaked not in text


def test_release_removes_hidden_tests_and_keeps_the_visible_checks(released):
    check = cell_by_id(released, "task1_check").source
    assert check == 'assert add(1, 2) == 3, "add(1, 2) should be 3"\nprint("✔ add(1, 2) == 3")'
    text = nbformat.writes(released)
    assert "HIDDEN" not in text and "add(-1, 1)" not in text and "scale([], 5)" not in text


def test_release_clears_outputs_and_keeps_metadata_and_ids(course):
    source_path = course / "exercises" / "solutions" / "01_arith.ipynb"
    source = nbformat.read(source_path, as_version=4)
    for cell in source.cells:
        if cell.cell_type == "code":
            cell.execution_count = 7
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="old output\n")]
    nbformat.write(source, source_path)
    release(source_path.parent, course / "exercises")
    student = nbformat.read(course / "exercises" / "01_arith.ipynb", as_version=4)
    assert student.metadata == source.metadata
    assert [cell.id for cell in student.cells] == [cell.id for cell in source.cells]
    assert [cell.metadata for cell in student.cells] == [cell.metadata for cell in source.cells]
    code = [cell for cell in student.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_markdown_solution_cells_get_the_text_stub():
    cell = nbformat.v4.new_markdown_cell(
        "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
        metadata={"nbgrader": {"grade": True, "solution": True, "locked": False, "grade_id": "why", "points": 1}},
    )
    assert student_cell(cell).source == "Why?\n" + TEXT_STUB


def test_release_writes_the_same_bytes_every_time(course):
    sources, dest = course / "exercises" / "solutions", course / "exercises"
    data = json.loads((sources / "01_arith.ipynb").read_text())
    for cell in data["cells"][:3]:
        del cell["id"]  # nbformat would draw random ones; release must not
    (sources / "01_arith.ipynb").write_text(json.dumps(data))
    assert release(sources, dest) == [dest / "01_arith.ipynb"]
    first = (dest / "01_arith.ipynb").read_bytes()
    assert release(sources, dest) == []  # current copies are not rewritten
    release(sources, course / "again")
    assert (course / "again" / "01_arith.ipynb").read_bytes() == first == (dest / "01_arith.ipynb").read_bytes()


def test_release_check_lists_copies_that_are_not_current_and_writes_nothing(course, capsys):
    sources, dest = course / "exercises" / "solutions", course / "exercises"
    copy_path = dest / "01_arith.ipynb"
    assert release(sources, dest, check=True) == [copy_path] and not copy_path.exists()  # missing
    release(sources, dest)
    assert release(sources, dest, check=True) == []
    assert main(["release", "--source", str(sources), "--dest", str(dest), "--check"]) == 0

    source = nbformat.read(sources / "01_arith.ipynb", as_version=4)
    cell_by_id(source, "intro").source += " Now with more words."
    nbformat.write(source, sources / "01_arith.ipynb")
    before = copy_path.read_bytes()
    capsys.readouterr()
    assert main(["release", "--source", str(sources), "--dest", str(dest), "--check"]) == 1
    assert f"not current: {copy_path}" in capsys.readouterr().out
    assert copy_path.read_bytes() == before

    shutil.copy(copy_path, dest / "02_renamed.ipynb")  # a copy whose source is gone
    release(sources, dest)
    assert release(sources, dest, check=True) == [dest / "02_renamed.ipynb"]


def test_release_refuses_to_write_over_the_sources(course):
    sources = course / "exercises" / "solutions"
    before = (sources / "01_arith.ipynb").read_bytes()
    with pytest.raises(CourseError, match="would overwrite the solutions"):
        release(sources, sources / ".." / "solutions")
    assert (sources / "01_arith.ipynb").read_bytes() == before


def break_json(nb_path):
    nb_path.write_text(nb_path.read_text()[:-20])


def break_end_solution(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    cell = cell_by_id(nb, "task2_code")
    cell.source = cell.source.replace("        ### END SOLUTION\n", "")
    nbformat.write(nb, nb_path)


def break_duplicate_grade_id(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    cell_by_id(nb, "task3_check").metadata.nbgrader.grade_id = "task1_check"
    nbformat.write(nb, nb_path)


def break_exercise_name(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    nb.metadata.minnet.exercise = "01_arithmetic"
    nbformat.write(nb, nb_path)


def break_points(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    del cell_by_id(nb, "task2_check").metadata.nbgrader["points"]
    nbformat.write(nb, nb_path)


def break_checker_only_name(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    cell_by_id(nb, "task1_check").source += "\nexpected = 3"
    cell_by_id(nb, "task2_code").source += "\nprint(expected)"
    nbformat.write(nb, nb_path)


@pytest.mark.parametrize(
    "breaker, expected",
    [
        (break_checker_only_name, "cell 7 reads `expected`, which only grade cell 5 defines"),
        (break_json, "not valid JSON"),
        (break_end_solution, "### BEGIN SOLUTION on line 4 has no ### END SOLUTION"),
        (break_duplicate_grade_id, 'grade_id "task1_check" is used by cells 5, 11'),
        (break_exercise_name, 'metadata.minnet.exercise is "01_arithmetic", expected "01_arith"'),
        (break_points, 'a grade cell needs "points"'),
    ],
)
def test_release_validates_every_source_before_writing_anything(course, breaker, expected):
    sources, dest = course / "exercises" / "solutions", course / "exercises"
    good = nbformat.read(FIXTURE, as_version=4)
    good.metadata.minnet.exercise = "02_fine"
    nbformat.write(good, sources / "02_fine.ipynb")  # valid, sorted after the broken one
    breaker(sources / "01_arith.ipynb")
    with pytest.raises(CourseError) as info:
        release(sources, dest)
    assert str(sources / "01_arith.ipynb") in str(info.value) and expected in str(info.value)
    assert sorted(path.name for path in dest.iterdir()) == ["solutions"]  # nothing written, not even 02_fine


@pytest.mark.skipif(
    not any((ROOT / "exercises" / "solutions").glob("[0-9][0-9]_*.ipynb")), reason="no exercises written yet"
)
def test_committed_student_copies_are_current():
    stale = release(ROOT / "exercises" / "solutions", ROOT / "exercises", check=True)
    assert stale == [], f"run `python -m minnet_course release`: not current: {[str(p) for p in stale]}"


# --- grade --------------------------------------------------------------------------------------------------------

CELL_TIMEOUT = 4
CORRECT = {
    "task1_code": "def add(a, b):\n    return a + b",
    "task2_code": "def scale(values, factor):\n    return [v * factor for v in values]",
    "task3_code": "roots = [float(n) for n in (1, 2, 3)]",
}


def submissions(student):
    """The submissions graded together (each dir holds a ``01_arith.ipynb``, like a class would)."""
    return {
        "stub": student,
        "partial": edited(  # task 1 passes its visible check only, task 2 right, task 3 not done
            student, {"task1_code": "def add(a, b):\n    return 3", "task2_code": CORRECT["task2_code"]}
        ),
        "loop": edited(
            student,
            {**CORRECT, "task2_code": "def scale(values, factor):\n    while True:\n        pass"},
        ),
        "crash": edited(student, {**CORRECT, "task2_code": "import os\nos._exit(1)"}),
        "stubborn": edited(  # ignores the interrupt: the run must end all the same
            student,
            {
                **CORRECT,
                "task2_code": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
            },
        ),
        "tampered": edited(
            student,
            {
                "task1_code": 'open("../../escape.txt", "w").write("out")\nopen("pwned.txt", "w").write("in")\n'
                + CORRECT["task1_code"],
                "task2_code": "def scale(values, factor):\n    return values",  # wrong ...
                "task2_check": "pass",  # ... and its check edited away
            },
            drop=("task1_check", "task3_code"),  # a check deleted, an answer deleted
        ),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade all submissions in one call (2 at a time); returns (results by name, out_dir, seconds)."""
    root = make_course(tmp_path_factory.mktemp("grading"))
    release(root / "exercises" / "solutions", root / "exercises")
    student = nbformat.read(root / "exercises" / "01_arith.ipynb", as_version=4)
    paths = {"solution": root / "solution" / "01_arith.ipynb"}
    paths["solution"].parent.mkdir()
    shutil.copy(FIXTURE, paths["solution"])
    for name, nb in submissions(student).items():
        paths[name] = root / name / "01_arith.ipynb"
        paths[name].parent.mkdir()
        nbformat.write(nb, paths[name])
    cwd = root / "a" / "b"  # were the kernel to run here, ../../escape.txt would land in root
    cwd.mkdir(parents=True)
    before, start = os.getcwd(), time.monotonic()
    try:
        os.chdir(cwd)
        results = grade(
            list(paths.values()),
            source_dir=root / "exercises" / "solutions",
            out_dir=root / "grading-output",
            timeout=30,
            cell_timeout=CELL_TIMEOUT,
            jobs=2,
        )
    finally:
        os.chdir(before)
    seconds = time.monotonic() - start
    return dict(zip(paths, results)), root / "grading-output", seconds


def points(result):
    return {gid: task["points"] for gid, task in result["tasks"].items()}


def test_the_solution_scores_full_marks(graded):
    result = graded[0]["solution"]
    assert result["status"] == "ok" and points(result) == CHECKS
    assert result["total"] == result["max_total"] == 6
    assert all(task["passed"] and task["error"] is None for task in result["tasks"].values())


def test_the_released_stub_scores_zero(graded):
    result = graded[0]["stub"]
    assert result["status"] == "ok" and result["total"] == 0 and result["max_total"] == 6
    assert result["tasks"]["task1_check"]["error"] == "NotImplementedError: Task: write your code here"
    assert not any(task["passed"] for task in result["tasks"].values())


def test_a_partly_solved_copy_scores_exact_points_and_hidden_tests_count(graded):
    result = graded[0]["partial"]
    assert points(result) == {"task1_check": 0, "task2_check": 2, "task3_check": 0} and result["total"] == 2
    assert result["tasks"]["task1_check"]["error"] == "add(-1, 1) should be 0: add the two numbers"  # hidden test


def test_an_endless_loop_is_interrupted_and_the_other_tasks_count(graded):
    result = graded[0]["loop"]
    assert result["status"] == "timeout"
    assert points(result) == {"task1_check": 1, "task2_check": 0, "task3_check": 3}
    assert f"time limit ({CELL_TIMEOUT} s per cell)" in result["tasks"]["task2_check"]["error"]


def test_a_kernel_crash_is_survived_and_earlier_tasks_count(graded):
    result = graded[0]["crash"]
    assert result["status"] == "kernel died" and "cell 7" in result["message"]
    assert points(result) == {"task1_check": 1, "task2_check": 0, "task3_check": 0}
    assert result["tasks"]["task2_check"]["error"] == "not run: the kernel died while running cell 7"


def test_a_kernel_that_ignores_interrupts_is_stopped(graded):
    result = graded[0]["stubborn"]
    assert result["status"] == "timeout" and "did not stop" in result["message"]
    assert points(result) == {"task1_check": 1, "task2_check": 0, "task3_check": 0}


def test_all_of_it_runs_within_the_time_limits(graded):
    # 7 submissions, 2 at a time; the slowest waits for one cell limit plus the 5 s check that the kernel answers
    assert graded[2] < 60


def test_check_cells_come_from_the_source_and_deleted_answers_score_zero(graded):
    result = graded[0]["tampered"]
    # task 1: its deleted check is restored (and passes); task 2: the check edited to `pass` is restored
    # (and fails the wrong answer); task 3: the deleted answer cell is the stub
    assert points(result) == {"task1_check": 1, "task2_check": 0, "task3_check": 0}
    assert result["tasks"]["task2_check"]["error"] == "scale([1, 2], 3) should be [3, 6]"
    assert result["notes"] == ["answer cell task3_code is missing from the submission: graded as not done"]


def test_files_written_by_the_learner_stay_in_the_temporary_directory(graded):
    out_dir = graded[1]
    root = out_dir.parent
    places = [ROOT, ROOT / "exercises", root, root / "a" / "b", root / "tampered", out_dir]
    assert not [p / name for p in places for name in ("escape.txt", "pwned.txt") if (p / name).exists()]
    assert graded[0]["tampered"]["tasks"]["task1_check"]["passed"]  # the cell that wrote them did run


def test_grades_json_csv_and_feedback_notebooks(graded):
    results, out_dir, _ = graded
    names = {f"{name}__01_arith.graded.ipynb" for name in results}
    assert {path.name for path in out_dir.iterdir()} == {"grades.json", "grades.csv", *names}
    assert json.loads((out_dir / "grades.json").read_text()) == list(results.values())
    rows = list(csv.DictReader((out_dir / "grades.csv").open()))
    assert len(rows) == 3 * len(results)
    partial = [row for row in rows if Path(row["file"]).parent.name == "partial"]
    assert [(r["exercise"], r["grade_id"], r["points"], r["max_points"]) for r in partial] == [
        ("01_arith", "task1_check", "0", "1"),
        ("01_arith", "task2_check", "2", "2"),
        ("01_arith", "task3_check", "0", "3"),
    ]
    feedback = nbformat.read(out_dir / "partial__01_arith.graded.ipynb", as_version=4)
    assert feedback.cells[0].source.startswith("# Grade: 2 / 6")
    check = cell_by_id(feedback, "task2_check")
    assert check.outputs == [] and check.execution_count is not None  # executed, passed silently
    assert any(out.output_type == "error" for out in cell_by_id(feedback, "task1_check").outputs)
    table = format_table(list(results.values())).splitlines()
    assert table[1].split() == ["student", "task1_check", "task2_check", "task3_check", "total", "status"]
    assert [line.split()[1:] for line in table[2:4]] == [["1", "2", "3", "6/6", "ok"], ["0", "0", "0", "0/6", "ok"]]


def test_bad_submissions_are_all_reported_and_nothing_is_written(course, capsys):
    sources = course / "exercises" / "solutions"
    bad = course / "bad"
    bad.mkdir()
    (bad / "broken.ipynb").write_text('{"cells": [')
    (bad / "list.ipynb").write_text("[1, 2]")
    unknown = nbformat.read(FIXTURE, as_version=4)
    unknown.metadata.minnet.exercise = "09_nope"
    nbformat.write(unknown, bad / "unknown.ipynb")
    del unknown.metadata["minnet"]
    nbformat.write(unknown, bad / "anonymous.ipynb")
    names = ["missing.ipynb", "broken.ipynb", "list.ipynb", "unknown.ipynb", "anonymous.ipynb"]
    out_dir = course / "out"
    with pytest.raises(CourseError) as info:
        grade([FIXTURE, *(bad / name for name in names)], source_dir=sources, out_dir=out_dir)
    message = str(info.value)
    assert f"{bad / 'missing.ipynb'}: no such file" in message
    assert f"{bad / 'broken.ipynb'}: not valid JSON" in message
    assert f"{bad / 'list.ipynb'}: not a Jupyter notebook" in message
    assert f'{bad / "unknown.ipynb"}: exercise "09_nope" has no source {sources / "09_nope.ipynb"}' in message
    assert f"{bad / 'anonymous.ipynb'}: metadata.minnet.exercise should name the exercise" in message
    assert str(FIXTURE) not in message and not out_dir.exists()

    assert main(["grade", str(bad / "missing.ipynb"), "--source", str(sources), "--out", str(out_dir)]) == 2
    assert "no such file" in capsys.readouterr().err and not out_dir.exists()


def test_an_output_directory_inside_the_sources_is_refused(course):
    sources = course / "exercises" / "solutions"
    with pytest.raises(CourseError, match="inside the exercise sources"):
        grade([FIXTURE], source_dir=sources, out_dir=sources / "grades")
    assert [path.name for path in sources.iterdir()] == ["01_arith.ipynb"]
