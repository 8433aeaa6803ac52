"""Each validation check catches the mistake it exists for: plant one in a rendered overlay, expect a problem.

A check that passes on correct manifests proves little by itself; these tests prove every check can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from cluster import validate
from tests.cluster.conftest import find

Docs = list[dict[str, Any]]


def _rs(docs: Docs) -> dict[str, Any]:
    return find(docs, "RayService")


def _cluster(docs: Docs) -> dict[str, Any]:
    return _rs(docs)["spec"]["rayClusterConfig"]


def _worker(docs: Docs, index: int = 0) -> dict[str, Any]:
    return _cluster(docs)["workerGroupSpecs"][index]


def _worker_container(docs: Docs) -> dict[str, Any]:
    return _worker(docs)["template"]["spec"]["containers"][0]


def _edit_serve(docs: Docs, edit: Callable[[dict[str, Any]], None]) -> None:
    rs = _rs(docs)
    config = yaml.safe_load(rs["spec"]["serveConfigV2"])
    edit(config)
    rs["spec"]["serveConfigV2"] = yaml.safe_dump(config, sort_keys=False)


def _deployment(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in config["applications"][0]["deployments"] if d["name"] == name)


def _policy(docs: Docs, name: str) -> dict[str, Any]:
    return find(docs, "NetworkPolicy", name)


def _remove(docs: Docs, kind: str, name: str) -> None:
    docs.remove(find(docs, kind, name))


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    obj[leaf] = value


MISTAKES: list[tuple[str, str, Callable[[Docs], None], str, str]] = [
    # (id, overlay, plant, check, expected text)
    (
        "builtin-unknown-field",
        "dev",
        lambda d: _set(find(d, "Service"), "spec.portz", 1),
        "schema-builtin",
        "portz",
    ),
    (
        "builtin-wrong-type",
        "dev",
        lambda d: _set(find(d, "CronJob", "rollcall-backup"), "spec.successfulJobsHistoryLimit", "three"),
        "schema-builtin",
        "successfulJobsHistoryLimit",
    ),
    (
        "unknown-kind",
        "dev",
        lambda d: d.append({"apiVersion": "example.io/v1", "kind": "Gadget", "metadata": {"name": "g"}}),
        "schema-builtin",
        "no schema",
    ),
    ("crd-misspelt-field", "dev", lambda d: _set(_worker(d), "maxReplica", 3), "schema-crd", "maxReplica"),
    (
        "crd-milvus-misspelt-field",
        "dev",
        lambda d: _set(find(d, "Milvus")["spec"]["components"], "standalone.replica", 1),
        "schema-crd",
        "replica",
    ),
    (
        "crd-bad-enum",
        "prod",
        lambda d: _set(find(d, "Milvus"), "spec.mode", "clustered"),
        "schema-crd",
        "clustered",
    ),
    (
        "serve-autoscaling-typo",
        "dev",
        lambda d: _edit_serve(
            d, lambda c: _set(_deployment(c, "Embedder"), "autoscaling_config.max_replica", 9)
        ),
        "serve-config",
        "max_replica",
    ),
    (
        "serve-actor-options-typo",
        "dev",
        lambda d: _edit_serve(d, lambda c: _set(_deployment(c, "Detector"), "ray_actor_options.num_gpu", 1)),
        "serve-config",
        "num_gpu",
    ),
    (
        "serve-deployment-typo",
        "dev",
        lambda d: _edit_serve(d, lambda c: _set(_deployment(c, "Matcher"), "max_ongoing_request", 5)),
        "serve-config",
        "max_ongoing_request",
    ),
    (
        "serve-invalid",
        "dev",
        lambda d: _edit_serve(d, lambda c: c["applications"][0].pop("import_path")),
        "serve-config",
        "ServeDeploySchema",
    ),
    (
        "serve-loopback",
        "prod",
        lambda d: _edit_serve(d, lambda c: _set(c, "http_options.host", "127.0.0.1")),
        "serve-config",
        "0.0.0.0",
    ),
    (
        "serve-drift",
        "prod",
        lambda d: _edit_serve(
            d, lambda c: _set(_deployment(c, "Ingress"), "user_config", {"edited": "by hand"})
        ),
        "serve-drift",
        "serve_config.yaml",
    ),
    ("name-too-long", "dev", lambda d: _set(_rs(d), "metadata.name", "r" * 48), "kuberay", "47"),
    ("name-not-dns-1035", "dev", lambda d: _set(_rs(d), "metadata.name", "Rollcall"), "kuberay", "DNS-1035"),
    (
        "group-without-container",
        "dev",
        lambda d: _set(_worker(d), "template.spec.containers", []),
        "kuberay",
        "no container",
    ),
    ("min-above-max", "prod", lambda d: _set(_worker(d), "minReplicas", 9), "kuberay", "minReplicas"),
    (
        "autoscaling-off",
        "dev",
        lambda d: _set(_cluster(d), "enableInTreeAutoscaling", False),
        "kuberay",
        "enableInTree",
    ),
    (
        "port-misnamed",
        "dev",
        lambda d: _set(_cluster(d), "headGroupSpec.template.spec.containers.0.ports.1.name", "dash"),
        "kuberay",
        "'dashboard'",
    ),
    ("ray-version", "dev", lambda d: _set(_cluster(d), "rayVersion", "2.9.0"), "kuberay", "rayVersion"),
    (
        "managed-by",
        "dev",
        lambda d: _set(_rs(d), "spec.managedBy", "ray.io/kuberay-operator"),
        "kuberay",
        "managedBy",
    ),
    (
        "no-room-to-grow",
        "dev",
        lambda d: _set(_worker(d), "maxReplicas", 1),
        "kuberay",
        "autoscaling adds no pods",
    ),
    (
        "too-few-cpus",
        "prod",
        lambda d: _set(
            _worker_container(d),
            "resources",
            {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "1Gi"}},
        ),
        "serve-capacity",
        "CPUs",
    ),
    (
        "gpu-without-gpu-group",
        "prod",
        lambda d: _edit_serve(
            d, lambda c: _set(_deployment(c, "Embedder"), "ray_actor_options.num_gpus", 0.5)
        ),
        "serve-capacity",
        "GPU",
    ),
    (
        "hpa-on-ray",
        "prod",
        lambda d: d.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "rollcall", "namespace": "rollcall"},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": "rollcall"},
                    "minReplicas": 1,
                    "maxReplicas": 3,
                },
            }
        ),
        "no-hpa-on-ray",
        "KubeRay owns",
    ),
    (
        "no-limits",
        "dev",
        lambda d: _worker_container(d)["resources"].pop("limits"),
        "resources",
        "limits.cpu",
    ),
    (
        "job-no-requests",
        "prod",
        lambda d: find(d, "Job")["spec"]["template"]["spec"]["containers"][0].pop("resources"),
        "resources",
        "requests.memory",
    ),
    (
        "autoscaler-no-resources",
        "dev",
        lambda d: _cluster(d)["autoscalerOptions"].pop("resources"),
        "resources",
        "autoscalerOptions",
    ),
    (
        "root-user",
        "dev",
        lambda d: _set(
            find(d, "StatefulSet", "rollcall-redis"), "spec.template.spec.securityContext.runAsUser", 0
        ),
        "non-root",
        "non-root",
    ),
    (
        "not-non-root",
        "prod",
        lambda d: _set(_worker(d), "template.spec.securityContext.runAsNonRoot", False),
        "non-root",
        "non-root",
    ),
    (
        "writable-root",
        "prod",
        lambda d: _set(_worker_container(d), "securityContext.readOnlyRootFilesystem", False),
        "non-root",
        "readOnlyRootFilesystem",
    ),
    (
        "privilege-escalation",
        "dev",
        lambda d: _worker_container(d)["securityContext"].pop("allowPrivilegeEscalation"),
        "non-root",
        "allowPrivilegeEscalation",
    ),
    (
        "milvus-as-root",
        "prod",
        lambda d: _set(find(d, "Milvus"), "spec.components.runAsNonRoot", False),
        "non-root",
        "runAsNonRoot",
    ),
    (
        "no-probe",
        "dev",
        lambda d: find(d, "StatefulSet", "rollcall-postgres")["spec"]["template"]["spec"]["containers"][
            0
        ].pop("readinessProbe"),
        "probes",
        "readinessProbe",
    ),
    (
        "latest-tag",
        "dev",
        lambda d: _set(_worker_container(d), "image", "redis:latest"),
        "images",
        "not pinned",
    ),
    (
        "two-tags",
        "prod",
        lambda d: _set(_worker_container(d), "image", "ghcr.io/rollcall/rollcall:0.0.9"),
        "images",
        "several tags",
    ),
    (
        "committed-secret",
        "dev",
        lambda d: d.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "x", "namespace": "rollcall-dev"},
                "stringData": {"password": "hunter2"},
            }
        ),
        "secrets",
        "never be committed",
    ),
    (
        "uncatalogued-secret",
        "dev",
        lambda d: _worker_container(d)["envFrom"].append({"secretRef": {"name": "surprise"}}),
        "secrets",
        "surprise",
    ),
    (
        "uncatalogued-key",
        "dev",
        lambda d: _set(
            find(d, "StatefulSet", "rollcall-postgres"),
            "spec.template.spec.containers.0.env.2.valueFrom.secretKeyRef.key",
            "PGPASS",
        ),
        "secrets",
        "PGPASS",
    ),
    ("host-without-tls", "prod", lambda d: _set(find(d, "Ingress"), "spec.tls", []), "ingress", "TLS"),
    (
        "dashboard-on-ingress",
        "prod",
        lambda d: _set(
            find(d, "Ingress"), "spec.rules.0.http.paths.0.backend.service.name", "rollcall-head-svc"
        ),
        "ingress",
        "does not exist",
    ),
    (
        "no-issuer",
        "dev",
        lambda d: find(d, "Ingress")["metadata"]["annotations"].pop("cert-manager.io/cluster-issuer"),
        "ingress",
        "cert-manager",
    ),
    (
        "no-default-deny",
        "dev",
        lambda d: _remove(d, "NetworkPolicy", "default-deny-all"),
        "network-policy",
        "default-deny",
    ),
    (
        "postgres-open-to-all",
        "dev",
        lambda d: _policy(d, "postgres-from-db-clients")["spec"]["ingress"][0].pop("from"),
        "network-policy",
        "unlabelled pod in the namespace -> postgres",
    ),
    (
        "milvus-open-to-ingress-controller",
        "prod",
        lambda d: _policy(d, "milvus-from-db-clients")["spec"]["ingress"][0]["from"].append(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        ),
        "network-policy",
        "ingress controller -> milvus",
    ),
    (
        "clients-cannot-reach-redis",
        "dev",
        lambda d: _remove(d, "NetworkPolicy", "db-clients-to-datastores"),
        "network-policy",
        "-> redis",
    ),
    (
        "clients-cannot-reach-managed-postgres",
        "prod",
        lambda d: _remove(d, "NetworkPolicy", "db-clients-to-managed-datastores"),
        "network-policy",
        "managed postgres",
    ),
    (
        "dashboard-open",
        "prod",
        lambda d: _policy(d, "ray-dashboard-from-ops")["spec"]["ingress"][0].pop("from"),
        "network-policy",
        "Ray dashboard 8265 should be denied",
    ),
    (
        "serve-closed",
        "prod",
        lambda d: _remove(d, "NetworkPolicy", "ray-serve-from-ingress-controller"),
        "network-policy",
        "ingress controller -> Serve",
    ),
    (
        "policy-selector-typo",
        "dev",
        lambda d: _set(
            _policy(d, "redis-from-db-clients"),
            "spec.podSelector.matchLabels",
            {"rollcall.io/role": "rediss"},
        ),
        "network-policy",
        "selects no pod",
    ),
    (
        "pdb-selector-typo",
        "prod",
        lambda d: _set(
            find(d, "PodDisruptionBudget", "rollcall-ray-workers"),
            "spec.selector.matchLabels",
            {"ray.io/node-type": "wroker"},
        ),
        "pdb",
        "selects no pod",
    ),
    (
        "unlabelled-pods",
        "prod-gpu",
        lambda d: _worker(d, 1)["template"]["metadata"]["labels"].pop("app.kubernetes.io/part-of"),
        "labels",
        "part-of",
    ),
]


@pytest.mark.parametrize(
    ("overlay", "plant", "check", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_planted_mistake_is_caught(docs_of, overlay, plant, check, expected):
    docs = docs_of(overlay)
    plant(docs)
    problems = validate.validate_documents(docs, overlay)
    matching = [p for p in problems if p.check == check and expected in str(p)]
    assert matching, f"expected a [{check}] problem mentioning {expected!r}; got:\n" + "\n".join(
        map(str, problems)
    )


def test_network_model_semantics():
    policy = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"client": "yes"}}},
                        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.9.0.0/16"]}},
                    ],
                    "ports": [{"port": 5000, "endPort": 5010}],
                }
            ],
        },
    }
    net = validate.NetworkModel([policy])
    db = net.pod({"tier": "db"})
    assert net.can_connect(net.pod({"client": "yes"}), db, 5005)
    assert not net.can_connect(net.pod({"client": "yes"}), db, 5011)
    assert not net.can_connect(net.pod({"client": "no"}), db, 5005)
    assert not net.can_connect(validate.Peer.pod("other", {"client": "yes"}), db, 5005)  # other namespace
    assert net.can_connect(validate.Peer.external("10.1.2.3"), db, 5000)
    assert not net.can_connect(validate.Peer.external("10.9.2.3"), db, 5000)
    assert net.can_connect(net.pod({}), net.pod({"tier": "web"}), 80)  # not isolated
