"""serve_config.yaml agrees with the code: deployment names, user_config keys, batching capacity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from deployments.app import DEFAULT_CONFIG, DEPLOYMENTS, build_app, build_app_from_config
from deployments.detector import DetectorConfig
from deployments.embedder import EmbedderConfig
from deployments.ingress import IngressConfig
from deployments.liveness import LivenessConfig
from deployments.matcher import MatcherConfig
from tests.domain.authkit import TEST_SECRETS


def no_user_config(config: dict) -> None:
    """The Notifier has nothing to tune live (it has no ``reconfigure``): the file gives it none."""
    assert config == {}, config


USER_CONFIGS: dict[str, Callable[[dict], object]] = {
    "Detector": DetectorConfig.model_validate,
    "Embedder": EmbedderConfig.model_validate,
    "Liveness": LivenessConfig.validate_python,
    "Matcher": MatcherConfig.model_validate,
    "Ingress": IngressConfig.model_validate,
    "Notifier": no_user_config,
}


@pytest.fixture(scope="module")
def app_config() -> dict:
    config = yaml.safe_load(Path(DEFAULT_CONFIG).read_text(encoding="utf-8"))
    (app,) = [spec for spec in config["applications"] if spec["name"] == "rollcall"]
    return app


def test_every_deployment_is_configured_by_its_name(app_config: dict) -> None:
    assert app_config["import_path"] == "deployments.app:build_app"
    assert {entry["name"] for entry in app_config["deployments"]} == set(DEPLOYMENTS)


def test_user_configs_validate(app_config: dict) -> None:
    for entry in app_config["deployments"]:
        USER_CONFIGS[entry["name"]](entry.get("user_config", {}))


def test_batched_deployments_can_fill_their_batches(app_config: dict) -> None:
    """max_ongoing_requests < max_batch_size means batches never fill (55 -> 145 req/s once fixed)."""
    for entry in app_config["deployments"]:
        batch = entry.get("user_config", {}).get("max_batch_size")
        if batch is not None:
            assert entry["max_ongoing_requests"] >= batch, entry["name"]


def test_http_stays_on_loopback() -> None:
    config = yaml.safe_load(Path(DEFAULT_CONFIG).read_text(encoding="utf-8"))
    assert config["http_options"]["host"] == "127.0.0.1"


def test_unknown_user_config_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="extra"):
        DetectorConfig.model_validate({"profil": "fast"})


def test_builders_bind_without_a_cluster(tmp_path: Path) -> None:
    assert build_app({"data_dir": str(tmp_path), **TEST_SECRETS}) is not None
    spec = build_app_from_config(
        overrides={"data_dir": str(tmp_path), **TEST_SECRETS},
        deployment_overrides={"Matcher": {"user_config": {"top_k": 3}}},
    )
    assert spec.name == "rollcall" and spec.route_prefix == "/"
    assert spec.settings.milvus_uri == str(tmp_path / "rollcall-milvus.db")


def test_unknown_quality_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="min_blurr"):
        IngressConfig.model_validate({"verify_threshold": 0.33, "quality": {"checkin": {"min_blurr": 5}}})
    policy = IngressConfig.model_validate({"verify_threshold": 0.33, "quality": {"checkin": {"min_blur": 5}}})
    policy = policy.quality_policy()
    # only the named limit changes; the rest keep the check-in defaults, not the strict enrollment ones
    assert policy.checkin.min_blur == 5
    assert policy.checkin.max_yaw == 60


def test_liveness_limits_left_out_of_user_config_keep_their_defaults() -> None:
    from models.liveness import LivenessLimits

    assert LivenessConfig.validate_python({"min_turn": 0.1}) == LivenessLimits(min_turn=0.1)
    with pytest.raises(ValueError, match="min_trun"):
        LivenessConfig.validate_python({"min_trun": 0.1})
    with pytest.raises(ValueError, match="less than or equal"):
        LivenessConfig.validate_python({"min_identity": 3})


def test_the_liveness_user_config_states_the_limits_defaults(app_config: dict) -> None:
    """serve_config.yaml documents the operating point: every limit it names is the code's default, so the
    evaluated defaults and the deployed config cannot drift apart."""
    from models.liveness import LivenessLimits

    (entry,) = [e for e in app_config["deployments"] if e["name"] == "Liveness"]
    defaults = LivenessLimits()
    assert {key: getattr(defaults, key) for key in entry["user_config"]} == entry["user_config"]


@pytest.mark.parametrize("model", [DetectorConfig, EmbedderConfig, MatcherConfig])
def test_operating_points_have_no_defaults_in_code(model: type) -> None:
    """The file is the one source of thresholds and batch sizes: a user_config model states none itself."""
    assert all(field.is_required() for field in model.model_fields.values()), model.__name__
    assert IngressConfig.model_fields["verify_threshold"].is_required()


def test_the_file_gives_every_deployment_its_capacity_and_operating_points(app_config: dict) -> None:
    for entry in app_config["deployments"]:
        assert entry.get("max_ongoing_requests"), entry["name"]  # the decorators state none
        if entry["name"] != "Liveness":  # its limits are the models' own, each one it names checked above
            USER_CONFIGS[entry["name"]](entry.get("user_config", {}))  # complete: no field left to a default
