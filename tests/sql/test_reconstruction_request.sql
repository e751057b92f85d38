-- Rule: datastorage.reconstruct_remediation_request(correlation_id) rebuilds a
-- RemediationRequest from the five relevant audit event types, oldest first,
-- with the spec's mapping, merge rules, nine-item completeness, and refusals
-- (DS404/DS400 with the problem slug in HINT); a malformed stored payload is
-- skipped and named in validation.errors, never fatal.
BEGIN;
SELECT plan(78);

-- Fixtures ---------------------------------------------------------------
CREATE FUNCTION pg_temp.add(cid text, etype text, data jsonb, sec int,
                            ns text DEFAULT NULL, id uuid DEFAULT gen_random_uuid()) RETURNS uuid
LANGUAGE sql AS $$
    SELECT id FROM (SELECT datastorage.append_audit_events(jsonb_build_array(jsonb_build_object(
        'event_id', id, 'event_timestamp', timestamptz '2026-01-14 09:00:00+00' + sec * interval '1 second',
        'event_type', etype, 'event_category', split_part(etype, '.', 1), 'event_action', 'a',
        'event_outcome', 'success', 'actor_type', 'service', 'actor_id', 'x', 'resource_type', 'r',
        'resource_id', 'r', 'correlation_id', cid, 'namespace', ns, 'event_data', data)))) x
$$;
CREATE FUNCTION pg_temp.gw(extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"event_type": "gateway.signal.received", "signal_type": "prometheus-alert",
             "alert_name": "HighCPU", "namespace": "prod", "fingerprint": "fp-1"}'::jsonb || extra
$$;
CREATE FUNCTION pg_temp.gw_full(extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT pg_temp.gw('{"signal_labels": {"alertname": "HighCPU", "severity": "critical"},
                        "signal_annotations": {"summary": "CPU usage is high"},
                        "original_payload": {"alert": "data"}}') || extra
$$;
CREATE FUNCTION pg_temp.orch(timeouts jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_type', 'orchestrator.lifecycle.created', 'rr_name', 'rr-1',
                              'namespace', 'prod', 'timeout_config', timeouts)
$$;
CREATE FUNCTION pg_temp.ai(summary jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'event_type', 'aianalysis.analysis.completed', 'analysis_name', 'an-1', 'namespace', 'prod',
        'phase', 'Completed', 'approval_required', false, 'degraded_mode', false,
        'warnings_count', 0, 'provider_response_summary', summary))
$$;
CREATE FUNCTION pg_temp.we(etype text, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_type', etype, 'workflow_id', 'wf-1', 'workflow_version', 'v1',
        'target_resource', 'deployment/app', 'phase', 'Running', 'container_image', 'img:1',
        'execution_name', 'we-1') || extra
