"""Grading time of the walled grader against the grader before it, in one run.

    python benchmarks/grade_speed.py [--submissions 30] [--jobs 2] [--baseline 06aa672]

Builds ``--submissions`` honest submissions (every exercise's solution, and
copies with the first tasks solved, in turn), grades them with this checkout's
grader and with the grader of the ``--baseline`` commit (extracted with ``git
archive`` into a temporary folder), alternating which goes first, and prints
both wall times and their ratio. Both graders must agree on every total.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "exercises" / "solutions"


def honest_submissions(folder: Path, count: int) -> list[Path]:
    """``count`` submissions: full solutions and copies with the first k answers, cycling the exercises."""
    sources = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    paths = []
    for i in range(count):
        source = sources[i % len(sources)]
        solved = i // len(sources)  # 0: all tasks, then 1, 2, ... first tasks
        student = nbformat.read(ROOT / "exercises" / source.name, as_version=4)
        answers = {
            c.metadata["nbgrader"]["grade_id"]: c.source
            for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")
        }
        keep = list(answers) if solved == 0 else list(answers)[:solved]
        for cell in student.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and gid in keep:
                cell.source = answers[gid]
        path = folder / f"student{i:02d}" / source.name
        path.parent.mkdir(parents=True)
        nbformat.write(student, path)
        paths.append(path)
    return paths


def run_grader(code_root: Path, paths, out: Path, jobs: int) -> tuple[float, list]:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    command = [sys.executable, "-m", "minnet_course", "grade", *map(str, paths), "--source", str(SOLUTIONS)]
    command += ["--out", str(out), "--jobs", str(jobs), "--timeout", "240", "--cell-timeout", "120"]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=code_root)
    seconds = time.perf_counter() - start
    return seconds, [r["total"] for r in json.loads((out / "grades.json").read_text())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline", default="06aa672", help="the commit whose grader is the baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        baseline = tmp / "baseline"
        baseline.mkdir()
        archive = subprocess.run(["git", "archive", args.baseline, "minnet"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive.stdout, check=True)
        paths = honest_submissions(tmp / "submissions", args.submissions)
        times = {"baseline": [], "walled": []}
        totals = {}
        for order, name in enumerate(["baseline", "walled", "walled", "baseline"]):
            code = baseline if name == "baseline" else ROOT
            seconds, totals[name] = run_grader(code, paths, tmp / f"out{order}", args.jobs)
            times[name].append(seconds)
            print(f"{name:>8}: {seconds:6.1f} s for {len(paths)} submissions, --jobs {args.jobs}", flush=True)
        if totals["baseline"] != totals["walled"]:
            raise SystemExit(f"the graders disagree: {totals['baseline']} vs {totals['walled']}")
        ratio = min(times["walled"]) / min(times["baseline"])
        print(f"walled / baseline wall time (best of 2 each): {ratio:.2f}x (target <= 1.30x); totals agree")


if __name__ == "__main__":
    main()
