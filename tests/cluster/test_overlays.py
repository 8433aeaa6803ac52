"""Every overlay renders and passes the whole offline validation, and has the structure the issue asks for."""

from __future__ import annotations

import pytest

from cluster import manifests, validate
from tests.cluster.conftest import OVERLAYS, find


def test_the_expected_overlays_exist():
    assert {"dev", "prod"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_offline_validation(rendered, overlay):
    problems = validate.validate_documents(rendered[overlay], overlay)
    assert not problems, "\n".join(str(p) for p in problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_namespace_per_overlay(rendered, overlay):
    namespaces = {d["metadata"].get("namespace") for d in rendered[overlay] if d["kind"] != "Namespace"}
    assert len(namespaces) == 1 and None not in namespaces
    assert find(rendered[overlay], "Namespace")["metadata"]["name"] in namespaces


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rayservice_shape(rendered, overlay):
    rs = find(rendered[overlay], "RayService")
    cluster = rs["spec"]["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert cluster["headGroupSpec"]["serviceType"] == "ClusterIP"  # dashboard never exposed outside
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert "cpu" in groups
    assert groups["cpu"]["maxReplicas"] > groups["cpu"]["minReplicas"]
    assert rs["spec"]["upgradeStrategy"]["type"] == "NewCluster"
    assert rs["spec"]["excludeHeadPodFromServeSvc"] is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_ray_pod_runs_serve_in_the_local_runs_mode(rendered, overlay):
    """The throughput-optimized mode (and its one-line log buffer) on the head and every worker group, as the
    local run and the tests have it (cluster.local.ray_head.SERVE_MODE); HAProxy ingress nowhere."""
    from cluster.local.ray_head import SERVE_MODE

    cluster = find(rendered[overlay], "RayService")["spec"]["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:
        for container in group["template"]["spec"]["containers"]:
            env = {item["name"]: item.get("value") for item in container.get("env", [])}
            assert {name: env.get(name) for name in SERVE_MODE} == SERVE_MODE, group.get("groupName", "head")
            assert "RAY_SERVE_ENABLE_HA_PROXY" not in env


def test_gpu_group_only_where_serve_asks_for_gpus(rendered):
    for overlay, docs in rendered.items():
        rs = find(docs, "RayService")
        groups = {g["groupName"]: g for g in rs["spec"]["rayClusterConfig"]["workerGroupSpecs"]}
        config = validate._parse_serve(rs)
        wants_gpu = any(
            (d.get("ray_actor_options") or {}).get("num_gpus")
            for a in config["applications"]
            for d in a["deployments"]
        )
        assert ("gpu" in groups) == wants_gpu, overlay
        if "gpu" in groups:
            gpu = groups["gpu"]
            container = gpu["template"]["spec"]["containers"][0]
            assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
            assert any(t["key"] == "nvidia.com/gpu" for t in gpu["template"]["spec"]["tolerations"])
            assert gpu["minReplicas"] == 0  # GPU pods only when Serve needs them


def test_prod_gpu_overlay_exists_and_puts_models_on_gpus(rendered):
    config = validate._parse_serve(find(rendered["prod-gpu"], "RayService"))
    deployments = {d["name"]: d for d in config["applications"][0]["deployments"]}
    assert deployments["Embedder"]["ray_actor_options"]["num_gpus"] > 0
    assert deployments["Detector"]["ray_actor_options"]["num_gpus"] > 0
    assert not deployments["Matcher"].get("ray_actor_options", {}).get("num_gpus")


def test_milvus_standalone_in_dev_cluster_in_prod(rendered):
    assert find(rendered["dev"], "Milvus")["spec"]["mode"] == "standalone"
    prod = find(rendered["prod"], "Milvus")["spec"]
    assert prod["mode"] == "cluster"
    assert "standalone" not in prod["components"]
    assert prod["dependencies"]["storage"]["external"] is True


def test_databases_in_cluster_for_dev_managed_in_prod(rendered):
    dev_sets = {d["metadata"]["name"] for d in rendered["dev"] if d["kind"] == "StatefulSet"}
    assert dev_sets == {"rollcall-postgres", "rollcall-redis"}
    for sts in (d for d in rendered["dev"] if d["kind"] == "StatefulSet"):
        assert sts["spec"]["volumeClaimTemplates"], "dev databases keep their data on a PVC"
    assert not [d for d in rendered["prod"] if d["kind"] == "StatefulSet"]
    prod_secrets = {s.name for s in manifests.required_secrets(rendered["prod"])}
    assert "rollcall-app" in prod_secrets and "rollcall-postgres" not in prod_secrets


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_jobs_hooks(rendered, overlay):
    docs = rendered[overlay]
    migrate = find(docs, "Job", "rollcall-migrate")
    assert migrate["metadata"]["labels"]["rollcall.io/deploy-phase"] == "pre-serve"
    assert migrate["spec"]["template"]["spec"]["containers"][0]["command"] == ["alembic", "upgrade", "heads"]
    commands = {
        d["metadata"]["name"]: d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
            "command"
        ]
        for d in docs
        if d["kind"] == "CronJob"
    }
    assert commands["rollcall-retention"] == ["python", "-m", "app.jobs", "retention"]
    for cron in (d for d in docs if d["kind"] == "CronJob"):
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def _server_postgres_image() -> str:
    """The PostgreSQL image of the in-cluster server (components/datastores), which sets the major version."""
    path = manifests.CLUSTER_DIR / "components" / "datastores" / "postgres.yaml"
    statefulset = find(manifests.parse(path.read_text()), "StatefulSet", "rollcall-postgres")
    return statefulset["spec"]["template"]["spec"]["containers"][0]["image"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_backup_is_pg_dump_then_upload_without_app_code(rendered, overlay):
    docs = rendered[overlay]
    cron = find(docs, "CronJob", "rollcall-backup")
    job = cron["spec"]["jobTemplate"]["spec"]
    assert cron["spec"]["successfulJobsHistoryLimit"] and cron["spec"]["failedJobsHistoryLimit"]
    assert job["backoffLimit"] >= 1 and job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    [dump], [upload] = pod["initContainers"], pod["containers"]
    # pg_dump from the official image of the server's major version, the tag pinned
    server = _server_postgres_image()
    assert manifests.image_name(dump["image"]) == manifests.image_name(server) == "postgres"
    assert manifests.image_tag(dump["image"]).split(".")[0] == manifests.image_tag(server).split(".")[0]
    dump_script = " ".join(dump["command"])
    assert "pg_dump" in dump_script and "--format=custom" in dump_script
    url_ref = {"secretKeyRef": {"name": "rollcall-app", "key": "ROLLCALL_DATABASE_URL"}}
    assert {"name": "ROLLCALL_DATABASE_URL", "valueFrom": url_ref} in dump["env"]  # the app's own URL
    # the MinIO client uploads to ROLLCALL_BACKUP_URI with rollcall-backup's credentials and checks the object
    assert manifests.image_name(upload["image"]) == "minio/mc"
    assert manifests.image_tag(upload["image"]).startswith("RELEASE.")
    upload_script = " ".join(upload["command"])
    assert "ROLLCALL_BACKUP_URI" in upload_script and "mc cp" in upload_script and "mc stat" in upload_script
    assert {"secretRef": {"name": "rollcall-backup"}} in upload["envFrom"]
    assert {"configMapRef": {"name": "rollcall-config"}} in upload["envFrom"]
    assert not any(c["image"].startswith(manifests.IMAGE_REPOSITORY) for c in (dump, upload))  # no app code
    # the dump travels in a size-limited emptyDir, and the upload container cannot change it
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["backup"]["emptyDir"]["sizeLimit"]
    assert {"name": "backup", "mountPath": "/backup"} in dump["volumeMounts"]
    assert {"name": "backup", "mountPath": "/backup", "readOnly": True} in upload["volumeMounts"]
    # the NetworkPolicies let it reach PostgreSQL (in-cluster in dev, managed in prod) and object storage
    net = validate.NetworkModel(docs)
    backup_pod = net.pod(job["template"]["metadata"]["labels"])
    object_storage = validate.Peer.external("203.0.113.20")
    assert net.can_connect(backup_pod, object_storage, 443)
    postgres = [t for t in manifests.pod_templates(docs) if t.labels.get("rollcall.io/role") == "postgres"]
    database = net.pod(postgres[0].labels) if postgres else validate.Peer.external("198.51.100.5")
    assert net.can_connect(backup_pod, database, 5432)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dashboard_only_inside_and_ingress_has_tls(rendered, overlay):
    docs = rendered[overlay]
    ingress = find(docs, "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] == "rollcall-tls"
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"rollcall" + manifests.SERVE_SERVICE_SUFFIX}
    for service in (d for d in docs if d["kind"] == "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_accounts_least_privilege(rendered, overlay):
    docs = rendered[overlay]
    accounts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
    assert accounts["rollcall-ray-worker"]["automountServiceAccountToken"] is False
    assert accounts["rollcall-jobs"]["automountServiceAccountToken"] is False
    # nobody gets cluster-wide rights, and we grant none of our own (KubeRay binds the autoscaler's Role)
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")]
    used = set()
    for template in manifests.pod_templates(docs):
        if template.spec is None:
            continue
        name = template.spec.get("serviceAccountName")
        if name:
            used.add(name)
            if name != "rollcall-ray-head":
                assert template.spec.get("automountServiceAccountToken") is False, manifests.key(
                    template.owner
                )
    assert used <= set(accounts)


def test_image_tag_override_pins_every_repository_image(rendered):
    docs = manifests.render("prod-gpu", image_tag="2026.01.5")
    images = [
        c["image"]
        for t in manifests.pod_templates(docs)
        for _, c in manifests.containers(t)
        if c["image"].startswith(manifests.IMAGE_REPOSITORY)
    ]
    # head, CPU and GPU workers, migration, retention (the backup runs stock PostgreSQL and MinIO images)
    assert len(images) >= 5 and all(i.endswith(":2026.01.5") for i in images)
    assert {manifests.image_name(i) for i in images} == {
        "ghcr.io/rollcall/rollcall",
        "ghcr.io/rollcall/rollcall-gpu",
    }
    assert not validate.check_images(docs)
