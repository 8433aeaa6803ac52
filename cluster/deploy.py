"""Deploy Rollcall: ``python -m cluster.deploy render|apply|status [--overlay dev|prod|prod-gpu]``.

One command does the whole rollout in the order that keeps the running version serving:

1. render the overlay with kustomize (optionally pinning ``--image-tag``) and validate it offline
   (``cluster.validate``); nothing is sent to a cluster with a known problem;
2. check the cluster is reachable, the KubeRay and Milvus operators' CRDs exist, and every Secret the
   manifests reference exists with its keys (``--generate-dev-secrets`` creates random ones in dev);
3. server-side apply everything except the migration Job, the CronJobs and the RayService; wait for
   in-cluster databases;
4. re-create the migration Job (``alembic upgrade heads``) and wait for it: if it fails, stop here, the
   RayService is untouched and the current version keeps serving;
5. apply the CronJobs (they run the new code), then the RayService (in place for Serve config changes,
   blue-green for cluster changes); wait until KubeRay reports it Ready with every Serve application
   RUNNING; then print the status table.

Unreachable clusters fail fast with a one-line reason (no traceback), so CI and humans see what to fix.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import functools
import os
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from cluster import manifests, validate

FIELD_MANAGER = "rollcall-deploy"
PRE_SERVE_LABEL = "rollcall.io/deploy-phase"
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds for every API call
PLACEHOLDER_HOSTS = ("example.org",)  # SITE values nobody replaced; prod refuses to apply them
# Apply order for the first phase (everything before the migration): identity and config before workloads.
KIND_ORDER = [
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "NetworkPolicy",
    "Service",
    "PersistentVolumeClaim",
    "StatefulSet",
    "Deployment",
    "PodDisruptionBudget",
    "Milvus",
    "Ingress",
]
REQUIRED_CRDS = {
    (
        "ray.io/v1",
        "RayService",
    ): "the KubeRay operator (>= 1.7): https://docs.ray.io/en/latest/cluster/kubernetes/",
    (
        "milvus.io/v1beta1",
        "Milvus",
    ): "the Milvus operator (>= 1.3): https://github.com/zilliztech/milvus-operator",
}

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n")[0])


class Overlay(enum.StrEnum):
    """The environments under cluster/overlays."""

    dev = "dev"
    prod = "prod"
    prod_gpu = "prod-gpu"


class DeployError(Exception):
    """A failure with a message meant for the person deploying (printed without a traceback).

    ``code`` is the exit status: 2 when no cluster could be used at all, 1 for everything else.
    """

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --- pure planning (tested offline) -------------------------------------------------------------------------


def split_phases(
    docs: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(before the migration, the migration Jobs, after it), each in dependency order.

    After the migration come what runs the new code: the CronJobs, then the RayService last.
    """
    migrations = [
        d
        for d in docs
        if d.get("kind") == "Job" and (d["metadata"].get("labels") or {}).get(PRE_SERVE_LABEL) == "pre-serve"
    ]
    after = [d for d in docs if d.get("kind") == "CronJob"] + [
        d for d in docs if d.get("kind") == "RayService"
    ]
    before = [d for d in docs if d not in migrations and d not in after]
    rank = {kind: index for index, kind in enumerate(KIND_ORDER)}
    before.sort(key=lambda d: rank.get(d.get("kind", ""), len(KIND_ORDER)))
    return before, migrations, after


