"""Servers end with whatever started them, however it ends (issue J: a SIGTERM'd test run
left an api-server ignoring SIGTERM running for half an hour with PPID 1).

The server here is the worst case seen: it ignores SIGTERM, and its own child ignores it
too and leaves the process group (``setsid``), so neither a process-group signal nor a
parent-death signal on the direct child reaches it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopbridge_dev.guard import descendants

SERVER = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
ready = sys.argv[1] + ".kid"
kid = subprocess.Popen([sys.executable, "-c",
    "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); os.setsid(); "
    "open(sys.argv[1], 'w').close(); time.sleep(600)", ready])
while not os.path.exists(ready):
    time.sleep(0.05)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {kid.pid}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""

#: what a test process, the demo or a benchmark does: start a server, then get on with it
PARENT = """
import sys, time
from pathlib import Path
from shopbridge_dev.procs import spawn
proc = spawn([sys.executable, "-c", sys.argv[1], sys.argv[2]], log=Path(sys.argv[3]), grace=1)
print(proc.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"])
def test_a_server_and_all_it_started_end_when_its_starter_is_killed(tmp_path, sig):
    pids_file = tmp_path / "pids"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, SERVER, str(pids_file), str(tmp_path / "server.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        guard = int(parent.stdout.readline())
        deadline = time.monotonic() + 30
        while not pids_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        server, grandchild = map(int, pids_file.read_text().split())
        assert {server, grandchild} <= set(descendants(guard))
        assert os.getpgid(grandchild) != os.getpgid(server)  # out of the group's reach

        parent.send_signal(getattr(signal, sig))
        parent.wait(timeout=30)
        assert _wait_gone([guard, server, grandchild], timeout=20) == []
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
        for pid in (p for p in _read(pids_file) if _alive(p)):
            os.kill(pid, signal.SIGKILL)


def test_stop_ends_the_server_and_what_left_its_group(tmp_path):
    from shopbridge_dev.procs import spawn, stop

    pids_file = tmp_path / "pids"
    proc = spawn(
        [sys.executable, "-c", SERVER, str(pids_file)], log=tmp_path / "server.log", grace=1
    )
    try:
        deadline = time.monotonic() + 30
        while not pids_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = _read(pids_file)
        stop(proc)
        assert _wait_gone([proc.pid, *pids], timeout=5) == []
    finally:
        for pid in (p for p in _read(pids_file) if _alive(p)):
            os.kill(pid, signal.SIGKILL)


def _read(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


PG_PARENT = """
import sys, time
from tests.pg import postgres_server
with postgres_server() as server:
    print((server.data_dir / "postmaster.pid").read_text().split()[0], flush=True)
    time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_test_process_killed_takes_its_postgresql_with_it():
    """``pg_ctl start`` daemonised the server out of reach; now it runs under the guard."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PG_PARENT],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert parent.stdout is not None
        postmaster = int(parent.stdout.readline())
        assert _alive(postmaster)
        parent.kill()
        parent.wait(timeout=30)
        assert _wait_gone([postmaster], timeout=20) == []
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def _holding(path: Path) -> list[int]:
    """Living processes whose command line or environment names ``path``."""
    found = []
    needle = str(path).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not _alive(int(entry.name)):
            continue
        try:
            if needle in (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"])
def test_the_demo_killed_while_airflow_starts_leaves_nothing_running(tmp_path, sig):
    """Ended each way, SIGKILL too: the one the demo cannot clean up after itself."""
    root = Path(__file__).parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SHOPBRIDGE"))}
    env["SHOPBRIDGE_DEMO_DIR"] = str(tmp_path)
    demo = subprocess.Popen(
        [str(root / "run"), "demo", "--once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert demo.stderr is not None
        for line in demo.stderr:
            if "starting airflow standalone" in line:
                break
        else:
            pytest.fail(f"the demo ended with {demo.wait()} before starting Airflow")
        deadline = time.monotonic() + 60
        # the sandboxes and Airflow's own processes (scheduler, api-server, ...) are up
        while len(_holding(tmp_path)) < 6 and time.monotonic() < deadline:
            time.sleep(0.5)
        started = [p for p in _holding(tmp_path) if p != demo.pid]
        assert len(started) >= 5
        demo.send_signal(getattr(signal, sig))
        demo.wait(timeout=60)
        assert _wait_gone(started, timeout=30) == []
    finally:
        demo.kill()
        demo.wait()
        if demo.stderr is not None:
            demo.stderr.close()
        for pid in _holding(tmp_path):
            os.kill(pid, signal.SIGKILL)
