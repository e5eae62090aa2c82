"""Command line of the course tools.

    python -m minnet_course release [--source DIR] [--dest DIR] [--check]
    python -m minnet_course grade SUBMISSION.ipynb [...] [--source DIR] [--out DIR]
                                  [--timeout S] [--cell-timeout S] [--jobs N]
                                  [--memory-mb MB] [--max-processes N] [--no-bwrap]

Exit status: 0 done, 1 ``release --check`` found copies that are not current,
2 bad input (the message names the file and what is wrong).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .grade import grade
from .notebooks import CourseError
from .release import release
from .report import format_table
from .sandbox import Limits, bwrap_path, describe


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    """The argument parser with its three commands."""
    top = argparse.ArgumentParser(prog="python -m minnet_course", description="Release and grade the exercises.")
    commands = top.add_subparsers(dest="command", required=True, metavar="{release,grade}")

    release = commands.add_parser("release", help="write the student copies of the exercises")
    release.add_argument("--source", default="exercises/solutions", help="exercise sources (default: %(default)s)")
    release.add_argument("--dest", default="exercises", help="where the student copies go (default: %(default)s)")
    release.add_argument("--check", action="store_true", help="write nothing; exit 1 if a copy is not current")
    release.set_defaults(run=run_release)

    grade = commands.add_parser("grade", help="grade submitted notebooks")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION.ipynb")
    grade.add_argument("--source", default="exercises/solutions", help="exercise sources (default: %(default)s)")
    grade.add_argument("--out", default="grading-output", help="output directory (default: %(default)s)")
    grade.add_argument("--timeout", type=float, default=60, help="seconds per submission (default: %(default)s)")
    grade.add_argument("--cell-timeout", type=float, default=30, help="seconds per cell (default: %(default)s)")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default: %(default)s)")
    grade.add_argument("--memory-mb", type=int, default=4096, help="memory per kernel process (default: %(default)s)")
    grade.add_argument("--max-processes", type=int, default=128, help="processes per kernel (default: %(default)s)")
    grade.add_argument("--no-bwrap", action="store_true", help="do not use bubblewrap even where it is installed")
    grade.set_defaults(run=run_grade)

    return top


def run_release(args) -> int:
    """``release``: write the student copies, or with --check list those not current."""
    paths = release(args.source, args.dest, check=args.check)
    if args.check:
        for path in paths:
            orphan = not (Path(args.source) / path.name).exists()
            print(f"not current: {path}" + (" (it has no source: delete it)" if orphan else ""))
        if paths:
            print(f"run `python -m minnet_course release` to update them ({len(paths)} not current)")
            return 1
        print(f"student copies in {args.dest} are current")
        return 0
    for path in paths:
        print(f"wrote {path}")
    print(f"student copies in {args.dest} are current ({len(paths)} written)")
    return 0


def run_grade(args) -> int:
    """``grade``: grade the submissions and print a table."""
    try:
        limits = Limits(memory_mb=args.memory_mb, processes=args.max_processes)
    except ValueError as exc:
        raise CourseError(str(exc)) from None
    for gap in describe(not args.no_bwrap and bwrap_path() is not None):
        print(f"note: {gap}", file=sys.stderr)
    results = grade(
        args.submissions,
        source_dir=args.source,
        out_dir=args.out,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        jobs=args.jobs,
        limits=limits,
        bwrap=not args.no_bwrap,
    )
    print(format_table(results))
    print(f"\ngrades.json, grades.csv and the graded notebooks are in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
