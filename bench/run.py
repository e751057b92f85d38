"""Run every benchmark: `python -m bench.run [--quick] [--only a,b] [--skip c]`.

Each `bench/bench_*.py` module runs in turn. A module whose `main` takes a
`quick` argument is called in this process (`main(quick=...)` returns its
result dict); any other module runs as `python -m bench.<module>` in a
subprocess (with `--quick` when its source mentions that flag, and
BENCH_QUICK=1 in its environment either way), and the JSON/Markdown files it
wrote under bench/results/ during its run are taken as its result.

Before the benchmarks that query the large dataset (DATASET_USERS), the
dataset is made ready (bench/generate_data.py: generated once, reused
afterwards; its generation rate is part of the results). After them,
bench/plot.py redraws docs/write_scaling.png from the scaling results.

Writes bench/results/all.json (every result, plus failures) and
bench/results/summary.md (the targets of every benchmark first, then each
benchmark's own table). Exit status 1 when a benchmark failed to run; a
missed target is a result, not a failure.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench.common import RESULTS_DIR, ROOT, fmt, log, machine_info, markdown_table, results_dir

BENCH_DIR = ROOT / "bench"
OWN_FILES = {"all.json", "summary.md"}
# Benchmarks that run against the generated dataset (bench/generate_data.py).
DATASET_USERS = {"bench_query", "bench_legal_hold"}


def discover() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def _files_since(t0: float) -> list[Path]:
    """Results written during a module's run (in bench/results/quick/ too)."""
    dirs = [d for d in (RESULTS_DIR, RESULTS_DIR / "quick") if d.is_dir()]
    return sorted(p for d in dirs for p in d.iterdir()
                  if p.suffix in (".json", ".md") and p.name not in OWN_FILES
                  and p.stat().st_mtime >= t0)


def _takes_quick(fn) -> bool:
    try:
        return "quick" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def run_in_process(module, quick: bool) -> dict:
    result = module.main(quick=quick)
    return result if isinstance(result, dict) else {"returned": repr(result)}


def run_subprocess(name: str, quick: bool, timeout: float) -> tuple[int, str]:
    cmd = [sys.executable, "-m", f"bench.{name}"]
    source = (BENCH_DIR / f"{name}.py").read_text(errors="replace")
    if quick and "--quick" in source:
        cmd.append("--quick")
    env = {**os.environ, "BENCH_QUICK": "1" if quick else "0"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out_dir = results_dir(quick)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / f"{name}.log"
    with open(log_path, "w") as out:
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, start_new_session=True)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
            out.write(f"\n[bench.run] timed out after {timeout:.0f} s\n")
    return code, log_path.read_text(errors="replace")[-3000:]


def run_one(name: str, quick: bool, timeout: float) -> dict:
    started = time.time()
    entry: dict = {"module": f"bench.{name}", "quick": quick}
    try:
        module = importlib.import_module(f"bench.{name}")
    except BaseException as exc:  # noqa: BLE001 - a broken module must not stop the others
        entry.update(status="failed", error=f"import: {type(exc).__name__}: {exc}")
        return _finish(entry, started)
    main = getattr(module, "main", None)
    if callable(main) and _takes_quick(main):
        entry["how"] = "main(quick=...)"
        try:
            entry["result"] = run_in_process(module, quick)
            entry["status"] = "ok"
        except BaseException as exc:  # noqa: BLE001 - includes SystemExit from argparse
            if isinstance(exc, KeyboardInterrupt):
                raise
            entry.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                         traceback=traceback.format_exc()[-3000:])
    else:
        entry["how"] = "subprocess"
        code, tail = run_subprocess(name, quick, timeout)
        entry["exit_code"] = code
        entry["status"] = "ok" if code == 0 else "failed"
        if code != 0:
            entry["error"] = f"exit code {code}"
            entry["output_tail"] = tail
    files = _files_since(started)
    entry["files"] = [str(p.relative_to(ROOT)) for p in files]
    if "result" not in entry:
        found = {}
        for p in files:
            if p.suffix == ".json":
                try:
                    found[p.stem] = json.loads(p.read_text())
                except ValueError:
                    found[p.stem] = {"unreadable": str(p)}
        if found:
            entry["result"] = found if len(found) > 1 else next(iter(found.values()))
    entry["markdown"] = _markdown_of(entry, files)
    return _finish(entry, started)


