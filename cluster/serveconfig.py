"""Generate the RayService's ``serveConfigV2`` from ``serve_config.yaml``, the one description of deployments.

``serve_config.yaml`` is what ``serve run`` uses on one machine; the RayService must run the same deployments
with the same replicas, autoscaling, resources and user_config. Copying it by hand would drift, so this module
derives every ``serveConfigV2`` from it and ``--check`` (run by the test suite) fails when a committed copy no
longer matches. It reads ``serve_config.yaml`` only, never application code (cluster/ stays outside the app).

What differs on Kubernetes is applied in three visible layers, in this order, and written into the generated
string's header so anyone reading ``kubectl get rayservice -o yaml`` sees it:

1. Fixed Kubernetes transformations (``KUBERNETES_TRANSFORMATIONS`` below):
   - ``http_options.host`` becomes ``0.0.0.0``: the local file binds 127.0.0.1 so a laptop never exposes the
     API, but inside a pod the Serve proxy must listen on the pod IP or the serve Service (and the Ingress
     behind it) cannot reach it. NetworkPolicies, not the bind address, restrict who reaches it there.
   - ``proxy_location`` becomes ``EveryNode``: locally one proxy on the head is fine; in the cluster the head
     runs no replicas (``num-cpus: 0``) and is excluded from the serve Service, so every worker that hosts
     replicas runs its own proxy and HTTP capacity grows with the pods the autoscaler adds.
2. ``cluster/base/rayservice/serve-overrides.yaml``: differences every cluster shares (the Matcher may scale
   out because the cluster uses a Milvus server, not Milvus Lite's single-process file).
3. ``cluster/overlays/<name>/serve-overrides.yaml``: per-environment differences (``extends`` another
   overlay's overrides first, e.g. prod-gpu extends prod), and optionally a ``canary`` second application.

Override files are small YAML documents::

    extends: prod                      # optional: apply that overlay's overrides first
    applications:                      # keyed by application name, then deployment name; deep-merged
      rollcall:
        deployments:
          Matcher:
            autoscaling_config: {max_replicas: 4}
    canary:                            # optional second application for a canary of a new model version
      of: rollcall                     # the application it copies
      name: rollcall-canary
      route_prefix: /canary
      max_replicas: 2                  # caps every canary deployment's autoscaling
      deployments:                     # deep-merged into the copy only
        Embedder: {user_config: {model: sface-2026}}

An override naming an application or deployment that ``serve_config.yaml`` does not have is an error, so a
rename there cannot leave an override silently doing nothing.

Usage: ``python -m cluster.serveconfig`` writes every target; ``--check`` writes nothing and exits 1 on drift.
"""

from __future__ import annotations

import copy
import difflib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

CLUSTER_DIR = Path(__file__).resolve().parent
REPO_ROOT = CLUSTER_DIR.parent
SERVE_CONFIG = REPO_ROOT / "serve_config.yaml"

RAYSERVICE_NAME = "rollcall"
OVERRIDES_FILE = "serve-overrides.yaml"
GENERATED_FILE = "serve-config.generated.yaml"
BASE_RAYSERVICE_DIR = Path("base") / "rayservice"
OVERLAYS_DIR = Path("overlays")

# (dotted path, value, why) applied to every cluster before any override file.
KUBERNETES_TRANSFORMATIONS: tuple[tuple[str, Any, str], ...] = (
    (
        "http_options.host",
        "0.0.0.0",  # noqa: S104 - inside a pod the proxy must listen on the pod IP; NetworkPolicies restrict it
        "the Serve proxy must listen on the pod IP for the serve Service; NetworkPolicies restrict access",
    ),
    (
        "proxy_location",
        "EveryNode",
        "the head runs no replicas and is excluded from the serve Service; each worker with replicas proxies",
    ),
)


class OverrideError(ValueError):
    """An override file is malformed or names something serve_config.yaml does not have."""


