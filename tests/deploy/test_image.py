"""The container image, built with buildah from the project's wheel and run
with `buildah run --isolation chroot` (containers proper cannot run here).

The official base image cannot be pulled here, so a local image of the same
name is made from a debootstrap'd Debian rootfs (cached between runs) and the
build runs with --pull=never."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from app.embedded_pg import Cluster
from app.migrate import libpq_url
from tests.api.test_audit_events import gateway_event
from harness import ROOT, free_port, poll, scratch_dir

pytestmark = pytest.mark.image

BASE = "docker.io/library/debian:bookworm-slim"
UID = 10001
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "datastorage"


def sh(*cmd: str, **kw) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(cmd[:6])}... exit {proc.returncode}:\n{proc.stderr}"
    return proc.stdout.strip()


def ensure_base_image() -> None:
    if subprocess.run(["buildah", "inspect", "--type", "image", BASE],
                      capture_output=True).returncode == 0:
        return
    tarball = CACHE / "debian-bookworm-minbase.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        rootfs = Path(scratch_dir("ds-rootfs-"))
        try:
            sh("debootstrap", "--variant=minbase", "bookworm", str(rootfs),
               "http://deb.debian.org/debian")
            sh("tar", "-C", str(rootfs), "-cf", f"{tarball}.part", ".")
            os.replace(f"{tarball}.part", tarball)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    ctr = sh("buildah", "from", "scratch")
    try:
        sh("buildah", "add", ctr, str(tarball), "/")
        sh("buildah", "commit", "-q", ctr, BASE)
    finally:
        subprocess.run(["buildah", "rm", ctr], capture_output=True)


@pytest.fixture(scope="module")
def image():
    ensure_base_image()
    tag = f"localhost/datastorage:test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHON": sys.executable,
           "BUILDAH_ARGS": "--pull=never --isolation chroot"}
    subprocess.run([str(ROOT / "deploy/image/build"), tag], check=True, cwd=ROOT, env=env,
                   capture_output=True)
    yield tag
    subprocess.run(["buildah", "rmi", tag], capture_output=True)


@pytest.fixture(scope="module")
def tcp_database():
    """A throwaway cluster that also listens on loopback TCP: the container's
    user cannot open the postgres-owned Unix socket."""
    port = free_port()
    cluster = Cluster(scratch_dir("ds-image-pg-"), durable=False, port=port)
    cluster.init()
    with open(cluster.pgdata / "postgresql.auto.conf", "a") as f:
        f.write("listen_addresses = '127.0.0.1'\n")
    cluster.start()
    try:
        with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as c:
            c.execute("CREATE DATABASE image_test")
        yield f"postgresql://postgres@127.0.0.1:{port}/image_test"
    finally:
        cluster.destroy()


@pytest.fixture
def container(image):
    ctr = sh("buildah", "from", "--pull=never", image)
    volume = scratch_dir("ds-image-data-")
    os.chown(volume, UID, UID)
    yield ctr, volume
    subprocess.run(["buildah", "rm", ctr], capture_output=True)
    shutil.rmtree(volume, ignore_errors=True)


def run_args(ctr: str, volume: Path, env: dict[str, str]) -> list[str]:
    args = ["buildah", "run", "--isolation", "chroot",
            "-v", f"{volume}:/var/lib/datastorage"]
    for k, v in env.items():
        args += ["--env", f"{k}={v}"]
    return args + [ctr, "--"]


def rootfs_snapshot(mountpoint: Path) -> dict[str, float]:
    """Every path of the root filesystem except the data volume and /tmp."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(mountpoint):
        rel = os.path.relpath(dirpath, mountpoint)
        if rel in ("var/lib/datastorage", "tmp", "proc", "sys", "dev"):
            dirnames[:] = []
            continue
        for name in filenames + dirnames:
            if rel == "." and name in ("run", "tmp"):
                continue  # buildah touches these directories on every run; their contents count
            p = os.path.join(dirpath, name)
            try:
                out[os.path.relpath(p, mountpoint)] = os.lstat(p).st_mtime
            except FileNotFoundError:
                pass
    return out


def test_image_runs_as_non_root_user(container):
    ctr, volume = container
    assert sh(*run_args(ctr, volume, {}), "id", "-u") == str(UID)
    config = sh("buildah", "inspect", "--format", "{{.OCIv1.Config.User}}", ctr)
    assert config == f"{UID}:{UID}"


def test_image_migrates_and_serves_ready(container, tcp_database):
    ctr, volume = container
    env = {"DS_DATABASE_URL": tcp_database, "DS_MIGRATE_DATABASE_URL": tcp_database}
    out = sh(*run_args(ctr, volume, env), "datastorage", "migrate")
    assert "migration(s) applied" in out
    with psycopg.connect(libpq_url(tcp_database)) as c:
        assert c.execute("SELECT to_regprocedure("
                         "'datastorage.append_audit_events(jsonb)') IS NOT NULL").fetchone()[0]

    mountpoint = Path(sh("buildah", "mount", ctr))
    before = rootfs_snapshot(mountpoint)
    port = free_port()
    proc = subprocess.Popen(run_args(ctr, volume, env) + ["datastorage", "serve", "--host",
                                                          "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        def ready():
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1) \
                    .status_code == 200
            except httpx.HTTPError:
                return False
        poll(ready, what="/health/ready from the image", timeout=60)
        # The serving processes run as the image's user, not root.
        uids = {line.split()[1] for pid in os.listdir("/proc") if pid.isdigit()
                for line in _status(pid) if line.startswith("Uid:")
                and f"--port {port}" in _cmdline(pid)
                and not _cmdline(pid).startswith("buildah")}  # buildah itself runs as root
        assert uids == {str(UID)}, uids
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/audit/events", json=gateway_event(f"image-{uuid.uuid4()}"), timeout=10)
        assert r.status_code == 201, r.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        after = rootfs_snapshot(mountpoint)
        sh("buildah", "umount", ctr)
    # Read-only root filesystem: everything the service wrote is on the volume.
    changed = {p for p in after if before.get(p) != after[p]}
    assert not changed, sorted(changed)[:20]
    assert any(volume.iterdir())


def _status(pid: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return []


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""

