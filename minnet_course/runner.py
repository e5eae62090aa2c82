"""Run one graded notebook: the learner's cells in a walled-in kernel, the checks here.

``python -m minnet_course.runner`` reads ``(notebook, settings)`` (a pickle,
from the grader) on stdin and writes the outcome as JSON on its stdout, a pipe
only the grader holds (the kernel gets neither this process's stdout nor its
stderr). The outcome lives in this process's memory until then: nothing the
kernel can write is ever read back as a result.

How the cells are run:

- instruction, answer and try-it cells run in the kernel, as in JupyterLab;
- the ``setup`` cell runs in the kernel *and* here, so the checks have their
  own pristine data and models;
- a grade cell runs *here*, never in the kernel: the names it uses that it
  does not define come from the kernel through ``wire`` (functions as
  proxies, data as copies), and while it runs the kernel serves those calls.
  The points depend only on whether this process saw the cell finish
  without an error.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import math
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import sandbox
from .feedback import CheckFailed
from .notebooks import grade_id, is_grade, is_solution
from .wire import GONE, MAX_TEXT, Endpoint, LearnerError, WireError

SETUP_ID = "setup"
TIMEOUT_ENAME = "CellTimeoutError"
MAX_OUTPUT_CHARS = 20_000  # per output, in the feedback notebook
MAX_OUTPUTS = 50  # per cell
ANSWER_WAIT = 5  # seconds a stuck kernel gets to answer after an interrupt


def cell_role(cell) -> str:
    """'markdown', 'grade' (runs in the checker), 'setup' (both) or 'kernel'."""
    if cell.get("cell_type") != "code":
        return "markdown"
    if is_solution(cell):
        return "kernel"
    if is_grade(cell):
        return "grade"
    return "setup" if grade_id(cell) == SETUP_ID else "kernel"


def free_names(source: str) -> set[str]:
    """Names a cell reads that it may not define itself (every scope, comprehensions included)."""
    tree = ast.parse(source)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def defined_names(source: str) -> set[str]:
    """Names a cell binds at its top level."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _text(value, limit: int = MAX_OUTPUT_CHARS) -> str:
    value = value if isinstance(value, str) else str(value)
    return value if len(value) <= limit else value[:limit] + "\n[... cut by the grader ...]\n"


def cap_outputs(outputs) -> list:
    """Every output of a cell cut to size: text, errors, rich data; at most ``MAX_OUTPUTS``."""
    kept = []
    for output in list(outputs)[:MAX_OUTPUTS]:
        kind = output.get("output_type")
        if kind == "stream":
            output["text"] = _text(output.get("text", ""))
        elif kind == "error":
            output["ename"] = _text(output.get("ename", ""), 200)
            output["evalue"] = _text(output.get("evalue", ""), MAX_TEXT)
            lines = [_text(line, MAX_TEXT) for line in list(output.get("traceback", []))[-40:]]
            output["traceback"] = lines
        else:
            data = output.get("data", {})
            for mime in list(data):
                value = data[mime]
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                if len(value) > 4 * MAX_OUTPUT_CHARS * (25 if mime.startswith("image/") else 1):
                    data[mime] = "[... cut by the grader ...]" if not mime.startswith("image/") else ""
                    if mime.startswith("image/"):
                        del data[mime]
        kept.append(output)
    if len(outputs) > MAX_OUTPUTS:
        kept.append({"output_type": "stream", "name": "stdout", "text": "[... more outputs cut by the grader ...]\n"})
    return kept


def error_output(exc: BaseException) -> dict:
    """How a failed grade cell shows: the check's message, or the learner's own
    traceback; never the check's frames (they hold the reference answers)."""
    if isinstance(exc, CheckFailed) or (type(exc) is AssertionError):
        ename, lines = "AssertionError", []
    elif isinstance(exc, LearnerError):
        ename, lines = type(exc).__name__, exc.learner_traceback.rstrip("\n").splitlines()[:-1]
    elif isinstance(exc, TimeoutError):
        ename, lines = TIMEOUT_ENAME, []
    else:
        ename = type(exc).__name__
        lines = ["(raised inside the check while it used what your code gave it: look at its type and shape)"]
    evalue = _text(str(exc), MAX_TEXT)
    first = (evalue.strip().splitlines() or [""])[0]
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [*(_text(line, MAX_TEXT) for line in lines[-30:]), f"{ename}: {first}"],
    }


