"""Layering rules that keep the offline verifier and the domain modules free
of the server (issue 11 §4), checked in fresh interpreters."""
from __future__ import annotations

import json
import subprocess
import sys

from harness import ROOT

SERVER_MODULES = ("sanic", "asyncpg", "prometheus_client", "app.server", "app.db", "app.http",
                  "app.metrics")


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_datastorage_verify_loads_no_server_module(tmp_path):
    export = tmp_path / "export.json"
    export.write_text('{"events": []}')
    modules = loaded_after(
        "from app.cli import main\n"
        f"status = main(['verify', {str(export)!r}])\n"
        "assert status != 0, status\n"
        "import app.verifier, app.export_format")
    assert "app.verifier" in modules and "app.export_format" in modules
    assert not {m for m in modules if m.split(".")[0] in ("sanic", "asyncpg", "prometheus_client")
                or m in SERVER_MODULES}


def test_event_preparation_does_not_import_the_http_layer():
    modules = loaded_after("import app.events")
    assert "app.events" in modules
    assert "app.http" not in modules and "sanic" not in modules


def test_background_tasks_are_wired_in_one_place():
    for path in sorted((ROOT / "app" / "routes").glob("*.py")):
        text = path.read_text()
        for hook in ("before_server_start", "after_server_start", "before_server_stop",
                     "after_server_stop", "create_task"):
            assert hook not in text, f"{path.name} wires {hook}; app/lifecycle.py does that"


def test_benchmarks_do_not_import_the_tests():
    """bench/ and tests/ share the `harness` package; bench never imports tests."""
    for path in sorted((ROOT / "bench").glob("*.py")):
        for line in path.read_text().splitlines():
            assert not line.strip().startswith(("from tests", "import tests")), (path.name, line)
