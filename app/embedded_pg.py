"""A private PostgreSQL cluster run from the local server binaries.

Used by `datastorage serve` when no DS_DATABASE_URL is given, and by the test
suite. PostgreSQL refuses to run as root, so as root every server binary runs
as the `postgres` user (runuser) on a directory that user owns; Python itself
never runs as `postgres`. The server listens on a Unix socket inside the data
directory only (no TCP port to collide with, no network exposure).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path


class EmbeddedPgError(RuntimeError):
    """A problem the operator must fix; the message says what to do."""


def find_bindir() -> Path:
    explicit = os.environ.get("DS_PG_BINDIR")
    candidates = [explicit] if explicit else []
    pg_config = shutil.which("pg_config")
    if pg_config and not explicit:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(out.stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    if not explicit:
        # Newest major version first.
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                             key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                             reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise EmbeddedPgError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install them "
        "(Debian: apt-get install postgresql-15), set DS_PG_BINDIR, "
        "or point DS_DATABASE_URL at an existing server")


def _as_root() -> bool:
    return os.geteuid() == 0


class Cluster:
    """One data directory, one postmaster, reachable through a socket in `run/`."""

    def __init__(self, datadir: str | os.PathLike, *, durable: bool = True, port: int = 5432,
                 bindir: Path | None = None):
        self.datadir = Path(datadir).resolve()
        self.pgdata = self.datadir / "pgdata"
        self.socket_dir = self.datadir / "run"
        self.logfile = self.datadir / "postgres.log"
        self.durable = durable
        self.port = port
        self.bindir = bindir or find_bindir()
        self.user = "postgres"

    # -- running binaries -------------------------------------------------
    def _cmd(self, name: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / name), *args]
        if _as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _run(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self._cmd(name, *args), capture_output=True, text=True,
                              cwd="/")
        if check and proc.returncode != 0:
            raise EmbeddedPgError(f"{name} failed: {(proc.stderr or proc.stdout).strip()}")
        return proc

    def _own(self, path: Path) -> None:
        """As root, hand the directory to `postgres` and let it traverse the parents."""
        if not _as_root():
            return
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)
        for parent in list(path.parents)[:-1]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise EmbeddedPgError(
                    f"{parent} is not searchable by the postgres user; choose a DS_DATA_DIR "
                    f"outside it (e.g. /var/lib/datastorage)")

    # -- lifecycle --------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        for d in (self.pgdata, self.socket_dir):
            d.mkdir(exist_ok=True)
            d.chmod(0o700)
        self._own(self.datadir)
        self._own(self.socket_dir)
        self._own(self.pgdata)
        if not self.logfile.exists():
            self.logfile.touch()
        self._own(self.logfile)
        if self.initialized:
            return
        self._run("initdb", "-D", str(self.pgdata), "-U", self.user, "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0700",
            "port": str(self.port),
            "max_connections": "200",
            "shared_buffers": "'256MB'",
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
        }
        if not self.durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        conf = "\n".join(f"{k} = {v}" for k, v in settings.items())
        auto = self.pgdata / "postgresql.auto.conf"
        with open(auto, "a") as f:
            f.write("\n# written by datastorage\n" + conf + "\n")

    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self, timeout: int = 60) -> None:
        if self.running():
            return
        self._run("pg_ctl", "start", "-w", "-t", str(timeout), "-D", str(self.pgdata),
                  "-l", str(self.logfile), "-o", f"-p {self.port}")

    def stop(self, mode: str = "fast") -> None:
        if self.initialized and self.running():
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.pgdata), check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)

    # -- addressing -------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{dbname}?host={self.socket_dir}&port={self.port}"
