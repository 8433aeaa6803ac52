"""Offline validation of the rendered manifests: everything we can prove without a Kubernetes API server.

No API server runs where the tests run, so mistakes that ``kubectl apply`` or the operators would reject (or,
worse, silently ignore) are caught here instead:

- built-in kinds against the Kubernetes OpenAPI schemas (``kubernetes-validate``, strict: unknown fields
  fail), for the oldest and newest Kubernetes versions we support;
- custom resources (RayService, Milvus) against the CRDs in ``../shared/crds`` with ``jsonschema``, made
  strict the way the API server's field validation is (an unknown field fails; ``nullable`` honoured);
- ``serveConfigV2``, opaque to the CRD: parsed and validated with Ray's own ``ServeDeploySchema``, plus
  unknown keys rejected at every level (Serve accepts and ignores them, e.g. a misspelt autoscaling key),
  and compared with what ``cluster.serveconfig`` derives from ``serve_config.yaml`` (drift);
- the KubeRay operator's rules a schema cannot express, and whether Serve's max replicas fit the groups;
- no HorizontalPodAutoscaler on Ray pods; requests/limits, non-root and read-only root filesystems everywhere;
- NetworkPolicies: deny by default, and a small evaluator proves who reaches the databases and the dashboard;
- Secrets only referenced (never rendered), each reference catalogued in ``cluster.manifests.SECRETS``;
- one image tag for everything built from this repository, TLS on every Ingress host.

CEL rules inside the CRDs are not evaluated (two compare with the old object; the third constrains
``managedBy``, which we never set, and a check below keeps it that way).

``python -m cluster.validate`` validates every overlay and prints the problems; the test suite runs the same.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import jsonschema
import typer
import yaml

from cluster import manifests, monitoring, serveconfig
from cluster.manifests import PodTemplate, containers, key, pod_templates

CRDS_DIR = manifests.CLUSTER_DIR.parent.parent / "shared" / "crds"
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # oldest and newest Kubernetes we support
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
RAYSERVICE_NAME_MAX = 47  # KubeRay appends suffixes to build pod and service names
KUBERAY_PORT_NAMES = {6379: "gcs-server", 8265: "dashboard", 10001: "client", 8000: "serve", 8080: "metrics"}
DATASTORE_PORTS = {"postgres": 5432, "redis": 6379, "milvus": 19530}
INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"
OPS_NAMESPACE_LABELS = {"rollcall.io/ops": "true"}
WRITABLE_ROOT_ANNOTATION = "rollcall.io/writable-root-filesystem"  # value: why this pod needs it


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the rendered manifests."""

    check: str
    obj: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.obj}: {self.message}"


# --- schemas ------------------------------------------------------------------------------------------------


