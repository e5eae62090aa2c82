"""Notebook helpers shared by ``release`` and ``grade``: read with clear errors,
write deterministic bytes atomically, and read nbgrader cell metadata.

Cell metadata follows nbgrader's schema version 3: ``cell.metadata.nbgrader``
has ``grade``, ``solution``, ``locked`` (booleans), ``grade_id`` and, for grade
cells, ``points``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import nbformat
import nbformat.reader

EXERCISE_FILE = re.compile(r"^\d\d_[^/\\]+\.ipynb$")
GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")  # nbgrader's schema v3 pattern (non-empty here)


class CourseError(ValueError):
    """A notebook or directory is not what the course tools expect; the message
    names the file, what was expected and what came."""


def read_notebook(path: Path, *, strict: bool = True) -> nbformat.NotebookNode:
    """Read a Jupyter notebook (as nbformat v4), or raise ``CourseError``.

    Cells without an ``id`` get a deterministic one (nbformat would draw a random
    one), so that writing the notebook back always gives the same bytes.
    ``strict`` also validates against the nbformat schema.
    """
    path = Path(path)
    data = _read_json(path)
    if not (isinstance(data, dict) and isinstance(data.get("cells"), list) and isinstance(data.get("nbformat"), int)):
        got = f"a JSON {type(data).__name__}" if not isinstance(data, dict) else f"keys {sorted(data)[:6]}"
        raise CourseError(
            f"{path}: not a Jupyter notebook (expected a JSON object with 'cells' and 'nbformat', got {got})"
        )
    if data["nbformat"] == 4:
        _add_missing_ids(data)
    try:
        nb = nbformat.convert(nbformat.reader.reads(json.dumps(data)), 4)  # nbformat.reads would log, not raise
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        raise CourseError(f"{path}: not a readable Jupyter notebook ({_first_line(exc)})") from None
    if strict:
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as exc:
            raise CourseError(f"{path}: not a valid notebook (nbformat schema: {_first_line(exc.message)})") from None
    return nb


def _read_json(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CourseError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CourseError(f"{path}: is a directory, expected a .ipynb file") from None
    except UnicodeDecodeError:
        raise CourseError(f"{path}: not UTF-8 text, expected a .ipynb notebook (JSON)") from None
    except OSError as exc:
        raise CourseError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CourseError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); expected a .ipynb notebook"
        ) from None


def _add_missing_ids(data: dict) -> None:
    """Give cells without an id (nbformat 4.5+) a deterministic, unique one."""
    if data.get("nbformat_minor", 0) < 5:
        return
    cells = [cell for cell in data["cells"] if isinstance(cell, dict)]
    taken = {cell["id"] for cell in cells if isinstance(cell.get("id"), str)}
    for index, cell in enumerate(cells):
        if "id" in cell:
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
        wanted = meta.get("grade_id") if isinstance(meta, dict) else None
        candidate = wanted if isinstance(wanted, str) and GRADE_ID.match(wanted) and len(wanted) <= 64 else None
        if candidate is None or candidate in taken:
            candidate = f"cell-{index}"
            while candidate in taken:
                candidate += "x"
        cell["id"] = candidate
        taken.add(candidate)


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The bytes ``nbformat.write`` produces: sorted keys, indent 1, trailing newline."""
    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and
    ``os.replace``, so a reader never sees a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def nbgrader(cell) -> dict:
    """The cell's nbgrader metadata (an empty dict when there is none)."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id``, or None."""
    value = nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def is_solution(cell) -> bool:
    """A cell the learner answers in (nbgrader ``solution: true``)."""
    return nbgrader(cell).get("solution") is True


def is_grade(cell) -> bool:
    """A cell that earns points when it runs without an error (nbgrader ``grade: true``)."""
    return nbgrader(cell).get("grade") is True


def exercise_name(nb) -> str | None:
    """``metadata.minnet.exercise``, or None when it is missing."""
    meta = nb.get("metadata")
    meta = meta.get("minnet") if isinstance(meta, dict) else None
    value = meta.get("exercise") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _first_line(value) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__
