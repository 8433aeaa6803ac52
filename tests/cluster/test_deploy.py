"""The deploy tool: `render` output, fast and clear failure without a cluster, and its offline planning."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cluster import deploy, manifests
from tests.cluster.conftest import OVERLAYS, find

REPO = manifests.CLUSTER_DIR.parent


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cluster.deploy", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def closed_port_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig for https://127.0.0.1:<a port nothing listens on>."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "nowhere", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "someone", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "someone"}}],
        "current-context": "nowhere",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_render_prints_the_overlay(overlay, rendered):
    result = _run("render", "--overlay", overlay)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [manifests.key(d) for d in docs] == [manifests.key(d) for d in rendered[overlay]]
    assert find(docs, "RayService")["spec"]["serveConfigV2"]


def test_render_pins_the_image_tag():
    result = _run("render", "--overlay", "prod", "--image-tag", "1.2.3")
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    images = {c["image"] for t in manifests.pod_templates(docs) for _, c in manifests.containers(t)}
    ours = {i for i in images if i.startswith(manifests.IMAGE_REPOSITORY)}
    assert ours == {"ghcr.io/rollcall/rollcall:1.2.3"}


def test_render_rejects_an_unknown_overlay():
    result = _run("render", "--overlay", "staging")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["status"], ["apply", "--overlay", "prod"]])
def test_unreachable_cluster_fails_fast_and_clearly(closed_port_kubeconfig, command):
    # A hang fails through _run's timeout; no wall-clock assertion beyond it (flaky on a shared machine).
    result = _run(*command, env={"KUBECONFIG": str(closed_port_kubeconfig)}, timeout=60)
    assert result.returncode == 2
    assert "no Kubernetes cluster reachable at https://127.0.0.1:" in result.stderr
    assert "Connection refused" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_kubeconfig_is_explained(tmp_path):
    env = {
        "KUBECONFIG": str(tmp_path / "absent"),
        "KUBERNETES_SERVICE_HOST": "",
        "KUBERNETES_SERVICE_PORT": "",
    }
    result = _run("status", env=env, timeout=60)
    assert result.returncode == 2
    assert "no usable Kubernetes configuration" in result.stderr
    assert "Traceback" not in result.stderr


def test_migration_runs_before_the_new_code(rendered):
    before, migrations, after = deploy.split_phases(rendered["dev"])
    assert [d["metadata"]["name"] for d in migrations] == ["rollcall-migrate"]
    assert [d["kind"] for d in after] == ["CronJob", "CronJob", "RayService"]  # the new code, RayService last
    kinds = [d["kind"] for d in before]
    assert kinds[0] == "Namespace"
    assert kinds.index("ServiceAccount") < kinds.index("StatefulSet")
    assert kinds.index("NetworkPolicy") < kinds.index("StatefulSet")  # isolated before anything runs
    assert not {"RayService", "CronJob", "Job"} & set(kinds)
    assert len(before) + len(migrations) + len(after) == len(rendered["dev"])


def test_rayservice_readiness():
    ready = {
        "metadata": {"generation": 3},
        "status": {
            "observedGeneration": 3,
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "UpgradeInProgress", "status": "False"},
            ],
            "activeServiceStatus": {"applicationStatuses": {"rollcall": {"status": "RUNNING"}}},
            "numServeEndpoints": 2,
        },
    }
    assert deploy.rayservice_readiness(ready) == (True, "ready")
    stale = {**ready, "metadata": {"generation": 4}}
    assert not deploy.rayservice_readiness(stale)[0]
    upgrading = yaml.safe_load(yaml.safe_dump(ready))
    upgrading["status"]["conditions"][1]["status"] = "True"
    upgrading["status"]["pendingServiceStatus"] = {"rayClusterName": "rollcall-abcde"}
    assert "rollcall-abcde" in deploy.rayservice_readiness(upgrading)[1]
    deploying = yaml.safe_load(yaml.safe_dump(ready))
    deploying["status"]["activeServiceStatus"]["applicationStatuses"]["rollcall"]["status"] = "DEPLOYING"
    assert "DEPLOYING" in deploy.rayservice_readiness(deploying)[1]
    assert not deploy.rayservice_readiness({})[0]


def test_prod_refuses_placeholder_hosts(rendered):
    assert deploy.placeholder_hosts(rendered["prod"]) == ["rollcall.example.org"]


def test_dev_secrets_cover_every_secret_dev_needs(rendered):
    values = deploy.dev_secret_values("rollcall-dev")
    for spec in manifests.required_secrets(rendered["dev"]):
        assert spec.name in values, spec.name
        assert set(spec.keys) <= set(values[spec.name]), spec.name
    assert values["rollcall-postgres"]["POSTGRES_PASSWORD"] in values["rollcall-app"]["ROLLCALL_DATABASE_URL"]
    assert values["rollcall-redis"]["REDIS_PASSWORD"] in values["rollcall-app"]["ROLLCALL_REDIS_URL"]


def test_every_referenced_secret_is_catalogued(rendered):
    for overlay, docs in rendered.items():
        for spec in manifests.required_secrets(docs):
            assert spec.name in manifests.SECRETS, f"{overlay}: {spec.name}"


class FakeCluster:
    """Just enough of deploy.Cluster to run `apply` and `status` without an API server."""

    def __init__(self, context=None):
        self.host = "https://fake:6443"
        self.objects: dict[tuple[str, str], dict] = {}
        self.applied: list[str] = []
        FakeCluster.last = self

    def check_reachable(self):
        return "v1.33.0"

    def resource(self, api_version, kind):
        return (api_version, kind)

    def apply(self, doc, dry_run=False):
        self.applied.append(manifests.key(doc))
        obj = yaml.safe_load(yaml.safe_dump(doc))
        obj.setdefault("metadata", {})["generation"] = 1
        if doc["kind"] == "StatefulSet":
            obj["status"] = {"readyReplicas": doc["spec"]["replicas"]}
        if doc["kind"] == "Job":
            obj["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
        if doc["kind"] == "Secret":
            obj["data"] = dict(doc.get("stringData") or {})
        if doc["kind"] == "RayService":
            obj["status"] = {
                "observedGeneration": 1,
                "conditions": [{"type": "Ready", "status": "True"}],
                "activeServiceStatus": {
                    "rayClusterName": "rollcall-x1",
                    "applicationStatuses": {
                        "rollcall": {
                            "status": "RUNNING",
                            "serveDeploymentStatuses": {"Ingress": {"status": "HEALTHY"}},
                        }
                    },
                },
                "numServeEndpoints": 1,
            }
        if doc["kind"] == "Milvus":
            obj["status"] = {"status": "Healthy"}
        self.objects[(doc["kind"], doc["metadata"]["name"])] = obj

    def get(self, api_version, kind, name, namespace):
        return self.objects.get((kind, name))

    def list(self, api_version, kind, namespace, label_selector=None):
        return [o for (k, _), o in self.objects.items() if k == kind]

    def delete(self, api_version, kind, name, namespace):
        self.objects.pop((kind, name), None)


@pytest.fixture
def fake_cluster(monkeypatch):
    monkeypatch.setattr(deploy, "Cluster", FakeCluster)
    monkeypatch.setattr(deploy.time, "sleep", lambda s: None)
    return FakeCluster


def test_apply_orders_the_rollout_against_a_fake_cluster(fake_cluster):
    from typer.testing import CliRunner

    result = CliRunner().invoke(deploy.app, ["apply", "--overlay", "dev", "--generate-dev-secrets"])
    assert result.exit_code == 0, result.output
    applied = fake_cluster.last.applied
    assert applied[0] == "Namespace/rollcall-dev"
    secrets = [i for i, k in enumerate(applied) if k.startswith("Secret/")]
    first_workload = min(i for i, k in enumerate(applied) if k.startswith(("StatefulSet/", "Milvus/")))
    assert secrets and max(secrets) < first_workload  # credentials exist before anything uses them
    migrate = applied.index("Job/rollcall-dev/rollcall-migrate")
    assert migrate < applied.index("RayService/rollcall-dev/rollcall") == len(applied) - 1
    assert "ready" in result.output


def test_apply_refuses_missing_prod_secrets(fake_cluster):
    from typer.testing import CliRunner

    result = CliRunner().invoke(deploy.app, ["apply", "--overlay", "prod", "--allow-placeholders"])
    assert result.exit_code == 1
    assert "rollcall-app missing" in result.output and "rollcall-milvus-s3" in result.output
    assert "RayService" not in " ".join(fake_cluster.last.applied)


def test_apply_refuses_prod_placeholders(fake_cluster):
    from typer.testing import CliRunner

    result = CliRunner().invoke(deploy.app, ["apply", "--overlay", "prod"])
    assert result.exit_code == 1 and "example.org" in result.output
    assert fake_cluster.last.applied == []


def test_failed_migration_leaves_the_rayservice_alone(fake_cluster, monkeypatch):
    from typer.testing import CliRunner

    original = FakeCluster.apply

    def failing_apply(self, doc, dry_run=False):
        original(self, doc, dry_run)
        if doc["kind"] == "Job":
            self.objects[("Job", doc["metadata"]["name"])]["status"] = {
                "failed": 3,
                "conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}],
            }

    monkeypatch.setattr(FakeCluster, "apply", failing_apply)
    result = CliRunner().invoke(deploy.app, ["apply", "--overlay", "dev", "--generate-dev-secrets"])
    assert result.exit_code == 1
    assert "NOT" in result.output and "keeps serving" in result.output
    assert not any(k.startswith("RayService/") for k in fake_cluster.last.applied)


def test_status_table_against_a_fake_cluster(fake_cluster, monkeypatch):
    from typer.testing import CliRunner

    cluster = FakeCluster()
    for doc in manifests.render("dev"):
        cluster.apply(doc)
    monkeypatch.setattr(deploy, "Cluster", lambda context=None: cluster)
    result = CliRunner().invoke(deploy.app, ["status", "--overlay", "dev"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "rollcall-x1" in result.output and "RUNNING" in result.output and "Healthy" in result.output