def _strict(schema: Any) -> Any:
    """A CRD's OpenAPI v3 schema as JSON Schema that rejects unknown fields, like the API server does."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items() if k not in ("description", "x-kubernetes-validations")}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string") and "anyOf" not in schema:
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@functools.cache
def crd_validators(crds_dir: Path = CRDS_DIR) -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> a strict validator, for every served version of every CRD in ``crds_dir``."""
    validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
    for path in sorted(crds_dir.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            for crd in manifests.parse(handle.read()):
                if crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if not version.get("served", True):
                        continue
                    schema = _strict(version["schema"]["openAPIV3Schema"])
                    validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


@functools.cache
def _builtin_validator(version: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """kubernetes-validate's strict schema for a kind, loaded once (its own API reloads 2 MB per call)."""
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    schema_version = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(version)][
        -1
    ]
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = f"kubernetes-json-schema/v{schema_version}-local-strict"
    try:
        schema = utils.schema_contents(f"{directory}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    definitions = utils.schema_contents(f"{directory}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def check_schemas(docs: list[dict[str, Any]], crds_dir: Path = CRDS_DIR) -> list[Problem]:
    """Built-in kinds against Kubernetes' schemas, custom resources against CRDs; unknown fields fail."""
    problems = []
    crds = crd_validators(crds_dir)
    for doc in docs:
        ident = (doc.get("apiVersion", ""), doc.get("kind", ""))
        if ident in monitoring.KINDS and ident not in crds:  # no CRD offline: structural checks instead
            problems += [Problem("schema-monitoring", key(doc), p) for p in monitoring.object_problems(doc)]
            continue
        if ident in crds:
            for error in sorted(crds[ident].iter_errors(doc), key=lambda e: list(e.path)):
                path = ".".join(str(p) for p in error.path)
                problems.append(Problem("schema-crd", key(doc), f"{path}: {error.message}"))
            continue
        for version in KUBERNETES_VERSIONS:
            validator = _builtin_validator(version, *ident)
            if validator is None:
                problems.append(
                    Problem(
                        "schema-builtin",
                        key(doc),
                        f"no schema for {ident[0]} {ident[1]} (k8s {version}, no CRD)",
                    )
                )
                continue
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                path = ".".join(str(p) for p in error.path)
                problems.append(
                    Problem("schema-builtin", key(doc), f"k8s {version}: {path}: {error.message}")
                )
    return problems


# --- Serve config -------------------------------------------------------------------------------------------


def _serve_models() -> dict[str, Any]:
    from ray.serve.config import AutoscalingConfig
    from ray.serve.schema import (
        DeploymentSchema,
        HTTPOptionsSchema,
        RayActorOptionsSchema,
        ServeApplicationSchema,
        ServeDeploySchema,
    )

    return {
        "deploy": ServeDeploySchema,
        "http_options": HTTPOptionsSchema,
        "application": ServeApplicationSchema,
        "deployment": DeploymentSchema,
        "ray_actor_options": RayActorOptionsSchema,
        "autoscaling_config": AutoscalingConfig,
    }


def _fields(model: Any) -> set[str]:
    return set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}


def _unknown(where: str, data: Any, model: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    extra = sorted(set(data) - _fields(model))
    return [f"{where}: unknown keys {extra} (Serve ignores them silently)"] if extra else []


def serve_config_problems(config: Any) -> list[str]:
    """Validate a parsed Serve config with Ray's schema; reject unknown keys Serve would silently ignore."""
    models = _serve_models()
    messages = []
    try:
        models["deploy"].model_validate(config)
    except Exception as exc:  # pydantic's ValidationError; its text names every failing field
        messages.append(f"ServeDeploySchema: {exc}")
    if not isinstance(config, dict):
        return messages
    messages += _unknown("serve config", config, models["deploy"])
    messages += _unknown("http_options", config.get("http_options"), models["http_options"])
    host = (config.get("http_options") or {}).get("host")
    if host not in ("0.0.0.0", "::"):  # noqa: S104 - the pod must listen on its own IP
        messages.append(f"http_options.host is {host!r}: inside a pod the proxy must bind 0.0.0.0")
    for app in config.get("applications") or []:
        where = f"application {app.get('name')!r}"
        messages += _unknown(where, app, models["application"])
        for dep in app.get("deployments") or []:
            dep_where = f"{where} deployment {dep.get('name')!r}"
            messages += _unknown(dep_where, dep, models["deployment"])
            messages += _unknown(
                f"{dep_where} ray_actor_options", dep.get("ray_actor_options"), models["ray_actor_options"]
            )
            messages += _unknown(
                f"{dep_where} autoscaling_config", dep.get("autoscaling_config"), models["autoscaling_config"]
            )
    return messages


def _rayservices(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc.get("kind") == "RayService"]


def _parse_serve(doc: dict[str, Any]) -> Any:
    return yaml.safe_load(doc.get("spec", {}).get("serveConfigV2") or "")


def check_serve_config(docs: list[dict[str, Any]]) -> list[Problem]:
    """serveConfigV2 is a string to the CRD: parse it and hold it to Ray's own schema."""
    problems: list[Problem] = []
    for doc in _rayservices(docs):
        try:
            config = _parse_serve(doc)
        except yaml.YAMLError as exc:
            problems.append(Problem("serve-config", key(doc), f"serveConfigV2 is not YAML: {exc}"))
            continue
        if not config:
            problems.append(Problem("serve-config", key(doc), "serveConfigV2 is empty"))
            continue
        problems += [Problem("serve-config", key(doc), message) for message in serve_config_problems(config)]
    return problems


def check_serve_drift(
    docs: list[dict[str, Any]], overlay: str, cluster_dir: Path = manifests.CLUSTER_DIR
) -> list[Problem]:
    """The rendered serveConfigV2 must equal what the generator derives from serve_config.yaml right now."""
    target = serveconfig.Target(overlay, cluster_dir / "overlays" / overlay)
    if overlay == "base":
        target = serveconfig.Target("base", cluster_dir / serveconfig.BASE_RAYSERVICE_DIR)
    expected, _ = serveconfig.build_serve_config(target, serveconfig.SERVE_CONFIG, cluster_dir)
    problems: list[Problem] = []
    for doc in _rayservices(docs):
        if _parse_serve(doc) != expected:
            problems.append(
                Problem(
                    "serve-drift",
                    key(doc),
                    "serveConfigV2 differs from serve_config.yaml + overrides: "
                    "run `python -m cluster.serveconfig`",
                )
            )
    return problems


# --- KubeRay ------------------------------------------------------------------------------------------------


def parse_quantity(value: Any) -> float:
    """A Kubernetes CPU/GPU quantity as a number ("500m" -> 0.5, "2" -> 2.0)."""
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    return float(text)


def _ray_container_resources(group: dict[str, Any]) -> tuple[float, float]:
    """(CPUs, GPUs) one pod of a Ray group advertises: rayStartParams win, else the Ray container's limits."""
    params = group.get("rayStartParams") or {}
    container = (((group.get("template") or {}).get("spec") or {}).get("containers") or [{}])[0]
    resources = container.get("resources") or {}
    limits = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
    cpus = float(params["num-cpus"]) if "num-cpus" in params else parse_quantity(limits.get("cpu", 0))
    gpus = (
        float(params["num-gpus"]) if "num-gpus" in params else parse_quantity(limits.get("nvidia.com/gpu", 0))
    )
    return cpus, gpus


def check_kuberay(docs: list[dict[str, Any]]) -> list[Problem]:
    """KubeRay's rules no schema expresses, and whether Serve's replicas can be placed on the groups."""
    problems: list[Problem] = []
    for doc in _rayservices(docs):
        obj = key(doc)

        def problem(message: str, obj: str = obj, sink: list[Problem] = problems) -> None:
            sink.append(Problem("kuberay", obj, message))

        name = doc["metadata"].get("name", "")
        if len(name) > RAYSERVICE_NAME_MAX or not DNS_1035.match(name):
            problem(f"name {name!r} must be a DNS-1035 label of at most {RAYSERVICE_NAME_MAX} characters")
        spec = doc.get("spec", {})
        cluster = spec.get("rayClusterConfig") or {}
        if spec.get("managedBy") or cluster.get("managedBy"):
            problem(
                "managedBy is set: leave it to KubeRay (a CEL rule we cannot evaluate offline constrains it)"
            )
        if cluster.get("enableInTreeAutoscaling") is not True:
            problem("enableInTreeAutoscaling must be true, or Serve autoscaling can never add pods")
        try:
            installed = metadata.version("ray")
        except metadata.PackageNotFoundError:  # pragma: no cover - ray is a dependency
            installed = None
        if installed and cluster.get("rayVersion") != installed:
            problem(
                f"rayVersion {cluster.get('rayVersion')!r} differs from the ray in the image ({installed})"
            )
        head = cluster.get("headGroupSpec") or {}
        groups = [("headGroupSpec", head)] + [
            (f"workerGroupSpecs[{g.get('groupName')}]", g) for g in cluster.get("workerGroupSpecs") or []
        ]
        names = [g.get("groupName") for g in cluster.get("workerGroupSpecs") or []]
        if len(names) != len(set(names)):
            problem(f"worker group names repeat: {names}")
        for where, group in groups:
            spec_containers = ((group.get("template") or {}).get("spec") or {}).get("containers") or []
            if not spec_containers:
                problem(f"{where} has no container")
            for container in spec_containers[:1]:
                for port in container.get("ports") or []:
                    expected = KUBERAY_PORT_NAMES.get(port.get("containerPort"))
                    if expected and port.get("name") != expected:
                        problem(
                            f"{where} port {port['containerPort']} must be named {expected!r} "
                            "(KubeRay looks it up)"
                        )
        workers = cluster.get("workerGroupSpecs") or []
        for group in workers:
            low, high = group.get("minReplicas", 0), group.get("maxReplicas", 2**31 - 1)
            if low > high:
                problem(f"worker group {group.get('groupName')}: minReplicas {low} > maxReplicas {high}")
            replicas = group.get("replicas")
            if replicas is not None and not low <= replicas <= high:
                problem(f"worker group {group.get('groupName')}: replicas {replicas} outside [{low}, {high}]")
        if workers and all(g.get("maxReplicas", 0) <= g.get("minReplicas", 0) for g in workers):
            problem(
                "no worker group can grow (maxReplicas == minReplicas everywhere): autoscaling adds no pods"
            )
        problems += _capacity_problems(doc, cluster, workers)
    return problems


def _capacity_problems(
    doc: dict[str, Any], cluster: dict[str, Any], workers: list[dict[str, Any]]
) -> list[Problem]:
    """At max_replicas every replica must fit on some pod, and all together within the groups' maxReplicas."""
    try:
        config = _parse_serve(doc) or {}
    except yaml.YAMLError:
        return []  # reported by check_serve_config
    groups = [(g.get("groupName"), *_ray_container_resources(g), g.get("maxReplicas", 0)) for g in workers]
    head_cpus, head_gpus = _ray_container_resources(cluster.get("headGroupSpec") or {})
    groups.append(("head", head_cpus, head_gpus, 1))
    cpu_capacity = sum(cpus * count for _, cpus, _, count in groups)
    gpu_capacity = sum(gpus * count for _, _, gpus, count in groups)
    cpu_demand = gpu_demand = 0.0
    problems = []
    for app in config.get("applications") or []:
        for dep in app.get("deployments") or []:
            scaling = dep.get("autoscaling_config") or {}
            count = scaling.get("max_replicas") or (
                dep.get("num_replicas") if isinstance(dep.get("num_replicas"), int) else 1
            )
            options = dep.get("ray_actor_options") or {}
            cpus, gpus = float(options.get("num_cpus", 1)), float(options.get("num_gpus", 0))
            cpu_demand += cpus * count
            gpu_demand += gpus * count
            if not any(cpus <= gc and gpus <= gg for _, gc, gg, n in groups if n > 0):
                problems.append(
                    Problem(
                        "serve-capacity",
                        key(doc),
                        f"{app['name']}/{dep['name']} needs {cpus} CPU and {gpus} GPU: "
                        "no group's pod offers that, its replicas would stay pending",
                    )
                )
    if cpu_demand > cpu_capacity + 1e-9:
        problems.append(
            Problem(
                "serve-capacity",
                key(doc),
                f"at max_replicas Serve needs {cpu_demand:g} CPUs; the groups offer "
                f"{cpu_capacity:g} at maxReplicas",
            )
        )
    if gpu_demand > gpu_capacity + 1e-9:
        problems.append(
            Problem(
                "serve-capacity",
                key(doc),
                f"at max_replicas Serve needs {gpu_demand:g} GPUs; the groups offer "
                f"{gpu_capacity:g} at maxReplicas",
            )
        )
    return problems


def check_no_hpa_on_ray(docs: list[dict[str, Any]]) -> list[Problem]:
    """KubeRay owns the Ray pod counts; an HPA fighting the Ray autoscaler would flap the cluster."""
    problems = []
    ray_names = {doc["metadata"]["name"] for doc in docs if doc.get("kind") in ("RayService", "RayCluster")}
    for doc in docs:
        if doc.get("kind") != "HorizontalPodAutoscaler":
            continue
        target = doc.get("spec", {}).get("scaleTargetRef") or {}
        if str(target.get("apiVersion", "")).startswith("ray.io/") or target.get("name") in ray_names:
            problems.append(
                Problem("no-hpa-on-ray", key(doc), f"targets Ray ({target}); KubeRay owns Ray pod counts")
            )
    return problems


# --- containers ---------------------------------------------------------------------------------------------


def _check_resources(obj: str, where: str, resources: dict[str, Any] | None) -> list[Problem]:
    resources = resources or {}
    missing = [
        f"{section}.{name}"
        for section in ("requests", "limits")
        for name in ("cpu", "memory")
        if name not in (resources.get(section) or {})
    ]
    return [Problem("resources", obj, f"{where}: missing {', '.join(missing)}")] if missing else []


def check_containers(docs: list[dict[str, Any]]) -> list[Problem]:
    """Requests and limits, non-root, no privilege escalation, read-only root filesystem, and probes."""
    problems = []
    for template in pod_templates(docs):
        obj = key(template.owner)
        if template.kind == "operator":
            continue  # checked below with the Milvus resource
        pod_security = (template.spec or {}).get("securityContext") or {}
        annotations = template.annotations
        for where, container in containers(template):
            problems += _check_resources(obj, where, container.get("resources"))
            security = container.get("securityContext") or {}
            non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
            user = security.get("runAsUser", pod_security.get("runAsUser"))
            if non_root is not True or user == 0:
                problems.append(
                    Problem("non-root", obj, f"{where}: must run as non-root (runAsNonRoot true, uid != 0)")
                )
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(Problem("non-root", obj, f"{where}: allowPrivilegeEscalation must be false"))
            if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
                problems.append(Problem("non-root", obj, f"{where}: capabilities must drop ALL"))
            if (
                security.get("readOnlyRootFilesystem") is not True
                and WRITABLE_ROOT_ANNOTATION not in annotations
            ):
                problems.append(
                    Problem(
                        "non-root",
                        obj,
                        f"{where}: readOnlyRootFilesystem must be true (or annotate the pod with "
                        f"{WRITABLE_ROOT_ANNOTATION}: <why>)",
                    )
                )
        if template.owner.get("kind") in ("Deployment", "StatefulSet", "DaemonSet"):
            for where, container in containers(template, include_init=False):
                for probe in ("readinessProbe", "livenessProbe"):
                    if not container.get(probe):
                        problems.append(Problem("probes", obj, f"{where}: no {probe}"))
    for doc in _rayservices(docs):
        options = doc["spec"].get("rayClusterConfig", {}).get("autoscalerOptions") or {}
        where = "spec.rayClusterConfig.autoscalerOptions"
        problems += _check_resources(key(doc), where, options.get("resources"))
        security = options.get("securityContext") or {}
        if security.get("runAsNonRoot") is not True or security.get("allowPrivilegeEscalation") is not False:
            problems.append(
                Problem("non-root", key(doc), f"{where}.securityContext: non-root, no escalation")
            )
    for doc in docs:
        if doc.get("kind") == "Milvus":
            problems += _milvus_container_problems(doc)
    return problems


def _milvus_container_problems(doc: dict[str, Any]) -> list[Problem]:
    problems = []
    components = doc.get("spec", {}).get("components") or {}
    if components.get("runAsNonRoot") is not True:
        problems.append(Problem("non-root", key(doc), "spec.components.runAsNonRoot must be true"))
    for name, component in components.items():
        if isinstance(component, dict) and "replicas" in component:
            problems += _check_resources(
                key(doc), f"spec.components.{name}.resources", component.get("resources")
            )
    for name, dep in (doc.get("spec", {}).get("dependencies") or {}).items():
        values = (dep.get("inCluster") or {}).get("values") if isinstance(dep, dict) else None
        if isinstance(values, dict) and not dep.get("external"):
            problems += _check_resources(
                key(doc), f"spec.dependencies.{name}.inCluster.values.resources", values.get("resources")
            )
    return problems


def check_images(docs: list[dict[str, Any]]) -> list[Problem]:
    """Pinned images, and one tag for everything built from this repository (migrations match the code)."""
    problems = []
    ours: dict[str, set[str]] = {}
    for template in pod_templates(docs):
        for where, container in containers(template):
            image = container.get("image", "")
            tag = manifests.image_tag(image)
            if not tag or tag == "latest":
                problems.append(
                    Problem("images", key(template.owner), f"{where}: image {image!r} is not pinned")
                )
            if image.startswith(manifests.IMAGE_REPOSITORY) and tag:
                ours.setdefault(tag, set()).add(f"{key(template.owner)} {where}")
    if len(ours) > 1:
        problems.append(Problem("images", "*", f"images of this repository use several tags: {sorted(ours)}"))
    return problems


# --- Secrets and Ingress ------------------------------------------------------------------------------------


def check_secrets(docs: list[dict[str, Any]]) -> list[Problem]:
    """Secrets are referenced, never rendered; every reference is in the catalogue operators provision."""
    problems = [
        Problem("secrets", key(doc), "a Secret is rendered: secret values must never be committed")
        for doc in docs
        if doc.get("kind") == "Secret"
    ]
    for ref in manifests.secret_references(docs):
        if ref.secret in manifests.GENERATED_SECRETS:
            continue
        spec = manifests.SECRETS.get(ref.secret)
        if spec is None:
            problems.append(
                Problem("secrets", ref.where, f"Secret {ref.secret!r} is not in cluster.manifests.SECRETS")
            )
        elif ref.key is not None and ref.key not in spec.keys:
            problems.append(
                Problem("secrets", ref.where, f"key {ref.key!r} is not catalogued for {ref.secret!r}")
            )
    return problems


def check_ingress(docs: list[dict[str, Any]]) -> list[Problem]:
    """TLS (via cert-manager) on every host; backends that exist: the RayService's serve Service or ours."""
    problems = []
    services = {doc["metadata"]["name"] for doc in docs if doc.get("kind") == "Service"}
    services |= {doc["metadata"]["name"] + manifests.SERVE_SERVICE_SUFFIX for doc in _rayservices(docs)}
    for doc in docs:
        if doc.get("kind") != "Ingress":
            continue
        spec = doc.get("spec", {})
        annotations = doc["metadata"].get("annotations") or {}
        if not any(a in annotations for a in ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")):
            problems.append(Problem("ingress", key(doc), "no cert-manager issuer annotation"))
        tls_hosts = {
            host for tls in spec.get("tls") or [] if tls.get("secretName") for host in tls.get("hosts") or []
        }
        for rule in spec.get("rules") or []:
            if rule.get("host") not in tls_hosts:
                problems.append(Problem("ingress", key(doc), f"host {rule.get('host')!r} has no TLS secret"))
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = (path.get("backend") or {}).get("service") or {}
                if backend.get("name") not in services:
                    problems.append(
                        Problem(
                            "ingress", key(doc), f"backend Service {backend.get('name')!r} does not exist"
                        )
                    )
                if backend.get("name", "").endswith(manifests.SERVE_SERVICE_SUFFIX) and (
                    backend.get("port") or {}
                ).get("number") not in (8000, None):
                    problems.append(Problem("ingress", key(doc), "the serve Service listens on 8000"))
                if (backend.get("name") or "").endswith(manifests.HEAD_SERVICE_SUFFIX):
                    problems.append(
                        Problem("ingress", key(doc), "the Ray head (dashboard, GCS) must not be exposed")
                    )
    return problems


# --- NetworkPolicies ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """A connection endpoint: a pod (namespace + labels) or an address outside the cluster."""

    namespace: str
    namespace_labels: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    ip: str | None = None

    @classmethod
    def pod(
        cls, namespace: str, labels: dict[str, str], namespace_labels: dict[str, str] | None = None
    ) -> Peer:
        """A pod with these labels in a namespace with these labels (its name label is added)."""
        ns_labels = {"kubernetes.io/metadata.name": namespace, **(namespace_labels or {})}
        return cls(namespace, tuple(sorted(ns_labels.items())), tuple(sorted(labels.items())))

    @classmethod
    def external(cls, ip: str) -> Peer:
        """An address outside the cluster (a managed database, S3, the API server)."""
        return cls("", ip=ip)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        k, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if (
            (op == "In" and labels.get(k) not in values)
            or (op == "NotIn" and k in labels and labels[k] in values)
            or (op == "Exists" and k not in labels)
            or (op == "DoesNotExist" and k in labels)
        ):
            return False
    return True


class NetworkModel:
    """Evaluates the rendered NetworkPolicies of one namespace: may this connection happen?"""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.policies = [doc for doc in docs if doc.get("kind") == "NetworkPolicy"]
        namespaces = {doc["metadata"].get("namespace") for doc in docs if doc["metadata"].get("namespace")}
        self.namespace = next(iter(namespaces)) if len(namespaces) == 1 else "default"
        ns_doc = next(
            (d for d in docs if d.get("kind") == "Namespace" and d["metadata"]["name"] == self.namespace), {}
        )
        self.namespace_labels = dict((ns_doc.get("metadata") or {}).get("labels") or {})

    def pod(self, labels: dict[str, str]) -> Peer:
        """A pod of this namespace."""
        return Peer.pod(self.namespace, labels, self.namespace_labels)

    @staticmethod
    def _types(policy: dict[str, Any]) -> list[str]:
        spec = policy.get("spec", {})
        return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))

    def _peer_matches(self, rule_peer: dict[str, Any], peer: Peer) -> bool:
        if "ipBlock" in rule_peer:
            if peer.ip is None:
                return False
            block = rule_peer["ipBlock"]
            address = ipaddress.ip_address(peer.ip)
            return address in ipaddress.ip_network(block["cidr"]) and not any(
                address in ipaddress.ip_network(e) for e in block.get("except") or []
            )
        if peer.ip is not None:
            return False
        if "namespaceSelector" in rule_peer:
            ns_ok = selects(rule_peer["namespaceSelector"], dict(peer.namespace_labels))
        else:
            ns_ok = peer.namespace == self.namespace
        return ns_ok and (
            "podSelector" not in rule_peer or selects(rule_peer["podSelector"], dict(peer.labels))
        )

    @staticmethod
    def _port_matches(ports: list[dict[str, Any]] | None, port: int) -> bool:
        if not ports:
            return True
        for entry in ports:
            if entry.get("protocol", "TCP") != "TCP":
                continue
            number = entry.get("port")
            if (
                number is None
                or number == port
                or (entry.get("endPort") and number <= port <= entry["endPort"])
            ):
                return True
        return False

    def _allowed(self, direction: str, subject: dict[str, str], other: Peer, port: int) -> bool:
        field_name, peers_name = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [
            p
            for p in self.policies
            if selects(p.get("spec", {}).get("podSelector"), subject) and direction in self._types(p)
        ]
        if not selecting:
            return True  # not isolated in this direction
        for policy in selecting:
            for rule in policy["spec"].get(field_name) or []:
                if not self._port_matches(rule.get("ports"), port):
                    continue
                peers = rule.get(peers_name)
                if not peers or any(self._peer_matches(p, other) for p in peers):
                    return True
        return False

    def admits(self, destination: Peer, source: Peer, port: int) -> bool:
        """Whether the destination's own ingress policies admit the source (whatever its egress says)."""
        return self._allowed("Ingress", dict(destination.labels), source, port)

    def can_connect(self, source: Peer, destination: Peer, port: int) -> bool:
        """True when the source's egress (if it is ours) and the destination's ingress (if ours) allow it."""
        if (
            source.ip is None
            and source.namespace == self.namespace
            and not self._allowed("Egress", dict(source.labels), destination, port)
        ):
            return False
        if destination.ip is None and destination.namespace == self.namespace:
            return self._allowed("Ingress", dict(destination.labels), source, port)
        return True


def check_network_policies(docs: list[dict[str, Any]]) -> list[Problem]:
    """Deny by default; only db-clients reach databases; public traffic reaches Serve only; dashboard: ops."""
    problems: list[Problem] = []
    net = NetworkModel(docs)
    obj = f"NetworkPolicies/{net.namespace}"

    def expect(allowed: bool, source: Peer, destination: Peer, port: int, what: str) -> None:
        # Denials are judged on the destination's own ingress rules: a database or the dashboard stays closed
        # even if a future policy opened some source's egress wide (defence in depth).
        result = (
            net.can_connect(source, destination, port) if allowed else net.admits(destination, source, port)
        )
        if result != allowed:
            problems.append(
                Problem("network-policy", obj, f"{what} should be {'allowed' if allowed else 'denied'}")
            )

    if not any(
        p["spec"].get("podSelector") in ({}, None)
        and {"Ingress", "Egress"} <= set(net._types(p))
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        for p in net.policies
    ):
        problems.append(
            Problem(
                "network-policy", obj, "no default-deny policy (podSelector {}, Ingress+Egress, no rules)"
            )
        )

    templates = [t for t in pod_templates(docs)]
    for policy in net.policies:  # a selector that selects nothing is a typo that silently opens nothing
        selector = policy["spec"].get("podSelector") or {}
        if selector and not any(selects(selector, t.labels) for t in templates):
            problems.append(Problem("network-policy", key(policy), f"podSelector {selector} selects no pod"))

    by_role: dict[str, list[PodTemplate]] = {}
    for template in templates:
        by_role.setdefault(template.labels.get("rollcall.io/role", ""), []).append(template)
    clients = [t for t in templates if t.labels.get("rollcall.io/db-client") == "true"]
    if not clients:
        problems.append(Problem("network-policy", obj, "no pod is labelled rollcall.io/db-client=true"))
    ingress_controller = Peer.pod(INGRESS_CONTROLLER_NAMESPACE, {"app.kubernetes.io/name": "ingress-nginx"})
    stranger = net.pod({"app": "something-else"})
    outside = Peer.external("203.0.113.10")
    for role, port in DATASTORE_PORTS.items():
        stores = [t for t in by_role.get(role, []) if t.kind != "ray-head"]
        if not stores:
            if role == "milvus":
                problems.append(
                    Problem("network-policy", obj, "no Milvus pods labelled rollcall.io/role=milvus")
                )
                continue
            # a managed service outside the cluster: db-clients must be able to leave on its port
            for client in clients:
                expect(
                    True,
                    net.pod(client.labels),
                    outside,
                    port,
                    f"{key(client.owner)} -> managed {role}:{port}",
                )
            continue
        if not any(
            selects(p["spec"].get("podSelector"), stores[0].labels)
            and "Ingress" in net._types(p)
            and p["spec"].get("podSelector")
            for p in net.policies
        ):
            problems.append(
                Problem("network-policy", obj, f"no NetworkPolicy of its own selects the {role} pods")
            )
        for store in stores:
            destination = net.pod(store.labels)
            what = f"{role} ({key(store.owner)}:{port})"
            for client in clients:
                expect(True, net.pod(client.labels), destination, port, f"{key(client.owner)} -> {what}")
            expect(False, ingress_controller, destination, port, f"ingress controller -> {what}")
            expect(False, stranger, destination, port, f"an unlabelled pod in the namespace -> {what}")
            expect(False, outside, destination, port, f"the outside world -> {what}")
    heads = by_role.get("ray", [])
    ray_heads = [t for t in heads if t.kind == "ray-head"]
    ray_workers = [t for t in heads if t.kind == "ray-worker"]
    ops = Peer.pod("ops", {"app": "toolbox"}, OPS_NAMESPACE_LABELS)
    for head in ray_heads:
        destination = net.pod(head.labels)
        expect(True, ops, destination, 8265, "ops namespace -> Ray dashboard 8265")
        expect(False, ingress_controller, destination, 8265, "ingress controller -> Ray dashboard 8265")
        expect(False, stranger, destination, 8265, "an unlabelled pod -> Ray dashboard 8265")
        expect(False, ingress_controller, destination, 6379, "ingress controller -> Ray GCS 6379")
        for worker in ray_workers:
            expect(
                True,
                net.pod(worker.labels),
                destination,
                6379,
                f"Ray worker {worker.labels.get('ray.io/group')} -> GCS",
            )
    for worker in ray_workers:
        destination = net.pod(worker.labels)
        expect(
            True,
            ingress_controller,
            destination,
            8000,
            f"ingress controller -> Serve on {worker.labels['ray.io/group']}",
        )
        expect(
            False,
            outside,
            destination,
            8000,
            f"the outside world (bypassing the Ingress) -> {worker.labels['ray.io/group']}",
        )
    return problems


PART_OF = ("app.kubernetes.io/part-of", "rollcall")


def check_labels(docs: list[dict[str, Any]]) -> list[Problem]:
    """Every object and pod carries app.kubernetes.io/part-of=rollcall: `deploy status` lists by it."""
    name, value = PART_OF
    problems = [
        Problem("labels", key(doc), f"metadata.labels lacks {name}={value}")
        for doc in docs
        if doc.get("kind") != "Namespace" and (doc["metadata"].get("labels") or {}).get(name) != value
    ]
    problems += [
        Problem("labels", key(t.owner), f"{t.path}: pod labels lack {name}={value}")
        for t in pod_templates(docs)
        if t.labels.get(name) != value
    ]
    return problems


def check_disruption_budgets(docs: list[dict[str, Any]]) -> list[Problem]:
    """Every PodDisruptionBudget selects pods that exist (a typo would protect nothing)."""
    templates = list(pod_templates(docs))
    return [
        Problem("pdb", key(doc), f"selector {doc['spec'].get('selector')} selects no pod")
        for doc in docs
        if doc.get("kind") == "PodDisruptionBudget"
        and not any(selects(doc["spec"].get("selector"), t.labels) for t in templates)
    ]


# --- entry points -------------------------------------------------------------------------------------------

CHECKS: tuple[Callable[[list[dict[str, Any]]], list[Problem]], ...] = (
    check_schemas,
    check_serve_config,
    check_kuberay,
    check_no_hpa_on_ray,
    check_containers,
    check_images,
    check_secrets,
    check_ingress,
    check_network_policies,
    check_disruption_budgets,
    check_labels,
    lambda docs: [Problem("monitoring", "PodMonitor", p) for p in monitoring.selection_problems(docs)],
)


def validate_documents(docs: list[dict[str, Any]], overlay: str | None = None) -> list[Problem]:
    """Run every check on rendered objects; with an overlay name also the drift check (serve_config.yaml)."""
    docs = copy.deepcopy(docs)  # checks never mutate, but callers may plant mistakes in their own copy
    problems = [problem for check in CHECKS for problem in check(docs)]
    if overlay is not None:
        problems += check_serve_drift(docs, overlay)
    return problems


def validate_overlay(overlay: str) -> list[Problem]:
    """Render one overlay and validate it."""
    return validate_documents(manifests.render(overlay), overlay)


def main(
    overlay: Annotated[list[str] | None, typer.Option(help="Repeatable; default all.")] = None,
) -> None:
    """Validate the named overlays (default: all) and print every problem; exit 1 if any."""
    unknown = sorted(set(overlay or ()) - set(manifests.overlay_names()))
    if unknown:
        raise typer.BadParameter(f"unknown overlays {unknown}; known: {manifests.overlay_names()}")
    failed = False
    for name in overlay or manifests.overlay_names():
        try:
            problems = validate_overlay(name)
        except manifests.RenderError as exc:
            typer.echo(f"{name}: render failed: {exc}")
            failed = True
            continue
        typer.echo(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            typer.echo(f"  {problem}")
        failed |= bool(problems)
    if failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
