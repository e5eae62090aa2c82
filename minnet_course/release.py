"""Make the student copies of the exercises, the way ``nbgrader generate_assignment`` does.

For every ``exercises/solutions/NN_topic.ipynb`` (the source of truth) the
student copy ``exercises/NN_topic.ipynb`` has

- each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block replaced by one line,
  indented like the BEGIN line: ``raise NotImplementedError("...")`` in code
  cells, ``YOUR ANSWER HERE`` in markdown cells;
- each ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` block removed;
- no outputs and no execution counts;
- the same cells, cell ids, nbgrader cell metadata and notebook metadata, so a
  teacher can still run nbgrader on it.

As in nbgrader, a line *containing* a marker's words is that marker. Every
source is validated before any file is written, and each file is written
atomically; the output bytes depend only on the source.
"""

from __future__ import annotations

import copy
from pathlib import Path

from minnet.validate import is_real

from .notebooks import (
    EXERCISE_FILE,
    GRADE_ID,
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
from .runner import cell_role, defined_names, free_names

CODE_STUB = 'raise NotImplementedError("Task: write your code here")'
TEXT_STUB = "YOUR ANSWER HERE"
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def release(source_dir="exercises/solutions", dest_dir="exercises", *, check: bool = False) -> list[Path]:
    """Write the student copy of every ``NN_*.ipynb`` in ``source_dir`` to ``dest_dir``.

    Returns the copies written (only those whose bytes changed). With
    ``check=True`` nothing is written and the copies that are not current are
    returned instead: missing, different, or left without a source.
    Raises ``CourseError`` listing every problem if any source is invalid.
    """
    source_dir, dest_dir = Path(source_dir), Path(dest_dir)
    if dest_dir.resolve() == source_dir.resolve():
        raise CourseError(
            f"--dest {dest_dir} is the source directory: the student copies would overwrite the solutions"
        )
    sources = validate_sources(find_sources(source_dir))
    wanted = {dest_dir / path.name: notebook_bytes(student_copy(nb)) for path, nb in sources.items()}
    stale = [path for path, data in wanted.items() if not path.is_file() or path.read_bytes() != data]
    if check:
        orphans = sorted(path for path in dest_dir.glob("*.ipynb") if EXERCISE_FILE.match(path.name))
        return stale + [path for path in orphans if path not in wanted]
    dest_dir.mkdir(parents=True, exist_ok=True)
    for path in stale:
        write_atomic(path, wanted[path])
    return stale


def find_sources(source_dir: Path) -> list[Path]:
    """The exercise sources ``NN_*.ipynb`` in ``source_dir``, sorted."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise CourseError(
            f"{source_dir}: no such directory; expected the exercise sources "
            "(run from the repository root, or pass --source)"
        )
    return sorted(path for path in source_dir.iterdir() if EXERCISE_FILE.match(path.name) and path.is_file())


def validate_sources(paths) -> dict[Path, object]:
    """Read and check every source; raise one ``CourseError`` listing all problems."""
    notebooks, problems = {}, []
    for path in paths:
        try:
            nb = read_notebook(path)
        except CourseError as exc:
            problems.append(str(exc))
            continue
        found = source_problems(nb, Path(path).stem)
        problems += [f"{path}: {problem}" for problem in found]
        notebooks[Path(path)] = nb
    if problems:
        raise CourseError("invalid exercise source:\n  " + "\n  ".join(problems))
    return notebooks


def source_problems(nb, stem: str) -> list[str]:
    """What is wrong with an exercise source (an empty list when nothing is)."""
    problems = []
    name = exercise_name(nb)
    if name is None:
        problems.append(f'metadata.minnet.exercise is missing; expected "{stem}" (the file name without .ipynb)')
    elif name != stem:
        problems.append(f'metadata.minnet.exercise is "{name}", expected "{stem}" (the file name without .ipynb)')
    seen = {}
    for number, cell in enumerate(nb.cells, start=1):
        where = f"cell {number}" + (f" ({grade_id(cell)})" if grade_id(cell) else "")
        problems += [f"{where}: {problem}" for problem in cell_problems(cell)]
        if grade_id(cell):
            seen.setdefault(grade_id(cell), []).append(number)
    for gid, numbers_ in seen.items():
        if len(numbers_) > 1:
            cells = ", ".join(map(str, numbers_))
            problems.append(f'grade_id "{gid}" is used by cells {cells}; expected each grade_id once')
    return problems + checker_only_names(nb)


def checker_only_names(nb) -> list[str]:
    """Names a grade cell defines that a later cell reads: the grader runs grade cells
    outside the learner's kernel, so the kernel never has them."""
    problems, only_in_checker = [], {}
    for number, cell in enumerate(nb.cells, start=1):
        role = cell_role(cell)
        if role == "markdown" or not isinstance(cell.get("source"), str):
            continue
        try:
            defined, read = defined_names(cell.source), free_names(cell.source)
        except SyntaxError:
            continue  # the learner's stub or an IPython magic: nbgrader's problem, not ours
        if role == "grade":
            only_in_checker.update({name: number for name in defined})
            continue
        for name in sorted(read & set(only_in_checker)):
            problems.append(
                f"cell {number} reads `{name}`, which only grade cell {only_in_checker[name]} defines: the grader "
                "runs grade cells outside the kernel; define it in the setup cell instead"
            )
        for name in defined:
            only_in_checker.pop(name, None)
    return problems


def cell_problems(cell) -> list[str]:
    """nbgrader metadata and marker problems of one cell."""
    if "nbgrader" in cell.metadata and not isinstance(cell.metadata["nbgrader"], dict):
        return ["metadata.nbgrader should be an object"]
    meta, problems = nbgrader(cell), []
    for key in ("grade", "solution", "locked"):
        if key in meta and not isinstance(meta[key], bool):
            problems.append(f"nbgrader {key} should be true or false, got {meta[key]!r}")
    if meta.get("grade") or meta.get("solution") or meta.get("locked"):
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not GRADE_ID.match(gid):
            problems.append(f"nbgrader grade_id should be a non-empty name of letters, digits, _ and -, got {gid!r}")
    if is_grade(cell):
        points = meta.get("points")
        if not is_real(points) or points < 0:
            problems.append(f'a grade cell needs "points": a number >= 0, got {points!r}')
    if is_solution(cell) and cell.cell_type not in ("code", "markdown"):
        problems.append(f"a solution cell should be code or markdown, got {cell.cell_type}")
    problems += _marker_problems(cell.source, SOLUTION, required=is_solution(cell), allowed=is_solution(cell))
    problems += _marker_problems(cell.source, HIDDEN_TESTS, required=False, allowed=is_grade(cell))
    return problems


def _marker_problems(source: str, markers, *, required: bool, allowed: bool) -> list[str]:
    begin, end = markers
    if not allowed:
        kind = "solution" if markers == SOLUTION else "grade"
        for number, line in enumerate(source.split("\n"), start=1):
            for marker in markers:
                if marker in line:
                    return [
                        f'line {number} contains "{marker}", which nbgrader and release read as a marker '
                        f"(any line containing it), but this is not a {kind} cell; reword that line"
                    ]
        return []
    try:
        blocks = marker_blocks(source, markers)
    except CourseError as exc:
        return [str(exc)]
    if required and not blocks:
        return [f"a solution cell needs a ### {begin} ... ### {end} block"]
    return []


def marker_blocks(source: str, markers) -> list[tuple[int, int]]:
    """Line ranges ``(begin, end)`` (0-based, inclusive) of the ``markers`` blocks.

    Raises ``CourseError`` for a BEGIN without END, an END without BEGIN or a nested BEGIN.
    """
    begin, end = markers
    blocks, start = [], None
    for number, line in enumerate(source.split("\n")):
        if begin in line:
            if start is not None:
                raise CourseError(f"### {begin} on line {number + 1} inside the block opened on line {start + 1}")
            start = number
        elif end in line:
            if start is None:
                raise CourseError(f"### {end} on line {number + 1} without a ### {begin} before it")
            blocks.append((start, number))
            start = None
    if start is not None:
        raise CourseError(f"### {begin} on line {start + 1} has no ### {end}")
    return blocks


def replace_blocks(source: str, markers, stub: str | None) -> str:
    """Replace each ``markers`` block by ``stub`` indented like its BEGIN line
    (``stub=None`` removes the block)."""
    lines = source.split("\n")
    for start, stop in reversed(marker_blocks(source, markers)):
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        lines[start : stop + 1] = [] if stub is None else [indent + stub]
    return "\n".join(lines)


def student_cell(cell):
    """The student version of one source cell."""
    cell = copy.deepcopy(cell)
    if is_solution(cell):
        cell.source = replace_blocks(cell.source, SOLUTION, CODE_STUB if cell.cell_type == "code" else TEXT_STUB)
    cell.source = replace_blocks(cell.source, HIDDEN_TESTS, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)  # run timestamps recorded by JupyterLab/nbclient
    return cell


def student_copy(nb):
    """The student version of a (validated) exercise source."""
    released = copy.deepcopy(nb)
    released.cells = [student_cell(cell) for cell in nb.cells]
    return released