def prepare_dataset(quick: bool) -> dict:
    """Generate the large dataset if it is missing (else reuse it); returns
    its description, with the generation rate of the run that made it."""
    started = time.time()
    entry: dict = {"module": "bench.generate_data", "quick": quick}
    try:
        from bench.generate_data import open_dataset, sizes
        size = sizes(quick)
        with open_dataset(size["events"], size["chains"], size["months"],
                          long_chain=size["long_chain"]) as ds:
            meta = dict(ds.meta)
        entry.update(status="ok", result=meta,
                     reused=started > datetime.fromisoformat(meta["generated_at"]).timestamp())
    except Exception as exc:  # noqa: BLE001 - the dataset users will fail and say so too
        entry.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                     traceback=traceback.format_exc()[-3000:])
    return _finish(entry, started)


def dataset_markdown(entry: dict) -> str:
    m = entry.get("result") or {}
    if entry["status"] != "ok" or not m:
        return f"**failed**: {entry.get('error')}\n"
    load = m.get("load") or {}
    return markdown_table(
        ["dataset", "events", "chains", "partitions", "size MB", "append events/s",
         "connections", "append s", "VACUUM ANALYZE s", "generated", "this run"],
        [[m.get("database"), m.get("stored_events"), m.get("chains"), m.get("partitions"),
          m.get("size_mb"), load.get("events_per_s"), load.get("workers"), load.get("seconds"),
          m.get("vacuum_analyze_s"), m.get("generated_at"),
          "reused" if entry.get("reused") else "generated"]])


def redraw_plot(quick: bool) -> dict:
    """docs/write_scaling.png from the scaling results (quick: under results/quick/)."""
    src = results_dir(quick) / "scaling.json"
    if not src.exists():
        return {"status": "skipped", "reason": f"{src.name} not found"}
    try:
        from bench import plot
        path = plot.main(["--quick"] if quick else [])
        return {"status": "ok", "file": str(path.relative_to(ROOT))}
    except Exception as exc:  # noqa: BLE001 - e.g. matplotlib not installed
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def _finish(entry: dict, started: float) -> dict:
    entry["seconds"] = round(time.time() - started, 1)
    entry.setdefault("markdown", "")
    return entry


def _markdown_of(entry: dict, files: list[Path]) -> str:
    """The module's own Markdown if it made one, else a table from its JSON."""
    result = entry.get("result")
    if isinstance(result, dict) and isinstance(result.get("markdown"), str):
        return result["markdown"]
    mds = [p.read_text(errors="replace") for p in files if p.suffix == ".md"]
    if mds:
        return "\n".join(mds)
    if isinstance(result, dict):
        return generic_table(result)
    return ""


def generic_table(result: dict) -> str:
    """A readable table from any result dict: its first list of row dicts,
    otherwise its scalar members (nested one level as a.b)."""
    for value in result.values():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            cols: list[str] = []
            for r in value:
                cols += [k for k, v in r.items() if k not in cols and _scalar(v)]
            cols = cols[:10]
            return markdown_table(cols, [[r.get(c) for c in cols] for r in value])
    flat = []
    for k, v in result.items():
        if _scalar(v):
            flat.append((k, v))
        elif isinstance(v, dict):
            flat += [(f"{k}.{k2}", v2) for k2, v2 in v.items() if _scalar(v2)]
    return markdown_table(["metric", "value"], flat[:40]) if flat else ""


def _scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def collect_targets(entries: dict[str, dict]) -> list[list]:
    rows = []
    for name, e in entries.items():
        result = e.get("result")
        targets = result.get("targets") if isinstance(result, dict) else None
        for t in targets or []:
            if isinstance(t, dict) and "target" in t:
                limit = f"{t.get('op', '')} {fmt(t.get('limit'))}".strip()
                rows.append([name, t["target"], t.get("value"), limit, t.get("met")])
    return rows