@dataclass(frozen=True)
class Target:
    """One generated file: the kustomize patch that sets ``spec.serveConfigV2`` for a base or an overlay."""

    name: str  # "base" or the overlay name
    directory: Path  # absolute directory holding the override file and the generated patch

    @property
    def generated_path(self) -> Path:
        """Where the generated kustomize patch lives."""
        return self.directory / GENERATED_FILE

    @property
    def overrides_path(self) -> Path:
        """Where this target's hand-written overrides live."""
        return self.directory / OVERRIDES_FILE


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; an empty file is an empty mapping."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {} if data is None else data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings merge recursively, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _set_path(config: dict[str, Any], dotted: str, value: Any) -> None:
    node = config
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _applications_by_name(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {app["name"]: app for app in config.get("applications", [])}


def _deployments_by_name(app: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {dep["name"]: dep for dep in app.get("deployments", [])}


def _apply_application_overrides(config: dict[str, Any], overrides: dict[str, Any], source: str) -> None:
    apps = _applications_by_name(config)
    for app_name, app_override in (overrides or {}).items():
        if app_name not in apps:
            raise OverrideError(
                f"{source}: application '{app_name}' is not in serve_config.yaml ({sorted(apps)})"
            )
        app = apps[app_name]
        app_override = dict(app_override or {})
        deployment_overrides = app_override.pop("deployments", {}) or {}
        for key, value in app_override.items():
            app[key] = (
                deep_merge(app[key], value)
                if isinstance(value, dict) and isinstance(app.get(key), dict)
                else value
            )
        _apply_deployment_overrides(app, deployment_overrides, f"{source}: application '{app_name}'")


def _apply_deployment_overrides(app: dict[str, Any], overrides: dict[str, Any], source: str) -> None:
    deployments = _deployments_by_name(app)
    for dep_name, dep_override in overrides.items():
        if dep_name not in deployments:
            raise OverrideError(
                f"{source}: deployment '{dep_name}' is not in serve_config.yaml ({sorted(deployments)})"
            )
        merged = deep_merge(deployments[dep_name], dep_override or {})
        index = app["deployments"].index(deployments[dep_name])
        app["deployments"][index] = merged


def _add_canary(config: dict[str, Any], canary: dict[str, Any], source: str) -> None:
    """Append a copy of one application under another name and route prefix, for a model-version canary."""
    unknown = set(canary) - {"of", "name", "route_prefix", "max_replicas", "deployments", "args"}
    if unknown:
        raise OverrideError(f"{source}: unknown canary keys {sorted(unknown)}")
    for key in ("of", "name", "route_prefix"):
        if not canary.get(key):
            raise OverrideError(f"{source}: canary needs '{key}'")
    apps = _applications_by_name(config)
    if canary["of"] not in apps:
        raise OverrideError(
            f"{source}: canary.of '{canary['of']}' is not in serve_config.yaml ({sorted(apps)})"
        )
    app = copy.deepcopy(apps[canary["of"]])
    app["name"] = canary["name"]
    app["route_prefix"] = canary["route_prefix"]
    if "args" in canary:
        app["args"] = deep_merge(app.get("args") or {}, canary["args"] or {})
    _apply_deployment_overrides(app, canary.get("deployments") or {}, f"{source}: canary")
    cap = canary.get("max_replicas")
    if cap is not None:
        for dep in app["deployments"]:
            scaling = dep.get("autoscaling_config")
            if scaling:
                for key in ("min_replicas", "initial_replicas", "max_replicas"):
                    if key in scaling:
                        scaling[key] = min(scaling[key], cap)
            elif isinstance(dep.get("num_replicas"), int):
                dep["num_replicas"] = min(dep["num_replicas"], cap)
    config["applications"].append(app)


def discover_targets(cluster_dir: Path = CLUSTER_DIR) -> list[Target]:
    """The base plus every overlay that has a kustomization (each must carry an overrides file)."""
    targets = [Target("base", cluster_dir / BASE_RAYSERVICE_DIR)]
    overlays = cluster_dir / OVERLAYS_DIR
    if overlays.is_dir():
        for child in sorted(overlays.iterdir()):
            if (child / "kustomization.yaml").is_file():
                targets.append(Target(child.name, child))
    return targets


def _override_chain(target: Target, cluster_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (source, overrides) from the base down to the target, following ``extends``."""
    base_file = cluster_dir / BASE_RAYSERVICE_DIR / OVERRIDES_FILE
    yield str(base_file.relative_to(cluster_dir)), load_yaml(base_file) if base_file.is_file() else {}
    if target.name == "base":
        return
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    name: str | None = target.name
    while name is not None:
        if name in seen:
            raise OverrideError(f"overlay '{name}': 'extends' forms a cycle")
        seen.add(name)
        path = cluster_dir / OVERLAYS_DIR / name / OVERRIDES_FILE
        if not path.is_file():
            raise OverrideError(f"overlay '{name}' has no {OVERRIDES_FILE} (an empty mapping is fine)")
        data = load_yaml(path)
        if not isinstance(data, dict):
            raise OverrideError(f"{path}: expected a mapping")
        chain.append((str(path.relative_to(cluster_dir)), data))
        name = data.get("extends")
    yield from reversed(chain)


def build_serve_config(
    target: Target, serve_config: Path = SERVE_CONFIG, cluster_dir: Path = CLUSTER_DIR
) -> tuple[dict[str, Any], list[str]]:
    """Return the Serve config for ``target`` and the human-readable list of what was changed and why."""
    config = load_yaml(serve_config)
    if not isinstance(config, dict) or not config.get("applications"):
        raise OverrideError(f"{serve_config}: expected a Serve config with 'applications'")
    notes: list[str] = []
    for dotted, value, why in KUBERNETES_TRANSFORMATIONS:
        _set_path(config, dotted, value)
        notes.append(f"{dotted} = {value}: {why}")
    canary: tuple[str, dict[str, Any]] | None = None
    for source, overrides in _override_chain(target, cluster_dir):
        unknown = set(overrides) - {"extends", "applications", "canary"}
        if unknown:
            raise OverrideError(
                f"{source}: unknown keys {sorted(unknown)} (allowed: extends, applications, canary)"
            )
        if overrides.get("applications"):
            _apply_application_overrides(config, overrides["applications"], source)
            notes += [f"{path} = {value} ({source})" for path, value in _leaves(overrides["applications"])]
        if "canary" in overrides:  # a later file may switch an inherited canary off with `canary: null`
            canary = (source, overrides["canary"]) if overrides["canary"] else None
    if canary is not None:
        _add_canary(config, canary[1], canary[0])
        notes.append(f"canary application '{canary[1]['name']}' from {canary[0]}")
    return config, notes


def _leaves(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every leaf of an override tree, for the generated header."""
    for name, value in tree.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict) and value:
            yield from _leaves(value, path)
        else:
            yield path, json.dumps(value) if not isinstance(value, str) else value


class _LiteralDumper(yaml.SafeDumper):
    """Dump multi-line strings as ``|`` blocks so the embedded Serve config stays readable in diffs."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def render_patch(target: Target, serve_config: Path = SERVE_CONFIG, cluster_dir: Path = CLUSTER_DIR) -> str:
    """The text of the generated kustomize patch for ``target``."""
    config, notes = build_serve_config(target, serve_config, cluster_dir)
    header = [
        "# Generated by `python -m cluster.serveconfig` from serve_config.yaml; do not edit.",
        "# Kubernetes differences from serve_config.yaml:",
        *(f"#  - {note}" for note in notes),
    ]
    body = yaml.dump(config, Dumper=_LiteralDumper, sort_keys=False, default_flow_style=False, width=1000)
    serve_text = "\n".join(header) + "\n" + body
    patch = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": RAYSERVICE_NAME},
        "spec": {"serveConfigV2": serve_text},
    }
    file_header = (
        "# GENERATED by `python -m cluster.serveconfig` from serve_config.yaml"
        f"{'' if target.name == 'base' else ' + ' + str(target.overrides_path.relative_to(cluster_dir))}.\n"
        "# Do not edit: change serve_config.yaml or a serve-overrides.yaml and regenerate.\n"
    )
    return file_header + yaml.dump(patch, Dumper=_LiteralDumper, sort_keys=False, width=1000)


def generate(
    check: bool, serve_config: Path = SERVE_CONFIG, cluster_dir: Path = CLUSTER_DIR, out: Any = sys.stdout
) -> int:
    """Write (or, with ``check``, compare) every target; return the process exit code."""
    drifted = []
    for target in discover_targets(cluster_dir):
        expected = render_patch(target, serve_config, cluster_dir)
        current = target.generated_path.read_text(encoding="utf-8") if target.generated_path.is_file() else ""
        if current == expected:
            continue
        rel = target.generated_path.relative_to(cluster_dir.parent)
        if check:
            drifted.append(str(rel))
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                f"{rel} (committed)",
                f"{rel} (from serve_config.yaml)",
            )
            out.writelines(diff)
        else:
            target.generated_path.write_text(expected, encoding="utf-8")
            print(f"wrote {rel}", file=out)
    if drifted:
        print(
            f"\nserveConfigV2 drifted from serve_config.yaml in: {', '.join(drifted)}\n"
            "run `python -m cluster.serveconfig` and commit the result",
            file=out,
        )
        return 1
    return 0


def main(
    check: Annotated[bool, typer.Option(help="Write nothing; exit 1 if a generated file drifted.")] = False,
    serve_config: Annotated[Path, typer.Option(help="Path of serve_config.yaml.")] = SERVE_CONFIG,
    cluster_dir: Annotated[Path, typer.Option(help="The cluster/ directory.")] = CLUSTER_DIR,
) -> None:
    """Generate the RayService's serve config from serve_config.yaml, or check it with ``--check``."""
    try:
        status = generate(check, serve_config.resolve(), cluster_dir.resolve())
    except (OverrideError, OSError, yaml.YAMLError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(status)


if __name__ == "__main__":
    typer.run(main)
