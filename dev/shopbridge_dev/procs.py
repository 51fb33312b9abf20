"""Starting and stopping the local processes the demo and the end-to-end tests need.

Everything binds to 127.0.0.1 on a free port and is stopped again, process group and all;
on Linux each server runs under a guard (:mod:`shopbridge_dev.guard`) that Linux signals
when the process that started it dies, and that then ends every process below it (a test
worker killed by a timeout leaves no Airflow or sandbox behind).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1


def _end_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies; None
    elsewhere. Bound before any fork: the child only makes one C call."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    sigterm = int(signal.SIGTERM)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sigterm)

    return preexec


_PREEXEC = _end_with_parent()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``check`` until it holds; say what did not come up, with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    tail = ""
    if log is not None and log.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    state = (
        f"exited with {proc.returncode}"
        if proc is not None and proc.poll() is not None
        else f"not ready after {timeout:.0f}s"
    )
    raise RuntimeError(f"{what} {state}" + (f"; last lines of {log}:\n{tail}" if tail else ""))


def spawn(
    args: list[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    grace: float = 10.0,
) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own process group under :mod:`shopbridge_dev.guard`, output
    to ``log``: whatever ``args`` starts ends with the caller, even when the caller is
    killed (``grace``: seconds between the guard's SIGTERM and its SIGKILL)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    guarded = [sys.executable, "-m", "shopbridge_dev.guard", "--grace", str(grace), "--", *args]
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(  # noqa: S603
            guarded,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            preexec_fn=_PREEXEC,  # one prctl call, bound before the fork
        )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member we may not signal still exists
        return True
    return True


def stop(proc: subprocess.Popen[bytes], *, grace: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``grace`` seconds.

    The whole group, not just the leader: ``airflow standalone`` can exit while one of its
    children (a scheduler busy with an executor worker) is still shutting down.
    """
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        proc.poll()
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (proc.poll() is None or _group_alive(pgid)):
        time.sleep(0.2)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait(timeout=5)


def leftovers(home: Path) -> list[str]:
    """Processes still running with this ``AIRFLOW_HOME`` (zombies don't count): what a
    stopped Airflow must not leave behind."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"AIRFLOW_HOME={home}".encode() in env.split(b"\0"):
            found.append(proc.name)
    return found


def start_sandbox(
    system: str,
    *,
    state_dir: Path,
    seed: str = "demo",
    options: dict[str, str] | None = None,
    persist: bool = True,
) -> tuple[subprocess.Popen[bytes], str]:
    """One vendor sandbox as its own process; returns it and its base URL once it answers.

    ``persist=False`` keeps its store in memory only (a benchmark writing thousands of
    records would otherwise rewrite the whole JSON state after each one).
    """
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "shopbridge_dev.sandboxes",
        system,
        "--port",
        str(port),
        "--seed",
        seed,
    ]
    if persist:
        args += ["--state", str(state_dir / f"{system}.state.json")]
    for k, v in (options or {}).items():
        args += ["--set", f"{k}={v}"]
    log = state_dir / f"{system}.log"
    proc = spawn(args, log=log)
    url = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: httpx.get(f"{url}/_sandbox/stats", timeout=2).status_code == 200,
        timeout=60,
        what=f"the {system} sandbox",
        proc=proc,
        log=log,
    )
    return proc, url
