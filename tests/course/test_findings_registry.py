"""The findings registry and its command: a claim holds on its stated share of seeds, or the command fails."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from minnet_course import findings
from minnet_course.__main__ import main
from minnet_course.findings import REGISTRY, Record, finding, run, select
from minnet_course.findings.registry import Finding, share_in_words

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "notebooks" / "findings.json"
# the same findings rerun on fresh seeds (--first-seed 100): the claims must survive a replication too
REPLICATION = ROOT / "notebooks" / "findings_replication.json"
CITED = re.compile(r"`(ch\d\d\.[a-z0-9_]+)`")  # a backticked finding name in prose


@pytest.fixture
def scratch_registry(monkeypatch):
    """A registry holding only what the test registers."""
    monkeypatch.setattr(findings.registry, "REGISTRY", {})
    monkeypatch.setattr(findings, "REGISTRY", findings.registry.REGISTRY)
    return findings.registry.REGISTRY


def test_a_finding_that_fails_its_threshold_fails_the_command(scratch_registry, tmp_path, capsys):
    @finding("test", "the seed is even", holds=lambda o: o["seed"] % 2 == 0, at_least=0.8)
    def parity(seed):
        return {"seed": seed}

    status = main(["findings", "--seeds", "5", "--json", str(tmp_path / "out.json")])
    out = capsys.readouterr().out
    assert status == 1
    assert "test.parity" in out and "3/5" in out and "FAILS (needs 4/5)" in out
    record = json.loads((tmp_path / "out.json").read_text())[0]
    assert record["held"] == [True, False, True, False, True] and record["passed"] is False


def test_a_finding_that_holds_on_its_share_passes(scratch_registry, tmp_path):
    @finding("test", "the seed is even", holds=lambda o: o["seed"] % 2 == 0, at_least=0.6)
    def parity(seed):
        return {"seed": seed}

    assert main(["findings", "--seeds", "5", "--json", str(tmp_path / "out.json")]) == 0


def test_spread_is_the_mean_and_sample_deviation():
    f = findings.Finding("t.x", "claim", lambda seed: {}, lambda o: True, 1.0, 5)
    record = Record(f, [0, 1, 2], [{"a": 1.0}, {"a": 2.0}, {"a": 6.0}])
    mean, sd = record.spread()["a"]
    assert mean == 3.0 and sd == pytest.approx(2.6457513, rel=1e-6)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--only", "ch99"], ["no finding is named 'ch99'"]),
        (["--only", "ch08.noise_cost"], ["did you mean ch08.noise_costs_more_at_80?", "chapters: ch01"]),
        (["--seeds", "1"], ["--seeds must be at least 2", "1"]),
        (["--first-seed", "-3"], ["--first-seed must be >= 0", "-3"]),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(argv, words, capsys, tmp_path):
    assert main(["findings", *argv, "--json", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert all(word in err for word in words)
    assert not (tmp_path / "x.json").exists()


def test_registering_twice_or_an_impossible_share_is_an_error(scratch_registry):
    with pytest.raises(ValueError, match="at_least"):
        finding("test", "c", holds=bool, at_least=0)
    with pytest.raises(ValueError, match="at least 5 seeds"):
        finding("test", "c", holds=bool, seeds=3)

    def twin(seed):
        return {}

    finding("test", "c", holds=bool)(twin)
    with pytest.raises(ValueError, match="twice"):
        finding("test", "c", holds=bool)(twin)


def _cited():
    names = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) + [ROOT / "README.md"]:
        text = path.read_text()
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "markdown")
        names |= set(CITED.findall(text))
    return names


def test_every_finding_the_course_cites_is_registered_and_recorded():
    cited = _cited()
    assert cited, "the notebooks cite no finding: the pattern or the notebooks changed"
    recorded = {r["name"] for r in json.loads(RESULTS.read_text())}
    assert cited <= set(REGISTRY), f"cited but not registered: {sorted(cited - set(REGISTRY))}"
    assert set(REGISTRY) <= recorded, f"registered but not in {RESULTS.name}: {sorted(set(REGISTRY) - recorded)}"


@pytest.mark.parametrize("path", [RESULTS, REPLICATION], ids=["record", "replication"])
def test_every_recorded_finding_holds_on_its_terms(path):
    stored = json.loads(path.read_text())
    assert {r["name"] for r in stored} == set(REGISTRY), f"{path.name} is not a run of every registered finding"
    for r in stored:
        assert r["passed"] and sum(r["held"]) >= r["needed"], r["name"]
        assert len(r["seeds"]) >= 5, r["name"]


def test_the_replication_ran_on_seeds_the_record_did_not_use():
    record = {r["name"]: set(r["seeds"]) for r in json.loads(RESULTS.read_text())}
    for r in json.loads(REPLICATION.read_text()):
        assert not record[r["name"]] & set(r["seeds"]), r["name"]


@pytest.mark.parametrize("path", [RESULTS, REPLICATION], ids=["record", "replication"])
def test_the_record_was_made_with_the_registered_claims_and_thresholds(path):
    """A claim or a threshold edited after the record was made leaves the record stale."""
    for stored in json.loads(path.read_text()):
        f = REGISTRY[stored["name"]]
        assert stored["claim"] == f.statement, f"{f.name}: the claim changed; rerun the findings command"
        record = Record(f, stored["seeds"], stored["outcomes"])
        assert record.held == stored["held"] and record.needed == stored["needed"], f"{f.name}: the test changed"


@pytest.mark.parametrize(
    "name",
    [
        "ch03.magnitude_beats_random_80",
        "ch04.magnitude_beats_random_90",
        "ch06.schedules_close_at_90",
        "ch08.shifts_cost_more_at_80",
    ],
)
def test_the_results_file_matches_a_fresh_run_of_a_cheap_subset(name):
    """The committed record is what the code computes: the first seed of three findings, rerun."""
    stored = {r["name"]: r for r in json.loads(RESULTS.read_text())}[name]
    (fresh,) = run(select([name]), seeds=1, first_seed=stored["seeds"][0])
    assert fresh.outcomes[0] == pytest.approx(stored["outcomes"][0], abs=1e-9)


@pytest.mark.parametrize(
    "share, words",
    [
        (1.0, "on every seed"),
        (0.9, "on at least 9 seeds in 10"),
        (0.8, "on at least 4 seeds in 5"),
        (0.5, "on at least half of the seeds"),
        (0.3, "on at least 3 seeds in 10"),
        (0.1, "on at least 1 seed in 10"),
    ],
)
def test_a_claim_states_its_share_of_seeds_in_words(share, words):
    assert share_in_words(share) == words
    f = Finding("chXX.x", "it holds", lambda seed: {}, bool, share, 10)
    assert f.statement == f"it holds, {words}"
