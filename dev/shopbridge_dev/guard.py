"""``python -m shopbridge_dev.guard [--grace S] -- COMMAND...``: run one server and take
everything it starts down with it, however the process that started the guard ends.

Why a process of its own: a parent-death signal reaches only a direct child. When a test
run was ended with SIGTERM, ``airflow standalone`` got its signal and went, but its
api-server ignored the SIGTERM it was sent and ran on for half an hour with PPID 1. The
guard is the one direct child: Linux signals it when its parent dies (``PR_SET_PDEATHSIG``,
set before the exec by :func:`shopbridge_dev.procs.spawn`), and as a child subreaper
(``PR_SET_CHILD_SUBREAPER``) it inherits every orphaned descendant, so it finds them all,
even one that left the process group: SIGTERM first, SIGKILL after the grace period.

Standard library only: it starts before, and must outlive, anything it guards.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_ENDING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process, from ``/proc``."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(root: int) -> list[int]:
    """Every living process below ``root`` (zombies left out), parents first."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, state) in _table().items():
        if state != "Z":
            children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    todo = [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def _reap(keep: int | None = None) -> None:
    """Collect our ended children (orphans re-parented to us among them), all but ``keep``,
    whose exit code the caller still reads. Asks the kernel (``waitid`` with ``WNOWAIT``
    peeks before it reaps) rather than reading ``/proc``: a guard waits beside every
    server of a test run, and a scan five times a second cost each two percent of a core."""
    while True:
        try:
            ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if ended is None or ended.si_pid == keep:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(ended.si_pid, 0)


def _signal_all(sig: signal.Signals) -> None:
    for pid in descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def end_all(grace: float, keep: int | None = None) -> None:
    """SIGTERM every descendant, SIGKILL what is left after ``grace`` seconds (reaping all
    but ``keep``)."""
    _signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while descendants(os.getpid()) and time.monotonic() < deadline:
        _reap(keep)
        time.sleep(0.1)
    _signal_all(signal.SIGKILL)
    while descendants(os.getpid()):
        _reap(keep)
        time.sleep(0.05)
    _reap(keep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopbridge_dev.guard")
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if sys.platform.startswith("linux"):
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() == 1:  # the parent died before the death signal was armed
        return 1
    ended: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        ended.append(signum)

    for sig in _ENDING:
        signal.signal(sig, on_signal)
    child = subprocess.Popen(command)  # noqa: S603 - the caller's own command
    code: int | None = None
    while code is None and not ended:
        code = child.poll()
        if code is None:
            _reap(keep=child.pid)
            time.sleep(0.5)
    end_all(args.grace, keep=child.pid)
    code = child.wait()
    return 128 + ended[0] if ended else code


if __name__ == "__main__":
    sys.exit(main())
