"""A real PostgreSQL server for the tests: initdb + pg_ctl in a temporary folder.

PostgreSQL refuses to run as root, so as root the server runs as the unprivileged
``postgres`` user (or ``nobody``). The server listens on a free loopback port only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    url: str  # postgresql://user@127.0.0.1:port/postgres
    port: int
    datadir: Path
    bindir: Path
    run_as: str | None
    log: Path | None = None  # the server log (pg_ctl -l)
    password: str | None = None  # the superuser's, when TCP logins need one (scram-sha-256)

    def _cmd(self, *args: str) -> list[str]:
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *args]
        return list(args)

    def psql(self, sql: str) -> str:
        out = subprocess.run(
            self._cmd(str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                      "-U", "concord", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c",
                      sql),
            capture_output=True, text=True, check=True, env=self._env())
        return out.stdout

    def _env(self) -> dict[str, str] | None:
        """psql's environment: the password travels in PGPASSWORD, never on a command line."""
        return None if self.password is None else {**os.environ, "PGPASSWORD": self.password}

    def stop(self) -> None:
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m",
                                 "immediate", "stop"), capture_output=True, check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def available() -> bool:
    return _bindir() is not None


def start_postgres(settings: dict[str, str] | None = None, *,
                   password: str | None = None) -> PostgresServer:
    """A fresh server on a free loopback port; ``settings`` are extra server settings
    written to postgresql.conf (e.g. ``log_statement=all`` to record what clients send).
    With ``password``, TCP logins need a password (scram-sha-256) and the superuser
    ``concord`` has that one, so clients' password handling is really exercised."""
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres" if _user_exists("postgres") else "nobody"
    root = Path(tempfile.mkdtemp(prefix="concord-pg-"))
    datadir = root / "data"
    if run_as:
        shutil.chown(root, user=run_as)
    port = _free_port()
    server = PostgresServer(f"postgresql://concord@127.0.0.1:{port}/postgres", port, datadir,
                            bindir, run_as, root / "server.log")
    auth = ["--auth=trust"]
    if password is not None:
        server.password = password
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        if run_as:
            shutil.chown(pwfile, user=run_as)
        pwfile.chmod(0o600)
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
    subprocess.run(server._cmd(str(bindir / "initdb"), "-D", str(datadir), "-U", "concord",
                               *auth, "-E", "UTF8", "--locale=C"),
                   capture_output=True, check=True)
    if settings:  # in postgresql.conf: values may hold spaces and quotes
        with open(datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n")
    subprocess.run(server._cmd(str(bindir / "pg_ctl"), "-D", str(datadir), "-w", "-l",
                               str(root / "server.log"), "-o",
                               f"-p {port} -c listen_addresses=127.0.0.1 -k {root}",
                               "start"),
                   capture_output=True, check=True)
    return server


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
