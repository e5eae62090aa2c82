"""The walls around a learner's kernel while it is graded.

Layers, each used where the machine has it:

- *limits* (POSIX): address space, processes, file size, CPU time, open
  files, no core dumps: a memory bomb or a fork bomb fails inside the kernel;
- *no new privileges*, and, when the grader runs as root, the kernel runs as
  ``nobody`` with no capabilities (it cannot write the checkout, the Python
  installation or another submission's files, nor look into the grader);
- *bubblewrap* (``bwrap``, Debian package ``bubblewrap``): a read-only view of
  the system and the Python installation only, a private ``/tmp``, its own
  process and network namespaces (no network, no view of the grader's
  processes) and no view of the teacher's files;
- *clean-up* (Linux): the grading process is a child subreaper, so every
  process the submission started, ``setsid`` or not, becomes its child and is
  killed when the submission's grading ends.

``python -m minnet_course.sandbox -- COMMAND...`` applies the limits and the
identity from ``MINNET_SANDBOX`` (JSON) and execs COMMAND (inside bwrap when
asked): the kernel keeps the launcher's process id and group, so Jupyter's
interrupts and kills reach it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import minnet
from minnet.validate import is_int

# what a kernel imports besides the Python installation: the library and these course tools
PACKAGES = (Path(minnet.__file__).resolve().parent, Path(__file__).resolve().parent)

NOBODY = 65534
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 4, 24, 36, 38


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may take (a teacher can change each).

    memory_mb: address space of each process, MiB; processes: processes and
    threads of the kernel's user at once (counted from the user's current
    number when the grader does not run as root); file_mb: largest file it may
    write, MiB; cpu_seconds: CPU time of each process (None: twice the
    submission's time limit); open_files: file descriptors per process.
    """

    memory_mb: int = 4096
    processes: int = 128
    file_mb: int = 64
    cpu_seconds: int | None = None
    open_files: int = 256

    def __post_init__(self):
        for name in ("memory_mb", "processes", "file_mb", "open_files"):
            value = getattr(self, name)
            if not is_int(value) or value < 1:
                raise ValueError(f"Limits.{name} should be an int >= 1, got {value!r}")
        if self.cpu_seconds is not None and (not is_int(self.cpu_seconds) or self.cpu_seconds < 1):
            raise ValueError(f"Limits.cpu_seconds should be None or an int >= 1, got {self.cpu_seconds!r}")


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    return _libc().prctl(option, value, 0, 0, 0) == 0


def protect_this_process() -> None:
    """Make this process non-dumpable: processes of the same user that lack
    CAP_SYS_PTRACE can neither trace it nor open its /proc files (its pipes)."""
    _prctl(_PR_SET_DUMPABLE, 0)


def become_subreaper() -> bool:
    """Orphaned descendants become our children (Linux), so none escapes the clean-up."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process we can see, from one pass over /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parents[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return parents


def kill_descendants(rounds: int = 50) -> int:
    """Kill every descendant of this process and reap it; returns how many were killed.

    As a subreaper we see orphans as children; a process that forks while we
    kill is caught in the next round."""
    if not os.path.isdir("/proc"):
        return 0
    killed = 0
    for _ in range(rounds):
        found = _descendants()
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        if not found:
            break
        time.sleep(0.01)
    return killed


def _descendants() -> list[int]:
    """Every process below this one (as a subreaper, orphans included)."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, frontier = [], [os.getpid()]
    while frontier:
        frontier = [child for pid in frontier for child in children.get(pid, [])]
        found += frontier
    return found


