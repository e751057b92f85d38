"""Prometheus metrics: the original's audit-path series (names, types and
labels as spec/dlq-health-metrics.md §3) plus our own.

With several workers, PROMETHEUS_MULTIPROC_DIR is set by the CLI before any
worker imports this module, and /metrics aggregates every worker's files.
"""
from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest, multiprocess)
from prometheus_client import REGISTRY as _DEFAULT_REGISTRY

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# --- the original's series ------------------------------------------------
AUDIT_TRACES = Counter("datastorage_audit_traces_total", "Audit traces written, by outcome",
                       ["service", "status"])
AUDIT_LAG = Histogram("datastorage_audit_lag_seconds",
                      "Seconds between an event's timestamp and its persistence", ["service"])
WRITE_DURATION = Histogram("datastorage_write_duration_seconds", "Database write duration",
                           ["table"])
VALIDATION_FAILURES = Counter("datastorage_validation_failures_total",
                              "Requests refused by validation", ["field", "reason"])
LEGAL_HOLD_SUCCESSES = Counter("datastorage_legal_hold_successes_total",
                               "Legal hold operations that succeeded", ["operation"])
LEGAL_HOLD_FAILURES = Counter("datastorage_legal_hold_failures_total",
                              "Legal hold operations that failed", ["reason"])
# Every worker computes the spool gauges from the shared spool directory, so
# the freshest value is the answer (a sum would count the spool once per worker).
DLQ_DEPTH = Gauge("datastorage_dlq_depth", "Records waiting in the spool", ["stream"],
                  multiprocess_mode="livemostrecent")
DLQ_CAPACITY_RATIO = Gauge("datastorage_dlq_capacity_ratio",
                           "Spool bytes / capacity (the capacity is shared by both streams)",
                           ["stream"], multiprocess_mode="livemostrecent")
DLQ_ENQUEUE = Counter("datastorage_dlq_enqueue_total", "Records spooled", ["stream", "type"])
DLQ_WARNING = Gauge("datastorage_dlq_warning", "1 when the spool is 80-90% full", ["stream"],
                    multiprocess_mode="livemostrecent")
DLQ_CRITICAL = Gauge("datastorage_dlq_critical", "1 when the spool is 90-95% full", ["stream"],
                     multiprocess_mode="livemostrecent")
DLQ_OVERFLOW_IMMINENT = Gauge("datastorage_dlq_overflow_imminent",
                              "1 when the spool is at least 95% full", ["stream"],
                              multiprocess_mode="livemostrecent")

# --- ours -----------------------------------------------------------------
EXPORT_SUCCESSES = Counter("datastorage_export_successes_total", "Audit exports served",
                           ["format"])
EXPORT_FAILURES = Counter("datastorage_export_failures_total", "Audit exports refused or failed",
                          ["reason"])
