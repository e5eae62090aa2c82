"""Mutation testing of the exercise checks: do they fail when a solution is subtly wrong?

    python tools/mutants.py                  # every exercise
    python tools/mutants.py 03_scoring       # one
    python tools/mutants.py --show           # print every surviving mutant

Each solution cell (the code between ``### BEGIN SOLUTION`` and ``### END
SOLUTION``) is mutated one change at a time: a statement deleted (replaced by
``pass``), a comparison flipped (< and <=, > and >=, == and !=), an arithmetic
operator swapped (+ and -, * and /), an integer constant changed by one. The
notebook's cells run in order in one namespace with the mutant in place of the
solution, then the task's check cells (hidden tests included). A mutant is
*killed* when a check fails; it *survives* when every check passes. Some
survivors change nothing (an equivalent mutant: ``n - 0`` for ``n + 0``); the
others are mistakes the checks let through. Each mutant gets 20 s.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import os
import signal
import sys
from contextlib import redirect_stdout
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "exercises" / "solutions"
SWAPS = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
}  # fmt: skip


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def mutants(cell_source: str):
    """(description, mutated cell source) for every single change to the code between the markers."""
    tree = ast.parse(cell_source)
    lines = cell_source.splitlines()
    begins = [i + 1 for i, line in enumerate(lines) if "### BEGIN SOLUTION" in line]
    ends = [i + 1 for i, line in enumerate(lines) if "### END SOLUTION" in line]
    inside = [n for n in ast.walk(tree) if hasattr(n, "lineno") and any(b < n.lineno < e for b, e in zip(begins, ends))]
    for target in inside:
        for description, change in _changes(target):
            mutated = copy.deepcopy(tree)
            node = next(n for n in ast.walk(mutated) if _same_place(n, target))
            if change(node):
                yield f"line {target.lineno}: {description}", ast.unparse(mutated)


def _same_place(a, b) -> bool:
    return type(a) is type(b) and (a.lineno, a.col_offset, getattr(a, "end_col_offset", None)) == (
        b.lineno, b.col_offset, getattr(b, "end_col_offset", None),
    )  # fmt: skip


def _changes(node):
    if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.Pass)):
        yield f"delete `{ast.unparse(node).splitlines()[0][:60]}`", _delete
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in SWAPS:
                yield f"{type(op).__name__} -> {SWAPS[type(op)].__name__} in `{ast.unparse(node)[:60]}`", _swap_cmp(i)
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAPS:
        yield f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__} in `{ast.unparse(node)[:60]}`", _swap_op
    if isinstance(node, ast.Constant) and type(node.value) is int:
        for delta in (1, -1):
            yield f"{node.value} -> {node.value + delta}", _shift(delta)


def _delete(node):
    node.__class__ = ast.Pass
    for field in list(node._fields):
        if hasattr(node, field):
            delattr(node, field)
    return True


def _swap_cmp(i):
    def change(node):
        node.ops[i] = SWAPS[type(node.ops[i])]()
        return True

    return change


def _swap_op(node):
    node.op = SWAPS[type(node.op)]()
    return True


def _shift(delta):
    def change(node):
        node.value += delta
        return True

    return change


class Timeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in a cell swallows it."""


def _alarm(signum, frame):
    raise Timeout


def run_notebook(cells, replaced: dict[int, str], checks: list[int]) -> str | None:
    """Run the code cells in order (with ``replaced`` sources) in one namespace, then
    ``checks``; None if every check passed, else the first failure."""
    namespace = {"__name__": "__main__"}
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or nbgrader(cell).get("grade"):
            continue
        source = replaced.get(index, cell.source)
        try:
            with redirect_stdout(io.StringIO()):
                exec(compile(source, f"cell {index}", "exec"), namespace)
        except Exception:  # noqa: BLE001  (a mutant may break a later demo cell: not a check)
            continue
    for index in checks:
        try:
            with redirect_stdout(io.StringIO()):
                exec(compile(cells[index].source.replace("### BEGIN HIDDEN TESTS", "").replace(
                    "### END HIDDEN TESTS", ""), f"check {index}", "exec"), namespace)  # fmt: skip
        except Timeout:
            raise
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {str(exc)[:80]}"
    return None


def tasks(cells) -> list[tuple[int, list[int]]]:
    """(solution cell index, the check cells that follow it before the next solution cell)."""
    out = []
    solutions = [i for i, c in enumerate(cells) if nbgrader(c).get("solution")]
    for k, i in enumerate(solutions):
        stop = solutions[k + 1] if k + 1 < len(solutions) else len(cells)
        out.append(
            (i, [j for j in range(i + 1, stop) if nbgrader(cells[j]).get("grade") and cells[j].cell_type == "code"])
        )
    return [(i, checks) for i, checks in out if checks]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exercises", nargs="*", help="exercise names, e.g. 03_scoring (default: all)")
    parser.add_argument("--show", action="store_true", help="print every surviving mutant")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGALRM, _alarm)
    names = args.exercises or sorted(p.stem for p in SOURCES.glob("*.ipynb"))
    total_killed = total = 0
    for name in names:
        cells = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4).cells
        all_checks = [j for _, checks in tasks(cells) for j in checks]
        baseline = run_notebook(cells, {}, all_checks)
        if baseline is not None:
            print(f"{name}: the solution itself fails its checks ({baseline}); skipped")
            continue
        killed, survivors = 0, []
        for index, checks in tasks(cells):
            for description, source in mutants(cells[index].source):
                signal.alarm(20)
                try:
                    failure = run_notebook(cells, {index: source}, checks)
                except Timeout:
                    failure = "timed out"
                finally:
                    signal.alarm(0)
                if failure is None:
                    survivors.append(f"  cell {index} {description}")
                else:
                    killed += 1
        count = killed + len(survivors)
        total, total_killed = total + count, total_killed + killed
        print(f"{name}: {killed}/{count} mutants killed ({killed / max(count, 1):.0%}), {len(survivors)} survived")
        if args.show:
            print("\n".join(survivors))
    print(f"all: {total_killed}/{total} killed ({total_killed / max(total, 1):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
