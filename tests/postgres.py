"""A throwaway PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` on a free loopback port.

Usage::

    cluster = Cluster.start()            # None when PostgreSQL's server programs are not installed
    url = cluster.new_database()         # postgresql+psycopg://postgres@127.0.0.1:PORT/test_1
    cluster.stop()                       # pg_ctl stop -m immediate, and the folder is removed

PostgreSQL refuses to run as root: as root the cluster's folder belongs to the ``postgres`` user and
the server programs run as that user (``runuser``). Its default collation is ICU's German one, not
byte order, so SQL that relies on byte order without saying so fails here as it would in production.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: Where Debian puts the server programs (not on PATH unless linked, as in /usr/local/bin).
SERVER_DIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


def server_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``, or None when PostgreSQL's server is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).parent)):
        return Path(found).parent
    for folder in SERVER_DIRS:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """A running PostgreSQL cluster in a temporary folder, trusting connections from 127.0.0.1."""

    folder: Path
    bin: Path
    port: int
    user_prefix: list[str]
    names: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls) -> Cluster | None:
        """Create and start a cluster; None when the server programs are missing."""
        folder_bin = server_bin()
        if folder_bin is None:
            return None
        folder = Path(tempfile.mkdtemp(prefix="newsqa-pg-"))
        prefix: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        cluster = cls(folder, folder_bin, free_port(), prefix)
        try:
            cluster._run(
                "initdb",
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--locale-provider=icu",
                "--icu-locale=de",
            )
            options = f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            cluster._run(
                "pg_ctl", "start", "-D", str(cluster.data), "-w", "-l", str(folder / "server.log"), "-o", options
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cluster

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one of the cluster's databases."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database's URL: each test gets its own tables."""
        import psycopg

        name = f"test_{next(self.names)}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once (nothing in it is kept) and remove its folder."""
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [*self.user_prefix, str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr[-2000:] or done.stdout[-2000:]}")
