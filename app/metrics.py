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
DLQ_DEPTH = Gauge("datastorage_dlq_depth", "Records waiting in the spool", ["stream"],
                  multiprocess_mode="livesum")
DLQ_CAPACITY_RATIO = Gauge("datastorage_dlq_capacity_ratio", "Spool bytes / capacity",
                           ["stream"], multiprocess_mode="livemax")
DLQ_ENQUEUE = Counter("datastorage_dlq_enqueue_total", "Records spooled", ["stream", "type"])

# --- ours -----------------------------------------------------------------
HTTP_REQUESTS = Counter("datastorage_http_requests_total", "HTTP requests",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("datastorage_http_request_duration_seconds",
                          "HTTP request latency", ["method", "route"])
GO_GOROUTINES = Gauge("go_goroutines", "Asyncio tasks in this worker (name kept for clients "
                      "that check for the Go series)", multiprocess_mode="livesum")


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


def mark_process_dead(pid: int) -> None:
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)
