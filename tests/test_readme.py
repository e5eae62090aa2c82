"""The README's two commands stay true: CI runs the exact test command."""

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_readme_starts_with_install_and_test_commands():
    install, test = readme_commands()
    assert 'pip install -e ".[lab,dev]"' in install and install.endswith("jupyter lab notebooks/")
    assert test.startswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    _, test = readme_commands()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in ci_lines


def test_pyproject_extras_and_nbval_options():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert {"lab", "dev", "bench"} <= set(extras)
    assert any(dep.startswith("nbval") for dep in extras["dev"])
    addopts = project["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--nbval" in addopts and "--nbval-current-env" in addopts
    sanitize = addopts.split("--nbval-sanitize-with")[1].split()[0]
    assert (ROOT / sanitize).is_file()
