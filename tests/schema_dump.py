"""Print the schema a fresh database gets from `datastorage migrate`
(pg_dump --schema-only with owners and privileges, version-specific noise removed).
`make schema` writes it to sql/schema/schema.sql; a test compares."""
from __future__ import annotations

import subprocess
import sys

from app.embedded_pg import find_bindir
from app.migrate import libpq_url


def dump(url: str) -> str:
    # Owners and privileges are part of the snapshot: the role model is a rule.
    out = subprocess.run([str(find_bindir() / "pg_dump"), "--schema-only", "--exclude-schema=_yoyo*",
                          "--exclude-table=public._yoyo*", "--exclude-table=public.yoyo_lock",
                          "--exclude-table=public.audit_events_2*",
                          libpq_url(url)],
                         capture_output=True, text=True, check=True).stdout
    lines = []
    for line in out.splitlines():
        if line.startswith("-- Dumped from") or line.startswith("-- Dumped by"):
            continue
        if line.startswith("\\restrict") or line.startswith("\\unrestrict"):
            continue
        lines.append(line)
    return "\n".join(lines).strip() + "\n"


def migrated_dump(cluster) -> str:
    """Dump of a brand-new database (not the pgTAP template) after migrate."""
    import psycopg
    from app.migrate import migrate
    name = "ds_schema_check"
    with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        migrate(cluster.url(name))
        return dump(cluster.url(name))
    finally:
        with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    from harness import TestCluster
    cluster = TestCluster()
    try:
        sys.stdout.write(migrated_dump(cluster))
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
