"""Crafted submissions against the grader (issue 9): each attack class is
neutralised. The attacker gets at most the points its correct answers earn,
an innocent classmate graded in the same batch gets exactly its grade,
nothing is written outside the output folder, and the checkout is unchanged.

Two batches: one on the synthetic exercise 01_arith (3 tasks: 1, 2, 3 points),
one on the real exercise 03_scoring (10 points), each graded once (2 at a time)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from minnet_course import sandbox
from minnet_course.grade import grade
from minnet_course.release import release
from minnet_course.sandbox import Limits

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "course" / "fixtures" / "solutions" / "01_arith.ipynb"
MARKER = "minnet-attack-marker-7f3a"
ADD = "def add(a, b):\n    return a + b\n"


def checkout_digest() -> str:
    """One hash over the package and the exercises (sources and student copies)."""
    digest = hashlib.sha256()
    for folder in (ROOT / "minnet", ROOT / "exercises"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def answered(student, answers: dict):
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


# Each attacker answers task 1 correctly (1 point) and tries to forge the rest.
ARITH_ATTACKS = {
    "forged_files": """
        import json, os, glob
        forged = json.dumps({"status": "ok", "message": "", "cells": {"4": {"ok": True}, "7": {"ok": True},
                                                                  "10": {"ok": True}}})
        for folder in [".", "..", "../..", "../../..", os.environ.get("TMPDIR", "/tmp"), "/tmp"]:
            for name in ["status.json", "out.ipynb", "grades.json"]:
                try:
                    open(os.path.join(folder, name), "w").write(forged)
                except OSError:
                    pass
        graders = [p.split("/")[2] for p in glob.glob("/proc/*/cmdline") if b"minnet_course" in open(p, "rb").read()]
        for fd in [f for pid in graders for f in glob.glob(f"/proc/{pid}/fd/*")]:  # the grader's pipes
            try:
                with open(fd, "w") as pipe:
                    pipe.write(forged)
            except OSError:
                pass
        os.write(1, forged.encode())
        os.write(2, forged.encode())
        """,
    "racer": f"""
        import subprocess, sys
        code = ("import time, glob\\nfor _ in range(200):\\n    for p in glob.glob('/tmp/*/status.json'):\\n"
                "        open(p, 'w').write('{{}}')\\n    time.sleep(0.05)")
        subprocess.Popen([sys.executable, "-c", code, "{MARKER}"], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.Popen(["sh", "-c", "sleep 30; echo {MARKER}"], start_new_session=True)
        """,
    "patcher": """
        import builtins, sys
        builtins.AssertionError = type("Nope", (Exception,), {})
        _real_isinstance = builtins.isinstance
        builtins.all = lambda *a, **k: True
        ip = get_ipython()
        ip.input_transformers_post.append(lambda lines: ["pass\\n"])
        def scale(values, factor):
            return "anything"
        roots = "anything"
        """,
    "flood": """
        print("x" * 10_000_000)
        from IPython.display import HTML, display
        display(HTML("<b>" + "y" * 10_000_000 + "</b>"))
        """,
    "batch_breaker": """
        import os
        for i in range(2000):  # files in its folder while the grader cleans up
            open(f"junk{i}", "w").write("{\\"points\\": \\"lots\\"}")
        os.makedirs("a/b/c", exist_ok=True)
        os.chmod("a", 0)
        """,
    "memory_bomb": """
        import numpy as np
        chunks = []
        try:
            for _ in range(200):  # 64 MB at a time, every page touched, far past the limit
                chunks.append(np.ones(8 * 2**20))
        finally:
            print("allocated", len(chunks), "chunks of 64 MB before the limit")
        """,
    "fork_bomb": f"""
        import os, time
        children = 0
        try:
            for _ in range(2000):
                if os.fork() == 0:
                    os.execvp("sh", ["sh", "-c", "sleep 60", "{MARKER}"])
                children += 1
        finally:
            print("started", children, "processes before the limit")
        """,
    "history": f"""
        secret = "{MARKER}"
        """,
}


@pytest.fixture(scope="module")
def arith(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    sources = root / "exercises" / "solutions"
    sources.mkdir(parents=True)
    shutil.copy(FIXTURE, sources)
    release(sources, root / "exercises")
    student = nbformat.read(root / "exercises" / "01_arith.ipynb", as_version=4)
    paths = {}
    for name, code in {**ARITH_ATTACKS, "innocent": ""}.items():
        paths[name] = root / name / "01_arith.ipynb"
        paths[name].parent.mkdir()
        answers = {"task1_code": ADD + textwrap.dedent(code)}
        if name == "flood":  # and an error message of 10 MB from task 2
            answers["task2_code"] = 'def scale(values, factor):\n    raise ValueError("z" * 10_000_000)\n'
        nbformat.write(answered(student, answers), paths[name])
    before = checkout_digest()
    history = Path.home() / ".ipython" / "profile_default" / "history.sqlite"
    history_before = history.read_bytes() if history.exists() else None
    out = root / "out"
    results = grade(
        list(paths.values()),
        source_dir=sources,
        out_dir=out,
        timeout=60,
        cell_timeout=10,
        jobs=2,
        limits=Limits(memory_mb=2048, processes=64),
    )
    return {
        "results": dict(zip(paths, results)),
        "root": root,
        "out": out,
        "checkout": (before, checkout_digest()),
        "history": (history_before, history.read_bytes() if history.exists() else None),
    }


@pytest.mark.parametrize("attack", sorted(ARITH_ATTACKS))
def test_an_attack_gets_only_the_points_of_its_correct_answers(arith, attack):
    result = arith["results"][attack]
    assert result["max_total"] == 6
    assert "course's files changed" not in result["message"]
    if attack == "fork_bomb":  # stopped, kernel and all, in its answer cell: nothing after it runs
        assert result["total"] == 0 and result["status"] == "kernel died"
    elif attack == "patcher":  # its input transformer turns the grader's cells into `pass` too: it loses even task 1
        assert result["total"] == 0 and "could not reach your kernel" in result["tasks"]["task1_check"]["error"]
    else:
        assert result["total"] == 1 and result["tasks"]["task1_check"]["passed"], result


def test_the_innocent_classmate_gets_exactly_its_grade(arith):
    result = arith["results"]["innocent"]
    assert result["status"] == "ok" and result["total"] == 1 and result["max_total"] == 6


def test_nothing_is_written_outside_the_output_folder_and_the_checkout_is_unchanged(arith):
    before, after = arith["checkout"]
    assert before == after
    names = ("status.json", "out.ipynb")
    strays = [p for p in arith["root"].rglob("*") if p.name in names or p.name.startswith("junk")]
    assert strays == []
    assert not list(Path("/tmp").glob("*/status.json"))


def test_no_process_of_a_submission_outlives_its_grading(arith):
    time.sleep(1)
    assert processes_with(MARKER) == []


def test_memory_and_process_bombs_hit_their_limits(arith):
    memory = json.dumps(nbformat.read(arith["out"] / "memory_bomb__01_arith.graded.ipynb", as_version=4).cells)
    assert "MemoryError" in memory
    chunks = int(memory.split("allocated ")[1].split()[0])
    assert chunks < 2048 // 64  # stopped below the 2 GB address-space limit, never near the machine's memory
    fork_bomb = arith["results"]["fork_bomb"]  # stopped by the limit on processes (64 here), whoever runs it
    assert fork_bomb["status"] == "kernel died" and "more than 64 processes" in fork_bomb["message"]
    assert fork_bomb["total"] == 0  # it died in the cell of task 1, before its check


def test_outputs_are_capped(arith):
    out = arith["out"]
    assert (out / "grades.json").stat().st_size < 50_000
    for path in out.glob("*.graded.ipynb"):
        assert path.stat().st_size < 1_000_000, path
    flood = arith["results"]["flood"]["tasks"]["task2_check"]["error"]
    assert flood.startswith("ValueError: zzz") and len(flood) <= 600


def test_no_submission_code_reaches_the_teachers_ipython_history(arith):
    before, after = arith["history"]
    assert before == after
    assert after is None or MARKER.encode() not in after


def test_bwrap_binds_the_python_installation_over_its_private_tmp():
    command = sandbox.bwrap_command("/tmp/minnet-grade-x")
    binds = [i for i, arg in enumerate(command) if arg in ("--ro-bind", "--bind")]
    assert command.index("--tmpfs") < min(binds)  # a virtualenv under /tmp stays visible


def test_the_sandbox_says_what_it_cannot_protect_against():
    gaps = sandbox.describe(use_bwrap=False)
    assert any("bwrap" in gap and "solutions" in gap for gap in gaps)
    assert sandbox.describe(use_bwrap=True) == [] or os.geteuid() != 0


# --- the real exercise 03_scoring: patched checks, NumPy, builtins; the solution read and run ---------------------

SOLUTIONS = ROOT / "exercises" / "solutions"
MAGNITUDE = "def magnitude_scores(W):\n    return np.abs(W)\n"
SCORING_ATTACKS = {
    "no_op_checks": MAGNITUDE
    + """
import minnet_course.checks.ex03 as ex03
for name in dir(ex03):
    if name.startswith("check_"):
        setattr(ex03, name, lambda *a, **k: None)
checks = ex03
""",
    "numpy_patched": MAGNITUDE
    + """
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
""",
    "builtins_patched": MAGNITUDE
    + """
import builtins
builtins.isinstance = lambda *a: True
builtins.len = lambda *a: 0
""",
    "transformer": MAGNITUDE
    + """
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
""",
    "solution_reader": MAGNITUDE
    + """
import glob, json, os, minnet
candidates = glob.glob(os.path.join(os.path.dirname(minnet.__file__), "..", "exercises", "solutions", "03_*.ipynb"))
for depth in range(4):  # wherever a checkout may be
    candidates += glob.glob("/" + "*/" * depth + "exercises/solutions/03_scoring.ipynb")
for path in candidates[:1]:
    for cell in json.load(open(path))["cells"]:
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), globals())
""",
    "source_modifier": MAGNITUDE
    + """