$$;
CREATE FUNCTION pg_temp.rr(cid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT datastorage.reconstruct_remediation_request(cid)
$$;
-- The refusal raised for a correlation id: SQLSTATE, message, slug, detail.
CREATE FUNCTION pg_temp.refusal(cid text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN
    PERFORM datastorage.reconstruct_remediation_request(cid);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN jsonb_build_object('state', st, 'message', msg, 'slug', hnt,
                              'detail', CASE WHEN det <> '' THEN det::jsonb END);
END
$$;
CREATE FUNCTION pg_temp.b64json(s text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT convert_from(decode(s, 'base64'), 'UTF8')::jsonb
$$;

-- Refusals ---------------------------------------------------------------
SELECT throws_ok($$ SELECT datastorage.reconstruct_remediation_request('rt-none') $$, 'DS404',
                 'No audit events found for correlation_id: rt-none', 'unknown correlation id: DS404');
SELECT is(pg_temp.refusal('rt-none')->>'slug', 'audit/correlation-not-found', '404 carries its problem slug');

SELECT pg_temp.add('rt-other', 'orchestrator.lifecycle.failed', '{"event_type": "orchestrator.lifecycle.failed"}', 1);
SELECT pg_temp.add('rt-other', 'workflow.catalog.search_completed', '{}', 2);
SELECT throws_ok($$ SELECT pg_temp.rr('rt-other') $$, 'DS404', NULL,
                 'only irrelevant event types: nothing found');

SELECT pg_temp.add('rt-orch', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": "1h"}'), 1);
SELECT throws_ok($$ SELECT pg_temp.rr('rt-orch') $$, 'DS400',
                 'gateway.signal.received event is required for reconstruction',
                 'orchestrator only: the gateway event is required');
SELECT is(pg_temp.refusal('rt-orch')->>'slug', 'reconstruction/missing-gateway-event', 'missing gateway slug');

SELECT pg_temp.add('rt-noalert', 'gateway.signal.received', pg_temp.gw_full('{"alert_name": ""}'), 1);
SELECT throws_ok($$ SELECT pg_temp.rr('rt-noalert') $$, 'DS400',
                 'No parseable audit events found for reconstruction',
                 'a gateway event with an empty alert name does not parse');
SELECT is(pg_temp.refusal('rt-noalert')->>'slug', 'reconstruction/no-parseable-events', 'no parseable events slug');

SELECT pg_temp.add('rt-min', 'gateway.signal.received', pg_temp.gw(), 1);
SELECT throws_ok($$ SELECT pg_temp.rr('rt-min') $$, 'DS400', 'Reconstructed RR is only 22% complete',
                 'name and type only: 22% is refused');
SELECT is(pg_temp.refusal('rt-min')->>'slug', 'reconstruction/incomplete-data', 'incomplete data slug');
SELECT is(pg_temp.refusal('rt-min')->'detail'->'validation'->'warnings'->>0,
          'SignalLabels are missing (Gap #2) - labels provide context for signal',
          'the refusal carries the validation found so far');
SELECT is(jsonb_array_length(pg_temp.refusal('rt-min')->'detail'->'validation'->'warnings'), 7,
          'seven warnings for a minimal gateway event');

SELECT pg_temp.add('rt-baddur', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-baddur', 'orchestrator.lifecycle.created',
                   pg_temp.orch('{"global": "1h", "processing": "1d"}'), 2);
SELECT pg_temp.add('rt-baddur', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": "abc"}'), 3);
SELECT throws_ok($$ SELECT pg_temp.rr('rt-baddur') $$, 'DS400',
                 'failed to map event orchestrator.lifecycle.created: invalid Processing duration: '
                 'invalid duration ''1d'': time: unknown unit "d" in duration "1d"',
                 'the oldest unparseable duration is reported in Go''s words');
SELECT is(pg_temp.refusal('rt-baddur')->>'slug', 'reconstruction/invalid-duration',
          'a bad duration has its own slug');

SELECT pg_temp.add('rt-baddur-nogw', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": "10"}'), 1);
SELECT is(pg_temp.refusal('rt-baddur-nogw')->>'slug', 'reconstruction/missing-gateway-event',
          'a missing gateway event is reported before a bad duration');

-- The full trail: spec §6.4 field for field ------------------------------
SELECT pg_temp.add('rt-full', 'gateway.signal.received', pg_temp.gw('{
    "alert_name": "HighCPUUsage", "namespace": "production", "fingerprint": "e2e-fingerprint-123",
    "signal_labels": {"alertname": "HighCPUUsage", "severity": "critical", "pod": "app-pod-123"},
    "signal_annotations": {"summary": "CPU usage exceeded 80%", "description": "Pod app-pod-123 CPU usage is at 92%"},
    "original_payload": {"alert": "HighCPUUsage", "status": "firing",
                         "labels": {"alertname": "HighCPUUsage", "severity": "critical"}}}'), 1);
SELECT pg_temp.add('rt-full', 'orchestrator.lifecycle.created',
                   pg_temp.orch('{"global": "1h", "processing": "10m", "analyzing": "15m", "executing": "30m"}'), 2);
SELECT pg_temp.add('rt-full', 'aianalysis.analysis.completed', pg_temp.ai('{"incident_id": "e2e-incident-123",
    "analysis_preview": "High CPU usage detected in production pods", "needs_human_review": false,
    "warnings_count": 0}'), 3);
SELECT pg_temp.add('rt-full', 'workflowexecution.selection.completed', pg_temp.we('workflowexecution.selection.completed',
    '{"workflow_id": "cpu-remediation-workflow", "workflow_version": "v1.2.0", "execution_name": "we-e2e-123",
      "container_image": "registry.io/workflows/cpu-remediation@sha256:abc123def456789012345678901234567890123456789012345678901234"}'), 4);
SELECT pg_temp.add('rt-full', 'workflowexecution.execution.started', pg_temp.we('workflowexecution.execution.started',
    '{"execution_name": "we-e2e-123", "namespace": "payload-namespace-is-ignored"}'), 5);

SELECT is(pg_temp.rr('rt-full')->'validation',
          '{"is_valid": true, "completeness": 100, "errors": [], "warnings": []}',
          'full trail: valid, 100% complete, no warnings');
SELECT is((pg_temp.rr('rt-full')->'remediation_request'->'spec') - 'originalPayload', '{
    "deduplication": {"firstOccurrence": null, "lastOccurrence": null},
    "firingTime": null,
    "providerData": "eyJpbmNpZGVudF9pZCI6ImUyZS1pbmNpZGVudC0xMjMiLCJhbmFseXNpc19wcmV2aWV3IjoiSGlnaCBDUFUgdXNhZ2UgZGV0ZWN0ZWQgaW4gcHJvZHVjdGlvbiBwb2RzIiwibmVlZHNfaHVtYW5fcmV2aWV3IjpmYWxzZSwid2FybmluZ3NfY291bnQiOjB9",
    "receivedTime": null,
    "severity": "",
    "signalAnnotations": {"description": "Pod app-pod-123 CPU usage is at 92%", "summary": "CPU usage exceeded 80%"},
    "signalFingerprint": "",
    "signalLabels": {"alertname": "HighCPUUsage", "pod": "app-pod-123", "severity": "critical"},
    "signalName": "HighCPUUsage",
    "signalType": "prometheus-alert",
    "targetResource": {"kind": "", "name": ""},
    "targetType": ""}'::jsonb,
    'spec is the spec example field for field (providerData byte for byte)');
SELECT is(pg_temp.b64json(pg_temp.rr('rt-full')->'remediation_request'->'spec'->>'originalPayload'),
          '{"alert": "HighCPUUsage", "status": "firing", "labels": {"alertname": "HighCPUUsage", "severity": "critical"}}',
          'originalPayload is base64 of the stored original_payload JSON');
SELECT is(convert_from(decode(pg_temp.rr('rt-full')->'remediation_request'->'spec'->>'originalPayload', 'base64'), 'UTF8'),
          ((SELECT event_data FROM audit_events WHERE correlation_id = 'rt-full'
             AND event_type = 'gateway.signal.received') -> 'original_payload')::text,
          'originalPayload bytes are the canonical jsonb text of the stored object');
SELECT is(pg_temp.rr('rt-full')->'remediation_request'->'status', '{
    "executionRef": {"apiVersion": "workflowexecution.kubernaut.ai/v1alpha1", "kind": "WorkflowExecution",
                     "name": "we-e2e-123"},
    "selectedWorkflowRef": {"containerImage": "registry.io/workflows/cpu-remediation@sha256:abc123def456789012345678901234567890123456789012345678901234",
                            "version": "v1.2.0", "workflowId": "cpu-remediation-workflow"},
    "timeoutConfig": {"analyzing": "15m0s", "executing": "30m0s", "global": "1h0m0s", "processing": "10m0s"}}'::jsonb,
    'status is the spec example field for field (executionRef without a row namespace)');
SELECT is(((pg_temp.rr('rt-full')->'remediation_request') - 'spec' - 'status') #- '{metadata,name}'
              #- '{metadata,annotations,kubernaut.ai/reconstructed-at}', '{
    "apiVersion": "remediation.kubernaut.ai/v1alpha1", "kind": "RemediationRequest",
    "metadata": {"annotations": {"kubernaut.ai/correlation-id": "rt-full",
                                 "kubernaut.ai/reconstruction-source": "audit-trail"},
                 "creationTimestamp": null, "finalizers": ["kubernaut.ai/audit-retention"],
                 "labels": {"app.kubernetes.io/managed-by": "kubernaut-datastorage",
                            "kubernaut.ai/correlation-id": "rt-full", "kubernaut.ai/reconstructed": "true"},
                 "namespace": "kubernaut-system"}}'::jsonb,
    'identity and metadata as spec §6.1');
SELECT is(pg_temp.rr('rt-full')->'remediation_request'->'metadata'->>'name',
          'rr-reconstructed-rt-full-' || floor(extract(epoch FROM now()))::bigint,
          'name is rr-reconstructed-<id>-<unix seconds>');
SELECT is(pg_temp.rr('rt-full')->'remediation_request'->'metadata'->'annotations'->>'kubernaut.ai/reconstructed-at',
          to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
          'reconstructed-at is UTC RFC 3339 whole seconds');
SELECT is(pg_temp.rr('rt-full')->>'correlation_id', 'rt-full', 'the correlation id is echoed');

-- Mapping rules ----------------------------------------------------------
SELECT pg_temp.add('rt-exec-ns', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-exec-ns', 'workflowexecution.execution.started',
                   pg_temp.we('workflowexecution.execution.started', '{"namespace": "from-payload"}'), 2, 'from-row');
SELECT is(pg_temp.rr('rt-exec-ns')->'remediation_request'->'status'->'executionRef'->>'namespace', 'from-row',
          'executionRef.namespace comes from the row column, not the payload');

SELECT pg_temp.add('rt-exec-empty', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-exec-empty', 'workflowexecution.execution.started',
                   pg_temp.we('workflowexecution.execution.started', '{"execution_name": ""}'), 2);
SELECT is(pg_temp.rr('rt-exec-empty')->'remediation_request'->'status'->'executionRef',
          '{"apiVersion": "workflowexecution.kubernaut.ai/v1alpha1", "kind": "WorkflowExecution"}',
          'executionRef keeps only non-empty members');

SELECT pg_temp.add('rt-sel-empty', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-sel-empty', 'workflowexecution.selection.completed', pg_temp.we('workflowexecution.selection.completed',
                   '{"workflow_id": "", "workflow_version": "", "container_image": ""}'), 2);
SELECT is(pg_temp.rr('rt-sel-empty')->'remediation_request'->'status'->'selectedWorkflowRef',
          '{"workflowId": "", "version": "", "containerImage": ""}',
          'selectedWorkflowRef always has its three members, even empty');
SELECT is((pg_temp.rr('rt-sel-empty')->'validation'->>'completeness')::int, 66,
          'a selectedWorkflowRef of empty strings still counts as present');

SELECT pg_temp.add('rt-prov', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-prov', 'aianalysis.analysis.completed', pg_temp.ai('{"warnings_count": 2,
    "needs_human_review": true, "selected_workflow_id": "wf-9", "analysis_preview": "ünïcode \"q\"",
    "incident_id": "i-1", "extra": "ignored"}'), 2);
SELECT is(convert_from(decode(pg_temp.rr('rt-prov')->'remediation_request'->'spec'->>'providerData', 'base64'), 'UTF8'),
          '{"incident_id":"i-1","analysis_preview":"ünïcode \"q\"","selected_workflow_id":"wf-9","needs_human_review":true,"warnings_count":2}',
          'providerData: compact JSON in the original member order, selected_workflow_id when present');

SELECT pg_temp.add('rt-ai-nosum', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-ai-nosum', 'aianalysis.analysis.completed', pg_temp.ai(NULL), 2);
SELECT ok(NOT (pg_temp.rr('rt-ai-nosum')->'remediation_request'->'spec' ? 'providerData'),
          'an analysis without provider_response_summary contributes nothing');

SELECT pg_temp.add('rt-orch-none', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-orch-none', 'orchestrator.lifecycle.created', (pg_temp.orch(NULL) - 'timeout_config'), 2);
SELECT ok(NOT (pg_temp.rr('rt-orch-none')->'remediation_request'->'status' ? 'timeoutConfig'),
          'an orchestrator event without timeout_config contributes nothing');
SELECT is(pg_temp.rr('rt-orch-none')->'remediation_request'->'status', '{}', 'status is {} with nothing set');

SELECT pg_temp.add('rt-orch-empty', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-orch-empty', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": ""}'), 2);
SELECT is(pg_temp.rr('rt-orch-empty')->'remediation_request'->'status'->'timeoutConfig', '{}',
          'empty timeout members stay unset; the object still exists');
SELECT is((pg_temp.rr('rt-orch-empty')->'validation'->>'completeness')::int, 66,
          'an empty timeoutConfig counts as present');

SELECT pg_temp.add('rt-dur', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-dur', 'orchestrator.lifecycle.created',
                   pg_temp.orch('{"global": "90s", "processing": "1.5h", "analyzing": "0", "executing": "1h30m45.5s"}'), 2);
SELECT is(pg_temp.rr('rt-dur')->'remediation_request'->'status'->'timeoutConfig',
          '{"global": "1m30s", "processing": "1h30m0s", "analyzing": "0s", "executing": "1h30m45.5s"}',
          'durations are normalised to Go''s canonical form');

-- Merge order and rules --------------------------------------------------
-- Chain order differs from time order: the older event is appended last.
SELECT pg_temp.add('rt-order', 'gateway.signal.received',
                   pg_temp.gw_full('{"alert_name": "Newer", "signal_labels": {"a": "new", "c": "3"}}'), 20);
SELECT pg_temp.add('rt-order', 'gateway.signal.received',
                   pg_temp.gw_full('{"alert_name": "Older", "signal_labels": {"a": "old", "b": "2"},
                                     "original_payload": {"v": "old"}}'), 10);
SELECT is(pg_temp.rr('rt-order')->'remediation_request'->'spec'->>'signalName', 'Newer',
          'events merge by event_timestamp, not by append order: the newer alert name wins');
SELECT is(pg_temp.rr('rt-order')->'remediation_request'->'spec'->'signalLabels', '{"a": "new", "b": "2", "c": "3"}',
          'labels are united key by key, the newer event winning a shared key');
SELECT is(pg_temp.b64json(pg_temp.rr('rt-order')->'remediation_request'->'spec'->>'originalPayload'),
          '{"alert": "data"}', 'the newer original_payload replaces the older one');
SELECT is(pg_temp.rr('rt-order')->'validation'->'warnings'->>-1,
          format('Conflicting gateway.signal.received events: signalName "Older" replaced by "Newer" (event %s)',
                 (SELECT event_id FROM audit_events WHERE correlation_id = 'rt-order'
                   AND event_data->>'alert_name' = 'Newer')),
          'disagreeing gateway events are surfaced as a warning');

SELECT pg_temp.add('rt-tie', 'gateway.signal.received', pg_temp.gw_full('{"alert_name": "B"}'), 1,
                   NULL, 'b0000000-0000-4000-8000-000000000002');
SELECT pg_temp.add('rt-tie', 'gateway.signal.received', pg_temp.gw_full('{"alert_name": "A"}'), 1,
                   NULL, 'b0000000-0000-4000-8000-000000000001');
SELECT is(pg_temp.rr('rt-tie')->'remediation_request'->'spec'->>'signalName', 'B',
          'equal timestamps are ordered by event_id');

SELECT pg_temp.add('rt-type', 'gateway.signal.received', pg_temp.gw_full('{"signal_type": "kubernetes-event"}'), 1);
SELECT pg_temp.add('rt-type', 'gateway.signal.received', pg_temp.gw_full('{"signal_type": ""}'), 2);
SELECT is(pg_temp.rr('rt-type')->'remediation_request'->'spec'->>'signalType', 'kubernetes-event',
          'a later empty signal_type does not overwrite');

SELECT pg_temp.add('rt-tmo', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-tmo', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": "1h", "processing": "5m"}'), 2);
SELECT pg_temp.add('rt-tmo', 'orchestrator.lifecycle.created', pg_temp.orch('{"analyzing": "7m"}'), 3);
SELECT is(pg_temp.rr('rt-tmo')->'remediation_request'->'status'->'timeoutConfig', '{"analyzing": "7m0s"}',
          'a later timeout_config replaces the whole object');

SELECT pg_temp.add('rt-sel', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-sel', 'workflowexecution.selection.completed',
                   pg_temp.we('workflowexecution.selection.completed', '{"workflow_id": "first"}'), 2);
SELECT pg_temp.add('rt-sel', 'workflowexecution.selection.completed',
                   pg_temp.we('workflowexecution.selection.completed', '{"workflow_id": "second"}'), 3);
SELECT is(pg_temp.rr('rt-sel')->'remediation_request'->'status'->'selectedWorkflowRef'->>'workflowId', 'second',
          'a later selection replaces the reference');

SELECT pg_temp.add('rt-ignored', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-ignored', 'orchestrator.lifecycle.failed', pg_temp.orch('{"global": "not a duration"}')
                   || '{"event_type": "orchestrator.lifecycle.failed"}', 2);
SELECT pg_temp.add('rt-ignored', 'gateway.signal.deduplicated', pg_temp.gw('{"alert_name": "Other"}'), 3);
SELECT is((pg_temp.rr('rt-ignored')->'validation'->>'completeness')::int, 55,
          'other event types of the correlation id are ignored (gateway with extras alone: 55)');
SELECT is(pg_temp.rr('rt-ignored')->'remediation_request'->'status', '{}', 'status stays empty');

-- Completeness arithmetic: each step ------------------------------------
SELECT pg_temp.add('rt-c11', 'gateway.signal.received', pg_temp.gw('{"signal_type": ""}'), 1);
SELECT is(pg_temp.refusal('rt-c11')->>'message', 'Reconstructed RR is only 11% complete', '1 item: 11%');
SELECT is(pg_temp.refusal('rt-c11')->'detail'->'validation'->'errors', '["SignalType is required in Spec"]',
          'an empty signal type is an error');

SELECT pg_temp.add('rt-c33', 'gateway.signal.received', pg_temp.gw('{"signal_labels": {"a": "b"}}'), 1);
SELECT is(pg_temp.refusal('rt-c33')->>'message', 'Reconstructed RR is only 33% complete', '3 items: 33%');
SELECT pg_temp.add('rt-c44', 'gateway.signal.received',
                   pg_temp.gw('{"signal_labels": {"a": "b"}, "signal_annotations": {"a": "b"}}'), 1);
SELECT is(pg_temp.refusal('rt-c44')->>'message', 'Reconstructed RR is only 44% complete', '4 items: 44%');
SELECT is(pg_temp.refusal('rt-c44')->'detail'->'validation'->>'is_valid', 'true',
          'incomplete is not invalid');

SELECT pg_temp.add('rt-c55', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT is(pg_temp.rr('rt-c55')->'validation', '{"is_valid": true, "completeness": 55, "errors": [], "warnings": [
    "TimeoutConfig is missing (Gap #8) - operational timeouts may use defaults",
    "providerData is missing (Gap #4) - AI analysis summary unavailable",
    "selectedWorkflowRef is missing (Gap #5) - workflow selection data unavailable",
    "executionRef is missing (Gap #6) - workflow execution reference unavailable"]}',
    '5 items: 55%, passes, with the four remaining warnings in table order');
SELECT pg_temp.add('rt-c55', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": "30m"}'), 2);
SELECT is((pg_temp.rr('rt-c55')->'validation'->>'completeness')::int, 66, '6 items: 66%');
SELECT pg_temp.add('rt-c55', 'aianalysis.analysis.completed', pg_temp.ai('{"incident_id": "i",
    "analysis_preview": "p", "needs_human_review": false, "warnings_count": 0}'), 3);
SELECT is((pg_temp.rr('rt-c55')->'validation'->>'completeness')::int, 77, '7 items: 77%');
SELECT pg_temp.add('rt-c55', 'workflowexecution.selection.completed', pg_temp.we('workflowexecution.selection.completed'), 4);
SELECT is((pg_temp.rr('rt-c55')->'validation'->>'completeness')::int, 88, '8 items: 88%');
SELECT is(pg_temp.rr('rt-c55')->'validation'->'warnings',
          '["executionRef is missing (Gap #6) - workflow execution reference unavailable"]', '88%: one warning left');
SELECT pg_temp.add('rt-c55', 'workflowexecution.execution.started', pg_temp.we('workflowexecution.execution.started'), 5);
SELECT is((pg_temp.rr('rt-c55')->'validation'->>'completeness')::int, 100, '9 items: 100%');

SELECT pg_temp.add('rt-notype', 'gateway.signal.received', pg_temp.gw_full('{"signal_type": ""}'), 1);
SELECT pg_temp.add('rt-notype', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": "1h"}'), 2);
SELECT is(pg_temp.rr('rt-notype')->'validation'->'is_valid', 'false',
          'an empty signal type with 5 items present is returned, but invalid');
SELECT is(pg_temp.rr('rt-notype')->'validation'->'errors', '["SignalType is required in Spec"]',
          'the error names the missing field');

-- Malformed stored payloads are skipped and named -------------------------
SELECT pg_temp.add('rt-bad', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT pg_temp.add('rt-bad', 'aianalysis.analysis.completed',
                   pg_temp.ai('{"incident_id": "i", "analysis_preview": "p", "needs_human_review": false, "warnings_count": 0}')
                   || '{"approval_required": "no"}', 2, NULL, 'c0000000-0000-4000-8000-000000000001');
SELECT pg_temp.add('rt-bad', 'workflowexecution.selection.completed',
                   (pg_temp.we('workflowexecution.selection.completed') - 'container_image'), 3, NULL,
                   'c0000000-0000-4000-8000-000000000002');
SELECT is(pg_temp.rr('rt-bad')->'validation'->'errors', '[
    "Event c0000000-0000-4000-8000-000000000001 (aianalysis.analysis.completed) skipped: malformed event_data: field \"approval_required\": expected boolean, got string",
    "Event c0000000-0000-4000-8000-000000000002 (workflowexecution.selection.completed) skipped: malformed event_data: missing required field \"container_image\""]',
    'each malformed event is named in validation.errors');
SELECT is(pg_temp.rr('rt-bad')->'validation'->'is_valid', 'false', 'a skipped event makes the result invalid');
SELECT is((pg_temp.rr('rt-bad')->'validation'->>'completeness')::int, 55, 'skipped events contribute nothing');

SELECT pg_temp.add('rt-badgw', 'gateway.signal.received', pg_temp.gw_full('{"signal_labels": {"n": 1}}'), 1,
                   NULL, 'c0000000-0000-4000-8000-000000000003');
SELECT pg_temp.add('rt-badgw', 'orchestrator.lifecycle.created', pg_temp.orch('{"global": "1h"}'), 2);
SELECT is(pg_temp.refusal('rt-badgw'), jsonb_build_object(
    'state', 'DS400', 'slug', 'reconstruction/missing-gateway-event',
    'message', 'gateway.signal.received event is required for reconstruction',
    'detail', jsonb_build_object('errors', jsonb_build_array(
        'Event c0000000-0000-4000-8000-000000000003 (gateway.signal.received) skipped: malformed event_data: field "signal_labels.n": expected string, got number'))),
    'a malformed only gateway event: missing gateway, with the reason in DETAIL');

SELECT pg_temp.add('rt-badall', 'gateway.signal.received', '[1, 2]', 1);
SELECT is(pg_temp.refusal('rt-badall')->>'slug', 'reconstruction/no-parseable-events',
          'nothing usable: no parseable events (not an internal error)');
SELECT alike(pg_temp.refusal('rt-badall')->'detail'->'errors'->>0,
            '%malformed event_data: event_data: expected an object, got array', 'a non-object payload is named');

-- One payload-decoding rule per kind.
SELECT is(datastorage.reconstruction_payload_problem(pg_temp.gw('{"signal_annotations": null}'), 'gateway'),
          'field "signal_annotations": expected object of strings, got null', 'explicit null is a type error');
SELECT is(datastorage.reconstruction_payload_problem(pg_temp.gw('{"occurrence_count": 3000000000}'), 'gateway'),
          'field "occurrence_count": expected int32 integer, got 3000000000', 'int32 range is checked');
SELECT is(datastorage.reconstruction_payload_problem(pg_temp.gw('{"occurrence_count": 1.5}'), 'gateway'),
          'field "occurrence_count": expected int32 integer, got 1.5', 'integers must be integral');
SELECT is(datastorage.reconstruction_payload_problem(
              pg_temp.we('workflowexecution.started', '{"started_at": "2026-02-30T00:00:00Z"}'), 'workflowexecution'),
          'field "started_at": invalid date-time "2026-02-30T00:00:00Z"', 'date-times must be real dates');
SELECT is(datastorage.reconstruction_payload_problem(
              pg_temp.ai('{"incident_id": "i", "analysis_preview": "p", "needs_human_review": false}'), 'aianalysis'),
          'missing required field "provider_response_summary.warnings_count"', 'nested shapes are checked');
SELECT is(datastorage.reconstruction_payload_problem(pg_temp.gw('{"error_details": {"message": "m", "code": "c",
              "component": "gateway", "retry_possible": true, "stack_trace": ["a", 2]}}'), 'gateway'),
          'field "error_details.stack_trace[1]": expected string, got number', 'arrays of strings are checked');
SELECT is(datastorage.reconstruction_payload_problem(pg_temp.gw('{"unknown": null, "severity": "whatever",
              "deduplication_status": "not-an-enum"}'), 'gateway'),
          NULL, 'unknown members and enum values are not checked');

-- The quick jsonpath verdict never accepts what the explanation refuses.
SELECT is_empty($$
    SELECT event_id FROM audit_events
     WHERE jsonb_path_match(event_data, datastorage.reconstruction_shape_path(
               CASE split_part(event_type, '.', 1) WHEN 'gateway' THEN 'gateway'
                    WHEN 'orchestrator' THEN 'orchestrator' WHEN 'aianalysis' THEN 'aianalysis'
                    ELSE 'workflowexecution' END))
       AND datastorage.reconstruction_payload_problem(event_data,
               CASE split_part(event_type, '.', 1) WHEN 'gateway' THEN 'gateway'
                    WHEN 'orchestrator' THEN 'orchestrator' WHEN 'aianalysis' THEN 'aianalysis'
                    ELSE 'workflowexecution' END) IS NOT NULL $$,
    'every payload the fast check accepts decodes');
SELECT ok(NOT jsonb_path_match(pg_temp.gw('{"signal_labels": {"n": 1}}'), datastorage.reconstruction_shape_path('gateway'))
          AND NOT jsonb_path_match('[{"event_type": "x"}]', datastorage.reconstruction_shape_path('gateway'))
          AND jsonb_path_match(pg_temp.gw_full(), datastorage.reconstruction_shape_path('gateway')),
          'the fast check refuses a bad label and a wrapping array, accepts a good payload');

-- Kubernetes-safe identity for unusual ids --------------------------------
SELECT pg_temp.add('Weird ID/ü', 'gateway.signal.received', pg_temp.gw_full(), 1);
SELECT ok((pg_temp.rr('Weird ID/ü')->'remediation_request'->'metadata'->>'name')
              ~ '^rr-reconstructed-weird-id-[0-9a-f]{8}-[0-9]+$',
          'an id Kubernetes cannot take in a name is sanitised (with a hash suffix)');
SELECT ok((pg_temp.rr('Weird ID/ü')->'remediation_request'->'metadata'->'labels'->>'kubernaut.ai/correlation-id')
              ~ '^Weird-ID-[0-9a-f]{8}$', 'and in a label value');
SELECT is(pg_temp.rr('Weird ID/ü')->'remediation_request'->'metadata'->'annotations'->>'kubernaut.ai/correlation-id',
          'Weird ID/ü', 'the annotation keeps the raw id');

-- Read-only, callable by the service and by auditors -----------------------
SELECT is((SELECT provolatile FROM pg_proc WHERE oid = 'datastorage.reconstruct_remediation_request(text)'::regprocedure),
          's', 'the function is STABLE (reads only)');
SET LOCAL ROLE datastorage_app;
SELECT is((datastorage.reconstruct_remediation_request('rt-full')->'validation'->>'completeness')::int, 100,
          'datastorage_app can call it');
RESET ROLE;
SET LOCAL ROLE datastorage_auditor;
SELECT is((datastorage.reconstruct_remediation_request('rt-full')->'validation'->>'completeness')::int, 100,
          'datastorage_auditor can call it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
