"""The course as a learner sees it: JupyterLab started as the README starts it,
driven in a real (headless) Chromium. It opens the welcome chapter, a chapter
with figures and a student exercise, runs every cell with Shift+Enter as a
learner would, and asserts what a person would notice at once: error output
other than the expected "not implemented yet" of a student copy, a markdown
cell rendered as a code block, a link to a file the server cannot reach, a
figure that does not render, a notebook marked modified the moment it opens,
and a ``fit(..., verbose=True)`` without its progress bar.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them);
without them the module is skipped with the reason, unless
``MINNET_REQUIRE_BROWSER=1`` (set by CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from test_readme import readme_commands

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError:  # pragma: no cover - selenium is a dev dependency
    webdriver = None

_missing = [
    name
    for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER), ("selenium", webdriver))
    if not found
]
if _missing:
    if os.environ.get("MINNET_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"the browser test needs {', '.join(_missing)} (apt-get install chromium chromium-driver)")
    pytest.skip(
        f"no {', '.join(_missing)}: apt-get install chromium chromium-driver to run the browser test",
        allow_module_level=True,
    )

CHAPTER = "notebooks/01_network.ipynb"  # figures, and quick to run
EXERCISE = "exercises/03_scoring.ipynb"  # a student copy: stubs and checks
NOT_DONE = ("is not implemented yet", "NotImplementedError")
CELL_TIMEOUT = 120  # seconds for one cell
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the current tab


def _js(driver, script: str, *args):
    """Run ``script`` in the page, with ``PANEL`` (the current notebook's selector) defined."""
    return driver.execute_script(f"const PANEL = {json.dumps(PANEL)};" + script, *args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab as the README's first command starts it (rooted at the project,
    opened on a notebook), on a copy of the project so that nothing a run saves
    lands in the checkout. Notebook windowing is off so every cell is in the page."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "course"
    root.mkdir()
    for name in ("notebooks", "exercises", "README.md"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = _free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), IPYTHONDIR=str(home / "ipython"))
    env.pop("JUPYTER_TOKEN", None)
    readme_lab = readme_commands()[0].rsplit("&& ", 1)[1]  # "jupyter lab ...", as a learner types it
    command = [sys.executable, "-m", *shlex.split(readme_lab)]
    command += [f"--port={port}", "--no-browser", "--ServerApp.token=", "--ServerApp.password="]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError((home / "server.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        options = webdriver.ChromeOptions()
        for flag in (
            "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
            "--disable-background-networking --disable-component-update --disable-sync --window-size=1400,1000"
        ).split():
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={home / 'chrome'}")
        options.binary_location = CHROMIUM
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
        driver.set_page_load_timeout(60)
        try:
            yield base, driver, root
        finally:
            driver.quit()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _open(driver, base: str, path: str, root: Path) -> list:
    """Open ``path`` in JupyterLab and wait until all its cells are in the page
    and its kernel has started and is idle (as the status bar shows it)."""
    driver.get(f"{base}/lab/tree/{path}?reset")  # ?reset: no tabs restored from the previous test
    count = len(nbformat.read(root / path, as_version=4).cells)
    cells = _wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, f"{PANEL} .jp-Cell")) == count)
    _wait(driver, lambda: _kernel_idle(driver), timeout=120)
    return cells


def _kernel_idle(driver) -> bool:
    status = driver.find_element(By.CSS_SELECTOR, ".jp-StatusBar-Widget").text
    return (
        "ipykernel" in status
        and "Idle" in status
        and bool(
            _js(
                driver,
                "const s = document.querySelector(PANEL + ' .jp-Notebook-ExecutionIndicator');"
                "return s !== null && s.getAttribute('data-status') === 'idle';",
            )
        )
    )


