"""Findings: each comparison a chapter teaches, as an experiment run over seeds.

A finding is a function ``seed -> {side: number}`` (test accuracies, say),
registered with the claim in words, the test its numbers must pass on one seed
(``holds``), and on what share of the seeds they must pass (``at_least``).
The seed varies what honestly varies between two runs of the same experiment:
the data split, the initialisation and the shuffling. A chapter may say no
more than its finding's claim, and a claim states a share below its record
("on at least 4 seeds in 5"): fresh seeds must pass it too.

    python -m minnet_course findings                 # every finding, each on its own seeds
    python -m minnet_course findings --only ch04 --seeds 10
"""

from __future__ import annotations

import difflib
import json
import math
import statistics
import textwrap
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

REGISTRY: dict[str, "Finding"] = {}


@dataclass(frozen=True)
class Finding:
    """One claim a chapter makes, and the experiment that tests it on one seed."""

    name: str  # "ch04.magnitude_beats_random": the chapter, then the experiment's name
    claim: str  # the chapter's words
    experiment: Callable[[int], dict]  # seed -> {side: number}
    holds: Callable[[dict], bool]  # does one seed's outcome support the claim?
    at_least: float  # the share of seeds on which it must hold, in (0, 1]
    seeds: int  # how many seeds by default
    sides: tuple = ()  # the numbers the claim compares, shown in the table (default: all)

    @property
    def statement(self) -> str:
        """The claim with the share of seeds it is made for: what a chapter may say."""
        return f"{self.claim}, {share_in_words(self.at_least)}"


def share_in_words(at_least: float) -> str:
    """0.8 -> "on at least 4 seeds in 5"; 1.0 -> "on every seed"."""
    if at_least >= 1:
        return "on every seed"
    share = Fraction(at_least).limit_denominator(10)
    if share == Fraction(1, 2):
        return "on at least half of the seeds"
    unit = "seed" if share.numerator == 1 else "seeds"
    return f"on at least {share.numerator} {unit} in {share.denominator}"


def finding(
    chapter: str,
    claim: str,
    *,
    holds: Callable[[dict], bool],
    at_least: float = 1.0,
    seeds: int = 5,
    sides: tuple = (),
):
    """Register the decorated experiment as ``<chapter>.<function name>``."""
    if not 0 < at_least <= 1:
        raise ValueError(f"at_least must be a share of the seeds in (0, 1], got {at_least!r}")
    if seeds < 5:
        raise ValueError(f"a finding runs on at least 5 seeds by default, got seeds={seeds!r}")

    def register(experiment):
        name = f"{chapter}.{experiment.__name__}"
        if name in REGISTRY:
            raise ValueError(f"finding {name!r} is registered twice")
        REGISTRY[name] = Finding(name, claim, experiment, holds, at_least, seeds, tuple(sides))
        return experiment

    return register


@dataclass
class Record:
    """What a finding did over its seeds."""

    finding: Finding
    seeds: list[int]
    outcomes: list[dict] = field(default_factory=list)  # one per seed

    @property
    def held(self) -> list[bool]:
        return [bool(self.finding.holds(outcome)) for outcome in self.outcomes]

    @property
    def needed(self) -> int:
        """Seeds on which the claim must hold."""
        return math.ceil(self.finding.at_least * len(self.seeds) - 1e-9)

    @property
    def passed(self) -> bool:
        return sum(self.held) >= self.needed

    def spread(self) -> dict[str, tuple[float, float]]:
        """side -> (mean, standard deviation over the seeds)."""
        sides = self.finding.sides or (self.outcomes[0].keys() if self.outcomes else ())
        return {
            side: (
                statistics.fmean(o[side] for o in self.outcomes),
                statistics.stdev(o[side] for o in self.outcomes) if len(self.outcomes) > 1 else 0.0,
            )
            for side in sides
        }

    def as_json(self) -> dict:
        return {
            "name": self.finding.name,
            "claim": self.finding.statement,
            "seeds": self.seeds,
            "outcomes": self.outcomes,
            "held": self.held,
            "needed": self.needed,
            "passed": self.passed,
        }


def select(only=None) -> list[Finding]:
    """The registered findings whose names start with one of ``only`` (all when None)."""
    if only is None:
        return list(REGISTRY.values())

    def named(f, name):  # a finding's full name, or its chapter ("ch06")
        return f.name == name or f.name.startswith(f"{name}.")

    chosen = [f for f in REGISTRY.values() if any(named(f, o) for o in only)]
    unknown = [o for o in only if not any(named(f, o) for f in REGISTRY.values())]
    if unknown:
        close = difflib.get_close_matches(unknown[0], REGISTRY, n=3)
        chapters = sorted({name.split(".")[0] for name in REGISTRY})
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ValueError(f"no finding is named {unknown[0]!r}; {hint}chapters: {', '.join(chapters)}")
    return chosen


def run(findings, *, seeds: int | None = None, first_seed: int = 0, progress: Callable | None = None) -> list[Record]:
    """Run each finding on its seeds (``seeds`` of them if given), in order."""
    records = []
    for f in findings:
        n = f.seeds if seeds is None else seeds
        record = Record(f, list(range(first_seed, first_seed + n)))
        for seed in record.seeds:
            # a copy: experiments shared by several findings are cached
            record.outcomes.append({side: float(value) for side, value in f.experiment(seed).items()})
            if progress is not None:
                progress(f.name, seed)
        records.append(record)
    return records


def format_records(records: list[Record]) -> str:
    """A table: each finding with how many seeds it held on, then the mean ± sd of each side."""
    lines = [f"{'finding':<48}{'holds':>7}{'claims':>8}  verdict", "    mean ± sd over the seeds of what it compares"]
    for r in records:
        verdict = "ok" if r.passed else f"FAILS (needs {r.needed}/{len(r.seeds)})"
        lines.append(f"{r.finding.name:<48}{sum(r.held):>4}/{len(r.seeds):<3}{'>= ' + str(r.needed):>7}   {verdict}")
        sides = ", ".join(f"{side} {mean:.3f} ± {sd:.3f}" for side, (mean, sd) in r.spread().items())
        lines += textwrap.wrap(sides, 116, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)


def load(path) -> dict[str, Record]:
    """The records a run wrote to ``path`` (``write_json``), by name, for registered findings."""
    with open(path, encoding="utf-8") as record_file:
        stored = json.load(record_file)
    return {r["name"]: Record(REGISTRY[r["name"]], r["seeds"], r["outcomes"]) for r in stored if r["name"] in REGISTRY}


def write_json(records: list[Record], path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump([r.as_json() for r in records], out, indent=1)
        out.write("\n")
