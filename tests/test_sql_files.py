"""Runs every tests/sql/*.sql pgTAP file in its own fresh database and checks
the TAP stream: a plan, no `not ok`, and as many results as planned."""
from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from app.migrate import libpq_url

SQL_TESTS = sorted((Path(__file__).parent / "sql").glob("test_*.sql"))


def run_tap(url: str, script: str) -> list[str]:
    lines: list[str] = []
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(script)
        while True:
            if cur.description:
                lines += [str(row[0]) for row in cur.fetchall()]
            if not cur.nextset():
                break
    return [ln for chunk in lines for ln in chunk.splitlines()]


def check_tap(lines: list[str]) -> int:
    plans = [ln for ln in lines if re.fullmatch(r"1\.\.\d+", ln.strip())]
    assert plans, "no TAP plan in output:\n" + "\n".join(lines)
    planned = int(plans[0].strip().split("..")[1])
    failed = [ln for ln in lines if ln.startswith("not ok")]
    assert not failed, "failing assertions:\n" + "\n".join(
        ln for ln in lines if ln.startswith(("not ok", "#")))
    ran = [ln for ln in lines if re.match(r"ok \d+", ln)]
    assert len(ran) == planned, f"planned {planned}, ran {len(ran)}:\n" + "\n".join(lines)
    return planned


@pytest.mark.calendar  # several rules involve now(); cheap enough to re-run under pinned dates
@pytest.mark.parametrize("path", SQL_TESTS, ids=[p.stem for p in SQL_TESTS])
def test_pgtap(path, db_url):
    assert check_tap(run_tap(db_url, path.read_text())) > 0


FUNCTIONS = sorted((Path(__file__).resolve().parents[1] / "sql" / "functions").glob("*.sql"))


def test_function_files_have_unique_prefixes_and_a_pgtap_file_each():
    prefixes = [p.name.split("_", 1)[0] for p in FUNCTIONS]
    assert len(prefixes) == len(set(prefixes)), f"duplicate numeric prefixes: {prefixes}"
    names = {p.stem for p in SQL_TESTS}
    missing = [f.name for f in FUNCTIONS if "test_" + f.stem.split("_", 1)[1] not in names]
    assert not missing, f"function files without tests/sql/test_<name>.sql: {missing}"


def test_function_files_drop_nothing():
    """Removing a signature is a migration's job; function files only (re)create."""
    offenders = [f.name for f in FUNCTIONS if re.search(r"^\s*DROP\s", f.read_text(), re.M | re.I)]
    assert not offenders, offenders
