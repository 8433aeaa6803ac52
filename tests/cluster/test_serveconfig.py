"""serveConfigV2 is generated from serve_config.yaml: the committed copies agree, and drift is caught."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cluster import serveconfig, validate
from tests.cluster.conftest import OVERLAYS, find

REPO = serveconfig.REPO_ROOT


def _load_serve_config() -> dict:
    # read at test time: serve_config.yaml belongs to other engineers and may change any hour
    return yaml.safe_load(serveconfig.SERVE_CONFIG.read_text())


def test_generated_files_are_current():
    result = subprocess.run(
        [sys.executable, "-m", "cluster.serveconfig", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_serve_config_is_derived_from_serve_config_yaml(rendered, overlay):
    source = _load_serve_config()
    rendered_config = validate._parse_serve(find(rendered[overlay], "RayService"))
    assert not validate.check_serve_drift(rendered[overlay], overlay)
    # independently of the generator: the same applications and deployments, with the same user_config,
    # ray_actor_options CPUs and request limits; only documented keys may differ
    apps = {a["name"]: a for a in rendered_config["applications"]}
    for app in source["applications"]:
        assert app["name"] in apps
        assert apps[app["name"]]["import_path"] == app["import_path"]
        assert apps[app["name"]]["route_prefix"] == app.get("route_prefix", "/")
        got = {d["name"]: d for d in apps[app["name"]]["deployments"]}
        for dep in app["deployments"]:
            assert dep["name"] in got, f"{overlay}: deployment {dep['name']} missing"
            mine = got[dep["name"]]
            assert mine.get("user_config") == dep.get("user_config")
            assert mine.get("max_ongoing_requests") == dep.get("max_ongoing_requests")
            assert (mine.get("ray_actor_options") or {}).get("num_cpus") == (
                dep.get("ray_actor_options") or {}
            ).get("num_cpus")
    assert rendered_config["http_options"]["port"] == source["http_options"]["port"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_transformations_are_explicit(rendered, overlay):
    rs = find(rendered[overlay], "RayService")
    config = validate._parse_serve(rs)
    assert config["http_options"]["host"] == "0.0.0.0"
    assert config["proxy_location"] == "EveryNode"
    header = rs["spec"]["serveConfigV2"].split("proxy_location")[0]
    assert "http_options.host = 0.0.0.0" in header  # the transformation is written where operators look


def test_matcher_scales_with_a_milvus_server(rendered):
    source = {d["name"]: d for d in _load_serve_config()["applications"][0]["deployments"]}
    prod = validate._parse_serve(find(rendered["prod"], "RayService"))
    matcher = next(d for d in prod["applications"][0]["deployments"] if d["name"] == "Matcher")
    assert matcher["autoscaling_config"]["max_replicas"] > 1
    assert source["Matcher"]["autoscaling_config"]["max_replicas"] >= 1


@pytest.mark.parametrize("overlay", ["prod", "prod-gpu"])
def test_production_keeps_two_replicas_of_every_deployment(rendered, overlay):
    """A crashed replica or a lost pod must never leave a stage empty (a lone dying Ingress makes Serve's
    proxy answer bare 500s: docs/RELIABILITY.md)."""
    config = validate._parse_serve(find(rendered[overlay], "RayService"))
    for deployment in config["applications"][0]["deployments"]:
        assert deployment["autoscaling_config"]["min_replicas"] >= 2, deployment["name"]


@pytest.mark.parametrize("overlay", ["dev", "prod", "prod-gpu"])
def test_every_cluster_and_the_local_run_keep_two_ingress_replicas(rendered, overlay):
    """A lone Ingress that dies leaves nothing of the app to answer: Serve's proxy answers bare 500s until a
    new one is up. The local run and the tests (serve_config.yaml itself) and every overlay keep two."""
    source = {d["name"]: d for d in _load_serve_config()["applications"][0]["deployments"]}
    assert source["Ingress"]["autoscaling_config"]["min_replicas"] >= 2
    config = validate._parse_serve(find(rendered[overlay], "RayService"))
    ingress = next(d for d in config["applications"][0]["deployments"] if d["name"] == "Ingress")
    assert ingress["autoscaling_config"]["min_replicas"] >= 2


@pytest.fixture
def cluster_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of serve_config.yaml and the cluster directory's override and generated files."""
    cluster_dir = tmp_path / "cluster"
    for target in serveconfig.discover_targets():
        rel = target.directory.relative_to(serveconfig.CLUSTER_DIR)
        (cluster_dir / rel).mkdir(parents=True, exist_ok=True)
        for name in (serveconfig.OVERRIDES_FILE, serveconfig.GENERATED_FILE, "kustomization.yaml"):
            if (target.directory / name).is_file():
                shutil.copy(target.directory / name, cluster_dir / rel / name)
    serve_config = tmp_path / "serve_config.yaml"
    shutil.copy(serveconfig.SERVE_CONFIG, serve_config)
    return serve_config, cluster_dir