def namespace_of(docs: list[dict[str, Any]]) -> str:
    """The one namespace an overlay deploys into."""
    names = {d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace")}
    if len(names) != 1:
        raise DeployError(f"the overlay must deploy into exactly one namespace, found {sorted(names)}")
    return str(names.pop())


def rayservice_readiness(obj: dict[str, Any]) -> tuple[bool, str]:
    """Whether KubeRay reports the RayService ready to serve the applied generation, and why not."""
    status = obj.get("status") or {}
    generation = obj.get("metadata", {}).get("generation")
    if generation is not None and status.get("observedGeneration", 0) < generation:
        return False, "KubeRay has not observed the new spec yet"
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if conditions.get("UpgradeInProgress", {}).get("status") == "True":
        pending = (status.get("pendingServiceStatus") or {}).get("rayClusterName", "?")
        return False, f"blue-green upgrade in progress (new cluster {pending})"
    if "Ready" in conditions:
        if conditions["Ready"].get("status") != "True":
            ready = conditions["Ready"]
            return False, f"not ready: {ready.get('reason', '')} {ready.get('message', '')}".strip()
    elif status.get("serviceStatus") != "Running":
        return False, f"service status {status.get('serviceStatus') or 'unknown'}"
    apps = (status.get("activeServiceStatus") or {}).get("applicationStatuses") or {}
    if not apps:
        return False, "no Serve application reported yet"
    failing = {name: app.get("status") for name, app in apps.items() if app.get("status") != "RUNNING"}
    if failing:
        return False, f"Serve applications not running: {failing}"
    if not status.get("numServeEndpoints"):
        return False, "no pod is serving traffic yet"
    return True, "ready"


def placeholder_hosts(docs: list[dict[str, Any]]) -> list[str]:
    """Ingress hosts still carrying a placeholder domain."""
    return sorted(
        rule.get("host", "")
        for d in docs
        if d.get("kind") == "Ingress"
        for rule in d.get("spec", {}).get("rules") or []
        if any(rule.get("host", "").endswith(p) for p in PLACEHOLDER_HOSTS)
    )


def dev_secret_values(namespace: str) -> dict[str, dict[str, str]]:
    """Random credentials for a dev namespace, consistent across the Secrets that must agree."""
    pg_password = secrets.token_urlsafe(24)
    redis_password = secrets.token_urlsafe(24)
    return {
        "rollcall-postgres": {"POSTGRES_PASSWORD": pg_password},
        "rollcall-redis": {"REDIS_PASSWORD": redis_password},
        "rollcall-app": {
            "ROLLCALL_DATABASE_URL": f"postgresql://rollcall:{pg_password}@rollcall-postgres.{namespace}.svc:5432/rollcall",
            "ROLLCALL_REDIS_URL": f"redis://:{redis_password}@rollcall-redis.{namespace}.svc:6379/0",
            "ROLLCALL_MILVUS_URI": f"http://rollcall-milvus.{namespace}.svc:19530",
            "ROLLCALL_SECRET_KEY": secrets.token_urlsafe(48),
            "ROLLCALL_TEMPLATE_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "ROLLCALL_ID_HASH_KEY": secrets.token_urlsafe(48),
        },
        # dev backups are suspended; fill these to try them against a bucket
        "rollcall-backup": {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
    }


# --- cluster access -----------------------------------------------------------------------------------------


class Cluster:
    """The Kubernetes API, reached through the kubernetes Python client with short timeouts and no retries."""

    def __init__(self, context: str | None = None) -> None:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        self.client = client
        configuration = client.Configuration()
        try:
            config.load_kube_config(context=context, client_configuration=configuration)
        except (ConfigException, FileNotFoundError, OSError) as kube_error:
            if context:
                raise DeployError(
                    f"kubeconfig context {context!r} unusable: {kube_error}", code=2
                ) from kube_error
            try:
                config.load_incluster_config(client_configuration=configuration)
            except ConfigException as incluster_error:
                where = os.environ.get("KUBECONFIG", "~/.kube/config")
                raise DeployError(
                    f"no usable Kubernetes configuration: kubeconfig {where}: {kube_error}; "
                    "not running inside a cluster either. Set KUBECONFIG or --context",
                    code=2,
                ) from incluster_error
        configuration.retries = 0  # fail fast: a refused connection is an answer, not a reason to wait
        self.host = configuration.host
        self.api = client.ApiClient(configuration)
        self._dynamic: Any = None

    def check_reachable(self) -> str:
        """Ask the API server its version; raise DeployError with a readable reason when that fails."""
        try:
            info = self.client.VersionApi(self.api).get_code(
                _request_timeout=(CONNECT_TIMEOUT_S, CONNECT_TIMEOUT_S)
            )
        except self.client.ApiException as exc:
            raise DeployError(
                f"the API server at {self.host} answered {exc.status} {exc.reason}", code=2
            ) from exc
        except Exception as exc:  # urllib3/SSL/socket errors: all mean "not reachable"
            reason = _root_cause(exc)
            raise DeployError(f"no Kubernetes cluster reachable at {self.host}: {reason}", code=2) from exc
        return str(info.git_version)

    @property
    def dynamic(self) -> Any:
        """A dynamic client (discovery happens on first use, after check_reachable)."""
        if self._dynamic is None:
            from kubernetes import dynamic

            self._dynamic = dynamic.DynamicClient(self.api)
        return self._dynamic

    def resource(self, api_version: str, kind: str) -> Any:
        """The API resource for a kind; DeployError naming the operator to install when the CRD is missing."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError as exc:
            hint = REQUIRED_CRDS.get((api_version, kind), "its CRD")
            raise DeployError(f"the cluster does not know {kind} ({api_version}): install {hint}") from exc

    def apply(self, doc: dict[str, Any], dry_run: bool = False) -> None:
        """Server-side apply one object, owning its fields as rollcall-deploy, rejecting unknown fields."""
        resource = self.resource(doc["apiVersion"], doc["kind"])
        params: dict[str, Any] = {
            "field_manager": FIELD_MANAGER,
            "force_conflicts": True,
            "query_params": [("fieldValidation", "Strict")],
            "_request_timeout": REQUEST_TIMEOUT,
        }
        if dry_run:
            params["dry_run"] = "All"
        self.dynamic.server_side_apply(
            resource,
            body=doc,
            name=doc["metadata"]["name"],
            namespace=doc["metadata"].get("namespace"),
            **params,
        )

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        """One object as a dict, or None when it does not exist."""
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            obj = self.dynamic.get(
                self.resource(api_version, kind),
                name=name,
                namespace=namespace,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except NotFoundError:
            return None
        found: dict[str, Any] = obj.to_dict()
        return found

    def list(
        self, api_version: str, kind: str, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Objects of a kind in a namespace."""
        result = self.dynamic.get(
            self.resource(api_version, kind),
            namespace=namespace,
            label_selector=label_selector,
            _request_timeout=REQUEST_TIMEOUT,
        )
        return [item.to_dict() for item in result.items]

    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> None:
        """Delete an object and its dependents (pods of a Job) if it exists."""
        from kubernetes.dynamic.exceptions import NotFoundError

        with contextlib.suppress(NotFoundError):
            self.dynamic.delete(
                self.resource(api_version, kind),
                name=name,
                namespace=namespace,
                propagation_policy="Foreground",
                _request_timeout=REQUEST_TIMEOUT,
            )


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a connection failure, e.g. 'Connection refused'."""
    seen = exc
    while True:
        nxt = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if not isinstance(nxt, BaseException) or nxt is seen:
            break
        seen = nxt
    text = str(seen)
    return text.split("]", 1)[-1].strip() if "Errno" in text else text


def _rayservice_now(cluster: Cluster, name: str, namespace: str) -> tuple[bool, str]:
    return rayservice_readiness(cluster.get("ray.io/v1", "RayService", name, namespace) or {})


def wait_for(
    what: str, probe: Callable[[], tuple[bool, str]], timeout_s: float, interval_s: float = 5.0
) -> None:
    """Poll ``probe`` until it reports done; DeployError with its last reason on timeout."""
    deadline = time.monotonic() + timeout_s
    last = ""
    with console.status(f"waiting for {what}") as spinner:
        while True:
            done, reason = probe()
            if done:
                return
            if reason != last:
                spinner.update(f"waiting for {what}: {reason}")
                last = reason
            if time.monotonic() > deadline:
                raise DeployError(f"timed out after {timeout_s:.0f}s waiting for {what}: {reason}")
            time.sleep(interval_s)


# --- steps --------------------------------------------------------------------------------------------------


def check_secrets(
    cluster: Cluster, docs: list[dict[str, Any]], namespace: str, generate: bool, dry_run: bool
) -> None:
    """Every Secret the manifests reference must exist with its keys; dev may generate random ones."""
    missing: list[str] = []
    for spec in manifests.required_secrets(docs):
        current = cluster.get("v1", "Secret", spec.name, namespace)
        present = set(((current or {}).get("data") or {}).keys())
        absent_keys = [k for k in spec.keys if k not in present]
        if current is not None and not absent_keys:
            continue
        if current is None and generate:
            values = dev_secret_values(namespace).get(spec.name)
            if values is not None:
                body = {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": spec.name,
                        "namespace": namespace,
                        "labels": {"app.kubernetes.io/part-of": "rollcall"},
                    },
                    "type": "Opaque",
                    "stringData": values,
                }
                cluster.apply(body, dry_run=dry_run)
                console.print(f"generated Secret {spec.name} (random values)")
                continue
        what = "missing" if current is None else f"lacks keys {absent_keys}"
        missing.append(f"  {spec.name} {what}: {spec.purpose}; keys: {', '.join(spec.keys)}")
    if missing:
        raise DeployError(
            f"Secrets not ready in namespace {namespace}:\n"
            + "\n".join(missing)
            + "\ncreate them from your secret store (docs/KUBERNETES.md, 'Secrets')"
            + ("; in dev, --generate-dev-secrets creates random ones" if not generate else "")
        )


def _workloads_ready(cluster: Cluster, docs: list[dict[str, Any]], namespace: str) -> tuple[bool, str]:
    waiting = []
    for doc in docs:
        if doc.get("kind") != "StatefulSet":
            continue
        current = cluster.get("apps/v1", "StatefulSet", doc["metadata"]["name"], namespace) or {}
        status, want = current.get("status") or {}, (current.get("spec") or {}).get("replicas", 1)
        if (status.get("readyReplicas") or 0) < want:
            waiting.append(f"{doc['metadata']['name']} {status.get('readyReplicas') or 0}/{want}")
    return (not waiting, "StatefulSets not ready: " + ", ".join(waiting) if waiting else "ready")


def run_migration(cluster: Cluster, job: dict[str, Any], namespace: str, timeout_s: float) -> None:
    """Re-create the migration Job (its template is immutable) and wait for it to succeed."""
    name = job["metadata"]["name"]
    cluster.delete("batch/v1", "Job", name, namespace)
    wait_for(
        f"old Job {name} to go",
        lambda: (cluster.get("batch/v1", "Job", name, namespace) is None, "deleting"),
        120,
        2,
    )
    cluster.apply(job)

    def finished() -> tuple[bool, str]:
        status = (cluster.get("batch/v1", "Job", name, namespace) or {}).get("status") or {}
        conditions = {c["type"]: c for c in status.get("conditions") or [] if c.get("status") == "True"}
        if "Failed" in conditions:
            raise DeployError(
                f"migration Job {name} failed ({conditions['Failed'].get('message', '')}); "
                "the RayService was NOT "
                f"updated and the current version keeps serving. Logs: kubectl -n {namespace} logs job/{name}"
            )
        return (
            "Complete" in conditions,
            f"active {status.get('active') or 0}, failed {status.get('failed') or 0}",
        )

    wait_for(f"migration Job {name}", finished, timeout_s)


def status_tables(cluster: Cluster, namespace: str) -> tuple[list[Table], bool]:
    """Tables describing the RayService, its groups and applications, Milvus, the databases and the Jobs."""
    tables = []
    overall = True
    service = Table(title=f"RayService in {namespace}")
    for column in ("name", "ready", "detail", "active cluster", "pending cluster", "endpoints"):
        service.add_column(column)
    apps_table = Table(title="Serve applications")
    for column in ("application", "status", "deployments"):
        apps_table.add_column(column)
    rayservices = cluster.list("ray.io/v1", "RayService", namespace)
    if not rayservices:
        overall = False
    for rs in rayservices:
        ready, reason = rayservice_readiness(rs)
        overall &= ready
        status = rs.get("status") or {}
        service.add_row(
            rs["metadata"]["name"],
            "yes" if ready else "no",
            reason,
            (status.get("activeServiceStatus") or {}).get("rayClusterName", "-"),
            (status.get("pendingServiceStatus") or {}).get("rayClusterName") or "-",
            str(status.get("numServeEndpoints") or 0),
        )
        for app_name, app_status in (
            (status.get("activeServiceStatus") or {}).get("applicationStatuses") or {}
        ).items():
            deployments = app_status.get("serveDeploymentStatuses") or {}
            apps_table.add_row(
                app_name,
                app_status.get("status", "?"),
                ", ".join(f"{d}={s.get('status')}" for d, s in sorted(deployments.items())),
            )
    tables += [service, apps_table]
    pods = Table(title="Ray pods by group")
    for column in ("cluster", "group", "ready", "total"):
        pods.add_column(column)
    groups: dict[tuple[str, str], list[int]] = {}
    for pod in cluster.list("v1", "Pod", namespace, label_selector="ray.io/is-ray-node=yes"):
        labels = pod["metadata"].get("labels") or {}
        counts = groups.setdefault(
            (labels.get("ray.io/cluster", "?"), labels.get("ray.io/group", "?")), [0, 0]
        )
        counts[1] += 1
        conditions = {c["type"]: c["status"] for c in (pod.get("status") or {}).get("conditions") or []}
        counts[0] += conditions.get("Ready") == "True"
    for (cluster_name, group), (ready_count, total) in sorted(groups.items()):
        pods.add_row(cluster_name, group, str(ready_count), str(total))
    tables.append(pods)
    stores = Table(title="Datastores and jobs")
    for column in ("kind", "name", "state"):
        stores.add_column(column)
    for milvus in cluster.list("milvus.io/v1beta1", "Milvus", namespace):
        state = (milvus.get("status") or {}).get("status", "unknown")
        overall &= state == "Healthy"
        stores.add_row("Milvus", milvus["metadata"]["name"], state)
    for sts in cluster.list(
        "apps/v1", "StatefulSet", namespace, label_selector="app.kubernetes.io/part-of=rollcall"
    ):
        ready_count, want = (
            (sts.get("status") or {}).get("readyReplicas") or 0,
            sts["spec"].get("replicas", 1),
        )
        overall &= ready_count >= want
        stores.add_row("StatefulSet", sts["metadata"]["name"], f"{ready_count}/{want} ready")
    for job in cluster.list(
        "batch/v1", "Job", namespace, label_selector="app.kubernetes.io/part-of=rollcall"
    ):
        met = [
            c["type"] for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"
        ]
        stores.add_row("Job", job["metadata"]["name"], ", ".join(met) or "running")
    for cron in cluster.list(
        "batch/v1", "CronJob", namespace, label_selector="app.kubernetes.io/part-of=rollcall"
    ):
        status = cron.get("status") or {}
        suspended = " (suspended)" if cron["spec"].get("suspend") else ""
        stores.add_row(
            "CronJob",
            cron["metadata"]["name"],
            f"last success {status.get('lastSuccessfulTime') or 'never'}{suspended}",
        )
    tables.append(stores)
    return tables, overall


# --- commands -----------------------------------------------------------------------------------------------


def _api_errors() -> tuple[type[Exception], ...]:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError
    from urllib3.exceptions import HTTPError

    return (ApiException, DynamicApiError, HTTPError)


_API_ERRORS = _api_errors()

OverlayOption = typer.Option(Overlay.dev, "--overlay", "-o", help="environment under cluster/overlays")
TagOption = typer.Option(None, "--image-tag", help="pin every ghcr.io/rollcall image to this tag")
ContextOption = typer.Option(None, "--context", help="kubeconfig context (default: current)")


def _render(overlay: Overlay, image_tag: str | None) -> list[dict[str, Any]]:
    try:
        return manifests.render(overlay.value, image_tag)
    except manifests.RenderError as exc:
        raise DeployError(str(exc)) from exc


def _fail(exc: DeployError) -> None:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    raise typer.Exit(code=exc.code)


def _as_deploy_error(exc: Exception) -> DeployError:
    """An API or connection failure in the middle of a run, as a readable DeployError."""
    status = getattr(exc, "status", None)
    if status is not None:
        body = getattr(exc, "body", None) or getattr(exc, "summary", lambda: "")()
        return DeployError(f"the API server refused a request ({status}): {str(body)[:2000]}")
    return DeployError(f"lost the cluster: {_root_cause(exc)}", code=2)


@app.command()
def render(
    overlay: Overlay = OverlayOption,
    image_tag: str | None = TagOption,
    check: bool = typer.Option(
        False, "--validate", help="also run the offline validation; exit 1 on problems"
    ),
) -> None:
    """Print the overlay's manifests (kustomize) as YAML; no cluster needed."""
    try:
        docs = _render(overlay, image_tag)
    except DeployError as exc:
        _fail(exc)
        return
    sys.stdout.write(manifests.dump(docs))
    if check:
        problems = validate.validate_documents(docs, overlay.value)
        for problem in problems:
            err_console.print(str(problem), highlight=False)
        if problems:
            raise typer.Exit(code=1)


@app.command()
def apply(
    overlay: Overlay = OverlayOption,
    image_tag: str | None = TagOption,
    context: str | None = ContextOption,
    timeout: int = typer.Option(1200, help="seconds to wait for the migration and for the RayService"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="server-side dry run: validate against the cluster only"
    ),
    generate_dev_secrets: bool = typer.Option(
        False, help="dev only: create missing Secrets with random values"
    ),
    allow_placeholders: bool = typer.Option(False, help="apply even with example.org hosts (not in prod)"),
) -> None:
    """Validate, apply server-side in order (migration before Serve), wait for the RayService, show status."""
    try:
        docs = _render(overlay, image_tag)
        namespace = namespace_of(docs)
        cluster = Cluster(context)
        version = cluster.check_reachable()  # cheap, so an unreachable cluster fails before the validation
        problems = validate.validate_documents(docs, overlay.value)
        if problems:
            raise DeployError("offline validation failed:\n" + "\n".join(f"  {p}" for p in problems))
        hosts = placeholder_hosts(docs)
        if hosts and overlay is not Overlay.dev and not allow_placeholders:
            raise DeployError(
                f"placeholder Ingress hosts {hosts}: set the SITE values in cluster/overlays/{overlay.value}"
            )
        if generate_dev_secrets and overlay is not Overlay.dev:
            raise DeployError(
                "--generate-dev-secrets is for dev only; production Secrets come from your secret store"
            )
        console.print(
            f"cluster {cluster.host} (Kubernetes {version}), namespace {namespace}, overlay {overlay.value}"
        )
        for api_version, kind in REQUIRED_CRDS:
            cluster.resource(api_version, kind)
        before, migrations, after = split_phases(docs)
        for doc in [d for d in before if d["kind"] == "Namespace"]:
            cluster.apply(doc, dry_run=dry_run)
            console.print(f"applied {manifests.key(doc)}")
        check_secrets(cluster, docs, namespace, generate_dev_secrets, dry_run)
        for doc in [d for d in before if d["kind"] != "Namespace"]:
            cluster.apply(doc, dry_run=dry_run)
            console.print(f"applied {manifests.key(doc)}")
        if dry_run:
            for doc in migrations + after:
                cluster.apply(doc, dry_run=True)
                console.print(f"dry-run {manifests.key(doc)}")
            console.print("[green]dry run passed[/]: the cluster accepts every object")
            return
        wait_for("databases", lambda: _workloads_ready(cluster, docs, namespace), timeout)
        for job in migrations:
            run_migration(cluster, job, namespace, timeout)
            console.print(f"migration {job['metadata']['name']} complete")
        for doc in after:
            cluster.apply(doc)
            console.print(f"applied {manifests.key(doc)}")
            if doc["kind"] != "RayService":
                continue
            name = doc["metadata"]["name"]
            time.sleep(2)  # let KubeRay bump observedGeneration before the first look
            wait_for(
                f"RayService {name}",
                functools.partial(_rayservice_now, cluster, name, namespace),
                timeout,
            )
        tables, _ = status_tables(cluster, namespace)
        for table in tables:
            console.print(table)
    except DeployError as exc:
        _fail(exc)
    except _API_ERRORS as exc:
        _fail(_as_deploy_error(exc))


@app.command()
def status(overlay: Overlay = OverlayOption, context: str | None = ContextOption) -> None:
    """Show the RayService, Serve apps, Ray pods, Milvus, databases and jobs; exit 1 unless all ready."""
    try:
        namespace = namespace_of(_render(overlay, None))
        cluster = Cluster(context)
        cluster.check_reachable()
        tables, healthy = status_tables(cluster, namespace)
    except DeployError as exc:
        _fail(exc)
        return
    except _API_ERRORS as exc:
        _fail(_as_deploy_error(exc))
        return
    for table in tables:
        console.print(table)
    if not healthy:
        raise typer.Exit(code=1)


def main() -> None:
    """Entry point for ``python -m cluster.deploy``."""
    app()


if __name__ == "__main__":
    main()
