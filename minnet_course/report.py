"""A grade from an executed notebook, and the reports a teacher reads.

``score`` gives every grade cell its points (all when it ran without an
error, else none, with the reason); ``result_for`` is one submission's entry
of ``grades.json``; ``feedback_notebook`` puts a summary of the grade on top
of the executed notebook; ``grades_csv`` and ``format_table`` list a batch.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from pathlib import Path

from nbformat.v4 import new_markdown_cell

from .feedback import CheckFailed, NotDoneError
from .notebooks import grade_id, is_grade, nbgrader

MAX_MESSAGE_CHARS = 500  # a status message or a check's error, in grades.json


def result_for(sub, run: dict, notes, feedback: str, cell_timeout: float) -> dict:
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
        return ("not run: " + (run["message"] or "the run stopped before this cell"))[:MAX_MESSAGE_CHARS]
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
    first = lines[0][:MAX_MESSAGE_CHARS] if lines else ""
    ename = str(ename)[:100]
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