import minnet_course.checks.ex03 as ex03
try:
    with open(ex03.__file__, "a") as f:
        f.write("\\ndef check_taylor_scores(*a, **k):\\n    pass\\n")
except OSError as exc:
    print("cannot write the checks:", exc)
""",
}


@pytest.fixture(scope="module")
def scoring(tmp_path_factory):
    root = tmp_path_factory.mktemp("scoring")
    student = nbformat.read(ROOT / "exercises" / "03_scoring.ipynb", as_version=4)
    paths = {}
    for name, code in SCORING_ATTACKS.items():
        paths[name] = root / name / "03_scoring.ipynb"
        paths[name].parent.mkdir()
        nbformat.write(answered(student, {"task1_code": code}), paths[name])
    paths["untouched"] = ROOT / "exercises" / "03_scoring.ipynb"  # graded after the modifier
    before = checkout_digest()
    results = grade(
        list(paths.values()), source_dir=SOLUTIONS, out_dir=root / "out", timeout=90, cell_timeout=15, jobs=2
    )
    return dict(zip(paths, results)), (before, checkout_digest())


@pytest.mark.parametrize("attack", sorted(SCORING_ATTACKS))
def test_patching_or_reading_gains_nothing_on_a_real_exercise(scoring, attack):
    result = scoring[0][attack]
    if attack == "solution_reader" and sandbox.bwrap_path() is None:
        assert any("solutions" in gap for gap in sandbox.describe(use_bwrap=False))
        return  # without bubblewrap the solutions are readable, and the grader says so
    assert result["total"] <= 2, result  # task 1's correct answer: 2 points at most
    if attack not in ("builtins_patched", "transformer"):  # those two break their own kernel
        assert result["total"] == 2 and result["tasks"]["task1_check"]["passed"], result


def test_a_modified_checkout_changes_nothing_for_the_next_submission(scoring):
    results, (before, after) = scoring
    assert before == after
    assert results["untouched"]["total"] == 0 and results["untouched"]["status"] == "ok"


# --- without bubblewrap: the same grades, a kernel without privileges ----------------------------------------------


def test_without_bwrap_grades_are_the_same_and_the_kernel_has_no_privileges(tmp_path):
    sources = tmp_path / "exercises" / "solutions"
    sources.mkdir(parents=True)
    shutil.copy(FIXTURE, sources)
    release(sources, tmp_path / "exercises")
    student = nbformat.read(tmp_path / "exercises" / "01_arith.ipynb", as_version=4)
    status = "open('/proc/self/status').read().split('CapEff:')[1].split()[0]"
    probe = ADD + f"import os\nprint('uid', os.getuid(), 'caps', {status})\n"
    paths = {"solution": sources / "01_arith.ipynb", "probe": tmp_path / "probe" / "01_arith.ipynb"}
    paths["probe"].parent.mkdir()
    nbformat.write(answered(student, {"task1_code": probe}), paths["probe"])
    results = grade(
        list(paths.values()), source_dir=sources, out_dir=tmp_path / "out", timeout=60, cell_timeout=10, bwrap=False
    )
    assert [r["total"] for r in results] == [6, 1]
    printed = json.dumps(nbformat.read(tmp_path / "out" / results[1]["feedback"], as_version=4).cells)
    assert "caps 0000000000000000" in printed
    assert os.geteuid() != 0 or sandbox.can_drop_to_nobody() == ("uid 65534" in printed)


@pytest.mark.parametrize("field, value", [("memory_mb", 0), ("processes", -1), ("file_mb", 1.5), ("open_files", True)])
def test_limits_refuse_what_is_not_a_positive_int(field, value):
    with pytest.raises(ValueError, match=f"Limits.{field} should be an int >= 1, got {value!r}"):
        Limits(**{field: value})


def test_the_command_line_refuses_bad_limits_before_grading(tmp_path, capsys):
    from minnet_course.__main__ import main

    code = main(
        ["grade", str(FIXTURE), "--source", str(FIXTURE.parent), "--out", str(tmp_path / "o"), "--memory-mb", "0"]
    )
    assert code == 2 and "memory_mb should be an int >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