def test_check_fails_when_serve_config_changes(cluster_copy):
    serve_config, cluster_dir = cluster_copy
    out = io.StringIO()
    assert serveconfig.generate(True, serve_config, cluster_dir, out) == 0
    config = yaml.safe_load(serve_config.read_text())
    config["applications"][0]["deployments"][0]["user_config"] = {"changed": True}
    serve_config.write_text(yaml.safe_dump(config))
    out = io.StringIO()
    assert serveconfig.generate(True, serve_config, cluster_dir, out) == 1
    assert "drifted" in out.getvalue() and "changed: true" in out.getvalue()
    # regenerating repairs it
    assert serveconfig.generate(False, serve_config, cluster_dir, io.StringIO()) == 0
    assert serveconfig.generate(True, serve_config, cluster_dir, io.StringIO()) == 0


def test_check_fails_when_a_generated_file_is_edited_by_hand(cluster_copy):
    serve_config, cluster_dir = cluster_copy
    generated = cluster_dir / "overlays" / "prod" / serveconfig.GENERATED_FILE
    generated.write_text(generated.read_text().replace("route_prefix: /", "route_prefix: /v2", 1))
    assert serveconfig.generate(True, serve_config, cluster_dir, io.StringIO()) == 1


def test_override_of_unknown_deployment_is_an_error(cluster_copy):
    serve_config, cluster_dir = cluster_copy
    config = yaml.safe_load(serve_config.read_text())
    config["applications"][0]["deployments"] = [
        d for d in config["applications"][0]["deployments"] if d["name"] != "Matcher"
    ]
    serve_config.write_text(yaml.safe_dump(config))
    with pytest.raises(serveconfig.OverrideError, match="Matcher"):
        serveconfig.generate(True, serve_config, cluster_dir, io.StringIO())


def test_canary_adds_a_second_application(cluster_copy):
    serve_config, cluster_dir = cluster_copy
    overrides = cluster_dir / "overlays" / "prod" / serveconfig.OVERRIDES_FILE
    data = yaml.safe_load(overrides.read_text())
    data["canary"] = {
        "of": "rollcall",
        "name": "rollcall-canary",
        "route_prefix": "/canary",
        "max_replicas": 1,
        "deployments": {"Matcher": {"user_config": {"threshold": 0.45}}},
    }
    overrides.write_text(yaml.safe_dump(data))
    target = serveconfig.Target("prod", cluster_dir / "overlays" / "prod")
    config, notes = serveconfig.build_serve_config(target, serve_config, cluster_dir)
    apps = {a["name"]: a for a in config["applications"]}
    assert set(apps) == {"rollcall", "rollcall-canary"}
    canary = {d["name"]: d for d in apps["rollcall-canary"]["deployments"]}
    stable = {d["name"]: d for d in apps["rollcall"]["deployments"]}
    assert apps["rollcall-canary"]["route_prefix"] == "/canary"
    assert canary["Matcher"]["user_config"]["threshold"] == 0.45
    source = yaml.safe_load(serve_config.read_text())["applications"][0]["deployments"]
    assert (
        stable["Matcher"]["user_config"] == next(d for d in source if d["name"] == "Matcher")["user_config"]
    )
    assert all(d["autoscaling_config"]["max_replicas"] == 1 for d in canary.values())
    assert any("canary" in n for n in notes)
    assert not validate.serve_config_problems(config)  # Ray's schema accepts both applications
    # prod-gpu extends prod, so it inherits the canary
    gpu_config, _ = serveconfig.build_serve_config(
        serveconfig.Target("prod-gpu", cluster_dir / "overlays" / "prod-gpu"), serve_config, cluster_dir
    )
    assert [a["name"] for a in gpu_config["applications"]] == ["rollcall", "rollcall-canary"]


def test_cli_check_reports_errors_without_traceback(tmp_path):
    bad = tmp_path / "serve_config.yaml"
    bad.write_text("proxy_location: HeadOnly\n")
    result = subprocess.run(
        [sys.executable, "-m", "cluster.serveconfig", "--check", "--serve-config", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "applications" in result.stderr and "Traceback" not in result.stderr