class Checker:
    """The checks' side: the setup cells' namespace and the socket the kernel calls back on."""

    def __init__(self, folder: Path):
        self.namespace: dict = {"__name__": "__checker__", "__builtins__": builtins}
        self.folder, self.cells = folder, 0

    def listen(self) -> socket.socket:
        """A fresh socket for one grade cell (a stale connection can never answer the next)."""
        self.cells += 1
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.folder / f"wire-{self.cells}.sock"))
        os.chmod(listener.getsockname(), 0o777)  # the kernel may run as nobody
        listener.listen(1)
        return listener

    def run_setup(self, source: str, needed: set[str]) -> None:
        """The setup cell, here too; only its imports when the checks need nothing else from it."""
        tree = ast.parse(source)
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        imported = defined_names(ast.unparse(ast.Module(body=imports, type_ignores=[]))) if imports else set()
        if not (needed & defined_names(source)) - imported:
            tree = ast.Module(body=imports, type_ignores=[])
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(tree, "<setup>", "exec"), self.namespace)

    def run_grade(self, listener, source: str, seconds: float) -> tuple[BaseException | None, str]:
        """Run a grade cell against the kernel that serves on ``listener``; returns (error, printed)."""
        printed = io.StringIO()
        listener.settimeout(seconds)
        try:
            with listener:
                connection, _ = listener.accept()
        except OSError:
            return WireError(GONE), ""
        deadline = time.monotonic() + seconds
        with connection:
            connection.settimeout(max(0.1, deadline - time.monotonic()))
            endpoint = Endpoint(connection, checker=True)
            error = None
            try:
                wanted = free_names(source) - set(self.namespace) - set(dir(builtins))
                scope = {**self.namespace, **(endpoint.get(sorted(wanted)) if wanted else {})}
                with contextlib.redirect_stdout(printed):
                    exec(compile(source, "<check>", "exec"), scope)
                for name, value in scope.items():
                    if name not in wanted and not name.startswith("__"):
                        self.namespace[name] = value
            except socket.timeout:
                error = TimeoutError(f"did not finish within the time limit of {seconds:g} s (an endless loop?)")
            except BaseException as exc:  # the check failed, whatever the way
                error = exc
            finally:
                with contextlib.suppress(OSError, WireError):
                    connection.settimeout(1)
                    endpoint.send(("bye",))
        return error, printed.getvalue()


def serve_code(path: str) -> str:
    """What the kernel runs while a grade cell is checked."""
    return f'__import__("minnet_course.wire", fromlist=["serve"]).serve({path!r}, globals())'


# --- the kernel -------------------------------------------------------------------------------------------------------


