"""A large, realistic audit database for the query benchmarks (issue 8).

    python -m bench.generate_data --events 1000000 --chains 100000 --months 12

What it holds: `--events` events over `--chains` correlation ids (one
remediation request each: gateway signal, signal processing, AI analysis with
its LLM calls, workflow search and execution, notification, orchestrator
lifecycle; a prefix of that lifecycle when the request stopped early, extra
deduplicated signals when the alert kept firing), chain starts spread over
`--months` monthly partitions, 2 % of the chains inside the last 24 hours
(the "recent slice"), and one flapping alert with `--long-chain` events.
Payloads have the shapes and sizes of real events (0.3 KB orchestrator
steps, ~0.9 KB gateway signals, 2-4 KB HolmesGPT responses); each kind is run
through `app.events.prepare()` once at start-up and must come out unchanged,
so the rows are exactly what the API would have stored.

How: through the real append function, `datastorage.append_audit_events(jsonb)`,
in batches of `--batch` events made of whole chains, from `--workers`
processes on disjoint chains (no lock waits). Event ids and timestamps come
from a seeded generator, so a run that stopped half way resumes where it was
(chains already complete are skipped; a partly written chain is re-sent and
the function skips the event ids it already has). A complete dataset is
reused as is: the benchmarks call `open_dataset()`, which generates only when
needed.

Where: a private cluster (fsync off) in BENCH_DATA_DIR, default
/var/tmp/ds-bench-data (`--data-dir`), one database per size
(ds_e<events>_c<chains>_m<months>), described by <database>.json beside the
cluster. `--force` regenerates; `rm -rf /var/tmp/ds-bench-data` frees the
space (about 2.5 GB for 1M events).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import orjson
import psycopg

from app import events as app_events
from app.embedded_pg import Cluster
from app.migrate import libpq_url, migrate
from app.timeutil import utc_micro
from bench.common import log

# Bump when the generated content changes: a dataset of another version is
# regenerated instead of reused.
VERSION = 1
DEFAULT_DIR = "/var/tmp/ds-bench-data"
RECENT_SHARE = 0.02          # chains that start inside the last 24 hours
PREFIX = "rr-"               # correlation ids: rr-000000 .. rr-<chains-1>
SEED = 20261126

NAMESPACES = ("payments", "checkout", "inventory", "search", "auth", "billing", "shipping",
              "catalog", "recommendations", "notifications", "ledger", "fraud", "gateway",
              "reporting", "media", "profile", "orders", "pricing", "analytics", "platform")
CLUSTERS = ("prod-eu-1", "prod-us-1", "prod-ap-1")
ALERTS = (("HighCPUUsage", "Pod", "CPU usage above 90% for 5 minutes"),
          ("HighMemoryUsage", "Pod", "Memory usage above 95% of the limit"),
          ("PodCrashLooping", "Pod", "Container restarted more than 5 times in 10 minutes"),
          ("KubePodNotReady", "Pod", "Pod has not been ready for 15 minutes"),
          ("DiskPressure", "Node", "Node filesystem above 85% used"),
          ("HighErrorRate", "Deployment", "HTTP 5xx ratio above 5% for 10 minutes"),
          ("HighLatencyP99", "Deployment", "p99 latency above 2 s for 10 minutes"),
          ("CertificateExpiring", "Secret", "TLS certificate expires in less than 7 days"))
WORKFLOWS = ("oomkill-increase-memory", "cpu-throttle-scale-out", "crashloop-rollback",
             "disk-cleanup-logs", "restart-unhealthy-pod", "rotate-certificate")
IMAGE = "registry.example.com/kubernaut/workflows/{}@sha256:" + "9f3c" * 16
POLICY_HASH = "5d41402abc4b2a76b9719d911017c592" * 2


# --- one remediation request's events ----------------------------------------------

@dataclass
class Chain:
    """Values shared by every event of one remediation request."""
    cid: str
    ns: str
    cluster: str
    alert: str
    kind: str
    summary: str
    pod: str
    workflow: str
    severity: str
    approval: bool
    failed: bool
    n: int


def _gw(ch: Chain, et: str, i: int) -> dict:
    data = {"event_type": et, "signal_type": "prometheus-alert", "alert_name": ch.alert,
            "namespace": ch.ns, "fingerprint": f"{ch.n:012x}{ch.alert[:4].lower()}",
            "severity": ch.severity, "resource_kind": ch.kind, "resource_name": ch.pod,
            "deduplication_status": "duplicate" if et.endswith("deduplicated") else "new",
            "occurrence_count": i + 1,
            "signal_labels": {"alertname": ch.alert, "namespace": ch.ns, "pod": ch.pod,
                              "severity": ch.severity, "team": ch.ns, "cluster": ch.cluster,
                              "prometheus": "monitoring/k8s"},
            "signal_annotations": {"summary": ch.summary,
                                   "description": f"{ch.kind} {ch.ns}/{ch.pod}: {ch.summary}",
                                   "runbook_url": f"https://runbooks.example.com/{ch.alert}"}}
    if et == "gateway.crd.created":
        data["remediation_request"] = ch.cid
    return data


def _ro(ch: Chain, et: str, i: int) -> dict:
    data = {"event_type": et, "rr_name": ch.cid, "namespace": ch.ns}
    if et == "orchestrator.lifecycle.created":
        data["timeout_config"] = {"global": "1h0m0s", "processing": "5m0s",
                                  "analyzing": "10m0s", "executing": "30m0s"}
    elif et == "orchestrator.lifecycle.transitioned":
        data.update(from_phase="Processing", to_phase="Analyzing",
                    transition_reason="signal processing completed")
    elif et == "orchestrator.approval.requested":
        data.update(rar_name=f"rar-{ch.cid}", workflow_id=ch.workflow, confidence_str="0.72",
                    required_by="2026-01-01T00:00:00Z", decision="Pending")
    elif et == "orchestrator.approval.approved":
        data.update(rar_name=f"rar-{ch.cid}", decision="Approved",
                    approved_by="oncall@example.com", message="approved from Slack")
    elif et == "orchestrator.lifecycle.completed":
        data.update(outcome="Success", duration_ms=180000 + ch.n % 600000)
    elif et == "orchestrator.lifecycle.failed":
        data.update(outcome="Failed", failure_phase="WorkflowExecution",
                    failure_reason="Timeout", duration_ms=1800000)
    return data


def _sp(ch: Chain, et: str, i: int) -> dict:
    data = {"event_type": et, "phase": "Enriching" if i < 6 else "Completed",
            "signal": f"{ch.alert}/{ch.ns}/{ch.pod}", "severity": "high",
            "external_severity": ch.severity, "normalized_severity": "high",
            "environment": "production", "environment_source": "labels", "priority": "P1",
            "priority_source": "rego", "criticality": "high", "business_unit": ch.ns}
    if et == "signalprocessing.phase.transition":
        data.update(from_phase="Pending", to_phase="Enriching")
    elif et == "signalprocessing.enrichment.completed":
        data.update(has_owner_chain=True, owner_chain_length=3, has_pdb=True, has_hpa=False,
                    has_namespace=True, has_pod=True, has_deployment=True, duration_ms=42)
    elif et == "signalprocessing.classification.decision":
        data.update(determination_source="rego-policy", policy_hash=POLICY_HASH)
    elif et == "signalprocessing.business.classified":
        data.update(sla_requirement="99.9")
    return data


def _incident(ch: Chain) -> str:
    return f"inc-{ch.n:08d}"


def _ai(ch: Chain, et: str, i: int) -> dict:
    if et == "aianalysis.phase.transition":
        return {"event_type": et, "old_phase": "Pending", "new_phase": "Investigating"}
    if et == "aianalysis.holmesgpt.call":
        return {"event_type": et, "endpoint": "/api/v1/incident/analyze",
                "http_status_code": 200, "duration_ms": 8000 + ch.n % 20000}
    return {"event_type": et, "analysis_name": f"ai-{ch.cid}", "namespace": ch.ns,
            "phase": "Completed", "approval_required": ch.approval,
            **({"approval_reason": "production namespace requires approval"}
               if ch.approval else {}),
            "degraded_mode": False, "warnings_count": 1, "confidence": 0.875,
            "workflow_id": ch.workflow, "target_in_owner_chain": True,
            "provider_response_summary": {
                "incident_id": _incident(ch), "selected_workflow_id": ch.workflow,
                "analysis_preview": f"{ch.kind} {ch.pod} in {ch.ns}: {ch.summary}. "
                                    "Root cause: resource limits too low for current traffic.",
                "needs_human_review": False, "warnings_count": 1}}


_PROMPT = ("You are a Kubernetes SRE assistant. Investigate the incident below, use the "
           "available tools to inspect the affected resources, and return a root cause with "
           "a remediation workflow from the catalog. Incident: ")
_ANALYSIS = ("The {kind} {pod} in namespace {ns} triggered {alert}. Metrics show sustained "
             "pressure since the last deployment; the container requests are below the p95 "
             "usage of the last 7 days and the HPA is at its maximum replica count. Events "
             "show repeated throttling and two OOM kills in the last hour. Recommended: run "
             "workflow {wf} to raise the limits by 50% and scale out by two replicas, then "
             "watch the error rate for 15 minutes. ")


def _llm(ch: Chain, et: str, i: int) -> dict:
    base = {"event_type": et, "event_id": f"{ch.cid}-{et}-{i}", "incident_id": _incident(ch)}
    if et == "llm_request":
        prompt = _PROMPT + f"{ch.alert} on {ch.kind} {ch.ns}/{ch.pod} ({ch.summary})."
        return {**base, "model": "gpt-4o-2024-08-06", "prompt_length": 5400 + ch.n % 900,
                "prompt_preview": (prompt * 3)[:500], "max_tokens": 4096,
                "toolsets_enabled": ["kubernetes/core", "kubernetes/logs", "prometheus/metrics"],
                "mcp_servers": []}
    if et == "llm_tool_call":
        lines = "\n".join(f"{ch.pod[:-2]}{k:02d}   1/1   Running   {k}   {k + 3}h"
                          for k in range(8))
        return {**base, "tool_call_index": i % 7, "tool_name": "kubectl_get_by_kind_in_namespace",
                "tool_arguments": {"kind": "pod", "namespace": ch.ns},
                "tool_result": "NAME READY STATUS RESTARTS AGE\n" + lines,
                "tool_result_preview": lines[:200]}
    analysis = _ANALYSIS.format(kind=ch.kind, pod=ch.pod, ns=ch.ns, alert=ch.alert, wf=ch.workflow)
    return {**base, "has_analysis": True, "analysis_length": len(analysis) * 4,
            "analysis_preview": analysis[:500], "tokens_used": 6100 + ch.n % 2000,
            "tool_call_count": 2}


def _hgpt(ch: Chain, et: str, i: int) -> dict:
    analysis = _ANALYSIS.format(kind=ch.kind, pod=ch.pod, ns=ch.ns, alert=ch.alert, wf=ch.workflow)
    return {"event_type": et, "event_id": f"{ch.cid}-hgpt", "incident_id": _incident(ch),
            "response_data": {
                "incident_id": _incident(ch), "analysis": analysis * 4,
                "root_cause_analysis": {
                    "summary": f"{ch.summary} caused by limits below steady-state usage",
                    "severity": "high",
                    "contributing_factors": ["requests below p95 usage", "HPA at max replicas",
                                             "traffic 40% above last week"]},
                "selected_workflow": {"workflow_id": ch.workflow,
                                      "container_image": IMAGE.format(ch.workflow),
                                      "confidence": 0.875,
                                      "parameters": {"NAMESPACE": ch.ns, "TARGET": ch.pod,
                                                     "MEMORY_INCREASE": "50%", "REPLICAS": "+2"}},
                "confidence": 0.875, "timestamp": "2026-01-01T00:00:00Z",
                "needs_human_review": False, "target_in_owner_chain": True,
                "warnings": ["metrics for the last 2 hours are incomplete"],
                "alternative_workflows": [{"workflow_id": "restart-unhealthy-pod",
                                           "rationale": "restarts clear the symptom only"}]}}


def _search(ch: Chain, et: str, i: int) -> dict:
    ids = ("0d6c2a0e-0b5e-4c1a-9a55-1f0d6b0c0001", "0d6c2a0e-0b5e-4c1a-9a55-1f0d6b0c0002",
           "0d6c2a0e-0b5e-4c1a-9a55-1f0d6b0c0003")
    return {"event_type": et,
            "query": {"top_k": 3, "min_score": 0.5,
                      "filters": {"signal_type": ch.alert, "severity": "high",
                                  "component": ch.kind.lower(), "environment": "production",
                                  "priority": "P1"}},
            "results": {"total_found": 3, "returned": 3, "workflows": [
                {"workflow_id": wid, "title": f"{name} for {ch.kind.lower()}s", "rank": r + 1,
                 "scoring": {"confidence": 0.875 - r * 0.125}, "owner": "sre-team",
                 "description": f"Remediates {ch.alert} by running {name}",
                 "labels": {"signal_type": ch.alert, "severity": "high"}}
                for r, (wid, name) in enumerate(zip(ids, (ch.workflow, *WORKFLOWS[:2])))]},
            "search_metadata": {"duration_ms": 12, "embedding_dimensions": 768,
                                "embedding_model": "all-mpnet-base-v2"}}


def _we(ch: Chain, et: str, i: int) -> dict:
    data = {"event_type": et, "workflow_id": ch.workflow, "workflow_version": "v1.4.2",
            "target_resource": f"{ch.ns}/{ch.kind.lower()}/{ch.pod}",
            "phase": "Running", "container_image": IMAGE.format(ch.workflow),
            "execution_name": f"we-{ch.cid}"}
    if et in ("workflowexecution.selection.completed", "workflowexecution.execution.started"):
        data["phase"] = "Pending"
    elif et == "workflowexecution.workflow.started":
        data.update(started_at="2026-01-01T00:00:00Z", pipelinerun_name=f"pr-{ch.cid}")
    elif et == "workflowexecution.workflow.completed":
        data.update(phase="Completed", started_at="2026-01-01T00:00:00Z",
                    completed_at="2026-01-01T00:03:00Z", duration="3m0s",
                    pipelinerun_name=f"pr-{ch.cid}")
    elif et == "workflowexecution.workflow.failed":
        data.update(phase="Failed", failure_reason="DeadlineExceeded",
                    failure_message="task apply-patch exceeded its 10m timeout",
                    failed_task_name="apply-patch", pipelinerun_name=f"pr-{ch.cid}")
    return data


def _notify(ch: Chain, et: str, i: int) -> dict:
    return {"event_type": et, "notification_id": f"nr-{ch.cid}", "channel": "slack",
            "subject": f"[{ch.severity}] {ch.alert} remediated in {ch.ns}",
            "body": (f"Remediation {ch.cid} ran workflow {ch.workflow} on {ch.ns}/{ch.pod}. "
                     f"Alert: {ch.summary}. Outcome: {'failed' if ch.failed else 'success'}. "
                     "See the audit trail for the full timeline and the AI analysis."),
            "priority": "high", "type": "status-update",
            "metadata": {"remediation": ch.cid, "cluster": ch.cluster}}


# kind -> (event_type, event_category, event_action, payload builder, typical delay s)
KINDS: dict[str, tuple[str, str, str, Callable[[Chain, str, int], dict], float]] = {
    "gw_received": ("gateway.signal.received", "gateway", "received", _gw, 0.0),
    "gw_dedup": ("gateway.signal.deduplicated", "gateway", "deduplicated", _gw, 240.0),
    "gw_crd": ("gateway.crd.created", "gateway", "created", _gw, 0.05),
    "ro_created": ("orchestrator.lifecycle.created", "orchestration", "created", _ro, 0.1),
    "ro_started": ("orchestrator.lifecycle.started", "orchestration", "started", _ro, 0.2),
    "sp_transition": ("signalprocessing.phase.transition", "signalprocessing", "transition",
                      _sp, 0.3),
    "sp_enrich": ("signalprocessing.enrichment.completed", "signalprocessing", "completed",
                  _sp, 1.5),
    "sp_classify": ("signalprocessing.classification.decision", "signalprocessing",
                    "classified", _sp, 0.2),
    "sp_business": ("signalprocessing.business.classified", "signalprocessing", "classified",
                    _sp, 0.1),
    "sp_processed": ("signalprocessing.signal.processed", "signalprocessing", "processed",
                     _sp, 0.1),
    "ro_transitioned": ("orchestrator.lifecycle.transitioned", "orchestration", "transitioned",
                        _ro, 0.3),
    "ai_transition": ("aianalysis.phase.transition", "analysis", "transition", _ai, 0.5),
    "ai_call": ("aianalysis.holmesgpt.call", "analysis", "called", _ai, 0.2),
    "llm_request": ("llm_request", "aiagent", "llm_request", _llm, 0.3),
    "llm_tool": ("llm_tool_call", "aiagent", "tool_call", _llm, 3.0),
    "llm_response": ("llm_response", "aiagent", "llm_response", _llm, 6.0),
    "hgpt": ("holmesgpt.response.complete", "aiagent", "response_complete", _hgpt, 0.5),
    "ai_completed": ("aianalysis.analysis.completed", "analysis", "completed", _ai, 0.3),
    "wf_search": ("workflow.catalog.search_completed", "workflow", "search_completed",
                  _search, 0.4),
    "ro_appr_req": ("orchestrator.approval.requested", "orchestration", "approval_requested",
                    _ro, 0.5),
    "ro_appr_ok": ("orchestrator.approval.approved", "orchestration", "approval_approved",
                   _ro, 300.0),
    "we_selected": ("workflowexecution.selection.completed", "workflowexecution",
                    "selection_completed", _we, 0.5),
    "we_exec": ("workflowexecution.execution.started", "workflowexecution", "execution_started",
                _we, 0.5),
    "we_started": ("workflowexecution.workflow.started", "workflowexecution", "started",
                   _we, 2.0),
    "we_completed": ("workflowexecution.workflow.completed", "workflowexecution", "completed",
                     _we, 180.0),
    "we_failed": ("workflowexecution.workflow.failed", "workflowexecution", "failed",
                  _we, 600.0),
    "notify": ("notification.message.sent", "notification", "sent", _notify, 1.0),
    "ro_completed": ("orchestrator.lifecycle.completed", "orchestration", "completed", _ro, 0.5),
    "ro_failed": ("orchestrator.lifecycle.failed", "orchestration", "failed", _ro, 0.5),
}


def lifecycle(ch: Chain) -> list[str]:
    kinds = ["gw_received", "gw_crd", "ro_created", "ro_started", "sp_transition", "sp_enrich",
             "sp_classify", "sp_business", "sp_processed", "ro_transitioned", "ai_transition",
             "ai_call", "llm_request", "llm_tool", "llm_tool", "llm_response", "hgpt",
             "ai_completed", "wf_search"]
    if ch.approval:
        kinds += ["ro_appr_req", "ro_appr_ok"]
    kinds += ["we_selected", "we_exec", "we_started"]
    kinds += ["we_failed", "notify", "ro_failed"] if ch.failed else \
             ["we_completed", "notify", "ro_completed"]
    return kinds


def kinds_of(ch: Chain, length: int) -> list[str]:
    """A prefix of the lifecycle (the request stopped early or is still
    running); beyond a full lifecycle, the alert kept firing: deduplicated
    signals right after the first one."""
    full = lifecycle(ch)
    if length <= len(full):
        return full[:length]
    return full[:1] + ["gw_dedup"] * (length - len(full)) + full[1:]


def outcome(kind: str, ch: Chain) -> str:
    if kind in ("we_failed", "ro_failed"):
        return "failure"
    if kind == "ro_appr_req":
        return "pending"
    return "success"


def chain_context(c: int, seed: int) -> tuple[Chain, random.Random]:
    rng = random.Random(seed * 1_000_003 + c)
    alert, kind, summary = ALERTS[rng.randrange(len(ALERTS))]
    ns = NAMESPACES[rng.randrange(len(NAMESPACES))]
    ch = Chain(cid=f"{PREFIX}{c:06d}", ns=ns, cluster=CLUSTERS[rng.randrange(len(CLUSTERS))],
               alert=alert, kind=kind, summary=summary,
               pod=f"{ns}-{rng.randrange(16**6):06x}-{rng.randrange(100):02d}",
               workflow=WORKFLOWS[rng.randrange(len(WORKFLOWS))],
               severity=("critical", "warning", "warning", "info")[rng.randrange(4)],
               approval=rng.random() < 0.2, failed=rng.random() < 0.08, n=c)
    return ch, rng


def event_row(ch: Chain, kind: str, i: int, ts: datetime, event_id: str) -> dict:
    """The row append_audit_events() receives: what app.events.prepare()
    builds for this event (checked by check_templates())."""
    et, category, action, build, _ = KINDS[kind]
    return {"event_id": event_id, "event_version": "1.0", "event_timestamp": utc_micro(ts),
            "event_type": et, "event_category": category, "event_action": action,
            "event_outcome": outcome(kind, ch), "correlation_id": ch.cid,
            "actor_type": "service", "actor_id": f"{category}-service",
            "resource_type": "RemediationRequest", "resource_id": ch.cid,
            "parent_event_id": None, "namespace": ch.ns, "cluster_name": ch.cluster,
            "severity": ch.severity,
            "duration_ms": (20 + i * 7) if kind in ("ai_call", "llm_response", "we_completed")
            else None,
            "retention_days": 2555, "is_sensitive": False, "event_data": build(ch, et, i)}


@dataclass(frozen=True)
class Timeline:
    """Where chains start: the recent slice is [anchor-24h, anchor), the rest
    spread from the first day of the oldest month to 25 h before anchor."""
    anchor: datetime
    months: int

    @property
    def oldest(self) -> datetime:
        m = self.anchor.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for _ in range(self.months - 1):
            m = (m - timedelta(days=1)).replace(day=1)
        return m

    @property
    def recent_from(self) -> datetime:
        return self.anchor - timedelta(hours=24)


def chain_rows(c: int, length: int, tl: Timeline, seed: int, long_chain: bool = False
               ) -> list[dict]:
    """Every event of chain c, deterministic in (c, seed, anchor)."""
    ch, rng = chain_context(c, seed)
    kinds = kinds_of(ch, length)
    if long_chain:
        # A flapping alert: one signal every few minutes for weeks.
        span = min(timedelta(days=28), (tl.recent_from - tl.oldest) * 0.8)
        start = tl.recent_from - timedelta(days=2) - span
        step = span / max(1, length)
    else:
        step = None
        if rng.random() < RECENT_SHARE:
            lo, hi = tl.recent_from + timedelta(minutes=5), tl.anchor - timedelta(minutes=60)
        else:
            lo, hi = tl.oldest + timedelta(hours=1), tl.recent_from - timedelta(hours=1)
        start = lo + (hi - lo) * rng.random()
        if length > 40:  # many deduplications: keep the chain inside its window
            step = min(timedelta(seconds=240), (hi - start) / length)
    rows = []
    ts = start
    for i, kind in enumerate(kinds):
        if i:
            delay = KINDS[kind][4]
            ts += step if step is not None else timedelta(seconds=delay * (0.5 + rng.random()))
            ts += timedelta(microseconds=rng.randrange(1000))
        eid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        rows.append(event_row(ch, kind, i, ts, eid))
    return rows


def chain_lengths(events: int, chains: int, long_chain: int, seed: int) -> list[int]:
    """Lengths summing to exactly `events`: a quarter of the requests stop
    within 3 events, most run part or all of the lifecycle; chain 0 is the
    long one when long_chain > 0."""
    if chains < 1 or events < chains:
        raise ValueError("need at least one event per chain")
    rng = random.Random(seed)
    long_n = min(long_chain, events - (chains - 1)) if long_chain > 0 else 0
    rest_chains = chains - (1 if long_n else 0)
    rest = events - long_n
    raw = []
    for _ in range(rest_chains):
        r = rng.random()
        raw.append(rng.randint(1, 3) if r < 0.25 else rng.randint(4, 12) if r < 0.7
                   else rng.randint(13, 28))
    scale = rest / sum(raw)
    lengths = [max(1, round(x * scale)) for x in raw]
    diff = rest - sum(lengths)
    while diff:
        k = rng.randrange(rest_chains)
        if diff > 0:
            lengths[k] += 1
            diff -= 1
        elif lengths[k] > 1:
            lengths[k] -= 1
            diff += 1
    return ([long_n] if long_n else []) + lengths


def check_templates() -> None:
    """Every kind must pass the API's validation unchanged: the generated
    rows are then exactly what POST /api/v1/audit/events would store."""
    now = datetime.now(timezone.utc)
    for c, approval, failed in ((7, False, False), (8, True, True)):
        ch, _ = chain_context(c, SEED)
        ch.approval, ch.failed = approval, failed
        for i, kind in enumerate(sorted(set(kinds_of(ch, 60)))):
            row = event_row(ch, kind, i, now, str(uuid.uuid4()))
            request = {"version": row["event_version"], "event_timestamp": now.isoformat(),
                       **{k: row[k] for k in ("event_type", "event_category", "event_action",
                                              "event_outcome", "correlation_id", "actor_type",
                                              "actor_id", "resource_type", "resource_id",
                                              "namespace", "cluster_name", "severity",
                                              "event_data")}}
            if row["duration_ms"]:
                request["duration_ms"] = row["duration_ms"]
            stored = app_events.prepare(request, max_event_data_bytes=1 << 20).row
            for key in row:
                if key not in ("event_id", "event_timestamp") and stored[key] != row[key]:
                    raise AssertionError(f"{kind}: {key} would be stored as {stored[key]!r}, "
                                         f"the generator writes {row[key]!r}")


# --- loading -------------------------------------------------------------------------

APPEND = "SELECT datastorage.append_audit_events(%s::jsonb)"
# The ceiling: the same rows inserted as they are, without the chain (no
# chain-head locks, no hashes, no event_id check). Never for real data.
PLAIN = "INSERT INTO audit_events SELECT * FROM jsonb_populate_recordset(NULL::audit_events, %s::jsonb)"


def _unchained(chain: list[dict]) -> list[dict]:
    return [{**r, "chain_seq": i + 1, "event_date": r["event_timestamp"][:10], "event_hash": "",
             "previous_event_hash": "", "legal_hold": False, "hash_version": 2}
            for i, r in enumerate(chain)]


def _load_worker(url: str, todo: list[tuple[int, int]], tl: Timeline, seed: int, batch: int,
                 long_id: int | None, counter, plain: bool = False) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        rows: list[dict] = []

        def flush() -> None:
            if rows:
                conn.execute(PLAIN if plain else APPEND, (orjson.dumps(rows).decode(),))
                with counter.get_lock():
                    counter.value += len(rows)
                rows.clear()

        for c, length in todo:
            chain = chain_rows(c, length, tl, seed, long_chain=(c == long_id))
            if plain:
                chain = _unchained(chain)
            if len(chain) > batch:
                flush()
                # Chunks of one chain in order: the function links each to the last.
                for k in range(0, len(chain), batch):
                    rows.extend(chain[k:k + batch])
                    flush()
                continue
            if len(rows) + len(chain) > batch:
                flush()
            rows.extend(chain)
        flush()


def load(url: str, *, events: int, chains: int, months: int, anchor: datetime,
         long_chain: int = 0, seed: int = SEED, workers: int | None = None, batch: int = 2000,
         progress: bool = True, plain: bool = False) -> dict:
    """Append the dataset into the database at `url` (resuming: complete
    chains are skipped). Returns counts and the append rate."""
    tl = Timeline(anchor, months)
    lengths = chain_lengths(events, chains, long_chain, seed)
    long_id = 0 if long_chain > 0 else None
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SELECT datastorage.ensure_audit_partitions(%s, 3, %s)", (months - 1, anchor))
        done = dict(conn.execute(
            "SELECT correlation_id, last_seq FROM audit_chain_heads WHERE correlation_id LIKE %s",
            (PREFIX + "%",)).fetchall())
    todo = [(c, n) for c, n in enumerate(lengths) if done.get(f"{PREFIX}{c:06d}", 0) < n]
    already = sum(n for c, n in enumerate(lengths) if done.get(f"{PREFIX}{c:06d}", 0) >= n)
    to_write = sum(n for _, n in todo)
    workers = max(1, min(workers or (os.cpu_count() or 1), len(todo) or 1))
    log(f"{events:,} events over {chains:,} chains: {already:,} already stored, "
        f"{to_write:,} to append with {workers} connection(s), batches of {batch}")
    result = {"events": events, "chains": chains, "already_stored": already,
              "appended_events": 0, "seconds": 0.0, "events_per_s": None, "workers": workers,
              "batch": batch}
    if not todo:
        return result
    # Long chains first (they cannot be split across workers), then round robin.
    todo.sort(key=lambda t: -t[1] if t[1] > batch else 0)
    shares: list[list[tuple[int, int]]] = [[] for _ in range(workers)]
    for k, item in enumerate(todo):
        shares[k % workers].append(item)
    ctx = mp.get_context("fork")
    counter = ctx.Value("q", 0)
    t0 = time.perf_counter()
    if workers == 1:  # in this process (tests: no fork)
        _load_worker(url, shares[0], tl, seed, batch, long_id, counter, plain)
        seconds = time.perf_counter() - t0
        result.update(appended_events=counter.value, seconds=round(seconds, 1),
                      events_per_s=round(counter.value / seconds) if seconds else None)
        return result
    procs = [ctx.Process(target=_load_worker, args=(url, share, tl, seed, batch, long_id,
                                                   counter, plain), daemon=True)
             for share in shares]
    for p in procs:
        p.start()
    last = 0.0
    while any(p.is_alive() for p in procs):
        time.sleep(0.5)
        if progress and time.perf_counter() - last >= 5:
            last = time.perf_counter()
            n = counter.value
            el = last - t0
            log(f"  {n:,}/{to_write:,} events ({100 * n / to_write:.0f}%), "
                f"{n / el:,.0f} events/s")
    for p in procs:
        p.join()
    seconds = time.perf_counter() - t0
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise RuntimeError(f"generator worker(s) failed with exit codes {failed}")
    result.update(appended_events=counter.value, seconds=round(seconds, 1),
                  events_per_s=round(counter.value / seconds) if seconds else None)
    return result


def finish(url: str) -> dict:
    """VACUUM ANALYZE (statistics for the planner, visibility map for
    index-only scans), then counts and a verification sample."""
    out: dict = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) audit_events")
        conn.execute("VACUUM (ANALYZE) audit_chain_heads")
        out["vacuum_analyze_s"] = round(time.perf_counter() - t0, 1)
        out["stored_events"] = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        out["partitions"] = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_events'::regclass"
        ).fetchone()[0]
        out["size_mb"] = round(conn.execute(
            "SELECT pg_database_size(current_database())").fetchone()[0] / 2**20)
    return out


def ceiling(cluster: Cluster, *, events: int, chains: int, months: int, anchor: datetime,
            seed: int, workers: int | None, batch: int) -> dict:
    """The same generator into two fresh scratch databases: through the
    append function, and as a plain INSERT of the same rows (the ceiling:
    what storing them costs without the chain). Same sample, same run."""
    out: dict = {"sample_events": events, "sample_chains": chains}
    for mode in ("append", "plain"):
        name = f"ds_ceiling_{mode}"
        with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            migrate(cluster.url(name))
            res = load(cluster.url(name), events=events, chains=chains, months=months,
                       anchor=anchor, seed=seed, workers=workers, batch=batch, progress=False,
                       plain=mode == "plain")
            out[f"{mode}_events_per_s"] = res["events_per_s"]
        finally:
            with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if out.get("plain_events_per_s"):
        out["append_vs_plain"] = round(out["append_events_per_s"] / out["plain_events_per_s"], 3)
    return out


def verify_sample(url: str, cids: list[str]) -> bool:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return all(conn.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)",
                                (cid,)).fetchone()[0] for cid in cids)


# --- the persistent dataset ------------------------------------------------------

def data_dir() -> Path:
    return Path(os.environ.get("BENCH_DATA_DIR") or DEFAULT_DIR)


def db_name(events: int, chains: int, months: int) -> str:
    return f"ds_e{events}_c{chains}_m{months}"


@dataclass
class Dataset:
    url: str
    meta: dict
    cluster: Cluster

    @property
    def anchor(self) -> datetime:
        return datetime.fromisoformat(self.meta["anchor"])

    @property
    def timeline(self) -> Timeline:
        return Timeline(self.anchor, self.meta["months"])

    def cid(self, c: int) -> str:
        return f"{PREFIX}{c:06d}"

    @property
    def long_chain_id(self) -> str | None:
        return self.cid(0) if self.meta.get("long_chain") else None

    def lengths(self) -> list[int]:
        m = self.meta
        return chain_lengths(m["events"], m["chains"], m["long_chain"], m["seed"])

    def postmaster_pid(self) -> int:
        return int((self.cluster.pgdata / "postmaster.pid").read_text().split()[0])


# Appended once to the cluster's postgresql.auto.conf (later lines win):
# bulk loading with fewer checkpoints, room to build indexes, and a buffer
# cache that holds the hot part of a 1M-event dataset (~1.2 GB on disk).
SETTINGS_MARK = "# bench.generate_data settings v2"
SETTINGS = {"shared_buffers": "'1GB'", "max_wal_size": "'8GB'", "checkpoint_timeout": "'30min'",
            "maintenance_work_mem": "'512MB'"}


def _cluster(directory: Path) -> Cluster:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)  # the postgres user must traverse it
    cluster = Cluster(directory / "cluster", durable=False)
    cluster.init()
    auto = cluster.pgdata / "postgresql.auto.conf"
    if SETTINGS_MARK not in auto.read_text():
        if cluster.running():
            cluster.stop()  # shared_buffers needs a restart; the caller starts it again
        with open(auto, "a") as f:
            f.write(f"{SETTINGS_MARK}\n" + "".join(f"{k} = {v}\n" for k, v in SETTINGS.items()))
    return cluster


def ensure(events: int, chains: int, months: int, *, long_chain: int = 10_000,
           workers: int | None = None, batch: int = 2000, seed: int = SEED, force: bool = False,
           cluster: Cluster | None = None, directory: Path | None = None) -> Dataset:
    """The dataset, generated if missing or incomplete (the cluster must be running)."""
    directory = directory or data_dir()
    cluster = cluster or _cluster(directory)
    name = db_name(events, chains, months)
    meta_path = directory / f"{name}.json"
    config = {"events": events, "chains": chains, "months": months, "long_chain": long_chain,
              "seed": seed, "version": VERSION}
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    same = meta and all(meta.get(k) == v for k, v in config.items())
    with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone() is not None
        if force or not same or not exists:
            if exists:
                log(f"dropping {name} ({'--force' if force else 'other configuration'})")
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            meta = {**config, "database": name, "complete": False,
                    "anchor": datetime.now(timezone.utc).isoformat(),
                    "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    url = cluster.url(name)
    migrate(url)  # new migrations (indexes) reach a reused dataset too
    ds = Dataset(url, meta, cluster)
    if meta.get("complete"):
        log(f"reusing {name} ({meta['stored_events']:,} events, generated "
            f"{meta['generated_at']} at {meta['load']['events_per_s'] or 0:,} events/s)")
        return ds
    check_templates()
    log(f"generating {name} in {directory}")
    meta["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    res = load(url, events=events, chains=chains, months=months, anchor=ds.anchor,
               long_chain=long_chain, seed=seed, workers=workers, batch=batch)
    fin = finish(url)
    sample = [ds.cid(c) for c in random.Random(seed).sample(range(chains), min(20, chains))]
    valid = verify_sample(url, sample + ([ds.long_chain_id] if ds.long_chain_id else []))
    n = min(events, 100_000)
    log(f"ceiling: {n:,} events appended vs inserted plainly, in scratch databases")
    ceil = ceiling(cluster, events=n, chains=max(1, chains * n // events), months=months,
                   anchor=ds.anchor, seed=seed, workers=workers, batch=batch)
    meta.update(complete=True, load=res, **fin, sample_chains_valid=valid, ceiling=ceil,
                total_s=round(time.perf_counter() - t0, 1),
                generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if fin["stored_events"] < events:
        raise RuntimeError(f"{name}: {fin['stored_events']:,} events stored, {events:,} expected")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    log(f"{name}: {fin['stored_events']:,} events, {fin['size_mb']:,} MB; append "
        f"{res['events_per_s'] or 0:,} events/s over {res['seconds']} s, VACUUM ANALYZE "
        f"{fin['vacuum_analyze_s']} s; sample chains verify: {valid}; ceiling on "
        f"{ceil['sample_events']:,} events: append {ceil['append_events_per_s']:,}/s, "
        f"plain INSERT {ceil['plain_events_per_s']:,}/s")
    return ds


@contextmanager
def open_dataset(events: int, chains: int, months: int, *, keep_running: bool = False,
                 **kw) -> Iterator[Dataset]:
    """Start the dataset's cluster (if it is not running), make sure the data
    exist, and stop the cluster afterwards if this call started it."""
    directory = kw.pop("directory", None) or data_dir()
    cluster = _cluster(directory)
    started = not cluster.running()
    cluster.start()
    try:
        yield ensure(events, chains, months, cluster=cluster, directory=directory, **kw)
    finally:
        if started and not keep_running:
            cluster.stop()


QUICK = {"events": 20_000, "chains": 2_000, "months": 12, "long_chain": 2_000}
FULL = {"events": 1_000_000, "chains": 100_000, "months": 12, "long_chain": 10_000}


def sizes(quick: bool) -> dict:
    return dict(QUICK if quick else FULL)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.generate_data",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=FULL["events"])
    ap.add_argument("--chains", type=int, default=FULL["chains"])
    ap.add_argument("--months", type=int, default=FULL["months"])
    ap.add_argument("--long-chain", type=int, default=None,
                    help="events of the one flapping-alert chain (0: none; "
                         "default 10,000, or the --quick size)")
    ap.add_argument("--workers", type=int, default=None, help="connections (default: CPUs)")
    ap.add_argument("--batch", type=int, default=2000, help="events per function call")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--data-dir", type=Path, default=None,
                    help=f"default $BENCH_DATA_DIR or {DEFAULT_DIR}")
    ap.add_argument("--force", action="store_true", help="regenerate even if complete")
    ap.add_argument("--keep-running", action="store_true",
                    help="leave the dataset's PostgreSQL running afterwards")
    ap.add_argument("--quick", action="store_true",
                    help=f"the smoke-run size: {QUICK['events']:,} events, "
                         f"{QUICK['chains']:,} chains")
    a = ap.parse_args(argv)
    size = sizes(True) if a.quick else {"events": a.events, "chains": a.chains,
                                        "months": a.months, "long_chain": FULL["long_chain"]}
    if a.long_chain is not None:
        size["long_chain"] = a.long_chain
    with open_dataset(size["events"], size["chains"], size["months"],
                      long_chain=size["long_chain"], workers=a.workers, batch=a.batch,
                      seed=a.seed, force=a.force, keep_running=a.keep_running,
                      directory=a.data_dir) as ds:
        meta = dict(ds.meta)
    print(json.dumps({k: meta[k] for k in ("database", "events", "chains", "months",
                                           "stored_events", "size_mb", "load",
                                           "vacuum_analyze_s", "ceiling", "generated_at")
                      if k in meta}, indent=2))
    return meta


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
