"""Re-run the date-sensitive tests (marker `calendar`) with the clock pinned
to dates that have bitten before, each with the Python process and every
libpq session in a time zone other than UTC.

libfaketime (LD_PRELOAD) shifts the wall clock of pytest and of everything it
starts: the test PostgreSQL server, `datastorage serve` and its workers. All
of them get the same offset (`FAKETIME=+<seconds>`), so they agree with each
other and keep ticking from the pinned instant. (The monotonic clock is
shifted too: libfaketime 0.9.10 breaks Python's time.sleep when it is not.)
The year-end run starts ten seconds before midnight and crosses it while it
runs, as a real deployment does. `DS_TEST_PIN` tells the tests which
instant to expect.

    python -m tests.pinned_dates            # every pin, side by side
    python -m tests.pinned_dates 2028-02-29T12:00:00Z   # one instant (UTC)
    python -m tests.pinned_dates -x tests/db/test_calendar.py   # pytest options, files
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from harness import ROOT

# (instant, time zone of Python and of libpq sessions)
PINS = [
    # Ten seconds before a new year, in the zone that reaches it first: the
    # run crosses midnight (template built in December, tests in January).
    ("2026-12-31T23:59:50Z", "Pacific/Kiritimati"),
    # The 1st at 00:00: a new, empty partition; since=24h reaches into February.
    ("2027-03-01T00:00:00Z", "America/Los_Angeles"),
    # A leap day, in a zone with a half-hour offset.
    ("2028-02-29T12:00:00Z", "Asia/Kolkata"),
]

LIBRARY_GLOBS = ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1",
                 "/usr/local/lib/faketime/libfaketime.so.1")


def libfaketime() -> str:
    explicit = os.environ.get("DS_LIBFAKETIME")
    found = [explicit] if explicit else [p for g in LIBRARY_GLOBS for p in sorted(glob.glob(g))]
    for path in found:
        if os.path.exists(path):
            return path
    sys.exit("pinned-date runs need libfaketime: apt-get install faketime "
             "(or set DS_LIBFAKETIME to libfaketime.so.1)")


def pinned_env(instant: datetime, zone: str, library: str) -> dict[str, str]:
    offset = round(instant.timestamp() - time.time())
    preload = " ".join(filter(None, [library, os.environ.get("LD_PRELOAD")]))
    return {**os.environ, "LD_PRELOAD": preload, "FAKETIME": f"{offset:+d}",
            "TZ": zone, "PGTZ": zone,
            "DS_TEST_PIN": instant.isoformat()}


def calendar_files() -> list[str]:
    """Test files that use the marker: -m calendar still selects the tests;
    naming the files spares importing (and plugging in) the rest, which
    costs more than the tests themselves."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")
                  if "mark.calendar" in p.read_text())


def run(instant: datetime, zone: str, library: str, extra: list[str]) -> tuple[int, float, str]:
    """(exit code, seconds, output) of one pinned pytest run."""
    paths = [] if any(not a.startswith("-") for a in extra) else calendar_files()
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "calendar",
                           "-p", "no:schemathesis", "-p", "no:hypothesispytest", *extra, *paths],
                          cwd=ROOT, env=pinned_env(instant, zone, library),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, time.monotonic() - t0, proc.stdout


def main(argv: list[str]) -> int:
    pins = PINS
    if argv and not argv[0].startswith("-"):
        pins = [(argv.pop(0), "Pacific/Kiritimati")]
    library = libfaketime()
    instants = [datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
                for text, _ in pins]
    # Side by side: each run has its own cluster, service ports and clock,
    # and most of a run is waiting (start-up, polls), not computing.
    t0 = time.monotonic()
    with ThreadPoolExecutor(len(pins)) as pool:
        results = list(pool.map(lambda iz: run(*iz, library, argv),
                                zip(instants, (zone for _, zone in pins))))
    for instant, (_, zone), (rc, seconds, output) in zip(instants, pins, results):
        print(f"== calendar tests with the clock at {instant:%Y-%m-%d %H:%M:%S} UTC, TZ={zone}: "
              f"{'passed' if rc == 0 else 'FAILED'} in {seconds:.0f} s")
        print(output.rstrip() if rc else (output.strip().splitlines() or [""])[-1], flush=True)
    print(f"pinned-date runs: {time.monotonic() - t0:.0f} s in all")
    return max(rc for rc, _, _ in results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
