"""Grade exercise submissions against their sources, the way ``nbgrader autograde`` does,
with grades a submission cannot forge.

For each submission, the notebook that is run is built from the exercise
*source*: every source cell in order, where a solution cell (``solution:
true``) takes the learner's cell with the same ``grade_id`` (or the released
stub, if the learner deleted it), and every other cell (instructions, setup,
checks with their hidden tests) is the source's. Editing or deleting a check
cell therefore changes nothing, as nbgrader's restoring of locked cells ensures.

Each submission runs in ``minnet_course.runner``, a subprocess of its own.
The learner's cells run in a Jupyter kernel walled in by ``sandbox`` (limits,
no privileges, bubblewrap where installed, its own HOME and working folder,
no IPython history); the check cells run in the runner, which calls the
learner's functions across ``wire`` as data. A grade cell earns its points
when the runner saw it finish without an error; the outcome comes back on the
runner's stdout, a pipe the kernel never holds. Before and after every
submission the grader compares the course's files (the package and the
exercise sources) with the hashes it took at the start, and puts back any
that changed. The points and the reports (grades.json, grades.csv, the
feedback notebooks, the table) come from ``report``.
"""

from __future__ import annotations

import compileall
import copy
import hashlib
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from minnet.validate import is_int, is_real

from .notebooks import (
    CourseError,
    exercise_name,
    grade_id,
    is_solution,
    notebook_bytes,
    read_notebook,
    write_atomic,
)
from .release import student_cell, validate_sources
from .report import feedback_names, feedback_notebook, grades_csv, result_for
from .sandbox import PACKAGES, Limits, bwrap_path, can_drop_to_nobody

EXERCISE_NAME = re.compile(r"^\d\d_[^/\\\x00]+$")
STATUSES = ("ok", "timeout", "kernel died", "error")
TIMEOUT_ENAME = "CellTimeoutError"
KILL_MARGIN = 30  # seconds past `timeout` before the runner is stopped (kernel start, shutdown)


@dataclass
class Submission:
    """A submission read and matched with its exercise source."""

    path: Path
    notebook: nbformat.NotebookNode
    exercise: str
    source: nbformat.NotebookNode


