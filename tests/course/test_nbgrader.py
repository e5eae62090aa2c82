"""The exercise sources work in real nbgrader, unchanged: generate_assignment,
autograde and generate_feedback give the solutions full marks, the untouched
release 0, and a copy with the first two tasks of each exercise solved exactly
those tasks' points."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader import api as nbgrader_api  # a dev dependency

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "exercises" / "solutions").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENT = "ps1"


def nbgrader(root: Path, *args: str) -> None:
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    command += [] if args[0] == "db" else ["--force"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def solved(release: Path, source: Path, tasks: int | None) -> nbformat.NotebookNode:
    """The released notebook with the first ``tasks`` answers (all when None) from the source."""
    answers = [c for c in nbformat.read(source, as_version=4).cells if c.metadata.get("nbgrader", {}).get("solution")]
    keep = {c.metadata["nbgrader"]["grade_id"]: c.source for c in answers[: len(answers) if tasks is None else tasks]}
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in keep:
            cell.source = keep[gid]
    return nb


def points_of_first_tasks(source: Path, tasks: int) -> float:
    checks = [c for c in nbformat.read(source, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade")]
    return sum(c.metadata["nbgrader"]["points"] for c in checks[:tasks])


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbgrader-course")
    (root / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "minnet"\n')
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    for source in SOURCES:
        shutil.copy(source, root / "source" / ASSIGNMENT)
    nbgrader(root, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(root, "generate_assignment", ASSIGNMENT)
    students = {"solver": None, "untouched": 0, "halfway": 2}
    for student, tasks in students.items():
        nbgrader(root, "db", "student", "add", student)
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for source in SOURCES:
            release = root / "release" / ASSIGNMENT / source.name
            nbformat.write(solved(release, source, tasks), folder / source.name)
    nbgrader(root, "autograde", ASSIGNMENT)
    nbgrader(root, "generate_feedback", ASSIGNMENT)
    with nbgrader_api.Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {student: gradebook.find_submission(ASSIGNMENT, student).score for student in students}
        max_score = gradebook.find_assignment(ASSIGNMENT).max_score
    return root, scores, max_score


def test_nbgrader_gives_the_solutions_full_marks(course):
    _, scores, max_score = course
    expected = sum(points_of_first_tasks(source, 99) for source in SOURCES)
    assert max_score == expected == 72
    assert scores["solver"] == max_score


def test_nbgrader_gives_the_untouched_release_zero(course):
    assert course[1]["untouched"] == 0


def test_nbgrader_gives_exactly_the_points_of_the_solved_tasks(course):
    expected = sum(points_of_first_tasks(source, 2) for source in SOURCES)
    assert course[1]["halfway"] == expected == 42


def test_nbgrader_writes_feedback_for_every_submission(course):
    root = course[0]
    for student in ("solver", "untouched", "halfway"):
        assert len(list((root / "feedback" / student / ASSIGNMENT).glob("*.html"))) == len(SOURCES)