def summary_markdown(doc: dict) -> str:
    entries = doc["benchmarks"]
    m = doc["machine"]
    lines = [f"# Benchmark summary\n",
             f"`python -m bench.run{' --quick' if doc['quick'] else ''}` — finished "
             f"{doc['finished_at']}, {m['cpus']} CPUs, Python {m['python']}, git {m['git']}"
             f"{', QUICK smoke run (numbers not meaningful)' if doc['quick'] else ''}.\n",
             markdown_table(["benchmark", "status", "how", "seconds"],
                            [[n, e["status"] + (f" ({e.get('error')})" if e.get("error") else ""),
                              e.get("how", "–"), e["seconds"]] for n, e in entries.items()])]
    if doc.get("dataset"):
        lines += ["\n## Dataset (bench/generate_data.py)\n", dataset_markdown(doc["dataset"])]
    plot = doc.get("plot")
    if plot:
        lines.append(f"\nPlot (bench/plot.py): {plot.get('file') or plot.get('status')}"
                     + (f" ({plot.get('error') or plot.get('reason')})"
                        if plot.get("status") != "ok" else "") + "\n")
    for m in doc.get("merged", []):
        load = (m.get("machine") or {}).get("loadavg_at_start")
        lines.append(f"Re-measured {m['at']} (`--only ... --merge`): {', '.join(m['benchmarks'])}"
                     + (f"; load average {load[0]} at its start" if load else "") + ".\n")
    targets = collect_targets(entries)
    if targets:
        lines += ["\n## Targets\n", markdown_table(["benchmark", "target", "value", "limit", "met"],
                                                   targets)]
    for name, e in entries.items():
        lines.append(f"\n## {name}\n")
        if e["status"] != "ok":
            tail = (e.get("output_tail") or e.get("traceback") or "").strip().splitlines()[-12:]
            lines.append(f"**failed**: {e.get('error')}\n\n```\n" + "\n".join(tail) + "\n```\n")
        lines.append(e.get("markdown") or "_no results_\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run of every benchmark")
    ap.add_argument("--only", default="", help="comma-separated names (write or bench_write)")
    ap.add_argument("--skip", default="", help="comma-separated names to leave out")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per subprocess benchmark (default 600 quick, 3600 full)")
    ap.add_argument("--merge", action="store_true",
                    help="with --only/--skip: replace just these benchmarks' entries in the "
                         "existing all.json and summary.md (default: write them anew)")
    a = ap.parse_args(argv)

    def norm(s: str) -> set[str]:
        return {("bench_" + x.strip()).replace("bench_bench_", "bench_")
                for x in s.split(",") if x.strip()}
    names = discover()
    if a.only:
        names = [n for n in names if n in norm(a.only)]
    names = [n for n in names if n not in norm(a.skip)]
    timeout = a.timeout or (600 if a.quick else 3600)
    # Modules called in this process see it too: their results go to
    # bench/results/quick/ through common.write_results.
    os.environ["BENCH_QUICK"] = "1" if a.quick else "0"
    out_dir = results_dir(a.quick)
    started = datetime.now(timezone.utc)
    doc = {"started_at": started.isoformat(timespec="seconds"), "quick": a.quick,
           "machine": machine_info(), "benchmarks": {}}
    previous = out_dir / "all.json"
    if a.merge and previous.exists():
        # Re-measure a few benchmarks, keep the others' last results.
        old = json.loads(previous.read_text())
        doc["benchmarks"] = old.get("benchmarks", {})
        for key in ("dataset", "plot"):
            if key in old:
                doc[key] = old[key]
        doc["merged"] = old.get("merged", []) + [
            {"at": started.isoformat(timespec="seconds"), "benchmarks": names,
             "previous_run_started_at": old.get("started_at"), "machine": doc["machine"]}]
        doc["started_at"], doc["machine"] = old.get("started_at"), old.get("machine")
    if DATASET_USERS & set(names):
        log("=== dataset for the query benchmarks ===")
        doc["dataset"] = prepare_dataset(a.quick)
        log(f"=== dataset: {doc['dataset']['status']} in {doc['dataset']['seconds']} s")
    for i, name in enumerate(names, 1):
        log(f"=== [{i}/{len(names)}] {name} ===")
        entry = run_one(name, a.quick, timeout)
        doc["benchmarks"][name] = entry
        log(f"=== {name}: {entry['status']} in {entry['seconds']} s"
            + (f" ({entry.get('error')})" if entry.get("error") else ""))
    if "bench_scaling" in names:
        doc["plot"] = redraw_plot(a.quick)
    doc["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "all.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    summary = summary_markdown(doc)
    (out_dir / "summary.md").write_text(summary)
    print(summary)
    log(f"wrote {out_dir / 'all.json'} and {out_dir / 'summary.md'}")
    ok = all(e["status"] == "ok" for e in doc["benchmarks"].values())
    return 0 if ok and doc.get("dataset", {}).get("status", "ok") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
