"""The real exercises, end to end: stubs fail every check, the grader gives
full, zero and partial marks. (nbval runs the solutions; tests/course/test_checks_*
feed plausible wrong answers to every check.)"""

import csv
import json
from pathlib import Path

import nbformat
import pytest

from minnet_course.grade import grade
from minnet_course.release import release

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "exercises" / "solutions"
STUDENT = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))


def test_every_exercise_has_a_current_student_copy():
    assert [p.name for p in STUDENT] == [p.name for p in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))]
    assert len(STUDENT) >= 7
    assert release(SOLUTIONS, ROOT / "exercises", check=True) == []  # stale copies would be listed


def test_every_check_fails_on_the_untouched_student_copies(tmp_path):
    results = grade(STUDENT, source_dir=SOLUTIONS, out_dir=tmp_path / "out", timeout=240, cell_timeout=120, jobs=2)
    assert len(results) == len(STUDENT)
    for result in results:
        assert result["status"] == "ok", result
        assert result["total"] == 0, result
        for task, outcome in result["tasks"].items():
            assert not outcome["passed"], (result["file"], task)
            assert "not implemented yet" in outcome["error"], (result["file"], task, outcome["error"])


def partly_solved(exercise: str, solved_tasks: int, path: Path) -> int:
    """The student copy with the first ``solved_tasks`` answer cells taken from
    the solution; returns the points those tasks are worth."""
    source = nbformat.read(SOLUTIONS / f"{exercise}.ipynb", as_version=4)
    student = nbformat.read(ROOT / "exercises" / f"{exercise}.ipynb", as_version=4)
    answers = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")]
    ids = [c.metadata["nbgrader"]["grade_id"] for c in answers[:solved_tasks]]
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta["grade_id"] in ids:
            cell.source = next(c.source for c in answers if c.metadata["nbgrader"]["grade_id"] == meta["grade_id"])
    nbformat.write(student, path)
    checks = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    return sum(c.metadata["nbgrader"]["points"] for c in checks[:solved_tasks])


def test_grader_gives_full_zero_and_partial_marks(tmp_path):
    exercise = "04_unstructured"
    partial = tmp_path / "submissions" / "alice" / f"{exercise}.ipynb"
    partial.parent.mkdir(parents=True)
    expected_partial = partly_solved(exercise, 1, partial)
    out = tmp_path / "out"
    results = grade(
        [SOLUTIONS / f"{exercise}.ipynb", ROOT / "exercises" / f"{exercise}.ipynb", partial],
        source_dir=SOLUTIONS,
        out_dir=out,
        timeout=240,
        cell_timeout=120,
        jobs=2,
    )
    full, zero, part = (r["total"] for r in results)
    max_total = results[0]["max_total"]
    assert max_total > 0 and full == max_total and zero == 0
    assert 0 < part == expected_partial < max_total
    saved = json.loads((out / "grades.json").read_text())
    assert [r["total"] for r in saved] == [full, zero, part]
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert len(rows) == 3 * len(results[0]["tasks"])
    assert sum(int(r["points"]) for r in rows) == full + zero + part


@pytest.mark.parametrize("exercise", [p.stem for p in STUDENT])
def test_student_copies_hide_solutions_and_hidden_tests(exercise):
    text = (ROOT / "exercises" / f"{exercise}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    nb = nbformat.read(ROOT / "exercises" / f"{exercise}.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["minnet"]["exercise"] == exercise


@pytest.mark.parametrize("exercise", ["01_network", "06_schedules", "07_finetuning"])
def test_through_the_grader_a_wrong_first_answer_costs_only_its_task(exercise, tmp_path):
    """The tasks built on task 1 are checked with the reference task 1, which reaches the
    learner's kernel by name: a first answer that returns junk costs task 1 alone."""
    source = nbformat.read(SOLUTIONS / f"{exercise}.ipynb", as_version=4)
    first = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution"))
    name = first.source.split("def ", 1)[1].split("(", 1)[0]
    first.source += f"\n\n\ndef {name}(*args, **kwargs):\n    return 'junk'\n"  # overrides the right one
    path = tmp_path / "bob" / f"{exercise}.ipynb"
    path.parent.mkdir()
    nbformat.write(source, path)
    (result,) = grade([path], source_dir=SOLUTIONS, out_dir=tmp_path / "out", timeout=240, cell_timeout=120)
    lost = [task for task, outcome in result["tasks"].items() if not outcome["passed"]]
    assert lost == ["task1_check"], result["tasks"]
