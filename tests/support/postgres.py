"""A throwaway PostgreSQL server for the tests marked ``postgres``: its own cluster in a temp folder.

The server listens only on a Unix socket in that folder (no TCP port to collide with), runs with
fsync off (the data is thrown away), and is stopped when the test session ends. Each test gets a
fresh database copied from a migrated template with ``CREATE DATABASE … TEMPLATE``, which takes a
fraction of a second.

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` system user that
Debian's ``postgresql`` package creates (``runuser``), and its folder is made readable to that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

INSTALL_HINT = "apt-get install postgresql (Debian's server package gives initdb and pg_ctl)"


def find_binaries() -> Path | None:
    """The folder with initdb and pg_ctl: on PATH, or Debian's versioned folder (not on PATH)."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


class PostgresServer:
    def __init__(self, root: Path, binaries: Path) -> None:
        self.root = root
        self.binaries = binaries
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.user = "portal"
        self._as_root = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, text=True)

    def start(self) -> None:
        self.socket_dir.mkdir(parents=True)
        if self._as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")
            self.root.chmod(0o755)
            for parent in self.root.parents:  # runuser needs to reach the folder
                if parent.stat().st_mode & 0o001 == 0:
                    parent.chmod(parent.stat().st_mode | 0o001)
        self._run(
            str(self.binaries / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        )
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c synchronous_commit=off " \
                  "-c full_page_writes=off -c max_connections=200"
        self._run(
            str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
            "-w", "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    def in_new_folder(cls, binaries: Path) -> PostgresServer:
        """A server in its own temp folder, outside pytest's: pytest deletes its older session folders when
        another session starts, which would pull the cluster out from under a server still running."""
        return cls(Path(tempfile.mkdtemp(prefix="feedback-portal-postgres-")), binaries)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}"

    def _admin(self, statement: str) -> None:
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
        engine.dispose()

    def create_database(self, template: str | None = None) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