def _rss_mib(pids) -> float:
    pages = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                pages += int(statm.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Watchdog:
    """Counts the processes and memory of everything this process started (Linux),
    every ``interval`` seconds; past the limits, kills them all and says why.

    Per-process limits cannot stop a fork bomb run by root (Linux exempts root
    from RLIMIT_NPROC) nor many processes that each stay under RLIMIT_AS."""

    def __init__(self, limits: Limits, interval: float = 0.2):
        self.limits, self.interval, self.reason = limits, interval, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        if os.path.isdir("/proc"):
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            pids = _descendants()
            # the kernel, bwrap's two processes, and room for what an honest notebook starts
            if len(pids) > self.limits.processes + 3:
                self.reason = f"it started more than {self.limits.processes} processes"
            elif _rss_mib(pids) > self.limits.memory_mb:
                self.reason = f"its processes used more than {self.limits.memory_mb} MB of memory together"
            if self.reason:
                kill_descendants()
                return


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The bwrap binary, if it is installed and can make a sandbox here."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    try:
        probe = subprocess.run(
            [path, "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL", "--", "/bin/true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return path if probe.returncode == 0 else None


def _reachable_by_others(path: str) -> bool:
    """Whether a user other than the owner can reach ``path`` (every folder above it searchable)."""
    path = os.path.realpath(path)
    parts = Path(path).parents
    try:
        return all(os.stat(p).st_mode & 0o001 for p in parts) and bool(os.stat(path).st_mode & 0o005)
    except OSError:
        return False


def can_drop_to_nobody() -> bool:
    """Root can run the kernel as nobody when nobody can run this Python and read the packages."""
    needed = [sys.executable, sys.prefix, sys.base_prefix, *map(str, PACKAGES)]
    return os.geteuid() == 0 and all(map(_reachable_by_others, needed))


def describe(use_bwrap: bool) -> list[str]:
    """What the grader cannot protect against on this machine (empty when it can)."""
    gaps = []
    if not use_bwrap:
        gaps.append(
            "bwrap (Debian package bubblewrap) is not available: submissions can read files your account can "
            "read (the solutions included) and use the network"
        )
        if os.geteuid() == 0 and not can_drop_to_nobody():
            gaps.append(
                "the grader runs as root but nobody cannot run this Python (it lives in a private folder): "
                "submissions run as root, without capabilities"
            )
        if os.geteuid() != 0:
            gaps.append(
                "the grader does not run as root: submissions run as your user and could write your files; the "
                "grader restores its own files if they change and marks the submission"
            )
        if not can_drop_to_nobody():
            gaps.append("kernels could write the course's files, so submissions are graded one at a time (--jobs 1)")
    if not sys.platform.startswith("linux"):
        gaps.append("not Linux: processes a submission detaches with setsid may outlive its grading")
    return gaps


SYSTEM = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc")


def read_only_paths() -> list[str]:
    """What a sandboxed kernel sees, read-only: the system and the Python installation."""
    paths = [path for path in SYSTEM if not os.path.islink(path)]
    paths += [sys.prefix, sys.base_prefix, *map(str, PACKAGES)]
    paths += [p for p in sys.path if p and os.path.isdir(p) and ("site-packages" in p or "dist-packages" in p)]
    seen, kept = set(), []
    for path in paths:
        real = os.path.realpath(path)
        if os.path.exists(real) and real not in seen and not any(real.startswith(k + os.sep) for k in seen):
            seen.add(real)
            kept.append(real)
    return kept


def bwrap_command(writable: str) -> list[str]:
    """bwrap's arguments: a read-only system, ``writable`` (the kernel's own folder)
    writable, a private /tmp, /dev and /proc, no network, no capabilities."""
    command = [bwrap_path(), "--unshare-all", "--die-with-parent", "--cap-drop", "ALL"]
    # /tmp first: a checkout or a virtualenv under /tmp is bound on top of the private /tmp, not hidden by it
    command += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in read_only_paths():
        command += ["--ro-bind", path, path]
    for path in SYSTEM:  # /bin -> usr/bin on merged-/usr systems: binaries name /lib64/ld-linux...
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
    command += ["--bind", writable, writable]
    command += ["--chdir", os.path.join(writable, "work"), "--"]
    return command


def _user_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def apply(config: dict) -> None:
    """In the launcher, before exec: limits, no new privileges, and ``nobody`` when root."""
    limits = Limits(**config["limits"])
    drop = not config.get("bwrap") and can_drop_to_nobody()
    uid = NOBODY if drop else os.geteuid()
    processes = limits.processes + (0 if drop else _user_processes(uid))
    mib = 2**20
    wanted = {
        "RLIMIT_AS": limits.memory_mb * mib,
        "RLIMIT_NPROC": processes,
        "RLIMIT_FSIZE": limits.file_mb * mib,
        "RLIMIT_CPU": limits.cpu_seconds or int(2 * config["timeout"]) + 10,
        "RLIMIT_NOFILE": limits.open_files,
        "RLIMIT_CORE": 0,
    }
    import resource  # Unix only: the grader's other commands still run elsewhere

    for name, value in wanted.items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if os.geteuid() == 0 and not drop and not config.get("bwrap"):
        for capability in range(64):  # an empty bounding set: after exec, root has no capabilities
            _prctl(_PR_CAPBSET_DROP, capability)
    if drop:
        for path in config.get("give", []):
            for root, dirs, files in os.walk(path):
                for name in [root, *(os.path.join(root, f) for f in dirs + files)]:
                    os.chown(name, NOBODY, NOBODY)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def main(argv=None) -> None:
    """``python -m minnet_course.sandbox -- COMMAND...``: apply, then exec COMMAND."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    config = json.loads(os.environ.pop("MINNET_SANDBOX"))
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    apply(config)
    if config.get("bwrap"):
        # in its own process namespace the kernel's parent is pid 1, which ipykernel reads as
        # "the parent has exited"; bwrap --die-with-parent ends it with the runner instead
        os.environ.pop("JPY_PARENT_PID", None)
        argv = bwrap_command(config["writable"]) + argv
    os.execv(argv[0], argv)


def sandbox_environment(config: dict) -> dict:
    """The variable that carries ``config`` to the launcher."""
    return {"MINNET_SANDBOX": json.dumps({**config, "limits": asdict(config["limits"])})}


if __name__ == "__main__":
    main()
