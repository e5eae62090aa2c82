"""Command line of the course tools.

    python -m minnet_course release [--source DIR] [--dest DIR] [--check]
    python -m minnet_course grade SUBMISSION.ipynb [...] [--source DIR] [--out DIR]
                                  [--timeout S] [--cell-timeout S] [--jobs N]
                                  [--memory-mb MB] [--max-processes N] [--no-bwrap]
    python -m minnet_course findings [--only NAME ...] [--seeds N] [--first-seed S] [--json PATH]

Exit status: 0 done, 1 ``release --check`` found copies that are not current or
a finding does not hold on its stated share of seeds, 2 bad input (the message
names the file or argument and what is wrong).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm

from .blas import rerun_with_course_environment
from .findings import format_records, run, select, write_json
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
    """The argument parser with its commands."""
    top = argparse.ArgumentParser(
        prog="python -m minnet_course", description="Release and grade the exercises; check the course's findings."
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="{release,grade,findings}")

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

    findings = commands.add_parser("findings", help="run the chapters' findings over seeds")
    findings.add_argument("--only", nargs="+", metavar="NAME", help="findings or chapters (ch06), default: all")
    findings.add_argument("--seeds", type=int, help="seeds per finding (default: each finding's own, at least 5)")
    findings.add_argument("--first-seed", type=int, default=0, help="the first seed (default: %(default)s)")
    findings.add_argument("--json", default="findings.json", help="where the record goes (default: %(default)s)")
    findings.set_defaults(run=run_findings)

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


def run_findings(args) -> int:
    """``findings``: run them, print the table, write the JSON; exit 1 if one does not hold."""
    if args.seeds is not None and args.seeds < 2:
        raise CourseError(f"--seeds must be at least 2 (a spread needs two seeds), got {args.seeds}")
    if args.first_seed < 0:
        raise CourseError(f"--first-seed must be >= 0, got {args.first_seed}")
    try:
        chosen = select(args.only)
    except ValueError as exc:
        raise CourseError(str(exc)) from None
    total = sum(f.seeds if args.seeds is None else args.seeds for f in chosen)
    # a log file gets a progress line every half minute, a terminal a live bar
    with tqdm(total=total, unit="run", desc="findings", mininterval=1.0 if sys.stderr.isatty() else 30.0) as bar:
        records = run(chosen, seeds=args.seeds, first_seed=args.first_seed,
                      progress=lambda name, seed: (bar.set_postfix_str(name, refresh=False), bar.update()))  # fmt: skip
    print(format_records(records))
    write_json(records, args.json)
    failed = [r.finding.name for r in records if not r.passed]
    print(f"wrote {args.json}; " + (f"{len(failed)} of {len(records)} do not hold: {', '.join(failed)}" if failed
                                    else f"all {len(records)} hold on their terms"))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["findings"]:
        rerun_with_course_environment()  # the record is comparable only under one BLAS kernel and thread count
    sys.exit(main())