HTTP_REQUESTS = Counter("datastorage_http_requests_total", "HTTP requests",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("datastorage_http_request_duration_seconds",
                          "HTTP request latency", ["method", "route"])
SPOOL_BYTES = Gauge("datastorage_spool_bytes", "Bytes of spool segment files on disk",
                    multiprocess_mode="livemostrecent")
SPOOL_OLDEST_AGE = Gauge("datastorage_spool_oldest_record_age_seconds",
                         "Age of the oldest record waiting in the spool (0 when empty)",
                         multiprocess_mode="livemostrecent")
SPOOL_DAMAGED = Gauge("datastorage_spool_damaged_records",
                      "Torn or corrupt records found and not yet moved to quarantine",
                      multiprocess_mode="livemostrecent")
SPOOL_QUARANTINE_BYTES = Gauge("datastorage_spool_quarantine_bytes",
                               "Size of quarantine.jsonl (counts against the spool capacity)",
                               multiprocess_mode="livemostrecent")
SPOOL_QUARANTINE_RECORDS = Gauge("datastorage_spool_quarantine_records",
                                 "Records in quarantine.jsonl, waiting for the operator",
                                 multiprocess_mode="livemostrecent")
SPOOL_REPLAYED = Counter("datastorage_spool_replayed_total",
                         "Spool records stored by the drainer (transaction committed)", ["stream"])
SPOOL_QUARANTINED = Counter("datastorage_spool_quarantined_total",
                            "Spool records moved to the quarantine file", ["stream", "reason"])
SPOOL_REJECTED = Counter("datastorage_spool_rejected_total",
                         "Writes the spool refused (full -> 503, write_error -> 500)", ["reason"])
SPOOL_REPLAY_RETRIES = Counter("datastorage_spool_replay_retries_total",
                               "Drain passes interrupted (database unavailable, transient error)")
READY = Gauge("datastorage_ready", "1 when the last readiness probe passed, else 0",
              multiprocess_mode="livemostrecent")
CHAIN_VERIFICATIONS = Counter("datastorage_chain_verifications_total",
                              "Chains verified on request, by verdict", ["result"])
GO_GOROUTINES = Gauge("go_goroutines", "Asyncio tasks in this worker (name kept for clients "
                      "that check for the Go series)", multiprocess_mode="livesum")


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """A bounded label: any other method string a client sends is `OTHER`."""
    return method if method in _METHODS else "OTHER"


def _cached_children(metric) -> None:
    """Make `metric.labels(...)` a dict lookup after the first call per label
    set. prometheus_client builds the key and takes a lock on every call
    (several µs, a fair share of a write's CPU); the child it returns is the
    same object each time, and it still notices a fork by itself."""
    lookup = metric.labels
    children: dict = {}

    def labels(*values, **named):
        key = (values, tuple(named.items())) if named else values
        child = children.get(key)
        if child is None:
            child = children[key] = lookup(*values, **named)
        return child

    metric.labels = labels


for _metric in list(globals().values()):
    if isinstance(_metric, (Counter, Gauge, Histogram)):
        _cached_children(_metric)


def exposition() -> tuple[bytes, str]:
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _DEFAULT_REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def observe_lag(service: str, seconds: float) -> None:
    # Future timestamps (allowed up to +60 min) would be negative lag.
    AUDIT_LAG.labels(service=service).observe(max(seconds, 0.0))


# Retention runs (app/retention.py).
RETENTION_DELETED = Counter("datastorage_retention_deleted_events_total",
                            "Audit events removed by retention runs of this service")
RETENTION_DROPPED = Counter("datastorage_retention_dropped_partitions_total",
                            "Monthly partitions dropped whole by retention runs of this service")
RETENTION_FAILURES = Counter("datastorage_retention_failures_total",
                             "Retention runs of this service that failed "
                             "(not counting 'already running')")
RETENTION_KEPT_HELD = Gauge("datastorage_retention_kept_held_events",
                            "Expired events the last retention run kept because they are "
                            "under legal hold",
                            multiprocess_mode="mostrecent")
RETENTION_LAST_RUN = Gauge("datastorage_retention_last_run_timestamp_seconds",
                           "When the last retention run (any driver) finished, Unix time",
                           multiprocess_mode="mostrecent")
RETENTION_LAST_DURATION = Gauge("datastorage_retention_last_run_duration_seconds",
                                "How long the last retention run (any driver) took",
                                multiprocess_mode="mostrecent")
RETENTION_LAST_OK = Gauge("datastorage_retention_last_run_success",
                          "1 when the last retention run succeeded, 0 when it failed",
                          multiprocess_mode="mostrecent")


# Transparency log (app/tlog_service.py). Alert on any increase of the refusals:
# the database's tree no longer extends what was signed.
TLOG_CHECKPOINT_SIZE = Gauge("datastorage_tlog_checkpoint_size",
                             "Tree size of the latest checkpoint this service signed",
                             multiprocess_mode="max")
TLOG_TREE_SIZE = Gauge("datastorage_tlog_tree_size",
                       "Leaves in the database's log when the signer last looked",
                       multiprocess_mode="max")
TLOG_CHECKPOINT_TIME = Gauge("datastorage_tlog_checkpoint_timestamp_seconds",
                             "When this service last signed a checkpoint (Unix time)",
                             multiprocess_mode="max")
TLOG_SIGN_REFUSALS = Counter("datastorage_tlog_sign_refusals_total",
                             "Checkpoints refused because the database's tree changed history")
