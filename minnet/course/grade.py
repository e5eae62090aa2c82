"""Grade exercise submissions against their sources, the way ``nbgrader autograde`` does.

For each submission, the notebook that is run is built from the exercise
*source*: every source cell in order, where a solution cell (``solution:
true``) takes the learner's cell with the same ``grade_id`` (or the released
stub, if the learner deleted it), and every other cell (instructions, setup,
checks with their hidden tests) is the source's. Editing or deleting a check
cell therefore changes nothing, as nbgrader's restoring of locked cells ensures.

The notebook runs in a fresh kernel, driven by a subprocess
(``python -m minnet.course _run_one``) whose working directory is a temporary
directory, with a time limit per cell (the kernel is interrupted) and one for
the whole notebook (the subprocess and the kernel are killed). A grade cell
earns its points when it ran without an error; cells after a kernel crash or
past the time limit earn nothing, cells before them count.

This isolates the grader from loops, crashes and stray files. It is not a
security sandbox: run submissions you do not trust in a container.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_output

from .feedback import CheckFailed, NotDoneError
from .notebooks import (
    CourseError,
    exercise_name,
    grade_id,
    is_grade,
    is_solution,
    nbgrader,
    notebook_bytes,
    read_notebook,
    write_atomic,
)
from .release import student_cell, validate_sources

EXERCISE_NAME = re.compile(r"^\d\d_[^/\\\x00]+$")
STATUSES = ("ok", "timeout", "kernel died", "error")
TIMEOUT_ENAME = "CellTimeoutError"
KILL_MARGIN = 30  # seconds past `timeout` before the runner is killed (kernel start, shutdown)
MAX_STREAM_CHARS = 20_000  # per output, in the feedback notebook


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
) -> list[dict]:
    """Grade ``submissions`` (notebook paths); write ``grades.json``, ``grades.csv``
    and ``<stem>.graded.ipynb`` (the executed notebook, as feedback) into ``out_dir``.

    ``timeout`` bounds one submission's run, ``cell_timeout`` one cell's; ``jobs``
    submissions run at a time. Every submission is checked before anything runs
    or is written: a missing, unreadable or unknown one raises ``CourseError``.
    Returns one dict per submission, as in ``grades.json``.
    """
    if isinstance(submissions, (str, os.PathLike)):
        submissions = [submissions]
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    _check_limits(timeout, cell_timeout, jobs)
    check_out_dir(out_dir, source_dir)
    loaded = load_submissions(submissions, source_dir)
    built = [build_graded_notebook(sub.source, sub.notebook) for sub in loaded]

    def run(nb):
        return run_notebook(nb, timeout=timeout, cell_timeout=cell_timeout)

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


def _check_limits(timeout, cell_timeout, jobs) -> None:
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise CourseError(f"{name} should be a number of seconds > 0, got {value!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
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


def run_notebook(nb, *, timeout: float, cell_timeout: float) -> dict:
    """Run ``nb`` in a fresh kernel driven by a subprocess, in a temporary working
    directory; returns ``{"notebook", "status", "message", "cells"}``.

    ``cells`` maps the index (as a string) of every cell that was reached to
    ``{"ok", "timed_out", "died"}``. The subprocess is killed, with its kernel,
    ``KILL_MARGIN`` seconds past ``timeout``; what it saved until then counts.
    """
    with tempfile.TemporaryDirectory(prefix="minnet-grade-") as tmp:
        tmp = Path(tmp)
        files = {name: tmp / name for name in ("in.ipynb", "out.ipynb", "status.json", "kernel.pgid", "runner.log")}
        files["in.ipynb"].write_bytes(notebook_bytes(nb))
        workdir = tmp / "home" / "work"  # the kernel's cwd: "../../x" still lands in tmp
        workdir.mkdir(parents=True)
        command = [sys.executable, "-m", "minnet.course", "_run_one", *(str(files[n]) for n in list(files)[:4])]
        command += ["--timeout", str(timeout), "--cell-timeout", str(cell_timeout)]
        with open(files["runner.log"], "wb") as log:
            process = subprocess.Popen(
                command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
            killed = False
            try:
                process.wait(timeout=timeout + KILL_MARGIN)
            except subprocess.TimeoutExpired:
                killed = True
                _kill_group(process.pid)
                _kill_group(_read_int(files["kernel.pgid"]))
                process.wait()
        return _collect(nb, files, killed, process.returncode, timeout)


def _collect(nb, files, killed, returncode, timeout) -> dict:
    """What the runner saved: the executed notebook and the status of each cell."""
    try:
        record = json.loads(files["status.json"].read_text(encoding="utf-8"))
        executed = nbformat.reads(files["out.ipynb"].read_text(encoding="utf-8"), as_version=4)
    except (OSError, ValueError):
        log = files["runner.log"].read_text(encoding="utf-8", errors="replace").strip().splitlines()
        record = {"status": "error", "message": "the grading process failed: " + " | ".join(log[-3:]), "cells": {}}
        executed = nb
    if killed:
        record["status"] = "timeout"
        record["message"] = f"the run was stopped after the time limit of {timeout:g} s"
    elif returncode != 0 and record["status"] == "ok":
        record.update(status="error", message=f"the grading process exited with code {returncode}")
    record["notebook"] = executed
    return record


def _kill_group(pgid) -> None:
    if pgid and hasattr(os, "killpg"):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _read_int(path: Path):
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def run_one(notebook_path, out_path, status_path, pgid_path, *, timeout: float, cell_timeout: float) -> str:
    """Execute a graded notebook cell by cell in a fresh kernel (the grading subprocess).

    After every cell, the executed notebook and the status of each reached cell
    are saved, so what ran before a crash or a kill still counts. A cell running
    longer than its limit is interrupted; if the kernel then does not answer, the
    run stops. Returns the status.
    """
    import nbclient  # only the grading subprocess needs it
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(notebook_path, as_version=4)
    deadline = time.monotonic() + timeout
    record = {"status": "ok", "message": "", "cells": {}}
    replies = {}
    client = nbclient.NotebookClient(
        nb,
        kernel_manager_class=_current_python_kernel_manager(),
        kernel_name=CURRENT_PYTHON,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "time limit", "traceback": []},
        record_timing=False,
        shutdown_kernel="immediate",
        startup_timeout=max(10, math.ceil(timeout)),
        iopub_timeout=2,
        resources={"metadata": {"path": os.getcwd()}},
        on_cell_executed=lambda cell_index, execute_reply, **_: replies.__setitem__(cell_index, execute_reply),
    )

    def save():
        write_atomic(Path(out_path), notebook_bytes(nb))
        write_atomic(Path(status_path), json.dumps(record).encode("utf-8"))

    pgid = None
    try:
        with client.setup_kernel():
            pgid = getattr(getattr(client.km, "provisioner", None), "pgid", None)
            Path(pgid_path).write_text(str(pgid or ""))
            for index, cell in enumerate(nb.cells):
                left = deadline - time.monotonic()
                if left <= 0:
                    record.update(status="timeout", message=f"the time limit of {timeout:g} s was reached")
                    break
                limit = min(cell_timeout, left)
                client.timeout = max(1, math.ceil(limit))
                try:
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    record["cells"][str(index)] = {"ok": False, "timed_out": False, "died": True}
                    record.update(status="kernel died", message=f"the kernel died while running cell {index + 1}")
                    cell.outputs.append(_error_output("DeadKernelError", "the kernel died while running this cell"))
                    break
                content = (replies.pop(index, None) or {}).get("content", {"status": "ok"})
                timed_out = content.get("ename") == TIMEOUT_ENAME
                record["cells"][str(index)] = {"ok": content.get("status") == "ok", "timed_out": timed_out}
                _trim_outputs(cell)
                if timed_out:
                    record.update(status="timeout", message=f"cell {index + 1} did not finish within {limit:g} s")
                    cell.outputs.append(_error_output(TIMEOUT_ENAME, f"stopped after {limit:g} s (an endless loop?)"))
                    if not _kernel_answers(client.kc, seconds=5):
                        record["message"] += "; the kernel did not stop, so the run ended there"
                        break
                save()
    except Exception as exc:  # the kernel could not start, or nbclient failed: report, never hang
        record.update(status="error", message=f"{type(exc).__name__}: {exc}".strip().splitlines()[0])
    finally:
        _kill_group(pgid)  # processes the learner's code started in the kernel's group
        save()
    return record["status"]


def _kernel_answers(kc, seconds: float) -> bool:
    """Whether the kernel answers a kernel_info request within ``seconds`` (it is not stuck)."""
    from jupyter_core.utils import run_sync

    async def ask():
        try:
            await kc.kernel_info(reply=True, timeout=seconds)
            return True
        except TimeoutError:
            return False

    return run_sync(ask)()


def _error_output(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _trim_outputs(cell) -> None:
    """Keep the feedback notebook small when the learner's code prints a lot."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and len(output.get("text", "")) > MAX_STREAM_CHARS:
            output["text"] = output["text"][:MAX_STREAM_CHARS] + "\n[... output cut by the grader ...]\n"


