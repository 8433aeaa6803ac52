"""Least privilege per deployment: what each Serve replica is bound with, exactly as Ray ships it (pickled).

The model replicas (Detector, Embedder, Liveness) get what loads their model and how to log; the Matcher
also gets Milvus's address and credentials. None of them may receive the token-signing key, the template
keyring, the pseudonym key, or any notification or metrics credential. The Ingress holds the application's
secrets but not the notification channels' credentials (SMTP, Twilio, ntfy): only the Notifier, which
delivers, does.
"""

from __future__ import annotations

import ray.cloudpickle as cloudpickle
from ray.serve import Application

from app.core.crypto import new_keyring_text
from deployments.app import build_app_from_config

SECRETS = {
    "secret_key": "jwt-signing-key-" + "a1b2c3d4" * 6,
    "template_key": new_keyring_text("k9"),
    "id_hash_key": "pseudonym-key-" + "e5f6a7b8" * 6,
    "smtp_password": "smtp-password-4c1f9e",
    "twilio_auth_token": "twilio-token-7d2b8a",
    "ntfy_token": "ntfy-token-0e6c3f",
    "metrics_token": "metrics-token-91ad7e",
    "tls_keyfile_password": "tls-password-5b7c2d",
}
MILVUS_TOKEN = "root:milvus-password-3f8e1a"


def bound_arguments(app: Application) -> dict[str, bytes]:
    """Each deployment's name -> its init arguments as Ray pickles them (bound handles left out)."""
    found: dict[str, bytes] = {}

    def visit(application: Application) -> None:
        deployment = application._bound_deployment
        own = [arg for arg in deployment.init_args if not isinstance(arg, Application)]
        found[deployment.name] = cloudpickle.dumps((own, deployment.init_kwargs))
        for arg in deployment.init_args:
            if isinstance(arg, Application):
                visit(arg)

    visit(app)
    return found


def test_only_the_ingress_holds_the_applications_secrets(tmp_path) -> None:
    overrides = {
        "data_dir": str(tmp_path),
        "milvus_uri": "http://127.0.0.1:19530",
        "milvus_token": MILVUS_TOKEN,
    }
    spec = build_app_from_config(overrides={**overrides, **SECRETS})
    arguments = bound_arguments(spec.app)
    assert set(arguments) == {"Ingress", "Detector", "Embedder", "Liveness", "Matcher", "Notifier"}
    for name in ("Detector", "Embedder", "Liveness", "Matcher"):
        for setting, value in SECRETS.items():
            for part in value.split(","):  # each key of the template keyring on its own
                assert part.encode() not in arguments[name], f"{name} receives {setting}"
    for name in ("Detector", "Embedder", "Liveness"):
        assert MILVUS_TOKEN.encode() not in arguments[name], f"{name} receives milvus_token"
    assert MILVUS_TOKEN.encode() in arguments["Matcher"]  # it needs Milvus, and only that
    assert SECRETS["secret_key"].encode() in arguments["Ingress"]  # the check would see a secret at all
    for setting in ("smtp_password", "twilio_auth_token", "ntfy_token"):
        assert SECRETS[setting].encode() not in arguments["Ingress"], f"Ingress receives {setting}"
        assert SECRETS[setting].encode() in arguments["Notifier"]
