"""Deployment artefacts checked by the tools their users run: kustomize +
kubernetes-validate for the manifests, promtool for the alerts, hadolint for
the Containerfile, systemd-analyze for the unit. Each test also breaks its
artefact once and watches the tool refuse it, so a check that silently passes
everything cannot hide here."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import ROOT

DEPLOY = ROOT / "deploy"
KUSTOMIZATIONS = [DEPLOY / "kubernetes/base", DEPLOY / "kubernetes/overlays/example",
                  DEPLOY / "kubernetes/witness"]
# CRDs of the Prometheus operator: kubernetes-validate has no schema for them;
# the PrometheusRule's content is checked by promtool below instead.
CRDS = {"PrometheusRule", "ServiceMonitor"}
BIN = Path(sys.executable).parent


def run(*cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def kustomize(path: Path) -> str:
    proc = run("kubectl", "kustomize", path)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def validate(manifests: str, tmp_path: Path) -> subprocess.CompletedProcess:
    f = tmp_path / "manifests.yaml"
    f.write_text(manifests)
    return run(BIN / "kubernetes-validate", "--strict", f)


def resources(manifests: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(manifests) if d]


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_kustomize_output_validates_strictly(path, tmp_path):
    out = kustomize(path)
    proc = validate(out, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kinds = {d["kind"] for d in resources(out)}
    warnings = [line for line in proc.stdout.splitlines() if not line.startswith("INFO")]
    unexplained = [w for w in warnings if not any(f"kind {k} " in w for k in CRDS)]
    assert not unexplained, unexplained
    assert len([line for line in proc.stdout.splitlines() if line.startswith("INFO")]) \
        == len([d for d in resources(out) if d["kind"] not in CRDS]), kinds


def test_strict_validation_refuses_an_unknown_field(tmp_path):
    out = kustomize(DEPLOY / "kubernetes/base").replace(
        "terminationGracePeriodSeconds:", "terminationGraceSeconds:", 1)
    assert validate(out, tmp_path).returncode != 0


def by_kind(manifests: str, kind: str, name: str) -> dict:
    return next(d for d in resources(manifests) if d["kind"] == kind
                and d["metadata"]["name"] == name)


def test_statefulset_keeps_the_promises_of_the_code():
    out = kustomize(DEPLOY / "kubernetes/overlays/example")
    sts = by_kind(out, "StatefulSet", "datastorage")
    pod = sts["spec"]["template"]["spec"]
    app = next(c for c in pod["containers"] if c["name"] == "datastorage")
    proxy = next(c for c in pod["containers"] if c["name"] == "oauth-proxy")
    config = by_kind(out, "ConfigMap", "datastorage-config")["data"]
    # The spool lives on a per-pod claim mounted at the data directory.
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["data"]
    assert {"name": "data", "mountPath": config["DS_DATA_DIR"]} in app["volumeMounts"]
    # Only the sidecar can reach the service: it listens on loopback.
    assert config["DS_HOST"] == "127.0.0.1"
    assert config["DS_TRUSTED_PROXIES"] == "127.0.0.1/32,::1/128"
    assert not any(p["containerPort"] == int(config["DS_PORT"]) for p in proxy["ports"])
    # Readiness drains before the listener closes; the grace period covers
    # the delay plus the service's own graceful timeout (max(15, delay + 10)).
    delay = float(config["DS_SHUTDOWN_DELAY"])
    assert pod["terminationGracePeriodSeconds"] >= delay + max(15, delay + 10)
    assert proxy["lifecycle"]["preStop"]["sleep"]["seconds"] > delay
    assert app["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert app["livenessProbe"]["httpGet"]["path"] == "/health/live"
    # Least privilege: the service gets the runtime login, the Job the migration login.
    secret_keys = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in app["env"]}
    assert secret_keys == {"DS_DATABASE_URL": "runtime-url",
                           "DS_RETENTION_DATABASE_URL": "retention-url"}
    job = by_kind(out, "Job", "datastorage-migrate")["spec"]["template"]["spec"]
    keys = {e["valueFrom"]["secretKeyRef"]["key"] for e in job["containers"][0]["env"]
            if "valueFrom" in e}
    assert keys == {"migrate-url"}
    for c in pod["containers"] + job["containers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
        assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"]
    # The only port reachable from outside the pod is the sidecar's.
    netpol = by_kind(out, "NetworkPolicy", "datastorage")
    assert [p["port"] for r in netpol["spec"]["ingress"] for p in r["ports"]] == \
        [proxy["ports"][0]["containerPort"]]


def prometheus_rules(tmp_path: Path) -> Path:
    rule = yaml.safe_load((DEPLOY / "kubernetes/base/prometheusrule.yaml").read_text())
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    shutil.copy(DEPLOY / "prometheus/alerts.test.yaml", tmp_path)
    return tmp_path


def test_alert_rules_pass_promtool(tmp_path):
    d = prometheus_rules(tmp_path)
    check = run("promtool", "check", "rules", d / "rules.yaml")
    assert check.returncode == 0, check.stdout + check.stderr
    test = run("promtool", "test", "rules", "alerts.test.yaml", cwd=d)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout


def test_promtool_unit_tests_catch_a_broken_threshold(tmp_path):
    d = prometheus_rules(tmp_path)
    rules = d / "rules.yaml"
    rules.write_text(rules.read_text().replace("> 300", "> 3000"))
    test = run("promtool", "test", "rules", "alerts.test.yaml", cwd=d)
    assert test.returncode != 0 and "DatastorageSpoolBacklog" in test.stdout + test.stderr


def test_every_runbook_named_by_an_alert_exists():
    rule = yaml.safe_load((DEPLOY / "kubernetes/base/prometheusrule.yaml").read_text())
    docs = ROOT / "docs"
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            path, _, anchor = r["annotations"]["runbook"].partition("#")
            text = (ROOT / path).read_text()
            if anchor:
                headings = {re.sub(r"[^a-z0-9]+", "", h.lower())
                            for h in re.findall(r"^#+ (.+)$", text, re.M)}
                assert anchor in headings, (r["alert"], path, anchor)
    assert docs.exists()


def test_containerfile_passes_hadolint(tmp_path):
    proc = run(BIN / "hadolint", ROOT / "Containerfile")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = tmp_path / "Containerfile"
    bad.write_text((ROOT / "Containerfile").read_text().replace("python3=3.11.* ", "python3 "))
    assert run(BIN / "hadolint", bad).returncode != 0


def systemd_root(tmp_path: Path, unit_text: str) -> Path:
    """A filesystem root with systemd's own units, the unit, and the console
    script a wheel install puts where the unit expects it."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/datastorage.service").write_text(unit_text)
    wheel_dir = tmp_path / "wheel"
    assert run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheel_dir,
               ROOT).returncode == 0
    venv = root / "opt/datastorage"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    # The venv's own pip: pip run from this environment would first uninstall
    # the project's editable install here.
    proc = run(venv / "bin/python", "-m", "pip", "install", "-q", "--no-deps", "--no-index",
               next(wheel_dir.glob("*.whl")))
    assert proc.returncode == 0, proc.stderr
    return root


def analyze(root: Path) -> subprocess.CompletedProcess:
    return run("systemd-analyze", "verify", f"--root={root}",
               "/etc/systemd/system/datastorage.service")


def test_systemd_unit_verifies(tmp_path):
    unit = (DEPLOY / "systemd/datastorage.service").read_text()
    proc = analyze(systemd_root(tmp_path, unit))
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    # A typo in a directive is reported, and a missing executable refused.
    broken = unit.replace("ProtectSystem=strict", "ProtectSystm=strict").replace(
        "bin/datastorage serve", "bin/datastorage-missing serve")
    proc = analyze(systemd_root(tmp_path / "broken", broken))
    assert "ProtectSystm" in proc.stderr and proc.returncode != 0
