"""CPU per event of the audit-event validation, one pass against two, and
of a whole batch, fast path against event by event:
`python -m bench.bench_validation [--quick]`.

No database: the 500 events of one benchmark batch (bench.common.audit_event)
go through app.events.prepare, through app.models.audit.validate_one_pass
(what prepare does for a valid event) and through
app.events.validate_two_passes (what it did before, and still does for an
invalid one), interleaved round by round so that the machine's load hits
both alike. Process CPU time, median of the rounds, in µs per event.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from app import events
from app.server import tune_gc
from app.validation import check_json
from bench.common import audit_event, log, markdown_table, quick_mode, target, write_results

NAME = "validation"
MAX_EVENT_DATA = 1 << 20


def now() -> datetime:
    return datetime.now(timezone.utc)


def cpu_us_per_event(fn, batch: list, whole: bool = False) -> float:
    started = time.process_time()
    if whole:
        fn(batch)
    else:
        for item in batch:
            fn(item)
    return (time.process_time() - started) / len(batch) * 1e6


def main(quick: bool = False) -> dict:
    rounds = 7 if quick else 31
    batch = [audit_event(f"bench-{i % 50}", n=i) for i in range(500)]
    paths = {
        "one pass (validate_one_pass)": events.validate_one_pass,
        "two passes (validate_two_passes)": events.validate_two_passes,
        "whole row (events.prepare)": lambda e: events.prepare(
            e, max_event_data_bytes=MAX_EVENT_DATA, check_window=False),
    }
    # Whole batches: the fast path against event by event (what a batch
    # request did before, nesting check included), rows to JSON text.
    batches = {
        "batch, fast path (events.valid_batch + payload)": lambda b: events.payload(
            events.valid_batch(b, max_events=len(b), now=now(),
                               max_event_data_bytes=MAX_EVENT_DATA)),
        "batch, event by event (check_json + events.batch_by_event + payload)":
            lambda b: check_json(b, strings=False) or events.payload(
                [ev.row for ev in events.batch_by_event(b, max_events=len(b), now=now(),
                                                        max_event_data_bytes=MAX_EVENT_DATA)]),
    }
    samples: dict[str, list[float]] = {name: [] for name in [*paths, *batches]}
    tune_gc()   # as the service does once started
    for r in range(rounds):
        order = [*paths.items(), *batches.items()]
        for name, fn in (order if r % 2 == 0 else reversed(order)):
            samples[name].append(cpu_us_per_event(fn, batch, whole=name in batches))
    med = {name: sorted(v)[len(v) // 2] for name, v in samples.items()}
    one, two = med["one pass (validate_one_pass)"], med["two passes (validate_two_passes)"]
    fast = med["batch, fast path (events.valid_batch + payload)"]
    each = med["batch, event by event (check_json + events.batch_by_event + payload)"]
    targets = [target("one pass / two passes, CPU per valid event (lower is better)",
                      one / two, "<", 1.0),
               target("batch fast path / event by event, CPU per event (lower is better)",
                      fast / each, "<", 1.0)]
    md = (f"### Audit-event validation, CPU per event ({rounds} interleaved rounds of "
          f"{len(batch)} events, medians)\n\n"
          + markdown_table(["path", "µs per event (median)", "min", "max"],
                           [[n, round(med[n], 1), round(min(v), 1), round(max(v), 1)]
                            for n, v in samples.items()])
          + f"\none pass / two passes: {one / two:.2f}; batch fast path / event by event: "
            f"{fast / each:.2f}\n")
    log(md)
    data = {"quick": quick, "rounds": rounds, "us_per_event": med, "samples": samples,
            "targets": targets}
    write_results(NAME, data, md)
    return data


if __name__ == "__main__":
    main(quick_mode())