CURRENT_PYTHON = "minnet-grader-python"


def _current_python_kernel_manager():
    """A kernel manager class whose kernel is this Python (the one that has minnet
    installed), whatever kernelspecs are installed, as nbval's --nbval-current-env."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == CURRENT_PYTHON:
                spec = ipykernel.kernelspec.get_kernel_dict()
                return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)
            return super().get_kernel_spec(kernel_name)

    class CurrentPythonKernelManager(AsyncKernelManager):
        def _kernel_spec_manager_default(self):
            return CurrentPythonSpecs(data_dir=self.data_dir)

    return CurrentPythonKernelManager


# --- scoring and reports ------------------------------------------------------------------------------------------


def result_for(sub: Submission, run: dict, notes, feedback: str, cell_timeout: float) -> dict:
    """The grade of one submission, as written to ``grades.json``."""
    tasks = score(run["notebook"], run, cell_timeout)
    return {
        "file": str(sub.path),
        "exercise": sub.exercise,
        "status": run["status"],
        "message": run["message"],
        "tasks": tasks,
        "total": _number(sum(task["points"] for task in tasks.values())),
        "max_total": _number(sum(task["max_points"] for task in tasks.values())),
        "feedback": feedback,
        "notes": list(notes),
    }


def score(executed, run: dict, cell_timeout: float) -> dict:
    """``{grade_id: {points, max_points, passed, error}}`` for every grade cell:
    full points when the cell ran without an error, else 0."""
    tasks = {}
    for index, cell in enumerate(executed.cells):
        if not is_grade(cell):
            continue
        max_points = _number(nbgrader(cell).get("points", 0))
        error = cell_error(cell, run["cells"].get(str(index)), run, cell_timeout)
        tasks[grade_id(cell)] = {
            "points": max_points if error is None else 0,
            "max_points": max_points,
            "passed": error is None,
            "error": error,
        }
    return tasks


def cell_error(cell, reached, run: dict, cell_timeout: float) -> str | None:
    """Why a grade cell earns nothing (None when it earns its points)."""
    if cell.cell_type != "code":
        return "a written answer: graded by hand"
    if reached is None:
        return "not run: " + (run["message"] or "the run stopped before this cell")
    if reached.get("died"):
        return "the kernel died while running this cell (os._exit, a crash, or out of memory?)"
    if reached.get("timed_out"):
        return f"did not finish within the time limit ({cell_timeout:g} s per cell): an endless loop?"
    errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    if errors:
        return error_summary(errors[0].get("ename", "Error"), errors[0].get("evalue", ""))
    if not reached.get("ok", False):
        return "the cell failed"
    return None


def error_summary(ename: str, evalue: str) -> str:
    """One line: the message of an AssertionError (a check's feedback), else ``Name: message``."""
    lines = str(evalue).strip().splitlines()
    first = lines[0] if lines else ""
    if ename in ("AssertionError", CheckFailed.__name__, NotDoneError.__name__):
        return first or ename
    return f"{ename}: {first}" if first else ename


def feedback_names(paths) -> list[str]:
    """``<stem>.graded.ipynb`` per submission; the parent directory's name is put in
    front when stems repeat (``alice/01_x.ipynb``, ``bob/01_x.ipynb``)."""
    stems = [Path(path).stem for path in paths]
    names, used = [], set()
    for path, stem in zip(paths, stems):
        base = stem if stems.count(stem) == 1 else f"{Path(path).resolve().parent.name}__{stem}"
        base = re.sub(r"[^\w.\-]", "_", base)
        name, number = f"{base}.graded.ipynb", 2
        while name in used:
            name, number = f"{base}-{number}.graded.ipynb", number + 1
        used.add(name)
        names.append(name)
    return names


def feedback_notebook(executed, result: dict):
    """The executed notebook with a summary of the grade as its first cell."""
    nb = copy.deepcopy(executed)
    rows = "\n".join(
        f"| {gid} | {_fmt(task['points'])} / {_fmt(task['max_points'])} | {_cell_text(task['error'] or 'passed')} |"
        for gid, task in result["tasks"].items()
    )
    text = (
        f"# Grade: {_fmt(result['total'])} / {_fmt(result['max_total'])}\n\n"
        f"Exercise `{result['exercise']}`, submission `{result['file']}`, run status: {result['status']}"
        + (f" ({result['message']})" if result["message"] else "")
        + f".\n\n| check | points | result |\n|---|---|---|\n{rows}\n"
        + "".join(f"\n- {note}" for note in result["notes"])
    )
    summary = new_markdown_cell(text)
    if nb.get("nbformat_minor", 0) >= 5:
        summary.id = "minnet-grade-summary"
    else:
        summary.pop("id", None)  # cell ids exist from nbformat 4.5 on
    nb.cells.insert(0, summary)
    return nb


def _cell_text(text: str) -> str:
    """Text that cannot break a markdown table row."""
    return text.replace("|", "/").replace("\n", " ")


def grades_csv(results) -> str:
    """One row per submission per check: file, exercise, grade_id, points, max_points."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "exercise", "grade_id", "points", "max_points"])
    for result in results:
        for gid, task in result["tasks"].items():
            writer.writerow([result["file"], result["exercise"], gid, task["points"], task["max_points"]])
    return buffer.getvalue()


def format_table(results) -> str:
    """A plain-text table per exercise: student, points per check, total, status."""
    blocks = []
    for exercise in dict.fromkeys(result["exercise"] for result in results):
        group = [result for result in results if result["exercise"] == exercise]
        gids = list(dict.fromkeys(gid for result in group for gid in result["tasks"]))
        header = ["student", *gids, "total", "status"]
        rows = [
            [
                result["file"],
                *(_fmt(result["tasks"][g]["points"]) if g in result["tasks"] else "-" for g in gids),
                f"{_fmt(result['total'])}/{_fmt(result['max_total'])}",
                result["status"],
            ]
            for result in group
        ]
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]
        ]
        blocks.append(f"{exercise}\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def _number(value):
    """An int when the value is whole (points read 3, not 3.0)."""
    return int(value) if float(value).is_integer() else float(value)


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
