"""Repeated code: runs of consecutive lines that appear twice or more.

    python tools/duplicates.py                    # the packages, benchmarks and tools
    python tools/duplicates.py tests --window 8   # any folders or files

Lines are compared with their indentation and trailing comments removed;
blank lines, comments, imports, docstrings and lines of brackets alone are
skipped, so a run is ``window`` lines of real code. Each repeated run is
reported once, with every place it occurs.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["minnet", "minnet_course", "benchmarks", "tools"]


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, normalised text) of the lines that carry code."""
    source = path.read_text()
    skipped = set()  # docstrings and imports, whatever their length
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            skipped.update(range(node.lineno, node.end_lineno + 1))
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                skipped.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = []
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.split("  #", 1)[0].strip()
        if number in skipped or not text or text.startswith(("#", "@")) or not text.strip("()[]{},:"):
            continue
        lines.append((number, text))
    return lines


def find_duplicates(paths, window: int = 6) -> list[list[tuple[Path, int]]]:
    """Groups of places (file, first line) where the same ``window`` code lines occur."""
    seen = defaultdict(list)
    for path in paths:
        lines = code_lines(path)
        for i in range(len(lines) - window + 1):
            key = tuple(text for _, text in lines[i : i + window])
            seen[key].append((path, lines[i][0], lines[i + window - 1][0]))
    groups = [places for places in seen.values() if len(places) > 1]
    # a run of 8 repeated lines shows up as 3 overlapping windows of 6: keep the first of each
    reported, covered = [], set()
    for places in sorted(groups, key=lambda ps: (str(ps[0][0]), ps[0][1])):
        if all((p, first) in covered for p, first, _ in places):
            continue
        reported.append([(p, first) for p, first, _ in places])
        for p, first, last in places:
            covered.update((p, n) for n in range(first, last + 1))
    return reported


def python_files(targets) -> list[Path]:
    files = []
    for target in targets:
        path = Path(target) if Path(target).is_absolute() else ROOT / target
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=DEFAULT, help="folders or files (default: %(default)s)")
    parser.add_argument("--window", type=int, default=6, help="lines of code in a run (default: %(default)s)")
    args = parser.parse_args(argv)
    groups = find_duplicates(python_files(args.targets), args.window)
    for places in groups:
        print(" = ".join(f"{path.relative_to(ROOT)}:{line}" for path, line in places))
    print(f"{len(groups)} repeated runs of {args.window} code lines")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main())
