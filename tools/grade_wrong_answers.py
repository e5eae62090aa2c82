"""Run a set of wrong answers through the real grader, as a teacher would.

    python tools/grade_wrong_answers.py                      # tests/course/fresh_wrong_answers
    python tools/grade_wrong_answers.py --jobs 2 --keep out  # keep the graded notebooks

Each wrong answer becomes one submission: the exercise's solution notebook with
the wrong function defined after the reference in that task's answer cell (the
later definition wins, as in a learner's notebook). All of them are graded with
``python -m minnet_course grade``'s ``grade()``, hidden tests included. A wrong
answer is *rejected* when its task earns 0 points; a rejection *costs only its
task* when every other task of the notebook still earns full points. Prints
both rates and every answer that was accepted or cost another task.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "course"))
sys.path.insert(0, str(ROOT))

from minnet_course import notebooks  # noqa: E402
from minnet_course.grade import grade  # noqa: E402


def answer_cell_of(nb, task: str):
    """The solution cell whose task owns the grade cell ``task`` (task3_check -> task3_code)."""
    wanted = task.replace("_check", "_code")
    for cell in nb.cells:
        if notebooks.is_solution(cell) and notebooks.grade_id(cell) == wanted:
            return cell
    raise KeyError(f"no answer cell {wanted}")


def build(folder: Path, package: str) -> list[tuple[str, str, str, Path]]:
    """One submission per wrong answer of ``tests/course/<package>``: (exercise, task, name, path)."""
    built = []
    for key, exercise in importlib.import_module(package).EXERCISES.items():
        module = importlib.import_module(f"{package}.{key}")
        for task, answers in module.WRONG.items():
            for name, source in answers.items():
                nb = nbformat.read(ROOT / "exercises" / "solutions" / f"{exercise}.ipynb", as_version=4)
                cell = answer_cell_of(nb, task)
                cell.source = cell.source + "\n\n\n" + source
                path = folder / f"{key}-{task}-{name}" / f"{exercise}.ipynb"
                path.parent.mkdir(parents=True)
                nbformat.write(nb, path)
                built.append((exercise, task, name, path))
    return built


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="fresh_wrong_answers", help="package under tests/course/ with WRONG tables")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", help="write the grading output here (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        submissions = build(Path(tmp) / "submissions", args.set)
        out = Path(args.keep) if args.keep else Path(tmp) / "out"
        print(f"grading {len(submissions)} submissions, {args.jobs} at a time ...", flush=True)
        rows = grade([path for *_, path in submissions], out_dir=out, jobs=args.jobs, timeout=240, cell_timeout=120)
    rejected = costly = 0
    for (exercise, task, name, _), row in zip(submissions, rows):
        tasks = row["tasks"]
        if tasks[task]["points"] == 0:
            rejected += 1
        else:
            print(f"ACCEPTED  {exercise} {task} {name}")
        others = [gid for gid, t in tasks.items() if gid != task and t["points"] != t["max_points"]]
        if others:
            costly += 1
            print(f"COST MORE {exercise} {task} {name}: also lost {others}")
    n = len(submissions)
    print(f"rejected {rejected}/{n} ({rejected / n:.1%}); {n - costly}/{n} cost no other task")
    return 0 if rejected == n and costly == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
