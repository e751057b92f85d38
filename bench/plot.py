"""Plot write throughput and p99 latency against concurrency:
`python -m bench.plot [--quick] [--out docs/write_scaling.png]`.

Reads bench/results/scaling.json (bench/bench_scaling.py; bench/results/quick/
with --quick) and draws two panels, events/s and p99 against connections,
for the service with each worker count beside the pgbench ceiling measured
in the same run. matplotlib is not a project dependency:
`.venv/bin/pip install matplotlib`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.common import ROOT, results_dir

DEFAULT_OUT = ROOT / "docs" / "write_scaling.png"


def series_of(points: list[dict]) -> dict[str, list[dict]]:
    """Label -> points ordered by connections, for the curves that have several."""
    out: dict[str, list[dict]] = {}
    for p in points:
        if p["series"] == "HTTP single event":
            label = f"HTTP single event, {p['workers']} worker{'s' if p['workers'] > 1 else ''}"
        elif p["series"].startswith("pgbench"):
            label = "pgbench, same SQL function (ceiling)"
        else:
            continue
        out.setdefault(label, []).append(p)
    return {k: sorted(v, key=lambda p: p["clients"]) for k, v in out.items()}


def plot(results: dict, out: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = series_of(results["points"])
    fig, (ax_rate, ax_p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"pgbench": dict(color="0.45", linestyle="--", marker="s")}
    for label, pts in curves.items():
        style = styles["pgbench"] if label.startswith("pgbench") else dict(marker="o")
        xs = [p["clients"] for p in pts]
        ax_rate.plot(xs, [p["items_per_s"] for p in pts], label=label, **style)
        ax_p99.plot(xs, [p["p99_ms"] for p in pts], label=label, **style)
    for ax in (ax_rate, ax_p99):
        ax.set_xscale("log", base=2)
        ax.set_xticks(results["config"]["levels"])
        ax.set_xticklabels([str(x) for x in results["config"]["levels"]])
        ax.set_xlabel("concurrent connections")
        ax.grid(True, which="both", alpha=0.3)
    ax_rate.axhline(50, color="tab:red", linewidth=0.8, linestyle=":")
    ax_rate.annotate("original's target: 50 writes/s", (1, 50), xytext=(0, 4),
                     textcoords="offset points", fontsize=8, color="tab:red")
    ax_rate.set_ylabel("events/s (single-event writes)")
    ax_rate.set_ylim(bottom=0)
    ax_p99.set_yscale("log")
    ax_p99.axhline(1000, color="tab:red", linewidth=0.8, linestyle=":")
    ax_p99.annotate("original's target: p95 < 1 s", (1, 1000), xytext=(0, -12),
                    textcoords="offset points", fontsize=8, color="tab:red")
    ax_p99.set_ylabel("p99 latency, ms (log scale)")
    ax_rate.legend(fontsize=8)
    m, cfg = results.get("machine", {}), results["config"]
    load = (f", 1-min load average {cfg['loadavg_1min_at_start']} at start, "
            f"{cfg['loadavg_1min_at_end']} at end" if "loadavg_1min_at_start" in cfg else "")
    fig.suptitle(f"Audit writes against concurrency — {m.get('cpus')} CPUs shared, PostgreSQL "
                 f"{cfg['postgres']}{load}", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m bench.plot", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="plot the quick run's results")
    ap.add_argument("--results", type=Path, help="scaling.json to plot")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"PNG to write (default {DEFAULT_OUT.relative_to(ROOT)}; "
                         "bench/results/quick/write_scaling.png with --quick)")
    a = ap.parse_args(argv)
    src = a.results or results_dir(a.quick) / "scaling.json"
    out = a.out or (results_dir(True) / "write_scaling.png" if a.quick else DEFAULT_OUT)
    path = plot(json.loads(src.read_text()), out)
    print(path)
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