def grade(
    submissions,
    *,
    source_dir="exercises/solutions",
    out_dir="grading-output",
    timeout: float = 60,
    cell_timeout: float = 30,
    jobs: int = 1,
    limits: Limits | None = None,
    bwrap: bool = True,
) -> list[dict]:
    """Grade ``submissions`` (notebook paths); write ``grades.json``, ``grades.csv``
    and ``<stem>.graded.ipynb`` (the executed notebook, as feedback) into ``out_dir``.

    ``timeout`` bounds one submission's run, ``cell_timeout`` one cell's; ``jobs``
    submissions run at a time; ``limits`` (``minnet_course.sandbox.Limits``) is what
    each kernel may take; ``bwrap=False`` skips bubblewrap even where installed.
    Every submission is checked before anything runs or is written: a missing,
    unreadable or unknown one raises ``CourseError``. Every submission gets a row,
    whatever another did. Returns one dict per submission, as in ``grades.json``.
    """
    if isinstance(submissions, (str, os.PathLike)):
        submissions = [submissions]
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    _check_limits(timeout, cell_timeout, jobs)
    limits = Limits() if limits is None else limits
    if not isinstance(limits, Limits):
        raise CourseError(f"limits should be a minnet_course.sandbox.Limits, got {type(limits).__name__}")
    check_out_dir(out_dir, source_dir)
    loaded = load_submissions(submissions, source_dir)
    built = [build_graded_notebook(sub.source, sub.notebook) for sub in loaded]
    guard = FileGuard([*PACKAGES, source_dir])
    if jobs > 1 and not protects_files(bwrap):
        jobs = 1  # a kernel that could write the checkout must never run beside another submission's checks

    def run(nb):
        try:
            outcome = run_notebook(nb, timeout=timeout, cell_timeout=cell_timeout, limits=limits, bwrap=bwrap)
        except Exception as exc:  # one submission's trouble is never the batch's
            outcome = {
                "notebook": nb,
                "status": "error",
                "message": f"{type(exc).__name__}: {exc}"[:200],
                "cells": {},
                "sandbox": [],
            }
        changed = guard.restore()
        if changed:
            outcome.update(
                status="error",
                cells={},
                message="the course's files changed while it ran (restored): " + ", ".join(changed[:3]),
            )
        return outcome

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(run, [nb for nb, _ in built]))
    names = feedback_names([sub.path for sub in loaded])
    results = [
        result_for(sub, run_, notes, name, cell_timeout)
        for sub, (_, notes), run_, name in zip(loaded, built, runs, names)
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    for result, run_ in zip(results, runs):
        write_atomic(out_dir / result["feedback"], notebook_bytes(feedback_notebook(run_["notebook"], result)))
    write_atomic(out_dir / "grades.csv", grades_csv(results).encode("utf-8"))
    write_atomic(out_dir / "grades.json", (json.dumps(results, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return results


class FileGuard:
    """The bytes of every file under ``folders`` at the start; ``restore`` puts back
    any that changed, removes any added, and names them."""

    SUFFIXES = (".py", ".pyc", ".ipynb", ".pth", ".json", ".cfg", ".toml")

    def __init__(self, folders):
        self.folders = [Path(folder).resolve() for folder in folders]
        for folder in self.folders:  # bytecode now, so that a runner never writes any (a kernel might)
            compileall.compile_dir(folder, quiet=2, workers=1)
        self.files = {path: path.read_bytes() for path in self._walk()}
        self.digest = {path: hashlib.sha256(data).hexdigest() for path, data in self.files.items()}

    def _walk(self):
        for folder in self.folders:
            for path in sorted(folder.rglob("*")):
                if path.suffix in self.SUFFIXES and path.is_file():
                    yield path

    def restore(self) -> list[str]:
        changed = []
        present = set(self._walk())
        for path in present - set(self.files):
            changed.append(f"{path} (added)")
            path.unlink(missing_ok=True)
        for path, data in self.files.items():
            try:
                same = path in present and hashlib.sha256(path.read_bytes()).hexdigest() == self.digest[path]
            except OSError:
                same = False
            if not same:
                changed.append(str(path))
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, data)
        return changed


def _check_limits(timeout, cell_timeout, jobs) -> None:
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout)):
        if not is_real(value) or not value > 0:
            raise CourseError(f"{name} should be a number of seconds > 0, got {value!r}")
    if not is_int(jobs) or jobs < 1:
        raise CourseError(f"jobs should be an int >= 1, got {jobs!r}")


def check_out_dir(out_dir: Path, source_dir: Path) -> None:
    """Refuse an output directory inside the exercise sources, or one that is a file."""
    out, src = Path(out_dir).resolve(), Path(source_dir).resolve()
    if out == src or src in out.parents:
        raise CourseError(
            f"output directory {out_dir} is inside the exercise sources {source_dir}; "
            "expected a directory outside them, e.g. grading-output"
        )
    if out.exists() and not out.is_dir():
        raise CourseError(f"output directory {out_dir} exists and is not a directory")


def load_submissions(paths, source_dir: Path) -> list[Submission]:
    """Read every submission and its exercise source; raise one ``CourseError``
    listing every problem (nothing is run or written then)."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise CourseError(f"{source_dir}: no such directory; expected the exercise sources (pass --source)")
    if not paths:
        raise CourseError("no submissions given; expected one or more .ipynb files")
    sources, problems, loaded = {}, [], []
    for path in map(Path, paths):
        try:
            nb = read_notebook(path, strict=False)
        except CourseError as exc:
            problems.append(str(exc))
            continue
        name = exercise_name(nb)
        if name is None or not EXERCISE_NAME.match(name):
            got = "it is missing" if name is None else f"got {name!r}"
            problems.append(
                f'{path}: metadata.minnet.exercise should name the exercise, e.g. "01_masks" ({got}); '
                "is this a student copy from exercises/?"
            )
            continue
        if name not in sources:
            sources[name] = _load_source(source_dir / f"{name}.ipynb", name)
        if isinstance(sources[name], str):
            problems.append(f"{path}: {sources[name]}")
            continue
        loaded.append(Submission(path, nb, name, sources[name]))
    if problems:
        raise CourseError("cannot grade:\n  " + "\n  ".join(problems))
    return loaded


def _load_source(path: Path, name: str):
    """The validated source notebook, or a string saying what is wrong with it."""
    if not path.is_file():
        return f'exercise "{name}" has no source {path}; expected one of the exercises in {path.parent}'
    try:
        return validate_sources([path])[path]
    except CourseError as exc:
        return str(exc)


def build_graded_notebook(source, student):
    """The notebook to run: the source's cells, the learner's answers in the solution cells.

    Returns ``(notebook, notes)``; ``notes`` says which answers were missing.
    """
    answers = {}
    for cell in student.cells:
        if grade_id(cell) and grade_id(cell) not in answers and isinstance(cell.get("source"), str):
            answers[grade_id(cell)] = cell.source
    nb, notes = copy.deepcopy(source), []
    cells = []
    for cell in source.cells:
        cell = student_cell(cell) if is_solution(cell) else _cleared(cell)
        if is_solution(cell):
            if grade_id(cell) in answers:
                cell.source = answers[grade_id(cell)]
            else:
                notes.append(f"answer cell {grade_id(cell)} is missing from the submission: graded as not done")
        cells.append(cell)
    nb.cells = cells
    return nb, notes


def _cleared(cell):
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


# --- running, in a subprocess -------------------------------------------------------------------------------------


def protects_files(bwrap: bool) -> bool:
    """Whether kernels cannot write the course's files here (bubblewrap, or nobody)."""
    return (bwrap and bwrap_path() is not None) or can_drop_to_nobody()


def run_notebook(nb, *, timeout: float, cell_timeout: float, limits: Limits, bwrap: bool = True) -> dict:
    """Run ``nb`` through ``minnet_course.runner`` in a subprocess; returns
    ``{"notebook", "status", "message", "cells"}`` read from the runner's stdout,
    a pipe the learner's kernel never holds.

    ``cells`` maps the index (as a string) of every cell that was reached to
    ``{"ok", "timed_out", "died"}``. The runner is stopped (SIGTERM, then its
    whole process group killed) ``KILL_MARGIN`` seconds past ``timeout``.
    """
    use_bwrap = bool(bwrap) and bwrap_path() is not None
    settings = {"timeout": timeout, "cell_timeout": cell_timeout, "limits": asdict(limits), "bwrap": use_bwrap}
    payload = pickle.dumps((nbformat.from_dict(nb), settings))
    process = subprocess.Popen(
        [sys.executable, "-m", "minnet_course.runner"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
        start_new_session=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},  # the guard treats any new bytecode as planted
    )
    killed = False
    try:
        out, _ = process.communicate(payload, timeout=timeout + KILL_MARGIN)
    except subprocess.TimeoutExpired:
        killed = True
        process.terminate()  # the runner cleans up its kernel and every process the submission started
        try:
            out, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            out, _ = process.communicate()
    outcome = read_outcome(out[: MAX_OUTCOME_BYTES + 1], nb)
    if killed:
        outcome.update(status="timeout", message=f"the run was stopped after the time limit of {timeout:g} s")
    elif process.returncode != 0 and outcome["status"] == "ok":
        outcome.update(status="error", message=f"the grading process exited with code {process.returncode}")
    return outcome


MAX_OUTCOME_BYTES = 64 * 2**20


def read_outcome(data: bytes, nb) -> dict:
    """The runner's outcome, checked field by field, and the executed notebook built
    from ``nb`` and its outputs. Anything malformed becomes an error outcome."""
    executed = copy.deepcopy(nb)
    try:
        if len(data) > MAX_OUTCOME_BYTES:
            raise ValueError("too large")
        raw = json.loads(data.decode("utf-8"))
        status, message = raw["status"], raw["message"]
        if status not in STATUSES or not isinstance(message, str):
            raise ValueError("bad status")
        cells = {}
        for key, value in raw["cells"].items():
            index = int(key)
            if not (0 <= index < len(nb.cells)) or not isinstance(value, dict):
                raise ValueError("bad cell")
            cells[str(index)] = {flag: value.get(flag) is True for flag in ("ok", "timed_out", "died")}
        for key, outputs in raw.get("outputs", {}).items():
            cell = executed.cells[int(key)]
            if cell.cell_type == "code" and isinstance(outputs, list):
                cell.outputs = [nbformat.from_dict(o) for o in outputs if isinstance(o, dict)][:60]
                count = raw.get("counts", {}).get(key)
                cell.execution_count = count if is_int(count) else None
        gaps = [str(gap)[:300] for gap in raw.get("sandbox", []) if isinstance(gap, str)][:5]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeDecodeError):
        return {
            "notebook": nb,
            "status": "error",
            "message": "the grading process gave no result",
            "cells": {},
            "sandbox": [],
        }
    return {"notebook": executed, "status": status, "message": message[:500], "cells": cells, "sandbox": gaps}


def _kill_group(pgid) -> None:
    if pgid and hasattr(os, "killpg"):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --- scoring and reports ------------------------------------------------------------------------------------------
