"""A real PostgreSQL server for the tests that must meet the production database.

The ledger and the drills run on PostgreSQL in production (docker-compose.yaml), and
SQLite forgives things PostgreSQL does not (type coercion, lock waits, ``ON CONFLICT``
races under real concurrency). So those tests start the OS package's server themselves:
``initdb`` into a temporary folder, ``postgres`` on a free localhost port (under the dev
kit's guard, so it ends with the test process), and stop and remove it again. ``./run
test`` installs the package with apt-get when it is missing.

The server refuses to run as root, so as root it runs as the ``postgres`` system user the
package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shopbridge_dev.procs import free_port, spawn, stop, wait_until


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql "
            "(./run test installs the 'postgresql' OS package)"
        )
    return Path(found[-1]).parent


@dataclass(frozen=True)
class PostgresServer:
    port: int
    data_dir: Path
    user: str = "postgres"

    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database's SQLAlchemy URL: each test gets its own."""
        from sqlalchemy import create_engine, text

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway server (trust auth on 127.0.0.1 only); stop and delete it after."""
    bindir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="shopbridge-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    root.chmod(0o755)
    port = free_port()
    log = root / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        # the server in the foreground under the dev kit's guard, not daemonised by
        # ``pg_ctl start``: a test process killed by a timeout takes it down with it
        server = spawn(
            _as_server_user(
                [
                    str(bindir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-k",
                    str(root),
                    "-h",
                    "127.0.0.1",
                    *("-c", "fsync=off", "-c", "synchronous_commit=off"),
                    *("-c", "full_page_writes=off", "-c", "max_connections=200"),
                ]
            ),
            log=log,
            grace=5,
        )
        ready = [str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
        wait_until(
            lambda: subprocess.run(ready, check=False, timeout=10).returncode == 0,
            timeout=90,
            what="PostgreSQL",
            proc=server,
            log=log,
        )
        yield PostgresServer(port=port, data_dir=data)
    finally:
        if server is not None:
            if (data / "postmaster.pid").exists():
                subprocess.run(
                    _as_server_user(
                        [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
                    ),
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
            stop(server)
        shutil.rmtree(root, ignore_errors=True)
