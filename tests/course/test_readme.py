"""The README's two commands stay true: CI runs the exact test command."""

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_readme_starts_with_install_and_test_commands():
    install, test = readme_commands()
    assert 'pip install -e ".[lab,dev]"' in install
    # Given only a file, jupyter_server serves the file's folder (notebooks/, where exercises/ is out of
    # reach); root_dir=. serves the project and opens the file inside it (tests/course/test_browser.py runs it)
    assert install.endswith("jupyter lab --ServerApp.root_dir=. notebooks/00_welcome.ipynb")
    assert (ROOT / "notebooks" / "00_welcome.ipynb").is_file()
    assert test.startswith("python -m pytest")


def test_relative_links_in_notebooks_and_readme_resolve():
    """Every relative markdown link (course map, exercise pointers) names a file or folder that exists."""
    import json

    sources = {ROOT / "README.md": (ROOT / "README.md").read_text()}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("**/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        sources[path] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    links = 0
    for path, text in sources.items():
        for target in re.findall(r"\]\(([^)#\s]+)\)", text):
            if "://" in target:
                continue
            links += 1
            assert (path.parent / target).exists(), f"{path.name} links {target}, which does not exist"
    assert links >= 30


def test_ci_runs_the_readme_test_command_verbatim():
    _, test = readme_commands()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in ci_lines


def test_pyproject_extras_and_nbval_options():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert {"lab", "dev", "course", "torch"} <= set(extras)
    assert any(dep.startswith("nbval") for dep in extras["dev"])
    # chapter 12's extra: everything tests/lib/test_interop.py and the chapter import
    assert {dep.split(">")[0].split("=")[0] for dep in extras["torch"]} == {
        "torch",
        "onnx",
        "onnxruntime",
        "torch-pruning",
    }
    addopts = project["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--nbval" in addopts and "--nbval-current-env" in addopts
    sanitize = addopts.split("--nbval-sanitize-with")[1].split()[0]
    assert (ROOT / sanitize).is_file()


def test_every_chapter_with_an_exercise_links_it_and_the_course_map_links_them_all():
    import json

    exercises = sorted(p.name for p in (ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    welcome = (ROOT / "notebooks" / "00_welcome.ipynb").read_text()
    for name in exercises:
        chapter = json.loads((ROOT / "notebooks" / name).read_text())
        text = "\n".join("".join(c["source"]) for c in chapter["cells"] if c["cell_type"] == "markdown")
        assert f"](../exercises/{name})" in text, f"chapter {name} does not link its exercise"
        assert f"../exercises/{name}" in welcome, f"the course map does not link exercise {name}"


def test_the_conda_environment_opens_and_installs_like_the_readme():
    text = (ROOT / "environment.yml").read_text()
    install, _ = readme_commands()
    assert install.rsplit("&& ", 1)[1] in text.splitlines()[0]  # the same `jupyter lab ...` as the README
    assert "- -e .[lab,dev]" in text


def test_ci_installs_the_torch_extra_before_the_tests():
    """CI runs chapter 12 and the interop tests instead of skipping them: it installs the extra."""
    ci = (ROOT / ".ci" / "run").read_text()
    _, test = readme_commands()
    assert ci.index('.[lab,dev,torch]"') < ci.index(test)


def test_without_the_torch_extra_chapter_12_is_skipped_with_the_reason(tmp_path):
    """A fresh interpreter where torch cannot be imported collects chapter 12 as skipped, with one
    line that names the extra, and the interop tests likewise."""
    import subprocess
    import sys

    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import importlib.abc, sys\n"
        "class _NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'torch_pruning', 'onnx', 'onnxruntime'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "        return None\n"
        "sys.meta_path.insert(0, _NoTorch())\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-q", "notebooks/12_next_steps.ipynb", "tests/lib/test_interop.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "passed" not in result.stdout.splitlines()[-1], result.stdout[-2000:]
    assert "needs the [torch] extra" in result.stdout and "pip install -e '.[torch]'" in result.stdout
