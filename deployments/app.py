"""The application builder: binds Detector, Embedder, Liveness and Matcher under the Ingress, in one place.

``build_app`` is the ``import_path`` of serve_config.yaml (``serve run serve_config.yaml`` / ``serve deploy``
call it with the config's ``args``, then apply the config's per-deployment options themselves).
``build_app_from_config`` does the same for ``serve.run`` in-process (``python -m cluster.local up``, tests):
it reads serve_config.yaml and applies each deployment's options, so the file stays the single description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from ray.serve import Application
from ray.serve.deployment import Deployment

from app.core.config import Settings
from deployments.detector import Detector
from deployments.embedder import Embedder
from deployments.ingress import Ingress
from deployments.liveness import Liveness
from deployments.matcher import Matcher
from deployments.notifier import Notifier
from deployments.serve_file import DEFAULT_CONFIG, application

# serve.deployment made each class a Deployment; mypy keeps a decorated class's own type.
DEPLOYMENTS: dict[str, Deployment] = cast(
    "dict[str, Deployment]",
    {
        "Detector": Detector,
        "Embedder": Embedder,
        "Liveness": Liveness,
        "Matcher": Matcher,
        "Notifier": Notifier,
        "Ingress": Ingress,
    },
)


def build_app(args: Mapping[str, Any] | None = None) -> Application:
    """The app with each deployment's defaults; ``args`` are Settings overrides (else the environment)."""
    return _bind(Settings(**dict(args or {})), {})


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One application of serve_config.yaml, ready for ``serve.run``."""

    app: Application
    name: str
    route_prefix: str
    http_options: dict[str, Any] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)


def build_app_from_config(
    config_path: Path = DEFAULT_CONFIG,
    overrides: Mapping[str, Any] | None = None,
    app_name: str = "rollcall",
    deployment_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> AppSpec:
    """Build ``app_name`` as serve_config.yaml describes it.

    ``overrides`` update the application's ``args`` (Settings fields); ``deployment_overrides`` update
    single options of named deployments (e.g. ``{"Ingress": {"user_config": {...}}}``), as an operator
    editing the file would.
    """
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    spec = application(config_path, app_name)
    settings = Settings(**{**(spec.get("args") or {}), **dict(overrides or {})})
    options = {
        entry["name"]: {k: v for k, v in entry.items() if k != "name"}
        for entry in spec.get("deployments", [])
    }
    for name, changes in (deployment_overrides or {}).items():
        options[name] = {**options.get(name, {}), **changes}
    unknown = sorted(set(options) - set(DEPLOYMENTS))
    if unknown:
        raise ValueError(
            f"{config_path} configures unknown deployments {unknown}; known: {sorted(DEPLOYMENTS)}"
        )
    return AppSpec(
        app=_bind(settings, options),
        name=app_name,
        route_prefix=spec.get("route_prefix", "/"),
        http_options=dict(config.get("http_options") or {}),
        settings=settings,
    )


def _bind(settings: Settings, options: Mapping[str, Mapping[str, Any]]) -> Application:
    def configured(name: str) -> Deployment:
        return DEPLOYMENTS[name].options(**options[name]) if name in options else DEPLOYMENTS[name]

    # Each deployment is bound with its own arguments only (not the environment: replicas may run on other
    # nodes): the model replicas get what loads their model and how to log, the Matcher its Milvus; the
    # Ingress the application's secrets but not the notification channels' credentials, which only the
    # Notifier (the delivery worker) holds (tests/unit/test_deployment_privilege.py).
    detector = configured("Detector").bind(settings.model_runtime, settings.logs)
    embedder = configured("Embedder").bind(settings.model_runtime, settings.logs)
    liveness = configured("Liveness").bind(embedder, settings.logs)
    matcher = configured("Matcher").bind(settings.vectors, settings.logs)
    notifier = configured("Notifier").bind(settings)
    ingress_settings = settings.without_channel_credentials()
    return configured("Ingress").bind(detector, embedder, liveness, matcher, notifier, ingress_settings)