def kernel_manager(folder: Path, settings: dict):
    """A kernel manager for this Python, launched through the sandbox, speaking over
    Unix sockets in ``folder`` (a sandbox without network has no localhost)."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    python = sys.executable
    argv = [python, "-m", "minnet_course.sandbox", "--", python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    argv += ["--HistoryManager.enabled=False", "--HistoryManager.hist_file=:memory:"]
    spec = ipykernel.kernelspec.get_kernel_dict()

    class Specs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            # interrupts as messages: a SIGINT to the launcher's group would end bwrap, not the cell
            fields = {**spec, "argv": argv, "interrupt_mode": "message"}
            return KernelSpec(resource_dir=ipykernel.kernelspec.RESOURCES, **fields)

    manager = AsyncKernelManager(
        kernel_name="minnet-grader",
        kernel_spec_manager=Specs(),
        transport="ipc",
        ip=str(folder / "ipc" / "kernel"),
        connection_file=str(folder / "ipc" / "connection.json"),
    )
    return manager


def kernel_environment(folder: Path, settings: dict, use_bwrap: bool) -> dict:
    """A small, clean environment: nothing of the teacher's (tokens, paths) leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(folder / "home"),
        "IPYTHONDIR": str(folder / "home" / ".ipython"),
        "MPLCONFIGDIR": str(folder / "home" / ".matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(folder / "ipc"),
        "TMPDIR": str(folder / "tmp"),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("OPENBLAS_CORETYPE", "MINNET_NUM_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    config = {
        "limits": settings["limits"],
        "timeout": settings["timeout"],
        "bwrap": use_bwrap,
        "writable": str(folder),
        "give": [str(folder)],
    }
    env.update(sandbox.sandbox_environment(config))
    return env


def run(nb, settings: dict) -> dict:
    """Execute ``nb`` (an nbformat notebook); returns the outcome (JSON-able).

    ``settings``: timeout and cell_timeout (seconds), limits (``sandbox.Limits``),
    bwrap (True: bwrap is installed and works; the grader probes it once)."""
    import nbclient
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import DeadKernelError

    timeout, cell_timeout = settings["timeout"], settings["cell_timeout"]
    deadline = time.monotonic() + timeout
    outcome = {"status": "ok", "message": "", "cells": {}, "sandbox": [], "outputs": {}}
    use_bwrap = settings.get("bwrap") is True  # the grader found bwrap working (it probes once)
    outcome["sandbox"] = sandbox.describe(use_bwrap)
    folder = Path(tempfile.mkdtemp(prefix="minnet-grade-"))
    for name in ("home", "work", "tmp", "ipc"):
        (folder / name).mkdir()
    os.chmod(folder, 0o711)
    checker = Checker(folder)
    env = kernel_environment(folder, settings, use_bwrap)
    replies = {}

    def new_client():
        manager = kernel_manager(folder, settings)
        client = nbclient.NotebookClient(
            nb,
            km=manager,
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "time limit", "traceback": []},
            record_timing=False,
            shutdown_kernel="immediate",
            startup_timeout=max(10, math.ceil(min(timeout, 60))),
            iopub_timeout=2,
        )
        client.on_cell_executed = lambda cell_index, execute_reply, **_: replies.__setitem__(cell_index, execute_reply)
        return manager, client

    def record(index, **fields):
        outcome["cells"][str(index)] = {"ok": False, "timed_out": False, "died": False, **fields}

    def stop(status, message):
        outcome.update(status=status, message=message)

    try:
        for attempt in (1, 2):  # a kernel that dies while starting (a busy machine) gets one more, walled in too
            manager, client = new_client()
            try:
                with (
                    client.setup_kernel(env=env, cwd=str(folder / "work")),
                    sandbox.Watchdog(settings["limits"]) as dog,
                ):
                    if client.km is not manager:  # never a kernel outside the walls
                        raise RuntimeError("the kernel was not started through the sandbox")
                    _run_cells(nb, client, checker, replies, record, stop, deadline, cell_timeout, DeadKernelError)
                if dog.reason and outcome["status"] == "kernel died":
                    outcome["message"] += f": the grader stopped it, because {dog.reason}"
            except Exception as exc:  # the kernel could not start, or nbclient failed: report it, never hang
                stop("error", _text(f"{type(exc).__name__}: {exc}".strip().splitlines()[0], 500))
            finally:
                with contextlib.suppress(Exception):
                    run_sync(manager.shutdown_kernel)(now=True)
                sandbox.kill_descendants()
            starting = "before replying to kernel_info" in outcome["message"] or "didn't respond" in outcome["message"]
            if not (outcome["status"] == "error" and starting and not outcome["cells"] and attempt == 1):
                break
            outcome.update(status="ok", message="")
    finally:
        _remove(folder)
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code":
            outcome["outputs"][str(index)] = cap_outputs(cell.get("outputs", []))
            outcome.setdefault("counts", {})[str(index)] = cell.get("execution_count")
    return outcome