def _wait(driver, condition, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = condition()
        except Exception:  # noqa: BLE001 - the page is still being built
            value = None
        if value:
            return value
        time.sleep(0.25)
    driver.save_screenshot("/tmp/minnet-browser-test-timeout.png")
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for the page (screenshot in /tmp)")


def _run_every_cell(driver) -> None:
    """Shift+Enter from the first cell to the last, waiting for each, as a learner
    does (Run All would stop at the first stub's NotImplementedError)."""
    cells = driver.find_elements(By.CSS_SELECTOR, f"{PANEL} .jp-Cell")
    cells[0].find_element(By.CSS_SELECTOR, ".jp-InputPrompt, .jp-InputArea-prompt").click()
    for index in range(len(cells)):
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
        _wait(driver, lambda i=index: _finished(driver, i), timeout=CELL_TIMEOUT)


def _finished(driver, index: int) -> bool:
    return bool(
        _js(
            driver,
            "const cells = document.querySelectorAll(PANEL + ' .jp-Cell');"
            "const cell = cells[arguments[0]];"
            "if (!cell.classList.contains('jp-CodeCell')) return true;"
            "const prompt = cell.querySelector('.jp-InputPrompt').textContent;"
            "return /\\[\\d+\\]/.test(prompt) && !/\\*/.test(prompt);",
            index,
        )
    )


def _error_outputs(driver) -> list[str]:
    return _js(
        driver,
        "return Array.from(document.querySelectorAll("
        "PANEL + ' .jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]'"
        ")).map(e => e.textContent);",
    )


def _markdown_as_code(driver, path: Path) -> list[str]:
    """Markdown cells whose source has no code fence but whose rendering has a code block."""
    nb = nbformat.read(path, as_version=4)
    has_pre = _js(
        driver,
        "return Array.from(document.querySelectorAll(PANEL + ' .jp-Cell'))"
        ".map(c => c.classList.contains('jp-MarkdownCell') ?"
        " c.querySelectorAll('.jp-RenderedMarkdown pre').length : -1);",
    )
    assert len(has_pre) == len(nb.cells), "the page shows another number of cells than the notebook has"
    return [
        cell.source[:80]
        for cell, pre in zip(nb.cells, has_pre)
        if cell.cell_type == "markdown" and pre > 0 and "```" not in cell.source
    ]


def _links(driver) -> list[tuple[str, str]]:
    """(text, path on the server) of every link to a file of the course in the open notebook."""
    hrefs = _js(
        driver,
        "return Array.from(document.querySelectorAll(PANEL + ' .jp-RenderedMarkdown a'))"
        ".map(a => [a.textContent, a.href]);",
    )
    out = []
    for text, href in hrefs:
        parsed = urllib.parse.urlparse(href)
        if parsed.path.startswith("/files/"):
            out.append((text, urllib.parse.unquote(parsed.path[len("/files/") :])))
    return out


def _exists(base: str, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/api/contents/{urllib.parse.quote(path)}?content=0", timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def _dirty(driver) -> bool:
    return bool(driver.find_elements(By.CSS_SELECTOR, ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"))


def test_the_welcome_chapter_runs_cleanly_and_its_links_reach_every_exercise(lab):
    base, driver, root = lab
    _open(driver, base, "notebooks/00_welcome.ipynb", root)
    assert not _dirty(driver), "00_welcome is marked modified as soon as it opens (kernelspec or metadata)"
    links = _links(driver)
    exercises = sorted(p for _, p in links if p.startswith("exercises/") and p.endswith(".ipynb"))
    assert exercises == sorted(f"exercises/{p.name}" for p in (root / "exercises").glob("[0-9][0-9]_*.ipynb"))
    unreachable = [(text, path) for text, path in links if not _exists(base, path)]
    assert not unreachable, f"links the server cannot reach: {unreachable}"
    assert not _markdown_as_code(driver, root / "notebooks/00_welcome.ipynb")
    _run_every_cell(driver)
    assert not _error_outputs(driver)
    assert driver.find_elements(By.CSS_SELECTOR, ".jp-RenderedImage img"), "the welcome figure did not render"


def test_a_chapter_shows_its_figures_and_links_its_exercise(lab):
    base, driver, root = lab
    _open(driver, base, CHAPTER, root)
    assert not _dirty(driver), f"{CHAPTER} is marked modified as soon as it opens"
    assert not _markdown_as_code(driver, root / CHAPTER)
    links = [path for _, path in _links(driver)]
    assert "exercises/01_network.ipynb" in links and all(_exists(base, p) for p in links)
    _run_every_cell(driver)
    assert not _error_outputs(driver)
    images = _js(
        driver,
        "return Array.from(document.querySelectorAll(PANEL + ' .jp-RenderedImage img')).map(i => i.naturalWidth);",
    )
    expected = sum(
        "image/png" in output.get("data", {})
        for cell in nbformat.read(root / CHAPTER, as_version=4).cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert len(images) == expected and all(width > 100 for width in images), images


def test_a_student_exercise_shows_only_the_not_done_feedback(lab):
    base, driver, root = lab
    _open(driver, base, EXERCISE, root)
    assert not _dirty(driver), f"{EXERCISE} is marked modified as soon as it opens"
    assert not _markdown_as_code(driver, root / EXERCISE)
    _run_every_cell(driver)
    errors = _error_outputs(driver)
    assert errors, "the stubs should fail their checks"
    unexpected = [text[:300] for text in errors if not any(phrase in text for phrase in NOT_DONE)]
    assert not unexpected, unexpected
    checks = [text for text in errors if "is not implemented yet" in text]
    assert checks and all(len(text.splitlines()) <= 3 for text in checks), "a check shows more than its message"
    assert not any("minnet_course" in text or "expected =" in text for text in errors)


def test_fit_with_verbose_shows_a_progress_bar_widget(lab):
    base, driver, root = lab
    scratch = nbformat.v4.new_notebook()
    scratch.cells = [
        nbformat.v4.new_code_cell(
            "import minnet\n"
            "data = minnet.data.load_digits(rng=0)\n"
            "model = minnet.mlp([64, 16, 10], rng=0)\n"
            "history = minnet.fit(model, data.X_train, data.y_train, epochs=2, rng=0, verbose=True)"
        )
    ]
    scratch.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(scratch, root / "notebooks" / "scratch.ipynb")
    _open(driver, base, "notebooks/scratch.ipynb", root)
    _run_every_cell(driver)
    assert not _error_outputs(driver)
    bars = driver.find_elements(By.CSS_SELECTOR, f"{PANEL} .jp-OutputArea-output .widget-hprogress .progress-bar")
    assert bars, "fit(verbose=True) printed text instead of a progress bar widget"
    assert "IProgress" not in driver.find_element(By.CSS_SELECTOR, PANEL).text