def _run_cells(nb, client, checker, replies, record, stop, deadline, cell_timeout, DeadKernelError):
    from nbformat.v4 import new_code_cell

    for index, cell in enumerate(nb.cells):
        role = cell_role(cell)
        if role == "markdown":
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            stop("timeout", "the time limit of the whole notebook was reached")
            return
        limit = min(cell_timeout, left)
        client.timeout = max(1, math.ceil(limit))
        if role == "grade":
            holder, listener = {}, checker.listen()
            path = listener.getsockname()
            thread = threading.Thread(target=_check_into, args=(holder, checker, listener, cell.source, limit))
            serve_cell = new_code_cell(serve_code(path))
            thread.daemon = True
            thread.start()
            try:
                client.execute_cell(serve_cell, index)
            except DeadKernelError:
                nb.cells[index] = cell
                _poke(path)
                thread.join(2)
                record(index, died=True)
                cell.outputs = serve_cell.outputs
                stop("kernel died", f"the kernel died while running cell {index + 1}")
                return
            _poke(path)  # the kernel stopped serving: a check still waiting for it gives up now
            thread.join(max(1, limit))
            error, printed = holder.get("result", (TimeoutError("the check did not finish"), ""))
            content = (replies.pop(index, None) or {}).get("content", {})
            timed_out = isinstance(error, TimeoutError) or content.get("ename") == TIMEOUT_ENAME
            outputs = [o for o in serve_cell.outputs if o.get("output_type") != "error"]
            if printed:
                outputs.append({"output_type": "stream", "name": "stdout", "text": printed})
            if error is not None:
                outputs.append(error_output(error))
            nb.cells[index] = cell  # nbclient put the serve cell in its place
            cell.outputs, cell.execution_count = outputs, serve_cell.execution_count
            record(index, ok=error is None, timed_out=timed_out)
            if timed_out:
                if not _timed_out(client, stop, index, limit):
                    return
            continue
        setup = None
        if role == "setup":  # here and in the kernel at once
            needed = set().union(*(free_names(c.source) for c in nb.cells if cell_role(c) == "grade"))
            setup = threading.Thread(target=_setup_into, args=(holder := {}, checker, cell.source, needed))
            setup.start()
        try:
            client.execute_cell(cell, index)
        except DeadKernelError:
            record(index, died=True)
            stop("kernel died", f"the kernel died while running cell {index + 1}")
            cell.outputs.append(
                {"output_type": "error", "ename": "DeadKernelError", "evalue": "the kernel died", "traceback": []}
            )
            return
        if setup is not None:
            setup.join()
            if "error" in holder:  # the source's own setup failed here: nothing can be graded fairly
                stop("error", _text(f"the setup cell failed in the checker: {holder['error']}", 500))
                return
        content = (replies.pop(index, None) or {}).get("content", {"status": "ok"})
        timed_out = content.get("ename") == TIMEOUT_ENAME
        record(index, ok=content.get("status") == "ok", timed_out=timed_out)
        if timed_out:
            cell.outputs.append(
                {
                    "output_type": "error",
                    "ename": TIMEOUT_ENAME,
                    "evalue": f"stopped after {limit:g} s",
                    "traceback": [f"{TIMEOUT_ENAME}: stopped after {limit:g} s (an endless loop?)"],
                }
            )
            if not _timed_out(client, stop, index, limit):
                return


def _setup_into(holder: dict, checker: Checker, source: str, needed: set[str]) -> None:
    try:
        checker.run_setup(source, needed)
    except Exception as exc:
        holder["error"] = f"{type(exc).__name__}: {exc}"


def _check_into(holder: dict, checker: Checker, listener, source: str, seconds: float) -> None:
    holder["result"] = checker.run_grade(listener, source, seconds)


def _poke(path: str) -> None:
    """Connect and hang up: a checker still waiting in accept() gets a dead connection."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)


def _timed_out(client, stop, index: int, limit: float) -> bool:
    """Record a cell past its time limit; whether the interrupted kernel still answers (the run goes on)."""
    stop("timeout", f"cell {index + 1} did not finish within {limit:g} s")
    if _kernel_answers(client.kc, ANSWER_WAIT):
        return True
    stop(
        "timeout",
        f"cell {index + 1} did not finish within {limit:g} s; the kernel did not stop, so the run ended there",
    )
    return False


def _kernel_answers(kc, seconds: float) -> bool:
    """Whether the kernel answers a kernel_info request within ``seconds`` (it is not stuck)."""
    from jupyter_core.utils import run_sync

    async def ask():
        try:
            await kc.kernel_info(reply=True, timeout=seconds)
            return True
        except TimeoutError:
            return False

    return run_sync(ask)()


def _remove(folder: Path) -> None:
    """Remove the kernel's folder, whatever it left there (files a dying process still creates)."""
    for _ in range(5):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)


def _terminated(signum, frame):
    raise SystemExit("stopped by the grader: the time limit of the submission was reached")


def main() -> None:
    """Read (notebook, settings) on stdin; write the outcome as JSON on the grader's pipe."""
    sandbox.protect_this_process()
    sandbox.become_subreaper()
    # the grader's SIGTERM (time is up) unwinds run(), which kills the kernel and what it started
    signal.signal(signal.SIGTERM, _terminated)
    result_pipe = os.fdopen(os.dup(1), "w", encoding="utf-8")
    log = os.open(os.devnull, os.O_WRONLY)
    os.dup2(log, 1)  # the kernel inherits these, never the grader's pipe
    os.dup2(log, 2)
    import nbformat

    notebook, settings = pickle.loads(sys.stdin.buffer.read())
    settings["limits"] = sandbox.Limits(**settings["limits"])
    nb = nbformat.from_dict(notebook)
    try:
        outcome = run(nb, settings)
    except BaseException as exc:  # report rather than die silently
        outcome = {"status": "error", "message": _text(f"{type(exc).__name__}: {exc}", 500), "cells": {}}
    result_pipe.write(json.dumps(outcome))
    result_pipe.flush()


if __name__ == "__main__":
    main()
